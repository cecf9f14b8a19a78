/*-------------------------------------------------------------------------
 *
 * jsonbuild.c
 *	  Small helpers for building jsonb responses with pushJsonbValue.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

#include "jsonbuild.h"

/* KvPushKey pushes an object key (the name is not copied: keep it alive). */
void
KvPushKey(JsonbParseState **state, const char *name)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) name;
	k.val.string.len = strlen(name);
	pushJsonbValue(state, WJB_KEY, &k);
}

/* KvPushInt64 pushes "name": n (the name is not copied: keep it alive). */
void
KvPushInt64(JsonbParseState **state, const char *name, int64 n)
{
	JsonbValue	v;

	KvPushKey(state, name);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* KvPushScalar pushes "name": v. */
static void
KvPushScalar(JsonbParseState **state, const char *name, JsonbValue *v)
{
	KvPushKey(state, name);
	pushJsonbValue(state, WJB_VALUE, v);
}

/* KvPushString pushes "name": "str" (neither is copied: keep them alive). */
void
KvPushString(JsonbParseState **state, const char *name, const char *str)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) str;
	v.val.string.len = strlen(str);
	KvPushScalar(state, name, &v);
}

/* KvPushBool pushes "name": b. */
void
KvPushBool(JsonbParseState **state, const char *name, bool b)
{
	JsonbValue	v;

	v.type = jbvBool;
	v.val.boolean = b;
	KvPushScalar(state, name, &v);
}

/* KvPushNull pushes "name": null. */
void
KvPushNull(JsonbParseState **state, const char *name)
{
	JsonbValue	v;

	v.type = jbvNull;
	KvPushScalar(state, name, &v);
}

/* KvPushNumberText pushes "name": n, n being a number's text. */
void
KvPushNumberText(JsonbParseState **state, const char *name, const char *n)
{
	JsonbValue	v;

	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(n),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
	KvPushScalar(state, name, &v);
}
