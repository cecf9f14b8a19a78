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
#include "../stats/capacity.h"
#include "../stats/stats.h"
#include "../storage/item.h"
#include "../storage/rowops.h"
#include "api.h"
#include "itemops.h"

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
		KvShapeError(NULL, member, "Member must not be null");
	return PG_GETARG_TEXT_PP(argno);
}

/* KvRequiredJsonb returns a jsonb argument that must not be NULL. */
Jsonb *
KvRequiredJsonb(FunctionCallInfo fcinfo, int argno, const char *member)
{
	if (PG_ARGISNULL(argno))
		KvShapeError(NULL, member, "Member must not be null");
	return PG_GETARG_JSONB_P(argno);
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
			KvValidationError("ReturnValues can only be ALL_OLD or NONE");
		return (KvReturnValues) i;
	}
	KvShapeError(value, "returnValues",
				 "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]");
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
	KvShapeError(value, "returnValuesOnConditionCheckFailure",
				 "Member must satisfy enum value set: [ALL_OLD, NONE]");
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
 * KvWithCapacity adds the ConsumedCapacity of a single-item write to its
 * response when return_consumed_capacity asked for it.
 */
static Jsonb *
KvWithCapacity(Jsonb *response, const KvItemOp *op, KvReturnCapacity mode,
			   text *table_name)
{
	KvCapacity	cap;

	if (mode == KV_CAPACITY_NONE)
		return response;
	KvCapacityInit(&cap, mode);
	KvOpCapacity(&cap, op, text_to_cstring(table_name));
	return KvCapacityAppend(response, &cap, false);
}

/*
 * KvConditionArgs compiles the condition, attr_values and attr_names
 * arguments (2, 3, 4) of PutItem and DeleteItem; NULL when all are absent.
 */
static KvExprSet *
KvConditionArgs(FunctionCallInfo fcinfo)
{
	KvExprTexts texts = {{0}};

	if (PG_ARGISNULL(2) && PG_ARGISNULL(3) && PG_ARGISNULL(4))
		return NULL;
	texts.text[KVEXPR_CONDITION] = KvOptionalText(fcinfo, 2);
	return KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 4), KvOptionalJsonb(fcinfo, 3));
}

/*
 * KvLookupWriteTable finds the table of a PutItem or DeleteItem; reading the
 * item back (ReturnValues) or testing it (a condition) also needs SELECT.
 */
static KvTable *
KvLookupWriteTable(text *table_name, AclMode required, KvReturnValues return_values,
				   KvExprSet *exprs)
{
	if (return_values != KV_RETURN_NONE || KvExprHas(exprs, KVEXPR_CONDITION))
		required |= ACL_SELECT;
	return KvLookupTable(table_name, required, RowExclusiveLock);
}

/*
 * partkv_put_item creates or replaces an item (PutItem).
 * Arguments: table_name, item, condition, attr_values, attr_names,
 * return_values, return_values_on_condition_check_failure,
 * return_consumed_capacity.
 */
Datum
partkv_put_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *item = KvRequiredJsonb(fcinfo, 1, "item");
	KvReturnValues return_values = KvParseReturnValues(fcinfo, 5, false);
	bool		return_on_failure = KvParseReturnOnFailure(fcinfo, 6);
	KvReturnCapacity capacity = KvReturnCapacityArg(fcinfo, 7);
	KvExprSet  *exprs;
	AclMode		required = ACL_INSERT | ACL_UPDATE;
	KvTable    *table;
	KvItemOp	op;

	exprs = KvConditionArgs(fcinfo);
	table = KvLookupWriteTable(table_name, required, return_values, exprs);

	memset(&op, 0, sizeof(op));
	op.kind = KV_OP_PUT;
	op.table = table;
	op.item = KvItemCheck(item, KV_WRITE_PUT, NULL);
	op.exprs = exprs;
	op.measure = (capacity != KV_CAPACITY_NONE);
	KvItemKeys(op.item, &table->key, op.keys);
	KvOpRun(&op, return_on_failure);

	PG_RETURN_JSONB_P(KvWithCapacity(KvAttributesResponse(return_values == KV_RETURN_ALL_OLD ? op.old : NULL),
									 &op, capacity, table_name));
}

/*
 * partkv_get_item returns the item with the given key, or NULL (GetItem).
 * Arguments: table_name, key, projection, attr_names, consistent_read,
 * return_consumed_capacity.
 * Reads always see the latest committed data, so consistent_read is
 * accepted and needs nothing more, but for the capacity it is charged.
 * GetItem's result is the item itself: a return_consumed_capacity other
 * than NONE is validated, and the units show only in the statistics.
 */
Datum
partkv_get_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	bool		consistent = !PG_ARGISNULL(4) && PG_GETARG_BOOL(4);
	KvExprSet  *exprs = NULL;
	KvTable    *table;
	const KvPartition *part;
	Datum		keys[2];
	Jsonb	   *item;

	(void) KvReturnCapacityArg(fcinfo, 5);

	if (!PG_ARGISNULL(2) || !PG_ARGISNULL(3))
	{
		KvExprTexts texts = {{0}};

		texts.text[KVEXPR_PROJECTION] = KvOptionalText(fcinfo, 2);
		exprs = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 3), NULL);
	}
	table = KvLookupTable(table_name, ACL_SELECT, AccessShareLock);
	KvRequestKeyDatums(key, &table->key, keys);

	part = KvRoutePartition(table, keys[0]);
	item = KvRowFetch(&table->key, part, keys);
	if (kv_track_stats)
		KvStatsReportRead(part->relid, table->relid, item != NULL, KvStoredSize(item),
						  KvReadHalves(KvCapacitySize(item, KV_READ_UNIT_BYTES),
									   consistent, false));
	if (item == NULL)
		PG_RETURN_NULL();
	PG_RETURN_JSONB_P(KvExprProject(exprs, item));
}

/*
 * partkv_delete_item deletes the item with the given key (DeleteItem);
 * deleting a missing item succeeds and writes nothing.
 * Arguments: table_name, key, condition, attr_values, attr_names,
 * return_values, return_values_on_condition_check_failure,
 * return_consumed_capacity.
 */
Datum
partkv_delete_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvReturnValues return_values = KvParseReturnValues(fcinfo, 5, false);
	bool		return_on_failure = KvParseReturnOnFailure(fcinfo, 6);
	KvReturnCapacity capacity = KvReturnCapacityArg(fcinfo, 7);
	KvExprSet  *exprs;
	AclMode		required = ACL_DELETE;
	KvTable    *table;
	KvItemOp	op;

	exprs = KvConditionArgs(fcinfo);
	table = KvLookupWriteTable(table_name, required, return_values, exprs);

	memset(&op, 0, sizeof(op));
	op.kind = KV_OP_DELETE;
	op.table = table;
	op.exprs = exprs;
	op.measure = (capacity != KV_CAPACITY_NONE);
	KvRequestKeyDatums(key, &table->key, op.keys);
	KvOpRun(&op, return_on_failure);

	PG_RETURN_JSONB_P(KvWithCapacity(KvAttributesResponse(return_values == KV_RETURN_ALL_OLD ? op.old : NULL),
									 &op, capacity, table_name));
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
 * return_values, return_values_on_condition_check_failure,
 * return_consumed_capacity.
 */
Datum
partkv_update_item(PG_FUNCTION_ARGS)
{
	text	   *table_name = KvRequiredText(fcinfo, 0, "tableName");
	Jsonb	   *key = KvRequiredJsonb(fcinfo, 1, "key");
	KvReturnValues return_values = KvParseReturnValues(fcinfo, 6, true);
	bool		return_on_failure = KvParseReturnOnFailure(fcinfo, 7);
	KvReturnCapacity capacity = KvReturnCapacityArg(fcinfo, 8);
	KvExprTexts texts = {{0}};
	KvExprSet  *exprs;
	KvTable    *table;
	KvItemOp	op;
	Jsonb	   *old;
	KvUpdateResult result;
	Jsonb	   *attributes = NULL;

	texts.text[KVEXPR_UPDATE] = KvOptionalText(fcinfo, 2);
	texts.text[KVEXPR_CONDITION] = KvOptionalText(fcinfo, 5);
	exprs = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, 4), KvOptionalJsonb(fcinfo, 3));
	table = KvLookupTable(table_name, ACL_SELECT | ACL_INSERT | ACL_UPDATE, RowExclusiveLock);

	memset(&op, 0, sizeof(op));
	op.kind = KV_OP_UPDATE;
	op.table = table;
	op.exprs = exprs;
	op.measure = (capacity != KV_CAPACITY_NONE);
	KvRequestKeyDatums(key, &table->key, op.keys);
	op.item = KvItemCheck(key, KV_WRITE_UPDATE, NULL);
	KvOpRun(&op, return_on_failure);
	old = op.old;
	result = op.update;

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
	PG_RETURN_JSONB_P(KvWithCapacity(KvAttributesResponse(attributes), &op, capacity, table_name));
}
