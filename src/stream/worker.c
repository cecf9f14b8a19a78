/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The one main of the stream worker and the GSI worker of a database.
 *
 * Both roles run the same main and loop; a table of functions per role
 * (role.h: role_stream.c, role_gsi.c) says what differs.  A worker owns a
 * logical slot and a replication origin of the same name
 * (partkv_stream_<database oid> or partkv_gsi_<database oid>), made by
 * CREATE EXTENSION partkv (utility.c) or, failing that, by the worker
 * (replslot.c); a slot PostgreSQL invalidated is replaced and its loss
 * recorded (slothealth.c).  Then, in a loop: it reloads its settings,
 * leaves when asked to, waits while the database's SQL objects are older
 * than the library, does its role's work before the batch, decodes and
 * applies one batch (decodeloop.c) when there is WAL to decode, does its
 * role's work after it, and naps until the next commit wakes it or its
 * naptime has passed.  DROP EXTENSION makes the stream worker drop both
 * slots and origins and exit (workerproc.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "../common/safesql.h"
#include "../common/serving.h"
#include "decodeloop.h"
#include "replslot.h"
#include "role.h"
#include "slothealth.h"
#include "worker.h"
#include "workerproc.h"
#include "workerstate.h"

/*
 * Version differences: PG 16 gave replorigin_session_setup an acquired_by
 * argument (upstream 216a784829c2).  Only PG 15 is built and tested.
 */
#if PG_VERSION_NUM >= 160000
#define KvOriginSessionSetup(id) replorigin_session_setup((id), 0)
#else
#define KvOriginSessionSetup(id) replorigin_session_setup(id)
#endif

/* KvWorkerNap waits for the latch or the naptime (or timeout_ms when shorter). */
static void
KvWorkerNap(long timeout_ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

/*
 * KvWorkerAcquireSlot acquires the worker's slot, made first when missing
 * or lost, and sets up its origin session; returns the origin's LSN.
 */
static XLogRecPtr
KvWorkerAcquireSlot(const char *name, RepOriginId originid)
{
	const KvWorkerRoleOps *ops = kv_my_ops;
	bool		lost;
	XLogRecPtr	origin_lsn;

	/*
	 * A slot PostgreSQL invalidated (max_slot_wal_keep_size) can never be
	 * read again: the loss is recorded and the slot replaced
	 * (slothealth.c), as soon as the database's SQL objects can record it.
	 */
	lost = KvSlotIsLost(name);
	if (lost || SearchNamedReplicationSlot(name, true) == NULL)
	{
		/*
		 * CREATE EXTENSION creates both slots; one made now misses what was
		 * written before, so the GSIs are first set to be backfilled again
		 * (once the database's SQL objects are this library's).
		 */
		while ((lost || ops->new_slot_needs_sql) && !KvWorkerVersionReady())
		{
			KvWorkerNap(kv_stream_naptime_ms);
			CHECK_FOR_INTERRUPTS();
			if (KvWorkerStopRequested())
				KvWorkerExit(KV_EXIT_STOPPED);
		}
		if (lost)
			KvSlotLossBegin(name, ops->kind, originid, kv_my_dbname);
		KvWorkerWaitForFreeSlot(name);
		if (ops->new_slot)
			ops->new_slot(lost);
		ereport(LOG,
				(errmsg("partkv %s worker is creating replication slot \"%s\"", ops->what, name)));
		KvStreamCreateSlot(name);
	}
	ReplicationSlotAcquire(name, true);
	KvOriginSessionSetup(originid);
	replorigin_session_origin = originid;
	origin_lsn = replorigin_session_get_progress(false);
	/* a loss recorded before this slot was made is complete now */
	KvSlotLossRecovered(ops->kind, kv_my_dbname);
	return origin_lsn;
}

/*
 * KvWorkerLoopOnce is one iteration of the worker's loop: its role's work
 * before the batch, a batch when there is WAL to decode, its role's work
 * after it, then a nap unless more work is waiting.
 */
static void
KvWorkerLoopOnce(LogicalDecodingContext *ctx, int slotno, MemoryContext worker_cxt)
{
	const KvWorkerRoleOps *ops = kv_my_ops;
	bool		full = false;
	bool		behind = false;
	long		flush_wait = -1;
	TimestampTz now;
	TimestampTz batch_started;

	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
		if (ops->reload)
			ops->reload();
	}
	if (KvWorkerStopRequested())
		KvWorkerExit(KV_EXIT_STOPPED);
	KvConfirmFlushed(false);

	if (!KvWorkerVersionReady())
	{
		KvWorkerNap(kv_stream_naptime_ms);
		return;
	}
	KvWorkerServing(KV_SERVING_RUNNING, NULL);

	now = GetCurrentTimestamp();
	if (ops->before_batch)
		ops->before_batch(slotno, now);

	batch_started = 0;
	if (KvDecodableEnd() > ctx->reader->EndRecPtr)
	{
		batch_started = now;
		if (ops->pace_begin)
			ops->pace_begin();
		full = behind = KvDecodeBatch(ctx, ops);
	}
	else
	{
		TimestampTz now_caught_up = GetCurrentTimestamp();

		SpinLockAcquire(&kv_shared->mutex);
		kv_me->caught_up = Max(kv_me->caught_up, ctx->reader->EndRecPtr);
		kv_me->caught_up_at = now_caught_up;
		SpinLockRelease(&kv_shared->mutex);
		flush_wait = KvFlushWritten(ctx->reader->EndRecPtr);
		if (flush_wait == 0)
			full = true;
	}
	if (ops->pace_end)
		ops->pace_end(behind);
	if (ops->after_batch && ops->after_batch())
		full = true;
	MemoryContextSwitchTo(worker_cxt);

	if (!full && batch_started != 0)
		KvWorkerPace(batch_started);
	else if (!full)
		KvWorkerNap(flush_wait > 0 ? Min(flush_wait, kv_stream_naptime_ms) : kv_stream_naptime_ms);
}

/*
 * KvWorkerRun is the worker's life once connected: see the file header.
 */
static void
KvWorkerRun(int slotno)
{
	const KvWorkerRoleOps *ops = kv_my_ops;
	char		name[NAMEDATALEN];
	RepOriginId originid;
	XLogRecPtr	origin_lsn;
	LogicalDecodingContext *ctx;
	MemoryContext worker_cxt;

	ops->slot_name(MyDatabaseId, name);

	if (wal_level < WAL_LEVEL_LOGICAL)
	{
		ereport(LOG,
				(errmsg("partkv %s worker cannot run: wal_level must be \"logical\"", ops->what)));
		KvWorkerExit(KV_EXIT_DISABLED);
	}

	/*
	 * Commit without waiting for WAL to be flushed (see KvConfirmFlushed):
	 * every transaction of the worker records its progress with its work.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	KvStreamTrustPlugin(GUC_ACTION_SET);

	worker_cxt = AllocSetContextCreate(TopMemoryContext, "partkv stream worker",
									   ALLOCSET_DEFAULT_SIZES);
	if (ops->start)
		ops->start();

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	strlcpy(kv_my_dbname, get_database_name(MyDatabaseId), NAMEDATALEN);
	if (!KvExtensionPresent())
	{
		CommitTransactionCommand();
		KvWorkerDropStream();
	}
	originid = KvEnsureOrigin(name);
	ops->prepare(originid);
	CommitTransactionCommand();

	origin_lsn = KvWorkerAcquireSlot(name, originid);
	ctx = KvDecodingStart(worker_cxt, origin_lsn, ops->records);

	ereport(LOG,
			(errmsg("partkv %s worker started for database \"%s\"", ops->what, kv_my_dbname),
			 errdetail("Changes are done up to %X/%X.", LSN_FORMAT_ARGS(origin_lsn))));

	for (;;)
		KvWorkerLoopOnce(ctx, slotno, worker_cxt);
}

/*
 * KvWorkerRunRecorded runs the worker's loop; an error that ends it is
 * recorded as the worker's failure, so that backends can say why nothing
 * is served (the error then ends the process as it would have).
 */
static void
KvWorkerRunRecorded(int slotno)
{
	PG_TRY();
	{
		KvWorkerRun(slotno);
	}
	PG_CATCH();
	{
		KvServingRecordError(kv_my_dboid, (KvServingWorker) kv_role);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * KvWorkerMain is the main of a worker in the given role, for the database
 * in bgw_extra, in worker slot main_arg.
 */
static void
KvWorkerMain(Datum main_arg, const KvWorkerRoleOps *ops)
{
	int			slotno = DatumGetInt32(main_arg);
	Oid			dboid;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	if (ops->supervised)
		kv_parent_pid = MyBgworkerEntry->bgw_notify_pid;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!KvWorkerAttach(slotno, dboid, ops))
		proc_exit(0);
	/* the launcher's worker obeys database commands; a GSI worker its stream worker */
	if ((!ops->supervised && KvStreamIsPaused(dboid)) || KvWorkerStopRequested())
		KvWorkerExit(KV_EXIT_STOPPED);
	if (ops->process_start)
		ops->process_start();

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	KvWorkerSecureSession();	/* src/common/safesql.h */
	pgstat_report_appname(ops->appname);
	KvWorkerRunRecorded(slotno);
}

/*
 * partkv_stream_worker_main materialises the change stream of one
 * database and supervises its GSI worker (role_stream.c).
 */
void
partkv_stream_worker_main(Datum main_arg)
{
	KvWorkerMain(main_arg, &kv_stream_role);
}

/*
 * partkv_gsi_worker_main keeps the GSIs of one database up to date, for
 * the stream worker that started it (role_gsi.c).
 */
void
partkv_gsi_worker_main(Datum main_arg)
{
	KvWorkerMain(main_arg, &kv_gsi_role);
}
