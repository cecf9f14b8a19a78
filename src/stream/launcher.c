/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  Starting and restarting the per-database workers.
 *
 * The launcher (registered at server start) connects to no database.  It
 * lists the databases in pg_database and starts one stream worker per
 * database: a worker first checks whether its database has the extension,
 * and exits ("absent") when it does not; the launcher then leaves that
 * database alone until CREATE EXTENSION partkv commits there (a transaction
 * callback in utility.c wakes it) or the database is new.  Workers that
 * fail are restarted with back-off; workers are stopped, and kept stopped,
 * while database commands need their database free of connections
 * (utility.c pauses the database).
 *
 * Each stream worker starts and supervises the GSI worker of its database
 * in the same way (KvSuperviseGsiWorker): restarted with back-off when it
 * fails, stopped when the stream worker stops.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "../common/safesql.h"
#include "../common/serving.h"
#include "launcher.h"
#include "slothealth.h"
#include "workerproc.h"
#include "workerstate.h"

/* ----------------------------------------------------------------
 * Launcher
 * ----------------------------------------------------------------
 */

typedef enum KvDbState
{
	KV_DB_CHECK,				/* start a worker to find out */
	KV_DB_RUNNING,
	KV_DB_ABSENT,				/* no extension: wait for CREATE EXTENSION */
	KV_DB_RETRY,				/* failed: start again at retry_at */
	KV_DB_PAUSED				/* kept stopped by a database command */
} KvDbState;

typedef struct KvDbEntry
{
	Oid			dboid;			/* hash key */
	KvDbState	state;
	bool		seen;			/* in the latest pg_database scan */
	int			slot;
	BackgroundWorkerHandle *handle;
	TimestampTz retry_at;
	int			failures;
	char		name[NAMEDATALEN];
} KvDbEntry;

/* KvLauncherScan refreshes the launcher's list of connectable databases. */
static void
KvLauncherScan(HTAB *dbs, MemoryContext cxt)
{
	HASH_SEQ_STATUS status;
	KvDbEntry  *e;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	hash_seq_init(&status, dbs);
	while ((e = hash_seq_search(&status)) != NULL)
		e->seen = false;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		bool		found;

		if (!db->datallowconn || db->datistemplate)
			continue;
#ifdef DATCONNLIMIT_INVALID_DB
		if (db->datconnlimit == DATCONNLIMIT_INVALID_DB)
			continue;
#endif
		e = hash_search(dbs, &db->oid, HASH_ENTER, &found);
		if (!found)
		{
			e->state = KV_DB_CHECK;
			e->slot = -1;
			e->handle = NULL;
			e->failures = 0;
			e->retry_at = 0;
		}
		e->seen = true;
		strlcpy(e->name, NameStr(db->datname), NAMEDATALEN);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	hash_seq_init(&status, dbs);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		if (!e->seen && e->state != KV_DB_RUNNING)
			hash_search(dbs, &e->dboid, HASH_REMOVE, NULL);
	}
}

/*
 * KvServingStarted forgets, once a worker of a database could be started,
 * that it could not be before.
 */
static void
KvServingStarted(Oid dboid, KvServingWorker worker)
{
	KvServingState state = KvServingStateOf(dboid, worker);

	if (state == KV_SERVING_NO_PROCESS || state == KV_SERVING_MAX_WORKERS)
		KvServingSet(dboid, worker, KV_SERVING_NONE, NULL);
}

/*
 * KvLauncherNoRoom records that a database gets no worker because
 * partkv.stream_max_workers workers run -- when every one of them serves a
 * database that has the extension: a worker still finding out whether
 * its database has it leaves soon, and makes room.
 */
static void
KvLauncherNoRoom(Oid dboid)
{
	Oid			dbs[1024];
	int			n = 0;

	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->nslots && n < lengthof(dbs); i++)
		dbs[n++] = kv_shared->slots[i].dboid;
	SpinLockRelease(&kv_shared->mutex);
	for (int i = 0; i < n; i++)
	{
		KvServingState state = KvServingStateOf(dbs[i], KV_SERVING_STREAM_WORKER);

		if (!OidIsValid(dbs[i]) || state == KV_SERVING_NONE || state == KV_SERVING_EXITED)
			return;
	}
	KvServingSet(dboid, KV_SERVING_STREAM_WORKER, KV_SERVING_MAX_WORKERS, NULL);
}

/*
 * KvRegisterDbWorker starts a worker of database dboid in worker slot
 * slotno (function: its entry point; type: its bgw_type, which begins its
 * name), telling this process when it exits.
 */
static bool
KvRegisterDbWorker(const char *function, const char *type, const char *dbname,
				   int slotno, Oid dboid, BackgroundWorkerHandle **handle)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "partkv");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(bgw.bgw_name, BGW_MAXLEN, "%s for database \"%s\"", type, dbname);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "%s", type);
	bgw.bgw_main_arg = Int32GetDatum(slotno);
	bgw.bgw_notify_pid = MyProcPid;
	memcpy(bgw.bgw_extra, &dboid, sizeof(Oid));
	return RegisterDynamicBackgroundWorker(&bgw, handle);
}

/* KvLauncherStart starts the worker of a database in a free slot. */
static void
KvLauncherStart(KvDbEntry *e)
{
	int			slot = -1;

	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->nslots; i++)
	{
		KvWorkerSlot *w = &kv_shared->slots[i];

		if (!OidIsValid(w->dboid))
		{
			slot = i;
			w->dboid = e->dboid;
			w->starting = true;
			w->stop = false;
			w->exit_reason = KV_EXIT_CRASH;
			w->last_write = 0;
			/* a GSI worker of the slot's last database may still be leaving */
			memset(&w->procs[KV_ROLE_STREAM], 0, sizeof(KvWorkerProc));
			break;
		}
	}
	SpinLockRelease(&kv_shared->mutex);
	if (slot < 0)
	{
		/* partkv.stream_max_workers reached: try later */
		KvLauncherNoRoom(e->dboid);
		return;
	}

	if (!KvRegisterDbWorker("partkv_stream_worker_main", "partkv stream worker",
							e->name, slot, e->dboid, &e->handle))
	{
		SpinLockAcquire(&kv_shared->mutex);
		kv_shared->slots[slot].dboid = InvalidOid;
		kv_shared->slots[slot].starting = false;
		SpinLockRelease(&kv_shared->mutex);
		ereport(LOG,
				(errmsg("partkv stream launcher could not start a worker for database \"%s\"",
						e->name),
				 errhint("Raise max_worker_processes.")));
		KvServingSet(e->dboid, KV_SERVING_STREAM_WORKER, KV_SERVING_NO_PROCESS, NULL);
		e->state = KV_DB_RETRY;
		e->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 10000);
		return;
	}
	e->slot = slot;
	e->state = KV_DB_RUNNING;
	KvServingStarted(e->dboid, KV_SERVING_STREAM_WORKER);
}

/* KvLauncherReap notices workers that exited and decides what comes next. */
static void
KvLauncherReap(KvDbEntry *e)
{
	pid_t		pid;
	KvExitReason reason;
	KvWorkerSlot *w = &kv_shared->slots[e->slot];

	if (GetBackgroundWorkerPid(e->handle, &pid) != BGWH_STOPPED)
		return;

	SpinLockAcquire(&kv_shared->mutex);
	reason = w->exit_reason;
	w->dboid = InvalidOid;
	w->starting = false;
	w->procs[KV_ROLE_STREAM].pid = 0;
	w->procs[KV_ROLE_STREAM].latch = NULL;
	SpinLockRelease(&kv_shared->mutex);
	pfree(e->handle);
	e->handle = NULL;
	e->slot = -1;

	if (KvStreamIsPaused(e->dboid))
		e->state = KV_DB_PAUSED;
	else if (reason == KV_EXIT_ABSENT || reason == KV_EXIT_DISABLED)
	{
		e->state = KV_DB_ABSENT;
		e->failures = 0;
		if (reason == KV_EXIT_ABSENT)
			KvServingForget(e->dboid);
	}
	else if (reason == KV_EXIT_STOPPED)
		e->state = KV_DB_CHECK;
	else
	{
		/* back-off: 1 s, 2 s, 4 s ... up to a minute */
		int			delay = 1000 << Min(e->failures, 6);

		e->failures++;
		e->state = KV_DB_RETRY;
		e->retry_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), Min(delay, 60000));
	}
}

/* KvLauncherTakeRequests applies the databases other processes asked about. */
static bool
KvLauncherTakeRequests(HTAB *dbs)
{
	Oid			pending[KV_MAX_PENDING];
	int			npending;
	bool		overflow;
	HASH_SEQ_STATUS status;
	KvDbEntry  *e;
	bool		unknown = false;

	SpinLockAcquire(&kv_shared->mutex);
	npending = kv_shared->npending;
	memcpy(pending, kv_shared->pending, sizeof(Oid) * npending);
	overflow = kv_shared->pending_overflow;
	kv_shared->npending = 0;
	kv_shared->pending_overflow = false;
	SpinLockRelease(&kv_shared->mutex);

	for (int i = 0; i < npending; i++)
	{
		e = hash_search(dbs, &pending[i], HASH_FIND, NULL);
		if (e == NULL)
			unknown = true;		/* a new database: rescan */
		else if (e->state == KV_DB_RUNNING)
			KvStreamWakeWorker(e->dboid, false);
		else if (e->state != KV_DB_PAUSED)
		{
			e->state = KV_DB_CHECK;
			e->failures = 0;
		}
	}
	if (overflow)
	{
		hash_seq_init(&status, dbs);
		while ((e = hash_seq_search(&status)) != NULL)
		{
			if (e->state == KV_DB_ABSENT)
				e->state = KV_DB_CHECK;
		}
	}
	/* rescan pg_database: requests follow CREATE/DROP/RENAME DATABASE too */
	return unknown || overflow || npending > 0;
}

/*
 * partkv_stream_launcher_main keeps one stream worker per database that
 * has the extension.
 */
void
partkv_stream_launcher_main(Datum main_arg)
{
	HASHCTL		hctl;
	HTAB	   *dbs;
	MemoryContext cxt;
	TimestampTz next_scan = 0;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	KvWorkerSecureSession();	/* src/common/safesql.h */
	pgstat_report_appname("partkv stream launcher");

	cxt = AllocSetContextCreate(TopMemoryContext, "partkv stream launcher",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	hctl.keysize = sizeof(Oid);
	hctl.entrysize = sizeof(KvDbEntry);
	hctl.hcxt = cxt;
	dbs = hash_create("partkv stream databases", 64, &hctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	SpinLockAcquire(&kv_shared->mutex);
	kv_shared->launcher_pid = MyProcPid;
	kv_shared->launcher_latch = MyLatch;
	SpinLockRelease(&kv_shared->mutex);

	ereport(LOG, (errmsg("partkv stream launcher started")));

	for (;;)
	{
		HASH_SEQ_STATUS status;
		KvDbEntry  *e;
		TimestampTz now;
		long		timeout = 10000;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		if (KvLauncherTakeRequests(dbs))
			next_scan = 0;
		/* the launcher runs whatever the workers do: it watches their slots */
		KvBacklogCheck();
		now = GetCurrentTimestamp();
		if (now >= next_scan)
		{
			KvLauncherScan(dbs, cxt);
			next_scan = TimestampTzPlusMilliseconds(now, 10000);
		}

		hash_seq_init(&status, dbs);
		while ((e = hash_seq_search(&status)) != NULL)
		{
			if (e->state == KV_DB_RUNNING)
				KvLauncherReap(e);
			if (e->state == KV_DB_RUNNING)
				continue;
			if (!e->seen)
			{
				hash_search(dbs, &e->dboid, HASH_REMOVE, NULL);
				continue;
			}
			if (KvStreamIsPaused(e->dboid))
			{
				e->state = KV_DB_PAUSED;
				continue;
			}
			if (e->state == KV_DB_PAUSED)
				e->state = KV_DB_CHECK;
			if (e->state == KV_DB_RETRY && now < e->retry_at)
			{
				long		secs;
				int			usecs;

				TimestampDifference(now, e->retry_at, &secs, &usecs);
				timeout = Min(timeout, secs * 1000 + usecs / 1000 + 1);
				continue;
			}
			if (e->state == KV_DB_CHECK || e->state == KV_DB_RETRY)
			{
				KvLauncherStart(e);
				if (e->state != KV_DB_RUNNING)
					timeout = Min(timeout, 1000);
			}
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * KvStreamLauncherRegister registers the launcher at server start, unless
 * partkv.stream_max_workers is 0.
 */
void
KvStreamLauncherRegister(void)
{
	BackgroundWorker bgw;

	if (kv_stream_max_workers == 0)
		return;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 5;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "partkv");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "partkv_stream_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "partkv stream launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "partkv stream launcher");
	RegisterBackgroundWorker(&bgw);
}

/* ----------------------------------------------------------------
 * A stream worker's GSI worker
 * ----------------------------------------------------------------
 */

/* the stream worker's GSI worker, restarted with back-off when it fails */
static BackgroundWorkerHandle *kv_gsi_handle = NULL;
static TimestampTz kv_gsi_retry_at = 0;
static TimestampTz kv_gsi_started_at = 0;
static int	kv_gsi_failures = 0;

/*
 * KvSuperviseGsiWorker (stream worker) starts the database's GSI worker,
 * and starts it again, with back-off, when it has exited.
 */
void
KvSuperviseGsiWorker(int slotno)
{
	TimestampTz now = GetCurrentTimestamp();
	pid_t		pid;

	if (kv_gsi_handle != NULL)
	{
		if (GetBackgroundWorkerPid(kv_gsi_handle, &pid) != BGWH_STOPPED)
			return;
		pfree(kv_gsi_handle);
		kv_gsi_handle = NULL;
		/* one that ran a minute failed afresh: 1 s, 2 s, 4 s ... up to a minute */
		if (TimestampDifferenceExceeds(kv_gsi_started_at, now, 60000))
			kv_gsi_failures = 0;
		kv_gsi_retry_at = TimestampTzPlusMilliseconds(now, Min(1000 << Min(kv_gsi_failures, 6), 60000));
		kv_gsi_failures++;
	}
	if (now < kv_gsi_retry_at)
		return;
	/* the one an earlier stream worker started may still be leaving */
	SpinLockAcquire(&kv_shared->mutex);
	pid = kv_my_slot->procs[KV_ROLE_GSI].pid;
	SpinLockRelease(&kv_shared->mutex);
	if (pid != 0)
		return;

	if (!KvRegisterDbWorker("partkv_gsi_worker_main", "partkv GSI worker",
							kv_my_dbname, slotno, kv_my_dboid, &kv_gsi_handle))
	{
		kv_gsi_handle = NULL;
		if (kv_gsi_failures++ == 0)
			ereport(LOG,
					(errmsg("partkv stream worker could not start the GSI worker of database \"%s\"",
							kv_my_dbname),
					 errhint("Raise max_worker_processes.")));
		KvServingSet(kv_my_dboid, KV_SERVING_GSI_WORKER, KV_SERVING_NO_PROCESS, NULL);
		kv_gsi_retry_at = TimestampTzPlusMilliseconds(now, 10000);
		return;
	}
	KvServingStarted(kv_my_dboid, KV_SERVING_GSI_WORKER);
	kv_gsi_started_at = now;
}

/*
 * KvGsiWorkerStop (stream worker) stops its GSI worker; with wait, until it
 * has gone.
 */
void
KvGsiWorkerStop(bool wait)
{
	if (kv_gsi_handle == NULL)
		return;
	TerminateBackgroundWorker(kv_gsi_handle);
	if (!wait)
		return;
	(void) WaitForBackgroundWorkerShutdown(kv_gsi_handle);
	pfree(kv_gsi_handle);
	kv_gsi_handle = NULL;
}
