/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  The stream's hooks in every backend.
 *
 * A utility hook stops the database's workers, and keeps them stopped,
 * while DROP DATABASE, CREATE DATABASE ... TEMPLATE, ALTER DATABASE ...
 * RENAME / SET TABLESPACE need the database free of connections; it makes
 * the database's replication slots and origins as CREATE EXTENSION partkv
 * starts, so that no change made once the extension exists is missed.  A
 * transaction callback tells the launcher to look at the database again
 * once CREATE/DROP EXTENSION or CREATE DATABASE has ended, and the table
 * AM's commit hook wakes the database's workers when kv rows were written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/value.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "../common/serving.h"
#include "../storage/tableam.h"
#include "replslot.h"
#include "utility.h"
#include "workerstate.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* CREATE/DROP EXTENSION partkv in this transaction: wake the launcher at its end */
static bool kv_wake_at_eoxact = false;

/* CREATE DATABASE in this transaction: have the launcher look at it at commit */
static Oid	kv_new_database = InvalidOid;

/* database kept free of stream workers until this transaction ends */
static Oid	kv_paused_database = InvalidOid;

static void KvStreamResume(Oid dboid);

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
 * KvStreamCheckServable, for CREATE EXTENSION partkv, fails when the
 * database's replication slots cannot be made for lack of free slots: the
 * extension would be there, its stream, GSIs and TTL never served.  A
 * server that will not run the database's workers for another reason
 * (wal_level, partkv.stream_max_workers) still serves tables: that only warns
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

					/*
					 * The workers read the catalogs DROP EXTENSION drops, in
					 * transactions of their own: had they locks when the drop
					 * came, the deadlock check could pick the user's command.
					 * They stop first; once the drop commits, the stream
					 * worker restarts, finds no extension and removes its slot
					 * and origin.
					 */
					if (dropping_ext)
						pause_db = MyDatabaseId;
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
 * KvStreamHooksInit is _PG_init's part for the stream's hooks in every
 * backend: database commands, CREATE/DROP EXTENSION, commits that wrote kv
 * rows.
 */
void
KvStreamHooksInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = KvStreamProcessUtility;
	RegisterXactCallback(KvStreamXactCallback, NULL);
	kv_commit_wrote_hook = KvWakeAfterWrite;
}
