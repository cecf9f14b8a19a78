/*
 * sigv4.c -- AWS Signature Version 4 for partkv-server.
 *
 * Split in two so that the database is asked only for requests whose
 * signature is well formed: sigv4_prepare (polling thread) parses the
 * Authorization header, checks its shape, date and credential scope, and
 * builds the canonical request and the string to sign; sigv4_verify (pool
 * worker, once it has the key's secret) derives the signing key and
 * compares.  Errors and their wording are DynamoDB's (namespace
 * com.amazon.coral.service, as its front end answers them).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "server.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
#define SERVICE "dynamodb"
#define MAX_SKEW_SECONDS (15 * 60)

#define MISSING_TYPE "com.amazon.coral.service#MissingAuthenticationTokenException"
#define INCOMPLETE_TYPE "com.amazon.coral.service#IncompleteSignatureException"
#define INVALID_TYPE "com.amazon.coral.service#InvalidSignatureException"

/* a growable string */
typedef struct Buf
{
	char	   *data;
	size_t		len;
	size_t		cap;
} Buf;

static void
buf_append(Buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
	{
		b->cap = (b->len + n + 1) * 2;
		b->data = realloc(b->data, b->cap);
		if (b->data == NULL)
			abort();
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
buf_puts(Buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
	{
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static void
sha256_hex(const char *data, size_t len, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *) data, len, md);
	hex(md, sizeof(md), out);
}

/* fail: the error body for one of the signature errors */
static char *
fail(int *status, const char *type, const char *message)
{
	*status = 400;
	return error_body(type, message);
}

/* uri_encode: AWS's encoding (unreserved characters stay; '/' too if asked) */
static void
uri_encode(Buf *b, const char *s, bool keep_slash)
{
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
	{
		char		esc[4];

		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' ||
			(keep_slash && *p == '/'))
			buf_append(b, (const char *) p, 1);
		else
		{
			snprintf(esc, sizeof(esc), "%%%02X", *p);
			buf_append(b, esc, 3);
		}
	}
}

typedef struct QueryArg
{
	char	   *key;
	char	   *value;
} QueryArg;

typedef struct QueryArgs
{
	QueryArg	args[64];
	int			n;
} QueryArgs;

static enum MHD_Result
collect_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	QueryArgs  *q = cls;
	Buf			k = {0},
				v = {0};

	(void) kind;
	if (q->n == 64)
		return MHD_NO;
	uri_encode(&k, key, false);
	buf_puts(&k, "");
	uri_encode(&v, value ? value : "", false);
	buf_puts(&v, "");
	q->args[q->n].key = k.data;
	q->args[q->n].value = v.data;
	q->n++;
	return MHD_YES;
}

static int
cmp_arg(const void *a, const void *b)
{
	const QueryArg *x = a,
			   *y = b;
	int			c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->value, y->value);
}

/* canonical_query: the query string's arguments, encoded and sorted */
static void
canonical_query(Buf *b, struct MHD_Connection *connection)
{
	QueryArgs	q = {.n = 0};

	MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
	qsort(q.args, q.n, sizeof(QueryArg), cmp_arg);
	for (int i = 0; i < q.n; i++)
	{
		if (i > 0)
			buf_puts(b, "&");
		buf_puts(b, q.args[i].key);
		buf_puts(b, "=");
		buf_puts(b, q.args[i].value);
		free(q.args[i].key);
		free(q.args[i].value);
	}
}

typedef struct HeaderValues
{
	const char *name;
	Buf		   *out;
	int			count;
} HeaderValues;

/* append one value: trimmed, inner runs of spaces made one (AWS's rule) */
static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	HeaderValues *h = cls;
	bool		space = false;
	bool		started = false;

	(void) kind;
	if (strcasecmp(key, h->name) != 0)
		return MHD_YES;
	if (h->count++ > 0)
		buf_puts(h->out, ",");
	for (const char *p = value; *p; p++)
	{
		if (*p == ' ' || *p == '\t')
		{
			space = started;
			continue;
		}
		if (space)
			buf_puts(h->out, " ");
		space = false;
		started = true;
		buf_append(h->out, p, 1);
	}
	return MHD_YES;
}

/* the value of one named parameter of the Authorization header, or NULL */
static char *
auth_param(const char *params, const char *name)
{
	size_t		n = strlen(name);
	const char *p = params;

	while (*p)
	{
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=')
		{
			const char *v = p + n + 1;
			size_t		len = strcspn(v, ", ");

			return len ? strndup(v, len) : NULL;
		}
		p += strcspn(p, ", ");
	}
	return NULL;
}

/* parse_amz_date: YYYYMMDD'T'HHMMSS'Z' to a time_t */
static bool
parse_amz_date(const char *s, time_t *t)
{
	struct tm	tm;
	const char *end;

	if (strlen(s) != 16)
		return false;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y%m%dT%H%M%SZ", &tm);
	if (end == NULL || *end != '\0')
		return false;
	*t = timegm(&tm);
	return true;
}

static void
format_amz_date(time_t t, char *out, size_t size)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, size, "%Y%m%dT%H%M%SZ", &tm);
}

/*
 * sigv4_prepare: NULL when the Authorization header is complete and well
 * formed; then sig holds what sigv4_verify needs.  Otherwise the error body.
 */
char *
sigv4_prepare(struct MHD_Connection *connection, const char *url,
			  const char *body, size_t body_len, SigV4Request *sig, int *status)
{
	const char *auth = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Authorization");
	const char *amz_date = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Amz-Date");
	const char *date_header = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "Date");
	char	   *credential = NULL,
			   *signed_headers = NULL,
			   *signature = NULL;
	char		message[1024] = "";
	char	   *result = NULL;
	char		date_text[32];
	time_t		request_time;
	char	   *scope[6] = {0};
	int			nscope = 0;
	char		payload_hash[65];
	Buf			canon = {0},
				sts = {0};

	memset(sig, 0, sizeof(*sig));
	while (auth && (*auth == ' ' || *auth == '\t'))
		auth++;
	if (auth == NULL || strncmp(auth, "AWS4-", 5) != 0)
		return fail(status, MISSING_TYPE, "Request is missing Authentication Token");

	{
		const char *params = auth + strcspn(auth, " ");

		credential = auth_param(params, "Credential");
		signature = auth_param(params, "Signature");
		signed_headers = auth_param(params, "SignedHeaders");
	}
	if (!credential)
		strcat(message, "Authorization header requires 'Credential' parameter. ");
	if (!signature)
		strcat(message, "Authorization header requires 'Signature' parameter. ");
	if (!signed_headers)
		strcat(message, "Authorization header requires 'SignedHeaders' parameter. ");
	if (!amz_date && !date_header)
		strcat(message, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ");
	if (message[0])
	{
		Buf			m = {0};

		buf_puts(&m, message);
		buf_puts(&m, "Authorization=");
		buf_append(&m, auth, strnlen(auth, 512));
		result = fail(status, INCOMPLETE_TYPE, m.data);
		free(m.data);
		goto done;
	}

	/* the date: X-Amz-Date, or an HTTP Date header */
	if (amz_date)
	{
		if (!parse_amz_date(amz_date, &request_time))
		{
			snprintf(message, sizeof(message),
					 "Date must be in ISO-8601 'basic format'. Got '%.64s'. See http://en.wikipedia.org/wiki/ISO_8601",
					 amz_date);
			result = fail(status, INCOMPLETE_TYPE, message);
			goto done;
		}
	}
	else
	{
		struct tm	tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(date_header, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (end == NULL || *end != '\0')
		{
			snprintf(message, sizeof(message),
					 "Date must be in ISO-8601 'basic format'. Got '%.64s'. See http://en.wikipedia.org/wiki/ISO_8601",
					 date_header);
			result = fail(status, INCOMPLETE_TYPE, message);
			goto done;
		}
		request_time = timegm(&tm);
	}
	format_amz_date(request_time, date_text, sizeof(date_text));
	{
		time_t		now = time(NULL);
		char		now_text[32],
					bound_text[32];

		format_amz_date(now, now_text, sizeof(now_text));
		if (request_time < now - MAX_SKEW_SECONDS)
		{
			format_amz_date(now - MAX_SKEW_SECONDS, bound_text, sizeof(bound_text));
			snprintf(message, sizeof(message),
					 "Signature expired: %s is now earlier than %s (%s - 15 min.)",
					 date_text, bound_text, now_text);
			result = fail(status, INVALID_TYPE, message);
			goto done;
		}
		if (request_time > now + MAX_SKEW_SECONDS)
		{
			format_amz_date(now + MAX_SKEW_SECONDS, bound_text, sizeof(bound_text));
			snprintf(message, sizeof(message),
					 "Signature not yet current: %s is still later than %s (%s + 15 min.)",
					 date_text, bound_text, now_text);
			result = fail(status, INVALID_TYPE, message);
			goto done;
		}
	}

	/* Host must be signed */
	{
		bool		host = false;
		char	   *copy = strdup(signed_headers);
		char	   *save = NULL;

		for (char *h = strtok_r(copy, ";", &save); h; h = strtok_r(NULL, ";", &save))
			if (strcasecmp(h, "host") == 0)
				host = true;
		free(copy);
		if (!host)
		{
			result = fail(status, INVALID_TYPE,
						  "'Host' must be a 'SignedHeader' in the AWS Authorization.");
			goto done;
		}
	}

	/* the algorithm */
	{
		size_t		alen = strcspn(auth, " ");

		if (alen != strlen(ALGORITHM) || strncmp(auth, ALGORITHM, alen) != 0)
		{
			snprintf(message, sizeof(message),
					 "Unsupported AWS 'algorithm': '%.*s' (only AWS4-HMAC-SHA256 for now). ",
					 (int) (alen > 64 ? 64 : alen), auth);
			result = fail(status, INCOMPLETE_TYPE, message);
			goto done;
		}
	}

	/* Credential: keyid/date/region/service/aws4_request (trailing '/' ignored) */
	{
		char	   *p = credential;
		size_t		len = strlen(credential);

		while (len > 0 && credential[len - 1] == '/')
			credential[--len] = '\0';
		while (nscope < 6)
		{
			scope[nscope++] = p;
			p = strchr(p, '/');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (nscope != 5 || p != NULL)
		{
			/* rebuild the original text for the message */
			for (int i = 0; i + 1 < nscope; i++)
				scope[i][strlen(scope[i])] = '/';
			snprintf(message, sizeof(message),
					 "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%.256s'",
					 credential);
			result = fail(status, INCOMPLETE_TYPE, message);
			goto done;
		}
	}
	{
		char		day[9];

		memcpy(day, date_text, 8);
		day[8] = '\0';
		if (scope[2][0] == '\0' || strlen(scope[2]) >= sizeof(sig->region))
			snprintf(message + strlen(message), sizeof(message) - strlen(message),
					 "Credential should be scoped to a valid region, not '%.64s'. ", scope[2]);
		if (strcmp(scope[3], SERVICE) != 0)
			snprintf(message + strlen(message), sizeof(message) - strlen(message),
					 "Credential should be scoped to correct service: '" SERVICE "'. ");
		if (strcmp(scope[4], "aws4_request") != 0)
			snprintf(message + strlen(message), sizeof(message) - strlen(message),
					 "Credential should be scoped with a valid terminator: 'aws4_request', not '%.64s'. ",
					 scope[4]);
		if (strcmp(scope[1], day) != 0)
			snprintf(message + strlen(message), sizeof(message) - strlen(message),
					 "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%.64s' != '%s', from '%s'.",
					 scope[1], day, date_text);
		if (message[0])
		{
			size_t		n = strlen(message);

			if (message[n - 1] == ' ')
				message[n - 1] = '\0';
			result = fail(status, INVALID_TYPE, message);
			goto done;
		}
		if (strlen(scope[0]) == 0 || strlen(scope[0]) >= sizeof(sig->key_id) ||
			strlen(signature) != 64)
		{
			/* an id no key can have, or a signature no key can make */
			result = fail(status, strlen(signature) != 64 ? INVALID_TYPE :
						  "com.amazon.coral.service#UnrecognizedClientException",
						  strlen(signature) != 64 ?
						  "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details." :
						  "The security token included in the request is invalid.");
			goto done;
		}
		strcpy(sig->key_id, scope[0]);
		strcpy(sig->date, scope[1]);
		strcpy(sig->region, scope[2]);
		strcpy(sig->signature, signature);
	}

	/* the canonical request */
	buf_puts(&canon, "POST\n");
	{
		Buf			once = {0};

		/* every service but S3 encodes the path twice */
		uri_encode(&once, url[0] ? url : "/", true);
		uri_encode(&canon, once.data, true);
		free(once.data);
	}
	buf_puts(&canon, "\n");
	canonical_query(&canon, connection);
	buf_puts(&canon, "\n");
	{
		char	   *copy = strdup(signed_headers);
		char	   *save = NULL;

		for (char *h = strtok_r(copy, ";", &save); h; h = strtok_r(NULL, ";", &save))
		{
			HeaderValues hv = {.name = h, .out = &canon, .count = 0};

			for (char *c = h; *c; c++)
				*c = tolower((unsigned char) *c);
			buf_puts(&canon, h);
			buf_puts(&canon, ":");
			MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &hv);
			buf_puts(&canon, "\n");
		}
		free(copy);
	}
	buf_puts(&canon, "\n");
	{
		char	   *lower = strdup(signed_headers);

		for (char *c = lower; *c; c++)
			*c = tolower((unsigned char) *c);
		buf_puts(&canon, lower);
		free(lower);
	}
	buf_puts(&canon, "\n");
	/* the hash of the body received, whatever x-amz-content-sha256 claims */
	sha256_hex(body ? body : "", body_len, payload_hash);
	buf_puts(&canon, payload_hash);

	/* the string to sign */
	{
		char		canon_hash[65];

		sha256_hex(canon.data, canon.len, canon_hash);
		buf_puts(&sts, ALGORITHM "\n");
		buf_puts(&sts, date_text);
		buf_puts(&sts, "\n");
		buf_puts(&sts, sig->date);
		buf_puts(&sts, "/");
		buf_puts(&sts, sig->region);
		buf_puts(&sts, "/" SERVICE "/aws4_request\n");
		buf_puts(&sts, canon_hash);
	}
	sig->canonical_request = canon.data;
	sig->string_to_sign = sts.data;
	canon.data = sts.data = NULL;
	sig->has_security_token =
		MHD_lookup_connection_value(connection, MHD_HEADER_KIND, "X-Amz-Security-Token") != NULL;

done:
	free(canon.data);
	free(sts.data);
	free(credential);
	free(signature);
	free(signed_headers);
	return result;
}

static void
hmac(const unsigned char *key, size_t key_len, const char *data, unsigned char *out)
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, (int) key_len, (const unsigned char *) data, strlen(data), out, &len);
}

/* sigv4_verify: NULL when sig was made with secret; else the error body */
char *
sigv4_verify(const SigV4Request *sig, const char *secret, int *status)
{
	unsigned char k[32];
	unsigned char mac[32];
	char		key0[256];
	char		computed[65];

	snprintf(key0, sizeof(key0), "AWS4%s", secret);
	hmac((unsigned char *) key0, strlen(key0), sig->date, k);
	hmac(k, 32, sig->region, k);
	hmac(k, 32, SERVICE, k);
	hmac(k, 32, "aws4_request", k);
	hmac(k, 32, sig->string_to_sign, mac);
	OPENSSL_cleanse(key0, sizeof(key0));
	OPENSSL_cleanse(k, sizeof(k));
	hex(mac, sizeof(mac), computed);
	if (CRYPTO_memcmp(computed, sig->signature, 64) != 0)
	{
		Buf			m = {0};
		char	   *result;

		buf_puts(&m, "The request signature we calculated does not match the signature you provided. "
				 "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\n"
				 "The Canonical String for this request should have been\n'");
		buf_puts(&m, sig->canonical_request);
		buf_puts(&m, "'\n\nThe String-to-Sign should have been\n'");
		buf_puts(&m, sig->string_to_sign);
		buf_puts(&m, "'\n");
		result = fail(status, INVALID_TYPE, m.data);
		free(m.data);
		return result;
	}
	if (sig->has_security_token)
		return fail(status, "com.amazon.coral.service#UnrecognizedClientException",
					"The security token included in the request is invalid");
	return NULL;
}

void
sigv4_free(SigV4Request *sig)
{
	free(sig->canonical_request);
	free(sig->string_to_sign);
	sig->canonical_request = sig->string_to_sign = NULL;
}
