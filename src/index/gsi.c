/*-------------------------------------------------------------------------
 *
 * gsi.c
 *	  Global secondary indexes: maintenance by the GSI worker and backfill.
 *	  What readers need of a GSI's definition is gsidescribe.c's.
 *
 * Storage.  A GSI is a partitioned table in the kv table's schema, hashed on
 * the GSI partition key, rows (gsi_pk, [gsi_sk,] base_pk, [base_sk,] item)
 * with item the projected item.  Creating and dropping the storage follows
 * partkv.tables.global_indexes (trigger partkv_internal.gsi_sync); partkv.gsi_indexes
 * holds each GSI's storage name and state (ACTIVE, or CREATING while a
 * backfill runs).
 *
 * Maintenance.  The partkv output plugin hands the stream worker every
 * change of a table that has GSIs (kv_gsi_change_hook, whether or not the
 * table has a stream): its table key, new item (NULL for a delete) and old
 * item (REPLICA IDENTITY FULL).  KvGsiApplyBatch applies a batch of them in
 * the worker's batch transaction, the one that also records the origin's
 * LSN, so after a crash a change is applied exactly once.  The changes of a
 * table key are merged (its first old item, its last new item); per GSI,
 * the entry is found where the old item places it, in one storage
 * partition, and deleted, left alone (keys and projection stay) or updated
 * in place (keys stay); the new item is inserted when it has every index
 * key attribute of the right type, non-empty: the index is sparse, and an
 * item whose GSI key changes moves.  Entries are written through the table
 * and index access methods, not SQL (see "Applying a batch").  GSIs are
 * read with the current catalog, so changes decoded for a GSI that was
 * dropped meanwhile are skipped.
 *
 * Backfill.  update_table adding a GSI to a table that has items leaves it
 * CREATING; the worker then, between stream batches, copies the table into
 * it by base key ranges, partition by partition (partkv_internal.gsi_backfill_step,
 * progress recorded in the same transaction).  Stream changes keep being
 * applied to CREATING indexes meanwhile.  A backfill batch replaces the
 * entries of the keys it reads with what its statement's snapshot S shows,
 * and that is correct if S shows every change the stream has already
 * applied to the index: then S's version of an item is at least as new as
 * the index entry, and every later change is applied by the stream after
 * the backfill wrote.  Two waits make sure of it (neither blocks the
 * stream, they are re-checked every loop):
 *  - when a backfill starts, for every transaction then holding a write
 *	  lock on the table's partitions (as CREATE INDEX CONCURRENTLY waits):
 *	  changes decoded before the GSI existed are not routed to it, and their
 *	  transactions may have committed in WAL yet not be visible;
 *  - before each backfill batch, for the transactions whose changes the
 *	  stream applied since the previous batch to become visible to a new
 *	  snapshot (a commit is in WAL before it is visible).
 * Items whose index key has the wrong type are skipped, as DynamoDB does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"
#include "utils/inval.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "common/hashfn.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/executor.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/fmgroids.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "storage/sinval.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "../common/safesql.h"
#include "../storage/hashops.h"
#include "../storage/indexkeys.h"
#include "gsi.h"
#include "projection.h"


/* one change of a table that has GSIs, as decoded */
typedef struct KvGsiChange
{
	Oid			relid;			/* the kv table */
	char	   *schema_name;
	char	   *table_name;
	Jsonb	   *keys;			/* its table key */
	Jsonb	   *item;			/* new item; NULL: deleted */
	Jsonb	   *olditem;		/* item before the change (see KvGsiChangeInfo) */
	bool		old_known;
	XLogRecPtr	commit_lsn;
} KvGsiChange;

/* the backfill being prepared or run (one at a time) */
typedef struct KvGsiJob
{
	char	   *schema_name;	/* NULL: none */
	char	   *table_name;
	char	   *index_name;
	int			nvxids;			/* writers to wait for before the first batch */
	VirtualTransactionId *vxids;
} KvGsiJob;

static MemoryContext kv_gsi_cxt = NULL;	/* worker lifetime */
static MemoryContext kv_gsi_batch_cxt = NULL;	/* reset per batch */
static KvGsiChange *kv_gsi_changes = NULL;
static int	kv_gsi_nchanges = 0;
static int	kv_gsi_maxchanges = 0;
static TimestampTz kv_gsi_last_commit = 0;

/* transactions applied since the last backfill batch (only while backfilling) */
static bool kv_gsi_backfilling = true;
static TransactionId *kv_gsi_xids = NULL;
static int	kv_gsi_nxids = 0;
static int	kv_gsi_maxxids = 0;
static KvGsiJob kv_gsi_job = {0};

/* KvGsiApplyTable's listing of a table's GSIs, planned once per worker */
static SPIPlanPtr kv_gsi_listing_plan = NULL;

/* ----------------------------------------------------------------
 * Collecting changes (decoder side, in the worker)
 * ----------------------------------------------------------------
 */

/* KvCopyJsonb copies a jsonb into cxt. */
static Jsonb *
KvCopyJsonb(MemoryContext cxt, Jsonb *j)
{
	Jsonb	   *copy;

	if (j == NULL)
		return NULL;
	copy = MemoryContextAlloc(cxt, VARSIZE(j));
	memcpy(copy, j, VARSIZE(j));
	return copy;
}

/*
 * KvGsiCollectChange keeps one decoded change of a table that has GSIs for
 * the batch being decoded (the decoder's kv_gsi_change_hook).  Runs under the decoder's
 * historic snapshot: it only copies.
 */
void
KvGsiCollectChange(const KvGsiChangeInfo *change)
{
	KvGsiChange *c;
	TransactionId xid = change->xid;

	if (kv_gsi_nchanges == kv_gsi_maxchanges)
	{
		int			cap = Max(64, kv_gsi_maxchanges * 2);

		if (kv_gsi_changes == NULL)
			kv_gsi_changes = MemoryContextAlloc(kv_gsi_batch_cxt, sizeof(KvGsiChange) * cap);
		else
			kv_gsi_changes = repalloc(kv_gsi_changes, sizeof(KvGsiChange) * cap);
		kv_gsi_maxchanges = cap;
	}
	c = &kv_gsi_changes[kv_gsi_nchanges++];
	c->relid = change->table_relid;
	/* consecutive changes mostly share their table: share the strings */
	if (kv_gsi_nchanges > 1 && c[-1].relid == c->relid)
	{
		c->schema_name = c[-1].schema_name;
		c->table_name = c[-1].table_name;
	}
	else
	{
		c->schema_name = MemoryContextStrdup(kv_gsi_batch_cxt, change->schema_name);
		c->table_name = MemoryContextStrdup(kv_gsi_batch_cxt, change->table_name);
	}
	c->keys = KvCopyJsonb(kv_gsi_batch_cxt, change->keys);
	c->item = KvCopyJsonb(kv_gsi_batch_cxt, change->newitem);
	c->olditem = KvCopyJsonb(kv_gsi_batch_cxt, change->olditem);
	c->old_known = change->old_known;
	c->commit_lsn = change->commit_lsn;
	kv_gsi_last_commit = Max(kv_gsi_last_commit, change->commit_time);

	/* a backfill must not read before these are visible (file header) */
	if (kv_gsi_backfilling && TransactionIdIsValid(xid) &&
		(kv_gsi_nxids == 0 || kv_gsi_xids[kv_gsi_nxids - 1] != xid))
	{
		if (kv_gsi_nxids == kv_gsi_maxxids)
		{
			int			cap = Max(64, kv_gsi_maxxids * 2);

			if (kv_gsi_xids == NULL)
				kv_gsi_xids = MemoryContextAlloc(kv_gsi_cxt, sizeof(TransactionId) * cap);
			else
				kv_gsi_xids = repalloc(kv_gsi_xids, sizeof(TransactionId) * cap);
			kv_gsi_maxxids = cap;
		}
		kv_gsi_xids[kv_gsi_nxids++] = xid;
	}
}

/* KvGsiWorkerInit sets up the worker's GSI state. */
void
KvGsiWorkerInit(void)
{
	kv_gsi_cxt = AllocSetContextCreate(TopMemoryContext, "partkv gsi",
									   ALLOCSET_DEFAULT_SIZES);
	kv_gsi_batch_cxt = AllocSetContextCreate(kv_gsi_cxt, "partkv gsi batch",
											 ALLOCSET_DEFAULT_SIZES);
}

/* KvGsiBatchReset forgets the changes of the previous batch. */
void
KvGsiBatchReset(void)
{
	if (kv_gsi_batch_cxt == NULL)
		return;
	MemoryContextReset(kv_gsi_batch_cxt);
	kv_gsi_changes = NULL;
	kv_gsi_nchanges = 0;
	kv_gsi_maxchanges = 0;
}

/* KvGsiPendingChanges counts the changes collected for the current batch. */
int
KvGsiPendingChanges(void)
{
	return kv_gsi_nchanges;
}

/* KvGsiLastCommitTime is the latest commit time of a change collected. */
TimestampTz
KvGsiLastCommitTime(void)
{
	return kv_gsi_last_commit;
}

/* ----------------------------------------------------------------
 * Applying a batch
 *
 * Entries are written through the table access method and the index AM
 * directly, as logical replication's apply does, rather than through SQL:
 * a change costs its index probes, heap writes and index inserts, not an
 * executor pipeline per batch whose planner sees thousands of keys.
 * ----------------------------------------------------------------
 */

/* one partition of a GSI's storage, opened for the batch */
typedef struct KvGsiPart
{
	ResultRelInfo *rri;			/* NULL until first used */
	Relation	keyindex;		/* (gsi_pk, [gsi_sk,] base_pk, [base_sk]) */
	Relation	baseindex;		/* the hash of the table key */
	TupleTableSlot *slot;
} KvGsiPart;

/* one GSI of the table whose changes are applied */
typedef struct KvGsiTarget
{
	char	   *index_name;
	KvGsiInfo	info;
	bool		located;		/* old images locate its entries (see below) */
	XLogRecPtr	activated_lsn;
	Relation	storage;
	PartitionKey partkey;
	PartitionDesc partdesc;
	KvGsiPart  *parts;			/* by partdesc index */
	char	  **project;		/* attributes of a KEYS_ONLY or INCLUDE entry */
	int			nproject;
	int64		misplaced;		/* entries not where old images placed them */
} KvGsiTarget;

/* the state of applying one table's changes */
typedef struct KvGsiApply
{
	const char *table_name;
	KvKeyAttr	base[2];		/* the table's key */
	int			nbase;
	EState	   *estate;
	Snapshot	snapshot;
	CommandId	cid;
	MemoryContext batch_cxt;	/* what lives until the table is done */
	MemoryContext row_cxt;		/* reset per change */
} KvGsiApply;

/*
 * KvGsiKeySlot finds the slot of a table key in an open-addressing table
 * of cap (a power of two) slots holding indexes into keys[] (-1: free):
 * its own, or the free one where it goes.
 */
static int
KvGsiKeySlot(const int *slots, int cap, Jsonb **keys, Jsonb *key)
{
	uint32		h = hash_bytes((const unsigned char *) key, VARSIZE(key));
	int			i = h & (cap - 1);

	while (slots[i] >= 0)
	{
		Jsonb	   *other = keys[slots[i]];

		if (VARSIZE(other) == VARSIZE(key) && memcmp(other, key, VARSIZE(key)) == 0)
			break;
		i = (i + 1) & (cap - 1);
	}
	return i;
}

/*
 * KvGsiKeyValue is key attribute attr of an item as its storage column's
 * Datum; false when the item lacks it, has it of another type or empty: the
 * item is then not in the index (sparse).  Written items were checked by
 * the table access method; only items older than the GSI can be of another
 * type, and DynamoDB leaves those out too.
 */
static bool
KvGsiKeyValue(Jsonb *item, const KvKeyAttr *attr, Datum *out)
{
	if (!KvIndexKeyValue(item, attr->name, strlen(attr->name), attr->type, out))
		return false;
	return attr->type == KV_TYPE_N || VARSIZE_ANY_EXHDR(DatumGetPointer(*out)) > 0;
}

/* KvGsiEntryKey fills key[] with a GSI's key of an item; false: not in it. */
static bool
KvGsiEntryKey(Jsonb *item, const KvGsiInfo *info, Datum *key)
{
	return KvGsiKeyValue(item, &info->pk, &key[0]) &&
		(!info->has_sk || KvGsiKeyValue(item, &info->sk, &key[1]));
}

/*
 * KvGsiKeyEquals: the same value of key attribute type type (stored values
 * may have short varlena headers, values built here do not).
 */
static bool
KvGsiKeyEquals(Datum a, Datum b, KvType type)
{
	struct varlena *va;
	struct varlena *vb;

	if (type == KV_TYPE_N)
		return DatumGetBool(DirectFunctionCall2(numeric_eq, a, b));
	va = (struct varlena *) DatumGetPointer(a);
	vb = (struct varlena *) DatumGetPointer(b);
	Assert(!VARATT_IS_EXTENDED(va) || VARATT_IS_SHORT(va));
	Assert(!VARATT_IS_EXTENDED(vb) || VARATT_IS_SHORT(vb));
	return VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
		memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
}

/* KvGsiEqualProc is the B-tree equality function of a key column. */
static RegProcedure
KvGsiEqualProc(KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return F_TEXTEQ;
		case KV_TYPE_N:
			return F_NUMERIC_EQ;
		default:
			return F_BYTEAEQ;
	}
}

/*
 * KvGsiBaseHash is the table-key hash GSI storage indexes (the expression
 * of partkv_internal.gsi_base_hash_expression).
 */
static int64
KvGsiBaseHash(const KvGsiApply *a, const Datum *base)
{
	int64		h = (int64) KvHashKeyDatum(base[0], KvKeyTypeOid(a->base[0].type), 0);

	if (a->nbase == 2)
		h ^= (int64) KvHashKeyDatum(base[1], KvKeyTypeOid(a->base[1].type), 1);
	return h;
}

/*
 * KvGsiOpenPart opens partition i of a GSI's storage for the batch, with
 * its indexes; the two partkv made are told apart by their shape (the
 * table-key one indexes an expression).
 */
static KvGsiPart *
KvGsiOpenPart(KvGsiApply *a, KvGsiTarget *g, int i)
{
	KvGsiPart  *p = &g->parts[i];
	Relation	rel;
	int			nkeycols = 2 + (g->info.has_sk ? 1 : 0) + (a->nbase - 1);
	MemoryContext oldcxt;

	if (p->rri != NULL)
		return p;
	oldcxt = MemoryContextSwitchTo(a->batch_cxt);
	rel = table_open(g->partdesc->oids[i], RowExclusiveLock);
	if (RelationGetDescr(rel)->natts != nkeycols + 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("storage partition \"%s\" of GSI \"%s\" of table \"%s\" does not have the columns partkv made",
						RelationGetRelationName(rel), g->index_name, a->table_name)));
	p->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(p->rri, rel, 0, NULL, 0);
	ExecOpenIndices(p->rri, false);
	for (int j = 0; j < p->rri->ri_NumIndices; j++)
	{
		Relation	idx = p->rri->ri_IndexRelationDescs[j];
		Form_pg_index form = idx->rd_index;

		if (form->indnkeyatts == 1 && form->indkey.values[0] == 0)
			p->baseindex = idx;
		else if (form->indnkeyatts == nkeycols && form->indkey.values[0] == 1)
			p->keyindex = idx;
	}
	if (p->keyindex == NULL || p->baseindex == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("storage partition \"%s\" of GSI \"%s\" of table \"%s\" lacks an index partkv made",
						RelationGetRelationName(rel), g->index_name, a->table_name),
				 errhint("Delete the GSI with update_table and create it again.")));
	p->slot = table_slot_create(rel, NULL);
	MemoryContextSwitchTo(oldcxt);
	return p;
}

/* KvGsiPartOf is the storage partition of GSI partition key value gpk. */
static KvGsiPart *
KvGsiPartOf(KvGsiApply *a, KvGsiTarget *g, Datum gpk)
{
	bool		isnull = false;
	uint64		rowhash;
	int			i;

	rowhash = compute_partition_hash_value(1, g->partkey->partsupfunc,
										   g->partkey->partcollation, &gpk, &isnull);
	i = g->partdesc->boundinfo->indexes[rowhash % g->partdesc->boundinfo->nindexes];
	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("no storage partition of GSI \"%s\" of table \"%s\" holds this key",
						g->index_name, a->table_name)));
	return KvGsiOpenPart(a, g, i);
}

/*
 * KvGsiFindEntry looks for the entry of table key base at GSI key key in
 * partition p; *tid receives it.
 */
static bool
KvGsiFindEntry(KvGsiApply *a, KvGsiTarget *g, KvGsiPart *p, const Datum *key,
			   const Datum *base, ItemPointer tid)
{
	ScanKeyData skeys[4];
	KvType		types[4];
	Datum		values[4];
	int			n = 0;
	IndexScanDesc scan;
	bool		found;

	types[n] = g->info.pk.type;
	values[n++] = key[0];
	if (g->info.has_sk)
	{
		types[n] = g->info.sk.type;
		values[n++] = key[1];
	}
	for (int i = 0; i < a->nbase; i++)
	{
		types[n] = a->base[i].type;
		values[n++] = base[i];
	}
	for (int i = 0; i < n; i++)
		ScanKeyEntryInitialize(&skeys[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   p->keyindex->rd_indcollation[i], KvGsiEqualProc(types[i]),
							   values[i]);
	scan = index_beginscan(p->rri->ri_RelationDesc, p->keyindex, a->snapshot, n, 0);
	index_rescan(scan, skeys, n, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, p->slot);
	if (found)
		*tid = p->slot->tts_tid;
	index_endscan(scan);
	ExecClearTuple(p->slot);
	return found;
}

/* KvGsiDeleteEntry deletes an entry the batch's snapshot sees. */
static void
KvGsiDeleteEntry(KvGsiApply *a, KvGsiPart *p, ItemPointer tid)
{
	TM_FailureData tmfd;
	TM_Result	result;

	result = table_tuple_delete(p->rri->ri_RelationDesc, tid, a->cid, a->snapshot,
								InvalidSnapshot, true, &tmfd, false);
	if (result != TM_Ok)
		elog(ERROR, "partkv gsi: could not delete an entry of \"%s\" (result %d)",
			 RelationGetRelationName(p->rri->ri_RelationDesc), (int) result);
}

/*
 * KvGsiDeleteByKey deletes the entries of table key base, wherever they
 * are: through the table-key hash index of every partition.
 */
static void
KvGsiDeleteByKey(KvGsiApply *a, KvGsiTarget *g, const Datum *base)
{
	int64		hash = KvGsiBaseHash(a, base);
	int			basecol = 2 + (g->info.has_sk ? 1 : 0);

	for (int i = 0; i < g->partdesc->nparts; i++)
	{
		KvGsiPart  *p = KvGsiOpenPart(a, g, i);
		ScanKeyData skey;
		IndexScanDesc scan;
		ItemPointerData tids[8];
		int			ntids = 0;

		ScanKeyEntryInitialize(&skey, 0, 1, BTEqualStrategyNumber, InvalidOid, InvalidOid,
							   F_INT8EQ, Int64GetDatum(hash));
		scan = index_beginscan(p->rri->ri_RelationDesc, p->baseindex, a->snapshot, 1, 0);
		index_rescan(scan, &skey, 1, NULL, 0);
		while (ntids < lengthof(tids) && index_getnext_slot(scan, ForwardScanDirection, p->slot))
		{
			bool		same = true;

			slot_getsomeattrs(p->slot, basecol + a->nbase - 1);
			for (int k = 0; k < a->nbase && same; k++)
				same = !p->slot->tts_isnull[basecol - 1 + k] &&
					KvGsiKeyEquals(p->slot->tts_values[basecol - 1 + k], base[k], a->base[k].type);
			if (same)
				tids[ntids++] = p->slot->tts_tid;
		}
		index_endscan(scan);
		ExecClearTuple(p->slot);
		for (int t = 0; t < ntids; t++)
			KvGsiDeleteEntry(a, p, &tids[t]);
	}
}

/* KvGsiFillEntry stores the entry of table key base at key into p's slot. */
static void
KvGsiFillEntry(KvGsiApply *a, KvGsiTarget *g, KvGsiPart *p, const Datum *key,
			   const Datum *base, Jsonb *item)
{
	TupleTableSlot *slot = p->slot;
	int			n = 0;

	ExecClearTuple(slot);
	slot->tts_values[n++] = key[0];
	if (g->info.has_sk)
		slot->tts_values[n++] = key[1];
	for (int i = 0; i < a->nbase; i++)
		slot->tts_values[n++] = base[i];
	slot->tts_values[n++] = JsonbPGetDatum(g->info.projection == KV_PROJECT_ALL ? item :
										   KvProjectAttributes(item, g->project, g->nproject));
	memset(slot->tts_isnull, 0, sizeof(bool) * n);
	ExecStoreVirtualTuple(slot);
}

/* KvGsiInsertIndexes indexes the tuple just written from p's slot. */
static void
KvGsiInsertIndexes(KvGsiApply *a, KvGsiPart *p, bool update)
{
	ResetPerTupleExprContext(a->estate);
#if PG_VERSION_NUM >= 160000
	ExecInsertIndexTuples(p->rri, p->slot, a->estate, update, false, NULL, NIL, false);
#else
	ExecInsertIndexTuples(p->rri, p->slot, a->estate, update, false, NULL, NIL);
#endif
}

/* KvGsiInsertEntry writes the entry of table key base at key. */
static void
KvGsiInsertEntry(KvGsiApply *a, KvGsiTarget *g, const Datum *key, const Datum *base,
				 Jsonb *item)
{
	KvGsiPart  *p = KvGsiPartOf(a, g, key[0]);

	KvGsiFillEntry(a, g, p, key, base, item);
	table_tuple_insert(p->rri->ri_RelationDesc, p->slot, a->cid, 0, NULL);
	KvGsiInsertIndexes(a, p, false);
	ExecClearTuple(p->slot);
}

/*
 * KvGsiUpdateEntry rewrites an entry whose keys stay with the item's new
 * projection: in place, so that the update is HOT (no index entries) when
 * its page has room, as none of the indexed columns changes.
 */
static void
KvGsiUpdateEntry(KvGsiApply *a, KvGsiTarget *g, KvGsiPart *p, ItemPointer tid,
				 const Datum *key, const Datum *base, Jsonb *item)
{
	TM_FailureData tmfd;
	TM_Result	result;
	LockTupleMode lockmode;
#if PG_VERSION_NUM >= 160000
	TU_UpdateIndexes update_indexes;
#else
	bool		update_indexes;
#endif

	KvGsiFillEntry(a, g, p, key, base, item);
	result = table_tuple_update(p->rri->ri_RelationDesc, tid, p->slot, a->cid, a->snapshot,
								InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
	if (result != TM_Ok)
		elog(ERROR, "partkv gsi: could not update an entry of \"%s\" (result %d)",
			 RelationGetRelationName(p->rri->ri_RelationDesc), (int) result);
#if PG_VERSION_NUM >= 160000
	if (update_indexes != TU_None)
#else
	if (update_indexes)
#endif
		KvGsiInsertIndexes(a, p, true);
	ExecClearTuple(p->slot);
}

/*
 * KvGsiApplyChange brings one GSI up to date with one table key's merged
 * change: its first old item (olditem, when known) and its last item
 * (NULL: deleted).  located: olditem places the entry exactly -- the index
 * has held the stream's state since it became ACTIVE, so an entry is where
 * the old item of a later change places it.  Otherwise (old image unknown,
 * or a change made while the index was backfilled) the entry is replaced
 * by table key.
 */
static void
KvGsiApplyChange(KvGsiApply *a, KvGsiTarget *g, Jsonb *keys, Jsonb *olditem, Jsonb *item,
				 bool located)
{
	Datum		base[2];
	Datum		oldkey[2];
	Datum		newkey[2];
	bool		in_new = KvGsiEntryKey(item, &g->info, newkey);
	bool		found;

	for (int i = 0; i < a->nbase; i++)
		if (!KvGsiKeyValue(keys, &a->base[i], &base[i]))
			elog(ERROR, "partkv gsi: a change of table \"%s\" has no table key", a->table_name);
	if (!located)
		KvGsiDeleteByKey(a, g, base);
	else if (KvGsiEntryKey(olditem, &g->info, oldkey))
	{
		KvGsiPart  *p = KvGsiPartOf(a, g, oldkey[0]);
		ItemPointerData tid;
		bool		stays = in_new &&
			KvGsiKeyEquals(oldkey[0], newkey[0], g->info.pk.type) &&
			(!g->info.has_sk || KvGsiKeyEquals(oldkey[1], newkey[1], g->info.sk.type));

		found = KvGsiFindEntry(a, g, p, oldkey, base, &tid);
		if (found && stays)
		{
			/* left alone when nothing it projects changes (no index write) */
			if (!KvIndexProjectionSame(olditem, item, g->info.projection,
									   g->info.ninclude, g->info.include))
				KvGsiUpdateEntry(a, g, p, &tid, newkey, base, item);
			return;
		}
		if (found)
			KvGsiDeleteEntry(a, p, &tid);
		else
		{
			g->misplaced++;
			KvGsiDeleteByKey(a, g, base);
		}
	}
	if (in_new)
		KvGsiInsertEntry(a, g, newkey, base, item);
}

/*
 * KvGsiOpenTarget prepares GSI row r of the table's listing (see
 * KvGsiApplyTable) for the batch; false when it went away meanwhile.
 */
static bool
KvGsiOpenTarget(KvGsiApply *a, const char *schema_name, HeapTuple row, TupleDesc desc,
				KvGsiTarget *g)
{
	bool		isnull;
	Datum		lsn;

	memset(g, 0, sizeof(*g));
	g->index_name = SPI_getvalue(row, desc, 1);
	if (!KvGsiDescribe(schema_name, a->table_name, g->index_name, &g->info))
		return false;

	/*
	 * Hold the storage until commit, so that a concurrent DeleteTable or GSI
	 * Delete waits for this batch; one that committed first leaves nothing
	 * to apply.
	 */
	LockRelationOid(g->info.storage, RowExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(g->info.storage)))
		return false;
	g->storage = table_open(g->info.storage, NoLock);
	if (g->storage->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("storage of GSI \"%s\" of table \"%s\" is not partitioned",
						g->index_name, a->table_name)));
	g->partkey = RelationGetPartitionKey(g->storage);
	g->partdesc = RelationGetPartitionDesc(g->storage, false);
	if (g->partdesc->nparts == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("storage of GSI \"%s\" of table \"%s\" has no partitions",
						g->index_name, a->table_name)));
	g->parts = palloc0(sizeof(KvGsiPart) * g->partdesc->nparts);
	lsn = SPI_getbinval(row, desc, 2, &isnull);
	g->located = g->info.active && !isnull;
	g->activated_lsn = isnull ? InvalidXLogRecPtr : DatumGetLSN(lsn);

	/* KEYS_ONLY and INCLUDE entries: table and index keys, then NonKeyAttributes */
	if (g->info.projection != KV_PROJECT_ALL)
	{
		g->project = palloc(sizeof(char *) * (4 + g->info.ninclude));
		for (int i = 0; i < a->nbase; i++)
			g->project[g->nproject++] = a->base[i].name;
		g->project[g->nproject++] = g->info.pk.name;
		if (g->info.has_sk)
			g->project[g->nproject++] = g->info.sk.name;
		for (int i = 0; i < g->info.ninclude; i++)
			g->project[g->nproject++] = g->info.include[i];
	}
	return true;
}

/* KvGsiCloseTarget closes what KvGsiOpenTarget and the apply opened. */
static void
KvGsiCloseTarget(KvGsiTarget *g)
{
	for (int i = 0; g->parts != NULL && i < g->partdesc->nparts; i++)
	{
		KvGsiPart  *p = &g->parts[i];

		if (p->rri == NULL)
			continue;
		ExecDropSingleTupleTableSlot(p->slot);
		ExecCloseIndices(p->rri);
		table_close(p->rri->ri_RelationDesc, NoLock);
	}
	if (g->storage != NULL)
		table_close(g->storage, NoLock);
}

/*
 * KvGsiApplyTable applies the changes of one kv table (those of changes[]
 * with that relid, in order) to each of its GSIs.
 */
static void
KvGsiApplyTable(const KvGsiChange *first, int from)
{
	Oid			argtypes[2] = {NAMEOID, TEXTOID};
	Datum		args[2];
	KvGsiApply	a;
	int			cap = kv_gsi_nchanges - from;
	Jsonb	  **keys = palloc(sizeof(Jsonb *) * cap);
	Jsonb	  **items = palloc(sizeof(Jsonb *) * cap);
	Jsonb	  **olds = palloc(sizeof(Jsonb *) * cap);
	bool	   *known = palloc(sizeof(bool) * cap);
	XLogRecPtr *lsns = palloc(sizeof(XLogRecPtr) * cap);
	int			n = 0;
	int		   *slots;
	int			slotcap;
	int			ngsi;
	KvGsiTarget *gsis;
	SPITupleTable *listing;

	memset(&a, 0, sizeof(a));
	a.table_name = first->table_name;
	if (kv_gsi_listing_plan == NULL)
	{
		SPIPlanPtr	plan;

		plan = SPI_prepare("SELECT g.index_name, g.activated_lsn, t.partition_key, t.partition_key_type, "
						   "       t.sort_key, t.sort_key_type "
						   "  FROM partkv.gsi_indexes g JOIN partkv.tables t USING (schema_name, table_name) "
						   " WHERE g.schema_name = $1 AND g.table_name = $2",
						   2, argtypes);
		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "partkv gsi: could not plan the listing of a table's indexes: %s",
				 SPI_result_code_string(SPI_result));
		kv_gsi_listing_plan = plan;
	}
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(first->schema_name));
	args[1] = CStringGetTextDatum(first->table_name);
	if (SPI_execute_plan(kv_gsi_listing_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv gsi: could not read the indexes of table \"%s\"", first->table_name);
	if (SPI_processed == 0)
		return;
	listing = SPI_tuptable;
	ngsi = SPI_processed;
	{
		HeapTuple	row = listing->vals[0];
		char	   *sk = SPI_getvalue(row, listing->tupdesc, 5);

		strlcpy(a.base[0].name, SPI_getvalue(row, listing->tupdesc, 3), sizeof(a.base[0].name));
		a.base[0].type = KvKeyTypeFromName(SPI_getvalue(row, listing->tupdesc, 4));
		a.nbase = 1;
		if (sk != NULL)
		{
			strlcpy(a.base[1].name, sk, sizeof(a.base[1].name));
			a.base[1].type = KvKeyTypeFromName(SPI_getvalue(row, listing->tupdesc, 6));
			a.nbase = 2;
		}
	}

	/*
	 * One row per table key (keys of equal value are equal jsonb bytes, as
	 * the decoder builds them): the first change's old item locates the
	 * entry to replace, the last change's item is the new entry.
	 */
	slotcap = 16;
	while (slotcap < 2 * cap)
		slotcap *= 2;
	slots = palloc(sizeof(int) * slotcap);
	memset(slots, -1, sizeof(int) * slotcap);
	for (int i = from; i < kv_gsi_nchanges; i++)
	{
		const KvGsiChange *c = &kv_gsi_changes[i];
		int			slot;
		int			row;

		if (c->relid != first->relid)
			continue;
		slot = KvGsiKeySlot(slots, slotcap, keys, c->keys);
		row = slots[slot];
		if (row < 0)
		{
			row = slots[slot] = n++;
			keys[row] = c->keys;
			olds[row] = c->olditem;
			known[row] = c->old_known;
			lsns[row] = c->commit_lsn;
		}
		items[row] = c->item;
	}

	/* entries are written in a command of their own, which its snapshot does not see */
	CommandCounterIncrement();
	a.snapshot = RegisterSnapshot(GetLatestSnapshot());
	a.cid = GetCurrentCommandId(true);
	a.estate = CreateExecutorState();
	a.estate->es_output_cid = a.cid;
	a.batch_cxt = CurrentMemoryContext;
	a.row_cxt = AllocSetContextCreate(CurrentMemoryContext, "partkv gsi change",
									  ALLOCSET_DEFAULT_SIZES);
	gsis = palloc0(sizeof(KvGsiTarget) * ngsi);
	for (int i = 0; i < ngsi; i++)
	{
		KvGsiTarget *g = &gsis[i];
		KvSqlScope	scope;

		if (!KvGsiOpenTarget(&a, first->schema_name, listing->vals[i], listing->tupdesc, g))
		{
			KvGsiCloseTarget(g);
			continue;
		}

		/*
		 * The storage's owner may have given it index expressions, which
		 * its entries' writes evaluate: with its rights, not the worker's.
		 */
		KvSqlBegin(&scope, g->storage->rd_rel->relowner);
		for (int r = 0; r < n; r++)
		{
			MemoryContext oldcxt = MemoryContextSwitchTo(a.row_cxt);

			KvGsiApplyChange(&a, g, keys[r], olds[r], items[r],
							 g->located && known[r] && lsns[r] > g->activated_lsn);
			MemoryContextSwitchTo(oldcxt);
			MemoryContextReset(a.row_cxt);
		}
		KvSqlEnd(&scope);
		if (g->misplaced > 0)
			ereport(LOG,
					(errmsg("partkv gsi: %lld entries of index \"%s\" of table \"%s\" were not where the old images of their items placed them",
							(long long) g->misplaced, g->index_name, first->table_name),
					 errdetail("They were found by table key and replaced.")));
		KvGsiCloseTarget(g);
	}
	FreeExecutorState(a.estate);
	UnregisterSnapshot(a.snapshot);
	MemoryContextDelete(a.row_cxt);
}

/*
 * KvGsiProbePlans makes the planner join the worker's batches to GSI
 * storage by index probes only, until AtEOXact_GUC(true, the level it
 * returns).  Knowing a batch of thousands of keys, it would otherwise
 * hash or merge them against a scan of the whole storage -- every batch,
 * however large the index.
 */
static int
KvGsiProbePlans(void)
{
	int			level = NewGUCNestLevel();

	(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return level;
}

/*
 * KvGsiApplyBatch applies the changes collected while decoding the batch,
 * in the current transaction (the worker's batch transaction, which also
 * records the WAL position reached): table by table, in decoding order.
 */
void
KvGsiApplyBatch(void)
{
	MemoryContext oldcxt;
	Oid		   *done;
	int			ndone = 0;

	if (kv_gsi_nchanges == 0)
		return;
	oldcxt = MemoryContextSwitchTo(kv_gsi_batch_cxt);
	done = palloc(sizeof(Oid) * kv_gsi_nchanges);
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	for (int i = 0; i < kv_gsi_nchanges; i++)
	{
		bool		seen = false;

		for (int j = 0; j < ndone && !seen; j++)
			seen = (done[j] == kv_gsi_changes[i].relid);
		if (seen)
			continue;
		done[ndone++] = kv_gsi_changes[i].relid;
		KvGsiApplyTable(&kv_gsi_changes[i], i);
	}
	SPI_finish();
	PopActiveSnapshot();
	MemoryContextSwitchTo(oldcxt);
}

/* ----------------------------------------------------------------
 * Backfill
 * ----------------------------------------------------------------
 */

/*
 * KvGsiRebuildAll empties every GSI of the database and sets it to be
 * backfilled again, in a transaction of its own; returns how many.  For a
 * GSI worker whose replication slot is new (made after CREATE EXTENSION,
 * e.g. when the database was upgraded from a version whose stream worker
 * kept the GSIs): the changes made before the slot existed are not in it,
 * and a backfill reads them from the tables instead.
 */
int
KvGsiRebuildAll(void)
{
	int			n;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	if (SPI_execute("SELECT pg_catalog.count(*) FROM ("
					"  SELECT partkv_internal.gsi_rebuild(g.schema_name, g.table_name, g.index_name) AS done"
					"    FROM partkv.gsi_indexes g ORDER BY g.created_at) x WHERE x.done",
					false, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "partkv gsi: could not set the GSIs to be backfilled again");
	n = (int) DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return n;
}

/* KvGsiForgetJob drops the state of the backfill being prepared. */
static void
KvGsiForgetJob(void)
{
	if (kv_gsi_job.schema_name != NULL)
	{
		pfree(kv_gsi_job.schema_name);
		pfree(kv_gsi_job.table_name);
		pfree(kv_gsi_job.index_name);
		if (kv_gsi_job.vxids != NULL)
			pfree(kv_gsi_job.vxids);
	}
	memset(&kv_gsi_job, 0, sizeof(kv_gsi_job));
}

/*
 * KvGsiStartJob remembers a new backfill and the transactions writing its
 * table right now (holding a lock that conflicts with SHARE on the table or
 * a partition), to be waited for before its first batch.
 */
static void
KvGsiStartJob(const char *schema_name, const char *table_name, const char *index_name)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(kv_gsi_cxt);
	Oid			nsp = get_namespace_oid(schema_name, true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(table_name, nsp) : InvalidOid;
	List	   *rels = NIL;
	ListCell   *lc;
	int			cap = 16;

	KvGsiForgetJob();
	kv_gsi_job.schema_name = pstrdup(schema_name);
	kv_gsi_job.table_name = pstrdup(table_name);
	kv_gsi_job.index_name = pstrdup(index_name);
	kv_gsi_job.vxids = palloc(sizeof(VirtualTransactionId) * cap);
	if (OidIsValid(relid))
		rels = lappend_oid(find_inheritance_children(relid, NoLock), relid);
	foreach(lc, rels)
	{
		LOCKTAG		tag;
		VirtualTransactionId *holders;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, lfirst_oid(lc));
		holders = GetLockConflicts(&tag, ShareLock, NULL);
		for (; VirtualTransactionIdIsValid(*holders); holders++)
		{
			if (kv_gsi_job.nvxids == cap)
			{
				cap *= 2;
				kv_gsi_job.vxids = repalloc(kv_gsi_job.vxids, sizeof(VirtualTransactionId) * cap);
			}
			kv_gsi_job.vxids[kv_gsi_job.nvxids++] = *holders;
		}
	}
	MemoryContextSwitchTo(oldcxt);
}

/* KvGsiWritersDone tells whether the writers the job waits for have ended. */
static bool
KvGsiWritersDone(void)
{
	int			kept = 0;

	for (int i = 0; i < kv_gsi_job.nvxids; i++)
	{
		if (!VirtualXactLock(kv_gsi_job.vxids[i], false))
			kv_gsi_job.vxids[kept++] = kv_gsi_job.vxids[i];
	}
	kv_gsi_job.nvxids = kept;
	return kept == 0;
}

/*
 * KvGsiAppliedVisible tells whether every transaction the stream applied
 * to GSIs is visible to a new snapshot; forgets those that are.
 */
static bool
KvGsiAppliedVisible(void)
{
	Snapshot	snap = GetLatestSnapshot();
	int			kept = 0;

	for (int i = 0; i < kv_gsi_nxids; i++)
	{
		if (XidInMVCCSnapshot(kv_gsi_xids[i], snap))
			kv_gsi_xids[kept++] = kv_gsi_xids[i];
	}
	kv_gsi_nxids = kept;
	return kept == 0;
}

/*
 * KvGsiBackfillStep runs one backfill batch of the oldest CREATING GSI, in
 * a transaction of its own, once the waits of the file header are over.
 * True when more backfill work is ready.
 */
bool
KvGsiBackfillStep(int idle_ms, int batch_size)
{
	static uint64 idle_invalidations = 0;
	static TimestampTz idle_until = 0;
	bool		more = false;
	int			guc_level;
	bool		found = false;
	char	   *schema_name = NULL;
	char	   *table_name = NULL;
	char	   *index_name = NULL;

	/*
	 * Nothing was CREATING at the last look: a GSI created or rebuilt since
	 * then sent an invalidation (and naptime bounds the wait regardless), so
	 * the catalog need not be read again after every batch.
	 */
	if (!kv_gsi_backfilling && SharedInvalidMessageCounter == idle_invalidations &&
		GetCurrentTimestamp() < idle_until)
		return false;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (!OidIsValid(get_extension_oid("partkv", true)))
	{
		/* being dropped: the stream's own checks make the worker exit */
		CommitTransactionCommand();
		return false;
	}
	PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	/* a restored GSI waits for its table to be adopted, which rebuilds it */
	if (SPI_execute("SELECT schema_name::text, table_name, index_name FROM partkv.gsi_indexes "
					"WHERE status = 'CREATING' AND installation_id = partkv_internal.installation_id() "
					"ORDER BY created_at, index_name LIMIT 1",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "partkv gsi: could not read partkv.gsi_indexes");
	if (SPI_processed == 1)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		HeapTuple	tup = SPI_tuptable->vals[0];

		found = true;
		schema_name = SPI_getvalue(tup, desc, 1);
		table_name = SPI_getvalue(tup, desc, 2);
		index_name = SPI_getvalue(tup, desc, 3);
	}

	if (!found)
	{
		/* nothing to backfill: stop recording applied transactions */
		kv_gsi_backfilling = false;
		kv_gsi_nxids = 0;
		KvGsiForgetJob();
		idle_invalidations = SharedInvalidMessageCounter;
		idle_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), idle_ms);
	}
	else
	{
		kv_gsi_backfilling = true;
		if (kv_gsi_job.schema_name == NULL ||
			strcmp(kv_gsi_job.schema_name, schema_name) != 0 ||
			strcmp(kv_gsi_job.table_name, table_name) != 0 ||
			strcmp(kv_gsi_job.index_name, index_name) != 0)
			KvGsiStartJob(schema_name, table_name, index_name);

		if (KvGsiWritersDone() && KvGsiAppliedVisible())
		{
			Oid			argtypes[4] = {NAMEOID, TEXTOID, TEXTOID, INT4OID};
			Datum		args[4];
			bool		isnull;

			args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema_name));
			args[1] = CStringGetTextDatum(table_name);
			args[2] = CStringGetTextDatum(index_name);
			args[3] = Int32GetDatum(Max(batch_size, 100));
			guc_level = KvGsiProbePlans();
			if (SPI_execute_with_args("SELECT partkv_internal.gsi_backfill_step($1, $2, $3, $4)",
									  4, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
				elog(ERROR, "partkv gsi: backfill of index \"%s\" failed", index_name);
			AtEOXact_GUC(true, guc_level);
			more = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											  1, &isnull)) && !isnull;
			if (!more)
			{
				/* done (or gone): the next CREATING index starts afresh */
				KvGsiForgetJob();
				more = true;
			}
		}
	}
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	return more;
}
