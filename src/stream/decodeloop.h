/*-------------------------------------------------------------------------
 *
 * decodeloop.h
 *	  Decoding one batch of WAL in a worker, and what surrounds it: the
 *	  records kept, reading up to the flushed end, confirming the slot once
 *	  a batch's commit is durable, pacing between batches.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_DECODELOOP_H
#define PARTKV_STREAM_DECODELOOP_H

#include "postgres.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "replication/logical.h"

#include "decoder.h"
#include "role.h"

/* settings (partkv.stream_batch_*) */
extern int	kv_stream_batch_delay_ms;
extern int	kv_stream_batch_size;

/* one decoded record, as the batch keeps it */
typedef struct KvBatchRecord
{
	int64		stream_id;		/* 0: the decoder did not know the stream */
	const char *schema_name;
	const char *table_name;
	const char *shard_id;
	char		sequence_number[KV_SEQNO_LEN + 1];
	int64		sequence_offset;	/* of its table (decoder.h) */
	int32		size_bytes;
	Datum		record;			/* jsonb */
} KvBatchRecord;

/* the records decoded for one batch, in commit (sequence number) order */
typedef struct KvBatch
{
	MemoryContext context;		/* reset per batch */
	int			n;
	int			cap;
	KvBatchRecord *recs;
	TimestampTz last_commit_time;
} KvBatch;

extern LogicalDecodingContext *KvDecodingStart(MemoryContext worker_cxt,
											   XLogRecPtr origin_lsn, bool records);
extern bool KvDecodeBatch(LogicalDecodingContext *ctx, const KvWorkerRoleOps *ops);
extern XLogRecPtr KvDecodableEnd(void);
extern long KvFlushWritten(XLogRecPtr decoded);
extern void KvConfirmFlushed(bool flush);
extern void KvWorkerPace(TimestampTz batch_started);

#endif							/* PARTKV_STREAM_DECODELOOP_H */
