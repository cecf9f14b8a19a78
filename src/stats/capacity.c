/*-------------------------------------------------------------------------
 *
 * capacity.c
 *	  DynamoDB's capacity units and the ConsumedCapacity response member
 *	  (see capacity.h, SPEC-dynamodb.md §8).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "../common/errors.h"
#include "../common/jsonbuild.h"
#include "../storage/item.h"
#include "capacity.h"

/*
 * KvParseReturnCapacity reads a ReturnConsumedCapacity value; the names are
 * case-sensitive, as DynamoDB's enums are.
 */
KvReturnCapacity
KvParseReturnCapacity(const char *value)
{
	if (value == NULL || strcmp(value, "NONE") == 0)
		return KV_CAPACITY_NONE;
	if (strcmp(value, "TOTAL") == 0)
		return KV_CAPACITY_TOTAL;
	if (strcmp(value, "INDEXES") == 0)
		return KV_CAPACITY_INDEXES;
	KvShapeError(value, "returnConsumedCapacity",
				 "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]");
	pg_unreachable();
}

/*
 * KvReturnCapacityArg reads the return_consumed_capacity argument; a call
 * through an older, shorter signature has none.
 */
KvReturnCapacity
KvReturnCapacityArg(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return KV_CAPACITY_NONE;
	return KvParseReturnCapacity(text_to_cstring(PG_GETARG_TEXT_PP(argno)));
}

/* KvReadHalves: half read units of one read of `bytes` (see capacity.h). */
int64
KvReadHalves(int64 bytes, bool consistent, bool transactional)
{
	int64		units = Max((bytes + KV_READ_UNIT_BYTES - 1) / KV_READ_UNIT_BYTES, 1);

	if (transactional)
		return units * 4;
	return consistent ? units * 2 : units;
}

/* KvWriteUnits: write units of one write of `bytes` (see capacity.h). */
int64
KvWriteUnits(int64 bytes, bool transactional)
{
	int64		units = Max((bytes + KV_WRITE_UNIT_BYTES - 1) / KV_WRITE_UNIT_BYTES, 1);

	return transactional ? units * 2 : units;
}

/*
 * KvCapacitySize sizes an item for rounding to units (see capacity.h).
 * jsonb stores every DynamoDB value in at least as many bytes (strings and
 * names with a 4-byte entry, numbers as numeric, binary as base64,
 * containers with a header and an entry per element), so a stored size of
 * at most one unit means a DynamoDB size of at most one unit.
 */
int64
KvCapacitySize(Jsonb *item, int64 unit_bytes)
{
	int64		stored = KvStoredSize(item);

	if (stored <= unit_bytes)
		return stored;
	return KvItemSize(item);
}

/* KvCapacityInit starts an empty account. */
void
KvCapacityInit(KvCapacity *cap, KvReturnCapacity mode)
{
	memset(cap, 0, sizeof(*cap));
	cap->mode = mode;
}

/*
 * KvCapacityAdd adds units to a table's line, creating it on first use.
 * Requests touch at most 100 tables, so a linear search is enough.
 */
/* KvCapacityLine finds (or creates) a table's line. */
static KvCapacityTable *
KvCapacityLine(KvCapacity *cap, Oid relid, const char *name)
{
	KvCapacityTable *t = NULL;

	for (int i = 0; i < cap->ntables; i++)
	{
		if (cap->tables[i].relid == relid)
		{
			t = &cap->tables[i];
			break;
		}
	}
	if (t == NULL)
	{
		if (cap->ntables == cap->maxtables)
		{
			cap->maxtables = Max(cap->maxtables * 2, 4);
			if (cap->tables == NULL)
				cap->tables = palloc(sizeof(KvCapacityTable) * cap->maxtables);
			else
				cap->tables = repalloc(cap->tables, sizeof(KvCapacityTable) * cap->maxtables);
		}
		t = &cap->tables[cap->ntables++];
		t->relid = relid;
		t->name = pstrdup(name);
		t->read_halves = 0;
		t->write_units = 0;
		t->nindexes = 0;
		t->indexes = NULL;
	}
	return t;
}

void
KvCapacityAdd(KvCapacity *cap, Oid relid, const char *name,
			  int64 read_halves, int64 write_units)
{
	KvCapacityTable *t;

	if (cap->mode == KV_CAPACITY_NONE)
		return;
	t = KvCapacityLine(cap, relid, name);
	t->read_halves += read_halves;
	t->write_units += write_units;
}

void
KvCapacityAddIndex(KvCapacity *cap, Oid relid, const char *name,
				   const char *index_name, bool global,
				   int64 read_halves, int64 write_units)
{
	KvCapacityTable *t;
	KvCapacityIndex *x = NULL;

	if (cap->mode == KV_CAPACITY_NONE)
		return;
	t = KvCapacityLine(cap, relid, name);
	for (int i = 0; i < t->nindexes; i++)
		if (t->indexes[i].global == global && strcmp(t->indexes[i].name, index_name) == 0)
			x = &t->indexes[i];
	if (x == NULL)
	{
		if (t->indexes == NULL)
			t->indexes = palloc0(sizeof(KvCapacityIndex) * KV_CAPACITY_MAX_INDEXES);
		if (t->nindexes == KV_CAPACITY_MAX_INDEXES)
			return;
		x = &t->indexes[t->nindexes++];
		x->name = pstrdup(index_name);
		x->global = global;
	}
	x->read_halves += read_halves;
	x->write_units += write_units;
}

/* KvPushUnits pushes "CapacityUnits": n, n a multiple of 0.5 (exact as float8). */
static void
KvPushUnits(JsonbParseState **state, double units)
{
	JsonbValue	v;

	KvPushKey(state, "CapacityUnits");
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall1(float8_numeric,
														Float8GetDatum(units)));
	pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * KvPushTable pushes one ConsumedCapacity object: TableName and
 * CapacityUnits (table and indexes), and for INDEXES the table's own share
 * under "Table" and each index's under LocalSecondaryIndexes or
 * GlobalSecondaryIndexes.
 */
static void
KvPushTable(JsonbParseState **state, const KvCapacity *cap, const KvCapacityTable *t)
{
	JsonbValue	v;
	double		table_units = t->read_halves / 2.0 + (double) t->write_units;
	double		units = table_units;

	for (int i = 0; i < t->nindexes; i++)
		units += t->indexes[i].read_halves / 2.0 + (double) t->indexes[i].write_units;

	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	KvPushKey(state, "TableName");
	v.type = jbvString;
	v.val.string.val = t->name;
	v.val.string.len = strlen(t->name);
	pushJsonbValue(state, WJB_VALUE, &v);
	KvPushUnits(state, units);
	if (cap->mode == KV_CAPACITY_INDEXES)
	{
		KvPushKey(state, "Table");
		pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
		KvPushUnits(state, table_units);
		pushJsonbValue(state, WJB_END_OBJECT, NULL);
		for (int global = 0; global <= 1; global++)
		{
			bool		any = false;

			for (int i = 0; i < t->nindexes; i++)
			{
				const KvCapacityIndex *x = &t->indexes[i];

				if (x->global != (bool) global)
					continue;
				if (!any)
				{
					KvPushKey(state, global ? "GlobalSecondaryIndexes" : "LocalSecondaryIndexes");
					pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
					any = true;
				}
				KvPushKey(state, x->name);
				pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
				KvPushUnits(state, x->read_halves / 2.0 + (double) x->write_units);
				pushJsonbValue(state, WJB_END_OBJECT, NULL);
			}
			if (any)
				pushJsonbValue(state, WJB_END_OBJECT, NULL);
		}
	}
	pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

/* KvCapacityAppend adds "ConsumedCapacity" to a response object (see capacity.h). */
Jsonb *
KvCapacityAppend(Jsonb *response, const KvCapacity *cap, bool as_list)
{
	JsonbParseState *state = NULL;
	Jsonb	   *member;

	if (cap->mode == KV_CAPACITY_NONE)
		return response;
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	KvPushKey(&state, "ConsumedCapacity");
	if (as_list)
	{
		pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
		for (int i = 0; i < cap->ntables; i++)
			KvPushTable(&state, cap, &cap->tables[i]);
		pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	}
	else if (cap->ntables > 0)
		KvPushTable(&state, cap, &cap->tables[0]);
	else
	{
		KvCapacityTable none = {InvalidOid, "", 0, 0, 0, NULL};

		KvPushTable(&state, cap, &none);
	}
	member = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));
	return DatumGetJsonbP(DirectFunctionCall2(jsonb_concat,
											  JsonbPGetDatum(response),
											  JsonbPGetDatum(member)));
}
