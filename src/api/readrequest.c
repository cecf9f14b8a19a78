/*-------------------------------------------------------------------------
 *
 * readrequest.c
 *	  Request checks and setup shared by Query and Scan: argument shapes,
 *	  the index read (table, LSI or GSI) and its rules, ExclusiveStartKey
 *	  datums, and a request's read state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/builtins.h"

#include "../common/serving.h"
#include "../index/gsi.h"
#include "../stats/stats.h"
#include "read.h"

/* KvCheckLimit validates item_limit (DynamoDB's Limit, at least 1). */
int64
KvCheckLimit(FunctionCallInfo fcinfo, int argno, KvShapeErrors *errs)
{
	int32		limit;

	if (PG_ARGISNULL(argno))
		return 0;
	limit = PG_GETARG_INT32(argno);
	if (limit < 1)
		KvShapeAdd(errs, psprintf("%d", limit), "limit",
				   "Member must have value greater than or equal to 1");
	return limit;
}

/* KvCheckIndexName validates the shape of index_name; NULL when absent. */
char *
KvCheckIndexName(FunctionCallInfo fcinfo, int argno, KvShapeErrors *errs)
{
	char	   *name;
	int			len;

	if (PG_ARGISNULL(argno))
		return NULL;
	name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	len = strlen(name);
	if (len < 3)
		KvShapeAdd(errs, name, "indexName",
				   "Member must have length greater than or equal to 3");
	else if (len > 255)
		KvShapeAdd(errs, name, "indexName",
				   "Member must have length less than or equal to 255");
	for (int i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
		{
			KvShapeAdd(errs, name, "indexName",
					   "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
			break;
		}
	}
	return name;
}

/* KvOptionalText returns a text argument as a C string, or NULL. */
char *
KvOptionalText(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* KvOptionalJsonb returns a jsonb argument, or NULL. */
Jsonb *
KvOptionalJsonb(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return PG_GETARG_JSONB_P(argno);
}

/*
 * KvCheckIndex resolves index_name among the indexes the table declares,
 * loaded with its cached catalog row: the position of a local secondary
 * index.  A name the table does not declare is DynamoDB's
 * ValidationException; a global secondary index cannot be read yet (the
 * background worker does not maintain GSIs so far).
 */
int
KvCheckIndex(const KvTable *table, const char *index_name, bool consistent_read)
{
	for (int i = 0; i < table->nlocal; i++)
	{
		if (strcmp(table->local[i].name, index_name) == 0)
			return i;
	}
	for (int i = 0; i < table->nglobal; i++)
	{
		if (strcmp(table->global_names[i], index_name) != 0)
			continue;
		if (consistent_read)
			KvValidationError("Consistent reads are not supported on global secondary indexes");
		return KV_INDEX_GSI;
	}
	KvValidationError("The table does not have the specified index: %s",
					  index_name);
}

/*
 * KvUseGlobalIndex makes a reader read GSI index_name of table: its
 * storage partitions (in Scan order, and by hash remainder for a Query),
 * through their key B-tree.  A GSI still being backfilled cannot be read
 * (DynamoDB's ValidationException), nor one that no worker will maintain
 * until something changes (src/common/serving.c).  The stored items are already
 * projected.  Everything is copied into the reader's context.
 */
void
KvUseGlobalIndex(KvReadState *st, const KvTable *table, const char *index_name)
{
	KvReader   *r = &st->reader;
	MemoryContext old = MemoryContextSwitchTo(r->mcxt);
	KvGsiInfo	info;
	Relation	storage;
	PartitionDesc partdesc;
	PartitionBoundInfo bounds;
	KvReadUnit *units;
	int			n = 0;

	if (!KvGsiDescribe(table->schema_name, table->table_name, index_name, &info))
		KvValidationError("The table does not have the specified index: %s",
						  index_name);
	if (!info.active)
		KvValidationError("Cannot read from backfilling global secondary index: %s",
						  index_name);
	/* an index nothing maintains must not answer as if it were up to date */
	KvServingCheck(KV_FEATURE_GSI,
				   psprintf("global secondary index \"%s\" of table \"%s\" is not being maintained",
							index_name, table->table_name));
	r->gsi = true;
	r->index_name = pstrdup(index_name);
	r->gsi_cols[r->gsi_ncols++] = info.pk;
	if (info.has_sk)
		r->gsi_cols[r->gsi_ncols++] = info.sk;
	for (int k = 0; k < table->key.nkeys; k++)
		r->gsi_cols[r->gsi_ncols++] = table->key.keys[k];
	for (int c = 0; c < r->gsi_ncols; c++)
		r->gsi_typid[c] = KvKeyTypeOid(r->gsi_cols[c].type);
	/* parallel scans split shared partitions by the GSI partition key hash */
	r->key_typid[0] = r->gsi_typid[0];

	storage = table_open(info.storage, AccessShareLock);
	partdesc = RelationGetPartitionDesc(storage, false);
	bounds = partdesc->boundinfo;
	r->gsi_modulus = (bounds != NULL) ? bounds->nindexes : 0;
	r->gsi_by_rem = palloc0(sizeof(KvReadUnit) * Max(r->gsi_modulus, 1));
	units = palloc0(sizeof(KvReadUnit) * Max(r->gsi_modulus, 1));
	for (int rem = 0; rem < r->gsi_modulus; rem++)
	{
		int			idx = bounds->indexes[rem];
		Oid			relid;
		bool		dup = false;

		if (idx < 0)
			continue;
		relid = partdesc->oids[idx];
		for (int i = 0; i < n && !dup; i++)
		{
			if (units[i].relid == relid)
			{
				r->gsi_by_rem[rem] = units[i];
				dup = true;
			}
		}
		if (dup)
			continue;
		/* its key index is found when the partition is read (KvReaderOpenUnit) */
		units[n].relid = relid;
		units[n].index = InvalidOid;
		units[n].rank = rem;
		r->gsi_by_rem[rem] = units[n];
		n++;
	}
	table_close(storage, NoLock);
	r->units = units;
	r->nunits = n;
	MemoryContextSwitchTo(old);
}

/*
 * KvGsiStartKeyDatums reads the ExclusiveStartKey of a GSI read: the
 * index's keys plus the table's keys (SPEC §5.3), each once, no other,
 * each of its declared type; into vals[] by GSI B-tree column.
 */
void
KvGsiStartKeyDatums(Jsonb *esk, const KvReader *r, Datum *vals)
{
	int			ndistinct = 0;

	for (int c = 0; c < r->gsi_ncols; c++)
	{
		bool		dup = false;

		for (int p = 0; p < c && !dup; p++)
			dup = strcmp(r->gsi_cols[p].name, r->gsi_cols[c].name) == 0;
		if (!dup)
			ndistinct++;
	}
	if (!JB_ROOT_IS_OBJECT(esk) || JB_ROOT_COUNT(esk) != ndistinct)
		KvValidationError("The provided starting key is invalid");
	for (int c = 0; c < r->gsi_ncols; c++)
	{
		const KvKeyAttr *attr = &r->gsi_cols[c];
		JsonbValue	v;
		bool		type_ok;

		if (getKeyJsonValueFromContainer(&esk->root, attr->name, strlen(attr->name), &v) == NULL)
			KvValidationError("The provided starting key is invalid");
		vals[c] = KvKeyDatumFromValue(&v, attr, c > 0, &type_ok);
		if (!type_ok)
			KvValidationError("The provided key element does not match the schema");
	}
}

/*
 * KvUseLocalIndex makes a reader read LSI number lsi of table: its sort
 * key, and, when no ProjectionExpression is given, the attributes its
 * projection type returns (KEYS_ONLY: table keys and index key; INCLUDE:
 * those and NonKeyAttributes; ALL: whole items).  What it keeps is copied
 * into the reader's context: the cache entry may be rebuilt between two
 * calls of a set-returning function.
 */
void
KvUseLocalIndex(KvReadState *st, const KvTable *table, int lsi)
{
	const KvLocalIndex *index = &table->local[lsi];
	KvReader   *r = &st->reader;
	MemoryContext old = MemoryContextSwitchTo(r->mcxt);

	r->lsi = true;
	r->index_name = pstrdup(index->name);
	r->lsi_key = index->key;
	r->lsi_typid = KvKeyTypeOid(index->key.type);
	if (index->projection != KV_PROJECT_ALL && !KvExprHas(st->set, KVEXPR_PROJECTION))
	{
		st->project = palloc(sizeof(char *) * (table->key.nkeys + 1 + index->ninclude));
		for (int k = 0; k < table->key.nkeys; k++)
			st->project[st->nproject++] = pstrdup(table->key.keys[k].name);
		st->project[st->nproject++] = pstrdup(index->key.name);
		for (int i = 0; i < index->ninclude; i++)
			st->project[st->nproject++] = pstrdup(index->include[i]);
	}
	MemoryContextSwitchTo(old);
}

/*
 * KvStartKeyDatums reads an ExclusiveStartKey: exactly the table's key
 * attributes ("The provided starting key is invalid" otherwise), each of
 * its declared type ("The provided key element does not match the
 * schema").
 */
void
KvStartKeyDatums(Jsonb *esk, const KvKeySchema *schema, Datum *values)
{
	if (!JB_ROOT_IS_OBJECT(esk) || JB_ROOT_COUNT(esk) != schema->nkeys)
		KvValidationError("The provided starting key is invalid");
	for (int k = 0; k < schema->nkeys; k++)
	{
		JsonbValue	v;

		if (getKeyJsonValueFromContainer(&esk->root, schema->keys[k].name,
										 strlen(schema->keys[k].name), &v) == NULL)
			KvValidationError("The provided starting key is invalid");
	}
	KvRequestKeyDatums(esk, schema, values);
}

/*
 * KvIndexStartKeyDatums reads the ExclusiveStartKey of an LSI read: the
 * table's key attributes plus the index sort key (SPEC §5.3), no other,
 * each of its declared type; errors as KvStartKeyDatums.
 */
void
KvIndexStartKeyDatums(Jsonb *esk, const KvKeySchema *schema, const KvKeyAttr *lsi_key,
					  Datum *values, Datum *lsi_value)
{
	int			nattrs = schema->nkeys + 1;
	JsonbValue	v[3];
	bool		type_ok;

	for (int k = 0; k < schema->nkeys; k++)
	{
		if (strcmp(schema->keys[k].name, lsi_key->name) == 0)
			nattrs--;
	}
	if (!JB_ROOT_IS_OBJECT(esk) || JB_ROOT_COUNT(esk) != nattrs)
		KvValidationError("The provided starting key is invalid");
	for (int k = 0; k <= schema->nkeys; k++)
	{
		const KvKeyAttr *attr = (k < schema->nkeys) ? &schema->keys[k] : lsi_key;

		if (getKeyJsonValueFromContainer(&esk->root, attr->name, strlen(attr->name),
										 &v[k]) == NULL)
			KvValidationError("The provided starting key is invalid");
	}
	for (int k = 0; k <= schema->nkeys; k++)
	{
		const KvKeyAttr *attr = (k < schema->nkeys) ? &schema->keys[k] : lsi_key;
		Datum		d = KvKeyDatumFromValue(&v[k], attr, k > 0, &type_ok);

		if (!type_ok)
			KvValidationError("The provided key element does not match the schema");
		if (k < schema->nkeys)
			values[k] = d;
		else
			*lsi_value = d;
	}
}

/* KvReadStateNew allocates the state of a request in mcxt. */
KvReadState *
KvReadStateNew(MemoryContext mcxt, int64 limit)
{
	KvReadState *st = MemoryContextAllocZero(mcxt, sizeof(KvReadState));

	st->limit = limit;
	st->rowctx = AllocSetContextCreate(mcxt, "partkv read row",
									   ALLOCSET_DEFAULT_SIZES);
	return st;
}
