/*-------------------------------------------------------------------------
 *
 * serving.h
 *	  Whether a database's change stream, GSIs and TTL are being served:
 *	  the state each background worker records of itself (and the launcher
 *	  of the workers it could not start), read by backends for status
 *	  displays and for errors where the user acts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_COMMON_SERVING_H
#define PARTKV_COMMON_SERVING_H

#include "postgres.h"
#include "access/xlogdefs.h"

/* the two processes of a database (same order as worker.c's roles) */
typedef enum KvServingWorker
{
	KV_SERVING_STREAM_WORKER = 0,	/* stream, handlers, TTL */
	KV_SERVING_GSI_WORKER,		/* global secondary indexes */
	KV_SERVING_NWORKERS
} KvServingWorker;

/* what a worker (or the launcher, for one it could not start) records */
typedef enum KvServingState
{
	KV_SERVING_NONE = 0,		/* nothing recorded: being started */
	KV_SERVING_RUNNING,			/* decoding and applying changes */
	KV_SERVING_EXITED,			/* was running, exited: restarted soon */
	KV_SERVING_UPDATE,			/* waits for ALTER EXTENSION partkv UPDATE */
	KV_SERVING_NO_SLOT,			/* no free replication slot for its slot */
	KV_SERVING_NO_PROCESS,		/* no free background worker slot */
	KV_SERVING_MAX_WORKERS,		/* partkv.max_workers serve other databases */
	KV_SERVING_FAILED			/* exited with an error: restarted with back-off */
} KvServingState;

/* what a backend is told about one feature of its database */
typedef enum KvServingFeature
{
	KV_FEATURE_STREAM = 0,
	KV_FEATURE_GSI,
	KV_FEATURE_TTL
} KvServingFeature;

typedef struct KvServing
{
	bool		served;
	bool		transient;		/* not yet, but will be once a worker starts */
	int			sqlstate;		/* for an error where the user acts */
	char	   *reason;			/* a sentence, NULL when served */
	char	   *hint;			/* what to change, or NULL */
} KvServing;

/* setup from _PG_init (shared memory through the request hook) */
extern void KvServingInit(int max_workers);

/* writers: workers about themselves, the launcher about workers it could not start */
extern void KvServingSet(Oid dboid, KvServingWorker worker, KvServingState state,
						 const char *detail);
extern void KvServingRecordError(Oid dboid, KvServingWorker worker);
extern void KvServingExited(Oid dboid, KvServingWorker worker);
extern void KvServingForget(Oid dboid);
extern KvServingState KvServingStateOf(Oid dboid, KvServingWorker worker);

/* readers */
extern void KvServingOf(Oid dboid, KvServingFeature feature, KvServing *out);
extern void KvServingCheck(KvServingFeature feature, const char *what);
extern int	KvFreeReplicationSlots(void);
extern XLogRecPtr KvSlotConfirmedFlush(const char *name);

/*
 * The version of the extension's SQL objects this library's workers write
 * (partkv.control's default_version).
 */
#define KV_SQL_VERSION "0.5"

extern char *KvInstalledVersion(void);

#endif							/* PARTKV_COMMON_SERVING_H */
