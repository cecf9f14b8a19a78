/*-------------------------------------------------------------------------
 *
 * ringfetch.c
 *	  Index scans whose heap pages can be read through a buffer ring.
 *
 * PostgreSQL reads a table larger than a quarter of shared_buffers
 * sequentially through a small ring of buffers (BAS_BULKREAD), so that one
 * big scan does not evict the working set of every other session.  Index
 * scans have no such option: the table AM's index fetch reads every heap
 * page into shared_buffers as a normal access.  A partkv Scan reads whole
 * tables through their primary key (it must, to resume after a key), so on
 * a large table it used to fill shared_buffers.
 *
 * Here the index is walked with index_getnext_tid and the heap tuple for
 * each TID is found as heap's own index fetch finds it -- the page read,
 * pruned opportunistically when the scan arrives on it, the HOT chain
 * searched under a share lock with the scan's snapshot, dead chains
 * reported to the index AM, the fetch counted in the index's statistics --
 * except that the page is read with ReadBufferExtended and the ring.  This
 * is possible because partkv's storage is heap (its table AM reuses heap's
 * index-fetch callbacks); a relation whose index fetch is not heap's is
 * read through index_getnext_slot, without a ring.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/snapmgr.h"

#include "ringfetch.h"

/*
 * KvRingWanted tells whether reading about blocks heap blocks of rel (and
 * relations like it) should go through a bulk-read ring: PostgreSQL's rule
 * for sequential scans, more than a quarter of shared_buffers.
 */
bool
KvRingWanted(Relation rel, double blocks)
{
	if (RelationUsesLocalBuffers(rel) ||
		rel->rd_tableam->index_fetch_tuple != GetHeapamTableAmRoutine()->index_fetch_tuple)
		return false;
	return blocks > NBuffers / 4;
}

/* KvRingFetchInit prepares fetching the rows of rel an index scan finds. */
void
KvRingFetchInit(KvRingFetch *f, Relation rel, BufferAccessStrategy strategy)
{
	f->rel = rel;
	f->strategy = strategy;
	f->own = rel->rd_tableam->index_fetch_tuple ==
		GetHeapamTableAmRoutine()->index_fetch_tuple;
	f->buf = InvalidBuffer;
}

/* KvRingPin pins heap block blk, read through the ring, pruning a new page. */
static void
KvRingPin(KvRingFetch *f, BlockNumber blk)
{
	if (BufferIsValid(f->buf) && BufferGetBlockNumber(f->buf) == blk)
		return;
	if (BufferIsValid(f->buf))
		ReleaseBuffer(f->buf);
	f->buf = ReadBufferExtended(f->rel, MAIN_FORKNUM, blk, RBM_NORMAL, f->strategy);
	heap_page_prune_opt(f->rel, f->buf);
}

/*
 * KvRingFetchHeap looks for the visible member of the HOT chain the scan's
 * current TID starts (or, mid-chain under a non-MVCC snapshot, the next
 * one) and stores it in slot; false when there is none.
 */
static bool
KvRingFetchHeap(KvRingFetch *f, IndexScanDesc scan, TupleTableSlot *slot)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	ItemPointer tid = &scan->xs_heaptid;
	bool		first = !scan->xs_heap_continue;
	bool		all_dead = false;
	bool		found;

	Assert(TTS_IS_BUFFERTUPLE(slot));
	if (first)
		KvRingPin(f, ItemPointerGetBlockNumber(tid));

	LockBuffer(f->buf, BUFFER_LOCK_SHARE);
	found = heap_hot_search_buffer(tid, f->rel, f->buf, scan->xs_snapshot,
								   &bslot->base.tupdata, &all_dead, first);
	bslot->base.tupdata.t_self = *tid;
	LockBuffer(f->buf, BUFFER_LOCK_UNLOCK);

	/* a chain dead to everyone: the index AM may mark its entry dead */
	if (!scan->xactStartedInRecovery)
		scan->kill_prior_tuple = all_dead;
	/* only a non-MVCC snapshot can see two members of one chain */
	scan->xs_heap_continue = found && !IsMVCCSnapshot(scan->xs_snapshot);
	if (!found)
		return false;

	pgstat_count_heap_fetch(scan->indexRelation);
	slot->tts_tableOid = RelationGetRelid(f->rel);
	ExecStoreBufferHeapTuple(&bslot->base.tupdata, slot, f->buf);
	return true;
}

/*
 * KvRingGetNext stores the next row the index scan finds (visible to its
 * snapshot) in slot; false when the index has no more entries.
 */
bool
KvRingGetNext(KvRingFetch *f, IndexScanDesc scan, ScanDirection dir,
			  TupleTableSlot *slot)
{
	if (!f->own)
		return index_getnext_slot(scan, dir, slot);
	for (;;)
	{
		if (!scan->xs_heap_continue && index_getnext_tid(scan, dir) == NULL)
			return false;
		if (KvRingFetchHeap(f, scan, slot))
			return true;
	}
}

/* KvRingFetchRelease drops the pinned heap page; the slot keeps its own pin. */
void
KvRingFetchRelease(KvRingFetch *f)
{
	if (BufferIsValid(f->buf))
		ReleaseBuffer(f->buf);
	f->buf = InvalidBuffer;
}
