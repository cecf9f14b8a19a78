/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The change stream's background workers: a launcher that keeps one
 *	  worker per database having the extension, and the worker that
 *	  materialises the stream of its database from its logical slot.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_WORKER_H
#define PARTKV_STREAM_WORKER_H

#include "postgres.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"

/* settings (partkv.naptime etc.) */
extern int	kv_stream_batch_size;
extern int	kv_stream_retention_s;
extern int	kv_gsi_worker_nice;

/* _PG_init's part: settings, shared memory, launcher, utility hook */
extern void KvStreamInit(void);

#endif							/* PARTKV_STREAM_WORKER_H */
