/*-------------------------------------------------------------------------
 *
 * reader.c
 *	  The reader of Query and Scan: a request's sequence of index scans
 *	  over partitions (primary key, LSI or GSI storage), one snapshot for
 *	  all of them, and the scan keys they are built from.
 *
 * How requests are planned onto it and paged is in read.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/partition.h"
#include "catalog/pg_collation.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"

#include "../stats/stats.h"
#include "../storage/hashops.h"
#include "read.h"

/* KvKeyProc is the btree operator (or, for 0, comparison) function of a key type. */
static RegProcedure
KvKeyProc(Oid typid, StrategyNumber strategy)
{
	static const RegProcedure text_procs[] = {
		F_BTTEXTCMP, F_TEXT_LT, F_TEXT_LE, F_TEXTEQ, F_TEXT_GE, F_TEXT_GT
	};
	static const RegProcedure numeric_procs[] = {
		F_NUMERIC_CMP, F_NUMERIC_LT, F_NUMERIC_LE, F_NUMERIC_EQ, F_NUMERIC_GE, F_NUMERIC_GT
	};
	static const RegProcedure bytea_procs[] = {
		F_BYTEACMP, F_BYTEALT, F_BYTEALE, F_BYTEAEQ, F_BYTEAGE, F_BYTEAGT
	};

	Assert(strategy <= BTMaxStrategyNumber);
	switch (typid)
	{
		case NUMERICOID:
			return numeric_procs[strategy];
		case BYTEAOID:
			return bytea_procs[strategy];
		default:
			return text_procs[strategy];
	}
}

/* KvKeyCollation is the collation key comparisons use: "C" for strings. */
static Oid
KvKeyCollation(Oid typid)
{
	return typid == TEXTOID ? C_COLLATION_OID : InvalidOid;
}

/* KvKeyCompare orders two key column values as the primary key index does. */
int
KvKeyCompare(Datum a, Datum b, Oid typid)
{
	return DatumGetInt32(OidFunctionCall2Coll(KvKeyProc(typid, 0),
											  KvKeyCollation(typid), a, b));
}

/*
 * KvKeyScanKey fills a scan key on index column attno (1: partition key,
 * 2: sort key) in CurrentMemoryContext.
 */
void
KvKeyScanKey(ScanKey key, AttrNumber attno, Oid typid, StrategyNumber strategy,
			 Datum arg)
{
	ScanKeyInit(key, attno, strategy, KvKeyProc(typid, strategy), arg);
	key->sk_collation = KvKeyCollation(typid);
}

/*
 * KvNotNullScanKey fills an IS NOT NULL scan key on index column attno: an
 * LSI read never returns entries lacking the LSI key, even from an index
 * built without the partial predicate.
 */
void
KvNotNullScanKey(ScanKey key, AttrNumber attno)
{
	ScanKeyEntryInitialize(key, SK_ISNULL | SK_SEARCHNOTNULL, attno,
						   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid,
						   (Datum) 0);
}

/*
 * KvRowScanKey fills the row comparison (lsi key, sk) > (a, b) -- or < --
 * on columns 2 and 3 of an LSI index: where a read resumes after an
 * ExclusiveStartKey, inside one index scan.  The member keys are allocated
 * in CurrentMemoryContext, which must outlive the scan; as nbtree expects
 * of row members, they carry the types' three-way comparison functions.
 */
void
KvRowScanKey(ScanKey key, StrategyNumber strategy, Oid lsityp, Datum a,
			 Oid sktyp, Datum b)
{
	ScanKey		sub = palloc0(sizeof(ScanKeyData) * 2);

	ScanKeyEntryInitialize(&sub[0], SK_ROW_MEMBER, 2, strategy, InvalidOid,
						   KvKeyCollation(lsityp), KvKeyProc(lsityp, 0), a);
	ScanKeyEntryInitialize(&sub[1], SK_ROW_MEMBER | SK_ROW_END, 3, strategy,
						   InvalidOid, KvKeyCollation(sktyp), KvKeyProc(sktyp, 0), b);
	ScanKeyEntryInitialize(key, SK_ROW_HEADER, 2, strategy, InvalidOid,
						   KvKeyCollation(lsityp), InvalidOid, PointerGetDatum(sub));
}

/*
 * KvGsiRowScanKey fills the row comparison (columns first .. gsi_ncols) >
 * (vals[first - 1] ..) -- or < -- on a GSI's B-tree: where a GSI read
 * resumes after an ExclusiveStartKey.  Members in CurrentMemoryContext.
 */
void
KvGsiRowScanKey(ScanKey key, StrategyNumber strategy, const KvReader *r, int first,
				const Datum *vals)
{
	int			n = r->gsi_ncols - first + 1;
	ScanKey		sub = palloc0(sizeof(ScanKeyData) * n);

	for (int i = 0; i < n; i++)
	{
		int			col = first + i;
		Oid			typid = r->gsi_typid[col - 1];

		ScanKeyEntryInitialize(&sub[i], SK_ROW_MEMBER | (i == n - 1 ? SK_ROW_END : 0),
							   col, strategy, InvalidOid, KvKeyCollation(typid),
							   KvKeyProc(typid, 0), vals[col - 1]);
	}
	ScanKeyEntryInitialize(key, SK_ROW_HEADER, first, strategy, InvalidOid,
						   KvKeyCollation(r->gsi_typid[first - 1]), InvalidOid,
						   PointerGetDatum(sub));
}

/* KvRowHash is the partition-key hash PostgreSQL's hash partitioning uses. */
uint64
KvRowHash(Datum pk, Oid typid)
{
	return hash_combine64(0, KvHashKeyDatum(pk, typid, HASH_PARTITION_SEED));
}

/* KvSplitIndex maps a row hash to one of k equal ranges of its high 32 bits. */
int
KvSplitIndex(uint64 rowhash, int k)
{
	return (int) (((rowhash >> 32) * (uint64) k) >> 32);
}

/*
 * KvReaderInit prepares a reader for a table: key schema copied out of the
 * cache, and one snapshot for all its reads, registered with the current
 * resource owner (the portal's, for every call of a set-returning
 * function).
 */
void
KvReaderInit(KvReader *r, const KvTable *table, MemoryContext mcxt)
{
	memset(r, 0, sizeof(*r));
	r->mcxt = mcxt;
	r->key = table->key;
	r->key_typid[0] = table->key_typid[0];
	r->key_typid[1] = table->key_typid[1];
	r->dir = ForwardScanDirection;
	r->open_unit = -1;
	r->split_k = 1;
	KvReadTallyInit(&r->tally, table->relid, false);

	/* see the latest committed state and this transaction's own writes */
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	r->owner = CurrentResourceOwner;
	r->snapshot = RegisterSnapshotOnOwner(GetActiveSnapshot(), r->owner);
	PopActiveSnapshot();
}

/* KvReaderCloseUnit releases the open partition and its index. */
static void
KvReaderCloseUnit(KvReader *r)
{
	if (r->scan != NULL)
	{
		KvRingFetchRelease(&r->fetch);
		index_endscan(r->scan);
		r->scan = NULL;
	}
	if (r->open_unit >= 0)
	{
		ExecDropSingleTupleTableSlot(r->slot);
		index_close(r->index, NoLock);
		table_close(r->rel, NoLock);
		r->slot = NULL;
		r->open_unit = -1;
	}
}

/* KvReaderClose ends the reader's scans and releases its snapshot; idempotent. */
void
KvReaderClose(KvReader *r)
{
	if (r->closed)
		return;
	KvReaderCloseUnit(r);
	if (r->ring != NULL)
		FreeAccessStrategy(r->ring);
	r->ring = NULL;
	KvReadTallyEnd(&r->tally);
	UnregisterSnapshotFromOwner(r->snapshot, r->owner);
	r->closed = true;
}

/*
 * KvGsiKeyIndexOf finds the B-tree of a GSI storage partition on its
 * ncols key columns (GSI keys, then table keys); InvalidOid if none.  Looked
 * up only for the partitions a read visits: a Query reads one of them.
 */
static Oid
KvGsiKeyIndexOf(Relation part, int ncols)
{
	List	   *indexes = RelationGetIndexList(part);
	ListCell   *lc;
	Oid			keyindex = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	indexrel = index_open(lfirst_oid(lc), AccessShareLock);

		if (indexrel->rd_index->indnkeyatts == ncols &&
			indexrel->rd_index->indkey.values[0] == 1 &&
			indexrel->rd_index->indisvalid)
			keyindex = lfirst_oid(lc);
		index_close(indexrel, NoLock);
	}
	list_free(indexes);
	return keyindex;
}

/*
 * KvReaderChooseRing decides how the heap of the partition just opened (unit
 * u) is read.  A Scan reads whole partitions; when those it has left, taken
 * to be the size of this one (hash partitions are even), exceed what
 * PostgreSQL would read sequentially through a ring, it reads them through
 * one bulk-read ring, so that it does not evict the rest of shared_buffers;
 * once chosen, the ring serves the partitions after it too.  A Query reads
 * one item collection, as an index scan does.
 */
static void
KvReaderChooseRing(KvReader *r, int u)
{
	if (!r->is_query && r->ring == NULL &&
		KvRingWanted(r->rel, (double) RelationGetNumberOfBlocks(r->rel) * (r->nunits - u)))
		r->ring = GetAccessStrategy(BAS_BULKREAD);
	KvRingFetchInit(&r->fetch, r->rel, r->ring);
}

/*
 * KvReaderOpenUnit opens partition u and its primary key index; false when
 * the partition has been dropped meanwhile (its rows went with it).
 */
bool
KvReaderOpenUnit(KvReader *r, int u)
{
	if (r->open_unit == u)
		return true;
	KvReaderCloseUnit(r);
	r->rel = try_table_open(r->units[u].relid, AccessShareLock);
	if (r->rel == NULL)
		return false;
	if (r->gsi)
	{
		/* a GSI partition: keys, then the projected item */
		r->layout.key_attno[0] = 1;
		r->layout.item_attno = r->gsi_ncols + 1;
		if (!OidIsValid(r->units[u].index))
			r->units[u].index = KvGsiKeyIndexOf(r->rel, r->gsi_ncols);
		if (!OidIsValid(r->units[u].index))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" of a global secondary index has no key index",
							RelationGetRelationName(r->rel))));
		r->index = index_open(r->units[u].index, AccessShareLock);
		r->slot = table_slot_create(r->rel, NULL);
		r->open_unit = u;
		KvReaderChooseRing(r, u);
		return true;
	}
	if (!OidIsValid(r->units[u].index) ||
		!KvRowLayoutOf(RelationGetDescr(r->rel), &r->layout))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partition \"%s\" is not usable by partkv",
						RelationGetRelationName(r->rel)),
				 errdetail("It needs the table's key columns, an item column, a primary key and an index for each local secondary index.")));
	r->index = index_open(r->units[u].index, AccessShareLock);
	r->slot = table_slot_create(r->rel, NULL);
	r->open_unit = u;
	KvReaderChooseRing(r, u);
	KvReadTallyPartition(&r->tally, r->units[u].relid);
	return true;
}

/*
 * KvReaderBeginStep starts the next index scan; false when there is none
 * left.  Steps: a Query has one; a Scan has one per partition, and when it
 * resumes after key k, two on k's partition first (pk = k.pk AND sk >
 * k.sk, or on an LSI pk = k.pk AND (lsi, sk) > (k.lsi, k.sk); then pk >
 * k.pk).  An LSI Scan also skips entries without the LSI key.  Runs in
 * r->mcxt.
 */
static bool
KvReaderBeginStep(KvReader *r)
{
	for (;;)
	{
		int			step = r->step++;
		int			unit;
		int			nkeys = 0;
		ScanKeyData keys[lengthof(r->qkeys)];

		if (r->is_query)
		{
			if (step > 0 || r->nunits == 0)
				return false;
			unit = 0;
			nkeys = r->nqkeys;
			memcpy(keys, r->qkeys, sizeof(ScanKeyData) * nkeys);
		}
		else if (r->has_start && step < 2 && r->gsi)
		{
			/* GSI: pk = k.pk AND (rest) > (k.rest), then pk > k.pk */
			unit = 0;
			if (step == 0)
			{
				KvKeyScanKey(&keys[0], 1, r->gsi_typid[0], BTEqualStrategyNumber,
							 r->gsi_start[0]);
				KvGsiRowScanKey(&keys[1], BTGreaterStrategyNumber, r, 2, r->gsi_start);
				nkeys = 2;
			}
			else
			{
				KvKeyScanKey(&keys[0], 1, r->gsi_typid[0], BTGreaterStrategyNumber,
							 r->gsi_start[0]);
				nkeys = 1;
			}
		}
		else if (r->has_start && step < 2)
		{
			unit = 0;
			if (step == 0)
			{
				if (r->key.nkeys < 2)
					continue;
				KvKeyScanKey(&keys[0], 1, r->key_typid[0], BTEqualStrategyNumber,
							 r->start[0]);
				if (r->lsi)
					KvRowScanKey(&keys[1], BTGreaterStrategyNumber, r->lsi_typid,
								 r->start_lsi, r->key_typid[1], r->start[1]);
				else
					KvKeyScanKey(&keys[1], 2, r->key_typid[1], BTGreaterStrategyNumber,
								 r->start[1]);
				nkeys = 2;
			}
			else
			{
				KvKeyScanKey(&keys[0], 1, r->key_typid[0], BTGreaterStrategyNumber,
							 r->start[0]);
				nkeys = 1;
			}
		}
		else
		{
			unit = r->has_start ? step - 1 : step;
			if (unit >= r->nunits)
				return false;
		}
		if (r->lsi && !r->is_query)
			KvNotNullScanKey(&keys[nkeys++], 2);

		if (!KvReaderOpenUnit(r, unit))
			continue;
		r->scan = index_beginscan(r->rel, r->index, r->snapshot, nkeys, 0);
		index_rescan(r->scan, keys, nkeys, NULL, 0);
		return true;
	}
}

/*
 * KvReaderNext returns the slot holding the next row, or NULL at the end
 * (the reader is then closed).  Rows of a shared partition that belong to
 * other segments are skipped here.  The index AM may allocate scan-lifetime
 * state while fetching, so fetching runs in r->mcxt.
 */
TupleTableSlot *
KvReaderNext(KvReader *r)
{
	if (r->closed)
		return NULL;
	for (;;)
	{
		MemoryContext old;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(r->mcxt);
		if (r->scan == NULL && !KvReaderBeginStep(r))
		{
			MemoryContextSwitchTo(old);
			KvReaderClose(r);
			return NULL;
		}
		found = KvRingGetNext(&r->fetch, r->scan, r->dir, r->slot);
		if (!found)
		{
			KvRingFetchRelease(&r->fetch);
			index_endscan(r->scan);
			r->scan = NULL;
		}
		MemoryContextSwitchTo(old);

		if (!found)
			continue;
		if (r->split_k > 1)
		{
			bool		isnull;
			Datum		pk = slot_getattr(r->slot, r->layout.key_attno[0], &isnull);

			if (KvSplitIndex(KvRowHash(pk, r->key_typid[0]), r->split_k) != r->split_j)
				continue;
		}
		return r->slot;
	}
}
