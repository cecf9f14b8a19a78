/*-------------------------------------------------------------------------
 *
 * handlers.h
 *	  Stream handlers: user functions called with batches of stream
 *	  records, in a session of the role that registered them, with retries
 *	  and a dead-letter table (DynamoDB Streams -> Lambda -> DLQ).
 *
 * handler_launch.c is the stream worker's side: it starts, wakes and stops
 * one handler worker per role that has work.  handlers.c is the handler
 * worker: connected as that role, it runs the role's handlers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_HANDLERS_H
#define PARTKV_STREAM_HANDLERS_H

#include "postgres.h"

/* settings */
extern int	kv_handler_timeout_ms;
extern int	kv_max_handler_workers;

/*
 * How long a handler worker with nothing to do stays before it exits; one
 * that exits sooner failed, and is started again only after a back-off.
 */
#define KV_HANDLER_WORKER_LINGER_MS 10000

/* what the stream worker gives a handler worker (bgw_extra) */
typedef struct KvHandlerWorkerArgs
{
	Oid			dboid;
	Oid			roleid;
	pid_t		stream_worker;
} KvHandlerWorkerArgs;

/* _PG_init's part: the settings */
extern void KvHandlersInit(void);

/*
 * Stream worker, outside any transaction: starts (or wakes) the handler
 * worker of every role whose handlers have records or replays waiting, and
 * disables the handlers of roles that may no longer run them.
 */
extern void KvSuperviseStreamHandlers(void);

/*
 * Why a role may not run stream handlers in this database now (dropped,
 * superuser, cannot log in, no CONNECT), palloc'd; NULL when it may.
 */
extern char *KvHandlerRoleProblem(Oid roleid, const char *role_name);

/*
 * Disable handlers, recording why: every handler of role_name (when not
 * NULL) or handler handler_id.  In a transaction, SPI connected.
 */
extern void KvDisableHandlers(const char *role_name, int64 handler_id, const char *reason);

/* the handler worker's entry point */
extern PGDLLEXPORT void partkv_handler_worker_main(Datum main_arg);

#endif							/* PARTKV_STREAM_HANDLERS_H */
