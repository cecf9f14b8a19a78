/*-------------------------------------------------------------------------
 *
 * batchreq.c
 *	  Request reading, item identities, capacity accounting and response
 *	  pieces shared by the batch calls (batch.c) and the transactional
 *	  calls (transact.c).
 *
 *-------------------------------------------------------------------------
 */

#include "postgres.h"

#include "common/md5.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/snapmgr.h"

#include "../catalog/tablecache.h"
#include "../common/errors.h"
#include "../common/jsonbuild.h"
#include "../eval/eval.h"
#include "../stats/capacity.h"
#include "../stats/stats.h"
#include "../storage/item.h"
#include "../storage/rowops.h"
#include "../storage/tableam.h"
#include "api.h"
#include "itemops.h"
#include "batchreq.h"

/* ----------------------------------------------------------------
 * Request parsing helpers
 * ----------------------------------------------------------------
 */

/* KvMember finds a member of an object value; NULL when absent or JSON null. */
JsonbValue *
KvMember(JsonbValue *object, const char *name)
{
	JsonbValue *v;

	if (object == NULL || object->type != jbvBinary || !JsonContainerIsObject(object->val.binary.data))
		return NULL;
	v = getKeyJsonValueFromContainer(object->val.binary.data, name, strlen(name), NULL);
	if (v != NULL && v->type == jbvNull)
		return NULL;
	return v;
}

/* KvIsObject / KvIsArray test the kind of a container value. */
bool
KvIsObject(const JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary && JsonContainerIsObject(v->val.binary.data);
}

bool
KvIsArray(const JsonbValue *v)
{
	return v != NULL && v->type == jbvBinary && JsonContainerIsArray(v->val.binary.data);
}

/* KvAsJsonb copies a container value into its own Jsonb. */
Jsonb *
KvAsJsonb(JsonbValue *v)
{
	return JsonbValueToJsonb(v);
}

/* KvMemberText returns a string member as a C string, or NULL. */
char *
KvMemberText(JsonbValue *object, const char *name)
{
	JsonbValue *v = KvMember(object, name);

	if (v == NULL)
		return NULL;
	if (v->type != jbvString)
		KvValidationError("%s must be a string", name);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* KvMemberJsonb returns an object member as a Jsonb, or NULL. */
Jsonb *
KvMemberJsonb(JsonbValue *object, const char *name)
{
	JsonbValue *v = KvMember(object, name);

	if (v == NULL)
		return NULL;
	if (!KvIsObject(v))
		KvValidationError("%s must be a JSON object", name);
	return KvAsJsonb(v);
}

/* KvRootValue presents a Jsonb argument as a value. */
void
KvRootValue(Jsonb *j, JsonbValue *out)
{
	out->type = jbvBinary;
	out->val.binary.data = &j->root;
	out->val.binary.len = VARSIZE(j) - VARHDRSZ;
}

/* KvTableByName resolves a TableName member. */
KvTable *
KvTableByName(const char *name, AclMode required)
{
	if (name == NULL)
		KvShapeError(NULL, "tableName", "Member must not be null");
	return KvLookupTable(cstring_to_text(name), required, RowExclusiveLock);
}

/* KvKeyIdentity is a canonical text of a key, to find duplicate keys. */
char *
KvKeyIdentity(const KvTable *table, const Datum *keys)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "%u", table->relid);
	for (int k = 0; k < table->key.nkeys; k++)
	{
		JsonbValue	v;
		Jsonb	   *j;

		KvKeyDatumToJsonbValue(keys[k], table->key.keys[k].type, &v);
		if (v.type == jbvBinary)
			j = JsonbValueToJsonb(&v);
		else
		{
			JsonbParseState *state = NULL;

			pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
			pushJsonbValue(&state, WJB_ELEM, &v);
			j = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_ARRAY, NULL));
		}
		appendStringInfoChar(&buf, '\x1f');
		appendStringInfoString(&buf, JsonbToCString(NULL, &j->root, VARSIZE(j)));
	}
	return buf.data;
}

/* KvCheckDistinct raises `message` when two identities are equal. */
int
KvCompareStrings(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

void
KvCheckDistinct(char **identities, int n, const char *message)
{
	char	  **sorted = palloc(sizeof(char *) * Max(n, 1));

	memcpy(sorted, identities, sizeof(char *) * n);
	qsort(sorted, n, sizeof(char *), KvCompareStrings);
	for (int i = 1; i < n; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0)
			KvValidationError("%s", message);
	pfree(sorted);
}

/* KvRequestItems returns the RequestItems object of a batch request. */
JsonbValue *
KvRequestItems(Jsonb *request, JsonbValue *root)
{
	JsonbValue *items;

	KvRootValue(request, root);
	items = KvMember(root, "RequestItems");
	if (items == NULL)
		KvShapeError(NULL, "requestItems", "Member must not be null");
	if (!KvIsObject(items) || JsonContainerSize(items->val.binary.data) == 0)
		KvShapeErrorElided("requestItems",
						   "Member must have length greater than or equal to 1");
	return items;
}

/*
 * KvRequestCapacity reads ReturnConsumedCapacity: the
 * return_consumed_capacity argument, or when that is NONE the request
 * body's member of that name.
 */
KvReturnCapacity
KvRequestCapacity(FunctionCallInfo fcinfo, JsonbValue *root)
{
	KvReturnCapacity mode = KvReturnCapacityArg(fcinfo, 1);
	KvReturnCapacity body = KvParseReturnCapacity(KvMemberText(root, "ReturnConsumedCapacity"));

	return (mode != KV_CAPACITY_NONE) ? mode : body;
}

/*
 * KvAccountRead charges one item read of a batch or a transaction (each
 * item rounded up on its own, SPEC §6.1): to the partition's statistics
 * and to the request's ConsumedCapacity.
 */
void
KvAccountRead(KvCapacity *cap, const KvTable *table, const KvPartition *part,
			  const char *name, Jsonb *item, bool consistent, bool transactional)
{
	int64		halves;

	if (!kv_track_stats && cap->mode == KV_CAPACITY_NONE)
		return;
	halves = KvReadHalves(KvCapacitySize(item, KV_READ_UNIT_BYTES), consistent, transactional);
	KvStatsReportRead(part->relid, table->relid, item != NULL, KvStoredSize(item), halves);
	KvCapacityAdd(cap, table->relid, name, halves, 0);
}

/* ----------------------------------------------------------------
 * Response building
 * ----------------------------------------------------------------
 */

/* KvPushJsonb pushes a whole Jsonb as a value or element. */
void
KvPushJsonb(JsonbParseState **state, JsonbIteratorToken as, Jsonb *j)
{
	JsonbValue	v;

	KvRootValue(j, &v);
	pushJsonbValue(state, as, &v);
}


/*
 * KvEmptyResponse builds a response with nothing to say: {} or, given a
 * member name, {"member": {}}.
 */
Jsonb *
KvEmptyResponse(const char *member)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	if (member != NULL)
	{
		KvPushKey(&ps, member);
		pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
		pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
