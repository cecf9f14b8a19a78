/*-------------------------------------------------------------------------
 *
 * hashops.c
 *	  xxHash (XXH3-64) support functions of the hash operator classes that
 *	  partition kv tables on their partition key.
 *
 * Numbers hash their normalised text, so 1, 1.0 and 1e0, which compare
 * equal, land in the same partition: a hash opclass must agree with its
 * equality operator.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <xxhash.h>

#include "fmgr.h"
#include "utils/numeric.h"

#include "hashops.h"

PG_FUNCTION_INFO_V1(partkv_xxhash_text);
PG_FUNCTION_INFO_V1(partkv_xxhash_text_extended);
PG_FUNCTION_INFO_V1(partkv_xxhash_numeric);
PG_FUNCTION_INFO_V1(partkv_xxhash_numeric_extended);
PG_FUNCTION_INFO_V1(partkv_xxhash_bytea);
PG_FUNCTION_INFO_V1(partkv_xxhash_bytea_extended);

/* KvHashBytes returns the 64-bit XXH3 hash of a byte string under a seed. */
uint64
KvHashBytes(const char *data, Size len, uint64 seed)
{
	return (uint64) XXH3_64bits_withSeed(data, len, (XXH64_hash_t) seed);
}

/* KvHashVarlena hashes the payload of a text or bytea datum. */
static uint64
KvHashVarlena(Datum value, uint64 seed)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(value);
	uint64		h = KvHashBytes(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), seed);

	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);
	return h;
}

/* KvHashNumeric hashes a numeric by its normalised text. */
static uint64
KvHashNumeric(Datum value, uint64 seed)
{
	char	   *text = numeric_normalize(DatumGetNumeric(value));
	uint64		h = KvHashBytes(text, strlen(text), seed);

	pfree(text);
	return h;
}

/* KvHashKeyDatum hashes a key column value of the given type OID. */
uint64
KvHashKeyDatum(Datum value, Oid typid, uint64 seed)
{
	if (typid == NUMERICOID)
		return KvHashNumeric(value, seed);
	return KvHashVarlena(value, seed);
}

/* partkv_xxhash_text is support function 1 of xxhash_text_ops. */
Datum
partkv_xxhash_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) KvHashVarlena(PG_GETARG_DATUM(0), 0));
}

/* partkv_xxhash_text_extended is support function 2 (used by partitioning). */
Datum
partkv_xxhash_text_extended(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) KvHashVarlena(PG_GETARG_DATUM(0), (uint64) PG_GETARG_INT64(1)));
}

/* partkv_xxhash_numeric is support function 1 of xxhash_numeric_ops. */
Datum
partkv_xxhash_numeric(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) KvHashNumeric(PG_GETARG_DATUM(0), 0));
}

/* partkv_xxhash_numeric_extended is support function 2. */
Datum
partkv_xxhash_numeric_extended(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) KvHashNumeric(PG_GETARG_DATUM(0), (uint64) PG_GETARG_INT64(1)));
}

/* partkv_xxhash_bytea is support function 1 of xxhash_bytea_ops. */
Datum
partkv_xxhash_bytea(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32((int32) KvHashVarlena(PG_GETARG_DATUM(0), 0));
}

/* partkv_xxhash_bytea_extended is support function 2. */
Datum
partkv_xxhash_bytea_extended(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) KvHashVarlena(PG_GETARG_DATUM(0), (uint64) PG_GETARG_INT64(1)));
}
