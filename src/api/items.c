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
#include "../eval/eval.h"
#include "../storage/item.h"
#include "../storage/rowops.h"
#include "api.h"

PG_FUNCTION_INFO_V1(partkv_put_item);
PG_FUNCTION_INFO_V1(partkv_get_item);
PG_FUNCTION_INFO_V1(partkv_delete_item);
PG_FUNCTION_INFO_V1(partkv_update_item);

/* ReturnValues (SPEC §3.6) */
typedef enum KvReturnValues
{
	KV_RETURN_NONE,
	KV_RETURN_ALL_OLD,
	KV_RETURN_UPDATED_OLD,
	KV_RETURN_ALL_NEW,
	KV_RETURN_UPDATED_NEW
} KvReturnValues;

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

/*
 * KvParseReturnValues reads ReturnValues; PutItem and DeleteItem allow only
 * NONE and ALL_OLD (allow_updates false).
 */
static KvReturnValues
KvParseReturnValues(FunctionCallInfo fcinfo, int argno, bool allow_updates)
{
	static const char *const names[] = {"NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"};
	char	   *value;

	if (PG_ARGISNULL(argno))
		return KV_RETURN_NONE;
	value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	for (int i = 0; i < lengthof(names); i++)
	{
		if (strcmp(value, names[i]) != 0)
			continue;
		if (!allow_updates && i > KV_RETURN_ALL_OLD)
			ereport(ERROR,
					(errcode(KV_ERRCODE_VALIDATION),
					 errmsg("ReturnValues can only be ALL_OLD or NONE")));
		return (KvReturnValues) i;
	}
	ereport(ERROR,
			(errcode(KV_ERRCODE_VALIDATION),
			 errmsg("1 validation error detected: Value '%s' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
					value)));
	pg_unreachable();
}

/* KvParseReturnOnFailure reads ReturnValuesOnConditionCheckFailure: true for ALL_OLD. */
static bool
KvParseReturnOnFailure(FunctionCallInfo fcinfo, int argno)
{
	char	   *value;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return false;
	value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (strcmp(value, "ALL_OLD") == 0)
		return true;
	if (strcmp(value, "NONE") == 0)
		return false;
	ereport(ERROR,
			(errcode(KV_ERRCODE_VALIDATION),
			 errmsg("1 validation error detected: Value '%s' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]",
					value)));
	pg_unreachable();
}

/* KvOptionalText returns a text argument as a C string, or NULL. */
static const char *
KvOptionalText(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* KvOptionalJsonb returns a jsonb argument, or NULL. */
static Jsonb *
KvOptionalJsonb(FunctionCallInfo fcinfo, int argno)
{
	return PG_ARGISNULL(argno) ? NULL : PG_GETARG_JSONB_P(argno);
}

/*
 * KvConditionFailed raises ConditionalCheckFailedException; with
 * ReturnValuesOnConditionCheckFailure=ALL_OLD the current item is in DETAIL.
 */
static void
KvConditionFailed(Jsonb *current, bool return_item)
{
	if (return_item && current != NULL)
		ereport(ERROR,
				(errcode(KV_ERRCODE_CONDITIONAL_CHECK_FAILED),
				 errmsg("The conditional request failed"),
				 errdetail("{\"Item\": %s}",
						   JsonbToCString(NULL, &current->root, VARSIZE(current)))));
	ereport(ERROR,
			(errcode(KV_ERRCODE_CONDITIONAL_CHECK_FAILED),
			 errmsg("The conditional request failed")));
}

/* KvAttributesResponse builds {"Attributes": item}, or {} without an item. */
static Jsonb *
KvAttributesResponse(Jsonb *item)
{
	JsonbParseState *state = NULL;
	JsonbValue	key;
	JsonbValue *result;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (item != NULL && JB_ROOT_COUNT(item) > 0)
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
 * Arguments: table_name, item, condition, attr_values, attr_names,
 * return_values, return_values_on_condition_check_failure.
 */
Datum
partkv_put_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *item = KvRequiredJsonb(fcinfo, 1, "item");
	KvReturnValues return_values = KvParseReturnValues(fcinfo, 5, false);
	bool		return_on_failure = KvParseReturnOnFailure(fcinfo, 6);
	KvExprSet  *exprs = NULL;
	AclMode		required = ACL_INSERT | ACL_UPDATE;
	KvTable    *table;
	Datum		keys[2];
	KvRowWriter *w;
	Jsonb	   *old = NULL;

	if (!PG_ARGISNULL(2) || !PG_ARGISNULL(3) || !PG_ARGISNULL(4))
	{
		KvExprTexts texts = {{0}};

		texts.text[KVEXPR_CONDITION] = KvOptionalText(fcinfo, 2);
		exprs = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 4), KvOptionalJsonb(fcinfo, 3));
	}
	if (return_values != KV_RETURN_NONE || KvExprHas(exprs, KVEXPR_CONDITION))
		required |= ACL_SELECT;
	table = KvLookupTable(table_name, required, RowExclusiveLock);

	item = KvItemCheck(item, KV_WRITE_PUT, NULL);
	KvItemKeys(item, &table->key, keys);

	w = KvRowWriterOpen(table, KvRoutePartition(table, keys[0]));
	KvRowSetNew(w, keys, item);
	for (;;)
	{
		bool		exists = KvRowLock(w);

		old = exists ? KvSlotItem(w->oldslot, &w->layout) : NULL;
		if (!KvExprTest(exprs, KVEXPR_CONDITION, old))
			KvConditionFailed(old, return_on_failure);
		if (exists)
		{
			/* an identical put changes nothing: no write, no stream record */
			if (compareJsonbContainers(&old->root, &item->root) != 0)
				KvRowUpdate(w);
			break;
		}
		if (KvRowInsert(w))
			break;
	}
	KvRowWriterClose(w);

	PG_RETURN_JSONB_P(KvAttributesResponse(return_values == KV_RETURN_ALL_OLD ? old : NULL));
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
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvExprSet  *exprs = NULL;
	KvTable    *table;
	Datum		keys[2];
	Jsonb	   *item;

	if (!PG_ARGISNULL(2) || !PG_ARGISNULL(3))
	{
		KvExprTexts texts = {{0}};

		texts.text[KVEXPR_PROJECTION] = KvOptionalText(fcinfo, 2);
		exprs = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 3), NULL);
	}
	table = KvLookupTable(table_name, ACL_SELECT, AccessShareLock);
	KvRequestKeyDatums(key, &table->key, keys);

	item = KvRowFetch(table, KvRoutePartition(table, keys[0]), keys);
	if (item == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(KvExprProject(exprs, item));
}

/*
 * partkv_delete_item deletes the item with the given key (DeleteItem);
 * deleting a missing item succeeds and writes nothing.
 * Arguments: table_name, key, condition, attr_values, attr_names,
 * return_values, return_values_on_condition_check_failure.
 */
Datum
partkv_delete_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvReturnValues return_values = KvParseReturnValues(fcinfo, 5, false);
	bool		return_on_failure = KvParseReturnOnFailure(fcinfo, 6);
	KvExprSet  *exprs = NULL;
	AclMode		required = ACL_DELETE;
	KvTable    *table;
	Datum		keys[2];
	KvRowWriter *w;
	Jsonb	   *old = NULL;

	if (!PG_ARGISNULL(2) || !PG_ARGISNULL(3) || !PG_ARGISNULL(4))
	{
		KvExprTexts texts = {{0}};

		texts.text[KVEXPR_CONDITION] = KvOptionalText(fcinfo, 2);
		exprs = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 4), KvOptionalJsonb(fcinfo, 3));
	}
	if (return_values != KV_RETURN_NONE || KvExprHas(exprs, KVEXPR_CONDITION))
		required |= ACL_SELECT;
	table = KvLookupTable(table_name, required, RowExclusiveLock);
	KvRequestKeyDatums(key, &table->key, keys);

	w = KvRowWriterOpen(table, KvRoutePartition(table, keys[0]));
	KvRowSetNew(w, keys, NULL);
	if (KvRowLock(w))
		old = KvSlotItem(w->oldslot, &w->layout);
	if (!KvExprTest(exprs, KVEXPR_CONDITION, old))
		KvConditionFailed(old, return_on_failure);
	if (old != NULL)
		KvRowDelete(w);
	KvRowWriterClose(w);

	PG_RETURN_JSONB_P(KvAttributesResponse(return_values == KV_RETURN_ALL_OLD ? old : NULL));
}

/* KvWithoutKeys drops the key attributes from an UPDATED_NEW result. */
static Jsonb *
KvWithoutKeys(Jsonb *attrs, const KvKeySchema *schema)
{
	Datum		d;

	if (attrs == NULL)
		return NULL;
	d = JsonbPGetDatum(attrs);
	for (int k = 0; k < schema->nkeys; k++)
		d = DirectFunctionCall2(jsonb_delete, d, CStringGetTextDatum(schema->keys[k].name));
	return DatumGetJsonbP(d);
}

/*
 * partkv_update_item edits an item with an UpdateExpression, creating it
 * when missing unless the update only removes (UpdateItem).
 * Arguments: table_name, key, update, attr_values, attr_names, condition,
 * return_values, return_values_on_condition_check_failure.
 */
Datum
partkv_update_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvReturnValues return_values = KvParseReturnValues(fcinfo, 6, true);
	bool		return_on_failure = KvParseReturnOnFailure(fcinfo, 7);
	KvExprTexts texts = {{0}};
	KvExprSet  *exprs;
	KvTable    *table;
	Datum		keys[2];
	KvRowWriter *w;
	Jsonb	   *old = NULL;
	KvUpdateResult result = {NULL, NULL, NULL};
	Jsonb	   *attributes = NULL;

	texts.text[KVEXPR_UPDATE] = KvOptionalText(fcinfo, 2);
	texts.text[KVEXPR_CONDITION] = KvOptionalText(fcinfo, 5);
	exprs = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 4), KvOptionalJsonb(fcinfo, 3));
	table = KvLookupTable(table_name, ACL_SELECT | ACL_INSERT | ACL_UPDATE, RowExclusiveLock);
	KvRequestKeyDatums(key, &table->key, keys);
	key = KvItemCheck(key, KV_WRITE_UPDATE, NULL);

	w = KvRowWriterOpen(table, KvRoutePartition(table, keys[0]));
	KvRowSetNew(w, keys, NULL);
	for (;;)
	{
		bool		exists = KvRowLock(w);

		old = exists ? KvSlotItem(w->oldslot, &w->layout) : NULL;
		if (!KvExprTest(exprs, KVEXPR_CONDITION, old))
			KvConditionFailed(old, return_on_failure);
		result = KvExprApplyUpdate(exprs, old, key, &table->key);
		if (exists)
		{
			if (compareJsonbContainers(&old->root, &result.new_item->root) != 0)
			{
				KvRowSetNew(w, keys, result.new_item);
				KvRowUpdate(w);
			}
			break;
		}
		if (result.new_item == NULL)
			break;				/* nothing to create */
		KvRowSetNew(w, keys, result.new_item);
		if (KvRowInsert(w))
			break;
		KvRowSetNew(w, keys, NULL);
	}
	KvRowWriterClose(w);

	switch (return_values)
	{
		case KV_RETURN_ALL_OLD:
			attributes = old;
			break;
		case KV_RETURN_UPDATED_OLD:
			attributes = old ? result.updated_old : NULL;
			break;
		case KV_RETURN_ALL_NEW:
			attributes = result.new_item;
			break;
		case KV_RETURN_UPDATED_NEW:
			attributes = KvWithoutKeys(result.updated_new, &table->key);
			break;
		default:
			break;
	}
	PG_RETURN_JSONB_P(KvAttributesResponse(attributes));
}
