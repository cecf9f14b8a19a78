/*-------------------------------------------------------------------------
 *
 * ttl.h
 *	  Time to Live: the sweeper that deletes expired items of the kv tables
 *	  whose TTL is enabled (partkv.update_time_to_live), run by the stream
 *	  worker every partkv.ttl_interval and by partkv.run_ttl_sweep().
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_TTL_H
#define PARTKV_TTL_H

#include "postgres.h"

/*
 * The sweeper brackets its deletes with transactional logical messages of
 * this prefix, content KV_TTL_MESSAGE_BEGIN then KV_TTL_MESSAGE_END: the
 * output plugin marks the REMOVE records between them as made by the
 * service (userIdentity), as DynamoDB does for TTL deletes.
 */
#define KV_TTL_MESSAGE_PREFIX	"partkv.ttl"
#define KV_TTL_MESSAGE_BEGIN	"begin"
#define KV_TTL_MESSAGE_END		"end"

/* settings: partkv.ttl_interval (seconds, 0: no background sweep), partkv.ttl_batch_size */
extern int	kv_ttl_interval_s;
extern int	kv_ttl_batch_size;

/* _PG_init's part: partkv.ttl_* (before the prefix is reserved) */
extern void KvTtlInit(void);

/*
 * The stream worker's turn: when a sweep is due (or the previous round left
 * expired items behind), delete one batch per TTL-enabled table, each in a
 * transaction of its own.  Call outside any transaction.  Returns true when
 * more expired items are waiting (call again without sleeping).
 */
extern bool KvTtlWorkerRun(void);

#endif							/* PARTKV_TTL_H */
