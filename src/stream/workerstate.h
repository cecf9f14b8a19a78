/*-------------------------------------------------------------------------
 *
 * workerstate.h
 *	  The shared state of partkv's background workers: one slot per
 *	  database with its stream and GSI worker processes, the launcher's
 *	  requests and paused databases, and what SQL may read of them.
 *
 * The workers (worker.c) write this state; SQL functions, slot health and
 * handlers only read it or set latches through the functions below, so
 * they need not call the workers' own code.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_WORKERSTATE_H
#define PARTKV_STREAM_WORKERSTATE_H

#include "postgres.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/spin.h"

#include "../common/serving.h"

/* settings the shared state depends on or that readers of it share */
extern int	kv_stream_naptime_ms;
extern int	kv_stream_max_workers;

/* why a worker exited, as it tells the launcher */
typedef enum KvExitReason
{
	KV_EXIT_CRASH = 0,			/* error or crash: restart with back-off */
	KV_EXIT_ABSENT,				/* the database has no extension */
	KV_EXIT_STOPPED,			/* asked to stop (database command) */
	KV_EXIT_DISABLED			/* cannot run (wal_level) */
} KvExitReason;

/*
 * The two processes of a database: the stream worker (started by the
 * launcher) and the GSI worker it starts and supervises.
 */
typedef enum KvWorkerRole
{
	KV_ROLE_STREAM = 0,
	KV_ROLE_GSI,
	KV_NROLES
} KvWorkerRole;

StaticAssertDecl((int) KV_ROLE_GSI == (int) KV_SERVING_GSI_WORKER,
				 "worker roles are numbered as src/common/serving.h numbers them");

/* one process of a database, in shared memory */
typedef struct KvWorkerProc
{
	pid_t		pid;
	Latch	   *latch;
	XLogRecPtr	reached;		/* WAL decoded, its work committed */
	XLogRecPtr	caught_up;		/* flushed WAL fully decoded up to here */
	TimestampTz caught_up_at;	/* when caught_up was the end of flushed WAL */
	TimestampTz last_batch;
	int64		records;
	TimestampTz applied_commit; /* commit time of the last change applied */
	bool		yielding;		/* a GSI worker giving way to the writers */
} KvWorkerProc;

/* the workers of one database, in shared memory */
typedef struct KvWorkerSlot
{
	Oid			dboid;			/* InvalidOid: slot free */
	bool		starting;		/* registered, process not running yet */
	bool		stop;			/* asked to exit */
	KvExitReason exit_reason;	/* the stream worker's */
	TimestampTz last_write;		/* when a transaction writing kv rows last committed */
	KvWorkerProc procs[KV_NROLES];
} KvWorkerSlot;

#define KV_MAX_PENDING	32
#define KV_MAX_PAUSED	16

typedef struct KvStreamShared
{
	slock_t		mutex;
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	int			npending;		/* databases to (re)check */
	Oid			pending[KV_MAX_PENDING];
	bool		pending_overflow;	/* too many: recheck all */
	int			npaused;		/* databases kept free of workers */
	Oid			paused[KV_MAX_PAUSED];
	int			paused_count[KV_MAX_PAUSED];
	int			nslots;
	KvWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} KvStreamShared;

/* the shared state (NULL until shared memory is attached) */
extern PGDLLIMPORT KvStreamShared *kv_shared;

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

/* _PG_init's part: request and attach the shared state */
extern void KvWorkerStateInit(void);

/* the worker of the current database; false if none runs */
extern bool KvStreamWorkerOf(Oid dboid, KvStreamWorkerInfo *info);

/* the same about the GSI worker, which the stream worker starts */
extern bool KvGsiWorkerOf(Oid dboid, KvStreamWorkerInfo *info);

/* ask the worker of a database to look for new WAL now */
extern void KvStreamWakeWorker(Oid dboid, bool wrote);

/* ask the launcher to look at a database again */
extern void KvStreamRequestCheck(Oid dboid);

/* whether database commands keep a database free of workers (utility.c) */
extern bool KvStreamIsPaused(Oid dboid);

/* name of a database's logical slot and replication origin */
extern void KvStreamSlotName(Oid dboid, char *out);
extern void KvGsiSlotName(Oid dboid, char *out);

#endif							/* PARTKV_STREAM_WORKERSTATE_H */
