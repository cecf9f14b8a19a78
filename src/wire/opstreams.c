/*-------------------------------------------------------------------------
 *
 * opstreams.c
 *	  DynamoDB Streams on the wire: streams named by ARN, shards by
 *	  ShardId, records as DynamoDB Streams gives them, through the SQL
 *	  API's stream functions (called by OID).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "../common/errors.h"
#include "wire.h"

static const Oid text_arg[] = {TEXTOID};

static Jsonb *
WireSqlText1(const char *name, const char *arg)
{
	Datum		d = CStringGetTextDatum(arg);
	bool		null = false;
	bool		isnull;
	Datum		r = WireCallSql(name, 1, text_arg, &d, &null, &isnull);

	return isnull ? NULL : DatumGetJsonbP(r);
}

static void
WirePushElem(JsonbParseState **ps, Jsonb *e)
{
	JsonbValue	v;

	v.type = jbvBinary;
	v.val.binary.data = &e->root;
	v.val.binary.len = VARSIZE(e) - VARHDRSZ;
	pushJsonbValue(ps, WJB_ELEM, &v);
}

static char *
WireStreamArn(const char *table, const char *label)
{
	return psprintf("%s/stream/%s", WireTableArn(table), label);
}

/* a required string member with DynamoDB's length constraints */
static char *
WireRequiredString(Jsonb *req, const char *member, const char *path,
				   int minlen, int maxlen)
{
	char	   *value = WireString(req, member);
	KvShapeErrors errs = {0};

	if (value == NULL)
		KvShapeAdd(&errs, NULL, path, "Member must not be null");
	else if (strlen(value) < minlen)
		KvShapeAdd(&errs, value, path,
				   psprintf("Member must have length greater than or equal to %d", minlen));
	else if (strlen(value) > maxlen)
		KvShapeAdd(&errs, value, path,
				   psprintf("Member must have length less than or equal to %d", maxlen));
	KvShapeCheck(&errs);
	return value;
}

/*
 * WireStreamOf resolves a StreamArn to its table and partkv's description
 * of the table's latest stream; an ARN of no current stream is not found.
 */
static Jsonb *
WireStreamOf(const char *arn, char **table)
{
	char	   *label;
	Jsonb	   *desc;
	char	   *current;

	if (!WireParseStreamArn(arn, table, &label))
		KvValidationError("Invalid StreamArn: %s", arn);
	desc = WireSqlText1("describe_stream", *table);
	current = WireString(desc, "StreamLabel");
	if (current == NULL || strcmp(current, label) != 0)
		KvTableNotFoundError("Requested resource not found: Stream: %s not found", arn);
	return desc;
}

Jsonb *
WireListStreams(Jsonb *req)
{
	int32		limit = 100;
	char	   *only = WireTableName(req, "TableName", "tableName", false);
	char	   *start = WireString(req, "ExclusiveStartStreamArn");
	List	   *names;
	ListCell   *lc;
	JsonbParseState *ps = NULL;
	JsonbValue *arr;
	Jsonb	   *response;
	bool		started = (start == NULL);
	char	   *last = NULL;
	int			n = 0;
	bool		more = false;

	(void) WireLimit(req, 100, &limit);
	names = only ? list_make1(only) : WireTableNames();

	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	foreach(lc, names)
	{
		char	   *table = (char *) lfirst(lc);
		Jsonb	   *desc = WireSqlText1("describe_table", table);
		char	   *label = WireString(desc, "LatestStreamLabel");
		const char *keys[3] = {"StreamArn", "TableName", "StreamLabel"};
		Jsonb	   *values[3];
		char	   *arn;

		if (label == NULL)
			continue;
		arn = WireStreamArn(table, label);
		if (!started)
		{
			started = (strcmp(arn, start) == 0);
			continue;
		}
		if (n == limit)
		{
			more = true;
			break;
		}
		values[0] = WireStringJsonb(arn);
		values[1] = WireStringJsonb(table);
		values[2] = WireStringJsonb(label);
		WirePushElem(&ps, WireObjectOf(3, keys, values));
		last = arn;
		n++;
	}
	arr = pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	response = WireWrap("Streams", JsonbValueToJsonb(arr));
	if (more)
		response = WireSet(response, "LastEvaluatedStreamArn", WireStringJsonb(last));
	return response;
}

/*
 * WireShardPage keeps the shards of one DescribeStream page: after
 * ExclusiveStartShardId, at most limit; *last is set when more remain.
 */
static Jsonb *
WireShardPage(Jsonb *shards, const char *start, int limit, char **last)
{
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	bool		started = (start == NULL);
	int			n = 0;

	*last = NULL;
	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	if (shards != NULL)
	{
		char	   *prev = NULL;

		it = JsonbIteratorInit(&shards->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			Jsonb	   *shard;
			char	   *id;

			if (tok != WJB_ELEM)
				continue;
			shard = JsonbValueToJsonb(&v);
			id = WireString(shard, "ShardId");
			if (!started)
			{
				started = (id != NULL && strcmp(id, start) == 0);
				continue;
			}
			if (n == limit)
			{
				*last = prev;
				break;
			}
			WirePushElem(&ps, shard);
			prev = id;
			n++;
		}
	}
	return JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_ARRAY, NULL));
}

Jsonb *
WireDescribeStream(Jsonb *req)
{
	char	   *arn = WireRequiredString(req, "StreamArn", "streamArn", 37, 1024);
	char	   *start = WireString(req, "ExclusiveStartShardId");
	int32		limit = 100;
	char	   *table;
	Jsonb	   *desc;
	char	   *last;
	static const char *const members[] = {
		"StreamLabel", "StreamStatus", "StreamViewType", "CreationRequestDateTime",
		"TableName", "KeySchema"
	};
	const char *keys[lengthof(members) + 3];
	Jsonb	   *values[lengthof(members) + 3];

	(void) WireLimit(req, 100, &limit);
	desc = WireStreamOf(arn, &table);
	/* DynamoDB's members only, the ARN in DynamoDB's form */
	for (int i = 0; i < lengthof(members); i++)
	{
		keys[i] = members[i];
		values[i] = WireMember(desc, members[i]);
	}
	keys[lengthof(members)] = "StreamArn";
	values[lengthof(members)] = WireStringJsonb(arn);
	keys[lengthof(members) + 1] = "Shards";
	values[lengthof(members) + 1] = WireShardPage(WireArray(desc, "Shards"), start, limit, &last);
	keys[lengthof(members) + 2] = "LastEvaluatedShardId";
	values[lengthof(members) + 2] = last ? WireStringJsonb(last) : NULL;
	return WireWrap("StreamDescription", WireObjectOf(lengthof(keys), keys, values));
}

Jsonb *
WireGetShardIterator(Jsonb *req)
{
	char	   *arn = WireRequiredString(req, "StreamArn", "streamArn", 37, 1024);
	char	   *shard = WireRequiredString(req, "ShardId", "shardId", 28, 65);
	char	   *type = WireString(req, "ShardIteratorType");
	char	   *seq = WireString(req, "SequenceNumber");
	char	   *table;
	Datum		args[4];
	bool		nulls[4] = {false, false, false, false};
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	bool		isnull;
	Datum		iterator;

	if (type == NULL)
		KvShapeError(NULL, "shardIteratorType", "Member must not be null");
	(void) WireStreamOf(arn, &table);
	args[0] = CStringGetTextDatum(table);
	args[1] = CStringGetTextDatum(shard);
	args[2] = CStringGetTextDatum(type);
	args[3] = WireText(seq);
	nulls[3] = (seq == NULL);
	iterator = WireCallSql("get_shard_iterator", 4, types, args, nulls, &isnull);
	return WireWrap("ShardIterator", WireStringJsonb(TextDatumGetCString(iterator)));
}

/*
 * WireRecord gives one record DynamoDB Streams' shape: its own source and
 * region, images typed, without partkv's extra members.
 */
static Jsonb *
WireRecord(Jsonb *rec)
{
	static const char *const keys[] = {
		"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
		"dynamodb", "userIdentity"
	};
	Jsonb	   *values[lengthof(keys)];
	Jsonb	   *change = WireObject(rec, "dynamodb");

	values[0] = WireMember(rec, "eventID");
	values[1] = WireMember(rec, "eventName");
	values[2] = WireStringJsonb("1.1");
	values[3] = WireStringJsonb("aws:dynamodb");
	values[4] = WireStringJsonb(kv_wire_region);
	values[5] = change ? WireResponseToTyped(change) : NULL;
	values[6] = WireMember(rec, "userIdentity");
	return WireObjectOf(lengthof(keys), keys, values);
}

Jsonb *
WireGetRecords(Jsonb *req)
{
	char	   *iterator = WireRequiredString(req, "ShardIterator", "shardIterator", 1, 2048);
	int32		limit = 1000;
	Datum		args[2];
	bool		nulls[2] = {false, false};
	static const Oid types[] = {TEXTOID, INT4OID};
	bool		isnull;
	Jsonb	   *page;
	Jsonb	   *records;
	JsonbParseState *ps = NULL;
	JsonbIterator *it;
	JsonbIteratorToken tok;
	JsonbValue	v;
	const char *keys[2] = {"Records", "NextShardIterator"};
	Jsonb	   *values[2];

	(void) WireLimit(req, 1000, &limit);
	args[0] = CStringGetTextDatum(iterator);
	args[1] = Int32GetDatum(limit);
	page = DatumGetJsonbP(WireCallSql("get_records", 2, types, args, nulls, &isnull));
	records = WireArray(page, "Records");

	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	if (records != NULL)
	{
		it = JsonbIteratorInit(&records->root);
		while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (tok == WJB_ELEM)
				WirePushElem(&ps, WireRecord(JsonbValueToJsonb(&v)));
		}
	}
	values[0] = JsonbValueToJsonb(pushJsonbValue(&ps, WJB_END_ARRAY, NULL));
	values[1] = WireMember(page, "NextShardIterator");
	return WireObjectOf(2, keys, values);
}
