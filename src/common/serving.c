/*-------------------------------------------------------------------------
 *
 * serving.c
 *	  Whether the change stream, the GSIs and TTL of a database are being
 *	  served, told without guessing.
 *
 * Each background worker records its own state in shared memory -- running,
 * waiting for ALTER EXTENSION partkv UPDATE, waiting for a free replication
 * slot, failed (with its last error) -- and the launcher (or the stream
 * worker, for its GSI worker) records a worker it could not start: no free
 * background worker process, or partkv.max_workers serving other
 * databases.  A backend reads that, with the settings it can see itself
 * (wal_level, partkv.max_workers = 0), and tells:
 *  - served;
 *  - not yet served, but it will be once a worker starts (transient): a
 *	  status, never an error;
 *  - not served until something changes (a setting, an ALTER EXTENSION
 *	  UPDATE, a worker that keeps failing): a status wherever status is
 *	  shown, and an error where the user acts (creating a stream, a GSI,
 *	  enabling TTL, reading a GSI, waiting for the stream).
 * Entries are per database and worker, kept after the worker exits (its
 * failure must outlive it); a full table forgets its oldest entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "jsonbuild.h"
#include "serving.h"

PG_FUNCTION_INFO_V1(partkv_serving);
PG_FUNCTION_INFO_V1(partkv_check_served);
PG_FUNCTION_INFO_V1(partkv_serving_status);

/* a worker that failed this often in a row is not served until someone looks */
#define KV_SERVING_LASTING_FAILURES 3
/* a failure this long after the previous start is a first failure again */
#define KV_SERVING_FAILURE_RESET_MS 60000

#define KV_SERVING_DETAIL 256

typedef struct KvServingEntry
{
	Oid			dboid;			/* InvalidOid: free */
	KvServingWorker worker;
	KvServingState state;
	pid_t		pid;			/* the worker that recorded it, while it runs */
	int			failures;		/* failures in a row */
	TimestampTz since;
	char		detail[KV_SERVING_DETAIL];	/* error, version or slot name */
} KvServingEntry;

typedef struct KvServingShared
{
	slock_t		mutex;
	int			nentries;
	KvServingEntry entries[FLEXIBLE_ARRAY_MEMBER];
} KvServingShared;

static KvServingShared *kv_serving = NULL;
static int	kv_serving_max_workers = 0;

/*
 * Room for both workers of every database partkv.max_workers allows, and
 * for what the launcher records of databases it found no room for.
 */
static Size
KvServingShmemSize(void)
{
	return add_size(offsetof(KvServingShared, entries),
					mul_size(2 * kv_serving_max_workers + 64, sizeof(KvServingEntry)));
}

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* KvServingShmemRequest asks for the status table. */
static void
KvServingShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(KvServingShmemSize());
}

/* KvServingShmemStartup creates or attaches to the status table. */
static void
KvServingShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	kv_serving = ShmemInitStruct("partkv serving", KvServingShmemSize(), &found);
	if (!found)
	{
		memset(kv_serving, 0, KvServingShmemSize());
		SpinLockInit(&kv_serving->mutex);
		kv_serving->nentries = 2 * kv_serving_max_workers + 64;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * KvServingInit installs the shared memory hooks; max_workers is
 * partkv.max_workers, a restart-only setting.
 */
void
KvServingInit(int max_workers)
{
	kv_serving_max_workers = max_workers;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = KvServingShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = KvServingShmemStartup;
}

/*
 * KvServingFind returns the entry of a database's worker; with create, a
 * free one (or the oldest) made its.  Caller holds the mutex.
 */
static KvServingEntry *
KvServingFind(Oid dboid, KvServingWorker worker, bool create)
{
	KvServingEntry *oldest = NULL;
	KvServingEntry *free_entry = NULL;

	for (int i = 0; i < kv_serving->nentries; i++)
	{
		KvServingEntry *e = &kv_serving->entries[i];

		if (e->dboid == dboid && e->worker == worker && OidIsValid(dboid))
			return e;
		if (!OidIsValid(e->dboid))
		{
			if (free_entry == NULL)
				free_entry = e;
		}
		else if (e->pid == 0 && (oldest == NULL || e->since < oldest->since))
			oldest = e;
	}
	if (!create)
		return NULL;
	if (free_entry == NULL)
		free_entry = oldest;
	if (free_entry == NULL)
		return NULL;			/* every entry is a running worker's */
	memset(free_entry, 0, sizeof(KvServingEntry));
	free_entry->dboid = dboid;
	free_entry->worker = worker;
	return free_entry;
}

/*
 * KvServingSet records the state of a database's worker.  The states a
 * worker records while it runs (running, waiting) carry its pid; those
 * recorded by whoever could not start it do not.
 */
void
KvServingSet(Oid dboid, KvServingWorker worker, KvServingState state, const char *detail)
{
	KvServingEntry *e;
	bool		own = (state == KV_SERVING_RUNNING || state == KV_SERVING_UPDATE ||
					   state == KV_SERVING_NO_SLOT);
	TimestampTz now = GetCurrentTimestamp();

	if (kv_serving == NULL)
		return;
	SpinLockAcquire(&kv_serving->mutex);
	e = KvServingFind(dboid, worker, true);
	if (e != NULL)
	{
		if (e->state != state || (own && e->pid != MyProcPid))
			e->since = now;
		if (state == KV_SERVING_FAILED)
		{
			/* a worker that ran a while failed afresh */
			bool		ran = (e->state == KV_SERVING_RUNNING || e->state == KV_SERVING_EXITED) &&
				TimestampDifferenceExceeds(e->since, now, KV_SERVING_FAILURE_RESET_MS);

			e->failures = ran ? 1 : e->failures + 1;
			e->since = now;
		}
		e->state = state;
		e->pid = own ? MyProcPid : 0;
		strlcpy(e->detail, detail ? detail : "", KV_SERVING_DETAIL);
	}
	SpinLockRelease(&kv_serving->mutex);
}

/*
 * KvServingRecordError records the error being handled as the worker's
 * failure (from its PG_CATCH, before the error ends it).
 */
void
KvServingRecordError(Oid dboid, KvServingWorker worker)
{
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	ErrorData  *edata = CopyErrorData();

	MemoryContextSwitchTo(old);
	KvServingSet(dboid, worker, KV_SERVING_FAILED, edata->message);
	FreeErrorData(edata);
}

/*
 * KvServingExited notes that this process, a database's worker, is
 * exiting: a running worker becomes one being restarted; what it waited
 * for, or why it failed, stays true after it.
 */
void
KvServingExited(Oid dboid, KvServingWorker worker)
{
	KvServingEntry *e;

	if (kv_serving == NULL)
		return;
	SpinLockAcquire(&kv_serving->mutex);
	e = KvServingFind(dboid, worker, false);
	if (e != NULL && e->pid == MyProcPid)
	{
		e->pid = 0;
		if (e->state == KV_SERVING_RUNNING)
		{
			e->state = KV_SERVING_EXITED;
			e->since = GetCurrentTimestamp();
		}
	}
	SpinLockRelease(&kv_serving->mutex);
}

/* KvServingForget drops what is known of a database (it has no extension). */
void
KvServingForget(Oid dboid)
{
	if (kv_serving == NULL)
		return;
	SpinLockAcquire(&kv_serving->mutex);
	for (int i = 0; i < kv_serving->nentries; i++)
		if (kv_serving->entries[i].dboid == dboid)
			memset(&kv_serving->entries[i], 0, sizeof(KvServingEntry));
	SpinLockRelease(&kv_serving->mutex);
}

/* KvServingStateOf returns the recorded state of a database's worker. */
KvServingState
KvServingStateOf(Oid dboid, KvServingWorker worker)
{
	KvServingEntry *e;
	KvServingState state = KV_SERVING_NONE;

	if (kv_serving == NULL)
		return state;
	SpinLockAcquire(&kv_serving->mutex);
	e = KvServingFind(dboid, worker, false);
	if (e != NULL)
		state = e->state;
	SpinLockRelease(&kv_serving->mutex);
	return state;
}

/* KvFreeReplicationSlots counts the replication slots not in use. */
int
KvFreeReplicationSlots(void)
{
	int			n = 0;

	if (ReplicationSlotCtl == NULL)
		return 0;
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (int i = 0; i < max_replication_slots; i++)
		if (!ReplicationSlotCtl->replication_slots[i].in_use)
			n++;
	LWLockRelease(ReplicationSlotControlLock);
	return n;
}

/*
 * KvSlotConfirmedFlush returns up to where replication slot name's
 * consumer is done (InvalidXLogRecPtr without such a slot): what WAL it
 * keeps while no worker reads it.
 */
XLogRecPtr
KvSlotConfirmedFlush(const char *name)
{
	XLogRecPtr	confirmed = InvalidXLogRecPtr;
	ReplicationSlot *slot;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(name, false);
	if (slot != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		confirmed = slot->data.confirmed_flush;
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);
	return confirmed;
}

/* KvServingNot fills out as not served. */
static void
KvServingNot(KvServing *out, bool transient, int sqlstate, char *reason, char *hint)
{
	out->served = false;
	out->transient = transient;
	out->sqlstate = sqlstate;
	out->reason = reason;
	out->hint = hint;
}

/*
 * The version of the extension's SQL objects this library's worker writes
 * (partkv.control's default_version).  A database still at an older
 * version, whose ALTER EXTENSION partkv UPDATE has not run yet, keeps its
 * WAL in the slot until it has.
 */
/* KvInstalledVersion returns the version of partkv in pg_extension, or NULL. */
char *
KvInstalledVersion(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *version = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("partkv"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			version = TextDatumGetCString(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return version;
}

/*
 * KvServingWorkerOf tells whether one worker of a database does its work,
 * from what it (or whoever could not start it) recorded.
 */
static void
KvServingWorkerOf(Oid dboid, KvServingWorker worker, KvServing *out)
{
	KvServingEntry e = {0};
	KvServingEntry *found;
	const char *what = worker == KV_SERVING_GSI_WORKER ? "GSI" : "stream";
	char	   *dbname;

	if (kv_serving != NULL)
	{
		SpinLockAcquire(&kv_serving->mutex);
		found = KvServingFind(dboid, worker, false);
		if (found != NULL)
			e = *found;
		SpinLockRelease(&kv_serving->mutex);
	}

	memset(out, 0, sizeof(KvServing));
	if (e.state == KV_SERVING_RUNNING && e.pid != 0)
	{
		out->served = true;
		return;
	}
	/* only now: a catalog lookup */
	dbname = get_database_name(dboid);
	if (dbname == NULL)
		dbname = psprintf("%u", dboid);
	switch (e.state)
	{
		case KV_SERVING_RUNNING:
		case KV_SERVING_EXITED:
			KvServingNot(out, true, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						 psprintf("The partkv %s worker of database \"%s\" is restarting.", what, dbname),
						 NULL);
			return;
		case KV_SERVING_NONE:
			KvServingNot(out, true, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						 psprintf("The partkv %s worker of database \"%s\" is starting.", what, dbname),
						 NULL);
			return;
		case KV_SERVING_UPDATE:
			/* updated since the worker looked: it will see so within a naptime */
			{
				char	   *installed = dboid == MyDatabaseId ? KvInstalledVersion() : NULL;

				if (installed != NULL && strcmp(installed, KV_SQL_VERSION) == 0)
				{
					KvServingNot(out, true, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
								 psprintf("The partkv %s worker of database \"%s\" is starting after ALTER EXTENSION partkv UPDATE.",
										  what, dbname),
								 NULL);
					return;
				}
			}
			KvServingNot(out, false, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						 psprintf("Database \"%s\" %s: the partkv %s worker waits for ALTER EXTENSION partkv UPDATE, keeping the changes made meanwhile in its replication slot.",
								  dbname, e.detail, what),
						 psprintf("Run ALTER EXTENSION partkv UPDATE in database \"%s\".", dbname));
			return;
		case KV_SERVING_NO_SLOT:
			/* the worker looks again every second */
			if (KvFreeReplicationSlots() > 0)
			{
				KvServingNot(out, true, ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
							 psprintf("The partkv %s worker of database \"%s\" waits for a free replication slot; one is free now.",
									  what, dbname),
							 NULL);
				return;
			}
			KvServingNot(out, false, ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
						 psprintf("The partkv %s worker of database \"%s\" cannot create its replication slot \"%s\": all %d replication slots are in use.",
								  what, dbname, e.detail, max_replication_slots),
						 pstrdup("Raise max_replication_slots (partkv needs two per database using it; this needs a restart) or drop a replication slot that is not used: the worker retries by itself."));
			return;
		case KV_SERVING_NO_PROCESS:
			KvServingNot(out, false, ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
						 psprintf("The partkv %s worker of database \"%s\" cannot be started: all %d background worker processes are in use.",
								  what, dbname, max_worker_processes),
						 pstrdup("Raise max_worker_processes (partkv needs two per database using it, and one more; this needs a restart)."));
			return;
		case KV_SERVING_MAX_WORKERS:
			KvServingNot(out, false, ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
						 psprintf("No partkv worker can be started for database \"%s\": all %d workers that partkv.max_workers allows serve other databases.",
								  dbname, kv_serving_max_workers),
						 pstrdup("Raise partkv.max_workers (this needs a restart)."));
			return;
		case KV_SERVING_FAILED:
			KvServingNot(out, e.failures < KV_SERVING_LASTING_FAILURES,
						 ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						 psprintf("The partkv %s worker of database \"%s\" failed %d time%s in a row and is restarted with back-off; its last error: %s",
								  what, dbname, e.failures, e.failures == 1 ? "" : "s", e.detail),
						 pstrdup("See the server log."));
			return;
	}
}

/*
 * KvServingOf tells whether a feature of a database is served: the stream
 * (and stream handlers) by its stream worker; GSIs by its GSI worker,
 * which the stream worker starts; TTL by the stream worker, every
 * partkv.ttl_interval.
 */
void
KvServingOf(Oid dboid, KvServingFeature feature, KvServing *out)
{
	const char *ttl_interval;

	memset(out, 0, sizeof(KvServing));
	if (wal_level < WAL_LEVEL_LOGICAL)
	{
		KvServingNot(out, false, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					 psprintf("wal_level is \"%s\": the partkv workers read changes by logical decoding, which needs \"logical\".",
							  GetConfigOption("wal_level", false, false)),
					 pstrdup("Set wal_level = logical and restart the server."));
		return;
	}
	if (kv_serving_max_workers == 0)
	{
		KvServingNot(out, false, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					 pstrdup("partkv.max_workers is 0: no partkv worker runs."),
					 pstrdup("Set partkv.max_workers to at least the number of databases using partkv and restart the server."));
		return;
	}
	if (RecoveryInProgress())
	{
		/* what the primary's workers write arrives here through WAL */
		KvServingNot(out, true, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
					 pstrdup("This server is a standby: the partkv workers run on the primary, and start here once it is promoted."),
					 NULL);
		return;
	}
	KvServingWorkerOf(dboid, KV_SERVING_STREAM_WORKER, out);
	if (!out->served)
		return;
	if (feature == KV_FEATURE_GSI)
		KvServingWorkerOf(dboid, KV_SERVING_GSI_WORKER, out);
	else if (feature == KV_FEATURE_TTL)
	{
		ttl_interval = GetConfigOption("partkv.ttl_interval", true, false);
		if (ttl_interval != NULL && strcmp(ttl_interval, "0") == 0)
			KvServingNot(out, false, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
						 pstrdup("partkv.ttl_interval is 0: expired items are deleted only by partkv.run_ttl_sweep()."),
						 pstrdup("Set partkv.ttl_interval and reload the configuration to have them deleted in the background."));
	}
}

/*
 * KvServingCheck raises message (the errmsg) when the current database's
 * feature will not be served until something changes; a transient state
 * passes, as does TTL turned off by partkv.ttl_interval = 0 (a setting
 * that means "only partkv.run_ttl_sweep()").
 */
void
KvServingCheck(KvServingFeature feature, const char *message)
{
	KvServing s;

	KvServingOf(MyDatabaseId, feature == KV_FEATURE_TTL ? KV_FEATURE_STREAM : feature, &s);
	if (s.served || s.transient)
		return;
	ereport(ERROR,
			(errcode(s.sqlstate),
			 errmsg("%s", message),
			 errdetail("%s", s.reason),
			 s.hint ? errhint("%s", s.hint) : 0));
}

/* KvServingFeatureArg reads a feature name: 'stream', 'gsi' or 'ttl'. */
static KvServingFeature
KvServingFeatureArg(text *arg)
{
	char	   *name = text_to_cstring(arg);

	if (strcmp(name, "stream") == 0)
		return KV_FEATURE_STREAM;
	if (strcmp(name, "gsi") == 0)
		return KV_FEATURE_GSI;
	if (strcmp(name, "ttl") == 0)
		return KV_FEATURE_TTL;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown partkv feature \"%s\"", name),
			 errhint("Use \"stream\", \"gsi\" or \"ttl\".")));
	pg_unreachable();
}

/*
 * KvServingJson is partkv's own member of a description of something not
 * served: {"Served": false, "Transient": ..., "Reason": ..., "Hint": ...}.
 */
static Datum
KvServingJson(const KvServing *s)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	KvPushBool(&state, "Served", false);
	KvPushBool(&state, "Transient", s->transient);
	KvPushString(&state, "Reason", s->reason);
	if (s->hint != NULL)
		KvPushString(&state, "Hint", s->hint);
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(result));
}

/*
 * partkv_serving(feature text) returns NULL when the current database's
 * feature ('stream', 'gsi', 'ttl') is served, else partkv's member saying
 * why not (see KvServingJson).
 */
Datum
partkv_serving(PG_FUNCTION_ARGS)
{
	KvServing	s;

	KvServingOf(MyDatabaseId, KvServingFeatureArg(PG_GETARG_TEXT_PP(0)), &s);
	if (s.served)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(KvServingJson(&s));
}

/*
 * partkv_check_served(feature text, table_name text, index_name text)
 * raises an error when what the user asks for -- a stream, a GSI, TTL of a
 * table -- would not be served until something changes.
 */
Datum
partkv_check_served(PG_FUNCTION_ARGS)
{
	KvServingFeature feature = KvServingFeatureArg(PG_GETARG_TEXT_PP(0));
	char	   *table_name = PG_ARGISNULL(1) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *message;

	if (feature == KV_FEATURE_GSI)
		message = psprintf("partkv cannot maintain global secondary index \"%s\" of table \"%s\"",
						   PG_ARGISNULL(2) ? "?" : text_to_cstring(PG_GETARG_TEXT_PP(2)), table_name);
	else if (feature == KV_FEATURE_TTL)
		message = psprintf("partkv cannot delete the expired items of table \"%s\"", table_name);
	else
		message = psprintf("partkv cannot serve the stream of table \"%s\"", table_name);
	KvServingCheck(feature, message);
	PG_RETURN_VOID();
}

/*
 * partkv_serving_status() returns one row per feature of the current
 * database: feature, served, transient, reason, hint, and the pid of the
 * worker serving it and since when it is in its state.
 */
Datum
partkv_serving_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const char *const names[] = {"stream", "gsi", "ttl"};

	InitMaterializedSRF(fcinfo, 0);
	for (int f = 0; f < lengthof(names); f++)
	{
		KvServing	s;
		KvServingEntry e = {0};
		KvServingEntry *found = NULL;
		Datum		values[7];
		bool		nulls[7] = {0};

		KvServingOf(MyDatabaseId, (KvServingFeature) f, &s);
		if (kv_serving != NULL)
		{
			SpinLockAcquire(&kv_serving->mutex);
			found = KvServingFind(MyDatabaseId, f == KV_FEATURE_GSI ? KV_SERVING_GSI_WORKER
								  : KV_SERVING_STREAM_WORKER, false);
			if (found != NULL)
				e = *found;
			SpinLockRelease(&kv_serving->mutex);
		}
		values[0] = CStringGetTextDatum(names[f]);
		values[1] = BoolGetDatum(s.served);
		values[2] = BoolGetDatum(!s.served && s.transient);
		nulls[3] = s.reason == NULL;
		values[3] = s.reason ? CStringGetTextDatum(s.reason) : (Datum) 0;
		nulls[4] = s.hint == NULL;
		values[4] = s.hint ? CStringGetTextDatum(s.hint) : (Datum) 0;
		nulls[5] = found == NULL || e.pid == 0;
		values[5] = Int32GetDatum(e.pid);
		nulls[6] = found == NULL || e.since == 0;
		values[6] = TimestampTzGetDatum(e.since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
