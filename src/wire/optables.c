/*-------------------------------------------------------------------------
 *
 * optables.c
 *	  The control plane on the wire: tables, TTL, limits and endpoints.
 *	  The SQL API's table functions are PL/pgSQL; they are called through
 *	  fmgr by OID, and their descriptions given DynamoDB's ARNs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "../common/errors.h"
#include "wire.h"

static const Oid text_arg[] = {TEXTOID};

/* WireSqlJsonb calls a SQL API function returning jsonb */
static Jsonb *
WireSqlJsonb(const char *name, int nargs, const Oid *types, const Datum *args,
			 const bool *nulls)
{
	bool		isnull;
	Datum		d = WireCallSql(name, nargs, types, args, nulls, &isnull);

	return isnull ? NULL : DatumGetJsonbP(d);
}

/* WireSqlByName calls a SQL API function taking a table name */
static Jsonb *
WireSqlByName(const char *name, const char *table)
{
	Datum		arg = CStringGetTextDatum(table);
	bool		null = false;

	return WireSqlJsonb(name, 1, text_arg, &arg, &null);
}

/*
 * WireIndexesWithArn gives each index of an array of index descriptions
 * its IndexArn.
 */
static Jsonb *
WireIndexesWithArn(Jsonb *indexes, const char *table_arn)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	JsonbValue *res = NULL;

	if (indexes == NULL || !JB_ROOT_IS_ARRAY(indexes) || JB_ROOT_IS_SCALAR(indexes))
		return indexes;
	it = JsonbIteratorInit(&indexes->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM && v.type == jbvBinary)
		{
			Jsonb	   *index = JsonbValueToJsonb(&v);
			char	   *name = WireString(index, "IndexName");

			if (name != NULL)
				index = WireSet(index, "IndexArn",
								WireStringJsonb(psprintf("%s/index/%s", table_arn, name)));
			v.type = jbvBinary;
			v.val.binary.data = &index->root;
			v.val.binary.len = VARSIZE(index) - VARHDRSZ;
		}
		res = pushJsonbValue(&ps, tok, tok < WJB_BEGIN_ARRAY || tok == WJB_ELEM ? &v : NULL);
	}
	return JsonbValueToJsonb(res);
}

/*
 * WireTableDescription turns partkv's TableDescription into DynamoDB's:
 * ARNs in DynamoDB's form for the name the request used, without partkv's
 * own members.
 */
static Jsonb *
WireTableDescription(Jsonb *desc, const char *table)
{
	char	   *arn = WireTableArn(table);
	char	   *label;

	if (desc == NULL)
		return NULL;
	desc = WireDelete(desc, "SchemaName");
	desc = WireDelete(desc, "Partitions");
	desc = WireSet(desc, "TableArn", WireStringJsonb(arn));
	label = WireString(desc, "LatestStreamLabel");
	if (label != NULL)
		desc = WireSet(desc, "LatestStreamArn",
					   WireStringJsonb(psprintf("%s/stream/%s", arn, label)));
	desc = WireSet(desc, "LocalSecondaryIndexes",
				   WireIndexesWithArn(WireArray(desc, "LocalSecondaryIndexes"), arn));
	desc = WireSet(desc, "GlobalSecondaryIndexes",
				   WireIndexesWithArn(WireArray(desc, "GlobalSecondaryIndexes"), arn));
	return desc;
}

Jsonb *
WireCreateTable(Jsonb *req)
{
	char	   *table = WireTableName(req, "TableName", "tableName", true);
	Datum		arg = JsonbPGetDatum(req);
	bool		null = false;
	static const Oid types[] = {JSONBOID};

	return WireWrap("TableDescription",
					WireTableDescription(WireSqlJsonb("create_table", 1, types, &arg, &null),
										 table));
}

Jsonb *
WireDescribeTable(Jsonb *req)
{
	char	   *table = WireTableName(req, "TableName", "tableName", true);

	return WireWrap("Table",
					WireTableDescription(WireSqlByName("describe_table", table), table));
}

Jsonb *
WireDeleteTable(Jsonb *req)
{
	char	   *table = WireTableName(req, "TableName", "tableName", true);

	return WireWrap("TableDescription",
					WireTableDescription(WireSqlByName("delete_table", table), table));
}

Jsonb *
WireUpdateTable(Jsonb *req)
{
	char	   *table = WireTableName(req, "TableName", "tableName", true);
	Datum		args[2];
	bool		nulls[2] = {false, false};
	static const Oid types[] = {TEXTOID, JSONBOID};

	args[0] = CStringGetTextDatum(table);
	args[1] = JsonbPGetDatum(req);
	return WireWrap("TableDescription",
					WireTableDescription(WireSqlJsonb("update_table", 2, types, args, nulls),
										 table));
}

/* WireLimit reads a Limit member of 1..max (shape errors otherwise) */
bool
WireLimit(Jsonb *req, int max, int32 *limit)
{
	KvShapeErrors errs = {0};

	if (!WireInt(req, "Limit", limit))
		return false;
	if (*limit < 1)
		KvShapeAdd(&errs, psprintf("%d", *limit), "limit",
				   "Member must have value greater than or equal to 1");
	else if (*limit > max)
		KvShapeAdd(&errs, psprintf("%d", *limit), "limit",
				   psprintf("Member must have value less than or equal to %d", max));
	KvShapeCheck(&errs);
	return true;
}

/* WireTableNames: partkv.list_tables(), in its order */
List *
WireTableNames(void)
{
	bool		isnull_any;

	return WireCallSqlSet("list_tables", &isnull_any);
}

/*
 * WireAfter tells where a page of names starts: after the exclusive start
 * name when it is listed, else after the names that sort before it.
 */
int
WireAfter(List *names, const char *start)
{
	int			i = 0;
	ListCell   *lc;

	if (start == NULL)
		return 0;
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), start) == 0)
			return i + 1;
		i++;
	}
	i = 0;
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), start) > 0)
			return i;
		i++;
	}
	return i;
}

Jsonb *
WireListTables(Jsonb *req)
{
	int32		limit = 100;
	char	   *start;
	List	   *names;
	JsonbParseState *ps = NULL;
	JsonbValue *arr;
	Jsonb	   *response;
	int			from;
	int			n = 0;
	char	   *last = NULL;

	(void) WireLimit(req, 100, &limit);
	start = WireTableName(req, "ExclusiveStartTableName", "exclusiveStartTableName", false);
	names = WireTableNames();
	from = WireAfter(names, start);

	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	for (int i = from; i < list_length(names) && n < limit; i++, n++)
	{
		JsonbValue	v;

		last = (char *) list_nth(names, i);
		v.type = jbvString;
		v.val.string.val = last;
		v.val.string.len = strlen(last);
		pushJsonbValue(&ps, WJB_ELEM, &v);
	}
	arr = pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	response = WireWrap("TableNames", JsonbValueToJsonb(arr));
	if (from + n < list_length(names))
		response = WireSet(response, "LastEvaluatedTableName", WireStringJsonb(last));
	return response;
}

Jsonb *
WireUpdateTimeToLive(Jsonb *req)
{
	char	   *table = WireTableName(req, "TableName", "tableName", true);
	Jsonb	   *spec = WireObject(req, "TimeToLiveSpecification");
	Datum		args[3];
	bool		nulls[3] = {false, false, false};
	bool		enabled = false;
	static const Oid types[] = {TEXTOID, TEXTOID, BOOLOID};
	char	   *attribute;

	if (spec == NULL)
		KvShapeError(NULL, "timeToLiveSpecification", "Member must not be null");
	attribute = WireString(spec, "AttributeName");
	nulls[2] = !WireBool(spec, "Enabled", &enabled);
	args[0] = CStringGetTextDatum(table);
	args[1] = WireText(attribute);
	nulls[1] = (attribute == NULL);
	args[2] = BoolGetDatum(enabled);
	return WireSqlJsonb("update_time_to_live", 3, types, args, nulls);
}

Jsonb *
WireDescribeTimeToLive(Jsonb *req)
{
	char	   *table = WireTableName(req, "TableName", "tableName", true);

	return WireSqlByName("describe_time_to_live", table);
}

/* DynamoDB's default account quotas: partkv enforces none of its own */
Jsonb *
WireDescribeLimits(Jsonb *req)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(
																		"{\"AccountMaxReadCapacityUnits\": 80000, \"AccountMaxWriteCapacityUnits\": 80000, "
																		"\"TableMaxReadCapacityUnits\": 40000, \"TableMaxWriteCapacityUnits\": 40000}")));
}

/* the endpoint is whatever the client reached: name the regional one */
Jsonb *
WireDescribeEndpoints(Jsonb *req)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(
																		psprintf("{\"Endpoints\": [{\"Address\": \"dynamodb.%s.amazonaws.com\", \"CachePeriodInMinutes\": 1440}]}",
																				 kv_wire_region))));
}
