/*-------------------------------------------------------------------------
 *
 * ttl.c
 *	  Time to Live: deleting the expired items of kv tables.
 *
 * partkv.update_time_to_live (sql/partkv--0.1.sql) records a table's TTL
 * attribute in partkv.tables.time_to_live and, while TTL is enabled, keeps
 * the partial expression index <table>_ttl on
 * partkv.key_numeric(item, '<attribute>') WHERE ... IS NOT NULL: only the
 * items whose TTL attribute is a top-level Number are in it.  An item is
 * expired when now > ttl >= now - 5 years (SPEC-dynamodb.md §10): the sweep
 * is a range scan of that index, so its cost follows the number of expired
 * items, not the size of the table.
 *
 * A batch, per partition: SELECT ctid, item ... WHERE ttl in range LIMIT n
 * FOR UPDATE SKIP LOCKED, as the table's owner inside a security-restricted
 * operation.  Row locking follows a concurrently updated item to its latest
 * version and re-evaluates the range on it, so an item whose TTL attribute
 * was changed or removed meanwhile is not returned; items locked by a
 * writer are skipped (the next sweep gets them).  Each returned row, locked
 * by us, is checked once more in C and deleted with
 * simple_table_tuple_delete, as rowops' KvRowDelete does: no triggers, no
 * capacity, like the item functions' deletes.  The deletions are counted
 * as ttl_deletes (and items_deleted) in the partition statistics.
 *
 * The deletes of a sweep are bracketed by two transactional logical
 * messages (prefix "partkv.ttl", "begin" and "end"): the output plugin
 * gives the REMOVE records between them DynamoDB's TTL userIdentity
 * {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}.  They are
 * ordinary deletes otherwise: the stream, its handlers and the secondary
 * indexes see them like any other.
 *
 * The stream worker sweeps every partkv.ttl_interval: one batch
 * (partkv.ttl_batch_size items) per TTL-enabled table, each in a
 * transaction of its own, and again at once while batches come back full.
 * Nothing is remembered between batches: after a crash or restart the next
 * sweep simply finds what is still expired.  partkv.run_ttl_sweep() runs
 * the same sweep synchronously in the caller's transaction (tests, cron).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "pgstat.h"
#include "replication/message.h"
#include "replication/origin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "../catalog/tablecache.h"
#include "../common/safesql.h"
#include "../stats/stats.h"
#include "ttl.h"

/* PG 17 gave LogLogicalMessage a flush argument (upstream 173b56f1ef59) */
#if PG_VERSION_NUM >= 170000
#define KvLogTtlMessage(msg) \
	LogLogicalMessage(KV_TTL_MESSAGE_PREFIX, (msg), strlen(msg), true, false)
#else
#define KvLogTtlMessage(msg) \
	LogLogicalMessage(KV_TTL_MESSAGE_PREFIX, (msg), strlen(msg), true)
#endif

PG_FUNCTION_INFO_V1(partkv_run_ttl_sweep);

int			kv_ttl_interval_s = 60;
int			kv_ttl_batch_size = 1000;

/*
 * the TTL-enabled tables of the catalog, in this order; tables restored
 * from a dump once they are adopted (until then their deletes would not
 * reach the stream)
 */
#define KV_TTL_TABLES_QUERY \
	"SELECT schema_name::text, table_name FROM partkv.tables" \
	" WHERE time_to_live @> '{\"Enabled\": true}'" \
	"   AND installation_id = partkv_internal.installation_id() ORDER BY 1, 2"

/* one sweep of one table, within one transaction */
typedef struct KvTtlSweep
{
	Datum		lo;				/* numeric: now - 5 years, inclusive */
	Datum		hi;				/* numeric: now, exclusive */
	const char *attribute;		/* the table's TTL attribute */
	bool		marked;			/* the "begin" message is written */
} KvTtlSweep;

/* a table the worker sweeps */
typedef struct KvTtlTarget
{
	char	   *schema_name;
	char	   *table_name;
} KvTtlTarget;

/* the worker's memory, reset every round */
static MemoryContext kv_ttl_cxt = NULL;

/*
 * KvTtlInit defines the TTL settings.  Called from _PG_init, before
 * MarkGUCPrefixReserved("partkv").
 */
void
KvTtlInit(void)
{
	DefineCustomIntVariable("partkv.ttl_interval",
							"Time between two sweeps of expired items (Time to Live) by the stream worker.",
							"0 stops the background sweeps; partkv.run_ttl_sweep() still works.",
							&kv_ttl_interval_s, 60, 0, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.ttl_batch_size",
							"Expired items the TTL sweeper deletes per table and transaction.",
							"The stream worker deletes one batch per table, then goes on while batches come back full.",
							&kv_ttl_batch_size, 1000, 1, 1000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * KvTtlBounds computes the range of expired TTL values at time now, as
 * epoch seconds: [now - 5 years, now).  Older values never expire.
 */
static void
KvTtlBounds(TimestampTz now, Datum *lo, Datum *hi)
{
	Interval	five_years;
	Datum		oldest;
	Datum		epoch = CStringGetTextDatum("epoch");

	memset(&five_years, 0, sizeof(five_years));
	five_years.month = 5 * MONTHS_PER_YEAR;
	oldest = DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(now),
								 IntervalPGetDatum(&five_years));
	*hi = DirectFunctionCall2(extract_timestamptz, epoch, TimestampTzGetDatum(now));
	*lo = DirectFunctionCall2(extract_timestamptz, epoch, oldest);
}

/*
 * KvTtlExpired tells whether an item is expired: its top-level attribute
 * holds a Number in [lo, hi).  The SQL condition of the sweep says the
 * same; this is the check made once the row is locked.
 */
static bool
KvTtlExpired(Jsonb *item, const char *attribute, Datum lo, Datum hi)
{
	JsonbValue	v;
	Datum		ttl;

	if (!JB_ROOT_IS_OBJECT(item) ||
		getKeyJsonValueFromContainer(&item->root, attribute, strlen(attribute), &v) == NULL ||
		v.type != jbvNumeric)
		return false;
	ttl = NumericGetDatum(v.val.numeric);
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, ttl, lo)) >= 0 &&
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, ttl, hi)) < 0;
}

/*
 * KvTtlSweepPartition deletes up to limit expired items of one partition;
 * *full is set when limit rows were found (more may be waiting).  SPI is
 * connected; the partition is locked by the caller.
 */
static int64
KvTtlSweepPartition(KvTtlSweep *s, Oid table_relid, Oid partition, Oid owner,
					int limit, bool *full)
{
	Relation	rel = table_open(partition, RowExclusiveLock);
	char	   *expr;
	char	   *query;
	Oid			argtypes[3] = {NUMERICOID, NUMERICOID, INT4OID};
	Datum		args[3];
	KvSqlScope	scope;
	int			ret;
	int64		deleted = 0;

	/* the expression of the <table>_ttl index, for the planner to match */
	expr = psprintf("partkv.key_numeric(item, %s)", quote_literal_cstr(s->attribute));
	query = psprintf("SELECT ctid, item FROM ONLY %s WHERE %s >= $1 AND %s < $2"
					 " LIMIT $3 FOR UPDATE SKIP LOCKED",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)),
					 expr, expr);
	args[0] = s->lo;
	args[1] = s->hi;
	args[2] = Int32GetDatum(limit);

	/* as the owner, and no user code may change the session meanwhile */
	KvSqlBegin(&scope, owner);
	ret = SPI_execute_with_args(query, 3, argtypes, args, NULL, false, 0);
	KvSqlEnd(&scope);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "partkv TTL sweep: could not search \"%s\": %d",
			 RelationGetRelationName(rel), ret);
	*full = SPI_processed >= (uint64) limit;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tuple = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		tid_null;
		bool		item_null;
		Datum		tid = SPI_getbinval(tuple, desc, 1, &tid_null);
		Datum		item = SPI_getbinval(tuple, desc, 2, &item_null);

		if (tid_null || item_null ||
			!KvTtlExpired(DatumGetJsonbP(item), s->attribute, s->lo, s->hi))
			continue;
		if (!s->marked)
		{
			(void) KvLogTtlMessage(KV_TTL_MESSAGE_BEGIN);
			s->marked = true;
		}
		/* the row is ours (FOR UPDATE): the delete cannot meet a conflict */
		simple_table_tuple_delete(rel, (ItemPointer) DatumGetPointer(tid), GetActiveSnapshot());
		deleted++;
	}
	SPI_freetuptable(SPI_tuptable);

	if (deleted > 0)
	{
		KvStatsCounters d = {0};

		/* the next search must not see them */
		CommandCounterIncrement();
		d.items_deleted = deleted;
		d.ttl_deletes = deleted;
		KvStatsReport(partition, table_relid, &d);
	}
	table_close(rel, NoLock);
	return deleted;
}

/*
 * KvTtlSweepBatch deletes up to limit expired items of a kv table (locked
 * by the caller), partition by partition; *more is set when some partition
 * may hold more.
 */
static int64
KvTtlSweepBatch(KvTtlSweep *s, Oid relid, int limit, bool *more)
{
	List	   *parts = find_inheritance_children(relid, RowExclusiveLock);
	Oid			owner = KvRelationOwner(relid);
	ListCell   *lc;
	int64		total = 0;

	*more = false;
	foreach(lc, parts)
	{
		bool		full = false;

		if (total >= limit)
		{
			*more = true;
			break;
		}
		total += KvTtlSweepPartition(s, relid, lfirst_oid(lc), owner,
									 (int) (limit - total), &full);
		if (full)
			*more = true;
		CHECK_FOR_INTERRUPTS();
	}
	list_free(parts);
	return total;
}

/*
 * KvTtlAttribute is the TTL attribute of kv table relid as its catalog row
 * states it (NULL when TTL is disabled), copied: the sweep's catalog
 * accesses may reload the table cache.
 */
static char *
KvTtlAttribute(Oid relid)
{
	const KvTable *table = KvTableDeclaration(relid);

	if (table == NULL || table->ttl_attribute == NULL)
		return NULL;
	return pstrdup(table->ttl_attribute);
}

/*
 * KvTtlSweepTable deletes the expired items of a kv table in the current
 * transaction, in batches of partkv.ttl_batch_size, at most max_batches of
 * them (0: until none is left).  The table is locked (RowExclusiveLock)
 * and SPI connected by the caller; the TTL attribute is read now, under
 * that lock (which processes the invalidation a committed change of it
 * sent), so a concurrent disable is either waited for or seen.
 * *more is set when the last batch was full.
 */
static int64
KvTtlSweepTable(Oid relid, TimestampTz now, int max_batches, bool *more)
{
	KvTtlSweep	s;
	int64		total = 0;

	*more = false;
	memset(&s, 0, sizeof(s));
	s.attribute = KvTtlAttribute(relid);
	if (s.attribute == NULL)
		return 0;
	KvTtlBounds(now, &s.lo, &s.hi);

	for (int b = 0; max_batches == 0 || b < max_batches; b++)
	{
		int64		n = KvTtlSweepBatch(&s, relid, kv_ttl_batch_size, more);

		total += n;
		if (!*more || n == 0)
			break;
	}
	if (s.marked)
		(void) KvLogTtlMessage(KV_TTL_MESSAGE_END);
	return total;
}

/*
 * partkv_run_ttl_sweep(table_name text DEFAULT NULL) returns bigint: deletes
 * now, in the caller's transaction, every expired item of a TTL-enabled
 * table (NULL: of every TTL-enabled table the caller may delete from) and
 * returns how many.  Naming a table needs DELETE on it; a table without
 * TTL enabled has nothing to sweep (0).
 */
Datum
partkv_run_ttl_sweep(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		total = 0;
	bool		more;
	KvSqlScope	scope;

	if (!PG_ARGISNULL(0))
	{
		KvTable    *table = KvLookupTable(PG_GETARG_TEXT_PP(0), ACL_DELETE, RowExclusiveLock);

		SPI_connect();
		KvSqlBegin(&scope, InvalidOid);
		total = KvTtlSweepTable(table->relid, now, 0, &more);
		KvSqlEnd(&scope);
		SPI_finish();
		PG_RETURN_INT64(total);
	}

	SPI_connect();
	KvSqlBegin(&scope, InvalidOid);
	if (SPI_execute(KV_TTL_TABLES_QUERY, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv TTL sweep: could not read the catalog");
	else
	{
		SPITupleTable *tables = SPI_tuptable;
		uint64		ntables = SPI_processed;

		for (uint64 i = 0; i < ntables; i++)
		{
			char	   *schema_name = SPI_getvalue(tables->vals[i], tables->tupdesc, 1);
			char	   *table_name = SPI_getvalue(tables->vals[i], tables->tupdesc, 2);
			Oid			relid;

			relid = RangeVarGetRelid(makeRangeVar(schema_name, table_name, -1), NoLock, true);
			if (!OidIsValid(relid) ||
				pg_class_aclcheck(relid, GetUserId(), ACL_DELETE) != ACLCHECK_OK ||
				check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
				continue;
			LockRelationOid(relid, RowExclusiveLock);
			if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
				continue;		/* dropped meanwhile */
			total += KvTtlSweepTable(relid, now, 0, &more);
		}
	}
	KvSqlEnd(&scope);
	SPI_finish();
	PG_RETURN_INT64(total);
}

/*
 * KvTtlWorkerReport logs an error the worker caught while sweeping table t
 * (NULL: while listing the tables) and recovers from it: the transaction
 * is aborted, the next round tries again.
 */
static void
KvTtlWorkerReport(const KvTtlTarget *t)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(kv_ttl_cxt);
	edata = CopyErrorData();
	FlushErrorState();
	AbortCurrentTransaction();
	MemoryContextSwitchTo(kv_ttl_cxt);
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 t == NULL ?
			 errmsg("partkv TTL sweep could not list the tables: %s", edata->message) :
			 errmsg("partkv TTL sweep of table \"%s.%s\" failed: %s",
					t->schema_name, t->table_name, edata->message),
			 errdetail("The next sweep tries again.")));
	FreeErrorData(edata);
}

/* How long a sweep waits for a lock (see KvTtlGiveWayToDdl). */
#define KV_TTL_LOCK_TIMEOUT "200ms"

/*
 * KvTtlGiveWayToDdl makes the sweep's transaction give way to DDL (DROP
 * TABLE, DROP EXTENSION) rather than deadlock with it: it stops waiting for
 * a lock before the deadlock check (deadlock_timeout, 1 s by default) would
 * pick a victim, which could be the user's command.  What it was doing is
 * tried again next round.  Both the catalog read and each batch need it:
 * DROP EXTENSION locks the catalogs too.
 */
static void
KvTtlGiveWayToDdl(void)
{
	(void) set_config_option("lock_timeout", KV_TTL_LOCK_TIMEOUT, PGC_SUSET,
							 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * KvTtlWorkerTables lists the TTL-enabled tables, in a transaction of its
 * own, into the worker's TTL context (NIL when the extension is gone).
 */
static List *
KvTtlWorkerTables(void)
{
	List	   *volatile targets = NIL;

	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		KvTtlGiveWayToDdl();
		if (OidIsValid(get_extension_oid("partkv", true)))
		{
			PushActiveSnapshot(GetTransactionSnapshot());
			SPI_connect();
			if (SPI_execute(KV_TTL_TABLES_QUERY, true, 0) != SPI_OK_SELECT)
				elog(ERROR, "partkv TTL sweep: could not read the catalog");
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				MemoryContext oldcxt = MemoryContextSwitchTo(kv_ttl_cxt);
				KvTtlTarget *t = palloc(sizeof(KvTtlTarget));

				t->schema_name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
				t->table_name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
				targets = lappend(targets, t);
				MemoryContextSwitchTo(oldcxt);
			}
			SPI_finish();
			PopActiveSnapshot();
		}
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		KvTtlWorkerReport(NULL);
		targets = NIL;
	}
	PG_END_TRY();
	return targets;
}


/*
 * KvTtlWorkerBatch deletes one batch of a table's expired items in a
 * transaction of its own; true when more are waiting.  An error (the
 * table was dropped meanwhile, say) is logged and ends only this batch.
 */
static bool
KvTtlWorkerBatch(KvTtlTarget *t)
{
	RepOriginId save_origin = replorigin_session_origin;
	volatile bool more = false;
	volatile int64 deleted = 0;

	/*
	 * The stream worker runs with its replication origin set up; TTL deletes
	 * are new changes of the database, not replicated ones: their commits
	 * carry no origin.
	 */
	replorigin_session_origin = InvalidRepOriginId;
	PG_TRY();
	{
		Oid			relid;
		bool		m = false;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		/* row locks must follow concurrent updates, not fail on them */
		XactIsoLevel = XACT_READ_COMMITTED;
		KvTtlGiveWayToDdl();
		PushActiveSnapshot(GetTransactionSnapshot());
		SPI_connect();
		relid = RangeVarGetRelid(makeRangeVar(t->schema_name, t->table_name, -1),
								 RowExclusiveLock, true);
		if (OidIsValid(relid))
			deleted = KvTtlSweepTable(relid, GetCurrentTimestamp(), 1, &m);
		more = m;
		SPI_finish();
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		KvTtlWorkerReport(t);
		more = false;
	}
	PG_END_TRY();
	replorigin_session_origin = save_origin;
	if (deleted > 0)
		ereport(DEBUG1,
				(errmsg("partkv TTL sweep deleted %lld expired items of table \"%s.%s\"",
						(long long) deleted, t->schema_name, t->table_name)));
	return more;
}

/*
 * KvTtlWorkerRun is the stream worker's turn (see ttl.h).  A round starts
 * every partkv.ttl_interval (the first one when the worker starts, so a
 * sweep cut short by a restart resumes at once) and is followed by further
 * rounds while some table still had a full batch.
 */
bool
KvTtlWorkerRun(void)
{
	static TimestampTz next_round = 0;
	static bool pending = false;
	MemoryContext oldcxt = CurrentMemoryContext;
	TimestampTz now;
	List	   *targets;
	ListCell   *lc;
	bool		more = false;

	if (kv_ttl_interval_s <= 0)
	{
		pending = false;
		return false;
	}
	now = GetCurrentTimestamp();
	if (!pending && now < next_round)
		return false;
	if (!pending)
		next_round = TimestampTzPlusMilliseconds(now, (int64) kv_ttl_interval_s * 1000);

	if (kv_ttl_cxt == NULL)
		kv_ttl_cxt = AllocSetContextCreate(TopMemoryContext, "partkv TTL sweeper",
										   ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(kv_ttl_cxt);
	MemoryContextSwitchTo(kv_ttl_cxt);

	pgstat_report_activity(STATE_RUNNING, "partkv TTL sweep");
	targets = KvTtlWorkerTables();
	foreach(lc, targets)
	{
		if (KvTtlWorkerBatch(lfirst(lc)))
			more = true;
		CHECK_FOR_INTERRUPTS();
	}
	/* let autovacuum know about the dead rows */
	if (targets != NIL)
		pgstat_report_stat(false);
	pgstat_report_activity(STATE_IDLE, NULL);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(kv_ttl_cxt);
	pending = more;
	return more;
}
