/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  Per-partition statistics in shared memory (see stats.h), the SQL
 *	  functions behind partkv.partition_stats / partkv.table_stats, and
 *	  partkv.reset_stats().
 *
 * The shared hash table is partitioned like the buffer mapping table: an
 * entry is found under a shared lock of its lock partition (16 of them),
 * created under that partition's exclusive lock, and removed only by
 * reset_stats, which holds every partition exclusively.  Counters are
 * updated under the entry's spinlock, so readers see a consistent row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/tuplestore.h"

#include "../catalog/tablecache.h"
#include "capacity.h"
#include "../common/gucalias.h"
#include "stats.h"

PG_FUNCTION_INFO_V1(partkv_stats_counters);
PG_FUNCTION_INFO_V1(partkv_reset_stats);

#define KV_STATS_LOCKS			16	/* lock partitions; a power of 2 */
#define KV_STATS_TRANCHE		"partkv stats"
#define KV_STATS_COLUMNS		13

/* hash key: relids are only unique within a database */
typedef struct KvStatsKey
{
	Oid			dbid;
	Oid			relid;
} KvStatsKey;

typedef struct KvStatsEntry
{
	KvStatsKey	key;
	Oid			table;			/* the kv table the partition belongs to */
	slock_t		mutex;			/* protects c */
	KvStatsCounters c;
} KvStatsEntry;

typedef struct KvStatsShared
{
	LWLockPadded *locks;		/* KV_STATS_LOCKS lock partitions */
	pg_atomic_uint32 nentries;	/* kept <= partkv.stats_max_partitions */
} KvStatsShared;

bool		kv_track_stats = true;
static int	kv_stats_max_partitions = 8192;

static KvStatsShared *kv_stats = NULL;
static HTAB *kv_stats_htab = NULL;
static bool kv_stats_full_warned = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* ----------------------------------------------------------------
 * Shared memory
 * ----------------------------------------------------------------
 */

/* KvStatsShmemSize is the size of the header and the hash table. */
static Size
KvStatsShmemSize(void)
{
	return add_size(MAXALIGN(sizeof(KvStatsShared)),
					hash_estimate_size(kv_stats_max_partitions, sizeof(KvStatsEntry)));
}

/* KvStatsShmemRequest asks for the shared memory and locks (PG 15's request hook). */
static void
KvStatsShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(KvStatsShmemSize());
	RequestNamedLWLockTranche(KV_STATS_TRANCHE, KV_STATS_LOCKS);
}

/* KvStatsShmemStartup creates or attaches to the shared header and hash table. */
static void
KvStatsShmemStartup(void)
{
	bool		found;
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	kv_stats = ShmemInitStruct("partkv stats", sizeof(KvStatsShared), &found);
	if (!found)
	{
		kv_stats->locks = GetNamedLWLockTranche(KV_STATS_TRANCHE);
		pg_atomic_init_u32(&kv_stats->nentries, 0);
	}
	info.keysize = sizeof(KvStatsKey);
	info.entrysize = sizeof(KvStatsEntry);
	info.num_partitions = KV_STATS_LOCKS;
	kv_stats_htab = ShmemInitHash("partkv stats hash",
								  kv_stats_max_partitions, kv_stats_max_partitions,
								  &info, HASH_ELEM | HASH_BLOBS | HASH_PARTITION);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * KvStatsInit defines partkv.stats_track (old name partkv.track_stats) and
 * partkv.stats_max_partitions and installs the shared memory hooks; called
 * from _PG_init while shared_preload_libraries is processed.
 */
void
KvStatsInit(void)
{
	DefineCustomBoolVariable("partkv.stats_track",
							 "Collects per-partition request, item, byte and capacity unit counts of kv tables.",
							 "Read them in partkv.partition_stats and partkv.table_stats.",
							 &kv_track_stats, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	KvDefineGucAlias("partkv.track_stats", "partkv.stats_track");
	DefineCustomIntVariable("partkv.stats_max_partitions",
							"Maximum number of kv table partitions whose statistics are kept in shared memory.",
							"Partitions beyond it are not counted until partkv.reset_stats() frees entries.",
							&kv_stats_max_partitions, 8192, 16, 1024 * 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = KvStatsShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = KvStatsShmemStartup;
}

/* ----------------------------------------------------------------
 * Reporting
 * ----------------------------------------------------------------
 */

/*
 * KvStatsEnter creates the entry of key, under its partition's exclusive
 * lock (a concurrent creator may have won); NULL when the table is full.
 */
static KvStatsEntry *
KvStatsEnter(const KvStatsKey *key, uint32 hash, Oid table)
{
	KvStatsEntry *e;
	bool		found;

	e = hash_search_with_hash_value(kv_stats_htab, key, hash, HASH_FIND, NULL);
	if (e != NULL)
		return e;
	if (pg_atomic_fetch_add_u32(&kv_stats->nentries, 1) >= (uint32) kv_stats_max_partitions)
	{
		pg_atomic_fetch_sub_u32(&kv_stats->nentries, 1);
		return NULL;
	}
	e = hash_search_with_hash_value(kv_stats_htab, key, hash, HASH_ENTER_NULL, &found);
	if (e == NULL)
	{
		pg_atomic_fetch_sub_u32(&kv_stats->nentries, 1);
		return NULL;
	}
	e->table = table;
	SpinLockInit(&e->mutex);
	memset(&e->c, 0, sizeof(e->c));
	return e;
}

/* KvStatsReport adds delta to a partition's counters (see stats.h). */
void
KvStatsReport(Oid partition, Oid table, const KvStatsCounters *delta)
{
	KvStatsKey	key;
	uint32		hash;
	LWLock	   *lock;
	KvStatsEntry *e;

	if (!kv_track_stats || kv_stats == NULL || !OidIsValid(partition))
		return;
	key.dbid = MyDatabaseId;
	key.relid = partition;
	hash = get_hash_value(kv_stats_htab, &key);
	lock = &kv_stats->locks[hash % KV_STATS_LOCKS].lock;

	LWLockAcquire(lock, LW_SHARED);
	e = hash_search_with_hash_value(kv_stats_htab, &key, hash, HASH_FIND, NULL);
	if (e == NULL)
	{
		LWLockRelease(lock);
		LWLockAcquire(lock, LW_EXCLUSIVE);
		e = KvStatsEnter(&key, hash, table);
		if (e == NULL)
		{
			LWLockRelease(lock);
			if (!kv_stats_full_warned)
				ereport(WARNING,
						(errmsg("partkv statistics are full: partition %u is not counted", partition),
						 errhint("Raise partkv.stats_max_partitions, or call partkv.reset_stats() to free the entries of dropped tables.")));
			kv_stats_full_warned = true;
			return;
		}
	}
	SpinLockAcquire(&e->mutex);
	e->c.reads += delta->reads;
	e->c.items_read += delta->items_read;
	e->c.bytes_read += delta->bytes_read;
	e->c.read_halves += delta->read_halves;
	e->c.writes += delta->writes;
	e->c.items_written += delta->items_written;
	e->c.items_deleted += delta->items_deleted;
	e->c.bytes_written += delta->bytes_written;
	e->c.write_units += delta->write_units;
	e->c.condition_failures += delta->condition_failures;
	e->c.ttl_deletes += delta->ttl_deletes;
	SpinLockRelease(&e->mutex);
	LWLockRelease(lock);
}

/* KvStatsReportRead reports one single-item read (see stats.h). */
void
KvStatsReportRead(Oid partition, Oid table, bool found, int64 bytes, int64 read_halves)
{
	KvStatsCounters d = {0};

	d.reads = 1;
	d.items_read = found ? 1 : 0;
	d.bytes_read = bytes;
	d.read_halves = read_halves;
	KvStatsReport(partition, table, &d);
}

/* KvReadTallyInit starts a Query's or Scan's tally. */
void
KvReadTallyInit(KvReadTally *t, Oid table, bool consistent)
{
	memset(t, 0, sizeof(*t));
	t->measure = kv_track_stats;
	t->consistent = consistent;
	t->table = table;
}

/*
 * KvReadTallyFlush charges the current partition the units its items add
 * to the request's rounded total (the first partition also pays the
 * request's minimum) and reports it.
 */
static void
KvReadTallyFlush(KvReadTally *t)
{
	KvStatsCounters d = {0};
	int64		halves;

	if (!OidIsValid(t->partition))
		return;
	t->total_bytes += t->bytes;
	halves = KvReadHalves(t->total_bytes, t->consistent, false);
	d.reads = 1;
	d.items_read = t->items;
	d.bytes_read = t->stored;
	d.read_halves = halves - t->halves;
	t->halves = halves;
	KvStatsReport(t->partition, t->table, &d);
	t->partition = InvalidOid;
	t->items = 0;
	t->bytes = 0;
	t->stored = 0;
}

/* KvReadTallyPartition moves the tally to another partition. */
void
KvReadTallyPartition(KvReadTally *t, Oid partition)
{
	if (t->partition == partition)
		return;
	KvReadTallyFlush(t);
	t->partition = partition;
}

/* KvReadTallyEnd reports the last partition read. */
void
KvReadTallyEnd(KvReadTally *t)
{
	KvReadTallyFlush(t);
}

/* ----------------------------------------------------------------
 * SQL functions
 * ----------------------------------------------------------------
 */

/* KvStatsCheckLoaded raises an error when the shared table does not exist. */
static void
KvStatsCheckLoaded(void)
{
	if (kv_stats == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partkv statistics are not available"),
				 errdetail("partkv was not loaded through shared_preload_libraries at server start.")));
}

/*
 * partkv_stats_counters returns the counters of every partition of the
 * current database that has some, of the tables the caller may read: relid, table relid, reads, items_read,
 * bytes_read, read_units, writes, items_written, items_deleted,
 * bytes_written, write_units, condition_check_failures, ttl_deletes.
 */
Datum
partkv_stats_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS seq;
	KvStatsEntry *e;
	KvStatsEntry *copies;
	int			ncopies = 0;
	int			capacity = 64;

	KvStatsCheckLoaded();
	InitMaterializedSRF(fcinfo, 0);

	/* copy under the locks; privilege checks read catalogs, so come after */
	copies = palloc(sizeof(KvStatsEntry) * capacity);
	for (int i = 0; i < KV_STATS_LOCKS; i++)
		LWLockAcquire(&kv_stats->locks[i].lock, LW_SHARED);
	hash_seq_init(&seq, kv_stats_htab);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.dbid != MyDatabaseId)
			continue;
		if (ncopies == capacity)
		{
			capacity *= 2;
			copies = repalloc(copies, sizeof(KvStatsEntry) * capacity);
		}
		copies[ncopies].key = e->key;
		copies[ncopies].table = e->table;
		SpinLockAcquire(&e->mutex);
		copies[ncopies].c = e->c;
		SpinLockRelease(&e->mutex);
		ncopies++;
	}
	for (int i = KV_STATS_LOCKS - 1; i >= 0; i--)
		LWLockRelease(&kv_stats->locks[i].lock);

	for (int i = 0; i < ncopies; i++)
	{
		Datum		values[KV_STATS_COLUMNS];
		bool		nulls[KV_STATS_COLUMNS] = {0};
		KvStatsCounters c = copies[i].c;
		int			n = 0;
		bool		dropped = false;

		/* a role sees the counters of the tables it may read */
		if (pg_class_aclcheck_ext(copies[i].table, GetUserId(), ACL_SELECT,
								  &dropped) != ACLCHECK_OK || dropped)
			continue;

		values[n++] = ObjectIdGetDatum(copies[i].key.relid);
		values[n++] = ObjectIdGetDatum(copies[i].table);
		values[n++] = Int64GetDatum(c.reads);
		values[n++] = Int64GetDatum(c.items_read);
		values[n++] = Int64GetDatum(c.bytes_read);
		values[n++] = Float8GetDatum(c.read_halves / 2.0);
		values[n++] = Int64GetDatum(c.writes);
		values[n++] = Int64GetDatum(c.items_written);
		values[n++] = Int64GetDatum(c.items_deleted);
		values[n++] = Int64GetDatum(c.bytes_written);
		values[n++] = Float8GetDatum((double) c.write_units);
		values[n++] = Int64GetDatum(c.condition_failures);
		values[n++] = Int64GetDatum(c.ttl_deletes);
		Assert(n == KV_STATS_COLUMNS);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * partkv_reset_stats forgets statistics: of one kv table (its owner or a
 * superuser), or with a NULL table name of every kv table of the current
 * database, dropped ones included (superuser only).  Returns nothing.
 */
Datum
partkv_reset_stats(PG_FUNCTION_ARGS)
{
	Oid			table = InvalidOid;
	HASH_SEQ_STATUS seq;
	KvStatsEntry *e;

	KvStatsCheckLoaded();
	if (PG_ARGISNULL(0))
	{
		if (!superuser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("must be superuser to reset the statistics of every kv table"),
					 errhint("Name a table you own: partkv.reset_stats('table').")));
	}
	else
	{
		KvTable    *t = KvLookupTable(PG_GETARG_TEXT_PP(0), 0, AccessShareLock);

		if (!pg_class_ownercheck(t->relid, GetUserId()))
			aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, t->table_name);
		table = t->relid;
	}

	for (int i = 0; i < KV_STATS_LOCKS; i++)
		LWLockAcquire(&kv_stats->locks[i].lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, kv_stats_htab);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (e->key.dbid != MyDatabaseId ||
			(OidIsValid(table) && e->table != table))
			continue;
		hash_search(kv_stats_htab, &e->key, HASH_REMOVE, NULL);
		pg_atomic_fetch_sub_u32(&kv_stats->nentries, 1);
	}
	for (int i = KV_STATS_LOCKS - 1; i >= 0; i--)
		LWLockRelease(&kv_stats->locks[i].lock);
	kv_stats_full_warned = false;
	PG_RETURN_VOID();
}
