/*-------------------------------------------------------------------------
 *
 * handler_launch.c
 *	  The stream worker's side of stream handlers: one handler worker per
 *	  role with work.
 *
 * The stream worker is a superuser session and never calls a handler
 * itself.  Every loop it lists the roles whose enabled handlers have
 * records after their position (or a dead letter queued for replay),
 * checks that each may still run them (KvHandlerRoleProblem: it exists,
 * is no superuser, may log in and connect) -- disabling the handlers of
 * one that may not, with the reason in last_error -- and wakes that role's
 * handler worker, or starts one (handlers.c), at most
 * partkv.handler_max_workers at a time.  A handler worker that exits before
 * it could have become idle failed (it could not connect, say): it is
 * started again after a back-off of 1 s, 2 s, 4 s ... up to a minute.
 * When the stream worker exits, so do its handler workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "handlers.h"

StaticAssertDecl(sizeof(KvHandlerWorkerArgs) <= BGW_EXTRALEN,
				 "handler worker arguments must fit in bgw_extra");

/* one role's handler worker, as the stream worker tracks it */
typedef struct KvRoleWorker
{
	Oid			roleid;			/* hash key */
	BackgroundWorkerHandle *handle; /* NULL: not running */
	TimestampTz started_at;
	TimestampTz retry_at;		/* not started again before */
	int			failures;		/* exits in a row before becoming idle */
} KvRoleWorker;

/* a role with work, as listed */
typedef struct KvRoleWork
{
	Oid			roleid;
	char	   *role_name;
} KvRoleWork;

static HTAB *kv_role_workers = NULL;
static int	kv_role_workers_running = 0;
static MemoryContext kv_supervise_cxt = NULL;	/* reset every call */

/*
 * The roles whose handlers have work: records after an enabled handler's
 * position once it is due, or a dead letter queued for replay.
 */
#define KV_ROLES_WITH_WORK \
	"SELECT DISTINCT h.role_name::text FROM partkv.stream_handlers h" \
	" WHERE (h.enabled AND h.next_attempt_at <= pg_catalog.now()" \
	"        AND EXISTS (SELECT 1 FROM partkv_internal.stream_chunks c" \
	"                     WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s" \
	"                                            WHERE s.table_id = h.table_id)" \
	"                       AND c.batch_lsn >= partkv_internal.sequence_number_lsn(h.position)" \
	"                       AND c.last_sequence_number > h.position))" \
	"    OR EXISTS (SELECT 1 FROM partkv.dead_letters d" \
	"                WHERE d.handler_id = h.handler_id AND d.replay_requested)"

/* KvStopHandlerWorkers stops the handler workers when the stream worker goes. */
static void
KvStopHandlerWorkers(int code, Datum arg)
{
	HASH_SEQ_STATUS status;
	KvRoleWorker *w;

	hash_seq_init(&status, kv_role_workers);
	while ((w = hash_seq_search(&status)) != NULL)
		if (w->handle != NULL)
			TerminateBackgroundWorker(w->handle);
}

/* KvRoleWorkersInit makes the stream worker's table of handler workers. */
static void
KvRoleWorkersInit(void)
{
	HASHCTL		hctl;

	hctl.keysize = sizeof(Oid);
	hctl.entrysize = sizeof(KvRoleWorker);
	hctl.hcxt = TopMemoryContext;
	kv_role_workers = hash_create("partkv handler workers", 16, &hctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	kv_supervise_cxt = AllocSetContextCreate(TopMemoryContext, "partkv handler supervision",
											 ALLOCSET_SMALL_SIZES);
	before_shmem_exit(KvStopHandlerWorkers, (Datum) 0);
}

/*
 * KvReapHandlerWorkers notices handler workers that exited: one that ran
 * less than an idle period failed, and waits before it is started again.
 */
static void
KvReapHandlerWorkers(TimestampTz now)
{
	HASH_SEQ_STATUS status;
	KvRoleWorker *w;
	pid_t		pid;

	hash_seq_init(&status, kv_role_workers);
	while ((w = hash_seq_search(&status)) != NULL)
	{
		if (w->handle == NULL)
		{
			if (now >= w->retry_at)
				hash_search(kv_role_workers, &w->roleid, HASH_REMOVE, NULL);
			continue;
		}
		if (GetBackgroundWorkerPid(w->handle, &pid) != BGWH_STOPPED)
			continue;
		pfree(w->handle);
		w->handle = NULL;
		kv_role_workers_running--;
		if (TimestampDifferenceExceeds(w->started_at, now, KV_HANDLER_WORKER_LINGER_MS))
			w->failures = 0;
		else
		{
			w->retry_at = TimestampTzPlusMilliseconds(now, Min(1000 << Min(w->failures, 6), 60000));
			w->failures++;
		}
	}
}

/*
 * KvRolesWithWork lists, in a transaction of its own, the roles whose
 * handlers have work and may run them (into cxt); the handlers of roles
 * that may not are disabled.
 */
static List *
KvRolesWithWork(MemoryContext cxt)
{
	List	   *roles = NIL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute(KV_ROLES_WITH_WORK, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream handlers: could not list the roles with work");
	else
	{
		SPITupleTable *tuptable = SPI_tuptable;
		uint64		n = SPI_processed;

		for (uint64 i = 0; i < n; i++)
		{
			char	   *name = SPI_getvalue(tuptable->vals[i], tuptable->tupdesc, 1);
			Oid			roleid = get_role_oid(name, true);
			char	   *problem = KvHandlerRoleProblem(roleid, name);

			if (problem != NULL)
				KvDisableHandlers(name, 0, problem);
			else
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
				KvRoleWork *r = palloc(sizeof(KvRoleWork));

				r->roleid = roleid;
				r->role_name = pstrdup(name);
				roles = lappend(roles, r);
				MemoryContextSwitchTo(oldcxt);
			}
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return roles;
}

/* KvStartHandlerWorker starts the handler worker of a role. */
static void
KvStartHandlerWorker(KvRoleWorker *w, const char *role_name, TimestampTz now)
{
	BackgroundWorker bgw;
	KvHandlerWorkerArgs args;
	MemoryContext oldcxt;
	bool		registered;

	memset(&args, 0, sizeof(args));
	args.dboid = MyDatabaseId;
	args.roleid = w->roleid;
	args.stream_worker = MyProcPid;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "partkv");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "partkv_handler_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "partkv stream handler worker for role \"%s\"", role_name);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "partkv stream handler worker");
	bgw.bgw_notify_pid = MyProcPid;
	memcpy(bgw.bgw_extra, &args, sizeof(args));
	oldcxt = MemoryContextSwitchTo(TopMemoryContext);	/* the handle lives on */
	registered = RegisterDynamicBackgroundWorker(&bgw, &w->handle);
	MemoryContextSwitchTo(oldcxt);
	if (!registered)
	{
		w->handle = NULL;
		if (w->failures++ == 0)
			ereport(LOG,
					(errmsg("partkv stream worker could not start the stream handler worker of role \"%s\"",
							role_name),
					 errhint("Raise max_worker_processes.")));
		w->retry_at = TimestampTzPlusMilliseconds(now, 10000);
		return;
	}
	w->started_at = now;
	kv_role_workers_running++;
}

/* KvSuperviseStreamHandlers: see handlers.h. */
void
KvSuperviseStreamHandlers(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	TimestampTz now = GetCurrentTimestamp();
	List	   *roles;
	ListCell   *lc;

	if (kv_role_workers == NULL)
		KvRoleWorkersInit();
	MemoryContextReset(kv_supervise_cxt);
	MemoryContextSwitchTo(kv_supervise_cxt);
	KvReapHandlerWorkers(now);
	roles = KvRolesWithWork(kv_supervise_cxt);
	foreach(lc, roles)
	{
		KvRoleWork *r = lfirst(lc);
		bool		found;
		KvRoleWorker *w = hash_search(kv_role_workers, &r->roleid, HASH_ENTER, &found);
		pid_t		pid;

		if (!found)
		{
			w->handle = NULL;
			w->retry_at = 0;
			w->failures = 0;
		}
		if (w->handle != NULL)
		{
			/* SIGUSR1 sets a background worker's latch */
			if (GetBackgroundWorkerPid(w->handle, &pid) == BGWH_STARTED)
				kill(pid, SIGUSR1);
		}
		else if (now >= w->retry_at && kv_role_workers_running < kv_max_handler_workers)
			KvStartHandlerWorker(w, r->role_name, now);
	}
	MemoryContextSwitchTo(oldcxt);
}
