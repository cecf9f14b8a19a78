/*-------------------------------------------------------------------------
 *
 * workerproc.h
 *	  This stream or GSI worker process: its place in the shared state,
 *	  whether it must stop, how it leaves, what it says of itself.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_WORKERPROC_H
#define PARTKV_STREAM_WORKERPROC_H

#include "postgres.h"

#include "role.h"
#include "workerstate.h"

/* who this process is (set by KvWorkerAttach) */
extern const KvWorkerRoleOps *kv_my_ops;
extern KvWorkerRole kv_role;
extern KvWorkerSlot *kv_my_slot;
extern KvWorkerProc *kv_me;
extern Oid	kv_my_dboid;
extern pid_t kv_parent_pid;
extern char kv_my_dbname[NAMEDATALEN];

extern bool KvWorkerAttach(int slotno, Oid dboid, const KvWorkerRoleOps *ops);
extern bool KvWorkerStopRequested(void);
extern void KvWorkerExit(KvExitReason reason) pg_attribute_noreturn();
extern bool KvExtensionPresent(void);
extern void KvWorkerDropStream(void) pg_attribute_noreturn();
extern void KvWorkerBeginXact(void);
extern void KvWorkerServing(KvServingState state, const char *detail);
extern bool KvWorkerVersionReady(void);
extern void KvWorkerWaitForFreeSlot(const char *name);

#endif							/* PARTKV_STREAM_WORKERPROC_H */
