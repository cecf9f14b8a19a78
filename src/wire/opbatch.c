/*-------------------------------------------------------------------------
 *
 * opbatch.c
 *	  BatchGetItem, BatchWriteItem, TransactGetItems and TransactWriteItems
 *	  on the wire: the SQL API takes DynamoDB's request shapes with plain
 *	  items, so the request is converted and handed over whole.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "wire.h"

static const char *const get_legacy[] = {"AttributesToGet", NULL};
static const char *const get_expr[] = {"ProjectionExpression", NULL};

/* the SQL API's entry points (src/api/batch.c) */
extern Datum partkv_batch_get_item(PG_FUNCTION_ARGS);
extern Datum partkv_batch_write_item(PG_FUNCTION_ARGS);
extern Datum partkv_transact_get_items(PG_FUNCTION_ARGS);
extern Datum partkv_transact_write_items(PG_FUNCTION_ARGS);

/*
 * WireRefuseInTables refuses legacy members in each table's part of a
 * BatchGetItem (AttributesToGet).
 */
static void
WireRefuseInTables(Jsonb *req)
{
	Jsonb	   *items = WireObject(req, "RequestItems");
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;

	if (items == NULL)
		return;
	it = JsonbIteratorInit(&items->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_VALUE && v.type == jbvBinary &&
			JsonContainerIsObject(v.val.binary.data))
			WireRefuseLegacy(JsonbValueToJsonb(&v), get_legacy, get_expr);
	}
}

static Jsonb *
WireBatchCall(PGFunction fn, Jsonb *req)
{
	Datum		args[2];
	bool		nulls[2] = {false, true};
	bool		isnull;
	Datum		result;

	/* ReturnConsumedCapacity is read from the body */
	args[0] = JsonbPGetDatum(WireRequestToPlain(req));
	args[1] = (Datum) 0;
	result = WireCallC(fn, 2, args, nulls, &isnull);
	return WireResponseToTyped(DatumGetJsonbP(result));
}

Jsonb *
WireBatchGetItem(Jsonb *req)
{
	WireRefuseInTables(req);
	return WireBatchCall(partkv_batch_get_item, req);
}

Jsonb *
WireBatchWriteItem(Jsonb *req)
{
	return WireBatchCall(partkv_batch_write_item, req);
}

Jsonb *
WireTransactGetItems(Jsonb *req)
{
	return WireBatchCall(partkv_transact_get_items, req);
}

Jsonb *
WireTransactWriteItems(Jsonb *req)
{
	return WireBatchCall(partkv_transact_write_items, req);
}
