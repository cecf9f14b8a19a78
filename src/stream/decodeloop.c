/*-------------------------------------------------------------------------
 *
 * decodeloop.c
 *	  Decoding one batch of WAL in a stream or GSI worker.
 *
 * Each batch is one transaction: the worker decodes WAL from where it
 * stopped until it has partkv.stream_batch_size records or changes or
 * reaches the end of flushed WAL, always stopping after a whole WAL record
 * so that every decoded transaction is complete; its role applies the
 * batch (role.h); the origin's LSN is set to the end of the WAL decoded;
 * it commits; and only once that commit is flushed is the LSN confirmed to
 * the slot.  After a crash the origin's LSN is the point up to which work
 * was committed: decoding restarts there (CreateDecodingContext skips the
 * transactions that committed before it), so no change is lost or applied
 * twice.
 *
 * Decoding runs inside the worker (not a walsender), with the partkv
 * output plugin; this file also keeps the records the plugin writes, reads
 * WAL up to the flushed end without waiting for the WAL writer, keeps the
 * catalog caches apart between normal and historic snapshots, and paces
 * batches that keep up (partkv.stream_batch_delay).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogutils.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/value.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/sinval.h"
#include "storage/spin.h"
#include "storage/standbydefs.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "decodeloop.h"
#include "decoder.h"
#include "streamapi.h"
#include "workerproc.h"
#include "workerstate.h"

int			kv_stream_batch_delay_ms = 10;
int			kv_stream_batch_size = 1000;

static KvBatch kv_batch;
static MemoryContext kv_worker_cxt = NULL;	/* lives as long as the worker */

/*
 * Records or changes the next batch may hold: partkv.stream_batch_size
 * while the worker keeps up; doubled after each full batch, up to the
 * role's batch_growth times that, while it is behind, so that the cost of a
 * batch (catalog caches, commit, a chunk row per shard) is spread over more
 * records exactly when the worker most needs it.  Latency is not at stake
 * then: the records have waited longer than a bigger batch takes.
 *
 * A GSI worker's batches do not grow (role_gsi.c says why).
 */
static int	kv_batch_limit = 0;

/* KvWorkerPrepareWrite starts a record (the plugin writes into ctx->out). */
static void
KvWorkerPrepareWrite(LogicalDecodingContext *ctx, XLogRecPtr lsn,
					 TransactionId xid, bool last_write)
{
	resetStringInfo(ctx->out);
}

/* KvWorkerWrite keeps a decoded record in the batch. */
static void
KvWorkerWrite(LogicalDecodingContext *ctx, XLogRecPtr lsn, TransactionId xid,
			  bool last_write)
{
	const KvDecodedRecord *rec = KvDecoderCurrentRecord(ctx);
	KvBatch    *b = &kv_batch;
	KvBatchRecord *r;
	MemoryContext oldcxt;

	if (rec == NULL)
		return;
	oldcxt = MemoryContextSwitchTo(b->context);
	if (b->n == b->cap)
	{
		b->cap = Max(64, b->cap * 2);
		b->recs = b->n == 0 ? palloc(sizeof(KvBatchRecord) * b->cap)
			: repalloc(b->recs, sizeof(KvBatchRecord) * b->cap);
	}
	r = &b->recs[b->n++];
	r->stream_id = rec->stream_id;
	/* consecutive records mostly share their table: share the strings */
	if (b->n > 1 && strcmp(r[-1].table_name, rec->table_name) == 0 &&
		strcmp(r[-1].schema_name, rec->schema_name) == 0)
	{
		r->schema_name = r[-1].schema_name;
		r->table_name = r[-1].table_name;
	}
	else
	{
		r->schema_name = pstrdup(rec->schema_name);
		r->table_name = pstrdup(rec->table_name);
	}
	r->shard_id = pstrdup(rec->shard_id);
	memcpy(r->sequence_number, rec->sequence_number, sizeof(r->sequence_number));
	r->sequence_offset = rec->sequence_offset;
	r->size_bytes = (int32) Min(rec->size_bytes, PG_INT32_MAX);
	/* binary-records: the output is one jsonb varlena */
	r->record = PointerGetDatum(memcpy(palloc(ctx->out->len), ctx->out->data, ctx->out->len));
	b->last_commit_time = rec->commit_time;
	MemoryContextSwitchTo(oldcxt);
}

/*
 * KvDecodableEnd is where decoding may read up to: the flushed end of WAL,
 * or, when that lies within the header of a fresh page (a flush of the
 * insert position right after a record that filled its page), the start of
 * that page -- no record can be read there yet, and reading on would wait
 * for more WAL.
 */
XLogRecPtr
KvDecodableEnd(void)
{
	XLogRecPtr	end = GetFlushRecPtr(NULL);

	if (end % XLOG_BLCKSZ <= SizeOfXLogLongPHD)
		end -= end % XLOG_BLCKSZ;
	return end;
}

/*
 * Commits made with synchronous_commit = off become decodable only once the
 * WAL writer flushes them (every wal_writer_delay, 200 ms by default, or
 * every wal_writer_flush_after): waiting for it would add that much to the
 * delay of every change.  So a worker that has decoded all flushed WAL
 * while more is written flushes it itself, at most every
 * KV_FLUSH_INTERVAL_MS.  The writers never wait for these flushes, and a
 * change is never decoded before it is durable.
 */
#define KV_FLUSH_INTERVAL_MS 10
static TimestampTz kv_last_flush = 0;

/*
 * KvFlushWritten flushes WAL written past what the worker decoded: 0 when it
 * did, the milliseconds to wait before it may again, or -1 when nothing is
 * waiting to be flushed.
 */
long
KvFlushWritten(XLogRecPtr decoded)
{
	XLogRecPtr	written = KvLastRecordEnd();
	TimestampTz now;
	long		wait;

	if (written <= decoded || written <= GetFlushRecPtr(NULL))
		return -1;
	now = GetCurrentTimestamp();
	wait = KV_FLUSH_INTERVAL_MS - TimestampDifferenceMilliseconds(kv_last_flush, now);
	if (wait > 0)
		return wait;
	XLogFlush(written);
	kv_last_flush = now;
	return 0;
}

/*
 * KvWorkerNotDecodingOnly undoes the PROC_IN_LOGICAL_DECODING mark that
 * CreateDecodingContext gives a process decoding outside a transaction.
 * The mark makes every other backend leave the process's xid out of its
 * snapshots and horizons, which suits a walsender, which writes nothing.
 * A worker writes (stream chunks, GSI entries, TTL deletes, handlers'
 * changes): another backend would then take its running transaction for
 * an aborted one, mark its rows so (hint bits) and prune them -- VACUUM
 * running beside the GSI worker removed entries being inserted and kept
 * entries being deleted.  Unmarked, the worker's snapshots hold the
 * horizon back for the length of a batch, like any backend's.
 */
static void
KvWorkerNotDecodingOnly(void)
{
	LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
	MyProc->statusFlags &= ~PROC_IN_LOGICAL_DECODING;
	ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
	LWLockRelease(ProcArrayLock);
}

/*
 * KvReadWalPage reads WAL for decoding as read_local_xlog_page does, which
 * waits until the bytes asked for are flushed.  A batch decodes up to the
 * flushed end, and the WAL writer of a server with asynchronous commits
 * flushes every wal_writer_delay: a record that runs past the flushed end
 * would hold the batch that long.  The worker flushes up to it instead.
 */
static int
KvReadWalPage(XLogReaderState *state, XLogRecPtr targetPagePtr, int reqLen,
			  XLogRecPtr targetRecPtr, char *cur_page)
{
	XLogRecPtr	needed = targetPagePtr + reqLen;

	if (!RecoveryInProgress() && needed > GetFlushRecPtr(NULL))
		XLogFlush(needed);
	return read_local_xlog_page(state, targetPagePtr, reqLen, targetRecPtr, cur_page);
}

/*
 * KvRecordChangesCatalog tells whether a WAL record carries catalog
 * invalidations: the commit of a transaction that changed the catalogs, or
 * invalidations logged on their own.
 */
static bool
KvRecordChangesCatalog(XLogReaderState *record)
{
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	if (XLogRecGetRmid(record) == RM_STANDBY_ID)
		return info == XLOG_INVALIDATIONS;
	if (XLogRecGetRmid(record) != RM_XACT_ID)
		return false;
	info &= XLOG_XACT_OPMASK;
	if (info == XLOG_XACT_INVALIDATIONS)
		return true;
	if (info == XLOG_XACT_COMMIT || info == XLOG_XACT_COMMIT_PREPARED)
	{
		xl_xact_parsed_commit parsed;

		ParseCommitRecord(XLogRecGetInfo(record),
						  (xl_xact_commit *) XLogRecGetData(record), &parsed);
		return parsed.nmsgs > 0;
	}
	return false;
}

/*
 * KvWorkerSwitchSnapshots is called where a batch goes from normal
 * snapshots to decoding's historic ones (at decoded, where decoding
 * starts) and back (decoded: where it stopped).  Catalog cache entries
 * built under one kind must not serve the other if the catalogs changed
 * between the two points of view, so logical decoding in a process that
 * also runs queries drops every cache at each switch -- and then rebuilds
 * them all, which cost a batch milliseconds, more than a small batch's
 * changes.  Here the caches are dropped only when the catalogs may differ:
 * the first time; when the WAL just decoded changed the catalogs
 * (decoded_catalog_change); or while decoding has not passed the WAL
 * position current when an invalidation last arrived.  Every committed
 * catalog change sends one, this process's own included, after its commit
 * record and before it releases its locks.
 */
static void
KvWorkerSwitchSnapshots(XLogRecPtr decoded, bool decoded_catalog_change)
{
	static bool switched_before = false;
	static uint64 invalidations_seen = 0;
	static XLogRecPtr changed_before = InvalidXLogRecPtr;

	AcceptInvalidationMessages();
	if (SharedInvalidMessageCounter != invalidations_seen)
	{
		invalidations_seen = SharedInvalidMessageCounter;
		changed_before = GetXLogInsertRecPtr();
	}
	if (!switched_before || decoded_catalog_change || decoded < changed_before)
		InvalidateSystemCaches();
	switched_before = true;
}

/*
 * KvWorkerPace lets partkv.stream_batch_delay pass since the start of a
 * batch that kept up before the next one starts.  The latch is not
 * watched: every commit sets it, and a worker that answered each one would
 * run batches back to back, each paying the fixed cost of a batch for a
 * few changes.
 */
void
KvWorkerPace(TimestampTz batch_started)
{
	long		wait;

	wait = kv_stream_batch_delay_ms -
		TimestampDifferenceMilliseconds(batch_started, GetCurrentTimestamp());
	if (wait > 0)
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, wait,
						 PG_WAIT_EXTENSION);
}

/*
 * Batches commit asynchronously: a synchronous commit flushed WAL once
 * per batch, the writers' WAL with it (at 500 puts/s, a sixth of the GSI
 * worker's time; 4% at 6,000).  A batch's records and
 * entries commit with the origin's LSN, so after a crash the worker
 * resumes where the last durable batch ended, whatever it had reached in
 * memory.  Only the slot must wait: it may forget WAL up to what a batch
 * reached once that batch's commit is flushed (as logical replication's
 * apply worker reports its flush position).  kv_unconfirmed holds the
 * batches waiting for that, oldest first.
 */
#define KV_MAX_UNCONFIRMED 64

typedef struct KvUnconfirmed
{
	XLogRecPtr	commit_end;		/* the end of the batch's commit record */
	XLogRecPtr	reached;		/* WAL decoded by the batch */
} KvUnconfirmed;

static KvUnconfirmed kv_unconfirmed[KV_MAX_UNCONFIRMED];
static int	kv_nunconfirmed = 0;

/*
 * KvConfirmFlushed confirms to the slot the last batch whose commit is
 * flushed; with flush, flushes the commits of all of them first.
 */
void
KvConfirmFlushed(bool flush)
{
	XLogRecPtr	flushed;
	XLogRecPtr	confirm = InvalidXLogRecPtr;
	int			done = 0;

	if (kv_nunconfirmed == 0)
		return;
	if (flush)
		XLogFlush(kv_unconfirmed[kv_nunconfirmed - 1].commit_end);
	flushed = GetFlushRecPtr(NULL);
	while (done < kv_nunconfirmed && kv_unconfirmed[done].commit_end <= flushed)
		confirm = kv_unconfirmed[done++].reached;
	if (done == 0)
		return;
	kv_nunconfirmed -= done;
	memmove(kv_unconfirmed, kv_unconfirmed + done, sizeof(KvUnconfirmed) * kv_nunconfirmed);
	if (confirm > MyReplicationSlot->data.confirmed_flush)
		LogicalConfirmReceivedLocation(confirm);
}

/*
 * KvConfirmWhenFlushed queues the batch just committed, which decoded WAL
 * up to reached.  XactLastCommitEnd is the end of this process's last
 * commit record: this batch's, or an earlier one's when the batch wrote
 * nothing, which then has nothing of its own to make durable.
 */
static void
KvConfirmWhenFlushed(XLogRecPtr reached)
{
	if (kv_nunconfirmed == KV_MAX_UNCONFIRMED)
		KvConfirmFlushed(true);
	kv_unconfirmed[kv_nunconfirmed].commit_end = XactLastCommitEnd;
	kv_unconfirmed[kv_nunconfirmed].reached = reached;
	kv_nunconfirmed++;
	KvConfirmFlushed(false);
}

/* KvPendingChanges counts what the role collected besides records. */
static int
KvPendingChanges(const KvWorkerRoleOps *ops)
{
	return ops->batch_pending ? ops->batch_pending() : 0;
}

/* KvLastCommitTime is the commit time of the batch's last change. */
static TimestampTz
KvLastCommitTime(const KvWorkerRoleOps *ops)
{
	return Max(kv_batch.last_commit_time,
			   ops->batch_last_commit ? ops->batch_last_commit() : 0);
}

/* KvBatchReset empties the batch and what the role collected. */
static void
KvBatchReset(const KvWorkerRoleOps *ops)
{
	MemoryContextReset(kv_batch.context);
	kv_batch.n = 0;
	kv_batch.cap = 0;
	if (ops->batch_reset)
		ops->batch_reset();
}

/*
 * KvDecodeOneBatch decodes one batch and has the role apply it.  Returns
 * true when it stopped because the batch was full (more WAL is waiting).
 */
static bool
KvDecodeOneBatch(LogicalDecodingContext *ctx, const KvWorkerRoleOps *ops)
{
	XLogRecPtr	end_of_wal = KvDecodableEnd();
	TimestampTz end_read_at = GetCurrentTimestamp();
	XLogRecPtr	reached;
	bool		full = false;
	bool		decoded_catalog_change = false;
	int			n;

	KvBatchReset(ops);
	KvWorkerBeginXact();

	/* cache entries built with normal snapshots must not serve decoding */
	KvWorkerSwitchSnapshots(ctx->reader->EndRecPtr, false);
	while (ctx->reader->EndRecPtr < end_of_wal)
	{
		XLogRecord *record;
		char	   *errm = NULL;
		MemoryContext oldcxt;

		/*
		 * The reader allocates oversized records in the current context and
		 * frees them on the next call, maybe in a later transaction: read in
		 * the worker's long-lived context.
		 */
		oldcxt = MemoryContextSwitchTo(kv_worker_cxt);
		record = XLogReadRecord(ctx->reader, &errm);
		MemoryContextSwitchTo(oldcxt);
		if (errm)
			elog(ERROR, "could not find record for logical decoding: %s", errm);
		if (record != NULL)
		{
			decoded_catalog_change |= KvRecordChangesCatalog(ctx->reader);
			LogicalDecodingProcessRecord(ctx, ctx->reader);
		}
		if (kv_batch.n + KvPendingChanges(ops) >= kv_batch_limit)
		{
			full = ctx->reader->EndRecPtr < end_of_wal;
			break;
		}
		CHECK_FOR_INTERRUPTS();
		if (KvWorkerStopRequested())
		{
			AbortCurrentTransaction();
			KvWorkerExit(KV_EXIT_STOPPED);
		}
	}
	reached = ctx->reader->EndRecPtr;
	/* nor those built with historic snapshots the rest of the batch */
	KvWorkerSwitchSnapshots(reached, decoded_catalog_change);

	n = kv_batch.n;
	/* the role's work (chunks, GSI entries), in this same transaction */
	ops->batch_apply(&kv_batch, reached);
	if (n > 0 || KvPendingChanges(ops) > 0)
	{
		/* the origin's LSN commits with the records and index changes */
		replorigin_session_origin_lsn = reached;
		replorigin_session_origin_timestamp = KvLastCommitTime(ops);
	}
	CommitTransactionCommand();
	replorigin_session_origin_lsn = InvalidXLogRecPtr;
	replorigin_session_origin_timestamp = 0;

	/* the slot may forget what was decoded once the commit is durable */
	KvConfirmWhenFlushed(reached);

	SpinLockAcquire(&kv_shared->mutex);
	kv_me->reached = reached;
	if (!full)
	{
		kv_me->caught_up = Max(reached, end_of_wal);
		kv_me->caught_up_at = end_read_at;
	}
	kv_me->records += n;
	if (n > 0 || KvPendingChanges(ops) > 0)
	{
		kv_me->last_batch = GetCurrentTimestamp();
		kv_me->applied_commit = KvLastCommitTime(ops);
	}
	SpinLockRelease(&kv_shared->mutex);
	KvBatchReset(ops);
	return full;
}

/*
 * KvDecodeBatch decodes and applies one batch, sized by how the previous
 * ones went (see kv_batch_limit).  Returns true when the batch was full.
 */
bool
KvDecodeBatch(LogicalDecodingContext *ctx, const KvWorkerRoleOps *ops)
{
	bool		full;

	if (kv_batch_limit < kv_stream_batch_size)
		kv_batch_limit = kv_stream_batch_size;
	full = KvDecodeOneBatch(ctx, ops);
	kv_batch_limit = full ? Min(kv_batch_limit * 2, kv_stream_batch_size * ops->batch_growth)
		: kv_stream_batch_size;
	return full;
}

/*
 * KvDecodingStart makes the worker's decoding context, reading from its
 * slot's restart point; changes that committed before origin_lsn are done
 * already: CreateDecodingContext skips them (and starts at the slot's
 * confirmed position when that is later).  Records come as jsonb, not as
 * text the worker would parse again; with records false, none come (the
 * GSI worker takes changes through the decoder's change hook).
 */
LogicalDecodingContext *
KvDecodingStart(MemoryContext worker_cxt, XLogRecPtr origin_lsn, bool records)
{
	LogicalDecodingContext *ctx;
	List	   *options;

	kv_worker_cxt = worker_cxt;
	kv_batch.context = AllocSetContextCreate(worker_cxt, "partkv stream batch",
											 ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(worker_cxt);
	options = list_make1(makeDefElem("binary-records", (Node *) makeString("on"), -1));
	if (!records)
		options = lappend(options, makeDefElem("records", (Node *) makeString("off"), -1));
	ctx = CreateDecodingContext(origin_lsn, options, false,
								XL_ROUTINE(.page_read = KvReadWalPage,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								KvWorkerPrepareWrite, KvWorkerWrite, NULL);
	XLogBeginRead(ctx->reader, MyReplicationSlot->data.restart_lsn);
	KvWorkerNotDecodingOnly();
	return ctx;
}
