/*-------------------------------------------------------------------------
 *
 * jsonbuild.c
 *	  Small helpers for building jsonb responses with pushJsonbValue.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

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
