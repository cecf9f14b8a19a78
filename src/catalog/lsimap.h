/*-------------------------------------------------------------------------
 *
 * lsimap.h
 *	  Which index of a kv partition serves each local secondary index of
 *	  its table (DESIGN §1.3).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_LSIMAP_H
#define PARTKV_LSIMAP_H

#include "postgres.h"
#include "utils/relcache.h"

#include "../storage/item.h"

/*
 * Fill lsiindex[0 .. nlocal - 1] with the OIDs of partition part's indexes
 * serving each local secondary index of its table, whose sort keys are
 * lsikey[0 .. nlocal - 1] (InvalidOid where the partition has none, e.g.
 * during pg_restore).
 */
extern void KvLsiMapPartition(Relation part, const KvKeyAttr *lsikey, int nlocal,
							  Oid *lsiindex);

#endif							/* PARTKV_LSIMAP_H */
