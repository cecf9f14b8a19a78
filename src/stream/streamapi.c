/*-------------------------------------------------------------------------
 *
 * streamapi.c
 *	  SQL-callable helpers of the change stream.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "decoder.h"

/* PG 16 replaced the per-class owner checks (upstream afbfc02983f8) */
#if PG_VERSION_NUM >= 160000
#define KvOwnsRelation(relid) object_ownercheck(RelationRelationId, (relid), GetUserId())
#else
#define KvOwnsRelation(relid) pg_class_ownercheck((relid), GetUserId())
#endif

PG_FUNCTION_INFO_V1(partkv_stream_invalidate);
PG_FUNCTION_INFO_V1(partkv_stream_shard_id);

/*
 * partkv_stream_invalidate sends a relcache invalidation for a kv table and
 * each of its partitions, so that logical decoding (the partkv plugin's
 * partition cache) rereads the table's stream specification from the point
 * in WAL where it changed.  Only the table's owner may call it.
 */
Datum
partkv_stream_invalidate(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	List	   *parts;
	ListCell   *lc;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		PG_RETURN_VOID();
	if (!KvOwnsRelation(relid))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(relid));

	CacheInvalidateRelcacheByRelid(relid);
	parts = find_inheritance_children(relid, NoLock);
	foreach(lc, parts)
		CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
	PG_RETURN_VOID();
}

/* partkv_stream_shard_id gives the stream shard id of a kv table partition. */
Datum
partkv_stream_shard_id(PG_FUNCTION_ARGS)
{
	char		shard[KV_SHARD_ID_LEN + 1];

	KvShardIdOf(PG_GETARG_OID(0), shard);
	PG_RETURN_TEXT_P(cstring_to_text(shard));
}
