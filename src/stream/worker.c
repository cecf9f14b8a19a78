/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Background workers of the change stream.
 *
 * The launcher (registered at server start) connects to no database.  It
 * lists the databases in pg_database and starts one worker per database:
 * a worker first checks whether its database has the extension, and exits
 * ("absent") when it does not; the launcher then leaves that database alone
 * until CREATE EXTENSION partkv commits there (a transaction callback wakes
 * it) or the database is new.  Workers that fail are restarted with
 * back-off; workers are stopped, and kept stopped, while DROP DATABASE,
 * CREATE DATABASE ... TEMPLATE, ALTER DATABASE ... RENAME/SET TABLESPACE
 * need their database free of connections (utility hook).
 *
 * A worker owns the logical slot "partkv_stream_<database oid>" (plugin
 * partkv) and the replication origin of the same name.  In a loop it opens
 * one transaction per batch: it decodes WAL from where it stopped until it
 * has partkv.stream_batch_size records or reaches the end of flushed WAL,
 * always stopping after a whole WAL record so that every decoded
 * transaction is complete; writes the records into partkv_internal.stream_chunks,
 * one row per stream and shard holding that batch's records of the shard
 * (a row per record cost a heap tuple and two index entries per change,
 * more than a worker could pay while four writers saturate two cores);
 * NOTIFYs each table's channel; sets the origin's LSN to the end of the
 * WAL decoded; commits; and only then confirms that LSN to the slot.
 * After a crash the origin's LSN is the point up to which records were
 * committed: decoding restarts there (CreateDecodingContext skips the
 * transactions that committed before it), so no change is lost or
 * delivered twice.  The slot is created by CREATE EXTENSION itself (so no
 * change made after the extension exists is missed) or, failing that, by
 * the worker; DROP EXTENSION makes the worker drop them both and exit.
 *
 * Each stream worker starts and supervises the GSI worker of its database
 * (restarted with back-off when it fails, stopped when the stream worker
 * stops), which does the same with slot and origin "partkv_gsi_<database
 * oid>" for the global secondary indexes (src/index/gsi.c): it decodes no
 * stream records, applies each batch's changes to the GSIs in the
 * transaction that sets its origin's LSN, and backfills new GSIs.  Apart,
 * the stream never waits for GSI maintenance, which costs about as much as
 * the writes themselves, and the two use both CPUs of a small machine.
 * A GSI worker that falls behind while the CPUs are busy gives way to the
 * writers until it has caught up (KvGsiWorkerYield).
 *
 * Chunks are stored in time-partitioned storage: partitions of
 * partkv_internal.stream_chunks by write time, created ahead and dropped whole once
 * older than partkv.stream_retention.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/value.h"

#include "nodes/makefuncs.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogutils.h"
#include "access/genam.h"
#include "catalog/indexing.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/async.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/sinval.h"
#include "storage/spin.h"
#include "storage/standbydefs.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/pg_lsn.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "../common/partkv.h"
#include "../common/serving.h"
#include "../common/safesql.h"
#include "../index/gsi.h"
#include "../storage/tableam.h"
#include "decoder.h"
#include "handlers.h"
#include "slothealth.h"
#include "streamapi.h"
#include "workerstate.h"
#include "../ttl/ttl.h"
#include "worker.h"

/*
 * Version differences: PG 16 gave replorigin_session_setup an acquired_by
 * argument (upstream 216a784829c2); PG 17 gave ReplicationSlotCreate a
 * failover argument (upstream c393308b69d2) and ReplicationSlotAcquire an
 * error_if_invalid one in PG 18.  Only PG 15 is built and tested.
 */
#if PG_VERSION_NUM >= 160000
#define KvOriginSessionSetup(id) replorigin_session_setup((id), 0)
#else
#define KvOriginSessionSetup(id) replorigin_session_setup(id)
#endif
#if PG_VERSION_NUM >= 170000
#define KvSlotCreate(name) ReplicationSlotCreate((name), true, RS_EPHEMERAL, false, false, false)
#else
#define KvSlotCreate(name) ReplicationSlotCreate((name), true, RS_EPHEMERAL, false)
#endif

/* exported for the fmgr-less bgworker entry points */
extern PGDLLEXPORT void partkv_stream_launcher_main(Datum main_arg);
extern PGDLLEXPORT void partkv_stream_worker_main(Datum main_arg);
extern PGDLLEXPORT void partkv_gsi_worker_main(Datum main_arg);

static int	kv_gsi_yield_lag_ms = 1000; /* see KvGsiWorkerYield */
static int	kv_gsi_yield_cpu = 10;
int			kv_stream_batch_delay_ms = 10;
int			kv_stream_batch_size = 1000;
int			kv_stream_retention_s = 86400;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* CREATE/DROP EXTENSION partkv in this transaction: wake the launcher at its end */
static bool kv_wake_at_eoxact = false;

/* CREATE DATABASE in this transaction: have the launcher look at it at commit */
static Oid	kv_new_database = InvalidOid;

/* database kept free of stream workers until this transaction ends */
static Oid	kv_paused_database = InvalidOid;

static void KvStreamResume(Oid dboid);
static RepOriginId KvEnsureOrigin(const char *name);

static void KvStreamRequestCheck(Oid dboid);

/* ----------------------------------------------------------------
 * Settings, shared memory, hooks
 * ----------------------------------------------------------------
 */


/*
 * KvStreamXactCallback tells the launcher, once CREATE or DROP EXTENSION
 * partkv has committed or aborted, to look at this database again.
 */
static void
KvStreamXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (kv_wake_at_eoxact)
			{
				kv_wake_at_eoxact = false;
				KvStreamRequestCheck(MyDatabaseId);
			}
			if (OidIsValid(kv_paused_database))
			{
				KvStreamResume(kv_paused_database);
				kv_paused_database = InvalidOid;
			}
			if (OidIsValid(kv_new_database))
			{
				if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
					KvStreamRequestCheck(kv_new_database);
				kv_new_database = InvalidOid;
			}
			break;
		default:
			break;
	}
}


/*
 * KvStreamTrustPlugin lets this process use the partkv output plugin when
 * the server restricts output plugins (output_plugin_libraries, a setting
 * of some builds that guards which libraries REPLICATION users may name).
 * The stream's own processes load partkv anyway (shared_preload_libraries);
 * the setting changes only in this process, with the given GUC action.
 */
static void
KvStreamTrustPlugin(GucAction action)
{
	const char *cur = GetConfigOption("output_plugin_libraries", true, false);
	char	   *copy;
	List	   *names;
	ListCell   *lc;

	if (cur == NULL)
		return;
	copy = pstrdup(cur);
	if (SplitIdentifierString(copy, ',', &names))
	{
		foreach(lc, names)
		{
			if (strcmp((char *) lfirst(lc), "partkv") == 0)
				return;
		}
	}
	(void) set_config_option("output_plugin_libraries",
							 cur[0] != '\0' ? psprintf("%s, partkv", cur) : "partkv",
							 PGC_SUSET, PGC_S_SESSION, action, true, 0, false);
}

/*
 * KvStreamCreateSlot creates a database's logical slot, as
 * pg_create_logical_replication_slot() does: ephemeral until its start
 * point is found, so an error leaves nothing behind.  Must run where no
 * transaction id has been assigned.  Waits for transactions running
 * anywhere in the cluster to end.
 */
static void
KvStreamCreateSlot(const char *name)
{
	LogicalDecodingContext *ctx;

	CheckLogicalDecodingRequirements();
	KvSlotCreate(name);
	ctx = CreateInitDecodingContext("partkv", NIL, false, InvalidXLogRecPtr,
									XL_ROUTINE(.page_read = read_local_xlog_page,
											   .segment_open = wal_segment_open,
											   .segment_close = wal_segment_close),
									NULL, NULL, NULL);
	DecodingContextFindStartpoint(ctx);
	FreeDecodingContext(ctx);
	ReplicationSlotPersist();
	ReplicationSlotRelease();
}

/*
 * KvPrepareSlot (re)creates replication slot name for CREATE EXTENSION
 * partkv.  Failing to (no free replication slot, say) must not fail CREATE
 * EXTENSION: it warns, and the worker creates the slot when it starts.
 */
static void
KvPrepareSlot(const char *name, bool gsi)
{
	int			save_nestlevel;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		if (SearchNamedReplicationSlot(name, true) != NULL)
			ReplicationSlotDrop(name, true);
		save_nestlevel = NewGUCNestLevel();
		KvStreamTrustPlugin(GUC_ACTION_SAVE);
		KvStreamCreateSlot(name);
		AtEOXact_GUC(true, save_nestlevel);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* an ephemeral slot being created goes away on release */
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (gsi)
			ereport(WARNING,
					(errmsg("could not create the replication slot of the partkv GSI worker: %s",
							edata->message),
					 errdetail("The GSI worker will create it when it starts.")));
		else
			ereport(WARNING,
					(errmsg("could not create the replication slot of the partkv change stream: %s",
							edata->message),
					 errdetail("The stream worker will create it when it starts; changes made before are not in the stream.")));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * KvStreamCheckServable, for CREATE EXTENSION partkv, fails when the
 * database's replication slots cannot be made for lack of free slots: the
 * extension would be there, its stream, GSIs and TTL never served.  A
 * server that will not run the database's workers for another reason
 * (wal_level, partkv.max_workers) still serves tables: that only warns
 * (creating a stream, a GSI or enabling TTL is then an error).  Returns
 * true when no slot can be made (wal_level).
 */
static bool
KvStreamCheckServable(void)
{
	char		names[KV_NROLES][NAMEDATALEN];
	int			needed = 0;
	int			available;
	KvServing	s;

	KvServingOf(MyDatabaseId, KV_FEATURE_STREAM, &s);
	if (!s.served && !s.transient)
		ereport(WARNING,
				(errmsg("partkv will not serve change streams, global secondary indexes or time to live in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errdetail("%s", s.reason),
				 s.hint ? errhint("%s", s.hint) : 0));
	if (wal_level < WAL_LEVEL_LOGICAL)
		return true;
	KvStreamSlotName(MyDatabaseId, names[KV_ROLE_STREAM]);
	KvGsiSlotName(MyDatabaseId, names[KV_ROLE_GSI]);
	/* a stale slot of an earlier installation is replaced: it counts as free */
	for (int r = 0; r < KV_NROLES; r++)
		if (SearchNamedReplicationSlot(names[r], true) == NULL)
			needed++;
	available = KvFreeReplicationSlots();
	if (available < needed)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("partkv needs %d free replication slots in database \"%s\", %d %s free",
						needed, get_database_name(MyDatabaseId), available,
						available == 1 ? "is" : "are"),
				 errdetail("The stream worker and the GSI worker of each database using partkv read changes through a replication slot of their own (max_replication_slots = %d).",
						   max_replication_slots),
				 errhint("Raise max_replication_slots (this needs a restart) or drop a replication slot that is not used.")));
	return false;
}

/*
 * KvStreamPrepareExtension runs before CREATE EXTENSION partkv: it creates
 * the database's slots now, before the extension exists, so that the
 * stream and the GSIs miss no change made once it does.  A transaction
 * that already has an xid cannot create a slot; the workers will then
 * create them when they start.  Stale slots of an earlier installation are
 * replaced.
 */
static void
KvStreamPrepareExtension(CreateExtensionStmt *stmt)
{
	char		name[NAMEDATALEN];
	char		gsi_name[NAMEDATALEN];

	if (OidIsValid(get_extension_oid(stmt->extname, true)))
		return;
	kv_wake_at_eoxact = true;
	if (KvStreamCheckServable())
		return;
	if (RecoveryInProgress() || MyReplicationSlot != NULL)
		return;
	if (TransactionIdIsValid(GetTopTransactionIdIfAny()))
	{
		ereport(NOTICE,
				(errmsg("the change stream of database \"%s\" starts when its partkv worker starts",
						get_database_name(MyDatabaseId)),
				 errdetail("CREATE EXTENSION partkv creates the stream's replication slot only when it is the first write of its transaction.")));
		return;
	}
	/* both slots first: making an origin gives the transaction an xid */
	KvStreamSlotName(MyDatabaseId, name);
	KvPrepareSlot(name, false);
	KvGsiSlotName(MyDatabaseId, gsi_name);
	KvPrepareSlot(gsi_name, true);
	(void) KvEnsureOrigin(name);
	(void) KvEnsureOrigin(gsi_name);
}

/*
 * KvStreamPause keeps the stream worker of a database stopped: it asks a
 * running worker to exit and waits (up to 15 s) until no worker process
 * of that database is left.  The end of the transaction resumes it
 * (KvStreamXactCallback).
 */
static void
KvStreamPause(Oid dboid)
{
	int			i;
	bool		added = false;
	TimestampTz start = GetCurrentTimestamp();
	bool		signalled = false;

	SpinLockAcquire(&kv_shared->mutex);
	for (i = 0; i < kv_shared->npaused; i++)
	{
		if (kv_shared->paused[i] == dboid)
		{
			kv_shared->paused_count[i]++;
			added = true;
			break;
		}
	}
	if (!added && kv_shared->npaused < KV_MAX_PAUSED)
	{
		kv_shared->paused[kv_shared->npaused] = dboid;
		kv_shared->paused_count[kv_shared->npaused] = 1;
		kv_shared->npaused++;
		added = true;
	}
	SpinLockRelease(&kv_shared->mutex);
	if (!added)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many concurrent database commands waiting for partkv stream workers")));
	/* from here on, the end of the transaction resumes */
	kv_paused_database = dboid;

	for (;;)
	{
		bool		busy = false;
		pid_t		pids[KV_NROLES] = {0};
		Latch	   *latches[KV_NROLES] = {0};

		SpinLockAcquire(&kv_shared->mutex);
		for (i = 0; i < kv_shared->nslots; i++)
		{
			KvWorkerSlot *w = &kv_shared->slots[i];
			bool		running = w->starting;

			if (w->dboid != dboid)
				continue;
			for (int r = 0; r < KV_NROLES; r++)
				running |= (w->procs[r].pid != 0);
			if (!running)
				continue;
			busy = true;
			w->stop = true;
			for (int r = 0; r < KV_NROLES; r++)
			{
				pids[r] = w->procs[r].pid;
				latches[r] = w->procs[r].latch;
			}
		}
		SpinLockRelease(&kv_shared->mutex);
		if (!busy || TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 15000))
			break;
		for (int r = 0; r < KV_NROLES; r++)
			if (latches[r])
				SetLatch(latches[r]);
		/* a worker stuck in a long wait gets SIGTERM after 2 s */
		if (!signalled && TimestampDifferenceExceeds(start, GetCurrentTimestamp(), 2000))
		{
			for (int r = 0; r < KV_NROLES; r++)
				if (pids[r] != 0)
					kill(pids[r], SIGTERM);
			signalled = true;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* KvStreamResume ends a KvStreamPause and lets the launcher restart the worker. */
static void
KvStreamResume(Oid dboid)
{
	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->npaused; i++)
	{
		if (kv_shared->paused[i] != dboid)
			continue;
		if (--kv_shared->paused_count[i] == 0)
		{
			kv_shared->npaused--;
			kv_shared->paused[i] = kv_shared->paused[kv_shared->npaused];
			kv_shared->paused_count[i] = kv_shared->paused_count[kv_shared->npaused];
		}
		break;
	}
	SpinLockRelease(&kv_shared->mutex);
	KvStreamRequestCheck(dboid);
}

/* KvStreamIsPaused tells whether database commands keep dboid worker-free. */
static bool
KvStreamIsPaused(Oid dboid)
{
	bool		paused = false;

	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->npaused; i++)
		if (kv_shared->paused[i] == dboid)
			paused = true;
	SpinLockRelease(&kv_shared->mutex);
	return paused;
}

/* KvDefElemsHave tells whether a DefElem list has an option of that name. */
static bool
KvDefElemsHave(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		if (strcmp(((DefElem *) lfirst(lc))->defname, name) == 0)
			return true;
	}
	return false;
}

/* KvDefElemString returns the string value of an option, or NULL. */
static char *
KvDefElemString(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *d = lfirst(lc);

		if (strcmp(d->defname, name) == 0 && d->arg != NULL)
			return defGetString(d);
	}
	return NULL;
}

/*
 * KvStreamProcessUtility stops stream workers around the database commands
 * that need a database without connections, drops the replication origin
 * of a dropped database, and prepares CREATE/DROP EXTENSION partkv.
 */
static void
KvStreamProcessUtility(PlannedStmt *pstmt, const char *queryString,
					   bool readOnlyTree, ProcessUtilityContext context,
					   ParamListInfo params, QueryEnvironment *queryEnv,
					   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	Oid			pause_db = InvalidOid;
	bool		dropping_db = false;
	bool		dropping_ext = false;
	const char *new_database = NULL;

	if (kv_shared != NULL && !IsBinaryUpgrade)
	{
		switch (nodeTag(parsetree))
		{
			case T_DropdbStmt:
				pause_db = get_database_oid(((DropdbStmt *) parsetree)->dbname, true);
				dropping_db = true;
				break;
			case T_CreatedbStmt:
				{
					char	   *template = KvDefElemString(((CreatedbStmt *) parsetree)->options,
														   "template");

					if (template != NULL)
						pause_db = get_database_oid(template, true);
					new_database = ((CreatedbStmt *) parsetree)->dbname;
					break;
				}
			case T_AlterDatabaseStmt:
				if (KvDefElemsHave(((AlterDatabaseStmt *) parsetree)->options, "tablespace"))
					pause_db = get_database_oid(((AlterDatabaseStmt *) parsetree)->dbname, true);
				break;
			case T_RenameStmt:
				if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
					pause_db = get_database_oid(((RenameStmt *) parsetree)->subname, true);
				break;
			case T_CreateExtensionStmt:
				if (strcmp(((CreateExtensionStmt *) parsetree)->extname, "partkv") == 0)
					KvStreamPrepareExtension((CreateExtensionStmt *) parsetree);
				break;
			case T_DropStmt:
				if (((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
				{
					ListCell   *lc;

					foreach(lc, ((DropStmt *) parsetree)->objects)
					{
						if (strcmp(strVal(lfirst(lc)), "partkv") == 0)
							dropping_ext = true;
					}
				}
				break;
			default:
				break;
		}
	}

	/*
	 * The pause lasts until the transaction ends (the transaction callback
	 * resumes), so that no worker reconnects before a drop commits.
	 */
	if (OidIsValid(pause_db) && !OidIsValid(kv_paused_database))
		KvStreamPause(pause_db);
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
	if (dropping_db && OidIsValid(pause_db))
	{
		char		name[NAMEDATALEN];

		/* dropdb drops the database's slots, not replication origins */
		KvStreamSlotName(pause_db, name);
		replorigin_drop_by_name(name, true, false);
		KvGsiSlotName(pause_db, name);
		replorigin_drop_by_name(name, true, false);
	}
	if (dropping_ext)
		kv_wake_at_eoxact = true;
	/* a copy of a database with partkv needs a worker too */
	if (new_database != NULL)
		kv_new_database = get_database_oid(new_database, true);
}

/*
 * KvWakeAfterWrite is the table AM's kv_commit_wrote_hook: a transaction
 * that wrote kv rows committed, so this database's workers look now.
 */
static void
KvWakeAfterWrite(void)
{
	KvStreamWakeWorker(MyDatabaseId, true);
}

/*
 * KvStreamInit is _PG_init's part for the stream: settings, shared memory,
 * the launcher and the hooks.  It runs before MarkGUCPrefixReserved, which
 * would otherwise discard partkv.* values read from postgresql.conf.
 */
void
KvStreamInit(void)
{
	BackgroundWorker bgw;

	KvTtlInit();				/* partkv.ttl_* (src/ttl) */
	KvHandlersInit();			/* partkv.handler_timeout */
	KvSlotHealthInit();			/* partkv.backlog_warning */
	DefineCustomIntVariable("partkv.naptime",
							"Time the stream worker sleeps when it has nothing to do.",
							"It also wakes up when partkv.stream_wait() asks it to.",
							&kv_stream_naptime_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.stream_batch_delay",
							"Shortest time between the starts of two batches of a stream or GSI worker that keeps up.",
							"Changes committed sooner wait for the next batch. Every batch has a fixed cost, so a worker woken by every commit would spend a core on small batches; a longer delay adds that much stream and GSI lag. A worker that is behind does not wait.",
							&kv_stream_batch_delay_ms, 10, 0, 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.stream_batch_size",
							"Stream records the worker materialises per transaction while it keeps up.",
							"While it is behind, batches grow up to 16 times this. A batch always ends after a whole transaction, so a large transaction makes a large batch.",
							&kv_stream_batch_size, 1000, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.stream_retention",
							"How long stream records are kept.",
							"Records are stored in partitions by write time that are dropped whole once older than this.",
							&kv_stream_retention_s, 86400, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.max_workers",
							"Maximum number of partkv stream workers (one per database); 0 disables them.",
							NULL,
							&kv_stream_max_workers, 8, 0, 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.gsi_worker_nice",
							"Nice value (CPU priority) of the GSI workers.",
							"On Linux with autogroup scheduling, the nice value of the worker's autogroup.",
							&kv_gsi_worker_nice, 0, 0, 19,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.gsi_yield_lag",
							"GSI lag beyond which a GSI worker that waits for busy CPUs gives way to the writers.",
							"See partkv.gsi_yield_cpu.",
							&kv_gsi_yield_lag_ms, 1000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.gsi_yield_cpu",
							"Percentage of a CPU a GSI worker giving way to the writers takes.",
							"After each batch that waited for busy CPUs it sleeps, until it has caught up. 100: it never gives way.",
							&kv_gsi_yield_cpu, 10, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	KvWorkerStateInit();
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = KvStreamProcessUtility;
	RegisterXactCallback(KvStreamXactCallback, NULL);
	kv_commit_wrote_hook = KvWakeAfterWrite;

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

/* KvStreamRequestCheck asks the launcher to look at a database again. */
static void
KvStreamRequestCheck(Oid dboid)
{
	Latch	   *latch;

	if (kv_shared == NULL)
		return;
	SpinLockAcquire(&kv_shared->mutex);
	if (kv_shared->npending < KV_MAX_PENDING)
		kv_shared->pending[kv_shared->npending++] = dboid;
	else
		kv_shared->pending_overflow = true;
	latch = kv_shared->launcher_latch;
	SpinLockRelease(&kv_shared->mutex);
	if (latch)
		SetLatch(latch);
}


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
 * partkv.max_workers workers run -- when every one of them serves a
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

/* KvLauncherStart starts the worker of a database in a free slot. */
static void
KvLauncherStart(KvDbEntry *e)
{
	BackgroundWorker bgw;
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
		/* partkv.max_workers reached: try later */
		KvLauncherNoRoom(e->dboid);
		return;
	}

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "partkv");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "partkv_stream_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "partkv stream worker for database \"%s\"", e->name);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "partkv stream worker");
	bgw.bgw_main_arg = Int32GetDatum(slot);
	bgw.bgw_notify_pid = MyProcPid;
	memcpy(bgw.bgw_extra, &e->dboid, sizeof(Oid));

	if (!RegisterDynamicBackgroundWorker(&bgw, &e->handle))
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

/* ----------------------------------------------------------------
 * Worker
 * ----------------------------------------------------------------
 */

/* one decoded record, as the batch keeps it */
typedef struct KvBatchRecord
{
	int64		stream_id;		/* 0: the decoder did not know the stream */
	const char *schema_name;
	const char *table_name;
	const char *shard_id;
	char		sequence_number[KV_SEQNO_LEN + 1];
	int64		sequence_offset;	/* of its table (decoder.h) */
	int32		size_bytes;
	Datum		record;			/* jsonb */
} KvBatchRecord;

/* the records decoded for one batch, in commit (sequence number) order */
typedef struct KvBatch
{
	MemoryContext context;		/* reset per batch */
	int			n;
	int			cap;
	KvBatchRecord *recs;
	TimestampTz last_commit_time;
} KvBatch;

static KvWorkerSlot *kv_my_slot = NULL;
static KvWorkerRole kv_role = KV_ROLE_STREAM;
static KvWorkerProc *kv_me = NULL;	/* this process in kv_my_slot */
static pid_t kv_parent_pid = 0; /* GSI worker: its stream worker */
static Oid	kv_my_dboid = InvalidOid;
static KvBatch kv_batch;

/* the stream worker's GSI worker, restarted with back-off when it fails */
static BackgroundWorkerHandle *kv_gsi_handle = NULL;
static TimestampTz kv_gsi_retry_at = 0;
static TimestampTz kv_gsi_started_at = 0;
static int	kv_gsi_failures = 0;

int			kv_gsi_worker_nice = 0;

/* the longest sleep of a GSI worker giving way, so that it notices a change of load */
#define KV_GSI_MAX_YIELD_MS 1000

/*
 * Records the next batch of a stream worker may hold: partkv.stream_batch_size
 * while the worker keeps up; doubled after each full batch, up to
 * KV_BATCH_GROWTH times that, while it is behind, so that the cost of a batch
 * (catalog caches, commit, a chunk row per shard) is spread over more
 * records exactly when the worker most needs it.  Latency is not at stake
 * then: the records have waited longer than a bigger batch takes.
 *
 * A GSI worker's batches do not grow.  Its batch transaction has an xid
 * from its first entry written to its commit, and while it runs no
 * backend may prune the row versions that the writers' updates leave
 * behind: the chains of versions every put walks and adds to grow for as
 * long as it runs.  Batches of 16,000 changes held the horizon for a
 * second or more at a time, and writers saturating two cores ran at 0.64
 * of their speed without GSIs; with batches of 1,000 changes (about
 * 100 ms each), at 0.74-0.78 (docs/BENCHMARKS.md), for no more of the
 * worker's CPU.
 */
#define KV_BATCH_GROWTH 16
static int	kv_batch_limit = 0;
static char kv_my_dbname[NAMEDATALEN];
static MemoryContext kv_worker_cxt = NULL;	/* lives as long as the worker */

/*
 * KvWorkerShmemExit clears the process's place in the slot when it goes; a
 * stream worker takes its GSI worker along.
 */
static void
KvWorkerShmemExit(int code, Datum arg)
{
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
	if (kv_gsi_handle != NULL)
		TerminateBackgroundWorker(kv_gsi_handle);
}

/*
 * KvWorkerExit leaves with a reason the launcher acts upon (a GSI worker's
 * is its stream worker's business).
 */
static void
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
static bool
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

/* KvWorkerPrepareWrite starts a record (the plugin writes into ctx->out). */
static void
KvWorkerPrepareWrite(LogicalDecodingContext *ctx, XLogRecPtr lsn,
					 TransactionId xid, bool last_write)
{
	resetStringInfo(ctx->out);
}

/* KvWorkerWrite keeps a decoded record in the batch. */
static void
KvWorkerWrite(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid,
			  bool last_write)
{
	const KvDecodedRecord *rec = KvDecoderCurrentRecord(ctx);
	KvBatch    *b = &kv_batch;
	KvBatchRecord *r;
	MemoryContext oldcxt;

	if (rec == NULL)
		return;
	oldcxt = MemoryContextSwitchTo(b->context);
	if (b->n == b->cap)
	{
		b->cap = Max(64, b->cap * 2);
		b->recs = b->n == 0 ? palloc(sizeof(KvBatchRecord) * b->cap)
			: repalloc(b->recs, sizeof(KvBatchRecord) * b->cap);
	}
	r = &b->recs[b->n++];
	r->stream_id = rec->stream_id;
	/* consecutive records mostly share their table: share the strings */
	if (b->n > 1 && strcmp(r[-1].table_name, rec->table_name) == 0 &&
		strcmp(r[-1].schema_name, rec->schema_name) == 0)
	{
		r->schema_name = r[-1].schema_name;
		r->table_name = r[-1].table_name;
	}
	else
	{
		r->schema_name = pstrdup(rec->schema_name);
		r->table_name = pstrdup(rec->table_name);
	}
	r->shard_id = pstrdup(rec->shard_id);
	memcpy(r->sequence_number, rec->sequence_number, sizeof(r->sequence_number));
	r->sequence_offset = rec->sequence_offset;
	r->size_bytes = (int32) Min(rec->size_bytes, PG_INT32_MAX);
	/* binary-records: the output is one jsonb varlena */
	r->record = PointerGetDatum(memcpy(palloc(ctx->out->len), ctx->out->data, ctx->out->len));
	b->last_commit_time = rec->commit_time;
	MemoryContextSwitchTo(oldcxt);
}

/* width of the stream's time partitions: retention / 24, 1 s .. 1 h */
static int
KvPartitionWidth(void)
{
	return Max(1, Min(3600, kv_stream_retention_s / 24));
}

/* orders batch records by stream, shard, then sequence number */
static int
KvBatchRecordCmp(const void *a, const void *b)
{
	const KvBatchRecord *x = *(KvBatchRecord *const *) a;
	const KvBatchRecord *y = *(KvBatchRecord *const *) b;
	int			c;

	if (x->stream_id != y->stream_id)
		return x->stream_id < y->stream_id ? -1 : 1;
	c = strcmp(x->shard_id, y->shard_id);
	if (c != 0)
		return c;
	return strcmp(x->sequence_number, y->sequence_number);
}

/*
 * KvResolveStreams gives records whose stream the decoder did not know
 * (its partkv.streams row was missing) the table's latest stream; those of
 * tables without one get -1 and are not stored.
 */
static void
KvResolveStreams(KvBatch *b)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {NAMEOID, NAMEOID};

	for (int i = 0; i < b->n; i++)
	{
		KvBatchRecord *r = &b->recs[i];
		Datum		args[2];
		bool		isnull;
		int64		sid = -1;

		if (r->stream_id != 0)
			continue;
		if (plan == NULL)
		{
			plan = SPI_prepare("SELECT pg_catalog.max(s.stream_id) FROM partkv.streams s"
							   " WHERE s.schema_name = $1 AND s.table_name = $2",
							   2, argtypes);
			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "partkv stream: could not plan the stream lookup: %s",
					 SPI_result_code_string(SPI_result));
		}
		args[0] = DirectFunctionCall1(namein, CStringGetDatum(r->schema_name));
		args[1] = DirectFunctionCall1(namein, CStringGetDatum(r->table_name));
		if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "partkv stream: could not look up the stream of \"%s\"", r->table_name);
		if (SPI_processed == 1)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				sid = DatumGetInt64(d);
		}
		/* the batch's other records of this table get the same */
		for (int j = i; j < b->n; j++)
			if (b->recs[j].stream_id == 0 &&
				strcmp(b->recs[j].table_name, r->table_name) == 0 &&
				strcmp(b->recs[j].schema_name, r->schema_name) == 0)
				b->recs[j].stream_id = sid;
	}
}

/*
 * KvStoreChunk inserts the records recs[0..n-1] (one stream and shard, in
 * sequence number order) as one row of partkv_internal.stream_chunks.  Its
 * batch_lsn is where the batch reached, plus the sequence offset of the
 * stream's table, as its sequence numbers are: the chunk's batch_lsn is at
 * or above every one of them.
 */
static void
KvStoreChunk(SPIPlanPtr plan, KvBatchRecord **recs, int n, XLogRecPtr batch_lsn,
			 TimestampTz written_at)
{
	Datum	   *seqs = palloc(sizeof(Datum) * n);
	Datum	   *sizes = palloc(sizeof(Datum) * n);
	Datum	   *records = palloc(sizeof(Datum) * n);
	int64		offset = 0;
	Datum		args[9];

	for (int i = 0; i < n; i++)
	{
		seqs[i] = CStringGetTextDatum(recs[i]->sequence_number);
		sizes[i] = Int32GetDatum(recs[i]->size_bytes);
		records[i] = recs[i]->record;
		offset = Max(offset, recs[i]->sequence_offset);
	}
	args[0] = Int64GetDatum(recs[0]->stream_id);
	args[1] = CStringGetTextDatum(recs[0]->shard_id);
	args[2] = LSNGetDatum(batch_lsn + offset);
	args[3] = seqs[0];
	args[4] = seqs[n - 1];
	args[5] = PointerGetDatum(construct_array(seqs, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[6] = PointerGetDatum(construct_array(sizes, n, INT4OID, 4, true, TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_array(records, n, JSONBOID, -1, false, TYPALIGN_INT));
	args[8] = TimestampTzGetDatum(written_at);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "partkv stream: could not store a chunk of records");
}

/*
 * KvNotifyTables NOTIFYs the channel of each table with records in the
 * batch, once per stream (records sorted by stream are adjacent), with
 * the table, its last sequence number and the record count.
 */
static void
KvNotifyTables(KvBatchRecord **sorted, int n)
{
	int			i = 0;

	while (i < n)
	{
		KvBatchRecord *first = sorted[i];
		const char *last = first->sequence_number;
		int			count = 0;
		StringInfoData payload;

		for (; i < n && sorted[i]->stream_id == first->stream_id; i++)
		{
			if (strcmp(sorted[i]->sequence_number, last) > 0)
				last = sorted[i]->sequence_number;
			count++;
		}
		initStringInfo(&payload);
		appendStringInfoString(&payload, "{\"TableName\" : ");
		escape_json(&payload, first->table_name);
		appendStringInfoString(&payload, ", \"TableSchema\" : ");
		escape_json(&payload, first->schema_name);
		appendStringInfo(&payload, ", \"SequenceNumber\" : \"%s\", \"Count\" : %d}", last, count);
		Async_Notify(KvStreamChannelName(first->table_name), payload.data);
	}
}

/*
 * KvWorkerStore writes the batch into partkv_internal.stream_chunks, one chunk per
 * stream and shard, and notifies the channels of the tables it touches, in
 * the current transaction.
 */
static void
KvWorkerStore(KvBatch *b, XLogRecPtr batch_lsn)
{
	static SPIPlanPtr kv_ensure_plan = NULL;
	static SPIPlanPtr kv_chunk_plan = NULL;
	Oid			argtypes[9] = {INT8OID, TEXTOID, LSNOID, TEXTOID, TEXTOID,
	TEXTARRAYOID, INT4ARRAYOID, JSONBARRAYOID, TIMESTAMPTZOID};
	Oid			ensure_types[2] = {INT4OID, TIMESTAMPTZOID};
	Datum		ensure_args[2];
	/* written_at: when the records were decoded, close to their commit */
	TimestampTz written_at = GetCurrentTimestamp();
	KvBatchRecord **sorted;
	int			n = 0;
	int			i;

	/* both statements run every batch: plan them once per worker */
	if (kv_chunk_plan == NULL)
	{
		SPIPlanPtr	ensure = SPI_prepare("SELECT partkv_internal.stream_ensure_partition($2, pg_catalog.make_interval(secs => $1))",
										 2, ensure_types);
		SPIPlanPtr	chunk = SPI_prepare("INSERT INTO partkv_internal.stream_chunks"
										" (stream_id, shard_id, batch_lsn, first_sequence_number,"
										"  last_sequence_number, sequence_numbers, size_bytes, records,"
										"  written_at)"
										" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
										9, argtypes);

		if (ensure == NULL || chunk == NULL)
			elog(ERROR, "partkv stream: could not plan the batch statements: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(ensure);
		SPI_keepplan(chunk);
		kv_ensure_plan = ensure;
		kv_chunk_plan = chunk;
	}

	ensure_args[0] = Int32GetDatum(KvPartitionWidth());
	ensure_args[1] = TimestampTzGetDatum(written_at);
	if (SPI_execute_plan(kv_ensure_plan, ensure_args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream: could not prepare a partition");

	KvResolveStreams(b);
	sorted = palloc(sizeof(KvBatchRecord *) * b->n);
	for (i = 0; i < b->n; i++)
		if (b->recs[i].stream_id > 0)
			sorted[n++] = &b->recs[i];
	qsort(sorted, n, sizeof(KvBatchRecord *), KvBatchRecordCmp);

	for (i = 0; i < n;)
	{
		int			j = i + 1;

		while (j < n && sorted[j]->stream_id == sorted[i]->stream_id &&
			   strcmp(sorted[j]->shard_id, sorted[i]->shard_id) == 0)
			j++;
		KvStoreChunk(kv_chunk_plan, sorted + i, j - i, batch_lsn, written_at);
		i = j;
	}
	KvNotifyTables(sorted, n);
}

/* KvExtensionPresent tells whether the worker's database still has partkv. */
static bool
KvExtensionPresent(void)
{
	return OidIsValid(get_extension_oid("partkv", true));
}


/*
 * KvWorkerDropStream drops the slot and origin of a database whose
 * extension is gone (or never committed), then exits: nothing should keep
 * WAL for a stream nobody can read.
 */
static void
KvWorkerDropStream(const char *name)
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
	if (kv_gsi_handle != NULL)
	{
		TerminateBackgroundWorker(kv_gsi_handle);
		(void) WaitForBackgroundWorkerShutdown(kv_gsi_handle);
		pfree(kv_gsi_handle);
		kv_gsi_handle = NULL;
	}
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
 * KvWorkerServing records this worker's state for backends (src/common/
 * serving.c), when it changed.
 */
static void
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
static bool
KvWorkerVersionReady(const char *name)
{
	static bool said = false;
	char	   *version;
	bool		ready;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!KvExtensionPresent())
	{
		AbortCurrentTransaction();
		KvWorkerDropStream(name);
	}
	version = KvInstalledVersion();
	ready = version != NULL && strcmp(version, KV_SQL_VERSION) == 0;
	if (!ready)
		KvWorkerServing(KV_SERVING_UPDATE,
						psprintf("has partkv %s and the server's library needs %s",
								 version ? version : "(none)", KV_SQL_VERSION));
	if (!ready && !said)
		ereport(LOG,
				(errmsg("partkv %s worker for database \"%s\" is waiting for ALTER EXTENSION partkv UPDATE",
						kv_role == KV_ROLE_GSI ? "GSI" : "stream", kv_my_dbname),
				 errdetail("The database has partkv %s; the installed library needs %s.",
						   version ? version : "(none)", KV_SQL_VERSION)));
	said = !ready;
	CommitTransactionCommand();
	return ready;
}

/*
 * KvWorkerMaintain creates the partitions the next writes need and drops
 * those past the retention period, in its own transaction (the DDL takes
 * short exclusive locks and gives way to readers: see stream_maintain).
 */
static void
KvWorkerMaintain(const char *name)
{
	Oid			argtypes[2] = {INT4OID, INT4OID};
	Datum		args[2];
	int			ret;

	args[0] = Int32GetDatum(kv_stream_retention_s);
	args[1] = Int32GetDatum(KvPartitionWidth());
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!KvExtensionPresent())
	{
		AbortCurrentTransaction();
		KvWorkerDropStream(name);
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	ret = SPI_execute_with_args("SELECT partkv_internal.stream_maintain(pg_catalog.make_interval(secs => $1),"
								" pg_catalog.make_interval(secs => $2))",
								2, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "partkv stream: maintenance failed: %d", ret);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * KvDecodableEnd is where decoding may read up to: the flushed end of WAL,
 * or, when that lies within the header of a fresh page (a flush of the
 * insert position right after a record that filled its page), the start of
 * that page -- no record can be read there yet, and reading on would wait
 * for more WAL.
 */
static XLogRecPtr
KvDecodableEnd(void)
{
	XLogRecPtr	end = GetFlushRecPtr(NULL);

	if (end % XLOG_BLCKSZ <= SizeOfXLogLongPHD)
		end -= end % XLOG_BLCKSZ;
	return end;
}

/*
 * Commits made with synchronous_commit = off become decodable only once the
 * WAL writer flushes them (every wal_writer_delay, 200 ms by default, or
 * every wal_writer_flush_after): waiting for it would add that much to the
 * delay of every change.  So a worker that has decoded all flushed WAL
 * while more is written flushes it itself, at most every
 * KV_FLUSH_INTERVAL_MS.  The writers never wait for these flushes, and a
 * change is never decoded before it is durable.
 */
#define KV_FLUSH_INTERVAL_MS 10
static TimestampTz kv_last_flush = 0;

/*
 * KvFlushWritten flushes WAL written past what the worker decoded: 0 when it
 * did, the milliseconds to wait before it may again, or -1 when nothing is
 * waiting to be flushed.
 */
static long
KvFlushWritten(XLogRecPtr decoded)
{
	XLogRecPtr	written = KvLastRecordEnd();
	TimestampTz now;
	long		wait;

	if (written <= decoded || written <= GetFlushRecPtr(NULL))
		return -1;
	now = GetCurrentTimestamp();
	wait = KV_FLUSH_INTERVAL_MS - TimestampDifferenceMilliseconds(kv_last_flush, now);
	if (wait > 0)
		return wait;
	XLogFlush(written);
	kv_last_flush = now;
	return 0;
}

/*
 * KvWorkerNotDecodingOnly undoes the PROC_IN_LOGICAL_DECODING mark that
 * CreateDecodingContext gives a process decoding outside a transaction.
 * The mark makes every other backend leave the process's xid out of its
 * snapshots and horizons, which suits a walsender, which writes nothing.
 * A worker writes (stream chunks, GSI entries, TTL deletes, handlers'
 * changes): another backend would then take its running transaction for
 * an aborted one, mark its rows so (hint bits) and prune them -- VACUUM
 * running beside the GSI worker removed entries being inserted and kept
 * entries being deleted.  Unmarked, the worker's snapshots hold the
 * horizon back for the length of a batch, like any backend's.
 */
static void
KvWorkerNotDecodingOnly(void)
{
	LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
	MyProc->statusFlags &= ~PROC_IN_LOGICAL_DECODING;
	ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
	LWLockRelease(ProcArrayLock);
}

/*
 * KvReadWalPage reads WAL for decoding as read_local_xlog_page does, which
 * waits until the bytes asked for are flushed.  A batch decodes up to the
 * flushed end, and the WAL writer of a server with asynchronous commits
 * flushes every wal_writer_delay: a record that runs past the flushed end
 * would hold the batch that long.  The worker flushes up to it instead.
 */
static int
KvReadWalPage(XLogReaderState *state, XLogRecPtr targetPagePtr, int reqLen,
			  XLogRecPtr targetRecPtr, char *cur_page)
{
	XLogRecPtr	needed = targetPagePtr + reqLen;

	if (!RecoveryInProgress() && needed > GetFlushRecPtr(NULL))
		XLogFlush(needed);
	return read_local_xlog_page(state, targetPagePtr, reqLen, targetRecPtr, cur_page);
}

/*
 * KvRecordChangesCatalog tells whether a WAL record carries catalog
 * invalidations: the commit of a transaction that changed the catalogs, or
 * invalidations logged on their own.
 */
static bool
KvRecordChangesCatalog(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	if (XLogRecGetRmid(record) == RM_STANDBY_ID)
		return info == XLOG_INVALIDATIONS;
	if (XLogRecGetRmid(record) != RM_XACT_ID)
		return false;
	info &= XLOG_XACT_OPMASK;
	if (info == XLOG_XACT_INVALIDATIONS)
		return true;
	if (info == XLOG_XACT_COMMIT || info == XLOG_XACT_COMMIT_PREPARED)
	{
		xl_xact_parsed_commit parsed;

		ParseCommitRecord(XLogRecGetInfo(record),
						  (xl_xact_commit *) XLogRecGetData(record), &parsed);
		return parsed.nmsgs > 0;
	}
	return false;
}

/*
 * KvWorkerSwitchSnapshots is called where a batch goes from normal
 * snapshots to decoding's historic ones (at decoded, where decoding
 * starts) and back (decoded: where it stopped).  Catalog cache entries
 * built under one kind must not serve the other if the catalogs changed
 * between the two points of view, so logical decoding in a process that
 * also runs queries drops every cache at each switch -- and then rebuilds
 * them all, which cost a batch milliseconds, more than a small batch's
 * changes.  Here the caches are dropped only when the catalogs may differ:
 * the first time; when the WAL just decoded changed the catalogs
 * (decoded_catalog_change); or while decoding has not passed the WAL
 * position current when an invalidation last arrived.  Every committed
 * catalog change sends one, this process's own included, after its commit
 * record and before it releases its locks.
 */
static void
KvWorkerSwitchSnapshots(XLogRecPtr decoded, bool decoded_catalog_change)
{
	static bool switched_before = false;
	static uint64 invalidations_seen = 0;
	static XLogRecPtr changed_before = InvalidXLogRecPtr;

	AcceptInvalidationMessages();
	if (SharedInvalidMessageCounter != invalidations_seen)
	{
		invalidations_seen = SharedInvalidMessageCounter;
		changed_before = GetXLogInsertRecPtr();
	}
	if (!switched_before || decoded_catalog_change || decoded < changed_before)
		InvalidateSystemCaches();
	switched_before = true;
}

/*
 * KvWorkerPace lets partkv.stream_batch_delay pass since the start of a
 * batch that kept up before the next one starts.  The latch is not
 * watched: every commit sets it, and a worker that answered each one would
 * run batches back to back, each paying the fixed cost of a batch for a
 * few changes.
 */
static void
KvWorkerPace(TimestampTz batch_started)
{
	long		wait;

	wait = kv_stream_batch_delay_ms -
		TimestampDifferenceMilliseconds(batch_started, GetCurrentTimestamp());
	if (wait > 0)
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait,
						 PG_WAIT_EXTENSION);
}

/*
 * Batches commit asynchronously: a synchronous commit flushed WAL once
 * per batch, the writers' WAL with it (at 500 puts/s, a sixth of the GSI
 * worker's time; 4% at 6,000).  A batch's records and
 * entries commit with the origin's LSN, so after a crash the worker
 * resumes where the last durable batch ended, whatever it had reached in
 * memory.  Only the slot must wait: it may forget WAL up to what a batch
 * reached once that batch's commit is flushed (as logical replication's
 * apply worker reports its flush position).  kv_unconfirmed holds the
 * batches waiting for that, oldest first.
 */
#define KV_MAX_UNCONFIRMED 64

typedef struct KvUnconfirmed
{
	XLogRecPtr	commit_end;		/* the end of the batch's commit record */
	XLogRecPtr	reached;		/* WAL decoded by the batch */
} KvUnconfirmed;

static KvUnconfirmed kv_unconfirmed[KV_MAX_UNCONFIRMED];
static int	kv_nunconfirmed = 0;

/*
 * KvConfirmFlushed confirms to the slot the last batch whose commit is
 * flushed; with flush, flushes the commits of all of them first.
 */
static void
KvConfirmFlushed(bool flush)
{
	XLogRecPtr	flushed;
	XLogRecPtr	confirm = InvalidXLogRecPtr;
	int			done = 0;

	if (kv_nunconfirmed == 0)
		return;
	if (flush)
		XLogFlush(kv_unconfirmed[kv_nunconfirmed - 1].commit_end);
	flushed = GetFlushRecPtr(NULL);
	while (done < kv_nunconfirmed && kv_unconfirmed[done].commit_end <= flushed)
		confirm = kv_unconfirmed[done++].reached;
	if (done == 0)
		return;
	kv_nunconfirmed -= done;
	memmove(kv_unconfirmed, kv_unconfirmed + done, sizeof(KvUnconfirmed) * kv_nunconfirmed);
	if (confirm > MyReplicationSlot->data.confirmed_flush)
		LogicalConfirmReceivedLocation(confirm);
}

/*
 * KvConfirmWhenFlushed queues the batch just committed, which decoded WAL
 * up to reached.  XactLastCommitEnd is the end of this process's last
 * commit record: this batch's, or an earlier one's when the batch wrote
 * nothing, which then has nothing of its own to make durable.
 */
static void
KvConfirmWhenFlushed(XLogRecPtr reached)
{
	if (kv_nunconfirmed == KV_MAX_UNCONFIRMED)
		KvConfirmFlushed(true);
	kv_unconfirmed[kv_nunconfirmed].commit_end = XactLastCommitEnd;
	kv_unconfirmed[kv_nunconfirmed].reached = reached;
	kv_nunconfirmed++;
	KvConfirmFlushed(false);
}

/*
 * KvWorkerBatch decodes and stores one batch.  Returns true when it
 * stopped because the batch was full (more WAL is waiting).
 */
static bool
KvWorkerBatch(LogicalDecodingContext *ctx, const char *name)
{
	XLogRecPtr	end_of_wal = KvDecodableEnd();
	TimestampTz end_read_at = GetCurrentTimestamp();
	XLogRecPtr	reached;
	bool		full = false;
	bool		decoded_catalog_change = false;
	int			n;

	MemoryContextReset(kv_batch.context);
	kv_batch.n = 0;
	kv_batch.cap = 0;
	KvGsiBatchReset();			/* global secondary indexes (src/index/gsi.c) */

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!KvExtensionPresent())
	{
		AbortCurrentTransaction();
		KvWorkerDropStream(name);
	}

	/* cache entries built with normal snapshots must not serve decoding */
	KvWorkerSwitchSnapshots(ctx->reader->EndRecPtr, false);
	while (ctx->reader->EndRecPtr < end_of_wal)
	{
		XLogRecord *record;
		char	   *errm = NULL;
		MemoryContext oldcxt;

		/*
		 * The reader allocates oversized records in the current context and
		 * frees them on the next call, maybe in a later transaction: read in
		 * the worker's long-lived context.
		 */
		oldcxt = MemoryContextSwitchTo(kv_worker_cxt);
		record = XLogReadRecord(ctx->reader, &errm);
		MemoryContextSwitchTo(oldcxt);
		if (errm)
			elog(ERROR, "could not find record for logical decoding: %s", errm);
		if (record != NULL)
		{
			decoded_catalog_change |= KvRecordChangesCatalog(ctx->reader);
			LogicalDecodingProcessRecord(ctx, ctx->reader);
		}
		if (kv_batch.n + KvGsiPendingChanges() >= kv_batch_limit)
		{
			full = ctx->reader->EndRecPtr < end_of_wal;
			break;
		}
		CHECK_FOR_INTERRUPTS();
		if (KvWorkerStopRequested())
		{
			AbortCurrentTransaction();
			KvWorkerExit(KV_EXIT_STOPPED);
		}
	}
	reached = ctx->reader->EndRecPtr;
	/* nor those built with historic snapshots the rest of the batch */
	KvWorkerSwitchSnapshots(reached, decoded_catalog_change);

	n = kv_batch.n;
	if (n > 0)
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		SPI_connect();
		KvWorkerStore(&kv_batch, reached);
		SPI_finish();
		PopActiveSnapshot();
	}
	/* global secondary indexes: apply in this same transaction (src/index/gsi.c) */
	KvGsiApplyBatch();
	if (n > 0 || KvGsiPendingChanges() > 0)
	{
		/* the origin's LSN commits with the records and index changes */
		replorigin_session_origin_lsn = reached;
		replorigin_session_origin_timestamp = Max(kv_batch.last_commit_time,
												  KvGsiLastCommitTime());
	}
	CommitTransactionCommand();
	replorigin_session_origin_lsn = InvalidXLogRecPtr;
	replorigin_session_origin_timestamp = 0;

	/* the slot may forget what was decoded once the commit is durable */
	KvConfirmWhenFlushed(reached);

	SpinLockAcquire(&kv_shared->mutex);
	kv_me->reached = reached;
	if (!full)
	{
		kv_me->caught_up = Max(reached, end_of_wal);
		kv_me->caught_up_at = end_read_at;
	}
	kv_me->records += n;
	if (n > 0 || KvGsiPendingChanges() > 0)
	{
		kv_me->last_batch = GetCurrentTimestamp();
		kv_me->applied_commit = Max(kv_batch.last_commit_time, KvGsiLastCommitTime());
	}
	SpinLockRelease(&kv_shared->mutex);
	KvGsiBatchReset();

	MemoryContextReset(kv_batch.context);
	kv_batch.n = 0;
	kv_batch.cap = 0;
	return full;
}

/*
 * KvEnsureOrigin returns the replication origin of that name, created if
 * missing.  CREATE EXTENSION creates both of a database, and a stream worker
 * its GSI worker's before starting it: creating one while another process
 * of the database runs DDL was seen to leave that DDL's catalog rows
 * unreadable (a partition without its pg_inherits and pg_constraint rows).
 */
static RepOriginId
KvEnsureOrigin(const char *name)
{
	RepOriginId id = replorigin_by_name(name, true);

	if (id == InvalidRepOriginId)
		id = replorigin_create(name);
	return id;
}

/*
 * KvClaimInstallation gives a database copied from another (CREATE
 * DATABASE ... TEMPLATE) an installation of partkv of its own, before the
 * worker makes its slots, in the current transaction: restored catalog
 * rows are told from this database's own by it (partkv_internal.installation_claim,
 * from 0.5 on; see "dump and restore" in partkv--0.4--0.5.sql).
 */
static void
KvClaimInstallation(void)
{
	List	   *fname = list_make2(makeString(PARTKV_INTERNAL_SCHEMA), makeString("installation_claim"));

	if (!OidIsValid(LookupFuncName(fname, 0, NULL, true)))
		return;
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT partkv_internal.installation_claim()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream worker: could not claim the installation of partkv");
	SPI_finish();
	PopActiveSnapshot();
}

/*
 * KvWorkerAttach takes this process's place in worker slot slotno; false
 * when the slot is no longer that of its database (or of its stream
 * worker, for a GSI worker).
 */
static bool
KvWorkerAttach(int slotno, Oid dboid, KvWorkerRole role)
{
	bool		ours;

	kv_role = role;
	kv_my_dboid = dboid;
	kv_my_slot = &kv_shared->slots[slotno];
	kv_me = &kv_my_slot->procs[role];
	SpinLockAcquire(&kv_shared->mutex);
	ours = kv_my_slot->dboid == dboid;
	if (role == KV_ROLE_GSI)
		ours &= kv_my_slot->procs[KV_ROLE_STREAM].pid == kv_parent_pid && kv_me->pid == 0;
	if (ours)
	{
		if (role == KV_ROLE_GSI)
			memset(kv_me, 0, sizeof(*kv_me));
		kv_me->pid = MyProcPid;
		kv_me->latch = MyLatch;
		if (role == KV_ROLE_STREAM)
			kv_my_slot->starting = false;
	}
	SpinLockRelease(&kv_shared->mutex);
	if (ours)
		before_shmem_exit(KvWorkerShmemExit, (Datum) 0);
	return ours;
}

/*
 * KvSuperviseGsiWorker (stream worker) starts the database's GSI worker,
 * and starts it again, with back-off, when it has exited.
 */
static void
KvSuperviseGsiWorker(int slotno)
{
	BackgroundWorker bgw;
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

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "partkv");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "partkv_gsi_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "partkv GSI worker for database \"%s\"", kv_my_dbname);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "partkv GSI worker");
	bgw.bgw_main_arg = Int32GetDatum(slotno);
	bgw.bgw_notify_pid = MyProcPid;
	memcpy(bgw.bgw_extra, &kv_my_dboid, sizeof(Oid));
	if (!RegisterDynamicBackgroundWorker(&bgw, &kv_gsi_handle))
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
 * GSI worker priority.  partkv.gsi_worker_nice is the GSI worker's nice
 * value.  Every postmaster child leads a session of its own (setsid()), and
 * with Linux's autogroup scheduling each session is a scheduling group
 * whose CPU share does not depend on its processes' nice values: there the
 * nice value of the worker's group is set instead -- which, unlike a
 * process's, an unprivileged process may also lower again.
 */
static int	kv_gsi_nice_now = 0;	/* the nice value in effect */
static bool kv_gsi_nice_failed = false; /* reported; not retried until SIGHUP */

/* KvAutogroupOwn tells whether the worker is alone in a Linux autogroup. */
static bool
KvAutogroupOwn(void)
{
#ifdef __linux__
	int			fd;
	char		c = '0';

	if (getsid(0) != getpid())
		return false;
	fd = OpenTransientFile("/proc/sys/kernel/sched_autogroup_enabled", O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = '0';
	CloseTransientFile(fd);
	return c == '1';
#else
	return false;
#endif
}

/* KvGsiWorkerSetNice sets partkv.gsi_worker_nice (see above). */
static void
KvGsiWorkerSetNice(void)
{
	int			nice = kv_gsi_worker_nice;
	int			rc;

	if (nice == kv_gsi_nice_now || kv_gsi_nice_failed)
		return;
	if (KvAutogroupOwn())
	{
		char		buf[16];
		int			len = snprintf(buf, sizeof(buf), "%d", nice);
		int			fd = OpenTransientFile("/proc/self/autogroup", O_WRONLY | PG_BINARY);

		rc = -1;
		if (fd >= 0)
		{
			rc = (write(fd, buf, len) == len) ? 0 : -1;
			CloseTransientFile(fd);
		}
		/* the kernel takes a new autogroup nice value every 100 ms at most */
		if (rc != 0 && errno == EAGAIN)
			return;
	}
	else
		rc = setpriority(PRIO_PROCESS, 0, nice);
	if (rc != 0)
	{
		ereport(LOG,
				(errmsg("partkv GSI worker could not set its nice value to %d: %m", nice),
				 errdetail("It keeps nice value %d.", kv_gsi_nice_now)));
		kv_gsi_nice_failed = true;
		return;
	}
	kv_gsi_nice_now = nice;
}

/*
 * Giving way.  A GSI worker more than partkv.gsi_yield_lag behind whose
 * batches wait for a CPU (run-queue delay) for more than half the time
 * they run is outpaced by foreground work that keeps every CPU busy: after
 * each such batch it sleeps, so that it takes no more than
 * partkv.gsi_yield_cpu percent of a CPU until it has caught up.  The
 * writers keep their throughput, and the backlog is worked off when the
 * load eases -- batches that find a CPU free do not sleep -- as
 * autovacuum's cost delay keeps maintenance from competing with queries.
 * A lower CPU priority would not do: a starved batch holds its
 * transaction open for seconds, and with it the horizon below which the
 * writers' HOT updates may prune the versions they leave behind.
 */
typedef struct KvSchedTimes
{
	int64		run_ns;			/* time on a CPU */
	int64		delay_ns;		/* time runnable, waiting for one */
} KvSchedTimes;

static bool kv_gsi_yielding = false;

/*
 * KvSchedSample reads the worker's scheduler times: Linux's
 * /proc/self/schedstat, else CPU time and, as delay, the rest of the time
 * elapsed (which counts I/O waits too).
 */
static void
KvSchedSample(KvSchedTimes *t)
{
	struct rusage ru;

#ifdef __linux__
	int			fd = OpenTransientFile("/proc/self/schedstat", O_RDONLY | PG_BINARY);

	if (fd >= 0)
	{
		char		buf[128];
		int			len = read(fd, buf, sizeof(buf) - 1);
		long long	run;
		long long	delay;

		CloseTransientFile(fd);
		if (len > 0)
		{
			buf[len] = '\0';
			if (sscanf(buf, "%lld %lld", &run, &delay) == 2)
			{
				t->run_ns = run;
				t->delay_ns = delay;
				return;
			}
		}
	}
#endif
	getrusage(RUSAGE_SELF, &ru);
	t->run_ns = ((int64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				 ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
	t->delay_ns = (int64) GetCurrentTimestamp() * 1000 - t->run_ns;
}

/*
 * KvGsiWorkerYield gives way after a loop (see above): behind tells whether
 * its batch stopped short of the end of WAL, before holds the scheduler
 * times sampled when the batch started.
 */
static void
KvGsiWorkerYield(bool behind, const KvSchedTimes *before)
{
	KvSchedTimes after;
	int64		run_ns;
	long		sleep_ms = 0;

	if (!behind)
		kv_gsi_yielding = false;
	else if (!kv_gsi_yielding && kv_gsi_yield_cpu < 100)
	{
		TimestampTz applied;

		SpinLockAcquire(&kv_shared->mutex);
		applied = kv_me->applied_commit;
		SpinLockRelease(&kv_shared->mutex);
		kv_gsi_yielding = applied != 0 &&
			TimestampDifferenceExceeds(applied, GetCurrentTimestamp(), kv_gsi_yield_lag_ms);
	}
	if (kv_gsi_yielding)
	{
		KvSchedSample(&after);
		run_ns = after.run_ns - before->run_ns;
		if (after.delay_ns - before->delay_ns > run_ns / 2)
			sleep_ms = Min(run_ns * (100 - kv_gsi_yield_cpu) / kv_gsi_yield_cpu / 1000000,
						   KV_GSI_MAX_YIELD_MS);
	}
	SpinLockAcquire(&kv_shared->mutex);
	kv_me->yielding = kv_gsi_yielding;
	SpinLockRelease(&kv_shared->mutex);
	/* the latch is not watched: every commit sets it */
	if (sleep_ms > 0)
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
						 PG_WAIT_EXTENSION);
}

/*
 * KvWorkerWaitForFreeSlot waits, saying so (log and serving state), while
 * no replication slot is free for the worker's own: the slot it creates
 * would fail, and a worker restarting with back-off would say less.
 */
static void
KvWorkerWaitForFreeSlot(const char *name)
{
	bool		said = false;

	while (KvFreeReplicationSlots() == 0)
	{
		KvWorkerServing(KV_SERVING_NO_SLOT, name);
		if (!said)
			ereport(WARNING,
					(errmsg("partkv %s worker of database \"%s\" cannot create its replication slot \"%s\": all replication slots are in use",
							kv_role == KV_ROLE_GSI ? "GSI" : "stream", kv_my_dbname, name),
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

/*
 * KvWorkerRun is the loop of a stream worker or GSI worker: see the file
 * header.  Both decode the database's WAL through a slot of their own; the
 * stream worker stores the stream and runs stream handlers, TTL and the
 * stream's maintenance, the GSI worker applies changes to GSIs and
 * backfills them.
 */
static void
KvWorkerRun(int slotno)
{
	char		name[NAMEDATALEN];
	RepOriginId originid;
	XLogRecPtr	origin_lsn;
	LogicalDecodingContext *ctx;
	TimestampTz next_maintenance = 0;
	const char *what = kv_role == KV_ROLE_GSI ? "GSI" : "stream";
	List	   *options;
	bool		lost;

	if (kv_role == KV_ROLE_GSI)
		KvGsiSlotName(MyDatabaseId, name);
	else
		KvStreamSlotName(MyDatabaseId, name);

	if (wal_level < WAL_LEVEL_LOGICAL)
	{
		ereport(LOG,
				(errmsg("partkv %s worker cannot run: wal_level must be \"logical\"", what)));
		KvWorkerExit(KV_EXIT_DISABLED);
	}

	/*
	 * Commit without waiting for WAL to be flushed (see KvConfirmFlushed):
	 * every transaction of the worker records its progress with its work.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	KvStreamTrustPlugin(GUC_ACTION_SET);

	kv_worker_cxt = AllocSetContextCreate(TopMemoryContext, "partkv stream worker",
										  ALLOCSET_DEFAULT_SIZES);
	kv_batch.context = AllocSetContextCreate(kv_worker_cxt, "partkv stream batch",
											 ALLOCSET_DEFAULT_SIZES);
	if (kv_role == KV_ROLE_GSI)
	{
		KvGsiWorkerInit();		/* global secondary indexes (src/index/gsi.c) */
		kv_gsi_change_hook = KvGsiCollectChange;
	}

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	strlcpy(kv_my_dbname, get_database_name(MyDatabaseId), NAMEDATALEN);
	if (!KvExtensionPresent())
	{
		CommitTransactionCommand();
		KvWorkerDropStream(name);
	}
	originid = KvEnsureOrigin(name);
	if (kv_role == KV_ROLE_STREAM)
	{
		char		gsi_name[NAMEDATALEN];

		KvGsiSlotName(MyDatabaseId, gsi_name);
		kv_decoder_skip_origin = KvEnsureOrigin(gsi_name);
		KvClaimInstallation();
	}
	else
		kv_decoder_skip_origin = originid;
	CommitTransactionCommand();

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
		while ((lost || kv_role == KV_ROLE_GSI) && !KvWorkerVersionReady(name))
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 kv_stream_naptime_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			if (KvWorkerStopRequested())
				KvWorkerExit(KV_EXIT_STOPPED);
		}
		if (lost)
			KvSlotLossBegin(name, kv_role == KV_ROLE_GSI ? "gsi" : "stream", originid,
							kv_my_dbname);
		KvWorkerWaitForFreeSlot(name);
		/* (a lost slot's rebuild is reported once the new slot exists) */
		if (kv_role == KV_ROLE_GSI && KvGsiRebuildAll() > 0 && !lost)
			ereport(LOG,
					(errmsg("partkv GSI worker of database \"%s\" has no replication slot yet: its GSIs are backfilled again",
							kv_my_dbname)));
		ereport(LOG,
				(errmsg("partkv %s worker is creating replication slot \"%s\"", what, name)));
		KvStreamCreateSlot(name);
	}
	ReplicationSlotAcquire(name, true);
	KvOriginSessionSetup(originid);
	replorigin_session_origin = originid;
	origin_lsn = replorigin_session_get_progress(false);
	/* a loss recorded before this slot was made is complete now */
	KvSlotLossRecovered(kv_role == KV_ROLE_GSI ? "gsi" : "stream", kv_my_dbname);

	/*
	 * Transactions that committed before the origin's LSN are done already:
	 * CreateDecodingContext skips them (and starts at the slot's confirmed
	 * position when that is later).  Records come as jsonb, not as text the
	 * worker would parse again; the GSI worker wants none.
	 */
	MemoryContextSwitchTo(kv_worker_cxt);
	options = list_make1(makeDefElem("binary-records", (Node *) makeString("on"), -1));
	if (kv_role == KV_ROLE_GSI)
		options = lappend(options, makeDefElem("records", (Node *) makeString("off"), -1));
	ctx = CreateDecodingContext(origin_lsn, options, false,
								XL_ROUTINE(.page_read = KvReadWalPage,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								KvWorkerPrepareWrite, KvWorkerWrite, NULL);
	XLogBeginRead(ctx->reader, MyReplicationSlot->data.restart_lsn);
	KvWorkerNotDecodingOnly();

	ereport(LOG,
			(errmsg("partkv %s worker started for database \"%s\"", what, kv_my_dbname),
			 errdetail("Changes are done up to %X/%X.", LSN_FORMAT_ARGS(origin_lsn))));

	for (;;)
	{
		bool		full = false;
		bool		behind = false;
		KvSchedTimes sched_before = {0};
		long		flush_wait = -1;
		TimestampTz now;
		TimestampTz batch_started;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			next_maintenance = 0;	/* the retention may have changed */
			if (kv_role == KV_ROLE_GSI)
			{
				kv_gsi_nice_failed = false;
				KvGsiWorkerSetNice();
			}
		}
		if (KvWorkerStopRequested())
			KvWorkerExit(KV_EXIT_STOPPED);
		KvConfirmFlushed(false);

		if (!KvWorkerVersionReady(name))
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 kv_stream_naptime_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			continue;
		}
		KvWorkerServing(KV_SERVING_RUNNING, NULL);

		now = GetCurrentTimestamp();
		if (kv_role == KV_ROLE_STREAM)
		{
			if (now >= next_maintenance)
			{
				KvWorkerMaintain(name);
				next_maintenance = TimestampTzPlusMilliseconds(now, KvPartitionWidth() * 500);
			}
			KvSuperviseGsiWorker(slotno);
		}

		batch_started = 0;
		if (KvDecodableEnd() > ctx->reader->EndRecPtr)
		{
			if (kv_batch_limit < kv_stream_batch_size)
				kv_batch_limit = kv_stream_batch_size;
			batch_started = now;
			if (kv_role == KV_ROLE_GSI)
				KvSchedSample(&sched_before);
			full = behind = KvWorkerBatch(ctx, name);
			kv_batch_limit = full ? Min(kv_batch_limit * 2,
										kv_stream_batch_size * (kv_role == KV_ROLE_GSI ? 1 : KV_BATCH_GROWTH))
				: kv_stream_batch_size;
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
		if (kv_role == KV_ROLE_GSI)
			KvGsiWorkerYield(behind, &sched_before);

		if (kv_role == KV_ROLE_STREAM)
		{
			/* stream handlers: their own workers, one per role (handlers.c) */
			KvSuperviseStreamHandlers();
			/* Time to Live: a batch per TTL table when due (src/ttl) */
			if (KvTtlWorkerRun())
				full = true;
		}
		/* GSI backfill, one batch per loop in its own transaction (src/index/gsi.c) */
		else if (KvGsiBackfillStep(kv_stream_naptime_ms, kv_stream_batch_size))
			full = true;
		MemoryContextSwitchTo(kv_worker_cxt);

		if (!full && batch_started != 0)
			KvWorkerPace(batch_started);
		else if (!full)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 flush_wait > 0 ? Min(flush_wait, kv_stream_naptime_ms) : kv_stream_naptime_ms,
							 PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
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
 * partkv_stream_worker_main materialises the change stream of one
 * database and supervises its GSI worker (see the file header).
 */
void
partkv_stream_worker_main(Datum main_arg)
{
	int			slotno = DatumGetInt32(main_arg);
	Oid			dboid;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!KvWorkerAttach(slotno, dboid, KV_ROLE_STREAM))
		proc_exit(0);
	if (KvStreamIsPaused(dboid) || KvWorkerStopRequested())
		KvWorkerExit(KV_EXIT_STOPPED);

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	KvWorkerSecureSession();	/* src/common/safesql.h */
	pgstat_report_appname("partkv stream worker");
	KvWorkerRunRecorded(slotno);
}

/*
 * partkv_gsi_worker_main keeps the GSIs of one database up to date, for
 * the stream worker that started it (see the file header).
 */
void
partkv_gsi_worker_main(Datum main_arg)
{
	int			slotno = DatumGetInt32(main_arg);
	Oid			dboid;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	kv_parent_pid = MyBgworkerEntry->bgw_notify_pid;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!KvWorkerAttach(slotno, dboid, KV_ROLE_GSI) || KvWorkerStopRequested())
		proc_exit(0);
	KvGsiWorkerSetNice();

	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	KvWorkerSecureSession();	/* src/common/safesql.h */
	pgstat_report_appname("partkv GSI worker");
	KvWorkerRunRecorded(slotno);
}
