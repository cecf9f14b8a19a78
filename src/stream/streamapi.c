/*-------------------------------------------------------------------------
 *
 * streamapi.c
 *	  SQL-callable helpers of the change stream.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "../common/jsonbuild.h"
#include "../common/serving.h"
#include "decoder.h"
#include "streamapi.h"
#include "workerstate.h"

/* PG 16 replaced the per-class owner checks (upstream afbfc02983f8) */
#if PG_VERSION_NUM >= 160000
#define KvOwnsRelation(relid) object_ownercheck(RelationRelationId, (relid), GetUserId())
#else
#define KvOwnsRelation(relid) pg_class_ownercheck((relid), GetUserId())
#endif

PG_FUNCTION_INFO_V1(partkv_stream_invalidate);
PG_FUNCTION_INFO_V1(partkv_stream_shard_id);
PG_FUNCTION_INFO_V1(partkv_stream_channel);
PG_FUNCTION_INFO_V1(partkv_stream_wait);
PG_FUNCTION_INFO_V1(partkv_stream_worker_status);

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

/*
 * KvStreamChannelName names the NOTIFY channel of a table's stream:
 * "partkv_stream_" and the table name, cut to an identifier's 63 bytes the
 * way the parser cuts the channel name of LISTEN.
 */
char *
KvStreamChannelName(const char *table_name)
{
	char	   *channel = psprintf("partkv_stream_%s", table_name);
	int			len = strlen(channel);

	if (len >= NAMEDATALEN)
		channel[pg_mbcliplen(channel, len, NAMEDATALEN - 1)] = '\0';
	return channel;
}

/* partkv_stream_channel is partkv_internal.stream_channel(table_name). */
Datum
partkv_stream_channel(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(KvStreamChannelName(text_to_cstring(PG_GETARG_TEXT_PP(0)))));
}

/*
 * KvLastRecordEnd is where the last WAL record inserted ends.  The insert
 * position says the same, except right after a record that filled its page:
 * it then points past the header of the next page, which nothing has
 * written yet and which XLogFlush therefore refuses to flush.
 */
XLogRecPtr
KvLastRecordEnd(void)
{
	XLogRecPtr	pos = GetXLogInsertRecPtr();
	uint32		header = XLogSegmentOffset(pos, wal_segment_size) < XLOG_BLCKSZ ?
		SizeOfXLogLongPHD : SizeOfXLogShortPHD;

	if (pos % XLOG_BLCKSZ == header)
		pos -= header;
	return pos;
}

/*
 * partkv_stream_wait waits until the stream worker of this database has
 * materialised every change committed before the call, and its GSI worker
 * applied them to the GSIs (it flushes WAL to the current insert position
 * and waits for both workers to decode that far), or until the timeout;
 * true when caught up, false on timeout, an error when a worker will not
 * catch up until something changes (src/common/serving.c).  Meant for tests and
 * scripts that want to read their own writes from the stream.
 */
Datum
partkv_stream_wait(PG_FUNCTION_ARGS)
{
	Interval   *timeout = PG_GETARG_INTERVAL_P(0);
	int64		timeout_ms;
	TimestampTz start = GetCurrentTimestamp();
	XLogRecPtr	target;

	timeout_ms = (timeout->time + (int64) timeout->day * USECS_PER_DAY +
				  (int64) timeout->month * 30 * USECS_PER_DAY) / 1000;
	if (timeout_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));

	target = KvLastRecordEnd();
	XLogFlush(target);
	for (;;)
	{
		KvStreamWorkerInfo info;
		KvStreamWorkerInfo gsi;

		if (KvStreamWorkerOf(MyDatabaseId, &info) && info.reached >= target &&
			KvGsiWorkerOf(MyDatabaseId, &gsi) && gsi.reached >= target)
			PG_RETURN_BOOL(true);
		/* what no worker will ever catch up with is an error, not a timeout */
		KvServingCheck(KV_FEATURE_STREAM,
					   "partkv.stream_wait() would wait forever: the change stream of this database is not served");
		KvServingCheck(KV_FEATURE_GSI,
					   "partkv.stream_wait() would wait forever: the global secondary indexes of this database are not maintained");
		if (TimestampDifferenceExceeds(start, GetCurrentTimestamp(), (int) Min(timeout_ms, INT_MAX)))
			PG_RETURN_BOOL(false);
		KvStreamWakeWorker(MyDatabaseId, false);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * partkv_stream_worker_status describes the stream worker of this
 * database: {"pid", "reachedLsn", "records", "lastBatch"}, or NULL when
 * none runs.
 */
Datum
partkv_stream_worker_status(PG_FUNCTION_ARGS)
{
	KvStreamWorkerInfo info;
	JsonbParseState *state = NULL;
	JsonbValue *result;

	if (!KvStreamWorkerOf(MyDatabaseId, &info))
		PG_RETURN_NULL();
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	KvPushInt64(&state, "pid", info.pid);
	KvPushString(&state, "reachedLsn", psprintf("%X/%X", LSN_FORMAT_ARGS(info.reached)));
	KvPushInt64(&state, "records", info.records);
	if (info.last_batch != 0)
		KvPushString(&state, "lastBatch", pstrdup(timestamptz_to_str(info.last_batch)));
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(result));
}
