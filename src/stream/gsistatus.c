/*-------------------------------------------------------------------------
 *
 * gsistatus.c
 *	  partkv_gsi_backlog: how far behind the GSI worker of the database is.
 *
 * The GSIs themselves are index code (src/index/gsi.c); this reads the
 * worker's shared state, slot and serving status, so it lives with the
 * workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/timestamp.h"

#include "../common/serving.h"
#include "workerstate.h"

PG_FUNCTION_INFO_V1(partkv_gsi_backlog);

/*
 * partkv_gsi_backlog() returns how far the GSI worker, which maintains
 * every GSI of the database, is behind: {"WalBytes": flushed WAL not yet
 * applied, "Seconds": 0 when caught up, else the age of the last change
 * applied or since the worker was last caught up, whichever is nearer (an
 * upper bound of the delay of the changes waiting; 0 as well when no kv row
 * was written since it was last caught up), "Yielding": whether it gives
 * way to the writers (see KvGsiWorkerYield),
 * "LastApplied": commit time of that change, "Served": whether the GSIs
 * are maintained, and when not, "Transient" and "Reason" (see
 * src/common/serving.c)}.  When no worker runs, "WalBytes" is the WAL its
 * replication slot keeps (null without one) and "Seconds" null.
 */
Datum
partkv_gsi_backlog(PG_FUNCTION_ARGS)
{
	KvStreamWorkerInfo info;
	StringInfoData buf;
	XLogRecPtr	flush = GetFlushRecPtr(NULL);
	int64		bytes;
	double		seconds = 0;

	KvServing	serving;

	initStringInfo(&buf);
	if (!KvGsiWorkerOf(MyDatabaseId, &info))
	{
		char		name[NAMEDATALEN];
		XLogRecPtr	confirmed;

		KvGsiSlotName(MyDatabaseId, name);
		confirmed = KvSlotConfirmedFlush(name);
		if (XLogRecPtrIsInvalid(confirmed))
			appendStringInfoString(&buf, "{\"WalBytes\": null, \"Seconds\": null");
		else
			appendStringInfo(&buf, "{\"WalBytes\": " INT64_FORMAT ", \"Seconds\": null",
							 (int64) (flush > confirmed ? flush - confirmed : 0));
	}
	else
	{
		bytes = (flush > info.reached) ? (int64) (flush - info.reached) : 0;

		/*
		 * WAL written since the worker last had nothing left, when no kv row
		 * was written meanwhile, holds no change (vacuum, other tables):
		 * nothing waits.
		 */
		if (bytes > 0 && info.caught_up_at >= info.last_write)
			seconds = 0;
		else if (bytes > 0)
		{
			/*
			 * Waiting changes committed after the last applied one, and
			 * (give or take the WAL writer's delay) after the worker last
			 * had nothing left: the nearer of the two bounds their delay.
			 */
			TimestampTz since = Max(info.applied_commit, info.caught_up_at);

			if (since != 0)
				seconds = Max(0, (double) (GetCurrentTimestamp() - since) / USECS_PER_SEC);
		}
		appendStringInfo(&buf, "{\"WalBytes\": " INT64_FORMAT ", \"Seconds\": %.3f, \"Yielding\": %s",
						 bytes, seconds, info.yielding ? "true" : "false");
		if (info.applied_commit != 0)
			appendStringInfo(&buf, ", \"LastApplied\": \"%s\"",
							 timestamptz_to_str(info.applied_commit));
	}
	KvServingOf(MyDatabaseId, KV_FEATURE_GSI, &serving);
	appendStringInfo(&buf, ", \"Served\": %s", serving.served ? "true" : "false");
	if (!serving.served)
	{
		appendStringInfo(&buf, ", \"Transient\": %s, \"Reason\": ",
						 serving.transient ? "true" : "false");
		escape_json(&buf, serving.reason);
	}
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
