/*-------------------------------------------------------------------------
 *
 * rowops.c
 *	  One-item reads and writes on a partition, below the planner.
 *
 * The write protocol is INSERT ... ON CONFLICT's: look the key up with a
 * dirty snapshot and lock the row found; when there is none, insert
 * speculatively and, if a concurrent insert of the same key won, go back
 * and lock that row.  A put therefore never fails with a unique violation
 * and always acts on the latest committed version of its item.
 *
 * Row triggers are not fired by these writes (the change stream is
 * partkv's way to react to writes); CHECK constraints are enforced.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation.h"
#include "executor/executor.h"
#include "nodes/makefuncs.h"
#include "storage/lmgr.h"
#include "storage/procarray.h"
#include "utils/lsyscache.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "rowops.h"

static RegProcedure KvKeyEqualityProc(Oid typid);

/*
 * KvRowWriterOpen opens a partition and its indexes for one write.  The
 * caller has locked the parent table.
 */
KvRowWriter *
KvRowWriterOpen(const char *table_name, const KvPartition *part)
{
	KvRowWriter *w = palloc0(sizeof(KvRowWriter));
	RangeTblEntry *rte;

	w->part = table_open(part->relid, RowExclusiveLock);
	w->pkindex = part->pkindex;
	if (!OidIsValid(w->pkindex) || !KvRowLayoutOf(RelationGetDescr(w->part), &w->layout))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partition \"%s\" of partkv table \"%s\" is not usable",
						RelationGetRelationName(w->part), table_name),
				 errdetail("It needs the table's key columns, an item column and a primary key.")));

	w->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = RelationGetRelid(w->part);
	rte->relkind = w->part->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
	ExecInitRangeTable(w->estate, list_make1(rte));
	w->estate->es_output_cid = GetCurrentCommandId(true);

	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->part, 1, NULL, 0);
	ExecOpenIndices(w->rri, true);

	w->newslot = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(w->part),
										&TTSOpsVirtual);
	w->oldslot = ExecInitExtraTupleSlot(w->estate, RelationGetDescr(w->part),
										table_slot_callbacks(w->part));
	return w;
}

/* KvRowWriterClose releases what KvRowWriterOpen set up; locks stay until commit. */
void
KvRowWriterClose(KvRowWriter *w)
{
	ExecCloseIndices(w->rri);
	ExecResetTupleTable(w->estate->es_tupleTable, false);
	FreeExecutorState(w->estate);
	table_close(w->part, NoLock);
	pfree(w);
	/* later calls in the same statement must see this write */
	CommandCounterIncrement();
}

void
KvRowSetNew(KvRowWriter *w, const Datum *keys, Jsonb *item)
{
	TupleTableSlot *slot = w->newslot;
	int			natts = slot->tts_tupleDescriptor->natts;

	ExecClearTuple(slot);
	for (int i = 0; i < natts; i++)
		slot->tts_isnull[i] = true;
	for (int k = 0; k < w->layout.schema.nkeys; k++)
	{
		slot->tts_values[w->layout.key_attno[k] - 1] = keys[k];
		slot->tts_isnull[w->layout.key_attno[k] - 1] = false;
	}
	if (item != NULL)
	{
		slot->tts_values[w->layout.item_attno - 1] = JsonbPGetDatum(item);
		slot->tts_isnull[w->layout.item_attno - 1] = false;
	}
	ExecStoreVirtualTuple(slot);
}

/* KvKeyScanKeys builds the equality scan keys of a key on the primary key index. */
static void
KvKeyScanKeys(const KvKeySchema *schema, const Datum *keys, ScanKey skey)
{
	for (int k = 0; k < schema->nkeys; k++)
	{
		Oid			typid = KvKeyTypeOid(schema->keys[k].type);

		ScanKeyInit(&skey[k], k + 1, BTEqualStrategyNumber,
					KvKeyEqualityProc(typid), keys[k]);
		skey[k].sk_collation = (typid == TEXTOID) ? C_COLLATION_OID : InvalidOid;
	}
}

/* KvWriterPkIndex finds the primary key index among the indexes opened for writing. */
static Relation
KvWriterPkIndex(KvRowWriter *w)
{
	for (int i = 0; i < w->rri->ri_NumIndices; i++)
		if (RelationGetRelid(w->rri->ri_IndexRelationDescs[i]) == w->pkindex)
			return w->rri->ri_IndexRelationDescs[i];
	elog(ERROR, "primary key index %u of \"%s\" is not open",
		 w->pkindex, RelationGetRelationName(w->part));
	return NULL;
}

/*
 * KvRowLock looks the key up with a dirty snapshot, so rows of in-progress
 * transactions are seen (and waited for), then locks the row found.  A row
 * updated or deleted while we waited sends us back to the lookup.
 */
bool
KvRowLock(KvRowWriter *w)
{
	TupleTableSlot *slot = w->newslot;
	Datum		keys[2];
	ScanKeyData skey[2];
	SnapshotData dirty;
	IndexScanDesc scan;
	bool		found;

	slot_getallattrs(slot);
	for (int k = 0; k < w->layout.schema.nkeys; k++)
		keys[k] = slot->tts_values[w->layout.key_attno[k] - 1];
	KvKeyScanKeys(&w->layout.schema, keys, skey);

	InitDirtySnapshot(dirty);
	scan = index_beginscan(w->part, KvWriterPkIndex(w), &dirty, w->layout.schema.nkeys, 0);
	for (;;)
	{
		TransactionId xwait;
		TM_FailureData tmfd;
		TM_Result	res;
		Snapshot	latest;

		found = false;
		index_rescan(scan, skey, w->layout.schema.nkeys, NULL, 0);
		if (!index_getnext_slot(scan, ForwardScanDirection, w->oldslot))
			break;
		found = true;
		ExecMaterializeSlot(w->oldslot);
		xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
		if (TransactionIdIsValid(xwait))
		{
			XactLockTableWait(xwait, NULL, NULL, XLTW_None);
			continue;
		}
		latest = GetLatestSnapshot();
		PushActiveSnapshot(latest);
		res = table_tuple_lock(w->part, &w->oldslot->tts_tid, latest, w->oldslot,
							   GetCurrentCommandId(false), LockTupleExclusive,
							   LockWaitBlock, 0, &tmfd);
		PopActiveSnapshot();
		if (res == TM_Ok)
			break;
		if (res != TM_Updated && res != TM_Deleted)
			elog(ERROR, "unexpected result %d locking an item of \"%s\"",
				 (int) res, RelationGetRelationName(w->part));
		/* changed while we waited for its lock: look again */
	}
	index_endscan(scan);

	if (found && IsolationUsesXactSnapshot() &&
		!table_tuple_satisfies_snapshot(w->part, w->oldslot, GetTransactionSnapshot()))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update"),
				 errdetail("The item was changed by a transaction that committed after this transaction's snapshot.")));
	return found;
}

/* KvCheckConstraints enforces CHECK constraints a DBA added to the table. */
static void
KvCheckConstraints(KvRowWriter *w)
{
	TupleConstr *constr = w->part->rd_att->constr;

	if (constr != NULL && constr->num_check > 0)
		ExecConstraints(w->rri, w->newslot, w->estate);
}

bool
KvRowInsert(KvRowWriter *w)
{
	ItemPointerData conflict_tid;
	TransactionId xid = GetCurrentTransactionId();
	uint32		token;
	bool		conflict = false;
	List	   *recheck;

	KvCheckConstraints(w);

	/* a committed or in-progress row with the key: go lock it instead */
	if (!ExecCheckIndexConstraints(w->rri, w->newslot, w->estate, &conflict_tid, NIL))
		return false;

	token = SpeculativeInsertionLockAcquire(xid);
	KvSetValidatedSlot(w->newslot);
	PG_TRY();
	{
		table_tuple_insert_speculative(w->part, w->newslot, w->estate->es_output_cid,
									   0, NULL, token);
	}
	PG_FINALLY();
	{
		KvSetValidatedSlot(NULL);
	}
	PG_END_TRY();
	recheck = ExecInsertIndexTuples(w->rri, w->newslot, w->estate, false, true,
									&conflict, NIL);
	table_tuple_complete_speculative(w->part, w->newslot, token, !conflict);
	SpeculativeInsertionLockRelease(xid);
	list_free(recheck);
	return !conflict;
}

void
KvRowUpdate(KvRowWriter *w)
{
	bool		update_indexes;
	List	   *recheck;

	KvCheckConstraints(w);
	KvSetValidatedSlot(w->newslot);
	PG_TRY();
	{
		simple_table_tuple_update(w->part, &w->oldslot->tts_tid, w->newslot,
								  GetActiveSnapshot(), &update_indexes);
	}
	PG_FINALLY();
	{
		KvSetValidatedSlot(NULL);
	}
	PG_END_TRY();
	if (update_indexes && w->rri->ri_NumIndices > 0)
	{
		recheck = ExecInsertIndexTuples(w->rri, w->newslot, w->estate, true, false,
										NULL, NIL);
		list_free(recheck);
	}
}

void
KvRowDelete(KvRowWriter *w)
{
	simple_table_tuple_delete(w->part, &w->oldslot->tts_tid, GetActiveSnapshot());
}

Jsonb *
KvSlotItem(TupleTableSlot *slot, const KvRowLayout *layout)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, layout->item_attno, &isnull);

	if (isnull)
		return NULL;
	return DatumGetJsonbPCopy(d);
}

/* KvKeyEqualityProc is the btree equality function of a key column type. */
static RegProcedure
KvKeyEqualityProc(Oid typid)
{
	switch (typid)
	{
		case NUMERICOID:
			return F_NUMERIC_EQ;
		case BYTEAOID:
			return F_BYTEAEQ;
		default:
			return F_TEXTEQ;
	}
}

/* KvRowFetch reads an item by key under the active snapshot. */
Jsonb *
KvRowFetch(const KvKeySchema *key, const KvPartition *part, const Datum *keys)
{
	return KvRowFetchSnapshot(key, part, keys, NULL);
}

/*
 * KvRowFetchSnapshot reads the item of the row with the given key values
 * (key: the table's key schema) through partition part's primary key
 * index; NULL when no row is visible to snapshot (NULL: the active one).
 */
Jsonb *
KvRowFetchSnapshot(const KvKeySchema *key, const KvPartition *part, const Datum *keys,
				   Snapshot given)
{
	Relation	rel = table_open(part->relid, AccessShareLock);
	Relation	index = index_open(part->pkindex, AccessShareLock);
	ScanKeyData skey[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	KvRowLayout layout;
	Jsonb	   *item = NULL;
	Snapshot	snapshot;

	if (!KvRowLayoutOf(RelationGetDescr(rel), &layout))
		elog(ERROR, "partition \"%s\" is not shaped like a partkv table",
			 RelationGetRelationName(rel));

	KvKeyScanKeys(key, keys, skey);

	/* see the latest committed state (and this transaction's own writes) */
	PushCopiedSnapshot(given ? given : GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	snapshot = GetActiveSnapshot();

	scan = index_beginscan(rel, index, snapshot, key->nkeys, 0);
	index_rescan(scan, skey, key->nkeys, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
		item = KvSlotItem(slot, &layout);
	index_endscan(scan);
	PopActiveSnapshot();

	ExecDropSingleTupleTableSlot(slot);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	return item;
}
