/*-------------------------------------------------------------------------
 *
 * projection.c
 *	  Projections of secondary indexes (KEYS_ONLY, INCLUDE, ALL): the
 *	  attributes an index entry carries, and whether a write changed them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"

#include "../eval/eval.h"
#include "../storage/indexkeys.h"
#include "projection.h"

/*
 * KvProjectAttributes builds the object of the listed top-level attributes
 * an item has; duplicate names are kept once (jsonb objects are unique).
 */
Jsonb *
KvProjectAttributes(Jsonb *item, char *const *names, int nnames)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < nnames; i++)
	{
		JsonbValue	k;
		JsonbValue	v;

		if (getKeyJsonValueFromContainer(&item->root, names[i], strlen(names[i]), &v) == NULL)
			continue;
		k.type = jbvString;
		k.val.string.val = names[i];
		k.val.string.len = strlen(names[i]);
		pushJsonbValue(&ps, WJB_KEY, &k);
		pushJsonbValue(&ps, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/*
 * KvIndexProjectionSame tells whether an index entry's projected non-key
 * attributes are the same in both items (its keys are compared apart).
 */
bool
KvIndexProjectionSame(Jsonb *old, Jsonb *written, KvProjectionType projection,
					  int ninclude, char *const *include)
{
	if (projection == KV_PROJECT_KEYS_ONLY)
		return true;
	if (projection == KV_PROJECT_ALL)
		return DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(old),
												JsonbPGetDatum(written)));
	for (int i = 0; i < ninclude; i++)
	{
		JsonbValue	o,
					n;
		bool		in_old = KvTopLevelValue(old, include[i], strlen(include[i]), &o);
		bool		in_new = KvTopLevelValue(written, include[i], strlen(include[i]), &n);

		if (in_old != in_new || (in_old && !KvValueEquals(&o, &n)))
			return false;
	}
	return true;
}