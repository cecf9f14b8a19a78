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

#include "tablecache.h"

/*
 * Fill lsiindex[0 .. KV_MAX_LOCAL_INDEXES - 1] with the OIDs of partition
 * part's indexes serving each local secondary index of table (InvalidOid
 * where the partition has none, e.g. during pg_restore).
 */
extern void KvLsiMapPartition(Relation part, const KvTable *table, Oid *lsiindex);

#endif							/* PARTKV_LSIMAP_H */
