/*-------------------------------------------------------------------------
 *
 * handlers.c
 *	  Stream handlers, run by the stream worker.
 *
 * A handler (partkv.stream_handlers, registered with
 * partkv.add_stream_handler) is a function f(records jsonb) of the
 * registering role.  The worker hands it the next records of its table's
 * stream, at most batch_size, in sequence order, and advances the
 * handler's position in the same transaction as the handler's own writes:
 * a batch is handled exactly once as far as the database is concerned.
 *
 * The call runs in a subtransaction, as the registering role, inside a
 * security-restricted operation (no SET ROLE, no SET SESSION
 * AUTHORIZATION, no temporary tables: the worker's session belongs to the
 * bootstrap superuser).  A handler whose role is or became a superuser, or
 * lost EXECUTE on the function or SELECT on the table, fails like any other.
 * A failed batch is retried with back-off (1 s, 2 s, 4 s ...); after
 * max_attempts tries it goes to partkv.dead_letters and the handler moves
 * on.  Each handler runs in its own transaction, so one failing or slow
 * handler only delays itself.  partkv.replay_dead_letter() queues a dead
 * letter; the worker calls the handler with it again and deletes it once
 * handled.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"
#include "utils/timeout.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "handlers.h"

/* PG 16 replaced pg_proc_aclcheck/pg_class_aclcheck (upstream c727f511bd7b) */
#if PG_VERSION_NUM >= 160000
#define KvProcAclCheck(fn, role) object_aclcheck(ProcedureRelationId, (fn), (role), ACL_EXECUTE)
#else
#define KvProcAclCheck(fn, role) pg_proc_aclcheck((fn), (role), ACL_EXECUTE)
#endif

/* longest a handler call may run before it counts as failed (ms; 0: no limit) */
static int	kv_handler_timeout_ms = 30000;

/* KvHandlersInit defines the stream handlers' settings. */
void
KvHandlersInit(void)
{
	DefineCustomIntVariable("partkv.handler_timeout",
							"Longest time one stream handler call may run.",
							"A call that runs longer is cancelled and counts as a failed attempt, "
							"so a slow handler cannot hold up the stream worker.",
							&kv_handler_timeout_ms, 30000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
}

/*
 * KvCallHandler calls handler(records) as role in a subtransaction.  On
 * failure the subtransaction is rolled back and the error message is
 * returned (allocated in the caller's context); NULL on success.
 */
static char *
KvCallHandler(Oid fnoid, const char *role_name, Oid table_relid, Datum records)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			save_userid;
	int			save_sec;
	char	   *volatile error = NULL;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		Oid			role = get_role_oid(role_name, false);
		FmgrInfo	flinfo;
		LOCAL_FCINFO(fcinfo, 1);

		if (superuser_arg(role))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("stream handlers do not run as a superuser (role \"%s\")", role_name)));
		if (KvProcAclCheck(fnoid, role) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" may not execute stream handler %s",
							role_name, format_procedure(fnoid))));
		if (!OidIsValid(table_relid) ||
			pg_class_aclcheck(table_relid, role, ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("role \"%s\" may not read the table of stream handler %s",
							role_name, format_procedure(fnoid))));

		SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
		fmgr_info(fnoid, &flinfo);
		InitFunctionCallInfoData(*fcinfo, &flinfo, 1, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = records;
		fcinfo->args[0].isnull = false;
		if (kv_handler_timeout_ms > 0)
			enable_timeout_after(STATEMENT_TIMEOUT, kv_handler_timeout_ms);
		(void) FunctionCallInvoke(fcinfo);
		disable_timeout(STATEMENT_TIMEOUT, false);
		SetUserIdAndSecContext(save_userid, save_sec);

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
		RollbackAndReleaseCurrentSubTransaction();
		SetUserIdAndSecContext(save_userid, save_sec);
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		error = pstrdup(edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return error;
}

/* KvSpiGet returns column col of the first SPI row (NULL if null). */
static Datum
KvSpiGet(int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, isnull);
}

/*
 * KvRunHandler runs one batch of one handler (or one queued dead letter
 * when dead_letter is true) in a transaction of its own.  Returns true
 * when it handled a full batch.
 */
static bool
KvRunHandler(int64 id, bool dead_letter)
{
	static const char *handler_sql =
		"SELECT h.handler::oid, h.role_name::text, h.batch_size, h.max_attempts, h.attempts,"
		"       b.records, b.last, b.n, to_regclass(format('%I.%I', h.schema_name, h.table_name))::oid"
		"  FROM partkv.stream_handlers h,"
		"       LATERAL (SELECT jsonb_agg(x.record ORDER BY x.sequence_number) AS records,"
		"                       max(x.sequence_number) AS last, count(*)::int AS n"
		"                  FROM partkv.stream_records_after(h.table_id, h.position, h.batch_size) x) b"
		" WHERE h.handler_id = $1 AND h.enabled AND h.next_attempt_at <= now()"
		"   FOR UPDATE OF h SKIP LOCKED";
	static const char *dead_letter_sql =
		"SELECT h.handler::oid, h.role_name::text, h.batch_size, h.max_attempts, d.attempts,"
		"       d.records, NULL::text, jsonb_array_length(d.records),"
		"       to_regclass(format('%I.%I', h.schema_name, h.table_name))::oid"
		"  FROM partkv.dead_letters d JOIN partkv.stream_handlers h USING (handler_id)"
		" WHERE d.dead_letter_id = $1 AND d.replay_requested"
		"   FOR UPDATE OF d SKIP LOCKED";
	Oid			argtype = INT8OID;
	Datum		arg = Int64GetDatum(id);
	Oid			fnoid;
	char	   *role_name;
	int			batch_size;
	int			max_attempts;
	int			attempts;
	Datum		records;
	char	   *last;
	int			n;
	Oid			table_relid;
	bool		isnull;
	char	   *error;
	bool		full = false;
	MemoryContext cxt;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	cxt = CurrentMemoryContext;

	if (SPI_execute_with_args(dead_letter ? dead_letter_sql : handler_sql,
							  1, &argtype, &arg, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream handler %lld: could not read its batch", (long long) id);
	if (SPI_processed == 0)
		goto done;
	n = DatumGetInt32(KvSpiGet(8, &isnull));
	if (n == 0)
		goto done;

	fnoid = DatumGetObjectId(KvSpiGet(1, &isnull));
	role_name = TextDatumGetCString(KvSpiGet(2, &isnull));
	batch_size = DatumGetInt32(KvSpiGet(3, &isnull));
	max_attempts = DatumGetInt32(KvSpiGet(4, &isnull));
	attempts = DatumGetInt32(KvSpiGet(5, &isnull));
	records = KvSpiGet(6, &isnull);
	records = SPI_datumTransfer(records, false, -1);
	last = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7);
	table_relid = DatumGetObjectId(KvSpiGet(9, &isnull));
	if (isnull)
		table_relid = InvalidOid;

	error = KvCallHandler(fnoid, role_name, table_relid, records);
	MemoryContextSwitchTo(cxt);

	if (dead_letter)
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2];
		char		nulls[2] = {' ', error ? ' ' : 'n'};

		vals[0] = Int64GetDatum(id);
		vals[1] = error ? CStringGetTextDatum(error) : (Datum) 0;
		if (SPI_execute_with_args(error == NULL
								  ? "DELETE FROM partkv.dead_letters WHERE dead_letter_id = $1"
								  : "UPDATE partkv.dead_letters SET replay_requested = false,"
								  "       attempts = attempts + 1, error = $2, failed_at = now()"
								  " WHERE dead_letter_id = $1",
								  2, types, vals, nulls, false, 0) < 0)
			elog(ERROR, "partkv stream handler: could not update dead letter %lld", (long long) id);
	}
	else if (error == NULL)
	{
		Oid			types[2] = {INT8OID, TEXTOID};
		Datum		vals[2] = {Int64GetDatum(id), CStringGetTextDatum(last)};

		if (SPI_execute_with_args("UPDATE partkv.stream_handlers"
								  "   SET position = $2, attempts = 0, last_error = NULL,"
								  "       last_success_at = now()"
								  " WHERE handler_id = $1",
								  2, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "partkv stream handler %lld: could not advance", (long long) id);
		full = (n >= batch_size);
	}
	else if (attempts + 1 >= max_attempts)
	{
		Oid			types[5] = {INT8OID, TEXTOID, TEXTOID, INT4OID, JSONBOID};
		Datum		vals[5] = {Int64GetDatum(id), CStringGetTextDatum(last),
			CStringGetTextDatum(error), Int32GetDatum(attempts + 1), records};

		/* out of attempts: the batch becomes a dead letter, the handler moves on */
		if (SPI_execute_with_args("WITH h AS (UPDATE partkv.stream_handlers"
								  "             SET position = $2, attempts = 0, last_error = $3"
								  "           WHERE handler_id = $1"
								  "           RETURNING handler_id, handler, table_name)"
								  " INSERT INTO partkv.dead_letters"
								  "        (handler_id, handler, table_name, records, error, attempts)"
								  " SELECT h.handler_id, h.handler, h.table_name, $5, $3, $4 FROM h",
								  5, types, vals, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "partkv stream handler %lld: could not write a dead letter", (long long) id);
		full = (n >= batch_size);
	}
	else
	{
		Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
		Datum		vals[3] = {Int64GetDatum(id), CStringGetTextDatum(error),
		Int32GetDatum(attempts + 1)};

		/* retry later: 1 s, 2 s, 4 s ... up to a minute */
		if (SPI_execute_with_args("UPDATE partkv.stream_handlers"
								  "   SET attempts = $3, last_error = $2,"
								  "       next_attempt_at = now() + least(interval '1 minute',"
								  "                                       interval '1 second' * 2 ^ ($3 - 1))"
								  " WHERE handler_id = $1",
								  3, types, vals, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "partkv stream handler %lld: could not record a failure", (long long) id);
	}

done:
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return full;
}

/* KvRunStreamHandlers runs what is due (see handlers.h). */
bool
KvRunStreamHandlers(void)
{
	int64	   *ids = NULL;
	bool	   *dead = NULL;
	int			nids = 0;
	bool		more = false;
	MemoryContext cxt = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	/*
	 * The handlers of a table restored from a dump wait until it is adopted:
	 * until then the restore may still be loading what they write to.
	 */
	if (SPI_execute("SELECT h.handler_id, false FROM partkv.stream_handlers h"
					" WHERE h.enabled AND h.next_attempt_at <= now()"
					"   AND EXISTS (SELECT 1 FROM partkv.tables t WHERE t.table_id = h.table_id"
					"                  AND t.installation_id = partkv.installation_id())"
					" UNION ALL"
					" SELECT d.dead_letter_id, true FROM partkv.dead_letters d"
					"   JOIN partkv.stream_handlers h USING (handler_id)"
					" WHERE d.replay_requested"
					"   AND EXISTS (SELECT 1 FROM partkv.tables t WHERE t.table_id = h.table_id"
					"                  AND t.installation_id = partkv.installation_id())",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream handlers: could not list handlers");
	if (SPI_processed > 0)
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

	for (int i = 0; i < nids; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (KvRunHandler(ids[i], dead[i]))
			more = true;
		MemoryContextSwitchTo(cxt);
	}
	if (ids)
	{
		pfree(ids);
		pfree(dead);
	}
	return more;
}
