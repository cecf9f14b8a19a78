/*-------------------------------------------------------------------------
 *
 * handlers.h
 *	  Stream handlers: user functions the stream worker calls with batches
 *	  of stream records, as the role that registered them, with retries and
 *	  a dead-letter table (DynamoDB Streams -> Lambda -> DLQ).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_HANDLERS_H
#define PARTKV_STREAM_HANDLERS_H

/*
 * Run every handler that is due once, and every dead letter queued for
 * replay; each in its own transaction.  Called by the stream worker outside
 * any transaction.  Returns true when a handler had a full batch (more
 * records are waiting).
 */
extern bool KvRunStreamHandlers(void);
extern void KvHandlersInit(void);

#endif							/* PARTKV_STREAM_HANDLERS_H */
