/*
 * accesskeys.c -- new access keys for partkv-server's SigV4 authentication.
 *
 * The keys themselves live in partkv_internal.access_keys (sql/partkv--0.4--0.5.sql);
 * this file only draws them from the operating system's strong random
 * source, which plain SQL cannot reach without pgcrypto.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "catalog/pg_class.h"

#include "../common/partkv.h"
#include "../common/safesql.h"

/* AWS's access key ids are "AKIA" and 16 characters of base32 */
#define KEY_ID_PREFIX "AKIA"
#define KEY_ID_RANDOM 16
#define SECRET_LENGTH 40

static const char key_id_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char secret_alphabet[] =
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * RandomText: LEN characters drawn uniformly from ALPHABET, whose size
 * divides 256 (32 or 64), so that a byte modulo that size has no bias.
 */
static void
RandomText(char *out, int len, const char *alphabet, int alphabet_size)
{
	unsigned char buf[64];

	Assert(len <= (int) sizeof(buf) && 256 % alphabet_size == 0);
	if (!pg_strong_random(buf, len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random access key")));
	for (int i = 0; i < len; i++)
		out[i] = alphabet[buf[i] % alphabet_size];
	out[len] = '\0';
	explicit_bzero(buf, sizeof(buf));
}

/*
 * RunAsKeysOwner runs a fixed statement on partkv_internal.access_keys with
 * its owner's rights (ordinary roles have none on it: the secrets must stay
 * unreadable) and the safe search_path; the caller is inside SPI.  The
 * caller's checks come first, with the caller's identity: a SECURITY
 * DEFINER function could not see who called it.  An error restores
 * identity and settings through the (sub)transaction's abort.
 */
static void
RunAsKeysOwner(const char *sql, int nargs, Oid *types, Datum *values)
{
	Oid			relid = get_relname_relid("access_keys",
										  get_namespace_oid(PARTKV_INTERNAL_SCHEMA, false));
	KvSqlScope	scope;
	int			rc;

	if (!OidIsValid(relid))
		elog(ERROR, "partkv_internal.access_keys is missing");
	KvSqlBegin(&scope, KvRelationOwner(relid));
	rc = SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "partkv access keys: statement failed: %s", SPI_result_code_string(rc));
	KvSqlEnd(&scope);
}

PG_FUNCTION_INFO_V1(partkv_create_access_key);

/*
 * partkv_create_access_key: a new key for a role the caller can act as
 * (pg_has_role MEMBER); returns its id and secret, the only time the secret
 * is shown.
 */
Datum
partkv_create_access_key(PG_FUNCTION_ARGS)
{
	char	   *role_name = NameStr(*PG_GETARG_NAME(0));
	Oid			roleid = get_role_oid(role_name, false);
	Oid			types[4] = {TEXTOID, TEXTOID, OIDOID, NAMEOID};
	Datum		args[4];
	TupleDesc	tupdesc;
	char		id[sizeof(KEY_ID_PREFIX) + KEY_ID_RANDOM];
	char		secret[SECRET_LENGTH + 1];
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (!is_member_of_role(GetUserId(), roleid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to create an access key for role \"%s\"", role_name),
				 errdetail("Only roles that can act as \"%s\" (members of it) can create its keys.",
						   role_name)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);

	memcpy(id, KEY_ID_PREFIX, strlen(KEY_ID_PREFIX));
	RandomText(id + strlen(KEY_ID_PREFIX), KEY_ID_RANDOM, key_id_alphabet, 32);
	RandomText(secret, SECRET_LENGTH, secret_alphabet, 64);
	values[0] = CStringGetTextDatum(id);
	values[1] = CStringGetTextDatum(secret);
	explicit_bzero(secret, sizeof(secret));

	args[0] = values[0];
	args[1] = values[1];
	args[2] = ObjectIdGetDatum(roleid);
	args[3] = DirectFunctionCall1(namein, CStringGetDatum(GetUserNameFromId(GetUserId(), false)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RunAsKeysOwner("INSERT INTO partkv_internal.access_keys (access_key_id, secret_access_key, role_oid, created_by)"
				   " VALUES ($1, $2, $3, $4)", 4, types, args);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

PG_FUNCTION_INFO_V1(partkv_revoke_access_key);

/*
 * partkv_revoke_access_key: deletes a key of a role the caller can act as.
 * partkv-server caches keys for a few seconds (its --key-cache option), so a
 * revoked key stops working within that bound.
 */
Datum
partkv_revoke_access_key(PG_FUNCTION_ARGS)
{
	Datum		id = PG_GETARG_DATUM(0);
	Oid			types[1] = {TEXTOID};
	bool		isnull;
	Oid			roleid;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RunAsKeysOwner("SELECT role_oid FROM partkv_internal.access_keys WHERE access_key_id = $1 FOR UPDATE",
				   1, types, &id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("access key \"%s\" does not exist", TextDatumGetCString(id))));
	roleid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!is_member_of_role(GetUserId(), roleid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to revoke access key \"%s\"", TextDatumGetCString(id)),
				 errdetail("Only roles that can act as the key's role can revoke it.")));
	RunAsKeysOwner("DELETE FROM partkv_internal.access_keys WHERE access_key_id = $1", 1, types, &id);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

PG_FUNCTION_INFO_V1(partkv_list_access_keys);

/*
 * partkv_list_access_keys: the keys of the roles the caller can act as,
 * without their secrets.
 */
Datum
partkv_list_access_keys(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			caller = GetUserId();

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	RunAsKeysOwner("SELECT k.access_key_id, k.role_oid, k.created_at, k.created_by"
				   "  FROM partkv_internal.access_keys k ORDER BY k.created_at, k.access_key_id",
				   0, NULL, NULL);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Oid			roleid = DatumGetObjectId(SPI_getbinval(row, desc, 2, &isnull));
		char	   *rolename;
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		/* a dropped role's keys stay (no dependency) but serve nobody */
		rolename = GetUserNameFromId(roleid, true);
		if (rolename == NULL || !is_member_of_role(caller, roleid))
			continue;
		values[0] = SPI_getbinval(row, desc, 1, &isnull);
		values[1] = DirectFunctionCall1(namein, CStringGetDatum(rolename));
		values[2] = SPI_getbinval(row, desc, 3, &isnull);
		values[3] = SPI_getbinval(row, desc, 4, &isnull);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SPI_finish();
	return (Datum) 0;
}
