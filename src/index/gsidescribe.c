/*-------------------------------------------------------------------------
 *
 * gsidescribe.c
 *	  A GSI's definition for its readers: KvGsiDescribe (Query and Scan with
 *	  index_name), cached per backend once the index is ACTIVE, and the
 *	  projection helper partkv_internal.gsi_project of the install script.
 *	  Maintenance and backfill, in the GSI worker, are gsi.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"
#include "utils/inval.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "common/hashfn.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/executor.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/fmgroids.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "storage/sinval.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "../common/safesql.h"
#include "../storage/hashops.h"
#include "../storage/indexkeys.h"
#include "gsi.h"
#include "projection.h"



PG_FUNCTION_INFO_V1(partkv_gsi_project);

/* ----------------------------------------------------------------
 * SQL helpers
 * ----------------------------------------------------------------
 */

/*
 * partkv_gsi_project(item jsonb, attributes text[]) returns the item
 * restricted to those top-level attributes: KEYS_ONLY and INCLUDE
 * projections.
 */
Datum
partkv_gsi_project(PG_FUNCTION_ARGS)
{
	Jsonb	   *item = PG_GETARG_JSONB_P(0);
	ArrayType  *attrs = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	char	  **names;
	int			nnames = 0;

	if (!JB_ROOT_IS_OBJECT(item))
		PG_RETURN_JSONB_P(item);
	deconstruct_array(attrs, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	names = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (!nulls[i])
			names[nnames++] = TextDatumGetCString(elems[i]);
	}
	PG_RETURN_JSONB_P(KvProjectAttributes(item, names, nnames));
}

/*
 * KvGsiDescribe reads the definition and state of one GSI (Query/Scan with
 * index_name): false when the table declares no such GSI or its storage is
 * missing.
 */
/*
 * ACTIVE GSIs are cached per backend: their definition no longer changes,
 * and deleting one drops its storage, whose relcache invalidation clears
 * the entry.  Indexes still CREATING are read from the catalog each time.
 */
#define KV_GSI_CACHE_KEY (NAMEDATALEN * 2 + 256)

typedef struct KvGsiCacheEntry
{
	char		key[KV_GSI_CACHE_KEY];	/* schema, table, index, NUL-separated */
	KvGsiInfo	info;
} KvGsiCacheEntry;

static HTAB *kv_gsi_cache = NULL;

/* KvGsiCacheInvalidate drops entries whose storage was invalidated (all for InvalidOid). */
static void
KvGsiCacheInvalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	KvGsiCacheEntry *e;

	if (kv_gsi_cache == NULL)
		return;
	hash_seq_init(&status, kv_gsi_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || e->info.storage == relid)
		{
			for (int i = 0; i < e->info.ninclude; i++)
				pfree(e->info.include[i]);
			if (e->info.include != NULL)
				pfree(e->info.include);
			hash_search(kv_gsi_cache, e->key, HASH_REMOVE, NULL);
		}
}

/* KvGsiCacheKey builds the cache key; false when the names do not fit. */
static bool
KvGsiCacheKey(const char *schema_name, const char *table_name, const char *index_name,
			  char *key)
{
	size_t		a = strlen(schema_name),
				b = strlen(table_name),
				c = strlen(index_name);

	if (a + b + c + 3 > KV_GSI_CACHE_KEY)
		return false;
	memset(key, 0, KV_GSI_CACHE_KEY);
	memcpy(key, schema_name, a);
	memcpy(key + a + 1, table_name, b);
	memcpy(key + a + b + 2, index_name, c);
	return true;
}

static bool KvGsiDescribeCatalog(const char *schema_name, const char *table_name,
								 const char *index_name, KvGsiInfo *info);

bool
KvGsiDescribe(const char *schema_name, const char *table_name,
			  const char *index_name, KvGsiInfo *info)
{
	char		key[KV_GSI_CACHE_KEY];
	KvGsiCacheEntry *e;
	bool		cacheable = KvGsiCacheKey(schema_name, table_name, index_name, key);

	if (kv_gsi_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = KV_GSI_CACHE_KEY;
		ctl.entrysize = sizeof(KvGsiCacheEntry);
		ctl.hcxt = CacheMemoryContext;
		kv_gsi_cache = hash_create("partkv GSIs", 32, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(KvGsiCacheInvalidate, (Datum) 0);
	}
	if (cacheable && (e = hash_search(kv_gsi_cache, key, HASH_FIND, NULL)) != NULL)
	{
		*info = e->info;
		return true;
	}
	if (!KvGsiDescribeCatalog(schema_name, table_name, index_name, info))
		return false;
	if (cacheable && info->active)
	{
		e = hash_search(kv_gsi_cache, key, HASH_ENTER, NULL);
		e->info = *info;
		if (info->ninclude > 0)
		{
			e->info.include = MemoryContextAlloc(CacheMemoryContext, sizeof(char *) * info->ninclude);
			for (int i = 0; i < info->ninclude; i++)
				e->info.include[i] = MemoryContextStrdup(CacheMemoryContext, info->include[i]);
		}
	}
	return true;
}

/*
 * KvGsiDeclaration finds GSI index_name among those kv table
 * schema_name.table_name declares (its cached catalog row); false when
 * there is no such GSI or its keys have no declared types.
 */
static bool
KvGsiDeclaration(const char *schema_name, const char *table_name,
				 const char *index_name, KvGsiInfo *info)
{
	Oid			nsp = get_namespace_oid(schema_name, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(table_name, nsp) : InvalidOid;
	const KvTable *table = OidIsValid(relid) ? KvTableDeclaration(relid) : NULL;

	for (int i = 0; table != NULL && i < table->nglobal; i++)
	{
		const KvGlobalIndex *gsi = &table->global[i];

		if (strcmp(gsi->name, index_name) != 0)
			continue;
		if (gsi->pk.type == KV_TYPE_INVALID ||
			(gsi->has_sk && gsi->sk.type == KV_TYPE_INVALID))
			return false;
		info->pk = gsi->pk;
		info->has_sk = gsi->has_sk;
		info->sk = gsi->sk;
		info->projection = gsi->projection;
		/* in the caller's context: the table cache may reload */
		info->ninclude = gsi->ninclude;
		info->include = NULL;	/* KvGsiCacheInvalidate frees a cached one */
		if (gsi->ninclude > 0)
			info->include = palloc(sizeof(char *) * gsi->ninclude);
		for (int e = 0; e < gsi->ninclude; e++)
			info->include[e] = pstrdup(gsi->include[e]);
		return true;
	}
	return false;
}

/*
 * KvGsiDescribeCatalog reads a GSI's definition (the table cache) and
 * state (partkv.gsi_indexes).
 */
static bool
KvGsiDescribeCatalog(const char *schema_name, const char *table_name,
					 const char *index_name, KvGsiInfo *info)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		found = false;
	bool		pushed = false;
	KvSqlScope	scope;

	memset(info, 0, sizeof(*info));
	if (!KvGsiDeclaration(schema_name, table_name, index_name, info))
		return false;
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema_name));
	args[1] = CStringGetTextDatum(table_name);
	args[2] = CStringGetTextDatum(index_name);
	SPI_connect();
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	KvSqlBegin(&scope, InvalidOid);
	/* storage that is not a partitioned table is no GSI's: the index is missing */
	if (SPI_execute_with_args("SELECT g.status, (SELECT c.oid FROM pg_catalog.pg_class c "
							  "        WHERE c.oid = pg_catalog.to_regclass(pg_catalog.format('%I.%I', g.schema_name, g.storage_name)) "
							  "          AND c.relkind = 'p') "
							  "  FROM partkv.gsi_indexes g "
							  " WHERE g.schema_name = $1 AND g.table_name = $2 AND g.index_name = $3",
							  3, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read partkv.gsi_indexes");
	KvSqlEnd(&scope);
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		storage = SPI_getbinval(tup, desc, 2, &isnull);

		if (!isnull)
		{
			found = true;
			info->active = strcmp(SPI_getvalue(tup, desc, 1), "ACTIVE") == 0;
			info->storage = DatumGetObjectId(storage);
		}
	}
	if (pushed)
		PopActiveSnapshot();
	SPI_finish();
	return found;
}
