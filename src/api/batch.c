/*-------------------------------------------------------------------------
 *
 * batch.c
 *	  BatchGetItem and BatchWriteItem (SPEC-dynamodb.md §6), with DynamoDB's
 *	  request and response shapes and plain-JSON items.
 *
 * Everything runs in the caller's transaction, so a batch is in fact
 * atomic here (stronger than DynamoDB), and a transaction that is
 * cancelled raises an error that undoes whatever it had written.  Every
 * request is validated whole before the first write.
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

PG_FUNCTION_INFO_V1(partkv_batch_get_item);
PG_FUNCTION_INFO_V1(partkv_batch_write_item);

#define KV_BATCH_GET_MAX_KEYS		100
#define KV_BATCH_WRITE_MAX_REQUESTS	25
#define KV_BATCH_GET_MAX_BYTES		(16 * 1024 * 1024)

/* ----------------------------------------------------------------
 * BatchGetItem
 * ----------------------------------------------------------------
 */

/*
 * partkv_batch_get_item reads up to 100 keys from one or more tables.
 * Missing items are left out; a table whose keys all miss still appears
 * with an empty list; past 16 MB the rest goes to UnprocessedKeys.
 * Arguments: request, return_consumed_capacity.
 */
Datum
partkv_batch_get_item(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = KvRequiredJsonb(fcinfo, 0, "request");
	JsonbValue	root;
	JsonbValue *items = KvRequestItems(request, &root);
	JsonbIterator *it;
	JsonbValue	name,
				spec;
	JsonbIteratorToken tok;
	JsonbParseState *state = NULL;
	JsonbParseState *unprocessed = NULL;
	int			total_keys = 0;
	int64		total_bytes = 0;
	bool		any_unprocessed = false;
	KvCapacity	cap;

	KvCapacityInit(&cap, KvRequestCapacity(fcinfo, &root));

	/* validate the whole request first */
	it = JsonbIteratorInit(items->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &name, true)) != WJB_DONE)
	{
		JsonbValue *keys;

		if (tok != WJB_VALUE)
			continue;
		keys = KvMember(&name, "Keys");
		if (!KvIsObject(&name) || !KvIsArray(keys) || JsonContainerSize(keys->val.binary.data) == 0)
			KvShapeErrorElided("requestItems.member.keys",
							   "Member must have length greater than or equal to 1");
		total_keys += JsonContainerSize(keys->val.binary.data);
	}
	if (total_keys > KV_BATCH_GET_MAX_KEYS)
		KvValidationError("Too many items requested for the BatchGetItem call");

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	KvPushKey(&state, "Responses");
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	pushJsonbValue(&unprocessed, WJB_BEGIN_OBJECT, NULL);

	it = JsonbIteratorInit(items->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &name, true)) != WJB_DONE)
	{
		char	   *table_name;
		KvTable    *table;
		KvExprSet  *exprs = NULL;
		JsonbValue *keys;
		int			nkeys;
		char	  **identities;
		Datum	   *keyvalues;
		JsonbValue *cr;
		bool		consistent;
		bool		table_unprocessed = false;

		if (tok != WJB_KEY)
			continue;
		table_name = pnstrdup(name.val.string.val, name.val.string.len);
		tok = JsonbIteratorNext(&it, &spec, true);
		table = KvLookupTable(cstring_to_text(table_name), ACL_SELECT, AccessShareLock);

		cr = KvMember(&spec, "ConsistentRead");
		if (cr != NULL && cr->type != jbvBool)
			KvValidationError("ConsistentRead must be true or false");
		consistent = (cr != NULL && cr->val.boolean);
		if (KvMember(&spec, "ProjectionExpression") || KvMember(&spec, "ExpressionAttributeNames"))
		{
			KvExprTexts texts = {{0}};

			texts.text[KVEXPR_PROJECTION] = KvMemberText(&spec, "ProjectionExpression");
			exprs = KvExprCompile(&texts, KvMemberJsonb(&spec, "ExpressionAttributeNames"), NULL);
		}

		keys = KvMember(&spec, "Keys");
		nkeys = JsonContainerSize(keys->val.binary.data);
		identities = palloc(sizeof(char *) * nkeys);
		keyvalues = palloc(sizeof(Datum) * 2 * nkeys);
		for (int i = 0; i < nkeys; i++)
		{
			JsonbValue *key = getIthJsonbValueFromContainer(keys->val.binary.data, i);

			if (!KvIsObject(key))
				KvValidationError("The provided key element does not match the schema");
			KvRequestKeyDatums(KvAsJsonb(key), &table->key, &keyvalues[2 * i]);
			identities[i] = KvKeyIdentity(table, &keyvalues[2 * i]);
		}
		KvCheckDistinct(identities, nkeys, "Provided list of item keys contains duplicates");

		KvPushKey(&state, table_name);
		pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < nkeys; i++)
		{
			Jsonb	   *item = NULL;
			const KvPartition *part = NULL;
			int64		size = 0;

			if (total_bytes < KV_BATCH_GET_MAX_BYTES)
			{
				part = KvRoutePartition(table, keyvalues[2 * i]);
				item = KvRowFetch(&table->key, part, &keyvalues[2 * i]);
				size = item ? KvItemSize(item) : 0;
			}
			/* the response stays within 16 MB: what does not fit is left for a retry */
			if (total_bytes >= KV_BATCH_GET_MAX_BYTES || total_bytes + size > KV_BATCH_GET_MAX_BYTES)
			{
				total_bytes = KV_BATCH_GET_MAX_BYTES;
				if (!table_unprocessed)
				{
					KvPushKey(&unprocessed, table_name);
					pushJsonbValue(&unprocessed, WJB_BEGIN_OBJECT, NULL);
					KvPushKey(&unprocessed, "Keys");
					pushJsonbValue(&unprocessed, WJB_BEGIN_ARRAY, NULL);
					table_unprocessed = any_unprocessed = true;
				}
				pushJsonbValue(&unprocessed, WJB_ELEM,
							   getIthJsonbValueFromContainer(keys->val.binary.data, i));
				continue;
			}
			KvAccountRead(&cap, table, part, table_name, item, consistent, false);
			if (item == NULL)
				continue;
			total_bytes += size;
			KvPushJsonb(&state, WJB_ELEM, KvExprProject(exprs, item));
		}
		pushJsonbValue(&state, WJB_END_ARRAY, NULL);
		if (table_unprocessed)
		{
			JsonbValue *member;

			pushJsonbValue(&unprocessed, WJB_END_ARRAY, NULL);
			/* the rest is retried with the same options */
			if ((member = KvMember(&spec, "ProjectionExpression")) != NULL)
			{
				KvPushKey(&unprocessed, "ProjectionExpression");
				pushJsonbValue(&unprocessed, WJB_VALUE, member);
			}
			if ((member = KvMember(&spec, "ExpressionAttributeNames")) != NULL)
			{
				KvPushKey(&unprocessed, "ExpressionAttributeNames");
				pushJsonbValue(&unprocessed, WJB_VALUE, member);
			}
			pushJsonbValue(&unprocessed, WJB_END_OBJECT, NULL);
		}
	}
	pushJsonbValue(&state, WJB_END_OBJECT, NULL);

	KvPushKey(&state, "UnprocessedKeys");
	{
		Jsonb	   *u = JsonbValueToJsonb(pushJsonbValue(&unprocessed, WJB_END_OBJECT, NULL));

		(void) any_unprocessed;
		KvPushJsonb(&state, WJB_VALUE, u);
	}
	PG_RETURN_JSONB_P(KvCapacityAppend(JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL)),
									   &cap, true));
}

/* ----------------------------------------------------------------
 * BatchWriteItem
 * ----------------------------------------------------------------
 */


/*
 * partkv_batch_write_item puts and deletes up to 25 items in one or more
 * tables.  The whole batch is validated before anything is written.
 * Arguments: request, return_consumed_capacity.
 */
Datum
partkv_batch_write_item(PG_FUNCTION_ARGS)
{
	Jsonb	   *request = KvRequiredJsonb(fcinfo, 0, "request");
	JsonbValue	root;
	JsonbValue *items = KvRequestItems(request, &root);
	JsonbIterator *it;
	JsonbValue	name,
				list;
	JsonbIteratorToken tok;
	KvItemOp   *ops = palloc0(sizeof(KvItemOp) * KV_BATCH_WRITE_MAX_REQUESTS);
	char	  **identities = palloc(sizeof(char *) * KV_BATCH_WRITE_MAX_REQUESTS);
	char	  **names = palloc(sizeof(char *) * KV_BATCH_WRITE_MAX_REQUESTS);
	int			nops = 0;
	KvCapacity	cap;

	KvCapacityInit(&cap, KvRequestCapacity(fcinfo, &root));

	it = JsonbIteratorInit(items->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &name, true)) != WJB_DONE)
	{
		char	   *table_name;
		int			n;

		if (tok != WJB_KEY)
			continue;
		table_name = pnstrdup(name.val.string.val, name.val.string.len);
		tok = JsonbIteratorNext(&it, &list, true);
		if (!KvIsArray(&list) || JsonContainerSize(list.val.binary.data) == 0)
			KvShapeErrorElided("requestItems",
							   "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]");
		n = JsonContainerSize(list.val.binary.data);
		if (nops + n > KV_BATCH_WRITE_MAX_REQUESTS)
			KvShapeErrorElided("requestItems",
							   "Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]");
		for (int i = 0; i < n; i++)
		{
			JsonbValue *req = getIthJsonbValueFromContainer(list.val.binary.data, i);
			JsonbValue *put = KvMember(req, "PutRequest");
			JsonbValue *del = KvMember(req, "DeleteRequest");
			KvItemOp   *op = &ops[nops];

			if ((put == NULL) == (del == NULL))
				KvValidationError("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
			if (put != NULL)
			{
				JsonbValue *item = KvMember(put, "Item");

				if (!KvIsObject(item))
					KvShapeError(NULL, "requestItems.member.putRequest.item",
								 "Member must not be null");
				op->kind = KV_OP_PUT;
				op->table = KvTableByName(table_name, ACL_INSERT | ACL_UPDATE);
				op->item = KvItemCheck(KvAsJsonb(item), KV_WRITE_PUT, NULL);
				KvItemKeys(op->item, &op->table->key, op->keys);
			}
			else
			{
				JsonbValue *key = KvMember(del, "Key");

				if (!KvIsObject(key))
					KvShapeError(NULL, "requestItems.member.deleteRequest.key",
								 "Member must not be null");
				op->kind = KV_OP_DELETE;
				op->table = KvTableByName(table_name, ACL_DELETE);
				KvRequestKeyDatums(KvAsJsonb(key), &op->table->key, op->keys);
			}
			identities[nops] = KvKeyIdentity(op->table, op->keys);
			names[nops] = table_name;
			op->measure = (cap.mode != KV_CAPACITY_NONE);
			nops++;
		}
	}
	KvCheckDistinct(identities, nops, "Provided list of item keys contains duplicates");

	for (int i = 0; i < nops; i++)
	{
		KvOpRun(&ops[i], false);
		KvOpCapacity(&cap, &ops[i], names[i]);
	}

	PG_RETURN_JSONB_P(KvCapacityAppend(KvEmptyResponse("UnprocessedItems"), &cap, true));
}
