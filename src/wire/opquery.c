/*-------------------------------------------------------------------------
 *
 * opquery.c
 *	  Query and Scan on the wire: one page each, through the SQL API's
 *	  query_page and scan_page entry points.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "wire.h"

/* the SQL API's entry points (src/api/query.c) */
extern Datum partkv_query_page(PG_FUNCTION_ARGS);
extern Datum partkv_scan_page(PG_FUNCTION_ARGS);

/* legacy members and their expression counterparts, in DynamoDB's order */
static const char *const query_legacy[] = {
	"AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions", NULL
};
static const char *const query_expr[] = {
	"ProjectionExpression", "FilterExpression", "KeyConditionExpression", NULL
};
static const char *const scan_legacy[] = {
	"AttributesToGet", "ScanFilter", "ConditionalOperator", NULL
};
static const char *const scan_expr[] = {"ProjectionExpression", "FilterExpression", NULL};
static const char *const read_unsupported[] = {"Select", NULL};

#define ARG_TEXT(i, s)	(args[i] = WireText(s), nulls[i] = ((s) == NULL))
#define ARG_JSONB(i, j)	(args[i] = JsonbPGetDatum(j), nulls[i] = ((j) == NULL))
#define ARG_INT(i, has, v)	(args[i] = Int32GetDatum(v), nulls[i] = !(has))
#define ARG_BOOL(i, has, v)	(args[i] = BoolGetDatum(v), nulls[i] = !(has))

Jsonb *
WireQuery(Jsonb *req)
{
	Datum		args[12];
	bool		nulls[12];
	bool		isnull;
	char	   *table;
	Jsonb	   *plain;
	int32		limit = 0;
	bool		has_limit;
	bool		forward = true;
	bool		has_forward;
	bool		consistent = false;
	bool		has_consistent;
	Datum		result;

	table = WireTableName(req, "TableName", "tableName", true);
	WireRefuseLegacy(req, query_legacy, query_expr);
	WireRefuseMembers(req, read_unsupported);
	plain = WireRequestToPlain(req);
	has_limit = WireInt(req, "Limit", &limit);
	has_forward = WireBool(req, "ScanIndexForward", &forward);
	has_consistent = WireBool(req, "ConsistentRead", &consistent);

	ARG_TEXT(0, table);
	ARG_TEXT(1, WireString(req, "KeyConditionExpression"));
	ARG_JSONB(2, WireObject(plain, "ExpressionAttributeValues"));
	ARG_JSONB(3, WireObject(plain, "ExpressionAttributeNames"));
	ARG_TEXT(4, WireString(req, "FilterExpression"));
	ARG_TEXT(5, WireString(req, "ProjectionExpression"));
	ARG_TEXT(6, WireString(req, "IndexName"));
	ARG_BOOL(7, has_forward, forward);
	ARG_INT(8, has_limit, limit);
	ARG_JSONB(9, WireObject(plain, "ExclusiveStartKey"));
	ARG_BOOL(10, has_consistent, consistent);
	ARG_TEXT(11, WireString(req, "ReturnConsumedCapacity"));
	result = WireCallC(partkv_query_page, 12, args, nulls, &isnull);
	return WireResponseToTyped(DatumGetJsonbP(result));
}

Jsonb *
WireScan(Jsonb *req)
{
	Datum		args[11];
	bool		nulls[11];
	bool		isnull;
	char	   *table;
	Jsonb	   *plain;
	int32		limit = 0;
	int32		segment = 0;
	int32		total = 0;
	bool		has_limit;
	bool		has_segment;
	bool		has_total;
	bool		consistent;
	Datum		result;

	table = WireTableName(req, "TableName", "tableName", true);
	WireRefuseLegacy(req, scan_legacy, scan_expr);
	WireRefuseMembers(req, read_unsupported);
	plain = WireRequestToPlain(req);
	has_limit = WireInt(req, "Limit", &limit);
	has_segment = WireInt(req, "Segment", &segment);
	has_total = WireInt(req, "TotalSegments", &total);
	/* reads always see the latest committed data: nothing to switch */
	(void) WireBool(req, "ConsistentRead", &consistent);

	ARG_TEXT(0, table);
	ARG_TEXT(1, WireString(req, "FilterExpression"));
	ARG_JSONB(2, WireObject(plain, "ExpressionAttributeValues"));
	ARG_JSONB(3, WireObject(plain, "ExpressionAttributeNames"));
	ARG_TEXT(4, WireString(req, "ProjectionExpression"));
	ARG_TEXT(5, WireString(req, "IndexName"));
	ARG_INT(6, has_segment, segment);
	ARG_INT(7, has_total, total);
	ARG_INT(8, has_limit, limit);
	ARG_JSONB(9, WireObject(plain, "ExclusiveStartKey"));
	ARG_TEXT(10, WireString(req, "ReturnConsumedCapacity"));
	result = WireCallC(partkv_scan_page, 11, args, nulls, &isnull);
	return WireResponseToTyped(DatumGetJsonbP(result));
}
