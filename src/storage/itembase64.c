/*-------------------------------------------------------------------------
 *
 * itembase64.c
 *	  Binary values: checking, decoding and encoding their base64 text with
 *	  DynamoDB's error wording.
 *
 * Base64 must be canonical (padded, unused bits zero), so equal bytes always
 * have equal text and binary sets can be deduplicated on text.  Decoding
 * and encoding are PostgreSQL's (common/base64.h); only the check is ours.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"

#include "../common/errors.h"
#include "item_int.h"

/*
 * Base64Value maps a character of the standard base64 alphabet to its
 * 6-bit value, -1 for anything else.
 */
static inline int
Base64Value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * KvBase64Check validates standard padded base64 and returns the decoded
 * length.  Like DynamoDB it first checks the length is a multiple of 4;
 * any other defect (character outside the alphabet, misplaced padding,
 * non-zero unused bits) gets DynamoDB's other message, as in dynalite.
 */
int
KvBase64Check(const char *text, int len)
{
	int			pad = 0;

	if (len % 4 != 0)
		KvValidationError("Base64 encoded length is expected a multiple of 4 bytes but found: %d",
						  len);
	if (len == 0)
		return 0;
	if (text[len - 1] == '=')
	{
		pad = 1;
		if (text[len - 2] == '=')
			pad = 2;
	}
	for (int i = 0; i < len - pad; i++)
	{
		if (Base64Value((unsigned char) text[i]) < 0)
			KvValidationError("Invalid last non-pad Base64 character dectected");
	}
	if ((pad == 1 && (Base64Value((unsigned char) text[len - 2]) & 0x03) != 0) ||
		(pad == 2 && (Base64Value((unsigned char) text[len - 3]) & 0x0F) != 0))
		KvValidationError("Invalid last non-pad Base64 character dectected");
	return len / 4 * 3 - pad;
}

/*
 * KvBase64Length is the decoded length of base64 text assumed valid;
 * it never raises an error, whatever the text.
 */
int
KvBase64Length(const char *text, int len)
{
	int			pad = 0;

	if (len >= 1 && text[len - 1] == '=')
		pad++;
	if (len >= 2 && text[len - 2] == '=')
		pad++;
	return Max(len / 4 * 3 - pad, 0);
}

/*
 * KvBase64Decode validates and decodes standard padded base64 into a new
 * bytea.  KvBase64Check does the validating, with DynamoDB's messages:
 * PostgreSQL's decoder accepts text after the padding and non-zero unused
 * bits, and says nothing of what was wrong.
 */
bytea *
KvBase64Decode(const char *text, int len)
{
	int			outlen = KvBase64Check(text, len);
	bytea	   *result = (bytea *) palloc(VARHDRSZ + outlen);
	int			decoded;

	decoded = pg_b64_decode(text, len, VARDATA(result), outlen);
	if (decoded != outlen)
		elog(ERROR, "base64 decoding of validated text failed");
	SET_VARSIZE(result, VARHDRSZ + outlen);
	return result;
}

/*
 * KvBase64Encode encodes bytes as standard padded base64, NUL-terminated.
 * pg_b64_enc_len is an upper bound, not the length written.
 */
char *
KvBase64Encode(const char *data, int len)
{
	int			maxlen = pg_b64_enc_len(len);
	char	   *result = palloc(maxlen + 1);
	int			written;

	written = pg_b64_encode(data, len, result, maxlen);
	if (written < 0)
		elog(ERROR, "base64 encoding of %d bytes failed", len);
	result[written] = '\0';
	return result;
}
