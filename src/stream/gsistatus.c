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
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "../common/jsonbuild.h"
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
	JsonbParseState *state = NULL;
	JsonbValue *result;
	XLogRecPtr	flush = GetFlushRecPtr(NULL);
	int64		bytes;
	double		seconds = 0;

	KvServing	serving;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (!KvGsiWorkerOf(MyDatabaseId, &info))
	{
		char		name[NAMEDATALEN];
		XLogRecPtr	confirmed;

		KvGsiSlotName(MyDatabaseId, name);
		confirmed = KvSlotConfirmedFlush(name);
		if (XLogRecPtrIsInvalid(confirmed))
			KvPushNull(&state, "WalBytes");
		else
			KvPushInt64(&state, "WalBytes", (int64) (flush > confirmed ? flush - confirmed : 0));
		KvPushNull(&state, "Seconds");
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
		KvPushInt64(&state, "WalBytes", bytes);
		KvPushNumberText(&state, "Seconds", psprintf("%.3f", seconds));
		KvPushBool(&state, "Yielding", info.yielding);
		if (info.applied_commit != 0)
			KvPushString(&state, "LastApplied", pstrdup(timestamptz_to_str(info.applied_commit)));
	}
	KvServingOf(MyDatabaseId, KV_FEATURE_GSI, &serving);
	KvPushBool(&state, "Served", serving.served);
	if (!serving.served)
	{
		KvPushBool(&state, "Transient", serving.transient);
		KvPushString(&state, "Reason", serving.reason);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	PG_RETURN_JSONB_P(JsonbValueToJsonb(result));
}
