/*-------------------------------------------------------------------------
 *
 * safesql.c
 *	  Running SQL without exposing partkv's rights to user objects (see
 *	  safesql.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "safesql.h"

PG_FUNCTION_INFO_V1(partkv_execute_as_owner);

/* KvSetSafeSearchPath sets search_path at the given GUC action. */
static void
KvSetSafeSearchPath(GucAction action)
{
	(void) set_config_option("search_path", KV_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, action, true, 0, false);
}

/*
 * KvWorkerSecureSession fixes search_path for the whole session of a
 * background worker.  A session-level SET outranks what ALTER DATABASE or
 * ALTER ROLE ... SET gave the connection, so a database owner cannot put
 * a schema of theirs in front of pg_catalog for a superuser worker.
 */
void
KvWorkerSecureSession(void)
{
	KvSetSafeSearchPath(GUC_ACTION_SET);
}

/* KvSqlBegin: see safesql.h. */
void
KvSqlBegin(KvSqlScope *scope, Oid role)
{
	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);
	scope->guc_level = NewGUCNestLevel();
	if (OidIsValid(role))
		SetUserIdAndSecContext(role, scope->save_sec_context |
							   SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
	KvSetSafeSearchPath(GUC_ACTION_SAVE);
}

/* KvUserCodeBegin: see safesql.h. */
void
KvUserCodeBegin(KvSqlScope *scope)
{
	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);
	scope->guc_level = NewGUCNestLevel();
	SetUserIdAndSecContext(scope->save_userid,
						   scope->save_sec_context | SECURITY_RESTRICTED_OPERATION);
}

/*
 * KvSqlEnd ends a KvSqlBegin or KvUserCodeBegin: settings made since, by
 * partkv or by the code it ran, are rolled back (as REFRESH MATERIALIZED
 * VIEW and index builds do after running a user's expressions), then the
 * user id is restored.
 */
void
KvSqlEnd(KvSqlScope *scope)
{
	AtEOXact_GUC(false, scope->guc_level);
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec_context);
}

/* KvRelationOwner is the owner of a relation. */
Oid
KvRelationOwner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * partkv_execute_as_owner(relation regclass, statement text) RETURNS SETOF
 * record runs statement as the owner of relation, in a security-restricted
 * operation with the safe search_path, and returns its rows (the caller's
 * column definition list must match them).  For the install script's
 * functions that a superuser worker runs and that write a user's table
 * (GSI backfill): the table's triggers, rules and index expressions then
 * run with its owner's rights, not the worker's.  Only a superuser may call
 * it: to anyone else it would be a way to act as another role.
 */
Datum
partkv_execute_as_owner(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	char	   *statement = text_to_cstring(PG_GETARG_TEXT_PP(1));
	KvSqlScope	scope;
	TupleDesc	expected;
	int			ret;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for function execute_as_owner"),
				 errdetail("Only partkv's workers run statements as a table's owner.")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	expected = rsinfo->setDesc;

	SPI_connect();
	KvSqlBegin(&scope, KvRelationOwner(relid));
	ret = SPI_execute(statement, false, 0);
	KvSqlEnd(&scope);
	if (ret < 0)
		elog(ERROR, "partkv_internal.execute_as_owner: statement failed: %s",
			 SPI_result_code_string(ret));
	if (SPI_tuptable != NULL)
	{
		TupleDesc	got = SPI_tuptable->tupdesc;

		if (got->natts != expected->natts)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("statement returned %d columns, the column definition list has %d",
							got->natts, expected->natts)));
		for (int i = 0; i < got->natts; i++)
			if (TupleDescAttr(got, i)->atttypid != TupleDescAttr(expected, i)->atttypid)
				ereport(ERROR,
						(errcode(ERRCODE_DATATYPE_MISMATCH),
						 errmsg("column %d of the statement's result has type %s, the column definition list %s",
								i + 1, format_type_be(TupleDescAttr(got, i)->atttypid),
								format_type_be(TupleDescAttr(expected, i)->atttypid))));
		for (uint64 i = 0; i < SPI_processed; i++)
			tuplestore_puttuple(rsinfo->setResult, SPI_tuptable->vals[i]);
	}
	SPI_finish();
	return (Datum) 0;
}
