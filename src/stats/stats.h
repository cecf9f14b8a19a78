/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  Per-partition statistics of kv tables in shared memory: requests,
 *	  items, bytes and capacity units read and written, conditional check
 *	  failures and TTL deletes.  Read by the partkv.partition_stats and
 *	  partkv.table_stats views.
 *
 * Counters live in a fixed-size shared hash table keyed by (database,
 * partition relid), sized by partkv.stats_max_partitions and requested in
 * shmem_request_hook.  Every operation reports once per partition it
 * touched with KvStatsReport: no catalog access, no disk write, a shared
 * lock on one of 16 lock partitions and the entry's spinlock.  Nothing is
 * reported while partkv.track_stats is off.  Counters are not
 * transactional (a write rolled back still counts, as DynamoDB still
 * charges it) and are lost at server restart.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STATS_H
#define PARTKV_STATS_H

#include "postgres.h"

/* partkv.track_stats */
extern bool kv_track_stats;

/* what one operation adds to a partition's counters */
typedef struct KvStatsCounters
{
	int64		reads;			/* read requests (a Scan: one per partition read) */
	int64		items_read;
	int64		bytes_read;		/* stored (jsonb) sizes of the items */
	int64		read_halves;	/* read capacity units, in halves */
	int64		writes;			/* write requests, failed conditional ones included */
	int64		items_written;	/* items created or replaced */
	int64		items_deleted;
	int64		bytes_written;	/* stored (jsonb) sizes of the items written */
	int64		write_units;	/* write capacity units */
	int64		condition_failures; /* conditional check failures */
	int64		ttl_deletes;	/* items deleted by TTL (free of capacity) */
} KvStatsCounters;

/* module setup, from _PG_init: GUCs and the shared memory hooks */
extern void KvStatsInit(void);

/*
 * Add delta to the counters of partition `partition` of kv table `table`
 * (relids in the current database).  Cheap and never fails: when the
 * shared table is full the report is dropped.
 */
extern void KvStatsReport(Oid partition, Oid table, const KvStatsCounters *delta);

/* GetItem and the reads of batches and transactions: one item read (or missed) */
extern void KvStatsReportRead(Oid partition, Oid table, bool found, int64 bytes,
							  int64 read_halves);

/*
 * The reads of a Query or Scan, tallied per partition: the request's units
 * are its total size rounded up once (SPEC §5.7), and each partition is
 * charged the units its items added to that total, so the partitions' units
 * sum to the request's.
 */
typedef struct KvReadTally
{
	bool		measure;		/* item sizes wanted: stats on, or capacity asked */
	bool		consistent;
	Oid			table;
	Oid			partition;		/* the partition being read, or InvalidOid */
	int64		items;			/* read from it */
	int64		bytes;			/* their DynamoDB sizes (for the units) */
	int64		stored;			/* their stored sizes (for the statistics) */
	int64		total_bytes;	/* read by the request in partitions left */
	int64		halves;			/* read units charged to the request, in halves */
} KvReadTally;

/* start a request's tally; measure follows partkv.track_stats */
extern void KvReadTallyInit(KvReadTally *t, Oid table, bool consistent);

/* the request starts reading partition (reports the previous one) */
extern void KvReadTallyPartition(KvReadTally *t, Oid partition);

/* one item read from the current partition: DynamoDB size and stored size */
static inline void
KvReadTallyItem(KvReadTally *t, int64 bytes, int64 stored)
{
	t->items++;
	t->bytes += bytes;
	t->stored += stored;
}

/* the request is done reading (reports the last partition); idempotent */
extern void KvReadTallyEnd(KvReadTally *t);

#endif							/* PARTKV_STATS_H */
