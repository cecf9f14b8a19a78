/*-------------------------------------------------------------------------
 *
 * replslot.h
 *	  Making a database's replication slots and origins: for CREATE
 *	  EXTENSION partkv (utility.c) and for a worker that finds its own
 *	  missing (worker.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_REPLSLOT_H
#define PARTKV_STREAM_REPLSLOT_H

#include "postgres.h"
#include "replication/origin.h"
#include "utils/guc.h"

extern void KvStreamTrustPlugin(GucAction action);
extern void KvStreamCreateSlot(const char *name);
extern void KvPrepareSlot(const char *name, bool gsi);
extern RepOriginId KvEnsureOrigin(const char *name);

#endif							/* PARTKV_STREAM_REPLSLOT_H */
