/*-------------------------------------------------------------------------
 *
 * catwrite.c
 *	  The one way partkv's catalogs are written on behalf of a role:
 *	  partkv_internal.catalog_write(operation, args) checks that the calling role may
 *	  do what the change means, then makes it with the rights of the
 *	  extension's owner under a fixed search_path.
 *
 * No role but the extension's owner holds INSERT, UPDATE or DELETE on
 * partkv.tables, streams, stream_handlers, dead_letters or gsi_indexes.
 * The SQL API (create_table, update_table, add_stream_handler, ...) runs as
 * its caller, does the DDL on the caller's own objects with the caller's
 * rights, and asks for each catalog change here.  What a row says is
 * decided here, not by the caller: a table's row describes a partitioned
 * table the caller owns and whose table_id is its own; a handler's row
 * names the role that registered it and the table_id of the table it
 * reads.  The background workers run as the owner already and write the
 * catalogs directly.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "../common/errors.h"
#include "../common/safesql.h"


/* BadArgument reports a malformed request to catalog_write. */
#define BadArgument(...) \
	KvValidationError("partkv_internal.catalog_write: " __VA_ARGS__)

PG_FUNCTION_INFO_V1(partkv_catalog_write);

/* PG 16 replaced the per-object ACL and ownership checks (upstream c727f511bd7b) */
#if PG_VERSION_NUM >= 160000
#define KvClassOwnerCheck(rel, role) object_ownercheck(RelationRelationId, (rel), (role))
#define KvProcExecuteCheck(fn, role) object_aclcheck(ProcedureRelationId, (fn), (role), ACL_EXECUTE)
#define KvSchemaCreateCheck(nsp, role) object_aclcheck(NamespaceRelationId, (nsp), (role), ACL_CREATE)
#else
#define KvClassOwnerCheck(rel, role) pg_class_ownercheck((rel), (role))
#define KvProcExecuteCheck(fn, role) pg_proc_aclcheck((fn), (role), ACL_EXECUTE)
#define KvSchemaCreateCheck(nsp, role) pg_namespace_aclcheck((nsp), (role), ACL_CREATE)
#endif

/* The columns of partkv.tables that a table's owner may change. */
static const char *const kv_table_updatable[] = {
	"attribute_definitions", "local_indexes", "global_indexes",
	"stream_specification", "time_to_live", NULL
};

/* ArgText returns a string member of the operation's arguments, or NULL. */
static char *
ArgText(Jsonb *args, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&args->root, key, strlen(key), NULL);

	if (v == NULL || v->type == jbvNull)
		return NULL;
	if (v->type != jbvString)
		BadArgument("argument \"%s\" must be a string", key);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/* ArgRequired is ArgText for a member that must be present. */
static char *
ArgRequired(Jsonb *args, const char *key)
{
	char	   *s = ArgText(args, key);

	if (s == NULL)
		BadArgument("argument \"%s\" is missing", key);
	return s;
}

/* ArgJsonb returns a member of the arguments as jsonb, or NULL. */
static Jsonb *
ArgJsonb(Jsonb *args, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&args->root, key, strlen(key), NULL);

	if (v == NULL)
		return NULL;
	return JsonbValueToJsonb(v);
}

/* ArgInt64 returns a numeric member of the arguments as an int64. */
static int64
ArgInt64(Jsonb *args, const char *key)
{
	JsonbValue *v = getKeyJsonValueFromContainer(&args->root, key, strlen(key), NULL);

	if (v == NULL || v->type != jbvNumeric)
		BadArgument("argument \"%s\" must be a number", key);
	return DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

/*
 * KvTableRelid finds the partitioned table schema.table, InvalidOid if
 * there is none.
 */
static Oid
KvTableRelid(const char *schema, const char *table)
{
	Oid			nsp = get_namespace_oid(schema, true);
	Oid			relid;

	if (!OidIsValid(nsp))
		return InvalidOid;
	relid = get_relname_relid(table, nsp);
	if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
		return InvalidOid;
	return relid;
}

/* CheckOwner refuses a caller that does not own the table. */
static void
CheckOwner(Oid relid, Oid caller, const char *table)
{
	if (!KvClassOwnerCheck(relid, caller))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", table)));
}

/*
 * KvCheckStreamReader refuses a caller that may not read every row of the
 * table: stream records carry whole items, and no row-level security
 * policy can be applied to them.
 */
static void
KvCheckStreamReader(Oid relid, Oid caller, const char *table)
{
	if (pg_class_aclcheck(relid, caller, ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", table)));
	if (check_enable_rls(relid, caller, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("row-level security is not supported on the stream of partkv table \"%s\"",
						table),
				 errdetail("Stream records carry whole items; partkv cannot apply row-level security policies to them."),
				 errhint("Read the stream as a role that bypasses row-level security, or disable it on the table.")));
}

/* KvExtensionOwner returns the role that owns partkv's catalogs. */
static Oid
KvExtensionOwner(void)
{
	Oid			relid = get_relname_relid("tables", get_namespace_oid("partkv", false));

	if (!OidIsValid(relid))
		elog(ERROR, "partkv catalog_write: partkv.tables is missing");
	return KvRelationOwner(relid);
}

/*
 * KvRunAsOwner runs one of this file's fixed statements with the rights of
 * the extension's owner and search_path pg_catalog, pg_temp, and returns
 * the first column of its first row (a jsonb), or NULL.  An error restores
 * the caller's identity and settings through the (sub)transaction's abort.
 */
static Datum
KvRunAsOwner(const char *sql, int nargs, Oid *types, Datum *values, bool *isnull)
{
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	int			rc;
	Datum		result = (Datum) 0;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(KvExtensionOwner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "partkv catalog_write: SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "partkv catalog_write: statement failed: %s", SPI_result_code_string(rc));
	*isnull = true;
	if (SPI_tuptable != NULL && SPI_processed > 0)
	{
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
		if (!*isnull)
			result = SPI_datumTransfer(result, false, -1);
	}
	SPI_finish();

	AtEOXact_GUC(true, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec);
	return result;
}

/*
 * RegisterTable inserts the row of a kv table the caller has just created:
 * the table must be a partitioned table the caller owns, and its table_id
 * is unique (partkv.tables has a unique index on it).
 */
static Datum
RegisterTable(Jsonb *args, Oid caller, bool *isnull)
{
	Jsonb	   *row = ArgJsonb(args, "row");
	char	   *schema;
	char	   *table;
	Oid			relid;
	Oid			types[1] = {JSONBOID};
	Datum		values[1];

	if (row == NULL || !JB_ROOT_IS_OBJECT(row))
		BadArgument("register_table needs the row");
	schema = ArgRequired(row, "schema_name");
	table = ArgRequired(row, "table_name");
	relid = KvTableRelid(schema, table);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" is not a partitioned table", schema, table)));
	CheckOwner(relid, caller, table);
	values[0] = JsonbPGetDatum(row);
	/* where and how the row was made is partkv's to say (dump and restore) */
	return KvRunAsOwner("INSERT INTO partkv.tables"
						" SELECT * FROM pg_catalog.jsonb_populate_record(NULL::partkv.tables,"
						"  $1 OPERATOR(pg_catalog.-) 'installation_id' OPERATOR(pg_catalog.-) 'sequence_offset')"
						" RETURNING pg_catalog.to_jsonb(tables.*)",
						1, types, values, isnull);
}

/*
 * UpdateTable changes the owner-settable columns of a kv table's row.  The
 * triggers on partkv.tables (streams, GSI storage, replica identity) run
 * with the owner's rights as part of it.
 */
static Datum
UpdateTable(Jsonb *args, Oid caller, bool *isnull)
{
	char	   *schema = ArgRequired(args, "schema_name");
	char	   *table = ArgRequired(args, "table_name");
	Jsonb	   *set = ArgJsonb(args, "set");
	Oid			relid = KvTableRelid(schema, table);
	StringInfoData sql;
	int			ncols = 0;
	Oid			types[3] = {NAMEOID, TEXTOID, JSONBOID};
	Datum		values[3];

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", schema, table)));
	CheckOwner(relid, caller, table);
	if (set == NULL || !JB_ROOT_IS_OBJECT(set))
		BadArgument("update_table needs the columns to set");

	initStringInfo(&sql);
	appendStringInfoString(&sql, "UPDATE partkv.tables t SET ");
	for (int i = 0; kv_table_updatable[i] != NULL; i++)
	{
		const char *col = kv_table_updatable[i];

		if (getKeyJsonValueFromContainer(&set->root, col, strlen(col), NULL) == NULL)
			continue;
		appendStringInfo(&sql, "%s%s = (pg_catalog.jsonb_populate_record(NULL::partkv.tables, $3)).%s",
						 ncols > 0 ? ", " : "", col, col);
		ncols++;
	}
	if (ncols == 0 || ncols != JsonContainerSize(&set->root))
		BadArgument("update_table may set only %s", "attribute_definitions, local_indexes, global_indexes, stream_specification and time_to_live");

	/* new GSIs get storage tables in the table's schema */
	if (getKeyJsonValueFromContainer(&set->root, "global_indexes", strlen("global_indexes"), NULL) != NULL &&
		KvSchemaCreateCheck(get_rel_namespace(relid), caller) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for schema %s", schema),
				 errdetail("The storage of a global secondary index is a table in the schema of its base table.")));
	appendStringInfoString(&sql, " WHERE t.schema_name = $1 AND t.table_name = $2"
						   " RETURNING pg_catalog.to_jsonb(t.*)");
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(table);
	values[2] = JsonbPGetDatum(set);
	/* every backend's table cache holds the row (TTL, declared indexes) */
	CacheInvalidateRelcacheByRelid(relid);
	return KvRunAsOwner(sql.data, 3, types, values, isnull);
}

/*
 * UnregisterTable removes a kv table's row (its streams, handlers and GSI
 * rows follow through the triggers): the caller owns the table, or the
 * table is gone already and the row describes nothing.
 */
static Datum
UnregisterTable(Jsonb *args, Oid caller, bool *isnull)
{
	char	   *schema = ArgRequired(args, "schema_name");
	char	   *table = ArgRequired(args, "table_name");
	Oid			relid = KvTableRelid(schema, table);
	Oid			types[2] = {NAMEOID, TEXTOID};
	Datum		values[2];

	if (OidIsValid(relid))
		CheckOwner(relid, caller, table);
	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(table);
	return KvRunAsOwner("DELETE FROM partkv.tables t WHERE t.schema_name = $1 AND t.table_name = $2"
						" RETURNING pg_catalog.to_jsonb(t.*)",
						2, types, values, isnull);
}

/*
 * AddHandler registers a stream handler for the caller: the row names the
 * caller, the table_id of the kv table it reads (from partkv.tables, never
 * from the caller), and a handler the caller may execute.
 */
static Datum
AddHandler(Jsonb *args, Oid caller, bool *isnull)
{
	char	   *schema = ArgRequired(args, "schema_name");
	char	   *table = ArgRequired(args, "table_name");
	Oid			handler = (Oid) ArgInt64(args, "handler");
	Oid			relid = KvTableRelid(schema, table);
	Oid			types[6] = {NAMEOID, TEXTOID, OIDOID, NAMEOID, JSONBOID, TEXTOID};
	Datum		values[6];
	char	   *position = ArgRequired(args, "position");

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", schema, table)));
	KvCheckStreamReader(relid, caller, table);
	if (!SearchSysCacheExists1(PROCOID, ObjectIdGetDatum(handler)) ||
		KvProcExecuteCheck(handler, caller) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function %s", format_procedure(handler))));
	if (superuser_arg(caller))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("stream handlers cannot be registered by a superuser"),
				 errdetail("Handlers run as the role that registers them, and never as a superuser."),
				 errhint("Register the handler as the role it should run as (SET ROLE).")));

	values[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	values[1] = CStringGetTextDatum(table);
	values[2] = ObjectIdGetDatum(handler);
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(caller, false)));
	values[4] = JsonbPGetDatum(args);
	values[5] = CStringGetTextDatum(position);
	return KvRunAsOwner("INSERT INTO partkv.stream_handlers (schema_name, table_name, table_id, handler,"
						"  role_name, batch_size, max_attempts, position)"
						" SELECT t.schema_name, t.table_name, t.table_id, $3::pg_catalog.regproc, $4,"
						"  ($5->>'batch_size')::pg_catalog.int4, ($5->>'max_attempts')::pg_catalog.int4, $6"
						"   FROM partkv.tables t WHERE t.schema_name = $1 AND t.table_name = $2"
						" RETURNING pg_catalog.to_jsonb(stream_handlers.*)",
						6, types, values, isnull);
}

/*
 * CheckHandlerManager refuses a caller that neither acts as the handler's
 * role nor owns the handler's table.
 */
static void
CheckHandlerManager(const char *role_name, const char *schema, const char *table, Oid caller)
{
	Oid			role = get_role_oid(role_name, true);
	Oid			relid = KvTableRelid(schema, table);

	if (OidIsValid(role) && has_privs_of_role(caller, role))
		return;
	if (OidIsValid(relid) && KvClassOwnerCheck(relid, caller))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for the stream handler of role \"%s\" on table %s",
					role_name, table),
			 errdetail("A handler is managed by the role that registered it and by the owner of its table.")));
}

/*
 * HandlerRow reads the handler row a management operation names (by id)
 * as jsonb, NULL if there is none.
 */
static Jsonb *
HandlerRow(const char *sql, int64 id)
{
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};
	bool		isnull;
	Datum		row = KvRunAsOwner(sql, 1, types, values, &isnull);

	return isnull ? NULL : DatumGetJsonbP(row);
}

/* RemoveHandler deletes a handler (and its dead letters, by cascade). */
static Datum
RemoveHandler(Jsonb *args, Oid caller, bool *isnull)
{
	int64		id = ArgInt64(args, "handler_id");
	Jsonb	   *h = HandlerRow("SELECT pg_catalog.to_jsonb(h.*) FROM partkv.stream_handlers h"
							   " WHERE h.handler_id = $1", id);
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	if (h == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	CheckHandlerManager(ArgRequired(h, "role_name"), ArgRequired(h, "schema_name"),
						ArgRequired(h, "table_name"), caller);
	return KvRunAsOwner("DELETE FROM partkv.stream_handlers h WHERE h.handler_id = $1"
						" RETURNING pg_catalog.to_jsonb(h.*)",
						1, types, values, isnull);
}

/* ReplayDeadLetter queues a dead letter to be handled again. */
static Datum
ReplayDeadLetter(Jsonb *args, Oid caller, bool *isnull)
{
	int64		id = ArgInt64(args, "dead_letter_id");
	Jsonb	   *h = HandlerRow("SELECT pg_catalog.to_jsonb(h.*) FROM partkv.dead_letters d"
							   "  JOIN partkv.stream_handlers h ON h.handler_id = d.handler_id"
							   " WHERE d.dead_letter_id = $1", id);
	Oid			types[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(id)};

	if (h == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	CheckHandlerManager(ArgRequired(h, "role_name"), ArgRequired(h, "schema_name"),
						ArgRequired(h, "table_name"), caller);
	return KvRunAsOwner("UPDATE partkv.dead_letters d SET replay_requested = true"
						" WHERE d.dead_letter_id = $1 RETURNING pg_catalog.to_jsonb(d.*)",
						1, types, values, isnull);
}

/*
 * partkv_catalog_write: partkv_internal.catalog_write(operation text, args jsonb)
 * -> jsonb, the row written (NULL when the operation found nothing).
 */
Datum
partkv_catalog_write(PG_FUNCTION_ARGS)
{
	char	   *op;
	Jsonb	   *args;
	Oid			caller = GetUserId();
	bool		isnull = true;
	Datum		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		BadArgument("operation and arguments must not be null");
	op = text_to_cstring(PG_GETARG_TEXT_PP(0));
	args = PG_GETARG_JSONB_P(1);
	if (!JB_ROOT_IS_OBJECT(args))
		BadArgument("arguments must be a JSON object");

	if (strcmp(op, "register_table") == 0)
		result = RegisterTable(args, caller, &isnull);
	else if (strcmp(op, "update_table") == 0)
		result = UpdateTable(args, caller, &isnull);
	else if (strcmp(op, "unregister_table") == 0)
		result = UnregisterTable(args, caller, &isnull);
	else if (strcmp(op, "add_handler") == 0)
		result = AddHandler(args, caller, &isnull);
	else if (strcmp(op, "remove_handler") == 0)
		result = RemoveHandler(args, caller, &isnull);
	else if (strcmp(op, "replay_dead_letter") == 0)
		result = ReplayDeadLetter(args, caller, &isnull);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown partkv catalog operation \"%s\"", op)));

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}
