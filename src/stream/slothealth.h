/*-------------------------------------------------------------------------
 *
 * slothealth.h
 *	  The health of the workers' replication slots: a backlog that grows is
 *	  shown and warned about, a slot PostgreSQL invalidated is replaced and
 *	  what it lost is recorded (partkv.lost_slots).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_SLOTHEALTH_H
#define PARTKV_STREAM_SLOTHEALTH_H

#include "postgres.h"
#include "replication/origin.h"

/* defines partkv.stream_backlog_warning (KvStreamInit) */
extern void KvSlotHealthInit(void);

/* whether the named slot exists and PostgreSQL has invalidated it */
extern bool KvSlotIsLost(const char *name);

/*
 * A worker ("stream" or "gsi") whose slot is lost records the loss, from
 * where its work is done, and drops the slot; it must then create a new one.
 */
extern void KvSlotLossBegin(const char *name, const char *worker,
							RepOriginId origin, const char *dbname);

/*
 * Once the worker has acquired its new slot: completes a recorded loss with
 * where the new slot starts, and says so loudly.
 */
extern void KvSlotLossRecovered(const char *worker, const char *dbname);

/* the launcher's periodic look at every partkv slot's backlog */
extern void KvBacklogCheck(void);

#endif							/* PARTKV_STREAM_SLOTHEALTH_H */
