/*-------------------------------------------------------------------------
 *
 * tableam.c
 *	  The partkv table access method: heap storage whose every write path
 *	  (insert, speculative insert, multi-insert, update) validates the row as
 *	  an item of its table and stores it canonically.
 *
 * Reading, vacuuming, TOAST and WAL are heap's.  A copied heap routine
 * trips the places where heap insists on its own routine pointer
 * (heap_getnext): TOAST creation, index builds, CLUSTER and VACUUM FULL.
 * Those callbacks run with heap's routine presented for their duration.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "../common/errors.h"
#include "indexkeys.h"
#include "item.h"
#include "tableam.h"

PG_FUNCTION_INFO_V1(partkv_tam_handler);

KvCommitWroteHook kv_commit_wrote_hook = NULL;

static TableAmRoutine kv_routine;
static bool kv_routine_ready = false;
static MemoryContext kv_write_context = NULL;
static TupleTableSlot *kv_validated_slot = NULL;
static bool kv_xact_wrote = false;
static bool kv_commit_callback_registered = false;

/*
 * KvCommitWroteCallback calls kv_commit_wrote_hook when a transaction that
 * wrote kv rows commits, so the change reaches the stream (and indexes) at
 * once instead of at the stream worker's next nap.
 */
static void
KvCommitWroteCallback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
	{
		if (kv_xact_wrote && kv_commit_wrote_hook != NULL)
			kv_commit_wrote_hook();
		kv_xact_wrote = false;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		kv_xact_wrote = false;
}

/* KvNoteWrite remembers that this transaction changed kv rows. */
static void
KvNoteWrite(void)
{
	if (!kv_commit_callback_registered)
	{
		RegisterXactCallback(KvCommitWroteCallback, NULL);
		kv_commit_callback_registered = true;
	}
	kv_xact_wrote = true;
}

/*
 * KvSetValidatedSlot marks the slot that partkv's item functions are about
 * to store: its item went through KvItemCheck already, so the access method
 * checks only what the item functions do not (key columns, index keys).
 * NULL clears the mark; callers clear it even on error.
 */
void
KvSetValidatedSlot(TupleTableSlot *slot)
{
	kv_validated_slot = slot;
}

/*
 * KvRowLayoutOf finds the key columns and the item column of a kv table's
 * row: the jsonb column named "item" holds the item, every other live
 * column is a key column, partition key first.  Deriving this from the
 * descriptor instead of the catalog keeps writes working while pg_restore
 * loads data before partkv's catalog rows.
 */
bool
KvRowLayoutOf(TupleDesc desc, KvRowLayout *layout)
{
	int			nkeys = 0;

	layout->item_attno = InvalidAttrNumber;
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		KvType		type;

		if (att->attisdropped)
			continue;
		if (att->atttypid == JSONBOID && strcmp(NameStr(att->attname), "item") == 0)
		{
			layout->item_attno = att->attnum;
			continue;
		}
		if (att->atttypid == TEXTOID)
			type = KV_TYPE_S;
		else if (att->atttypid == NUMERICOID)
			type = KV_TYPE_N;
		else if (att->atttypid == BYTEAOID)
			type = KV_TYPE_B;
		else
			return false;
		if (nkeys == 2)
			return false;
		layout->key_attno[nkeys] = att->attnum;
		strlcpy(layout->schema.keys[nkeys].name, NameStr(att->attname), NAMEDATALEN);
		layout->schema.keys[nkeys].type = type;
		nkeys++;
	}
	layout->schema.nkeys = nkeys;
	return nkeys > 0 && layout->item_attno != InvalidAttrNumber;
}

/*
 * KvItemKeys extracts the table key of an item as key column values;
 * an item lacking a key attribute is refused as DynamoDB's PutItem does.
 */
void
KvItemKeys(Jsonb *item, const KvKeySchema *schema, Datum *values)
{
	for (int k = 0; k < schema->nkeys; k++)
	{
		bool		found;

		values[k] = KvItemKeyDatum(item, &schema->keys[k], k == 1, &found);
		if (!found)
			KvValidationError(KV_INVALID_PARAMS "Missing the key %s in the item",
							  schema->keys[k].name);
	}
}

/* KvKeyDatumsEqual compares a key column value with the item's key value. */
static bool
KvKeyDatumsEqual(Datum column, Datum fromitem, KvType type)
{
	if (type == KV_TYPE_N)
		return DatumGetInt32(DirectFunctionCall2(numeric_cmp, column, fromitem)) == 0;
	return DatumGetBool(DirectFunctionCall2(byteaeq, column, fromitem));
}

/*
 * KvCheckSlot validates the row in a slot as an item of rel and, when the
 * item or a key column was not in canonical form, replaces the slot's
 * contents with the canonical row.
 */
static void
KvCheckSlot(Relation rel, TupleTableSlot *slot)
{
	TupleDesc	desc = RelationGetDescr(rel);
	KvRowLayout layout;
	MemoryContext oldcxt;
	Jsonb	   *item;
	Jsonb	   *canonical;
	Datum	   *values;
	bool	   *isnull;
	Datum		keyvalues[2];
	bool		changed;

	if (!KvRowLayoutOf(desc, &layout))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" is not shaped like a partkv table",
						RelationGetRelationName(rel)),
				 errdetail("A partkv table has one or two key columns of type text, numeric or bytea and a jsonb column named \"item\".")));

	if (kv_write_context == NULL)
		kv_write_context = AllocSetContextCreate(TopMemoryContext,
												 "partkv item validation",
												 ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(kv_write_context);
	oldcxt = MemoryContextSwitchTo(kv_write_context);

	slot_getallattrs(slot);
	values = palloc(sizeof(Datum) * desc->natts);
	isnull = palloc(sizeof(bool) * desc->natts);
	memcpy(values, slot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(isnull, slot->tts_isnull, sizeof(bool) * desc->natts);

	if (isnull[layout.item_attno - 1])
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("the item of a partkv table cannot be null")));

	item = DatumGetJsonbP(values[layout.item_attno - 1]);
	/* partkv's own write path has checked and canonicalised this item */
	canonical = (slot == kv_validated_slot) ? item : KvItemCheck(item, KV_WRITE_PUT, NULL);
	changed = (canonical != item);

	KvItemKeys(canonical, &layout.schema, keyvalues);
	for (int k = 0; k < layout.schema.nkeys; k++)
	{
		const KvKeyAttr *attr = &layout.schema.keys[k];
		int			col = layout.key_attno[k] - 1;

		if (isnull[col] || !KvKeyDatumsEqual(values[col], keyvalues[k], attr->type))
			ereport(ERROR,
					(errcode(KV_ERRCODE_VALIDATION),
					 errmsg("key column \"%s\" does not match the item's key attribute",
							attr->name),
					 errdetail("A partkv row stores each key attribute twice: in its key column and in the item.")));
		if (attr->type == KV_TYPE_N &&
			!datumIsEqual(values[col], keyvalues[k], false, -1))
		{
			values[col] = keyvalues[k];
			changed = true;
		}
	}

	/* secondary index keys (LSI sort keys): type, emptiness, size */
	KvCheckIndexKeys(rel, canonical);

	if (changed)
	{
		HeapTuple	tuple;

		/*
		 * The slot outlives kv_write_context, which is reset below: the
		 * canonical row must be built in the slot's own context and handed
		 * over to it, never referenced from the validation context.
		 */
		values[layout.item_attno - 1] = JsonbPGetDatum(canonical);
		MemoryContextSwitchTo(slot->tts_mcxt);
		tuple = heap_form_tuple(desc, values, isnull);
		ExecForceStoreHeapTuple(tuple, slot, true);
	}

	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(kv_write_context);
}

/* kv_tuple_insert validates, then inserts as heap does. */
static void
kv_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
				int options, BulkInsertState bistate)
{
	KvCheckSlot(rel, slot);
	KvNoteWrite();
	GetHeapamTableAmRoutine()->tuple_insert(rel, slot, cid, options, bistate);
}

/* kv_tuple_insert_speculative is the INSERT ... ON CONFLICT path. */
static void
kv_tuple_insert_speculative(Relation rel, TupleTableSlot *slot, CommandId cid,
							int options, BulkInsertState bistate, uint32 specToken)
{
	KvCheckSlot(rel, slot);
	KvNoteWrite();
	GetHeapamTableAmRoutine()->tuple_insert_speculative(rel, slot, cid, options,
														bistate, specToken);
}

/* kv_multi_insert is the COPY path: every row is checked before any lands. */
static void
kv_multi_insert(Relation rel, TupleTableSlot **slots, int nslots,
				CommandId cid, int options, BulkInsertState bistate)
{
	for (int i = 0; i < nslots; i++)
		KvCheckSlot(rel, slots[i]);
	KvNoteWrite();
	GetHeapamTableAmRoutine()->multi_insert(rel, slots, nslots, cid, options, bistate);
}

/* kv_tuple_update validates the new version of the row. */
static TM_Result
kv_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				CommandId cid, Snapshot snapshot, Snapshot crosscheck,
				bool wait, TM_FailureData *tmfd, LockTupleMode *lockmode,
				bool *update_indexes)
{
	KvCheckSlot(rel, slot);
	KvNoteWrite();
	return GetHeapamTableAmRoutine()->tuple_update(rel, otid, slot, cid, snapshot,
												   crosscheck, wait, tmfd,
												   lockmode, update_indexes);
}

/* kv_tuple_delete deletes as heap does; the stream worker is woken at commit. */
static TM_Result
kv_tuple_delete(Relation rel, ItemPointer tid, CommandId cid, Snapshot snapshot,
				Snapshot crosscheck, bool wait, TM_FailureData *tmfd, bool changingPart)
{
	KvNoteWrite();
	return GetHeapamTableAmRoutine()->tuple_delete(rel, tid, cid, snapshot, crosscheck,
												   wait, tmfd, changingPart);
}

/* TOAST tables of kv partitions are plain heap tables. */
static Oid
kv_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

/*
 * The three callbacks below reach heap_getnext(), which refuses any routine
 * but heap's own; they run with the relation presenting heap's routine.
 */
static double
kv_index_build_range_scan(Relation table_rel, Relation index_rel,
						  struct IndexInfo *index_info, bool allow_sync,
						  bool anyvisible, bool progress,
						  BlockNumber start_blockno, BlockNumber numblocks,
						  IndexBuildCallback callback, void *callback_state,
						  TableScanDesc scan)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;
	double		result;

	table_rel->rd_tableam = GetHeapamTableAmRoutine();
	PG_TRY();
	{
		result = table_rel->rd_tableam->index_build_range_scan(table_rel, index_rel,
															   index_info, allow_sync,
															   anyvisible, progress,
															   start_blockno, numblocks,
															   callback, callback_state,
															   scan);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
	return result;
}

static void
kv_index_validate_scan(Relation table_rel, Relation index_rel,
					   struct IndexInfo *index_info, Snapshot snapshot,
					   struct ValidateIndexState *state)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;

	table_rel->rd_tableam = GetHeapamTableAmRoutine();
	PG_TRY();
	{
		table_rel->rd_tableam->index_validate_scan(table_rel, index_rel, index_info,
												   snapshot, state);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
}

static void
kv_relation_copy_for_cluster(Relation OldTable, Relation NewTable,
							 Relation OldIndex, bool use_sort,
							 TransactionId OldestXmin,
							 TransactionId *xid_cutoff,
							 MultiXactId *multi_cutoff,
							 double *num_tuples,
							 double *tups_vacuumed,
							 double *tups_recently_dead)
{
	const TableAmRoutine *saved_old = OldTable->rd_tableam;
	const TableAmRoutine *saved_new = NewTable->rd_tableam;

	OldTable->rd_tableam = GetHeapamTableAmRoutine();
	NewTable->rd_tableam = GetHeapamTableAmRoutine();
	PG_TRY();
	{
		GetHeapamTableAmRoutine()->relation_copy_for_cluster(OldTable, NewTable,
															 OldIndex, use_sort,
															 OldestXmin, xid_cutoff,
															 multi_cutoff, num_tuples,
															 tups_vacuumed,
															 tups_recently_dead);
	}
	PG_FINALLY();
	{
		OldTable->rd_tableam = saved_old;
		NewTable->rd_tableam = saved_new;
	}
	PG_END_TRY();
}

/*
 * partkv_tam_handler returns heap's routine with partkv's write paths.
 * CLUSTER and VACUUM FULL copy rows that were validated when written, so
 * they are not checked again.
 */
Datum
partkv_tam_handler(PG_FUNCTION_ARGS)
{
	if (!kv_routine_ready)
	{
		kv_routine = *GetHeapamTableAmRoutine();
		kv_routine.tuple_insert = kv_tuple_insert;
		kv_routine.tuple_insert_speculative = kv_tuple_insert_speculative;
		kv_routine.multi_insert = kv_multi_insert;
		kv_routine.tuple_update = kv_tuple_update;
		kv_routine.tuple_delete = kv_tuple_delete;
		kv_routine.relation_toast_am = kv_relation_toast_am;
		kv_routine.index_build_range_scan = kv_index_build_range_scan;
		kv_routine.index_validate_scan = kv_index_validate_scan;
		kv_routine.relation_copy_for_cluster = kv_relation_copy_for_cluster;
		kv_routine_ready = true;
	}
	PG_RETURN_POINTER(&kv_routine);
}

/* KvIsPartkvRelation tells whether a relation is stored by partkv's AM. */
bool
KvIsPartkvRelation(Relation rel)
{
	return rel->rd_tableam == &kv_routine;
}
