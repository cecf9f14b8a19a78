/*-------------------------------------------------------------------------
 *
 * item.c
 *	  partkv's item model: validation and canonical form of plain-JSON
 *	  items, DynamoDB item sizes, key extraction, and conversion to and
 *	  from DynamoDB's typed JSON (SPEC-dynamodb.md §1, DESIGN §2).
 *
 * An item is a jsonb object.  JSON strings, numbers, booleans, null,
 * objects and arrays are S, N, BOOL, NULL, M and L; an object with exactly
 * one member named "$B", "$SS", "$NS" or "$BS" is a binary value or a set.
 *
 * Interpretations where DynamoDB's rules leave room:
 *
 * - Nesting: the item itself is not a level.  Every map or list value is
 *	 one level, and at most KV_MAX_DEPTH (32) map/list values may enclose
 *	 one another: a scalar inside 32 nested lists is accepted, a 33rd list
 *	 or map around it (or inside it) is rejected.  Sets and binary values
 *	 are scalars here, not levels.
 * - Attribute names: top-level names must be 1 to 65535 bytes.  Names of
 *	 map members may be empty but not longer than 65535 bytes.
 * - Number size: dynalite's rule with "exponent" the exponent of the
 *	 number in scientific notation, i.e. the power of ten of its first
 *	 significant digit (12.5 = 1.25E1: exponent 1; 0.05 = 5E-2: exponent
 *	 -2), and "digits" its significant digits without leading or trailing
 *	 zeros (1000 has 1).  Range and precision use the same two figures:
 *	 -130 <= exponent <= 125 and digits <= 38.
 * - Sizes count UTF-8 bytes (the database encoding is assumed UTF-8).
 * - Base64 must be canonical (padded, unused bits zero), so equal bytes
 *	 always have equal text and binary sets can be deduplicated on text.
 * - to_dynamodb_json and from_dynamodb_json validate everything but the
 *	 400 KB item size: they convert, writes enforce the limit.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/base64.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "../common/errors.h"
#include "item.h"

PG_FUNCTION_INFO_V1(partkv_to_dynamodb_json);
PG_FUNCTION_INFO_V1(partkv_from_dynamodb_json);
PG_FUNCTION_INFO_V1(partkv_item_size);

/* a DynamoDB number broken into the figures its rules are stated in */
typedef struct KvNumber
{
	bool		neg;			/* negative (never true for zero) */
	int			ndigits;		/* significant digits; 0 means zero */
	int			exponent;		/* power of ten of the first significant digit */
	char	   *digits;			/* the significant digits, NUL-terminated */
} KvNumber;

/* exponents are clamped to this while parsing: far beyond any valid one */
#define KV_EXPONENT_CLAMP	1000000

#define KV_MAX_NUMBER_EXPONENT	125
#define KV_MIN_NUMBER_EXPONENT	(-130)

/* what validating an item found out */
typedef struct ItemCheckState
{
	bool		changed;		/* some number is not in canonical form */
} ItemCheckState;

/* one element of a set being checked for duplicates */
typedef struct SetElem
{
	const char *val;
	int			len;
} SetElem;

static void DynamoShapeError(const char *tag, const char *expected,
							 JsonbValue *got) pg_attribute_noreturn();
static int64 CheckValue(ItemCheckState *st, JsonbValue *v, int depth);
static int64 ValueSize(const JsonbValue *v);
static int64 ContainerValueSize(JsonbContainer *c);
static void PushDynamoValue(JsonbParseState **ps, JsonbValue *v);
static void PushFromDynamoValue(JsonbParseState **ps, JsonbValue *v, int depth,
								JsonbIteratorToken as);

/*
 * KvTypeName returns DynamoDB's name of an attribute type, as used in
 * DynamoDB JSON and in error messages.
 */
const char *
KvTypeName(KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return "S";
		case KV_TYPE_N:
			return "N";
		case KV_TYPE_B:
			return "B";
		case KV_TYPE_BOOL:
			return "BOOL";
		case KV_TYPE_NULL:
			return "NULL";
		case KV_TYPE_M:
			return "M";
		case KV_TYPE_L:
			return "L";
		case KV_TYPE_SS:
			return "SS";
		case KV_TYPE_NS:
			return "NS";
		case KV_TYPE_BS:
			return "BS";
		case KV_TYPE_INVALID:
			break;
	}
	return "INVALID";
}

/*
 * KvKeyTypeFromName parses a key attribute type name; only S, N and B can
 * type a key.
 */
KvType
KvKeyTypeFromName(const char *name)
{
	if (name == NULL)
		return KV_TYPE_INVALID;
	if (strcmp(name, "S") == 0)
		return KV_TYPE_S;
	if (strcmp(name, "N") == 0)
		return KV_TYPE_N;
	if (strcmp(name, "B") == 0)
		return KV_TYPE_B;
	return KV_TYPE_INVALID;
}

/*
 * KvKeyTypeOid returns the PostgreSQL type of a key column: text for S,
 * numeric for N, bytea for B (InvalidOid for anything else).
 */
Oid
KvKeyTypeOid(KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return TEXTOID;
		case KV_TYPE_N:
			return NUMERICOID;
		case KV_TYPE_B:
			return BYTEAOID;
		default:
			return InvalidOid;
	}
}

/* ----------------------------------------------------------------
 * Numbers
 * ----------------------------------------------------------------
 */

/*
 * NumberParse reads DynamoDB number text ([+-]digits[.digits][e[+-]digits],
 * digits on at least one side of the point, no blanks) into its sign,
 * significant digits and exponent.  Returns false on malformed text.
 * Exponents are clamped so absurd ones cannot overflow; they fail the range
 * check anyway.
 */
static bool
NumberParse(const char *text, KvNumber *num)
{
	const char *p = text;
	const char *mant;
	const char *mant_end;
	const char *q;
	int			intdigits = 0;
	int			fracdigits = 0;
	int64		exp10 = 0;
	int64		exponent;
	int			idx = 0;
	int			first = -1;
	char	   *d;
	char	   *last;

	num->neg = false;
	num->digits = NULL;
	if (*p == '+' || *p == '-')
	{
		num->neg = (*p == '-');
		p++;
	}
	mant = p;
	while (*p >= '0' && *p <= '9')
	{
		p++;
		intdigits++;
	}
	if (*p == '.')
	{
		p++;
		while (*p >= '0' && *p <= '9')
		{
			p++;
			fracdigits++;
		}
	}
	if (intdigits + fracdigits == 0)
		return false;
	mant_end = p;
	if (*p == 'e' || *p == 'E')
	{
		bool		eneg = false;

		p++;
		if (*p == '+' || *p == '-')
		{
			eneg = (*p == '-');
			p++;
		}
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
		{
			if (exp10 < KV_EXPONENT_CLAMP)
				exp10 = exp10 * 10 + (*p - '0');
			p++;
		}
		if (eneg)
			exp10 = -exp10;
	}
	if (*p != '\0')
		return false;

	/* keep the digits from the first non-zero one, then drop trailing zeros */
	num->digits = palloc(intdigits + fracdigits + 1);
	d = num->digits;
	last = d;
	for (q = mant; q < mant_end; q++)
	{
		if (*q == '.')
			continue;
		if (first < 0 && *q == '0')
		{
			idx++;
			continue;
		}
		if (first < 0)
			first = idx;
		*d++ = *q;
		if (*q != '0')
			last = d;
		idx++;
	}
	*last = '\0';
	num->ndigits = last - num->digits;

	if (num->ndigits == 0)
	{
		/* zero, whatever its sign, scale or exponent */
		num->neg = false;
		num->exponent = 0;
		return true;
	}

	exponent = (int64) intdigits - first - 1 + exp10;
	if (exponent > 2 * KV_EXPONENT_CLAMP)
		exponent = 2 * KV_EXPONENT_CLAMP;
	if (exponent < -2 * KV_EXPONENT_CLAMP)
		exponent = -2 * KV_EXPONENT_CLAMP;
	num->exponent = (int) exponent;
	return true;
}

/*
 * NumberCheck enforces DynamoDB's number range and precision, in
 * DynamoDB's order and words: magnitude 1E-130 <= |x| < 1E126 (or zero),
 * at most 38 significant digits.
 */
static void
NumberCheck(const KvNumber *num)
{
	if (num->ndigits == 0)
		return;
	if (num->exponent > KV_MAX_NUMBER_EXPONENT)
		KvValidationError("Number overflow. Attempting to store a number with magnitude larger than supported range");
	if (num->exponent < KV_MIN_NUMBER_EXPONENT)
		KvValidationError("Number underflow. Attempting to store a number with magnitude smaller than supported range");
	if (num->ndigits > KV_MAX_NUMBER_DIGITS)
		KvValidationError("Attempting to store more than 38 significant digits in a Number");
}

/*
 * NumberRender writes a checked number canonically: plain decimal, no
 * exponent, no leading zeros, no trailing fractional zeros, no "+", zero as
 * "0".  This is also what PostgreSQL's numeric output prints for the same
 * value at its minimal scale.
 */
static char *
NumberRender(const KvNumber *num)
{
	char	   *result;
	char	   *p;

	if (num->ndigits == 0)
		return pstrdup("0");

	/* sign, digits, zeros up to the exponent, "0." and the NUL */
	result = palloc(num->ndigits + Abs(num->exponent) + 4);
	p = result;
	if (num->neg)
		*p++ = '-';
	if (num->exponent >= 0)
	{
		int			intlen = num->exponent + 1;

		if (num->ndigits <= intlen)
		{
			memcpy(p, num->digits, num->ndigits);
			p += num->ndigits;
			for (int i = num->ndigits; i < intlen; i++)
				*p++ = '0';
		}
		else
		{
			memcpy(p, num->digits, intlen);
			p += intlen;
			*p++ = '.';
			memcpy(p, num->digits + intlen, num->ndigits - intlen);
			p += num->ndigits - intlen;
		}
	}
	else
	{
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -num->exponent - 1; i++)
			*p++ = '0';
		memcpy(p, num->digits, num->ndigits);
		p += num->ndigits;
	}
	*p = '\0';
	return result;
}

/*
 * NumberSize is the DynamoDB size of a number by dynalite's rule: 1 byte
 * for zero, else 1 + ceil(digits / 2), plus 1 when both the digit count
 * and the exponent are even, plus 1 when negative.
 */
static int
NumberSize(const KvNumber *num)
{
	if (num->ndigits == 0)
		return 1;
	return 1 + (num->ndigits + 1) / 2 +
		((num->ndigits % 2 == 0 && num->exponent % 2 == 0) ? 1 : 0) +
		(num->neg ? 1 : 0);
}

/*
 * NumericFromText builds a numeric from text already known to be a valid
 * plain decimal.
 */
static Numeric
NumericFromText(const char *text)
{
	return DatumGetNumeric(DirectFunctionCall3(numeric_in,
											   CStringGetDatum(text),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

/*
 * NumericParse breaks a numeric into a KvNumber and returns its output
 * text.  NaN and infinities, which jsonb built from SQL could hold, are not
 * DynamoDB numbers.
 */
static char *
NumericParse(Numeric n, KvNumber *num)
{
	char	   *text;

	if (numeric_is_nan(n) || numeric_is_inf(n))
	{
		text = DatumGetCString(DirectFunctionCall1(numeric_out,
												   NumericGetDatum(n)));
		KvValidationError("The parameter cannot be converted to a numeric value: %s",
						  text);
	}
	text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	if (!NumberParse(text, num))
		elog(ERROR, "unexpected numeric output \"%s\"", text);
	return text;
}

/*
 * NumericCanonicalText checks a numeric against DynamoDB's rules and
 * returns its canonical text; *changed tells whether that differs from the
 * numeric's own output (trailing fractional zeros).
 */
static char *
NumericCanonicalText(Numeric n, KvNumber *num, bool *changed)
{
	char	   *text = NumericParse(n, num);
	char	   *canon;

	NumberCheck(num);
	canon = NumberRender(num);
	*changed = (strcmp(canon, text) != 0);
	/* items can hold many numbers: give back what is no longer needed */
	pfree(text);
	pfree(num->digits);
	num->digits = NULL;
	return canon;
}

/*
 * KvNumberCanonical checks a number and returns it canonically: the same
 * pointer when it already is, so callers can tell nothing changed.
 */
Numeric
KvNumberCanonical(Numeric num)
{
	KvNumber	parsed;
	bool		changed;
	char	   *canon = NumericCanonicalText(num, &parsed, &changed);
	Numeric		result = num;

	if (changed)
		result = NumericFromText(canon);
	pfree(canon);
	return result;
}

/*
 * KvNumberFromText parses DynamoDB number text (the "N" of DynamoDB JSON),
 * with DynamoDB's messages for bad text, range and precision.
 */
Numeric
KvNumberFromText(const char *text)
{
	KvNumber	parsed;

	if (text == NULL || text[0] == '\0')
		KvValidationError("The parameter cannot be converted to a numeric value");
	if (!NumberParse(text, &parsed))
		KvValidationError("The parameter cannot be converted to a numeric value: %s",
						  text);
	NumberCheck(&parsed);
	return NumericFromText(NumberRender(&parsed));
}

/* ----------------------------------------------------------------
 * Base64
 * ----------------------------------------------------------------
 */

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
 * Base64Check validates standard padded base64 and returns the decoded
 * length.  Like DynamoDB it first checks the length is a multiple of 4;
 * any other defect (character outside the alphabet, misplaced padding,
 * non-zero unused bits) gets DynamoDB's other message, as in dynalite.
 */
static int
Base64Check(const char *text, int len)
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
 * Base64LengthNoCheck is the decoded length of base64 text assumed valid;
 * it never raises an error, whatever the text.
 */
static int
Base64LengthNoCheck(const char *text, int len)
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
 * bytea.  Base64Check does the validating, with DynamoDB's messages:
 * PostgreSQL's decoder accepts text after the padding and non-zero unused
 * bits, and says nothing of what was wrong.
 */
bytea *
KvBase64Decode(const char *text, int len)
{
	int			outlen = Base64Check(text, len);
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

/* ----------------------------------------------------------------
 * Types of values
 * ----------------------------------------------------------------
 */

/*
 * TypedNameType tells which typed value a one-member object whose member
 * is called name stands for: B, SS, NS or BS, or KV_TYPE_INVALID when the
 * name is not one of "$B", "$SS", "$NS", "$BS" (the object is then a map).
 */
static KvType
TypedNameType(const char *name, int len)
{
	if (len == 2 && name[0] == '$' && name[1] == 'B')
		return KV_TYPE_B;
	if (len == 3 && name[0] == '$' && name[2] == 'S')
	{
		switch (name[1])
		{
			case 'S':
				return KV_TYPE_SS;
			case 'N':
				return KV_TYPE_NS;
			case 'B':
				return KV_TYPE_BS;
		}
	}
	return KV_TYPE_INVALID;
}

/*
 * ContainerType is the DynamoDB type of a non-scalar jsonb container: L for
 * arrays, a typed value for a one-member "$B"/"$SS"/"$NS"/"$BS" object
 * (whose member value is stored in *inner when inner is not NULL), M for
 * any other object.  The single key is read straight from the container,
 * sparing an iterator on the hot path.
 */
static KvType
ContainerType(JsonbContainer *c, JsonbValue *inner)
{
	if (JsonContainerIsArray(c))
		return KV_TYPE_L;
	if (JsonContainerSize(c) == 1)
	{
		/* object layout: key JEntry, value JEntry, then key data */
		const char *key = (const char *) &c->children[2] + getJsonbOffset(c, 0);
		int			keylen = getJsonbLength(c, 0);
		KvType		t = TypedNameType(key, keylen);

		if (t != KV_TYPE_INVALID)
		{
			if (inner != NULL &&
				getKeyJsonValueFromContainer(c, key, keylen, inner) == NULL)
				elog(ERROR, "jsonb object member not found");
			return t;
		}
	}
	return KV_TYPE_M;
}

/*
 * KvJsonbValueType is the DynamoDB type of a jsonb value, in any of its
 * forms (scalar, in-memory object/array, or binary container).
 */
KvType
KvJsonbValueType(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvNull:
			return KV_TYPE_NULL;
		case jbvString:
			return KV_TYPE_S;
		case jbvNumeric:
			return KV_TYPE_N;
		case jbvBool:
			return KV_TYPE_BOOL;
		case jbvArray:
			if (v->val.array.rawScalar && v->val.array.nElems == 1)
				return KvJsonbValueType(&v->val.array.elems[0]);
			return KV_TYPE_L;
		case jbvObject:
			if (v->val.object.nPairs == 1)
			{
				const JsonbValue *k = &v->val.object.pairs[0].key;
				KvType		t = TypedNameType(k->val.string.val, k->val.string.len);

				if (t != KV_TYPE_INVALID)
					return t;
			}
			return KV_TYPE_M;
		case jbvBinary:
			if (JsonContainerIsScalar(v->val.binary.data))
			{
				JsonbValue	scalar;

				if (!JsonbExtractScalar(v->val.binary.data, &scalar))
					return KV_TYPE_INVALID;
				return KvJsonbValueType(&scalar);
			}
			return ContainerType(v->val.binary.data, NULL);
		default:
			break;
	}
	return KV_TYPE_INVALID;
}

/*
 * TypedInner finds the member value of a typed value ({"$B": x} -> x) in
 * any form of JsonbValue; false when v is not a one-member object.
 */
static bool
TypedInner(const JsonbValue *v, JsonbValue *inner)
{
	if (v->type == jbvObject && v->val.object.nPairs == 1)
	{
		*inner = v->val.object.pairs[0].value;
		return true;
	}
	if (v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data))
	{
		KvType		t = ContainerType(v->val.binary.data, inner);

		return t == KV_TYPE_B || t == KV_TYPE_SS || t == KV_TYPE_NS ||
			t == KV_TYPE_BS;
	}
	return false;
}

/* ----------------------------------------------------------------
 * Validation
 * ----------------------------------------------------------------
 */

/*
 * CheckAttributeName enforces the length of a name: 1 to 65535 bytes for
 * top-level attributes, at most 65535 bytes for map members.
 */
static void
CheckAttributeName(int len, bool top_level)
{
	if (len == 0 && top_level)
		KvValidationError(KV_INVALID_PARAMS "Empty attribute name");
	if (len > KV_MAX_ATTR_NAME_BYTES)
		KvValidationError(KV_INVALID_PARAMS "Attribute name exceeds the maximum length of 65535 bytes");
}

/*
 * CheckNumber validates one number and returns its size; a number not in
 * canonical form marks the item for rewriting.
 */
static int64
CheckNumber(ItemCheckState *st, Numeric n, char **canon_out)
{
	KvNumber	parsed;
	bool		changed;
	char	   *canon = NumericCanonicalText(n, &parsed, &changed);

	if (changed)
		st->changed = true;
	if (canon_out)
		*canon_out = canon;
	else
		pfree(canon);
	return NumberSize(&parsed);
}

/*
 * SetElemCmp orders set elements bytewise, for duplicate detection.
 */
static int
SetElemCmp(const void *a, const void *b)
{
	const SetElem *x = (const SetElem *) a;
	const SetElem *y = (const SetElem *) b;
	int			r = memcmp(x->val, y->val, Min(x->len, y->len));

	if (r != 0)
		return r;
	return (x->len > y->len) - (x->len < y->len);
}

/*
 * SetHasDuplicates tells whether two elements of a set are equal; the
 * caller's array order is kept (messages list the set as given).
 */
static bool
SetHasDuplicates(const SetElem *elems, int n)
{
	SetElem    *sorted;
	bool		dup = false;

	if (n < 2)
		return false;
	sorted = palloc(n * sizeof(SetElem));
	memcpy(sorted, elems, n * sizeof(SetElem));
	qsort(sorted, n, sizeof(SetElem), SetElemCmp);
	for (int i = 1; i < n && !dup; i++)
		dup = (SetElemCmp(&sorted[i - 1], &sorted[i]) == 0);
	pfree(sorted);
	return dup;
}

/*
 * SetListText renders a set's elements as DynamoDB does in its duplicate
 * messages: "[a, b, c]".
 */
static char *
SetListText(const SetElem *elems, int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '[');
	for (int i = 0; i < n; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendBinaryStringInfo(&buf, elems[i].val, elems[i].len);
	}
	appendStringInfoChar(&buf, ']');
	return buf.data;
}

/*
 * CheckSet validates a typed set ({"$SS": [...]}, {"$NS": [...]} or
 * {"$BS": [...]}): a non-empty array of elements of the right JSON type,
 * each valid, none duplicated.  Returns the sum of the element sizes.
 */
static int64
CheckSet(ItemCheckState *st, KvType type, JsonbValue *inner)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	elem;
	SetElem    *elems;
	int			n = 0;
	int			nalloc;
	int64		size = 0;
	const char *shape_error;

	switch (type)
	{
		case KV_TYPE_SS:
			shape_error = KV_INVALID_PARAMS "A string set {\"$SS\": [...]} must be an array of strings";
			break;
		case KV_TYPE_NS:
			shape_error = KV_INVALID_PARAMS "A number set {\"$NS\": [...]} must be an array of numbers";
			break;
		default:
			shape_error = KV_INVALID_PARAMS "A binary set {\"$BS\": [...]} must be an array of base64-encoded strings";
			break;
	}

	if (inner->type != jbvBinary || !JsonContainerIsArray(inner->val.binary.data) ||
		JsonContainerIsScalar(inner->val.binary.data))
		KvValidationError("%s", shape_error);

	nalloc = JsonContainerSize(inner->val.binary.data);
	if (nalloc == 0)
	{
		if (type == KV_TYPE_SS)
			KvValidationError(KV_INVALID_PARAMS "An string set  may not be empty");
		if (type == KV_TYPE_NS)
			KvValidationError(KV_INVALID_PARAMS "An number set  may not be empty");
		KvValidationError(KV_INVALID_PARAMS "Binary sets should not be empty");
	}
	elems = palloc(nalloc * sizeof(SetElem));

	it = JsonbIteratorInit(inner->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		Assert(n < nalloc);
		if (type == KV_TYPE_NS)
		{
			char	   *canon;

			if (elem.type != jbvNumeric)
				KvValidationError("%s", shape_error);
			size += CheckNumber(st, elem.val.numeric, &canon);
			elems[n].val = canon;
			elems[n].len = strlen(canon);
		}
		else
		{
			if (elem.type != jbvString)
				KvValidationError("%s", shape_error);
			elems[n].val = elem.val.string.val;
			elems[n].len = elem.val.string.len;
			if (type == KV_TYPE_BS)
				size += Base64Check(elem.val.string.val, elem.val.string.len);
			else
				size += elem.val.string.len;
		}
		n++;
	}

	/* canonical numbers and canonical base64 compare equal by text */
	if (SetHasDuplicates(elems, n))
	{
		if (type == KV_TYPE_SS)
			KvValidationError(KV_INVALID_PARAMS "Input collection %s contains duplicates.",
							  SetListText(elems, n));
		if (type == KV_TYPE_NS)
			KvValidationError("Input collection contains duplicates");
		KvValidationError(KV_INVALID_PARAMS "Input collection %sof type BS contains duplicates.",
						  SetListText(elems, n));
	}
	pfree(elems);
	return size;
}

/*
 * CheckContainer validates a map, list, binary value or set held in a
 * jsonb container found at the given nesting depth (the number of maps and
 * lists around it), and returns its size.
 */
static int64
CheckContainer(ItemCheckState *st, JsonbContainer *c, int depth)
{
	JsonbValue	inner;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	KvType		type;
	int64		size = 3;

	if (JsonContainerIsScalar(c))
	{
		if (!JsonbExtractScalar(c, &inner))
			elog(ERROR, "invalid jsonb scalar container");
		return CheckValue(st, &inner, depth);
	}

	type = ContainerType(c, &inner);
	switch (type)
	{
		case KV_TYPE_B:
			if (inner.type != jbvString)
				KvValidationError(KV_INVALID_PARAMS "A binary value {\"$B\": ...} must be a base64-encoded string");
			return Base64Check(inner.val.string.val, inner.val.string.len);
		case KV_TYPE_SS:
		case KV_TYPE_NS:
		case KV_TYPE_BS:
			return CheckSet(st, type, &inner);
		default:
			break;
	}

	/* a map or a list: one more nesting level */
	if (depth >= KV_MAX_DEPTH)
		KvValidationError("Nesting Levels have exceeded supported limits");
	check_stack_depth();

	it = JsonbIteratorInit(c);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		switch (tok)
		{
			case WJB_KEY:
				CheckAttributeName(v.val.string.len, false);
				size += 1 + v.val.string.len;
				break;
			case WJB_VALUE:
				size += CheckValue(st, &v, depth + 1);
				break;
			case WJB_ELEM:
				size += 1 + CheckValue(st, &v, depth + 1);
				break;
			default:
				break;
		}
	}
	return size;
}

/*
 * CheckValue validates one attribute value at the given nesting depth and
 * returns its DynamoDB size.
 */
static int64
CheckValue(ItemCheckState *st, JsonbValue *v, int depth)
{
	switch (v->type)
	{
		case jbvString:
			return v->val.string.len;
		case jbvNumeric:
			return CheckNumber(st, v->val.numeric, NULL);
		case jbvBool:
		case jbvNull:
			return 1;
		case jbvBinary:
			return CheckContainer(st, v->val.binary.data, depth);
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * CheckItem validates a whole item and returns its size; st->changed tells
 * whether its canonical form differs.
 */
static int64
CheckItem(ItemCheckState *st, Jsonb *item)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	int64		size = 0;

	if (!JB_ROOT_IS_OBJECT(item))
		KvValidationError(KV_INVALID_PARAMS "An item must be a JSON object");

	it = JsonbIteratorInit(&item->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
		{
			CheckAttributeName(v.val.string.len, true);
			size += v.val.string.len;
		}
		else if (tok == WJB_VALUE)
			size += CheckValue(st, &v, 0);
	}
	return size;
}

/*
 * RebuildCanonical copies a validated item with every number in canonical
 * form.
 */
static Jsonb *
RebuildCanonical(Jsonb *item)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it = JsonbIteratorInit(&item->root);
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	while ((tok = JsonbIteratorNext(&it, &v, false)) != WJB_DONE)
	{
		if ((tok == WJB_VALUE || tok == WJB_ELEM) && v.type == jbvNumeric)
			v.val.numeric = KvNumberCanonical(v.val.numeric);
		res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

/*
 * ItemCheckInternal validates an item and returns its canonical form;
 * the size limit is enforced only when enforce_size is set.
 */
static Jsonb *
ItemCheckInternal(Jsonb *item, KvWriteKind kind, bool enforce_size,
				  int64 *size_out)
{
	ItemCheckState st = {false};
	int64		size = CheckItem(&st, item);

	if (enforce_size && size > KV_MAX_ITEM_SIZE)
		ereport(ERROR,
				(errcode(KV_ERRCODE_SIZE_LIMIT),
				 errmsg("%s", kind == KV_WRITE_UPDATE ?
						"Item size to update has exceeded the maximum allowed size" :
						"Item size has exceeded the maximum allowed size")));
	if (size_out)
		*size_out = size;
	if (!st.changed)
		return item;
	return RebuildCanonical(item);
}

/*
 * KvItemCheck validates an item for a write and returns it canonically
 * (the same pointer when already canonical).
 */
Jsonb *
KvItemCheck(Jsonb *item, KvWriteKind kind, int64 *size_out)
{
	return ItemCheckInternal(item, kind, true, size_out);
}

/* ----------------------------------------------------------------
 * Sizes of values assumed valid
 * ----------------------------------------------------------------
 */

/*
 * The on-disk numeric format (numeric.c keeps its macros to itself; the
 * format is stable since PostgreSQL 9.1, special values since 14): after
 * the varlena header, a 16-bit word whose top bits say positive (00),
 * negative (01), short (10) or special (11).  A short numeric keeps sign,
 * display scale and a 7-bit weight in that word; a long one follows it
 * with a 16-bit weight.  Then come base-10000 digits, without leading or
 * trailing zero digits; the weight is the power of 10000 of the first.
 */
#define KV_NUMERIC_FLAGS(h)			((h) & 0xC000)
#define KV_NUMERIC_NEG				0x4000
#define KV_NUMERIC_SHORT			0x8000
#define KV_NUMERIC_SPECIAL			0xC000
#define KV_NUMERIC_SHORT_NEG		0x2000
#define KV_NUMERIC_SHORT_WEIGHT_NEG 0x0040
#define KV_NUMERIC_SHORT_WEIGHT		0x003F

/* KvDecimalDigits is the number of decimal digits of d, 1 <= d < 10000. */
static inline int
KvDecimalDigits(int d)
{
	return d >= 1000 ? 4 : d >= 100 ? 3 : d >= 10 ? 2 : 1;
}

/* KvTrailingZeros is the number of decimal zeros d, 1 <= d < 10000, ends in. */
static inline int
KvTrailingZeros(int d)
{
	return d % 1000 == 0 ? 3 : d % 100 == 0 ? 2 : d % 10 == 0 ? 1 : 0;
}

/*
 * NumericSize is the size of a number assumed valid (never an error: NaN
 * and infinities count as 1 byte), read off its base-10000 digits rather
 * than printed and parsed again: every item a query or scan returns is
 * sized.
 */
static int64
NumericSize(Numeric n)
{
	const char *data = VARDATA_ANY(n);
	int			len = VARSIZE_ANY_EXHDR(n);
	uint16		header;
	int			weight;
	bool		neg;
	int			hdrlen;
	int			first;
	int			last;
	int16		digit;
	KvNumber	num;

	if (len < (int) sizeof(uint16))
		return 1;
	memcpy(&header, data, sizeof(uint16));
	if (KV_NUMERIC_FLAGS(header) == KV_NUMERIC_SPECIAL)
		return 1;
	if (KV_NUMERIC_FLAGS(header) == KV_NUMERIC_SHORT)
	{
		hdrlen = sizeof(uint16);
		neg = (header & KV_NUMERIC_SHORT_NEG) != 0;
		weight = (header & KV_NUMERIC_SHORT_WEIGHT) |
			((header & KV_NUMERIC_SHORT_WEIGHT_NEG) ? ~KV_NUMERIC_SHORT_WEIGHT : 0);
	}
	else
	{
		int16		w;

		hdrlen = sizeof(uint16) + sizeof(int16);
		if (len < hdrlen)
			return 1;
		neg = KV_NUMERIC_FLAGS(header) == KV_NUMERIC_NEG;
		memcpy(&w, data + sizeof(uint16), sizeof(int16));
		weight = w;
	}

	/* the first and last non-zero digits (stored numerics have no others) */
	first = 0;
	last = (len - hdrlen) / (int) sizeof(int16) - 1;
	for (;; first++)
	{
		if (first > last)
			return 1;			/* zero */
		memcpy(&digit, data + hdrlen + first * sizeof(int16), sizeof(int16));
		if (digit != 0)
			break;
	}
	num.neg = neg;
	num.exponent = (weight - first) * 4 + KvDecimalDigits(digit) - 1;
	num.ndigits = KvDecimalDigits(digit);
	for (;; last--)
	{
		memcpy(&digit, data + hdrlen + last * sizeof(int16), sizeof(int16));
		if (digit != 0)
			break;
	}
	if (last > first)
		num.ndigits += 4 * (last - first);
	num.ndigits -= KvTrailingZeros(digit);
	num.digits = NULL;
	return NumberSize(&num);
}

/*
 * SetElementSize is the size of one element of a set of the given type.
 */
static int64
SetElementSize(KvType type, const JsonbValue *elem)
{
	if (type == KV_TYPE_NS && elem->type == jbvNumeric)
		return NumericSize(elem->val.numeric);
	if (elem->type != jbvString)
		return 0;
	if (type == KV_TYPE_BS)
		return Base64LengthNoCheck(elem->val.string.val, elem->val.string.len);
	return elem->val.string.len;
}

/*
 * TypedSize is the size of a binary value or set given its member value.
 */
static int64
TypedSize(KvType type, const JsonbValue *inner)
{
	int64		size = 0;

	if (type == KV_TYPE_B)
	{
		if (inner->type != jbvString)
			return 0;
		return Base64LengthNoCheck(inner->val.string.val, inner->val.string.len);
	}
	if (inner->type == jbvArray)
	{
		for (int i = 0; i < inner->val.array.nElems; i++)
			size += SetElementSize(type, &inner->val.array.elems[i]);
	}
	else if (inner->type == jbvBinary && JsonContainerIsArray(inner->val.binary.data))
	{
		JsonbIterator *it = JsonbIteratorInit(inner->val.binary.data);
		JsonbIteratorToken tok;
		JsonbValue	elem;

		while ((tok = JsonbIteratorNext(&it, &elem, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM)
				size += SetElementSize(type, &elem);
		}
	}
	return size;
}

/*
 * EntrySize is the size of child i of a jsonb container, read off its
 * JEntry where that says enough: sizing goes through every item a read
 * returns, and a JsonbIterator would copy each value out first.
 */
static int64
EntrySize(JsonbContainer *c, int i)
{
	JEntry		entry = c->children[i];
	int			nentries = JsonContainerSize(c) * (JsonContainerIsObject(c) ? 2 : 1);
	char	   *data = (char *) &c->children[nentries];

	if (JBE_ISSTRING(entry))
		return getJsonbLength(c, i);
	if (JBE_ISNUMERIC(entry))
		return NumericSize((Numeric) (data + INTALIGN(getJsonbOffset(c, i))));
	if (JBE_ISCONTAINER(entry))
		return ContainerValueSize((JsonbContainer *) (data + INTALIGN(getJsonbOffset(c, i))));
	return 1;					/* true, false, null */
}

/*
 * ContainerValueSize is the size of a value held in a jsonb container.
 */
static int64
ContainerValueSize(JsonbContainer *c)
{
	JsonbValue	inner;
	KvType		type;
	int			n = JsonContainerSize(c);
	int64		size = 3;

	if (JsonContainerIsScalar(c))
	{
		if (!JsonbExtractScalar(c, &inner))
			return 0;
		return ValueSize(&inner);
	}
	type = ContainerType(c, &inner);
	if (type != KV_TYPE_M && type != KV_TYPE_L)
		return TypedSize(type, &inner);

	check_stack_depth();
	if (JsonContainerIsObject(c))
	{
		/* keys are children 0..n-1, their values n..2n-1 */
		for (int i = 0; i < n; i++)
			size += 1 + getJsonbLength(c, i) + EntrySize(c, n + i);
	}
	else
	{
		for (int i = 0; i < n; i++)
			size += 1 + EntrySize(c, i);
	}
	return size;
}

/*
 * ValueSize is the DynamoDB size of one value in any JsonbValue form,
 * without validating it.
 */
static int64
ValueSize(const JsonbValue *v)
{
	int64		size = 3;

	switch (v->type)
	{
		case jbvString:
			return v->val.string.len;
		case jbvNumeric:
			return NumericSize(v->val.numeric);
		case jbvBool:
		case jbvNull:
			return 1;
		case jbvBinary:
			return ContainerValueSize(v->val.binary.data);
		case jbvArray:
			if (v->val.array.rawScalar && v->val.array.nElems == 1)
				return ValueSize(&v->val.array.elems[0]);
			check_stack_depth();
			for (int i = 0; i < v->val.array.nElems; i++)
				size += 1 + ValueSize(&v->val.array.elems[i]);
			return size;
		case jbvObject:
			{
				KvType		type = KvJsonbValueType(v);

				if (type != KV_TYPE_M)
					return TypedSize(type, &v->val.object.pairs[0].value);
				check_stack_depth();
				for (int i = 0; i < v->val.object.nPairs; i++)
					size += 1 + v->val.object.pairs[i].key.val.string.len +
						ValueSize(&v->val.object.pairs[i].value);
				return size;
			}
		default:
			break;
	}
	return 0;
}

/*
 * KvValueSize is the DynamoDB size of one value (a map counts its member
 * names), assumed valid.
 */
int64
KvValueSize(const JsonbValue *v)
{
	return ValueSize(v);
}

/*
 * KvItemSize is the DynamoDB size of an item assumed valid: the sum of its
 * attribute names and values.
 */
int64
KvItemSize(Jsonb *item)
{
	JsonbContainer *root = &item->root;
	int			n = JsonContainerSize(root);
	int64		size = 0;

	if (!JB_ROOT_IS_OBJECT(item))
		return 0;
	for (int i = 0; i < n; i++)
		size += getJsonbLength(root, i) + EntrySize(root, n + i);
	return size;
}

/* ----------------------------------------------------------------
 * Keys
 * ----------------------------------------------------------------
 */

/*
 * CheckKeyBytes rejects an empty S/B key value and one longer than the
 * partition-key (2048) or sort-key (1024) limit, in DynamoDB's words.
 */
static void
CheckKeyBytes(const KvKeyAttr *attr, int len, bool is_sort_key)
{
	if (len == 0)
		KvValidationError(KV_INVALID_PARAMS "The AttributeValue for a key attribute cannot contain an empty %s value. Key: %s",
						  attr->type == KV_TYPE_B ? "binary" : "string",
						  attr->name);
	if (!is_sort_key && len > KV_MAX_PARTITION_KEY_BYTES)
		KvValidationError(KV_INVALID_PARAMS "Size of hashkey has exceeded the maximum size limit of2048 bytes");
	if (is_sort_key && len > KV_MAX_SORT_KEY_BYTES)
		KvValidationError(KV_INVALID_PARAMS "Aggregated size of all range keys has exceeded the size limit of 1024 bytes");
}

/*
 * KeyValueDatum turns the JSON value of a key attribute into the key
 * column's Datum, checking type, emptiness and size.  A type mismatch in a
 * request key is DynamoDB's "does not match the schema"; in an item it
 * names the expected and actual types.
 */
static Datum
KeyValueDatum(const JsonbValue *v, const KvKeyAttr *attr, bool is_sort_key,
			  bool request)
{
	KvType		type = KvJsonbValueType(v);
	JsonbValue	scalar;

	if (type != attr->type)
	{
		if (request)
			KvValidationError("The provided key element does not match the schema");
		KvValidationError(KV_INVALID_PARAMS "Type mismatch for key %s expected: %s actual: %s",
						  attr->name, KvTypeName(attr->type),
						  KvTypeName(type));
	}

	/* scalars may come wrapped in a scalar container */
	if (v->type == jbvBinary && JsonContainerIsScalar(v->val.binary.data))
	{
		if (!JsonbExtractScalar(v->val.binary.data, &scalar))
			elog(ERROR, "invalid jsonb scalar container");
		v = &scalar;
	}

	switch (type)
	{
		case KV_TYPE_S:
			CheckKeyBytes(attr, v->val.string.len, is_sort_key);
			return PointerGetDatum(cstring_to_text_with_len(v->val.string.val,
															v->val.string.len));
		case KV_TYPE_N:
			{
				Numeric		n = KvNumberCanonical(v->val.numeric);

				return NumericGetDatum(DatumGetNumericCopy(NumericGetDatum(n)));
			}
		case KV_TYPE_B:
			{
				JsonbValue	inner;
				bytea	   *b;

				if (!TypedInner(v, &inner) || inner.type != jbvString)
					KvValidationError(KV_INVALID_PARAMS "A binary value {\"$B\": ...} must be a base64-encoded string");
				b = KvBase64Decode(inner.val.string.val, inner.val.string.len);
				CheckKeyBytes(attr, VARSIZE(b) - VARHDRSZ, is_sort_key);
				return PointerGetDatum(b);
			}
		default:
			elog(ERROR, "invalid key attribute type %d", (int) attr->type);
	}
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * KvItemKeyDatum extracts one key attribute of an item as the key column's
 * Datum; *found is false when the item lacks it.
 */
Datum
KvItemKeyDatum(Jsonb *item, const KvKeyAttr *attr, bool is_sort_key,
			   bool *found)
{
	JsonbValue	v;

	if (!JB_ROOT_IS_OBJECT(item))
		KvValidationError(KV_INVALID_PARAMS "An item must be a JSON object");
	if (getKeyJsonValueFromContainer(&item->root, attr->name,
									 strlen(attr->name), &v) == NULL)
	{
		*found = false;
		return (Datum) 0;
	}
	*found = true;
	return KeyValueDatum(&v, attr, is_sort_key, false);
}

/*
 * KvRequestKeyDatums reads the key of a GetItem/DeleteItem-style request:
 * exactly the schema's key attributes, each of its declared type.
 */
void
KvRequestKeyDatums(Jsonb *key, const KvKeySchema *schema, Datum *values)
{
	if (!JB_ROOT_IS_OBJECT(key) || JB_ROOT_COUNT(key) != schema->nkeys)
		KvValidationError("The provided key element does not match the schema");

	for (int k = 0; k < schema->nkeys; k++)
	{
		const KvKeyAttr *attr = &schema->keys[k];
		JsonbValue	v;

		if (getKeyJsonValueFromContainer(&key->root, attr->name,
										 strlen(attr->name), &v) == NULL)
			KvValidationError("The provided key element does not match the schema");
		values[k] = KeyValueDatum(&v, attr, k == 1, true);
	}
}

/*
 * KvKeyDatumFromValue converts a request value meant for a key attribute,
 * leaving a type mismatch for the caller to report in its own words.
 */
Datum
KvKeyDatumFromValue(const JsonbValue *v, const KvKeyAttr *attr, bool is_sort_key,
					bool *type_ok)
{
	if (KvJsonbValueType(v) != attr->type)
	{
		*type_ok = false;
		return (Datum) 0;
	}
	*type_ok = true;
	return KeyValueDatum(v, attr, is_sort_key, true);
}

/*
 * KvKeyDatumToJsonbValue gives the JSON value of a key column Datum:
 * jbvString for S, jbvNumeric for N, and for B a jbvBinary holding the
 * object {"$B": base64} (a binary container, unlike an in-memory
 * jbvObject, is accepted by pushJsonbValue as a WJB_VALUE/WJB_ELEM and by
 * JsonbValueToJsonb).  The result points into value (S, N) or into memory
 * allocated in CurrentMemoryContext (B).
 */
void
KvKeyDatumToJsonbValue(Datum value, KvType type, JsonbValue *out)
{
	switch (type)
	{
		case KV_TYPE_S:
			{
				text	   *t = DatumGetTextPP(value);

				out->type = jbvString;
				out->val.string.val = VARDATA_ANY(t);
				out->val.string.len = VARSIZE_ANY_EXHDR(t);
				break;
			}
		case KV_TYPE_N:
			out->type = jbvNumeric;
			out->val.numeric = DatumGetNumeric(value);
			break;
		case KV_TYPE_B:
			{
				bytea	   *b = DatumGetByteaPP(value);
				JsonbParseState *ps = NULL;
				JsonbValue	k;
				JsonbValue	s;
				JsonbValue *res;
				Jsonb	   *jb;

				k.type = jbvString;
				k.val.string.val = "$B";
				k.val.string.len = 2;
				s.type = jbvString;
				s.val.string.val = KvBase64Encode(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
				s.val.string.len = strlen(s.val.string.val);
				pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
				pushJsonbValue(&ps, WJB_KEY, &k);
				pushJsonbValue(&ps, WJB_VALUE, &s);
				res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
				jb = JsonbValueToJsonb(res);
				out->type = jbvBinary;
				out->val.binary.data = &jb->root;
				out->val.binary.len = VARSIZE(jb) - VARHDRSZ;
				break;
			}
		default:
			elog(ERROR, "invalid key attribute type %d", (int) type);
	}
}

/* ----------------------------------------------------------------
 * DynamoDB JSON
 * ----------------------------------------------------------------
 */

/*
 * PushString pushes a string as the given token (key, value or element).
 */
static void
PushString(JsonbParseState **ps, JsonbIteratorToken tok, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	pushJsonbValue(ps, tok, &v);
}

/*
 * PushNumberText pushes a number as DynamoDB JSON does: its canonical text
 * as a string.
 */
static void
PushNumberText(JsonbParseState **ps, JsonbIteratorToken tok, Numeric n)
{
	char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out,
														   NumericGetDatum(n)));

	PushString(ps, tok, text, strlen(text));
}

/*
 * PushDynamoValue pushes one validated, canonical plain-JSON value as a
 * DynamoDB AttributeValue ({"S": ...}, {"M": {...}}, ...).
 */
static void
PushDynamoValue(JsonbParseState **ps, JsonbValue *v)
{
	JsonbValue	inner;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	JsonbContainer *c;
	KvType		type;

	pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
	switch (v->type)
	{
		case jbvString:
			PushString(ps, WJB_KEY, "S", 1);
			pushJsonbValue(ps, WJB_VALUE, v);
			break;
		case jbvNumeric:
			PushString(ps, WJB_KEY, "N", 1);
			PushNumberText(ps, WJB_VALUE, v->val.numeric);
			break;
		case jbvBool:
			PushString(ps, WJB_KEY, "BOOL", 4);
			pushJsonbValue(ps, WJB_VALUE, v);
			break;
		case jbvNull:
			PushString(ps, WJB_KEY, "NULL", 4);
			e.type = jbvBool;
			e.val.boolean = true;
			pushJsonbValue(ps, WJB_VALUE, &e);
			break;
		case jbvBinary:
			c = v->val.binary.data;
			type = ContainerType(c, &inner);
			PushString(ps, WJB_KEY, KvTypeName(type), strlen(KvTypeName(type)));
			switch (type)
			{
				case KV_TYPE_B:
				case KV_TYPE_SS:
				case KV_TYPE_BS:
					/* same JSON in both forms: a string, or strings */
					pushJsonbValue(ps, WJB_VALUE, &inner);
					break;
				case KV_TYPE_NS:
					pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
					it = JsonbIteratorInit(inner.val.binary.data);
					while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
					{
						if (tok == WJB_ELEM)
							PushNumberText(ps, WJB_ELEM, e.val.numeric);
					}
					pushJsonbValue(ps, WJB_END_ARRAY, NULL);
					break;
				case KV_TYPE_L:
					check_stack_depth();
					pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
					it = JsonbIteratorInit(c);
					while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
					{
						if (tok == WJB_ELEM)
							PushDynamoValue(ps, &e);
					}
					pushJsonbValue(ps, WJB_END_ARRAY, NULL);
					break;
				default:
					check_stack_depth();
					pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
					it = JsonbIteratorInit(c);
					while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
					{
						if (tok == WJB_KEY)
							pushJsonbValue(ps, WJB_KEY, &e);
						else if (tok == WJB_VALUE)
							PushDynamoValue(ps, &e);
					}
					pushJsonbValue(ps, WJB_END_OBJECT, NULL);
					break;
			}
			break;
		default:
			elog(ERROR, "unexpected jsonb value type %d", (int) v->type);
	}
	pushJsonbValue(ps, WJB_END_OBJECT, NULL);
}

/*
 * KvToDynamoJson converts a plain-JSON item to DynamoDB typed JSON.  The
 * item is validated (all but its size) and canonicalised first, so the
 * conversion is lossless and from_dynamodb_json gives it back.
 */
Jsonb *
KvToDynamoJson(Jsonb *item)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	item = ItemCheckInternal(item, KV_WRITE_PUT, false, NULL);

	it = JsonbIteratorInit(&item->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_VALUE)
			PushDynamoValue(&ps, &v);
		else
			res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

/*
 * DynamoShapeError reports DynamoDB JSON of the wrong JSON type where
 * DynamoDB would raise a SerializationException.
 */
static void
DynamoShapeError(const char *tag, const char *expected, JsonbValue *got)
{
	ereport(ERROR,
			(errcode(KV_ERRCODE_VALIDATION),
			 errmsg("Invalid DynamoDB JSON: the value of \"%s\" must be %s, got %s",
					tag, expected, JsonbTypeName(got)),
			 strcmp(tag, "N") == 0 || strcmp(tag, "NS") == 0 ?
			 errhint("DynamoDB JSON writes numbers as strings, e.g. {\"N\": \"123\"}.") : 0));
}

/*
 * IsContainer tells whether a value is a jsonb array (want_array) or
 * object held in a binary container.
 */
static bool
IsContainer(const JsonbValue *v, bool want_array)
{
	if (v->type != jbvBinary || JsonContainerIsScalar(v->val.binary.data))
		return false;
	return want_array ? JsonContainerIsArray(v->val.binary.data) :
		JsonContainerIsObject(v->val.binary.data);
}

/*
 * TextOf copies a jsonb string as a C string.
 */
static char *
TextOf(const JsonbValue *v)
{
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * PushFromDynamoSet pushes the elements of a DynamoDB set (SS, NS, BS:
 * arrays of strings) as the array of a partkv typed set.
 */
static void
PushFromDynamoSet(JsonbParseState **ps, const char *tag, JsonbValue *val)
{
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;

	if (!IsContainer(val, true))
		DynamoShapeError(tag, "an array of strings", val);
	pushJsonbValue(ps, WJB_BEGIN_ARRAY, NULL);
	it = JsonbIteratorInit(val->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok != WJB_ELEM)
			continue;
		if (e.type != jbvString)
			DynamoShapeError(tag, "an array of strings", &e);
		if (tag[0] == 'N')
		{
			JsonbValue	n;

			n.type = jbvNumeric;
			n.val.numeric = KvNumberFromText(TextOf(&e));
			pushJsonbValue(ps, WJB_ELEM, &n);
		}
		else
		{
			if (tag[0] == 'B')
				Base64Check(e.val.string.val, e.val.string.len);
			pushJsonbValue(ps, WJB_ELEM, &e);
		}
	}
	pushJsonbValue(ps, WJB_END_ARRAY, NULL);
}

/*
 * PushFromDynamoValue pushes the plain-JSON form of one DynamoDB
 * AttributeValue found at the given nesting depth, validating its shape
 * with DynamoDB's messages.  "as" is WJB_VALUE for a member of an object,
 * WJB_ELEM for an element of an array.
 */
static void
PushFromDynamoValue(JsonbParseState **ps, JsonbValue *v, int depth,
					JsonbIteratorToken as)
{
	JsonbContainer *c;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	e;
	JsonbValue	val = {0};
	char	   *tag;
	int			n;

	if (!IsContainer(v, false))
		KvValidationError("Invalid DynamoDB JSON: an AttributeValue must be an object such as {\"S\": \"text\"}, got %s",
						  JsonbTypeName(v));
	c = v->val.binary.data;
	n = JsonContainerSize(c);
	if (n == 0)
		KvValidationError("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
	if (n > 1)
		KvValidationError("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");

	/* the one member: its name is the type tag */
	it = JsonbIteratorInit(c);
	tag = NULL;
	while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			tag = TextOf(&e);
		else if (tok == WJB_VALUE)
			val = e;
	}
	Assert(tag != NULL);

	if (strcmp(tag, "S") == 0)
	{
		if (val.type != jbvString)
			DynamoShapeError(tag, "a string", &val);
		pushJsonbValue(ps, as, &val);
	}
	else if (strcmp(tag, "N") == 0)
	{
		JsonbValue	num;

		if (val.type != jbvString)
			DynamoShapeError(tag, "a string", &val);
		num.type = jbvNumeric;
		num.val.numeric = KvNumberFromText(TextOf(&val));
		pushJsonbValue(ps, as, &num);
	}
	else if (strcmp(tag, "B") == 0)
	{
		if (val.type != jbvString)
			DynamoShapeError(tag, "a base64-encoded string", &val);
		Base64Check(val.val.string.val, val.val.string.len);
		pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
		PushString(ps, WJB_KEY, "$B", 2);
		/* the member of {"$B": ...}, wherever that object itself sits */
		pushJsonbValue(ps, WJB_VALUE, &val);
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	}
	else if (strcmp(tag, "BOOL") == 0)
	{
		if (val.type != jbvBool)
			DynamoShapeError(tag, "a boolean", &val);
		pushJsonbValue(ps, as, &val);
	}
	else if (strcmp(tag, "NULL") == 0)
	{
		JsonbValue	null;

		if (val.type != jbvBool)
			DynamoShapeError(tag, "a boolean", &val);
		if (!val.val.boolean)
			KvValidationError(KV_INVALID_PARAMS "Null attribute value types must have the value of true");
		null.type = jbvNull;
		pushJsonbValue(ps, as, &null);
	}
	else if (strcmp(tag, "M") == 0 || strcmp(tag, "L") == 0)
	{
		bool		is_list = (tag[0] == 'L');
		JsonbContainer *mc;

		if (!IsContainer(&val, is_list))
			DynamoShapeError(tag, is_list ? "an array" : "an object", &val);
		if (depth >= KV_MAX_DEPTH)
			KvValidationError("Nesting Levels have exceeded supported limits");
		check_stack_depth();
		mc = val.val.binary.data;
		if (!is_list && JsonContainerSize(mc) == 1 &&
			ContainerType(mc, NULL) != KV_TYPE_M)
		{
			const char *key = (const char *) &mc->children[2] + getJsonbOffset(mc, 0);

			KvValidationError(KV_INVALID_PARAMS "A map whose only member is named \"%.*s\" cannot be represented as a partkv item",
							  (int) getJsonbLength(mc, 0), key);
		}
		pushJsonbValue(ps, is_list ? WJB_BEGIN_ARRAY : WJB_BEGIN_OBJECT, NULL);
		it = JsonbIteratorInit(mc);
		while ((tok = JsonbIteratorNext(&it, &e, true)) != WJB_DONE)
		{
			if (tok == WJB_KEY)
				pushJsonbValue(ps, WJB_KEY, &e);
			else if (tok == WJB_VALUE || tok == WJB_ELEM)
				PushFromDynamoValue(ps, &e, depth + 1, tok);
		}
		pushJsonbValue(ps, is_list ? WJB_END_ARRAY : WJB_END_OBJECT, NULL);
	}
	else if (strcmp(tag, "SS") == 0 || strcmp(tag, "NS") == 0 ||
			 strcmp(tag, "BS") == 0)
	{
		/* a string that outlives this call: pushJsonbValue keeps pointers */
		const char *name = tag[0] == 'S' ? "$SS" : tag[0] == 'N' ? "$NS" : "$BS";

		pushJsonbValue(ps, WJB_BEGIN_OBJECT, NULL);
		PushString(ps, WJB_KEY, name, 3);
		PushFromDynamoSet(ps, tag, &val);
		pushJsonbValue(ps, WJB_END_OBJECT, NULL);
	}
	else
		ereport(ERROR,
				(errcode(KV_ERRCODE_VALIDATION),
				 errmsg("Supplied AttributeValue has an unsupported datatype \"%s\", must contain exactly one of the supported datatypes",
						tag),
				 errhint("The datatypes are S, N, B, BOOL, NULL, M, L, SS, NS and BS.")));
}

/*
 * KvFromDynamoJson converts a DynamoDB typed-JSON item to a plain-JSON
 * item, validated (all but its size) and canonical.
 */
Jsonb *
KvFromDynamoJson(Jsonb *typed)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	if (!JB_ROOT_IS_OBJECT(typed))
		KvValidationError(KV_INVALID_PARAMS "An item must be a JSON object");

	it = JsonbIteratorInit(&typed->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_KEY)
			CheckAttributeName(v.val.string.len, true);
		if (tok == WJB_VALUE)
			PushFromDynamoValue(&ps, &v, 0, WJB_VALUE);
		else
			res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY ? &v : NULL);
	}
	/* sets: emptiness, duplicates; the result is canonical already */
	return ItemCheckInternal(JsonbValueToJsonb(res), KV_WRITE_PUT, false, NULL);
}

/* ----------------------------------------------------------------
 * SQL-callable functions
 * ----------------------------------------------------------------
 */

/*
 * partkv_to_dynamodb_json: partkv.to_dynamodb_json(item jsonb) -> jsonb.
 */
Datum
partkv_to_dynamodb_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(KvToDynamoJson(PG_GETARG_JSONB_P(0)));
}

/*
 * partkv_from_dynamodb_json: partkv.from_dynamodb_json(item jsonb) -> jsonb.
 */
Datum
partkv_from_dynamodb_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(KvFromDynamoJson(PG_GETARG_JSONB_P(0)));
}

/*
 * partkv_item_size: partkv.item_size(item jsonb) -> bigint, validating the
 * item as a PutItem would (400 KB limit included).
 */
Datum
partkv_item_size(PG_FUNCTION_ARGS)
{
	int64		size;

	(void) KvItemCheck(PG_GETARG_JSONB_P(0), KV_WRITE_PUT, &size);
	PG_RETURN_INT64(size);
}
