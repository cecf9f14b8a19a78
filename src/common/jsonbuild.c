/*-------------------------------------------------------------------------
 *
 * jsonbuild.c
 *	  Small helpers for building jsonb responses with pushJsonbValue.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
