/*-------------------------------------------------------------------------
 *
 * role_stream.c
 *	  The stream worker's role (role.h): what one worker main does as the
 *	  stream worker of its database.
 *
 * It decodes stream records and stores each batch in partkv_internal.stream_chunks
 * (chunkstore.c).  Each loop iteration it also keeps the chunk partitions
 * (retention), supervises the database's GSI worker (launcher.c), and
 * schedules the rest of the database's background work: it wakes or
 * starts the stream handler workers (handler_launch.c) and runs a TTL
 * batch per TTL-enabled table when partkv.ttl_interval is due (src/ttl).
 * Its decoder skips the changes the GSI worker makes under its own origin:
 * GSI storage never appears in a stream.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "../common/partkv.h"
#include "../ttl/ttl.h"
#include "chunkstore.h"
#include "decoder.h"
#include "handlers.h"
#include "launcher.h"
#include "replslot.h"
#include "role.h"
#include "workerproc.h"

/*
 * While the worker is behind, its batches grow up to this many times
 * partkv.stream_batch_size (decodeloop.c).
 */
#define KV_BATCH_GROWTH 16

/* when the chunk partitions are next kept */
static TimestampTz kv_next_maintenance = 0;

/*
 * KvClaimInstallation gives a database copied from another (CREATE
 * DATABASE ... TEMPLATE) an installation of partkv of its own, before the
 * worker makes its slots, in the current transaction: restored catalog
 * rows are told from this database's own by it (partkv.installation_claim,
 * from 0.5 on; see "dump and restore" in partkv--0.4--0.5.sql).
 */
static void
KvClaimInstallation(void)
{
	List	   *fname = list_make2(makeString(PARTKV_INTERNAL_SCHEMA), makeString("installation_claim"));

	if (!OidIsValid(LookupFuncName(fname, 0, NULL, true)))
		return;
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT partkv_internal.installation_claim()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream worker: could not claim the installation of partkv");
	SPI_finish();
	PopActiveSnapshot();
}

/*
 * KvStreamRolePrepare, in the worker's first transaction: its decoder
 * skips what the GSI worker writes (under its origin, made now if need
 * be), and a database copied from another claims its installation.
 */
static void
KvStreamRolePrepare(RepOriginId own_origin)
{
	char		gsi_name[NAMEDATALEN];

	KvGsiSlotName(MyDatabaseId, gsi_name);
	kv_decoder_skip_origin = KvEnsureOrigin(gsi_name);
	KvClaimInstallation();
}

/* KvStreamRoleReload: the retention may have changed. */
static void
KvStreamRoleReload(void)
{
	kv_next_maintenance = 0;
}

/*
 * KvStreamMaintain keeps the chunk partitions in a transaction of its own
 * (chunkstore.c).
 */
static void
KvStreamMaintain(void)
{
	KvWorkerBeginXact();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	KvChunkStoreMaintain();
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * KvStreamRoleBeforeBatch keeps the chunk partitions when due and the GSI
 * worker running.
 */
static void
KvStreamRoleBeforeBatch(int slotno, TimestampTz now)
{
	if (now >= kv_next_maintenance)
	{
		KvStreamMaintain();
		kv_next_maintenance = TimestampTzPlusMilliseconds(now, KvPartitionWidth() * 500);
	}
	KvSuperviseGsiWorker(slotno);
}

/* KvStreamRoleApply stores a batch's records, in the batch's transaction. */
static void
KvStreamRoleApply(KvBatch *batch, XLogRecPtr reached)
{
	if (batch->n == 0)
		return;
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	KvChunkStoreBatch(batch, reached);
	SPI_finish();
	PopActiveSnapshot();
}

/*
 * KvStreamRoleAfterBatch schedules the handlers and TTL; true when TTL has
 * more to do at once.
 */
static bool
KvStreamRoleAfterBatch(void)
{
	/* stream handlers: their own workers, one per role (handlers.c) */
	KvSuperviseStreamHandlers();
	/* Time to Live: a batch per TTL table when due (src/ttl) */
	return KvTtlWorkerRun();
}

const KvWorkerRoleOps kv_stream_role = {
	.role = KV_ROLE_STREAM,
	.what = "stream",
	.kind = "stream",
	.appname = "partkv stream worker",
	.slot_name = KvStreamSlotName,
	.supervised = false,
	.records = true,
	.batch_growth = KV_BATCH_GROWTH,
	.prepare = KvStreamRolePrepare,
	.new_slot_needs_sql = false,
	.reload = KvStreamRoleReload,
	.before_batch = KvStreamRoleBeforeBatch,
	.batch_apply = KvStreamRoleApply,
	.after_batch = KvStreamRoleAfterBatch,
	.leave = KvGsiWorkerStop,
};
