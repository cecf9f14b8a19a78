/*-------------------------------------------------------------------------
 *
 * workerproc.c
 *	  This stream or GSI worker process: it takes its place in the
 *	  database's worker slot, notices when it must stop, leaves with a
 *	  reason the launcher acts upon (dropping the stream when the extension
 *	  is gone), and records its serving state for backends.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/wait_event.h"

#include "../common/serving.h"
#include "workerproc.h"

const KvWorkerRoleOps *kv_my_ops = NULL;
KvWorkerRole kv_role = KV_ROLE_STREAM;
KvWorkerSlot *kv_my_slot = NULL;
KvWorkerProc *kv_me = NULL;		/* this process in kv_my_slot */
Oid			kv_my_dboid = InvalidOid;
pid_t		kv_parent_pid = 0;	/* GSI worker: its stream worker */
char		kv_my_dbname[NAMEDATALEN];

/*
 * KvWorkerShmemExit clears the process's place in the slot when it goes; a
 * stream worker takes its GSI worker along.
 */
static void
KvWorkerShmemExit(int code, Datum arg)
{
	/*
	 * A database command that paused us (DROP DATABASE) goes on once our
	 * place is clear, and refuses to run while our slot is active: release
	 * it first.  PostgreSQL's own release (ReplicationSlotShmemExit) would
	 * come only after this callback.
	 */
	if (MyReplicationSlot != NULL)
		ReplicationSlotRelease();
	SpinLockAcquire(&kv_shared->mutex);
	if (kv_me->pid == MyProcPid)
	{
		kv_me->pid = 0;
		kv_me->latch = NULL;
	}
	if (kv_role == KV_ROLE_STREAM)
		kv_my_slot->starting = false;
	SpinLockRelease(&kv_shared->mutex);
	KvServingExited(kv_my_dboid, (KvServingWorker) kv_role);
	if (kv_my_ops->leave)
		kv_my_ops->leave(false);
}

/*
 * KvWorkerAttach takes this process's place in worker slot slotno; false
 * when the slot is no longer that of its database (or of its stream
 * worker, for a GSI worker).
 */
bool
KvWorkerAttach(int slotno, Oid dboid, const KvWorkerRoleOps *ops)
{
	bool		ours;

	kv_my_ops = ops;
	kv_role = ops->role;
	kv_my_dboid = dboid;
	kv_my_slot = &kv_shared->slots[slotno];
	kv_me = &kv_my_slot->procs[kv_role];
	SpinLockAcquire(&kv_shared->mutex);
	ours = kv_my_slot->dboid == dboid;
	if (kv_role == KV_ROLE_GSI)
		ours &= kv_my_slot->procs[KV_ROLE_STREAM].pid == kv_parent_pid && kv_me->pid == 0;
	if (ours)
	{
		if (kv_role == KV_ROLE_GSI)
			memset(kv_me, 0, sizeof(*kv_me));
		kv_me->pid = MyProcPid;
		kv_me->latch = MyLatch;
		if (kv_role == KV_ROLE_STREAM)
			kv_my_slot->starting = false;
	}
	SpinLockRelease(&kv_shared->mutex);
	if (ours)
		before_shmem_exit(KvWorkerShmemExit, (Datum) 0);
	return ours;
}

/*
 * KvWorkerExit leaves with a reason the launcher acts upon (a GSI worker's
 * is its stream worker's business).
 */
void
KvWorkerExit(KvExitReason reason)
{
	if (kv_role == KV_ROLE_GSI)
		proc_exit(0);
	SpinLockAcquire(&kv_shared->mutex);
	kv_my_slot->exit_reason = reason;
	SpinLockRelease(&kv_shared->mutex);
	proc_exit(0);
}

/* KvWorkerStopRequested tells whether a database command wants us gone. */
bool
KvWorkerStopRequested(void)
{
	bool		stop;

	SpinLockAcquire(&kv_shared->mutex);
	stop = kv_my_slot->stop;
	/* a GSI worker goes with its stream worker */
	if (kv_role == KV_ROLE_GSI)
		stop |= kv_my_slot->dboid != kv_my_dboid ||
			kv_my_slot->procs[KV_ROLE_STREAM].pid != kv_parent_pid;
	SpinLockRelease(&kv_shared->mutex);
	return stop;
}

/* KvExtensionPresent tells whether the worker's database still has partkv. */
bool
KvExtensionPresent(void)
{
	return OidIsValid(get_extension_oid("partkv", true));
}

/*
 * KvWorkerDropStream drops the slot and origin of a database whose
 * extension is gone (or never committed), then exits: nothing should keep
 * WAL for a stream nobody can read.
 */
void
KvWorkerDropStream(void)
{
	char		names[KV_NROLES][NAMEDATALEN];
	bool		dropped = false;

	if (MyReplicationSlot != NULL)
		ReplicationSlotRelease();
	if (replorigin_session_origin != InvalidRepOriginId)
	{
		replorigin_session_reset();
		replorigin_session_origin = InvalidRepOriginId;
	}
	/* the stream worker drops both, once its GSI worker has gone */
	if (kv_role == KV_ROLE_GSI)
		proc_exit(0);
	if (kv_my_ops->leave)
		kv_my_ops->leave(true);
	KvStreamSlotName(MyDatabaseId, names[KV_ROLE_STREAM]);
	KvGsiSlotName(MyDatabaseId, names[KV_ROLE_GSI]);
	for (int r = 0; r < KV_NROLES; r++)
	{
		if (SearchNamedReplicationSlot(names[r], true) != NULL)
		{
			ReplicationSlotDrop(names[r], true);
			dropped = true;
		}
		StartTransactionCommand();
		if (replorigin_by_name(names[r], true) != InvalidRepOriginId)
		{
			replorigin_drop_by_name(names[r], true, false);
			dropped = true;
		}
		CommitTransactionCommand();
	}
	if (dropped)
		ereport(LOG,
				(errmsg("partkv stream worker dropped the stream of database \"%s\": the extension is not installed",
						kv_my_dbname)));
	KvWorkerExit(KV_EXIT_ABSENT);
}

/*
 * KvWorkerBeginXact starts a transaction of the worker's; when the
 * database no longer has the extension, it drops the stream and exits
 * instead.
 */
void
KvWorkerBeginXact(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!KvExtensionPresent())
	{
		AbortCurrentTransaction();
		KvWorkerDropStream();
	}
}

/*
 * KvWorkerServing records this worker's state for backends (src/common/
 * serving.c), when it changed.
 */
void
KvWorkerServing(KvServingState state, const char *detail)
{
	static int	recorded = -1;

	if ((int) state == recorded)
		return;
	KvServingSet(kv_my_dboid, (KvServingWorker) kv_role, state, detail);
	recorded = (int) state;
}

/*
 * KvWorkerVersionReady tells whether the database's extension is at the
 * version this library writes; it says once in the log when it is not.
 * A database without the extension has its stream dropped.
 */
bool
KvWorkerVersionReady(void)
{
	static bool said = false;
	char	   *version;
	bool		ready;

	KvWorkerBeginXact();
	version = KvInstalledVersion();
	ready = version != NULL && strcmp(version, KV_SQL_VERSION) == 0;
	if (!ready)
		KvWorkerServing(KV_SERVING_UPDATE,
						psprintf("has partkv %s and the server's library needs %s",
								 version ? version : "(none)", KV_SQL_VERSION));
	if (!ready && !said)
		ereport(LOG,
				(errmsg("partkv %s worker for database \"%s\" is waiting for ALTER EXTENSION partkv UPDATE",
						kv_my_ops->what, kv_my_dbname),
				 errdetail("The database has partkv %s; the installed library needs %s.",
						   version ? version : "(none)", KV_SQL_VERSION)));
	said = !ready;
	CommitTransactionCommand();
	return ready;
}

/*
 * KvWorkerWaitForFreeSlot waits, saying so (log and serving state), while
 * no replication slot is free for the worker's own: the slot it creates
 * would fail, and a worker restarting with back-off would say less.
 */
void
KvWorkerWaitForFreeSlot(const char *name)
{
	bool		said = false;

	while (KvFreeReplicationSlots() == 0)
	{
		KvWorkerServing(KV_SERVING_NO_SLOT, name);
		if (!said)
			ereport(WARNING,
					(errmsg("partkv %s worker of database \"%s\" cannot create its replication slot \"%s\": all replication slots are in use",
							kv_my_ops->what, kv_my_dbname, name),
					 errdetail("It waits for a free one; meanwhile %s.",
							   kv_role == KV_ROLE_GSI ? "no GSI of the database is maintained"
							   : "the database has no stream, no GSI maintenance and no TTL"),
					 errhint("Raise max_replication_slots (this needs a restart) or drop a replication slot that is not used.")));
		said = true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(kv_stream_naptime_ms, 1000), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (KvWorkerStopRequested())
			KvWorkerExit(KV_EXIT_STOPPED);
	}
}
