/*-------------------------------------------------------------------------
 *
 * gsi.c
 *	  Global secondary indexes: maintenance by the stream worker, backfill,
 *	  and the SQL helpers of partkv's GSI section of the install script.
 *
 * Storage.  A GSI is a partitioned table in the kv table's schema, hashed on
 * the GSI partition key, rows (gsi_pk, [gsi_sk,] base_pk, [base_sk,] item)
 * with item the projected item.  Creating and dropping the storage follows
 * partkv.tables.global_indexes (trigger partkv.gsi_sync); partkv.gsi_indexes
 * holds each GSI's storage name and state (ACTIVE, or CREATING while a
 * backfill runs).
 *
 * Maintenance.  The partkv output plugin hands the stream worker every
 * change of a table that has GSIs (kv_gsi_change_hook, whether or not the
 * table has a stream): its table key and new item (NULL for a delete).
 * KvGsiApplyBatch applies a batch of them in the worker's batch transaction,
 * the one that also records the origin's LSN, so after a crash a change is
 * applied exactly once.  Per GSI, one statement (partkv.gsi_apply_sql):
 * for each table key, the last change of the batch wins; the key's entry is
 * deleted (found through the (base_pk, base_sk) index, so no old image is
 * needed) and the new item inserted when it has every index key attribute
 * of the right type, non-empty: the index is sparse, and an item whose GSI
 * key changes moves.  GSIs are read with the current catalog, so changes
 * decoded for a GSI that was dropped meanwhile are skipped.
 *
 * Backfill.  update_table adding a GSI to a table that has items leaves it
 * CREATING; the worker then, between stream batches, copies the table into
 * it by base key ranges, partition by partition (partkv.gsi_backfill_step,
 * progress recorded in the same transaction).  Stream changes keep being
 * applied to CREATING indexes meanwhile.  A backfill batch replaces the
 * entries of the keys it reads with what its statement's snapshot S shows,
 * and that is correct if S shows every change the stream has already
 * applied to the index: then S's version of an item is at least as new as
 * the index entry, and every later change is applied by the stream after
 * the backfill wrote.  Two waits make sure of it (neither blocks the
 * stream, they are re-checked every loop):
 *  - when a backfill starts, for every transaction then holding a write
 *	  lock on the table's partitions (as CREATE INDEX CONCURRENTLY waits):
 *	  changes decoded before the GSI existed are not routed to it, and their
 *	  transactions may have committed in WAL yet not be visible;
 *  - before each backfill batch, for the transactions whose changes the
 *	  stream applied since the previous batch to become visible to a new
 *	  snapshot (a commit is in WAL before it is visible).
 * Items whose index key has the wrong type are skipped, as DynamoDB does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"
#include "utils/inval.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "common/hashfn.h"

#include "access/xact.h"
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
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "../stream/decoder.h"
#include "../stream/worker.h"
#include "gsi.h"
#include "lsi.h"

PG_FUNCTION_INFO_V1(partkv_gsi_project);
PG_FUNCTION_INFO_V1(partkv_gsi_backlog);

/* one change of a table that has GSIs, as decoded */
typedef struct KvGsiChange
{
	Oid			relid;			/* the kv table */
	char	   *schema_name;
	char	   *table_name;
	Jsonb	   *keys;			/* its table key */
	Jsonb	   *item;			/* new item; NULL: deleted */
	Jsonb	   *olditem;		/* item before the change (see KvGsiChangeInfo) */
	bool		old_known;
	XLogRecPtr	commit_lsn;
} KvGsiChange;

/* the backfill being prepared or run (one at a time) */
typedef struct KvGsiJob
{
	char	   *schema_name;	/* NULL: none */
	char	   *table_name;
	char	   *index_name;
	int			nvxids;			/* writers to wait for before the first batch */
	VirtualTransactionId *vxids;
} KvGsiJob;

static MemoryContext kv_gsi_cxt = NULL;	/* worker lifetime */
static MemoryContext kv_gsi_batch_cxt = NULL;	/* reset per batch */
static KvGsiChange *kv_gsi_changes = NULL;
static int	kv_gsi_nchanges = 0;
static int	kv_gsi_maxchanges = 0;
static TimestampTz kv_gsi_last_commit = 0;

/* transactions applied since the last backfill batch (only while backfilling) */
static bool kv_gsi_backfilling = true;
static TransactionId *kv_gsi_xids = NULL;
static int	kv_gsi_nxids = 0;
static int	kv_gsi_maxxids = 0;
static KvGsiJob kv_gsi_job = {0};

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
 * partkv_gsi_backlog() returns how far the stream worker, which maintains
 * every GSI of the database, is behind: {"WalBytes": flushed WAL not yet
 * applied, "Seconds": 0 when caught up, else the age of the last change
 * applied or since the worker was last caught up, whichever is nearer (an
 * upper bound of the delay of the changes waiting),
 * "LastApplied": commit time of that change}; {"WalBytes": null} when no
 * worker runs.
 */
Datum
partkv_gsi_backlog(PG_FUNCTION_ARGS)
{
	KvStreamWorkerInfo info;
	StringInfoData buf;
	XLogRecPtr	flush = GetFlushRecPtr(NULL);
	int64		bytes;
	double		seconds = 0;

	initStringInfo(&buf);
	if (!KvStreamWorkerOf(MyDatabaseId, &info))
		appendStringInfoString(&buf, "{\"WalBytes\": null, \"Seconds\": null}");
	else
	{
		bytes = (flush > info.reached) ? (int64) (flush - info.reached) : 0;
		if (bytes > 0)
		{
			/*
			 * Waiting changes committed after the last applied one, and
			 * (give or take the WAL writer's delay) after the worker last
			 * had nothing left: the nearer of the two bounds their delay.
			 */
			TimestampTz since = Max(info.applied_commit, info.caught_up_at);

			if (since != 0)
				seconds = Max(0, (double) (GetCurrentTimestamp() - since) / USECS_PER_SEC);
		}
		appendStringInfo(&buf, "{\"WalBytes\": " INT64_FORMAT ", \"Seconds\": %.3f",
						 bytes, seconds);
		if (info.applied_commit != 0)
			appendStringInfo(&buf, ", \"LastApplied\": \"%s\"",
							 timestamptz_to_str(info.applied_commit));
		appendStringInfoChar(&buf, '}');
	}
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
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

/* KvGsiDescribeCatalog reads a GSI's definition and state from the catalog. */
static bool
KvGsiDescribeCatalog(const char *schema_name, const char *table_name,
					 const char *index_name, KvGsiInfo *info)
{
	Oid			argtypes[3] = {NAMEOID, TEXTOID, TEXTOID};
	Datum		args[3];
	bool		found = false;
	bool		pushed = false;

	memset(info, 0, sizeof(*info));
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema_name));
	args[1] = CStringGetTextDatum(table_name);
	args[2] = CStringGetTextDatum(index_name);
	SPI_connect();
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	if (SPI_execute_with_args("SELECT g.status, pg_catalog.to_regclass(pg_catalog.format('%I.%I', g.schema_name, g.storage_name))::oid, "
							  "       i->'KeySchema'->0->>'AttributeName', "
							  "       (SELECT d->>'AttributeType' FROM pg_catalog.jsonb_array_elements(t.attribute_definitions) d "
							  "         WHERE d->>'AttributeName' = i->'KeySchema'->0->>'AttributeName'), "
							  "       i->'KeySchema'->1->>'AttributeName', "
							  "       (SELECT d->>'AttributeType' FROM pg_catalog.jsonb_array_elements(t.attribute_definitions) d "
							  "         WHERE d->>'AttributeName' = i->'KeySchema'->1->>'AttributeName'), "
							  "       i->'Projection'->>'ProjectionType', "
							  "       ARRAY(SELECT pg_catalog.jsonb_array_elements_text(i->'Projection'->'NonKeyAttributes')) "
							  "  FROM partkv.tables t "
							  "  JOIN partkv.gsi_indexes g ON g.schema_name = t.schema_name AND g.table_name = t.table_name, "
							  "       pg_catalog.jsonb_array_elements(t.global_indexes) i "
							  " WHERE t.schema_name = $1 AND t.table_name = $2 AND g.index_name = $3 "
							  "   AND i->>'IndexName' = g.index_name",
							  3, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read partkv.gsi_indexes");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		storage = SPI_getbinval(tup, desc, 2, &isnull);
		char	   *pk = SPI_getvalue(tup, desc, 3);
		char	   *pktype = SPI_getvalue(tup, desc, 4);
		char	   *sk = SPI_getvalue(tup, desc, 5);
		char	   *sktype = SPI_getvalue(tup, desc, 6);
		char	   *projection = SPI_getvalue(tup, desc, 7);

		if (!isnull && pk != NULL && pktype != NULL && (sk == NULL || sktype != NULL))
		{
			found = true;
			info->active = strcmp(SPI_getvalue(tup, desc, 1), "ACTIVE") == 0;
			info->storage = DatumGetObjectId(storage);
			strlcpy(info->pk.name, pk, sizeof(info->pk.name));
			info->pk.type = KvKeyTypeFromName(pktype);
			if (sk != NULL)
			{
				info->has_sk = true;
				strlcpy(info->sk.name, sk, sizeof(info->sk.name));
				info->sk.type = KvKeyTypeFromName(sktype);
			}
			if (projection != NULL && strcmp(projection, "KEYS_ONLY") == 0)
				info->projection = KV_PROJECT_KEYS_ONLY;
			else if (projection != NULL && strcmp(projection, "INCLUDE") == 0)
			{
				Datum		include = SPI_getbinval(tup, desc, 8, &isnull);
				Datum	   *elems;
				int			nelems;

				info->projection = KV_PROJECT_INCLUDE;
				deconstruct_array(DatumGetArrayTypeP(include), TEXTOID, -1, false,
								  TYPALIGN_INT, &elems, NULL, &nelems);
				/* in the caller's context: SPI's goes at SPI_finish */
				info->include = SPI_palloc(sizeof(char *) * Max(nelems, 1));
				for (int e = 0; e < nelems; e++)
				{
					char	   *name = TextDatumGetCString(elems[e]);

					info->include[e] = strcpy(SPI_palloc(strlen(name) + 1), name);
				}
				info->ninclude = nelems;
			}
			else
				info->projection = KV_PROJECT_ALL;
		}
	}
	if (pushed)
		PopActiveSnapshot();
	SPI_finish();
	return found;
}

/* ----------------------------------------------------------------
 * Collecting changes (decoder side, in the worker)
 * ----------------------------------------------------------------
 */

/* KvCopyJsonb copies a jsonb into cxt. */
static Jsonb *
KvCopyJsonb(MemoryContext cxt, Jsonb *j)
{
	Jsonb	   *copy;

	if (j == NULL)
		return NULL;
	copy = MemoryContextAlloc(cxt, VARSIZE(j));
	memcpy(copy, j, VARSIZE(j));
	return copy;
}

/*
 * KvGsiCollectChange keeps one decoded change of a table that has GSIs for
 * the batch being decoded (kv_gsi_change_hook).  Runs under the decoder's
 * historic snapshot: it only copies.
 */
static void
KvGsiCollectChange(const KvGsiChangeInfo *change)
{
	KvGsiChange *c;
	TransactionId xid = change->xid;

	if (kv_gsi_nchanges == kv_gsi_maxchanges)
	{
		int			cap = Max(64, kv_gsi_maxchanges * 2);

		if (kv_gsi_changes == NULL)
			kv_gsi_changes = MemoryContextAlloc(kv_gsi_batch_cxt, sizeof(KvGsiChange) * cap);
		else
			kv_gsi_changes = repalloc(kv_gsi_changes, sizeof(KvGsiChange) * cap);
		kv_gsi_maxchanges = cap;
	}
	c = &kv_gsi_changes[kv_gsi_nchanges++];
	c->relid = change->table_relid;
	/* consecutive changes mostly share their table: share the strings */
	if (kv_gsi_nchanges > 1 && c[-1].relid == c->relid)
	{
		c->schema_name = c[-1].schema_name;
		c->table_name = c[-1].table_name;
	}
	else
	{
		c->schema_name = MemoryContextStrdup(kv_gsi_batch_cxt, change->schema_name);
		c->table_name = MemoryContextStrdup(kv_gsi_batch_cxt, change->table_name);
	}
	c->keys = KvCopyJsonb(kv_gsi_batch_cxt, change->keys);
	c->item = KvCopyJsonb(kv_gsi_batch_cxt, change->newitem);
	c->olditem = KvCopyJsonb(kv_gsi_batch_cxt, change->olditem);
	c->old_known = change->old_known;
	c->commit_lsn = change->commit_lsn;
	kv_gsi_last_commit = Max(kv_gsi_last_commit, change->commit_time);

	/* a backfill must not read before these are visible (file header) */
	if (kv_gsi_backfilling && TransactionIdIsValid(xid) &&
		(kv_gsi_nxids == 0 || kv_gsi_xids[kv_gsi_nxids - 1] != xid))
	{
		if (kv_gsi_nxids == kv_gsi_maxxids)
		{
			int			cap = Max(64, kv_gsi_maxxids * 2);

			if (kv_gsi_xids == NULL)
				kv_gsi_xids = MemoryContextAlloc(kv_gsi_cxt, sizeof(TransactionId) * cap);
			else
				kv_gsi_xids = repalloc(kv_gsi_xids, sizeof(TransactionId) * cap);
			kv_gsi_maxxids = cap;
		}
		kv_gsi_xids[kv_gsi_nxids++] = xid;
	}
}

/* KvGsiWorkerInit sets up the worker's GSI state and hooks the decoder. */
void
KvGsiWorkerInit(void)
{
	kv_gsi_cxt = AllocSetContextCreate(TopMemoryContext, "partkv gsi",
									   ALLOCSET_DEFAULT_SIZES);
	kv_gsi_batch_cxt = AllocSetContextCreate(kv_gsi_cxt, "partkv gsi batch",
											 ALLOCSET_DEFAULT_SIZES);
	kv_gsi_change_hook = KvGsiCollectChange;
}

/* KvGsiBatchReset forgets the changes of the previous batch. */
void
KvGsiBatchReset(void)
{
	if (kv_gsi_batch_cxt == NULL)
		return;
	MemoryContextReset(kv_gsi_batch_cxt);
	kv_gsi_changes = NULL;
	kv_gsi_nchanges = 0;
	kv_gsi_maxchanges = 0;
}

/* KvGsiPendingChanges counts the changes collected for the current batch. */
int
KvGsiPendingChanges(void)
{
	return kv_gsi_nchanges;
}

/* KvGsiLastCommitTime is the latest commit time of a change collected. */
TimestampTz
KvGsiLastCommitTime(void)
{
	return kv_gsi_last_commit;
}

/* ----------------------------------------------------------------
 * Applying a batch
 * ----------------------------------------------------------------
 */

/*
 * KvGsiKeySlot finds the slot of a table key in an open-addressing table
 * of cap (a power of two) slots holding indexes into keys[] (-1: free):
 * its own, or the free one where it goes.
 */
static int
KvGsiKeySlot(const int *slots, int cap, Datum *keys, Jsonb *key)
{
	uint32		h = hash_bytes((const unsigned char *) key, VARSIZE(key));
	int			i = h & (cap - 1);

	while (slots[i] >= 0)
	{
		Jsonb	   *other = DatumGetJsonbP(keys[slots[i]]);

		if (VARSIZE(other) == VARSIZE(key) && memcmp(other, key, VARSIZE(key)) == 0)
			break;
		i = (i + 1) & (cap - 1);
	}
	return i;
}

/*
 * KvGsiApplyTable applies the changes of one kv table (those of changes[]
 * with that relid, in order) to each of its GSIs.
 */
static void
KvGsiApplyTable(const KvGsiChange *first, int from)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		args[2];
	int			cap = kv_gsi_nchanges - from;
	Datum	   *keys = palloc(sizeof(Datum) * cap);
	Datum	   *items = palloc(sizeof(Datum) * cap);
	bool	   *item_nulls = palloc(sizeof(bool) * cap);
	Datum	   *olds = palloc(sizeof(Datum) * cap);
	bool	   *old_nulls = palloc(sizeof(bool) * cap);
	Datum	   *known = palloc(sizeof(Datum) * cap);
	Datum	   *lsns = palloc(sizeof(Datum) * cap);
	int			n = 0;
	int		   *slots;
	int			slotcap;
	uint64		nsql;
	char	  **locate_sql;
	Oid		   *storages;
	char	  **write_sql;
	char	  **index_names;
	Oid			write_types[4] = {JSONBARRAYOID, JSONBARRAYOID, INT8ARRAYOID, INT8ARRAYOID};
	bool		isnull;
	int			dims[1];
	int			lbs[1] = {1};
	Datum		arrays[5];
	Oid			arraytypes[5] = {JSONBARRAYOID, JSONBARRAYOID, JSONBARRAYOID, BOOLARRAYOID,
	PG_LSNARRAYOID};

	args[0] = DirectFunctionCall1(namein, CStringGetDatum(first->schema_name));
	args[1] = CStringGetTextDatum(first->table_name);
	if (SPI_execute_with_args("SELECT partkv.gsi_apply_sql(g.schema_name, g.table_name, g.index_name), "
							  "g.index_name, to_regclass(format('%I.%I', g.schema_name, g.storage_name))::oid "
							  "FROM partkv.gsi_indexes g WHERE g.schema_name = $1 AND g.table_name = $2",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv gsi: could not read the indexes of table \"%s\"", first->table_name);
	nsql = SPI_processed;
	if (nsql == 0)
		return;
	locate_sql = palloc0(sizeof(char *) * nsql);
	storages = palloc0(sizeof(Oid) * nsql);
	write_sql = palloc0(sizeof(char *) * nsql);
	index_names = palloc(sizeof(char *) * nsql);
	for (uint64 i = 0; i < nsql; i++)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		Datum	   *texts;
		int			ntexts;

		index_names[i] = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		if (isnull)
			continue;			/* dropped meanwhile */
		storages[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
													 3, &isnull));
		if (isnull)
			continue;
		deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
						  &texts, NULL, &ntexts);
		if (ntexts != 2)
			elog(ERROR, "partkv gsi: unexpected apply statements for index \"%s\"", index_names[i]);
		locate_sql[i] = TextDatumGetCString(texts[0]);
		write_sql[i] = TextDatumGetCString(texts[1]);
	}

	/*
	 * One row per table key (keys of equal value are equal jsonb bytes, as
	 * the decoder builds them): the first change's old item locates the
	 * entry to replace, the last change's item is the new entry.
	 */
	slotcap = 16;
	while (slotcap < 2 * cap)
		slotcap *= 2;
	slots = palloc(sizeof(int) * slotcap);
	memset(slots, -1, sizeof(int) * slotcap);
	for (int i = from; i < kv_gsi_nchanges; i++)
	{
		const KvGsiChange *c = &kv_gsi_changes[i];
		int			slot;
		int			row;

		if (c->relid != first->relid)
			continue;
		slot = KvGsiKeySlot(slots, slotcap, keys, c->keys);
		row = slots[slot];
		if (row < 0)
		{
			row = slots[slot] = n++;
			keys[row] = JsonbPGetDatum(c->keys);
			olds[row] = c->olditem ? JsonbPGetDatum(c->olditem) : (Datum) 0;
			old_nulls[row] = (c->olditem == NULL);
			known[row] = BoolGetDatum(c->old_known);
			lsns[row] = LSNGetDatum(c->commit_lsn);
		}
		items[row] = c->item ? JsonbPGetDatum(c->item) : (Datum) 0;
		item_nulls[row] = (c->item == NULL);
	}
	dims[0] = n;
	arrays[0] = PointerGetDatum(construct_array(keys, n, JSONBOID, -1, false, TYPALIGN_INT));
	arrays[1] = PointerGetDatum(construct_md_array(items, item_nulls, 1, dims, lbs, JSONBOID,
												   -1, false, TYPALIGN_INT));
	arrays[2] = PointerGetDatum(construct_md_array(olds, old_nulls, 1, dims, lbs, JSONBOID,
												   -1, false, TYPALIGN_INT));
	arrays[3] = PointerGetDatum(construct_array(known, n, BOOLOID, 1, true, TYPALIGN_CHAR));
	arrays[4] = PointerGetDatum(construct_array(lsns, n, LSNOID, sizeof(XLogRecPtr),
												FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));

	for (uint64 i = 0; i < nsql; i++)
	{
		Datum		write_args[4];
		Datum	   *by_key;
		Datum	   *kept;
		int			nby_key;
		int			nkept;
		int64		misplaced = 0;

		if (locate_sql[i] == NULL || !OidIsValid(storages[i]))
			continue;

		/*
		 * Hold the storage until commit, so that a concurrent DeleteTable or
		 * GSI Delete waits for this batch rather than dropping the storage
		 * between the statements; one that committed first leaves nothing to
		 * apply.
		 */
		LockRelationOid(storages[i], RowExclusiveLock);
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(storages[i])))
			continue;
		/* delete entries where the old items place them (gsi_apply_sql) */
		if (SPI_execute_with_args(locate_sql[i], 5, arraytypes, arrays, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "partkv gsi: could not apply changes of table \"%s\"", first->table_name);
		by_key = palloc(sizeof(Datum) * (SPI_processed + 1));
		kept = palloc(sizeof(Datum) * (SPI_processed + 1));
		nby_key = nkept = 0;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			Datum		pos = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull);
			char	   *what = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);

			if (strcmp(what, "kept") == 0)
				kept[nkept++] = pos;
			else
			{
				by_key[nby_key++] = pos;
				if (strcmp(what, "misplaced") == 0)
					misplaced++;
			}
		}
		if (misplaced > 0)
			ereport(LOG,
					(errmsg("partkv gsi: %lld entries of index \"%s\" of table \"%s\" were not where the old images of their items placed them",
							(long long) misplaced, index_names[i], first->table_name),
					 errdetail("They were found by table key and replaced.")));

		/* the rest by table key, then the new entries but those kept */
		write_args[0] = arrays[0];
		write_args[1] = arrays[1];
		write_args[2] = PointerGetDatum(construct_array(by_key, nby_key, INT8OID, 8,
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		write_args[3] = PointerGetDatum(construct_array(kept, nkept, INT8OID, 8,
														FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		if (SPI_execute_with_args(write_sql[i], 4, write_types, write_args, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "partkv gsi: could not apply changes of table \"%s\"", first->table_name);
	}
}

/*
 * KvGsiProbePlans makes the planner join the worker's batches to GSI
 * storage by index probes only, until AtEOXact_GUC(true, the level it
 * returns).  Knowing a batch of thousands of keys, it would otherwise
 * hash or merge them against a scan of the whole storage -- every batch,
 * however large the index.
 */
static int
KvGsiProbePlans(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * KvGsiApplyBatch applies the changes collected while decoding the batch,
 * in the current transaction (the worker's batch transaction, which also
 * records the WAL position reached): table by table, in decoding order.
 */
void
KvGsiApplyBatch(void)
{
	MemoryContext oldcxt;
	Oid		   *done;
	int			ndone = 0;
	int			guc_level;

	if (kv_gsi_nchanges == 0)
		return;
	oldcxt = MemoryContextSwitchTo(kv_gsi_batch_cxt);
	done = palloc(sizeof(Oid) * kv_gsi_nchanges);
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	guc_level = KvGsiProbePlans();
	for (int i = 0; i < kv_gsi_nchanges; i++)
	{
		bool		seen = false;

		for (int j = 0; j < ndone && !seen; j++)
			seen = (done[j] == kv_gsi_changes[i].relid);
		if (seen)
			continue;
		done[ndone++] = kv_gsi_changes[i].relid;
		KvGsiApplyTable(&kv_gsi_changes[i], i);
	}
	AtEOXact_GUC(true, guc_level);
	SPI_finish();
	PopActiveSnapshot();
	MemoryContextSwitchTo(oldcxt);
}

/* ----------------------------------------------------------------
 * Backfill
 * ----------------------------------------------------------------
 */

/* KvGsiForgetJob drops the state of the backfill being prepared. */
static void
KvGsiForgetJob(void)
{
	if (kv_gsi_job.schema_name != NULL)
	{
		pfree(kv_gsi_job.schema_name);
		pfree(kv_gsi_job.table_name);
		pfree(kv_gsi_job.index_name);
		if (kv_gsi_job.vxids != NULL)
			pfree(kv_gsi_job.vxids);
	}
	memset(&kv_gsi_job, 0, sizeof(kv_gsi_job));
}

/*
 * KvGsiStartJob remembers a new backfill and the transactions writing its
 * table right now (holding a lock that conflicts with SHARE on the table or
 * a partition), to be waited for before its first batch.
 */
static void
KvGsiStartJob(const char *schema_name, const char *table_name, const char *index_name)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(kv_gsi_cxt);
	Oid			nsp = get_namespace_oid(schema_name, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(table_name, nsp) : InvalidOid;
	List	   *rels = NIL;
	ListCell   *lc;
	int			cap = 16;

	KvGsiForgetJob();
	kv_gsi_job.schema_name = pstrdup(schema_name);
	kv_gsi_job.table_name = pstrdup(table_name);
	kv_gsi_job.index_name = pstrdup(index_name);
	kv_gsi_job.vxids = palloc(sizeof(VirtualTransactionId) * cap);
	if (OidIsValid(relid))
		rels = lappend_oid(find_inheritance_children(relid, NoLock), relid);
	foreach(lc, rels)
	{
		LOCKTAG		tag;
		VirtualTransactionId *holders;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, lfirst_oid(lc));
		holders = GetLockConflicts(&tag, ShareLock, NULL);
		for (; VirtualTransactionIdIsValid(*holders); holders++)
		{
			if (kv_gsi_job.nvxids == cap)
			{
				cap *= 2;
				kv_gsi_job.vxids = repalloc(kv_gsi_job.vxids, sizeof(VirtualTransactionId) * cap);
			}
			kv_gsi_job.vxids[kv_gsi_job.nvxids++] = *holders;
		}
	}
	MemoryContextSwitchTo(oldcxt);
}

/* KvGsiWritersDone tells whether the writers the job waits for have ended. */
static bool
KvGsiWritersDone(void)
{
	int			kept = 0;

	for (int i = 0; i < kv_gsi_job.nvxids; i++)
	{
		if (!VirtualXactLock(kv_gsi_job.vxids[i], false))
			kv_gsi_job.vxids[kept++] = kv_gsi_job.vxids[i];
	}
	kv_gsi_job.nvxids = kept;
	return kept == 0;
}

/*
 * KvGsiAppliedVisible tells whether every transaction the stream applied
 * to GSIs is visible to a new snapshot; forgets those that are.
 */
static bool
KvGsiAppliedVisible(void)
{
	Snapshot	snap = GetLatestSnapshot();
	int			kept = 0;

	for (int i = 0; i < kv_gsi_nxids; i++)
	{
		if (XidInMVCCSnapshot(kv_gsi_xids[i], snap))
			kv_gsi_xids[kept++] = kv_gsi_xids[i];
	}
	kv_gsi_nxids = kept;
	return kept == 0;
}

/*
 * KvGsiBackfillStep runs one backfill batch of the oldest CREATING GSI, in
 * a transaction of its own, once the waits of the file header are over.
 * True when more backfill work is ready.
 */
bool
KvGsiBackfillStep(void)
{
	bool		more = false;
	int			guc_level;
	bool		found = false;
	char	   *schema_name = NULL;
	char	   *table_name = NULL;
	char	   *index_name = NULL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!OidIsValid(get_extension_oid("partkv", true)))
	{
		/* being dropped: the stream's own checks make the worker exit */
		CommitTransactionCommand();
		return false;
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT schema_name::text, table_name, index_name FROM partkv.gsi_indexes "
					"WHERE status = 'CREATING' ORDER BY created_at, index_name LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "partkv gsi: could not read partkv.gsi_indexes");
	if (SPI_processed == 1)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HeapTuple	tup = SPI_tuptable->vals[0];

		found = true;
		schema_name = SPI_getvalue(tup, desc, 1);
		table_name = SPI_getvalue(tup, desc, 2);
		index_name = SPI_getvalue(tup, desc, 3);
	}

	if (!found)
	{
		/* nothing to backfill: stop recording applied transactions */
		kv_gsi_backfilling = false;
		kv_gsi_nxids = 0;
		KvGsiForgetJob();
	}
	else
	{
		kv_gsi_backfilling = true;
		if (kv_gsi_job.schema_name == NULL ||
			strcmp(kv_gsi_job.schema_name, schema_name) != 0 ||
			strcmp(kv_gsi_job.table_name, table_name) != 0 ||
			strcmp(kv_gsi_job.index_name, index_name) != 0)
			KvGsiStartJob(schema_name, table_name, index_name);

		if (KvGsiWritersDone() && KvGsiAppliedVisible())
		{
			Oid			argtypes[4] = {NAMEOID, TEXTOID, TEXTOID, INT4OID};
			Datum		args[4];
			bool		isnull;

			args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema_name));
			args[1] = CStringGetTextDatum(table_name);
			args[2] = CStringGetTextDatum(index_name);
			args[3] = Int32GetDatum(Max(kv_stream_batch_size, 100));
			guc_level = KvGsiProbePlans();
			if (SPI_execute_with_args("SELECT partkv.gsi_backfill_step($1, $2, $3, $4)",
									  4, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "partkv gsi: backfill of index \"%s\" failed", index_name);
			AtEOXact_GUC(true, guc_level);
			more = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  1, &isnull)) && !isnull;
			if (!more)
			{
				/* done (or gone): the next CREATING index starts afresh */
				KvGsiForgetJob();
				more = true;
			}
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return more;
}
