/*-------------------------------------------------------------------------
 *
 * tablecache.c
 *	  Per-backend cache of kv table metadata, kept valid by relcache
 *	  invalidation callbacks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "storage/lmgr.h"

#include "../common/errors.h"
#include "../common/safesql.h"
#include "../storage/hashops.h"
#include "../storage/indexkeys.h"
#include "../storage/tableam.h"
#include "lsimap.h"
#include "tablecache.h"

PG_FUNCTION_INFO_V1(partkv_invalidate_table_cache);
PG_FUNCTION_INFO_V1(partkv_table_relation);

/* partition relid -> parent relid, so an invalidation of a partition finds its table */
typedef struct KvPartitionOwner
{
	Oid			partition;
	Oid			parent;
} KvPartitionOwner;

static HTAB *kv_tables = NULL;
static HTAB *kv_partition_owner = NULL;

/* KvInvalidateRelation marks the table owning relid (itself or a partition) stale. */
static void
KvInvalidateRelation(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	KvTable    *entry;
	KvPartitionOwner *owner;

	if (kv_tables == NULL)
		return;
	if (!OidIsValid(relid))
	{
		hash_seq_init(&status, kv_tables);
		while ((entry = hash_seq_search(&status)) != NULL)
			entry->valid = entry->row_valid = false;
		return;
	}
	entry = hash_search(kv_tables, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		entry->valid = entry->row_valid = false;
	owner = hash_search(kv_partition_owner, &relid, HASH_FIND, NULL);
	if (owner != NULL)
	{
		entry = hash_search(kv_tables, &owner->parent, HASH_FIND, NULL);
		if (entry != NULL)
			entry->valid = entry->row_valid = false;
	}
}

/* KvInitCache creates the hash tables and registers the invalidation callback once. */
static void
KvInitCache(void)
{
	HASHCTL		ctl;

	if (kv_tables != NULL)
		return;
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(KvTable);
	ctl.hcxt = CacheMemoryContext;
	kv_tables = hash_create("partkv tables", 64, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(KvPartitionOwner);
	kv_partition_owner = hash_create("partkv partitions", 256, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(KvInvalidateRelation, (Datum) 0);
}

/* KvCheckTableName applies DynamoDB's TableName rule: 3-255 of [a-zA-Z0-9_.-]. */
static void
KvCheckTableName(const char *name, int len)
{
	bool		ok = (len >= 3 && len <= 255);

	for (int i = 0; ok && i < len; i++)
	{
		char		c = name[i];

		ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
	}
	if (!ok)
		KvShapeError(pnstrdup(name, len), "tableName",
					 "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255");
}

/*
 * KvResolveRelid finds the relation a table name designates: "s.t" when
 * schema s exists, else the name through search_path.
 */
static Oid
KvResolveRelid(const char *name)
{
	const char *dot = strchr(name, '.');

	if (dot != NULL && dot != name && dot - name < NAMEDATALEN)
	{
		char		nspname[NAMEDATALEN];
		Oid			nsp;

		memcpy(nspname, name, dot - name);
		nspname[dot - name] = '\0';
		nsp = get_namespace_oid(nspname, true);
		if (OidIsValid(nsp))
			return strlen(dot + 1) < NAMEDATALEN ? get_relname_relid(dot + 1, nsp) : InvalidOid;
	}
	if (strlen(name) >= NAMEDATALEN)
		return InvalidOid;
	return RelnameGetRelid(name);
}

/* KvProjectionOf reads a ProjectionType (ALL when absent). */
static KvProjectionType
KvProjectionOf(const char *projection)
{
	if (projection != NULL && strcmp(projection, "KEYS_ONLY") == 0)
		return KV_PROJECT_KEYS_ONLY;
	if (projection != NULL && strcmp(projection, "INCLUDE") == 0)
		return KV_PROJECT_INCLUDE;
	return KV_PROJECT_ALL;
}

/*
 * KvKeyAttrOf fills a key attribute from its name and declared type; false
 * when there is no such key (NULL name).  An attribute without a
 * definition gets type KV_TYPE_INVALID.
 */
static bool
KvKeyAttrOf(KvKeyAttr *key, const char *name, const char *type)
{
	memset(key, 0, sizeof(*key));
	if (name == NULL)
		return false;
	strlcpy(key->name, name, sizeof(key->name));
	key->type = type ? KvKeyTypeFromName(type) : KV_TYPE_INVALID;
	return true;
}

/* KvIncludeOf copies a NonKeyAttributes array (column col, text[]) into cxt. */
static char **
KvIncludeOf(MemoryContext cxt, HeapTuple tup, TupleDesc desc, int col, int *ninclude)
{
	bool		isnull;
	Datum		include = SPI_getbinval(tup, desc, col, &isnull);
	Datum	   *elems;
	int			nelems;
	char	  **result;

	*ninclude = 0;
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(include), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, NULL, &nelems);
	result = MemoryContextAllocZero(cxt, sizeof(char *) * Max(nelems, 1));
	for (int e = 0; e < nelems; e++)
		result[e] = MemoryContextStrdup(cxt, TextDatumGetCString(elems[e]));
	*ninclude = nelems;
	return result;
}

/*
 * KvLoadIndexes reads the secondary indexes a kv table declares (inside
 * KvLoadCatalogRow's SPI connection): for each LSI and GSI its name, key
 * attributes with their declared types, and projection.  They are kept in
 * entry->row_cxt, so reading an index costs no catalog query per call.
 */
static void
KvLoadIndexes(KvTable *entry, Datum *args)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	MemoryContext cxt = entry->row_cxt;
	uint64		n;

	if (SPI_execute_with_args("SELECT x.kind, x.name, x.attr0, "
							  "       (SELECT d->>'AttributeType' "
							  "          FROM pg_catalog.jsonb_array_elements(t.attribute_definitions) d "
							  "         WHERE d->>'AttributeName' = x.attr0 LIMIT 1), "
							  "       x.attr1, "
							  "       (SELECT d->>'AttributeType' "
							  "          FROM pg_catalog.jsonb_array_elements(t.attribute_definitions) d "
							  "         WHERE d->>'AttributeName' = x.attr1 LIMIT 1), "
							  "       x.projection, x.include "
							  "  FROM partkv.tables t, LATERAL ("
							  "    SELECT k.kind, o AS ord, i->>'IndexName' AS name, "
							  "           i->'KeySchema'->0->>'AttributeName' AS attr0, "
							  "           i->'KeySchema'->1->>'AttributeName' AS attr1, "
							  "           i->'Projection'->>'ProjectionType' AS projection, "
							  "           ARRAY(SELECT pg_catalog.jsonb_array_elements_text("
							  "                   CASE WHEN pg_catalog.jsonb_typeof(i->'Projection'->'NonKeyAttributes') = 'array' "
							  "                        THEN i->'Projection'->'NonKeyAttributes' ELSE '[]' END)) AS include "
							  "      FROM (VALUES ('L'::text, t.local_indexes), ('G', t.global_indexes)) k(kind, indexes), "
							  "           pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(k.indexes) = 'array' "
							  "                                                THEN k.indexes ELSE '[]' END) WITH ORDINALITY AS l(i, o)) x "
							  " WHERE t.schema_name = $1 AND t.table_name = $2 "
							  " ORDER BY x.kind DESC, x.ord",
							  2, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the indexes of a partkv table");
	n = SPI_processed;
	if (n == 0)
		return;

	entry->local = MemoryContextAllocZero(cxt, sizeof(KvLocalIndex) * KV_MAX_LOCAL_INDEXES);
	entry->global = MemoryContextAllocZero(cxt, sizeof(KvGlobalIndex) * n);
	entry->global_names = MemoryContextAllocZero(cxt, sizeof(char *) * n);
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *kind = SPI_getvalue(tup, desc, 1);
		char	   *name = SPI_getvalue(tup, desc, 2);
		char	   *lsikey = SPI_getvalue(tup, desc, 5);
		KvProjectionType projection = KvProjectionOf(SPI_getvalue(tup, desc, 7));

		name = MemoryContextStrdup(cxt, name ? name : "");

		if (kind[0] == 'G')
		{
			KvGlobalIndex *gsi = &entry->global[entry->nglobal];

			gsi->name = name;
			(void) KvKeyAttrOf(&gsi->pk, SPI_getvalue(tup, desc, 3), SPI_getvalue(tup, desc, 4));
			gsi->has_sk = KvKeyAttrOf(&gsi->sk, SPI_getvalue(tup, desc, 5),
									  SPI_getvalue(tup, desc, 6));
			gsi->projection = projection;
			if (projection == KV_PROJECT_INCLUDE)
				gsi->include = KvIncludeOf(cxt, tup, desc, 8, &gsi->ninclude);
			entry->global_names[entry->nglobal++] = name;
		}
		else if (entry->nlocal < KV_MAX_LOCAL_INDEXES)
		{
			KvLocalIndex *lsi = &entry->local[entry->nlocal++];

			lsi->name = name;
			(void) KvKeyAttrOf(&lsi->key, lsikey ? lsikey : "",
							   SPI_getvalue(tup, desc, 6));
			lsi->projection = projection;
			lsi->include = KvIncludeOf(cxt, tup, desc, 8, &lsi->ninclude);
		}
	}
}

/* KvForgetRow frees what a cache entry holds of its catalog row. */
static void
KvForgetRow(KvTable *entry)
{
	/*
	 * The table AM's write path may reload a row while an item function
	 * still reads the old one: that goes at the end of the transaction.
	 */
	if (entry->row_cxt != NULL && IsTransactionState())
		MemoryContextSetParent(entry->row_cxt, TopTransactionContext);
	else if (entry->row_cxt != NULL)
		MemoryContextDelete(entry->row_cxt);
	entry->row_cxt = NULL;
	entry->row_valid = false;
	entry->ttl_attribute = NULL;
	entry->nlocal = 0;
	entry->local = NULL;
	entry->nglobal = 0;
	entry->global = NULL;
	entry->global_names = NULL;
}

/*
 * KvLoadCatalogRow reads the catalog row of a kv table from partkv.tables:
 * key schema, TTL attribute and declared indexes; false when the relation
 * is not a kv table.  The one reader of partkv.tables rows in C.
 */
static bool
KvLoadCatalogRow(KvTable *entry, Oid relid)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		args[2];
	bool		found = false;
	bool		pushed = false;
	char	   *relname = get_rel_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	KvSqlScope	scope;

	KvForgetRow(entry);
	if (relname == NULL || nspname == NULL)
		return false;

	args[0] = DirectFunctionCall1(namein, CStringGetDatum(nspname));	/* name is fixed-size */
	args[1] = CStringGetTextDatum(relname);

	SPI_connect();
	/* the table AM's write path and event triggers may have none */
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	KvSqlBegin(&scope, InvalidOid);
	if (SPI_execute_with_args("SELECT partition_key, partition_key_type, sort_key, sort_key_type, "
							  "       CASE WHEN time_to_live @> '{\"Enabled\": true}' "
							  "            THEN time_to_live->>'AttributeName' END "
							  "FROM partkv.tables WHERE schema_name = $1 AND table_name = $2",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read partkv.tables");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *sk = SPI_getvalue(tup, desc, 3);
		char	   *ttl = SPI_getvalue(tup, desc, 5);

		found = true;
		strlcpy(entry->schema_name, nspname, NAMEDATALEN);
		strlcpy(entry->table_name, relname, NAMEDATALEN);
		strlcpy(entry->key.keys[0].name, SPI_getvalue(tup, desc, 1), NAMEDATALEN);
		entry->key.keys[0].type = KvKeyTypeFromName(SPI_getvalue(tup, desc, 2));
		entry->key.nkeys = 1;
		if (sk != NULL)
		{
			strlcpy(entry->key.keys[1].name, sk, NAMEDATALEN);
			entry->key.keys[1].type = KvKeyTypeFromName(SPI_getvalue(tup, desc, 4));
			entry->key.nkeys = 2;
		}
		entry->row_cxt = AllocSetContextCreate(CacheMemoryContext, "partkv table row",
											   ALLOCSET_SMALL_SIZES);
		if (ttl != NULL)
			entry->ttl_attribute = MemoryContextStrdup(entry->row_cxt, ttl);
		KvLoadIndexes(entry, args);
	}
	KvSqlEnd(&scope);
	if (pushed)
		PopActiveSnapshot();
	SPI_finish();
	return found;
}

/*
 * KvKeyColumnsMismatch says why a relation's columns are not the key
 * columns and item column of the catalog row's key schema (NULL when they
 * are).  Column names are attribute names clipped as PostgreSQL clips
 * identifiers.
 */
static const char *
KvKeyColumnsMismatch(const KvTable *entry, TupleDesc desc, KvRowLayout *layout)
{
	if (!KvRowLayoutOf(desc, layout) || layout->schema.nkeys != entry->key.nkeys)
		return "its columns are not the key columns and item column of its key schema";
	for (int k = 0; k < entry->key.nkeys; k++)
	{
		const char *name = entry->key.keys[k].name;
		int			len = pg_mbcliplen(name, strlen(name), NAMEDATALEN - 1);

		if (layout->schema.keys[k].type != entry->key.keys[k].type ||
			strlen(layout->schema.keys[k].name) != len ||
			strncmp(layout->schema.keys[k].name, name, len) != 0)
			return "its key columns are not those of its key schema";
	}
	return NULL;
}

/*
 * KvRelationMismatch says why a relation is not the kv table its catalog
 * row describes (NULL when it is): hash partitioned on its partition key
 * column, with the key and item columns of the row's key schema.  A forged
 * or stale row then reads as a missing table instead of leading partkv to
 * a relation it cannot use.
 */
static const char *
KvRelationMismatch(const KvTable *entry, Relation parent)
{
	PartitionKey partkey;
	KvRowLayout layout;
	const char *why;

	if (parent->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return "it is not a partitioned table";
	if ((why = KvKeyColumnsMismatch(entry, RelationGetDescr(parent), &layout)) != NULL)
		return why;
	partkey = RelationGetPartitionKey(parent);
	if (partkey->strategy != PARTITION_STRATEGY_HASH || partkey->partnatts != 1 ||
		partkey->partattrs[0] != layout.key_attno[0])
		return "it is not hash partitioned on its partition key";
	return NULL;
}

/*
 * KvPartitionMismatch says why a partition cannot hold items of the kv
 * table (NULL when it can): it must be stored by partkv's access method
 * and have a primary key on the key columns, in order.
 */
static const char *
KvPartitionMismatch(const KvTable *entry, Relation part, Oid pkindex)
{
	KvRowLayout layout;
	HeapTuple	tuple;
	bool		ok;

	if (!KvIsPartkvRelation(part))
		return "a partition of it is not stored by the partkv access method";
	if (!OidIsValid(pkindex) || KvKeyColumnsMismatch(entry, RelationGetDescr(part), &layout) != NULL)
		return "a partition of it has no primary key on its key columns";
	tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(pkindex));
	if (!HeapTupleIsValid(tuple))
		return "a partition of it has no primary key on its key columns";
	{
		Form_pg_index index = (Form_pg_index) GETSTRUCT(tuple);

		ok = (index->indnkeyatts == entry->key.nkeys);
		for (int k = 0; ok && k < entry->key.nkeys; k++)
			ok = (index->indkey.values[k] == layout.key_attno[k]);
	}
	ReleaseSysCache(tuple);
	return ok ? NULL : "a partition of it has no primary key on its key columns";
}

/*
 * KvLoadPartitions fills the routing array from the partition descriptor:
 * with hash partitioning, PostgreSQL maps (row hash mod greatest modulus)
 * to a partition, which is exactly what routing an item needs.  Returns
 * why a partition cannot serve the table (NULL when all can).
 */
static const char *
KvLoadPartitions(KvTable *entry, Relation parent)
{
	PartitionDesc partdesc = RelationGetPartitionDesc(parent, false);
	PartitionBoundInfo bounds = partdesc->boundinfo;
	KvPartition *parts;
	Oid		   *pkindexes;
	Oid		   *lsiindexes;
	KvKeyAttr	lsikeys[KV_MAX_LOCAL_INDEXES];
	const char *why = NULL;

	if (entry->by_remainder != NULL)
		pfree(entry->by_remainder);
	entry->by_remainder = NULL;
	entry->npartitions = partdesc->nparts;
	entry->greatest_modulus = (bounds != NULL) ? bounds->nindexes : 0;
	if (entry->greatest_modulus == 0)
		return NULL;

	pkindexes = palloc(sizeof(Oid) * partdesc->nparts);
	lsiindexes = palloc0(sizeof(Oid) * KV_MAX_LOCAL_INDEXES * partdesc->nparts);
	for (int j = 0; j < entry->nlocal; j++)
		lsikeys[j] = entry->local[j].key;
	for (int i = 0; i < partdesc->nparts; i++)
	{
		Relation	part = table_open(partdesc->oids[i], AccessShareLock);
		KvPartitionOwner *owner;

		pkindexes[i] = RelationGetPrimaryKeyIndex(part);
		if (why == NULL)
			why = KvPartitionMismatch(entry, part, pkindexes[i]);
		if (entry->nlocal > 0 && why == NULL)
			KvLsiMapPartition(part, lsikeys, entry->nlocal,
							  &lsiindexes[i * KV_MAX_LOCAL_INDEXES]);
		table_close(part, NoLock);
		owner = hash_search(kv_partition_owner, &partdesc->oids[i], HASH_ENTER, NULL);
		owner->parent = entry->relid;
	}

	parts = MemoryContextAllocZero(CacheMemoryContext,
								   sizeof(KvPartition) * entry->greatest_modulus);
	for (int r = 0; r < entry->greatest_modulus; r++)
	{
		int			idx = bounds->indexes[r];

		if (idx >= 0)
		{
			parts[r].relid = partdesc->oids[idx];
			parts[r].pkindex = pkindexes[idx];
			memcpy(parts[r].lsiindex, &lsiindexes[idx * KV_MAX_LOCAL_INDEXES],
				   sizeof(parts[r].lsiindex));
		}
	}
	pfree(pkindexes);
	pfree(lsiindexes);
	entry->by_remainder = parts;
	return why;
}

/* KvCheckAccess enforces the caller's privileges and refuses row-level security. */
static void
KvCheckAccess(KvTable *entry, AclMode required)
{
	AclResult	aclresult;

	/* pg_class_aclcheck accepts any of several bits: check each one */
	for (AclMode bit = ACL_INSERT; bit <= ACL_TRUNCATE; bit <<= 1)
	{
		if ((required & bit) == 0)
			continue;
		aclresult = pg_class_aclcheck(entry->relid, GetUserId(), bit);
		if (aclresult != ACLCHECK_OK)
			aclcheck_error(aclresult, OBJECT_TABLE, entry->table_name);
	}
	if (check_enable_rls(entry->relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("row-level security is not supported on partkv table \"%s\"",
						entry->table_name),
				 errdetail("partkv item functions cannot apply row-level security policies."),
				 errhint("Disable row-level security on the table, or query it with SQL.")));
}

/* KvForgetTable drops a cache entry and what it holds. */
static void
KvForgetTable(KvTable *entry)
{
	Oid			relid = entry->relid;

	if (entry->by_remainder != NULL)
		pfree(entry->by_remainder);
	KvForgetRow(entry);
	hash_search(kv_tables, &relid, HASH_REMOVE, NULL);
}

/*
 * KvTableEntry returns the cache entry of relid with its catalog row
 * loaded (when stale); NULL, and no entry, when partkv.tables has no row
 * for it.
 */
static KvTable *
KvTableEntry(Oid relid)
{
	KvTable    *entry;
	bool		found;

	KvInitCache();
	entry = hash_search(kv_tables, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->by_remainder = NULL;
		entry->row_cxt = NULL;
		entry->valid = false;
		KvForgetRow(entry);
	}
	if (entry->row_valid)
		return entry;
	entry->valid = false;
	if (!KvLoadCatalogRow(entry, relid))
	{
		KvForgetTable(entry);
		return NULL;
	}
	for (int k = 0; k < entry->key.nkeys; k++)
		entry->key_typid[k] = KvKeyTypeOid(entry->key.keys[k].type);
	entry->row_valid = true;
	return entry;
}

/*
 * KvTableOf returns the cache entry of the kv table relid (locked by the
 * caller), loading it when stale; NULL when relid is not a kv table, with
 * *why saying how the relation differs from its catalog row (NULL: there
 * is no catalog row).
 */
static KvTable *
KvTableOf(Oid relid, const char **why)
{
	KvTable    *entry;
	Relation	parent;

	*why = NULL;
	entry = KvTableEntry(relid);
	if (entry == NULL || entry->valid)
		return entry;

	parent = table_open(relid, AccessShareLock);
	*why = KvRelationMismatch(entry, parent);
	if (*why == NULL)
		*why = KvLoadPartitions(entry, parent);
	table_close(parent, NoLock);
	if (*why != NULL)
	{
		KvForgetTable(entry);
		return NULL;
	}
	entry->valid = true;
	return entry;
}

const KvTable *
KvTableDeclaration(Oid relid)
{
	return KvTableEntry(relid);
}

/*
 * KvDeclaredIndexKeys is the table AM's kv_declared_index_keys_hook: the
 * index keys the kv table of partition part declares, from its cached
 * catalog row.  None during binary upgrade, or while partkv's catalog is
 * absent (pg_restore).
 */
static int
KvDeclaredIndexKeys(Relation part, KvDeclaredIndexKey **keys)
{
	Oid			nsp;
	Oid			parent;
	const KvTable *table;
	KvDeclaredIndexKey *k;
	KvPartitionOwner *owner;
	int			n = 0;

	*keys = NULL;
	if (IsBinaryUpgrade)
		return 0;
	nsp = get_namespace_oid("partkv", true);
	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("tables", nsp)))
		return 0;
	parent = part->rd_rel->relispartition ?
		llast_oid(get_partition_ancestors(RelationGetRelid(part))) : RelationGetRelid(part);
	table = KvTableEntry(parent);
	if (table == NULL)
		return 0;
	/* an invalidation of the partition must reach the row too */
	if (parent != RelationGetRelid(part))
	{
		owner = hash_search(kv_partition_owner, &part->rd_id, HASH_ENTER, NULL);
		owner->parent = parent;
	}

	k = palloc0(sizeof(KvDeclaredIndexKey) * Max(table->nlocal + 2 * table->nglobal, 1));
	for (int i = 0; i < table->nlocal; i++, n++)
	{
		k[n].attr = table->local[i].key;
		k[n].index_name = pstrdup(table->local[i].name);
	}
	for (int i = 0; i < table->nglobal; i++)
	{
		const KvGlobalIndex *gsi = &table->global[i];

		for (int c = 0; c < (gsi->has_sk ? 2 : 1); c++)
		{
			k[n].attr = c == 0 ? gsi->pk : gsi->sk;
			if (k[n].attr.type == KV_TYPE_INVALID)
				continue;
			k[n].gsi = true;
			k[n].hash = (c == 0);
			k[n].index_name = pstrdup(gsi->name);
			n++;
		}
	}
	*keys = k;
	return n;
}

void
KvTableCacheInit(void)
{
	kv_declared_index_keys_hook = KvDeclaredIndexKeys;
}

/* KvLockRelid locks relid in lockmode; false when it was dropped meanwhile. */
static bool
KvLockRelid(Oid relid, LOCKMODE lockmode)
{
	/* locking processes invalidations: a concurrent DROP shows up here */
	LockRelationOid(relid, lockmode);
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return true;
	UnlockRelationOid(relid, lockmode);
	return false;
}

KvTable *
KvLookupTable(text *name, AclMode required, LOCKMODE lockmode)
{
	char	   *cname = text_to_cstring(name);
	Oid			relid;
	KvTable    *entry = NULL;
	const char *why = NULL;

	KvCheckTableName(cname, strlen(cname));

	relid = KvResolveRelid(cname);
	if (OidIsValid(relid) && KvLockRelid(relid, lockmode))
		entry = KvTableOf(relid, &why);
	if (entry == NULL)
		ereport(ERROR,
				(errcode(KV_ERRCODE_TABLE_NOT_FOUND),
				 errmsg("Requested resource not found"),
				 errdetail("Table: %s not found", cname),
				 why ? errhint("The row of partkv.tables for \"%s.%s\" does not describe that relation: %s.",
							   get_namespace_name(get_rel_namespace(relid)),
							   get_rel_name(relid), why) : 0));

	KvCheckAccess(entry, required);
	pfree(cname);
	return entry;
}

/* KvRoutePartition hashes the partition key as PostgreSQL's hash partitioning does. */
const KvPartition *
KvRoutePartition(const KvTable *table, Datum pk)
{
	uint64		rowhash;
	const KvPartition *part;

	if (table->greatest_modulus == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partkv table \"%s\" has no partitions", table->table_name)));
	rowhash = hash_combine64(0, KvHashKeyDatum(pk, table->key_typid[0],
											   HASH_PARTITION_SEED));
	part = &table->by_remainder[rowhash % table->greatest_modulus];
	if (!OidIsValid(part->relid))
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("no partition of partkv table \"%s\" holds this partition key",
						table->table_name)));
	return part;
}

/*
 * partkv_table_relation returns the kv table a catalog row names (schema,
 * table), or NULL when no relation has that name or it is not the kv
 * table the row describes.  The SQL functions that resolve names through
 * partkv.tables check their rows with it, as KvLookupTable does.
 */
Datum
partkv_table_relation(PG_FUNCTION_ARGS)
{
	Name		schema_name = PG_GETARG_NAME(0);
	char	   *table_name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	Oid			nsp = get_namespace_oid(NameStr(*schema_name), true);
	Oid			relid = InvalidOid;
	const char *why;

	if (OidIsValid(nsp) && strlen(table_name) < NAMEDATALEN)
		relid = get_relname_relid(table_name, nsp);
	if (!OidIsValid(relid) || !KvLockRelid(relid, AccessShareLock) ||
		KvTableOf(relid, &why) == NULL)
		PG_RETURN_NULL();
	PG_RETURN_OID(relid);
}

/* partkv_invalidate_table_cache tells every backend to reload a kv table's metadata. */
Datum
partkv_invalidate_table_cache(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);

	CacheInvalidateRelcacheByRelid(relid);
	PG_RETURN_VOID();
}
