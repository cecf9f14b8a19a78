/*-------------------------------------------------------------------------
 *
 * handlers.c
 *	  Stream handlers, run by a handler worker connected as their role.
 *
 * A handler (partkv.stream_handlers, registered with
 * partkv.add_stream_handler) is a function f(records jsonb) of the
 * registering role.  It runs in a background worker of that role's own:
 * the stream worker (handler_launch.c) starts one per role whose handlers
 * have records waiting, with BackgroundWorkerInitializeConnectionByOid
 * (database, role), so session_user, current_user and is_superuser are the
 * role's, and SET ROLE, SET SESSION AUTHORIZATION, superuser-only functions
 * and settings are refused as in any session of that role.  The role must
 * be able to log in and connect to the database; one that was dropped, lost
 * LOGIN or CONNECT, or became a superuser has its handlers disabled, as has
 * a handler whose role lost EXECUTE on its function or SELECT on its table
 * (last_error says why).
 *
 * The worker hands each handler the next records of its table's stream,
 * at most batch_size, in sequence order, and advances the handler's
 * position in the same transaction as the handler's own writes: a batch is
 * handled exactly once as far as the database is concerned.  partkv's own
 * bookkeeping there (reading the batch, moving the position, dead letters)
 * is the only thing that runs with more rights than the role's, with the
 * stream worker's identity and a fixed search_path (src/common/safesql.h),
 * never while the handler runs.  The call itself is a subtransaction in a
 * security-restricted operation (no temporary objects or held cursors
 * outliving it), and every setting it changes is undone after it, so a
 * handler leaves nothing behind for partkv's next statement.
 *
 * A failed batch is retried with back-off (1 s, 2 s, 4 s ...); after
 * max_attempts tries it goes to partkv.dead_letters and the handler moves
 * on.  Each handler runs in its own transaction, so one failing or slow
 * handler only delays itself and the handlers of its role.
 * partkv.replay_dead_letter() queues a dead letter; the worker calls the
 * handler with it again and deletes it once handled.  A gap in the stream
 * (changes lost with the stream worker's replication slot) becomes a dead
 * letter without records, and the handler goes on after it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/rls.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "../common/safesql.h"
#include "../common/gucalias.h"
#include "handlers.h"
#include "workerstate.h"

/* PG 16 replaced pg_proc_aclcheck/pg_class_aclcheck/pg_database_aclcheck (upstream c727f511bd7b) */
#if PG_VERSION_NUM >= 160000
#define KvProcAclCheck(fn, role) object_aclcheck(ProcedureRelationId, (fn), (role), ACL_EXECUTE)
#define KvConnectAclCheck(db, role) object_aclcheck(DatabaseRelationId, (db), (role), ACL_CONNECT)
#else
#define KvProcAclCheck(fn, role) pg_proc_aclcheck((fn), (role), ACL_EXECUTE)
#define KvConnectAclCheck(db, role) pg_database_aclcheck((db), (role), ACL_CONNECT)
#endif

/* longest a handler call may run before it counts as failed (ms; 0: no limit) */
int			kv_handler_timeout_ms = 30000;

/* handler workers a stream worker runs at a time */
int			kv_max_handler_workers = 4;

/* advisory lock field4 of a handler worker's lock (database, role) */
#define KV_HANDLER_LOCK_TAG 0x6b76

/* the role this handler worker runs as */
static char *kv_role_name = NULL;

/* KvHandlersInit defines the stream handlers' settings. */
void
KvHandlersInit(void)
{
	DefineCustomIntVariable("partkv.handler_timeout",
							"Longest time one stream handler call may run.",
							"A call that runs longer is cancelled and counts as a failed attempt, "
							"so a slow handler cannot hold up the others of its role.",
							&kv_handler_timeout_ms, 30000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.handler_max_workers",
							"Most stream handler workers (one per role with work) a database runs at a time.",
							"Each is a background worker: max_worker_processes must leave room for them.",
							&kv_max_handler_workers, 4, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	KvDefineGucAlias("partkv.max_handler_workers", "partkv.handler_max_workers");
}

/* KvHandlerRoleProblem: see handlers.h. */
char *
KvHandlerRoleProblem(Oid roleid, const char *role_name)
{
	HeapTuple	tup;
	Form_pg_authid form;
	char	   *problem = NULL;

	if (!OidIsValid(roleid))
		return psprintf("role \"%s\" does not exist", role_name);
	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	if (!HeapTupleIsValid(tup))
		return psprintf("role \"%s\" does not exist", role_name);
	form = (Form_pg_authid) GETSTRUCT(tup);
	if (form->rolsuper)
		problem = psprintf("stream handlers do not run as a superuser (role \"%s\")", role_name);
	else if (!form->rolcanlogin)
		problem = psprintf("role \"%s\" cannot log in: stream handlers run in a session of the role that registered them",
						   role_name);
	else if (KvConnectAclCheck(MyDatabaseId, roleid) != ACLCHECK_OK)
		problem = psprintf("role \"%s\" may not connect to database \"%s\"",
						   role_name, get_database_name(MyDatabaseId));
	ReleaseSysCache(tup);
	return problem;
}

/* KvDisableHandlers: see handlers.h. */
void
KvDisableHandlers(const char *role_name, int64 handler_id, const char *reason)
{
	Oid			types[3] = {TEXTOID, INT8OID, TEXTOID};
	Datum		vals[3];
	char		nulls[3] = {role_name ? ' ' : 'n', role_name ? 'n' : ' ', ' '};
	KvSqlScope	scope;
	int			ret;

	vals[0] = role_name ? CStringGetTextDatum(role_name) : (Datum) 0;
	vals[1] = Int64GetDatum(handler_id);
	vals[2] = CStringGetTextDatum(psprintf("disabled: %s", reason));
	KvSqlBegin(&scope, BOOTSTRAP_SUPERUSERID);
	ret = SPI_execute_with_args("UPDATE partkv.stream_handlers SET enabled = false, last_error = $3"
								" WHERE enabled AND (role_name = $1::name OR handler_id = $2)",
								3, types, vals, nulls, false, 0);
	KvSqlEnd(&scope);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "partkv stream handlers: could not disable: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
		ereport(LOG,
				(errmsg("partkv disabled %llu stream handler(s) %s %s: %s",
						(unsigned long long) SPI_processed,
						role_name ? "of role" : "with id",
						role_name ? quote_identifier(role_name) : psprintf("%lld", (long long) handler_id),
						reason),
				 errhint("Fix the cause, then remove the handler and add it again.")));
}

/*
 * KvCallHandler calls handler(records) as this worker's role, in a
 * subtransaction and a security-restricted operation whose setting
 * changes are undone.  On failure the subtransaction is rolled back and
 * the error message is returned (allocated in the caller's context); NULL
 * on success.
 */
static char *
KvCallHandler(Oid fnoid, Datum records)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	char	   *volatile error = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		KvSqlScope	scope;
		FmgrInfo	flinfo;
		LOCAL_FCINFO(fcinfo, 1);

		KvUserCodeBegin(&scope);
		fmgr_info(fnoid, &flinfo);
		InitFunctionCallInfoData(*fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = records;
		fcinfo->args[0].isnull = false;
		if (kv_handler_timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, kv_handler_timeout_ms);
		(void) FunctionCallInvoke(fcinfo);
		disable_timeout(STATEMENT_TIMEOUT, false);
		KvSqlEnd(&scope);

		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* also undoes the user id and the settings of KvUserCodeBegin */
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		error = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return error;
}

/*
 * KvHandlerProblem tells why this role may not run handler fnoid on the
 * table (schema_name.table_name, table_relid) now, or NULL.  Checked at each
 * run: privileges may have been revoked since the handler was registered.
 */
static char *
KvHandlerProblem(Oid fnoid, Oid table_relid, const char *schema_name, const char *table_name)
{
	Oid			role = GetUserId();

	if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(fnoid)))
		return psprintf("the function of stream handler %u does not exist", fnoid);
	if (KvProcAclCheck(fnoid, role) != ACLCHECK_OK)
		return psprintf("role \"%s\" may not execute stream handler %s",
						kv_role_name, format_procedure(fnoid));
	if (!OidIsValid(table_relid))
		return psprintf("table \"%s.%s\" of stream handler %s does not exist",
						schema_name, table_name, format_procedure(fnoid));
	if (pg_class_aclcheck(table_relid, role, ACL_SELECT) != ACLCHECK_OK)
		return psprintf("role \"%s\" may not read the table of stream handler %s",
						kv_role_name, format_procedure(fnoid));
	/* stream records carry whole items: no policy can be applied to them */
	if (check_enable_rls(table_relid, role, true) == RLS_ENABLED)
		return psprintf("row-level security is active for role \"%s\" on the table of stream handler %s",
						kv_role_name, format_procedure(fnoid));
	return NULL;
}

/* KvSpiGet returns column col of the first SPI row (NULL if null). */
static Datum
KvSpiGet(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * KvHandlerBookkeeping runs one of partkv's statements about a handler
 * with the stream worker's identity and the safe search_path; returns the
 * SPI result code.
 */
static int
KvHandlerBookkeeping(const char *sql, int nargs, Oid *types, Datum *vals, const char *nulls)
{
	KvSqlScope	scope;
	int			ret;

	KvSqlBegin(&scope, BOOTSTRAP_SUPERUSERID);
	ret = SPI_execute_with_args(sql, nargs, types, vals, nulls, false, 0);
	KvSqlEnd(&scope);
	return ret;
}

/*
 * KvRunHandler runs one batch of one handler (or one queued dead letter
 * when dead_letter is true) in a transaction of its own.  Returns true when
 * it handled records; *full is set when the batch was full (more records
 * are waiting), *stop when the role may no longer run handlers at all.
 */
static bool
KvRunHandler(int64 id, bool dead_letter, bool *full, bool *stop)
{
	static const char *handler_sql =
		"SELECT h.handler::oid, h.batch_size, h.max_attempts, h.attempts,"
		"       b.records, b.last, b.n,"
		"       pg_catalog.to_regclass(pg_catalog.format('%I.%I', h.schema_name, h.table_name))::oid,"
		"       h.schema_name::text, h.table_name"
		"  FROM partkv.stream_handlers h,"
		"       LATERAL (SELECT pg_catalog.jsonb_agg(x.record ORDER BY x.sequence_number) AS records,"
		"                       pg_catalog.max(x.sequence_number) AS last, pg_catalog.count(*)::int AS n"
		"                  FROM partkv_internal.stream_records_after(h.table_id, h.position, h.batch_size) x) b"
		" WHERE h.handler_id = $1 AND h.role_name = $2::name AND h.enabled"
		"   AND h.next_attempt_at <= pg_catalog.now()"
		"   FOR UPDATE OF h SKIP LOCKED";
	static const char *dead_letter_sql =
		"SELECT h.handler::oid, h.batch_size, h.max_attempts, d.attempts,"
		"       d.records, NULL::text, pg_catalog.jsonb_array_length(d.records),"
		"       pg_catalog.to_regclass(pg_catalog.format('%I.%I', h.schema_name, h.table_name))::oid,"
		"       h.schema_name::text, h.table_name"
		"  FROM partkv.dead_letters d JOIN partkv.stream_handlers h USING (handler_id)"
		" WHERE d.dead_letter_id = $1 AND d.replay_requested AND h.role_name = $2::name"
		"   FOR UPDATE OF d SKIP LOCKED";
	Oid			argtypes[2] = {INT8OID, TEXTOID};
	Datum		args[2] = {Int64GetDatum(id), CStringGetTextDatum(kv_role_name)};
	Oid			fnoid;
	int			batch_size;
	int			max_attempts;
	int			attempts;
	Datum		records;
	char	   *last;
	int			n = 0;
	Oid			table_relid;
	char	   *schema_name;
	char	   *table_name;
	bool		isnull;
	char	   *problem;
	char	   *error;
	MemoryContext cxt;

	*full = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	cxt = CurrentMemoryContext;

	/*
	 * A handler with nothing left before a gap in the stream (changes lost
	 * with a replication slot) goes past it, the gap its dead letter.
	 */
	if (!dead_letter &&
		KvHandlerBookkeeping("SELECT partkv_internal.stream_handler_pass_gap($1)",
							 1, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream handler %lld: could not look for a gap", (long long) id);

	if (KvHandlerBookkeeping(dead_letter ? dead_letter_sql : handler_sql,
							 2, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream handler %lld: could not read its batch", (long long) id);
	if (SPI_processed == 0)
		goto done;
	n = DatumGetInt32(KvSpiGet(7, &isnull));
	if (n == 0)
		goto done;

	fnoid = DatumGetObjectId(KvSpiGet(1, &isnull));
	batch_size = DatumGetInt32(KvSpiGet(2, &isnull));
	max_attempts = DatumGetInt32(KvSpiGet(3, &isnull));
	attempts = DatumGetInt32(KvSpiGet(4, &isnull));
	records = KvSpiGet(5, &isnull);
	records = SPI_datumTransfer(records, false, -1);
	last = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6);
	table_relid = DatumGetObjectId(KvSpiGet(8, &isnull));
	if (isnull)
		table_relid = InvalidOid;
	schema_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 9);
	table_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 10);

	/* the role first (it may have become a superuser), then this handler */
	problem = KvHandlerRoleProblem(GetSessionUserId(), kv_role_name);
	if (problem != NULL)
	{
		KvDisableHandlers(kv_role_name, 0, problem);
		*stop = true;
		n = 0;
		goto done;
	}
	problem = KvHandlerProblem(fnoid, table_relid, schema_name, table_name);
	if (problem != NULL)
	{
		/* a queued dead letter stays queued for when the handler is fixed */
		if (dead_letter)
		{
			Oid			types[2] = {INT8OID, TEXTOID};
			Datum		vals[2] = {Int64GetDatum(id), CStringGetTextDatum(problem)};

			if (KvHandlerBookkeeping("UPDATE partkv.dead_letters SET replay_requested = false, error = $2"
									 " WHERE dead_letter_id = $1",
									 2, types, vals, NULL) != SPI_OK_UPDATE)
				elog(ERROR, "partkv stream handler: could not update dead letter %lld", (long long) id);
		}
		else
			KvDisableHandlers(NULL, id, problem);
		n = 0;
		goto done;
	}

	error = KvCallHandler(fnoid, records);
	MemoryContextSwitchTo(cxt);

	if (dead_letter)
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2];
		char		nulls[2] = {' ', error ? ' ' : 'n'};

		vals[0] = Int64GetDatum(id);
		vals[1] = error ? CStringGetTextDatum(error) : (Datum) 0;
		if (KvHandlerBookkeeping(error == NULL
								 ? "DELETE FROM partkv.dead_letters WHERE dead_letter_id = $1"
								 : "UPDATE partkv.dead_letters SET replay_requested = false,"
								 "       attempts = attempts + 1, error = $2, failed_at = pg_catalog.now()"
								 " WHERE dead_letter_id = $1",
								 2, types, vals, nulls) < 0)
			elog(ERROR, "partkv stream handler: could not update dead letter %lld", (long long) id);
	}
	else if (error == NULL)
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2] = {Int64GetDatum(id), CStringGetTextDatum(last)};

		if (KvHandlerBookkeeping("UPDATE partkv.stream_handlers"
								 "   SET position = $2, attempts = 0, last_error = NULL,"
								 "       last_success_at = pg_catalog.now()"
								 " WHERE handler_id = $1",
								 2, types, vals, NULL) != SPI_OK_UPDATE)
			elog(ERROR, "partkv stream handler %lld: could not advance", (long long) id);
		*full = (n >= batch_size);
	}
	else if (attempts + 1 >= max_attempts)
	{
		Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, INT4OID, JSONBOID};
		Datum		vals[5] = {Int64GetDatum(id), CStringGetTextDatum(last),
			CStringGetTextDatum(error), Int32GetDatum(attempts + 1), records};

		/* out of attempts: the batch becomes a dead letter, the handler moves on */
		if (KvHandlerBookkeeping("WITH h AS (UPDATE partkv.stream_handlers"
								 "             SET position = $2, attempts = 0, last_error = $3"
								 "           WHERE handler_id = $1"
								 "           RETURNING handler_id, handler, table_name)"
								 " INSERT INTO partkv.dead_letters"
								 "        (handler_id, handler, table_name, records, error, attempts)"
								 " SELECT h.handler_id, h.handler, h.table_name, $5, $3, $4 FROM h",
								 5, types, vals, NULL) != SPI_OK_INSERT)
			elog(ERROR, "partkv stream handler %lld: could not write a dead letter", (long long) id);
		*full = (n >= batch_size);
	}
	else
	{
		Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
		Datum		vals[3] = {Int64GetDatum(id), CStringGetTextDatum(error),
		Int32GetDatum(attempts + 1)};

		/* retry later: 1 s, 2 s, 4 s ... up to a minute */
		if (KvHandlerBookkeeping("UPDATE partkv.stream_handlers"
								 "   SET attempts = $3, last_error = $2,"
								 "       next_attempt_at = pg_catalog.now()"
								 "         + LEAST(interval '1 minute', interval '1 second' * 2 ^ ($3 - 1))"
								 " WHERE handler_id = $1",
								 3, types, vals, NULL) != SPI_OK_UPDATE)
			elog(ERROR, "partkv stream handler %lld: could not record a failure", (long long) id);
	}

done:
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return n > 0;
}

/*
 * KvRunRoleHandlers runs every handler of this worker's role that is due
 * once, and every dead letter of theirs queued for replay.  Returns true
 * when it handled records; *more is set when a batch was full, *stop when
 * the role may no longer run handlers.
 */
static bool
KvRunRoleHandlers(MemoryContext cxt, bool *more, bool *stop)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(kv_role_name)};
	int64	   *ids = NULL;
	bool	   *dead = NULL;
	int			nids = 0;
	bool		worked = false;
	char	   *problem;

	*more = false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	problem = KvHandlerRoleProblem(GetSessionUserId(), kv_role_name);
	if (problem != NULL)
	{
		KvDisableHandlers(kv_role_name, 0, problem);
		*stop = true;
	}

	/*
	 * The handlers of a table restored from a dump wait until it is adopted:
	 * until then the restore may still be loading what they write to.
	 */
	else if (KvHandlerBookkeeping("SELECT h.handler_id, false FROM partkv.stream_handlers h"
								  " WHERE h.role_name = $1::name AND h.enabled"
								  "   AND h.next_attempt_at <= pg_catalog.now()"
								  "   AND EXISTS (SELECT 1 FROM partkv.tables t WHERE t.table_id = h.table_id"
								  "                  AND t.installation_id = partkv_internal.installation_id())"
								  " UNION ALL"
								  " SELECT d.dead_letter_id, true"
								  "   FROM partkv.dead_letters d JOIN partkv.stream_handlers h USING (handler_id)"
								  "  WHERE h.role_name = $1::name AND d.replay_requested"
								  "   AND EXISTS (SELECT 1 FROM partkv.tables t WHERE t.table_id = h.table_id"
								  "                  AND t.installation_id = partkv_internal.installation_id())",
								  1, argtypes, args, NULL) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream handlers: could not list the handlers of role \"%s\"", kv_role_name);
	else if (SPI_processed > 0)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(cxt);

		ids = palloc(sizeof(int64) * SPI_processed);
		dead = palloc(sizeof(bool) * SPI_processed);
		MemoryContextSwitchTo(spicxt);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			ids[nids] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			dead[nids] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
			nids++;
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);

	for (int i = 0; i < nids && !*stop; i++)
	{
		bool		full;

		CHECK_FOR_INTERRUPTS();
		if (KvRunHandler(ids[i], dead[i], &full, stop))
			worked = true;
		if (full)
			*more = true;
		MemoryContextSwitchTo(cxt);
	}
	return worked;
}

/*
 * KvHandlerWorkerLock takes the session lock that makes this worker the
 * only handler worker of its role in the database (a stream worker that
 * restarted may start another while an older one is still leaving).
 */
static bool
KvHandlerWorkerLock(Oid roleid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, roleid, 0, KV_HANDLER_LOCK_TAG);
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * partkv_handler_worker_main runs the stream handlers of one role in one
 * database, connected as that role, while they have work; it leaves after
 * KV_HANDLER_WORKER_LINGER_MS without any, or when its stream worker has
 * gone.
 */
void
partkv_handler_worker_main(Datum main_arg)
{
	KvHandlerWorkerArgs args;
	MemoryContext cxt;
	TimestampTz idle_since;
	bool		locked;

	memcpy(&args, MyBgworkerEntry->bgw_extra, sizeof(args));
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* a session of the role: fails (FATAL) if it may not log in or connect */
	BackgroundWorkerInitializeConnectionByOid(args.dboid, args.roleid, 0);
	pgstat_report_appname("partkv stream handler worker");

	cxt = AllocSetContextCreate(TopMemoryContext, "partkv handler worker",
								ALLOCSET_DEFAULT_SIZES);
	StartTransactionCommand();
	kv_role_name = MemoryContextStrdup(TopMemoryContext, GetUserNameFromId(args.roleid, false));
	locked = KvHandlerWorkerLock(args.roleid);
	CommitTransactionCommand();
	if (!locked)
		proc_exit(0);

	idle_since = GetCurrentTimestamp();
	for (;;)
	{
		bool		more = false;
		bool		stop = false;

		MemoryContextSwitchTo(cxt);
		MemoryContextReset(cxt);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (kill(args.stream_worker, 0) != 0)
			proc_exit(0);

		if (KvRunRoleHandlers(cxt, &more, &stop))
			idle_since = GetCurrentTimestamp();
		if (stop)
			proc_exit(0);
		if (more)
			continue;
		if (TimestampDifferenceExceeds(idle_since, GetCurrentTimestamp(), KV_HANDLER_WORKER_LINGER_MS))
			proc_exit(0);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 kv_stream_naptime_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
