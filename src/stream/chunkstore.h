/*-------------------------------------------------------------------------
 *
 * chunkstore.h
 *	  The stream's storage: batches of records written as rows of
 *	  partkv.stream_chunks, and its time partitions kept for
 *	  partkv.stream_retention.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_CHUNKSTORE_H
#define PARTKV_STREAM_CHUNKSTORE_H

#include "postgres.h"
#include "access/xlogdefs.h"

#include "decodeloop.h"

/* setting (partkv.stream_retention) */
extern int	kv_stream_retention_s;

/* width of the stream's time partitions, in seconds */
extern int	KvPartitionWidth(void);

/* store a batch's records and NOTIFY their tables (caller: SPI, snapshot) */
extern void KvChunkStoreBatch(KvBatch *b, XLogRecPtr batch_lsn);

/* create the partitions the next writes need, drop expired ones (same) */
extern void KvChunkStoreMaintain(void);

#endif							/* PARTKV_STREAM_CHUNKSTORE_H */
