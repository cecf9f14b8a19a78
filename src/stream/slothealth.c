/*-------------------------------------------------------------------------
 *
 * slothealth.c
 *	  The health of the workers' replication slots.
 *
 * A slot keeps the WAL its worker has not consumed.  A worker that stalls
 * (a lock it waits for, a long handler, a crash loop) makes the server keep
 * WAL without bound -- or, with max_slot_wal_keep_size, makes PostgreSQL
 * invalidate the slot at a checkpoint, after which the WAL the worker still
 * needed is gone.  So:
 *
 * - partkv.stream_backlog (partkv_worker_progress below, with
 *   pg_replication_slots) shows each worker's backlog, the WAL its slot
 *   keeps and how long it has been behind; the launcher, which runs
 *   whatever the workers do, warns in the server log when a slot's backlog
 *   has stayed past partkv.stream_backlog_warning for KV_BACKLOG_GRACE_MS (a burst
 *   the worker works off at once is no news), at most every
 *   KV_BACKLOG_WARN_INTERVAL_MS per slot (KvBacklogCheck).
 *
 * - A worker that finds its slot invalidated records the loss in
 *   partkv.lost_slots (from where its work was done), drops the slot and
 *   creates a new one (KvSlotLossBegin), then completes the record with
 *   where the new slot starts and says so in the log (KvSlotLossRecovered).
 *   For the stream worker the record is a gap in the stream, which readers
 *   and handlers are told about (the stream's SQL functions); the GSI
 *   worker backfills every GSI again, as it does with any new slot.  The
 *   record is committed and flushed before the slot is dropped, so a crash
 *   in between cannot lose the gap: a worker restarting without a slot, or
 *   with a new one, completes the open record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "../common/gucalias.h"
#include "slothealth.h"
#include "workerstate.h"

/*
 * Version differences: PG 16 records why a slot was invalidated
 * (data.invalidated, upstream be87200efd93); PG 15 clears its restart_lsn
 * and keeps the old one in invalidated_at.
 */
#if PG_VERSION_NUM >= 160000
#define KvSlotDataLost(d) ((d).invalidated != RS_INVAL_NONE)
#else
#define KvSlotDataLost(d) \
	(XLogRecPtrIsInvalid((d).restart_lsn) && !XLogRecPtrIsInvalid((d).invalidated_at))
#endif

PG_FUNCTION_INFO_V1(partkv_worker_progress);

/* partkv.stream_backlog_warning, in kB; -1: never warn */
static int	kv_backlog_warning_kb = 1024 * 1024;

/* a slot's backlog warning is not repeated sooner than this */
#define KV_BACKLOG_WARN_INTERVAL_MS (5 * 60 * 1000)
/* how long a backlog stays past the threshold before it is warned about */
#define KV_BACKLOG_GRACE_MS (10 * 1000)

/* KvSlotHealthInit defines partkv.stream_backlog_warning (and its old name). */
void
KvSlotHealthInit(void)
{
	DefineCustomIntVariable("partkv.stream_backlog_warning",
							"Backlog of a stream or GSI worker's replication slot past which the server log gets a WARNING.",
							"The backlog is the WAL written since the slot's confirmed position (see partkv.stream_backlog). "
							"It must stay past this for 10 seconds; the warning is repeated at most every 5 minutes per slot. -1 turns it off.",
							&kv_backlog_warning_kb, 1024 * 1024, -1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	KvDefineGucAlias("partkv.backlog_warning", "partkv.stream_backlog_warning");
}

/*
 * KvSlotRead copies what this file needs of the named slot; false when
 * there is no such slot.
 */
static bool
KvSlotRead(const char *name, XLogRecPtr *confirmed, bool *lost)
{
	ReplicationSlot *slot;

	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	slot = SearchNamedReplicationSlot(name, false);
	if (slot != NULL)
	{
		SpinLockAcquire(&slot->mutex);
		*confirmed = slot->data.confirmed_flush;
		*lost = KvSlotDataLost(slot->data);
		SpinLockRelease(&slot->mutex);
	}
	LWLockRelease(ReplicationSlotControlLock);
	return slot != NULL;
}

/* KvSlotIsLost tells whether the named slot exists and was invalidated. */
bool
KvSlotIsLost(const char *name)
{
	XLogRecPtr	confirmed;
	bool		lost = false;

	return KvSlotRead(name, &confirmed, &lost) && lost;
}

/*
 * KvSlotLossBegin records, in a transaction of its own made durable before
 * anything else happens, that the worker's slot is lost and its work done
 * up to the later of its origin's progress and the slot's confirmed
 * position; then drops the slot.  An open record left by an earlier
 * attempt is kept.  Must run where no transaction is open.
 */
void
KvSlotLossBegin(const char *name, const char *worker, RepOriginId origin,
				const char *dbname)
{
	XLogRecPtr	confirmed = InvalidXLogRecPtr;
	bool		lost = false;
	XLogRecPtr	done;
	Oid			argtypes[3] = {TEXTOID, NAMEOID, LSNOID};
	Datum		args[3];
	MemoryContext cxt = CurrentMemoryContext;

	if (!KvSlotRead(name, &confirmed, &lost))
		return;
	done = Max(replorigin_get_progress(origin, false), confirmed);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	args[0] = CStringGetTextDatum(worker);
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(name));
	args[2] = LSNGetDatum(done);
	if (SPI_execute_with_args("INSERT INTO partkv.lost_slots (worker, slot_name, from_lsn)"
							  " SELECT $1, $2, $3"
							  "  WHERE NOT EXISTS (SELECT 1 FROM partkv.lost_slots l"
							  "                     WHERE l.worker = $1 AND l.to_lsn IS NULL)",
							  3, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "partkv: could not record the loss of replication slot \"%s\"", name);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	/* the worker commits asynchronously: this record must outlive the slot */
	XLogFlush(XactLastCommitEnd);

	ReplicationSlotDrop(name, true);
	ereport(LOG,
			(errmsg("partkv %s worker of database \"%s\" dropped replication slot \"%s\", which PostgreSQL invalidated",
					strcmp(worker, "gsi") == 0 ? "GSI" : "stream", dbname, name),
			 errdetail("Its work was done up to %X/%X; the WAL after that is gone. It creates a new slot now.",
					   LSN_FORMAT_ARGS(done))));
}

/*
 * KvSlotLossRecovered completes the worker's open loss record, if any, with
 * where its new slot (MyReplicationSlot) starts, and reports the loss as a
 * WARNING: the changes committed in between are lost to the stream, or,
 * for the GSI worker, every GSI is backfilled again.
 */
void
KvSlotLossRecovered(const char *worker, const char *dbname)
{
	XLogRecPtr	resumed = MyReplicationSlot->data.confirmed_flush;
	XLogRecPtr	from = InvalidXLogRecPtr;
	char		slot_name[NAMEDATALEN] = "";
	int64		affected = 0;
	bool		found = false;
	bool		isnull;
	Oid			argtypes[2] = {TEXTOID, LSNOID};
	Datum		args[2];
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	/* a database whose partkv predates 0.5 has no record to complete */
	if (SPI_execute("SELECT pg_catalog.to_regclass('partkv.lost_slots') IS NOT NULL", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "partkv: could not look for partkv.lost_slots");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
	{
		args[0] = CStringGetTextDatum(worker);
		args[1] = LSNGetDatum(resumed);
		if (SPI_execute_with_args("UPDATE partkv.lost_slots l SET to_lsn = $2, recovered_at = now()"
								  " WHERE l.worker = $1 AND l.to_lsn IS NULL"
								  " RETURNING l.slot_name::text, l.from_lsn,"
								  "  CASE WHEN $1 = 'gsi' THEN (SELECT count(*) FROM partkv.gsi_indexes)"
								  "       ELSE (SELECT count(DISTINCT s.table_id) FROM partkv.streams s"
								  "              WHERE s.created_lsn < $2"
								  "                AND (s.disabled_lsn IS NULL OR s.disabled_lsn > l.from_lsn)) END",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE_RETURNING)
			elog(ERROR, "partkv: could not complete the record of a lost replication slot");
		if (SPI_processed > 0)
		{
			char	   *s = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			strlcpy(slot_name, s, NAMEDATALEN);
			from = DatumGetLSN(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
			affected = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
			found = true;
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (!found)
		return;
	XLogFlush(XactLastCommitEnd);

	if (strcmp(worker, "gsi") == 0)
		ereport(WARNING,
				(errmsg("partkv GSI worker of database \"%s\" lost its replication slot \"%s\": every GSI is backfilled again",
						dbname, slot_name),
				 errdetail_plural("PostgreSQL invalidated the slot (max_slot_wal_keep_size) while the worker was behind: the changes committed between WAL positions %X/%X and %X/%X (%s of WAL) were never applied to the GSIs. "
								  "The %lld GSI of the database was emptied and is backfilled from its table (IndexStatus CREATING until ACTIVE).",
								  "PostgreSQL invalidated the slot (max_slot_wal_keep_size) while the worker was behind: the changes committed between WAL positions %X/%X and %X/%X (%s of WAL) were never applied to the GSIs. "
								  "The %lld GSIs of the database were emptied and are backfilled from their tables (IndexStatus CREATING until ACTIVE).",
								  (unsigned long) affected,
								  LSN_FORMAT_ARGS(from), LSN_FORMAT_ARGS(resumed),
						   text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty, Int64GetDatum((int64) (resumed - from))))),
						   (long long) affected),
				 errhint("Watch partkv.stream_backlog and set partkv.stream_backlog_warning to hear of a worker falling behind before its slot is lost.")));
	else
		ereport(WARNING,
				(errmsg("partkv stream of database \"%s\" lost changes: PostgreSQL invalidated replication slot \"%s\"",
						dbname, slot_name),
				 errdetail_plural("The changes committed between WAL positions %X/%X and %X/%X (%s of WAL; %lld table had a stream then) never reached the stream; their number is unknown, their WAL is gone. "
								  "Readers of stream records in that range get TrimmedDataAccessException, TRIM_HORIZON starts after it, and each stream handler records it as a dead letter and goes on after it (partkv.lost_slots).",
								  "The changes committed between WAL positions %X/%X and %X/%X (%s of WAL; %lld tables had a stream then) never reached the stream; their number is unknown, their WAL is gone. "
								  "Readers of stream records in that range get TrimmedDataAccessException, TRIM_HORIZON starts after it, and each stream handler records it as a dead letter and goes on after it (partkv.lost_slots).",
								  (unsigned long) affected,
								  LSN_FORMAT_ARGS(from), LSN_FORMAT_ARGS(resumed),
						   text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty, Int64GetDatum((int64) (resumed - from))))),
						   (long long) affected),
				 errhint("Rebuild what consumers derived from the stream (read models) from the tables. "
						 "Watch partkv.stream_backlog and set partkv.stream_backlog_warning to hear of a worker falling behind before its slot is lost.")));
}

/* ----------------------------------------------------------------
 * Backlog warnings (launcher)
 * ----------------------------------------------------------------
 */

/* what the launcher remembers of a slot it warned about */
typedef struct KvBacklogWarned
{
	NameData	name;			/* empty: entry free */
	TimestampTz over_since;		/* past the threshold since (0: it is not) */
	TimestampTz warned_at;
	bool		warned;			/* warned about, not caught up since */
} KvBacklogWarned;

static KvBacklogWarned *kv_warned = NULL;	/* max_replication_slots entries */

/*
 * KvBacklogEntry finds the launcher's entry of a slot by name (slots are
 * dropped and made again under the same name: the rate limit holds across
 * that), taking a free or forgotten one if none.
 */
static KvBacklogWarned *
KvBacklogEntry(const char *name, TimestampTz now)
{
	KvBacklogWarned *spare = NULL;

	if (kv_warned == NULL)
		kv_warned = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(KvBacklogWarned) * Max(max_replication_slots, 1));
	for (int i = 0; i < max_replication_slots; i++)
	{
		KvBacklogWarned *w = &kv_warned[i];

		if (strcmp(NameStr(w->name), name) == 0)
			return w;
		if (spare == NULL &&
			(NameStr(w->name)[0] == '\0' ||
			 (w->over_since == 0 && !w->warned &&
			  TimestampDifferenceExceeds(w->warned_at, now, KV_BACKLOG_WARN_INTERVAL_MS))))
			spare = w;
	}
	if (spare != NULL)
	{
		memset(spare, 0, sizeof(*spare));
		namestrcpy(&spare->name, name);
	}
	return spare;
}

/* KvDatabaseName copies the name of a database (the launcher is in none). */
static void
KvDatabaseName(Oid dboid, char *out)
{
	MemoryContext cxt = CurrentMemoryContext;
	char	   *name;

	StartTransactionCommand();
	name = get_database_name(dboid);
	if (name != NULL)
		strlcpy(out, name, NAMEDATALEN);
	else
		snprintf(out, NAMEDATALEN, "%u", dboid);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
}

/* KvSizePretty formats a byte count as pg_size_pretty() does. */
static char *
KvSizePretty(uint64 bytes)
{
	return text_to_cstring(DatumGetTextPP(DirectFunctionCall1(pg_size_pretty,
															  Int64GetDatum((int64) Min(bytes, PG_INT64_MAX)))));
}

/* KvBacklogWarn says in the log that a worker's slot is behind. */
static void
KvBacklogWarn(const char *slot_name, Oid dboid, bool gsi, uint64 backlog,
			  XLogRecPtr restart)
{
	char		dbname[NAMEDATALEN];
	KvStreamWorkerInfo info;
	bool		running;
	TimestampTz since = 0;
	const char *status;

	KvDatabaseName(dboid, dbname);
	running = gsi ? KvGsiWorkerOf(dboid, &info) : KvStreamWorkerOf(dboid, &info);
	if (running)
		since = Max(info.caught_up_at, info.applied_commit);
	switch (GetWALAvailability(restart))
	{
		case WALAVAIL_RESERVED:
			status = "reserved";
			break;
		case WALAVAIL_EXTENDED:
			status = "extended";
			break;
		case WALAVAIL_UNRESERVED:
			status = "unreserved: the next checkpoint invalidates the slot";
			break;
		default:
			status = "lost";
			break;
	}
	ereport(WARNING,
			(errmsg("partkv %s worker of database \"%s\" is %s behind",
					gsi ? "GSI" : "stream", dbname, KvSizePretty(backlog)),
			 errdetail("Its replication slot \"%s\" keeps %s of WAL (wal_status %s); %s.",
					   slot_name, KvSizePretty(GetXLogWriteRecPtr() - restart), status,
					   !running ? "no worker process of it runs" :
					   since != 0 ? psprintf("it has not caught up since %s", timestamptz_to_str(since)) :
					   "it has not caught up since it started"),
			 max_slot_wal_keep_size_mb >= 0 ?
			 errhint("Past max_slot_wal_keep_size (%d MB) PostgreSQL invalidates the slot and the changes it still holds are lost to the %s; see partkv.stream_backlog and the worker's messages in this log.",
					 max_slot_wal_keep_size_mb, gsi ? "GSIs, which are then backfilled again" : "stream") :
			 errhint("The server keeps this WAL until the worker consumes it; see partkv.stream_backlog and the worker's messages in this log.")));
}

/*
 * KvBacklogCheck looks at the backlog of every partkv slot of the cluster
 * (slots partkv_stream_<oid> and partkv_gsi_<oid>) and warns about those
 * past partkv.stream_backlog_warning.  Invalidated slots are left to their
 * workers, which replace them and say so.
 */
void
KvBacklogCheck(void)
{
	uint64		threshold;
	XLogRecPtr	current;
	TimestampTz now;

	if (kv_backlog_warning_kb < 0 || max_replication_slots <= 0)
		return;
	threshold = (uint64) kv_backlog_warning_kb * 1024;
	current = GetXLogWriteRecPtr();
	now = GetCurrentTimestamp();

	for (int i = 0; i < max_replication_slots; i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];
		NameData	name;
		Oid			dboid = InvalidOid;
		XLogRecPtr	confirmed = InvalidXLogRecPtr;
		XLogRecPtr	restart = InvalidXLogRecPtr;
		bool		lost = true;
		bool		gsi;
		uint64		backlog;
		KvBacklogWarned *w;

		LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
		if (s->in_use)
		{
			SpinLockAcquire(&s->mutex);
			name = s->data.name;
			dboid = s->data.database;
			confirmed = s->data.confirmed_flush;
			restart = s->data.restart_lsn;
			lost = KvSlotDataLost(s->data);
			SpinLockRelease(&s->mutex);
		}
		LWLockRelease(ReplicationSlotControlLock);
		if (lost || !OidIsValid(dboid) || XLogRecPtrIsInvalid(confirmed))
			continue;
		if (strncmp(NameStr(name), "partkv_stream_", 14) == 0)
			gsi = false;
		else if (strncmp(NameStr(name), "partkv_gsi_", 11) == 0)
			gsi = true;
		else
			continue;

		backlog = current > confirmed ? current - confirmed : 0;
		w = KvBacklogEntry(NameStr(name), now);
		if (w == NULL)
			continue;
		if (backlog > threshold)
		{
			if (w->over_since == 0)
				w->over_since = now;
			if (TimestampDifferenceExceeds(w->over_since, now, KV_BACKLOG_GRACE_MS) &&
				(w->warned_at == 0 ||
				 TimestampDifferenceExceeds(w->warned_at, now, KV_BACKLOG_WARN_INTERVAL_MS)))
			{
				KvBacklogWarn(NameStr(name), dboid, gsi, backlog, restart);
				w->warned_at = now;
				w->warned = true;
			}
			continue;
		}
		w->over_since = 0;
		if (w->warned && backlog <= threshold / 2)
		{
			char		dbname[NAMEDATALEN];

			KvDatabaseName(dboid, dbname);
			ereport(LOG,
					(errmsg("partkv %s worker of database \"%s\" has caught up again: %s behind",
							gsi ? "GSI" : "stream", dbname, KvSizePretty(backlog))));
			w->warned = false;
		}
	}
}

/* ----------------------------------------------------------------
 * SQL: partkv_internal.worker_progress() (partkv.stream_backlog)
 * ----------------------------------------------------------------
 */

/*
 * partkv_worker_progress returns a row per worker of this database
 * ("stream", "gsi"): its slot's name, its pid, when it last had consumed
 * all WAL flushed at the time, and its lag -- the age of the oldest change
 * it may not have consumed: 0 when it has consumed everything or no kv row
 * was written since it last had, else the time since the later of that
 * moment and the commit of the last change it applied.  The process
 * columns are NULL when no worker process runs.
 */
Datum
partkv_worker_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	XLogRecPtr	flush = GetFlushRecPtr(NULL);
	TimestampTz now = GetCurrentTimestamp();

	InitMaterializedSRF(fcinfo, 0);
	for (int gsi = 0; gsi <= 1; gsi++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, true, true, true};
		char		slot_name[NAMEDATALEN];
		KvStreamWorkerInfo info;

		if (gsi)
			KvGsiSlotName(MyDatabaseId, slot_name);
		else
			KvStreamSlotName(MyDatabaseId, slot_name);
		values[0] = CStringGetTextDatum(gsi ? "gsi" : "stream");
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(slot_name));
		if (gsi ? KvGsiWorkerOf(MyDatabaseId, &info) : KvStreamWorkerOf(MyDatabaseId, &info))
		{
			TimestampTz since = Max(info.caught_up_at, info.applied_commit);

			values[2] = Int32GetDatum((int32) info.pid);
			nulls[2] = false;
			if (info.caught_up_at != 0)
			{
				values[3] = TimestampTzGetDatum(info.caught_up_at);
				nulls[3] = false;
			}
			if (info.reached >= flush ||
				(info.caught_up_at != 0 && info.caught_up_at >= info.last_write))
				since = now;
			if (since != 0)
			{
				Interval   *lag = palloc0(sizeof(Interval));

				lag->time = Max(now - since, 0);
				values[4] = IntervalPGetDatum(lag);
				nulls[4] = false;
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
