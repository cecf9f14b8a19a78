/*-------------------------------------------------------------------------
 *
 * ringfetch.h
 *	  Index scans whose heap pages can be read through a buffer ring, so
 *	  that reading a large table by key does not evict everything else from
 *	  shared_buffers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_RINGFETCH_H
#define PARTKV_RINGFETCH_H

#include "postgres.h"
#include "access/genam.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

/* the heap side of one index scan */
typedef struct KvRingFetch
{
	Relation	rel;			/* the heap the index points into */
	BufferAccessStrategy strategy;	/* NULL: read as plain index scans do */
	bool		own;			/* false: the table AM's index_getnext_slot */
	Buffer		buf;			/* heap page pinned for the last tuple */
} KvRingFetch;

/* whether reading about blocks heap blocks deserves a bulk-read ring */
extern bool KvRingWanted(Relation rel, double blocks);

/* prepare fetching rows of rel (a NULL strategy reads without a ring) */
extern void KvRingFetchInit(KvRingFetch *f, Relation rel, BufferAccessStrategy strategy);

/* the next visible row of an index scan into slot; false at its end */
extern bool KvRingGetNext(KvRingFetch *f, IndexScanDesc scan, ScanDirection dir,
						  TupleTableSlot *slot);

/* drop the pinned heap page (when the index scan ends) */
extern void KvRingFetchRelease(KvRingFetch *f);

#endif							/* PARTKV_RINGFETCH_H */
