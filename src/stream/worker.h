/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The change stream's background workers: a launcher that keeps one
 *	  worker per database having the extension, and the worker that
 *	  materialises the stream of its database from its logical slot.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_WORKER_H
#define PARTKV_STREAM_WORKER_H

#include "postgres.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

/* settings (partkv.naptime etc.) */
extern int	kv_stream_naptime_ms;
extern int	kv_stream_batch_size;
extern int	kv_stream_retention_s;
extern int	kv_stream_max_workers;
extern int	kv_gsi_worker_nice;

/* _PG_init's part: settings, shared memory, launcher, utility hook */
extern void KvStreamInit(void);

/* what a database's worker reports to SQL (partkv.stream_wait and status) */
typedef struct KvStreamWorkerInfo
{
	pid_t		pid;
	XLogRecPtr	reached;		/* WAL decoded and its records committed */
	TimestampTz last_batch;
	int64		records;		/* records materialised since start */
	TimestampTz applied_commit; /* commit time of the last change applied */
	bool		yielding;		/* a GSI worker giving way to the writers */
	TimestampTz caught_up_at;	/* when it last had decoded all flushed WAL */
	TimestampTz last_write;		/* when kv rows were last written (committed) */
} KvStreamWorkerInfo;

/* the worker of the current database; false if none runs */
extern bool KvStreamWorkerOf(Oid dboid, KvStreamWorkerInfo *info);

/* the same about the GSI worker, which the stream worker starts */
extern bool KvGsiWorkerOf(Oid dboid, KvStreamWorkerInfo *info);

/* ask the worker of a database to look for new WAL now */
extern void KvStreamWakeWorker(Oid dboid, bool wrote);

/* the NOTIFY channel of a table's stream (palloc'd) */
extern char *KvStreamChannelName(const char *table_name);

/* where the last WAL record inserted ends (what XLogFlush may be asked for) */
extern XLogRecPtr KvLastRecordEnd(void);

/* name of a database's logical slot and replication origin */
extern void KvStreamSlotName(Oid dboid, char *out);
extern void KvGsiSlotName(Oid dboid, char *out);

#endif							/* PARTKV_STREAM_WORKER_H */
