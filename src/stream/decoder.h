/*-------------------------------------------------------------------------
 *
 * decoder.h
 *	  The "partkv" logical decoding output plugin: changes of kv tables
 *	  whose stream is enabled, as DynamoDB Streams records (plain-JSON
 *	  items), one record per item change.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_DECODER_H
#define PARTKV_DECODER_H

#include "postgres.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "replication/logical.h"
#include "utils/jsonb.h"

#include "../index/gsi.h"

/*
 * Sequence numbers are 30 decimal digits: the commit LSN of the record's
 * transaction (20 digits) then the record's position in that transaction
 * (10 digits).  Fixed width, so text order is numeric order, and commit
 * order is sequence order.
 */
#define KV_SEQNO_LEN			30
#define KV_SEQNO_POS_DIGITS		10

/* "shardId-" + 10 digits (modulus) + "-" + 10 digits (remainder) */
#define KV_SHARD_ID_LEN			29

/* a table's StreamViewType; KV_VIEW_NONE when the stream is off */
typedef enum KvStreamViewType
{
	KV_VIEW_NONE = 0,
	KV_VIEW_KEYS_ONLY,
	KV_VIEW_NEW_IMAGE,
	KV_VIEW_OLD_IMAGE,
	KV_VIEW_NEW_AND_OLD_IMAGES
} KvStreamViewType;

/*
 * What the plugin knows about the record it is handing to the writer:
 * consumers inside this library (the stream worker's write callback) read
 * it with KvDecoderCurrentRecord() instead of parsing the record text.
 */
typedef struct KvDecodedRecord
{
	const char *schema_name;
	const char *table_name;
	const char *shard_id;
	const char *event_name;		/* INSERT, MODIFY, REMOVE */
	int64		stream_id;		/* partkv.streams row open at the change, or 0 */
	char		sequence_number[KV_SEQNO_LEN + 1];
	TimestampTz commit_time;
	XLogRecPtr	commit_lsn;
	TransactionId xid;
	int64		size_bytes;
	int64		sequence_offset;	/* added to commit LSNs for sequence numbers */
} KvDecodedRecord;

extern const char *KvStreamViewTypeName(KvStreamViewType view);
extern KvStreamViewType KvStreamViewTypeFromName(const char *name);

/* the shard id of a kv table partition, from its hash partition bound */
extern void KvShardIdOf(Oid partition, char *out);

/* format a sequence number from a commit LSN and a position */
extern void KvFormatSequenceNumber(XLogRecPtr commit_lsn, uint32 position, char *out);

/* the record being written by the partkv plugin of ctx (NULL if none) */
extern const KvDecodedRecord *KvDecoderCurrentRecord(LogicalDecodingContext *ctx);

/*
 * Global secondary indexes: when set (by the GSI worker only, to
 * KvGsiCollectChange), the plugin calls this hook for every change of a kv
 * table that has GSIs, whether or not the table has a stream.  It runs
 * under the historic snapshot of the change and must only copy what it
 * keeps.
 */
typedef void (*KvGsiChangeHook) (const KvGsiChangeInfo *change);
extern PGDLLIMPORT KvGsiChangeHook kv_gsi_change_hook;

/* the origin whose changes the decoder drops unread (the GSI worker's) */
extern PGDLLIMPORT RepOriginId kv_decoder_skip_origin;

#endif							/* PARTKV_DECODER_H */
