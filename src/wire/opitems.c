/*-------------------------------------------------------------------------
 *
 * opitems.c
 *	  PutItem, GetItem, UpdateItem and DeleteItem on the wire: the request
 *	  converted once, then the SQL API's own C entry points.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "../stats/capacity.h"
#include "wire.h"

/* the SQL API's entry points (src/api/items.c) */
extern Datum partkv_put_item(PG_FUNCTION_ARGS);
extern Datum partkv_get_item(PG_FUNCTION_ARGS);
extern Datum partkv_update_item(PG_FUNCTION_ARGS);
extern Datum partkv_delete_item(PG_FUNCTION_ARGS);

/* legacy members and their expression counterparts, in DynamoDB's order */
static const char *const write_legacy[] = {"Expected", "ConditionalOperator", NULL};
static const char *const write_expr[] = {"ConditionExpression", NULL};
static const char *const update_legacy[] = {"AttributeUpdates", "Expected", "ConditionalOperator", NULL};
static const char *const update_expr[] = {"UpdateExpression", "ConditionExpression", NULL};
static const char *const get_legacy[] = {"AttributesToGet", NULL};
static const char *const get_expr[] = {"ProjectionExpression", NULL};

/* the members every item request may carry, typed checks included */
typedef struct WireItemArgs
{
	char	   *table;
	Jsonb	   *plain;			/* the request, items and values plain */
	Jsonb	   *values;			/* ExpressionAttributeValues */
	Jsonb	   *names;			/* ExpressionAttributeNames */
	char	   *return_values;
	char	   *on_failure;
	char	   *capacity;
} WireItemArgs;

static void
WireReadItemArgs(Jsonb *req, WireItemArgs *a, const char *const *legacy,
				 const char *const *expr)
{
	a->table = WireTableName(req, "TableName", "tableName", true);
	WireRefuseLegacy(req, legacy, expr);
	a->plain = WireRequestToPlain(req);
	a->values = WireObject(a->plain, "ExpressionAttributeValues");
	a->names = WireObject(a->plain, "ExpressionAttributeNames");
	a->return_values = WireString(req, "ReturnValues");
	a->on_failure = WireString(req, "ReturnValuesOnConditionCheckFailure");
	a->capacity = WireString(req, "ReturnConsumedCapacity");
	(void) WireString(req, "ReturnItemCollectionMetrics");
}

#define ARG_TEXT(i, s)	(args[i] = WireText(s), nulls[i] = ((s) == NULL))
#define ARG_JSONB(i, j)	(args[i] = JsonbPGetDatum(j), nulls[i] = ((j) == NULL))

/* WireWriteResponse: the API's response is the wire's, items typed */
static Jsonb *
WireWriteResponse(Datum result, bool isnull)
{
	if (isnull)
		return WireEmptyObject();
	return WireResponseToTyped(DatumGetJsonbP(result));
}

/*
 * WireConditionalWrite: PutItem and DeleteItem take the same arguments but
 * for their item or key (member), and answer alike.
 */
static Jsonb *
WireConditionalWrite(Jsonb *req, const char *member, PGFunction fn)
{
	WireItemArgs a;
	Datum		args[8];
	bool		nulls[8];
	bool		isnull;
	Datum		result;
	Jsonb	   *target;
	char	   *condition;

	WireReadItemArgs(req, &a, write_legacy, write_expr);
	target = WireObject(a.plain, member);
	condition = WireString(req, "ConditionExpression");
	ARG_TEXT(0, a.table);
	ARG_JSONB(1, target);
	ARG_TEXT(2, condition);
	ARG_JSONB(3, a.values);
	ARG_JSONB(4, a.names);
	ARG_TEXT(5, a.return_values);
	ARG_TEXT(6, a.on_failure);
	ARG_TEXT(7, a.capacity);
	/* the call first: it sets isnull */
	result = WireCallC(fn, 8, args, nulls, &isnull);
	return WireWriteResponse(result, isnull);
}

Jsonb *
WirePutItem(Jsonb *req)
{
	return WireConditionalWrite(req, "Item", partkv_put_item);
}

Jsonb *
WireDeleteItem(Jsonb *req)
{
	return WireConditionalWrite(req, "Key", partkv_delete_item);
}

Jsonb *
WireUpdateItem(Jsonb *req)
{
	WireItemArgs a;
	Datum		args[9];
	bool		nulls[9];
	bool		isnull;
	Datum		result;
	Jsonb	   *key;
	char	   *update;
	char	   *condition;

	WireReadItemArgs(req, &a, update_legacy, update_expr);
	key = WireObject(a.plain, "Key");
	update = WireString(req, "UpdateExpression");
	condition = WireString(req, "ConditionExpression");
	ARG_TEXT(0, a.table);
	ARG_JSONB(1, key);
	ARG_TEXT(2, update);
	ARG_JSONB(3, a.values);
	ARG_JSONB(4, a.names);
	ARG_TEXT(5, condition);
	ARG_TEXT(6, a.return_values);
	ARG_TEXT(7, a.on_failure);
	ARG_TEXT(8, a.capacity);
	/* the call first: it sets isnull */
	result = WireCallC(partkv_update_item, 9, args, nulls, &isnull);
	return WireWriteResponse(result, isnull);
}

/*
 * GetItem: the SQL function returns the item itself, so the wire adds
 * ConsumedCapacity when asked, charged as the API charges the read.
 */
Jsonb *
WireGetItem(Jsonb *req)
{
	WireItemArgs a;
	Datum		args[6];
	bool		nulls[6];
	bool		isnull;
	Jsonb	   *key;
	char	   *projection;
	bool		consistent = false;
	bool		has_consistent;
	Datum		result;
	Jsonb	   *item;
	Jsonb	   *response;
	KvReturnCapacity mode;

	WireReadItemArgs(req, &a, get_legacy, get_expr);
	key = WireObject(a.plain, "Key");
	projection = WireString(req, "ProjectionExpression");
	has_consistent = WireBool(req, "ConsistentRead", &consistent);
	ARG_TEXT(0, a.table);
	ARG_JSONB(1, key);
	ARG_TEXT(2, projection);
	ARG_JSONB(3, a.names);
	args[4] = BoolGetDatum(consistent);
	nulls[4] = !has_consistent;
	ARG_TEXT(5, a.capacity);
	result = WireCallC(partkv_get_item, 6, args, nulls, &isnull);
	item = isnull ? NULL : DatumGetJsonbP(result);

	response = WireWrap("Item", item);
	mode = KvParseReturnCapacity(a.capacity);
	if (mode != KV_CAPACITY_NONE)
	{
		KvCapacity	cap;

		KvCapacityInit(&cap, mode);
		KvCapacityAdd(&cap, InvalidOid, a.table,
					  KvReadHalves(KvCapacitySize(item, KV_READ_UNIT_BYTES), consistent, false), 0);
		response = KvCapacityAppend(response, &cap, false);
	}
	return WireResponseToTyped(response);
}
