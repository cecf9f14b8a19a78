/*-------------------------------------------------------------------------
 *
 * items.c
 *	  SQL entry points of the single-item operations: PutItem, GetItem and
 *	  DeleteItem (DESIGN §2).
 *
 * Each call resolves its table through the per-backend cache, checks the
 * caller's privileges, routes the key to its partition and works on that
 * partition's primary key index directly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "../catalog/tablecache.h"
#include "../common/errors.h"
#include "../storage/item.h"
#include "../storage/rowops.h"
#include "api.h"

PG_FUNCTION_INFO_V1(partkv_put_item);
PG_FUNCTION_INFO_V1(partkv_get_item);
PG_FUNCTION_INFO_V1(partkv_delete_item);

/* ReturnValues of PutItem and DeleteItem */
typedef enum KvReturnOld
{
	KV_RETURN_NONE,
	KV_RETURN_ALL_OLD
} KvReturnOld;

/* KvRequiredText returns a text argument that must not be NULL. */
text *
KvRequiredText(FunctionCallInfo fcinfo, int argno, const char *member)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(KV_ERRCODE_VALIDATION),
				 errmsg("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null",
						member)));
	return PG_GETARG_TEXT_PP(argno);
}

/* KvRequiredJsonb returns a jsonb argument that must not be NULL. */
Jsonb *
KvRequiredJsonb(FunctionCallInfo fcinfo, int argno, const char *member)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(KV_ERRCODE_VALIDATION),
				 errmsg("1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null",
						member)));
	return PG_GETARG_JSONB_P(argno);
}

/*
 * KvRefuseExpressionArgs rejects the expression parameters until the
 * expression language is built, rather than silently ignoring them.
 */
void
KvRefuseExpressionArgs(FunctionCallInfo fcinfo, const int *argnos, int nargs,
					   const char *operation)
{
	for (int i = 0; i < nargs; i++)
	{
		if (!PG_ARGISNULL(argnos[i]))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("expressions are not supported yet in %s", operation),
					 errdetail("Condition, projection, attribute name and attribute value arguments are reserved for the expression language.")));
	}
}

/* KvParseReturnOld reads ReturnValues for operations that allow NONE or ALL_OLD. */
static KvReturnOld
KvParseReturnOld(FunctionCallInfo fcinfo, int argno)
{
	char	   *value;

	if (PG_ARGISNULL(argno))
		return KV_RETURN_NONE;
	value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(value, "NONE") == 0)
		return KV_RETURN_NONE;
	if (strcmp(value, "ALL_OLD") == 0)
		return KV_RETURN_ALL_OLD;
	if (strcmp(value, "ALL_NEW") == 0 || strcmp(value, "UPDATED_OLD") == 0 ||
		strcmp(value, "UPDATED_NEW") == 0)
		ereport(ERROR,
				(errcode(KV_ERRCODE_VALIDATION),
				 errmsg("ReturnValues can only be ALL_OLD or NONE")));
	ereport(ERROR,
			(errcode(KV_ERRCODE_VALIDATION),
			 errmsg("1 validation error detected: Value '%s' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
					value)));
	pg_unreachable();
}

/* KvAttributesResponse builds {"Attributes": item}, or {} without an item. */
static Jsonb *
KvAttributesResponse(Jsonb *item)
{
	JsonbParseState *state = NULL;
	JsonbValue	key;
	JsonbValue *result;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (item != NULL)
	{
		key.type = jbvString;
		key.val.string.val = "Attributes";
		key.val.string.len = strlen("Attributes");
		pushJsonbValue(&state, WJB_KEY, &key);
		JsonbToJsonbValue(item, &key);
		pushJsonbValue(&state, WJB_VALUE, &key);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}

/*
 * partkv_put_item creates or replaces an item (PutItem).
 * Arguments: table_name, item, condition, attr_values, attr_names, return_values.
 */
Datum
partkv_put_item(PG_FUNCTION_ARGS)
{
	static const int expr_args[] = {2, 3, 4};
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *item = KvRequiredJsonb(fcinfo, 1, "item");
	KvReturnOld return_old = KvParseReturnOld(fcinfo, 5);
	AclMode		required = ACL_INSERT | ACL_UPDATE;
	KvTable    *table;
	Datum		keys[2];
	KvRowWriter *w;
	Jsonb	   *old = NULL;

	KvRefuseExpressionArgs(fcinfo, expr_args, lengthof(expr_args), "put_item");
	if (return_old == KV_RETURN_ALL_OLD)
		required |= ACL_SELECT;
	table = KvLookupTable(table_name, required, RowExclusiveLock);

	item = KvItemCheck(item, KV_WRITE_PUT, NULL);
	KvItemKeys(item, &table->key, keys);

	w = KvRowWriterOpen(table, KvRoutePartition(table, keys[0]));
	KvRowSetNew(w, keys, item);
	for (;;)
	{
		if (KvRowLock(w))
		{
			old = KvSlotItem(w->oldslot, &w->layout);
			/* an identical put changes nothing: no write, no stream record */
			if (compareJsonbContainers(&old->root, &item->root) != 0)
				KvRowUpdate(w);
			break;
		}
		if (KvRowInsert(w))
			break;
	}
	KvRowWriterClose(w);

	PG_RETURN_JSONB_P(KvAttributesResponse(return_old == KV_RETURN_ALL_OLD ? old : NULL));
}

/*
 * partkv_get_item returns the item with the given key, or NULL (GetItem).
 * Arguments: table_name, key, projection, attr_names, consistent_read.
 * Reads always see the latest committed data, so consistent_read is
 * accepted and needs nothing more.
 */
Datum
partkv_get_item(PG_FUNCTION_ARGS)
{
	static const int expr_args[] = {2, 3};
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvTable    *table;
	Datum		keys[2];
	Jsonb	   *item;

	KvRefuseExpressionArgs(fcinfo, expr_args, lengthof(expr_args), "get_item");
	table = KvLookupTable(table_name, ACL_SELECT, AccessShareLock);
	KvRequestKeyDatums(key, &table->key, keys);

	item = KvRowFetch(table, KvRoutePartition(table, keys[0]), keys);
	if (item == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(item);
}

/*
 * partkv_delete_item deletes the item with the given key (DeleteItem);
 * deleting a missing item succeeds and writes nothing.
 * Arguments: table_name, key, condition, attr_values, attr_names, return_values.
 */
Datum
partkv_delete_item(PG_FUNCTION_ARGS)
{
	static const int expr_args[] = {2, 3, 4};
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvReturnOld return_old = KvParseReturnOld(fcinfo, 5);
	AclMode		required = ACL_DELETE;
	KvTable    *table;
	Datum		keys[2];
	KvRowWriter *w;
	Jsonb	   *old = NULL;

	KvRefuseExpressionArgs(fcinfo, expr_args, lengthof(expr_args), "delete_item");
	if (return_old == KV_RETURN_ALL_OLD)
		required |= ACL_SELECT;
	table = KvLookupTable(table_name, required, RowExclusiveLock);
	KvRequestKeyDatums(key, &table->key, keys);

	w = KvRowWriterOpen(table, KvRoutePartition(table, keys[0]));
	KvRowSetNew(w, keys, NULL);
	if (KvRowLock(w))
	{
		if (return_old == KV_RETURN_ALL_OLD)
			old = KvSlotItem(w->oldslot, &w->layout);
		KvRowDelete(w);
	}
	KvRowWriterClose(w);

	PG_RETURN_JSONB_P(KvAttributesResponse(old));
}
