/*-------------------------------------------------------------------------
 *
 * itemops.c
 *	  One conditional write of one item (see itemops.h).
 *
 * The item's row is locked before its condition is evaluated, so the
 * condition always sees the latest committed version and stays true until
 * the write commits.  A missing item cannot be locked: if another session
 * inserts it between the check and our insert, the insert reports the
 * conflict and the caller locks and checks again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "../common/errors.h"
#include "../stats/capacity.h"
#include "../stats/stats.h"
#include "../index/gsi.h"
#include "../index/projection.h"
#include "itemops.h"

void
KvOpOpen(KvItemOp *op)
{
	op->partition = KvRoutePartition(op->table, op->keys[0]);
	op->writer = KvRowWriterOpen(op->table->table_name, op->partition);
	KvRowSetNew(op->writer, op->keys, op->kind == KV_OP_PUT ? op->item : NULL);
}

bool
KvOpLockAndCheck(KvItemOp *op)
{
	KvRowWriter *w = op->writer;

	/* the search uses newslot's keys; a previous failed insert may have filled it */
	KvRowSetNew(w, op->keys, op->kind == KV_OP_PUT ? op->item : NULL);
	op->exists = KvRowLock(w);
	op->old = op->exists ? KvSlotItem(w->oldslot, &w->layout) : NULL;
	if (!KvExprTest(op->exprs, KVEXPR_CONDITION, op->old))
		return false;
	if (op->kind == KV_OP_UPDATE)
		op->update = KvExprApplyUpdate(op->exprs, op->old, op->item, &op->table->key);
	return true;
}

bool
KvOpApply(KvItemOp *op)
{
	KvRowWriter *w = op->writer;
	Jsonb	   *target;

	switch (op->kind)
	{
		case KV_OP_CHECK:
			return true;
		case KV_OP_DELETE:
			if (op->exists)
				KvRowDelete(w);
			return true;
		case KV_OP_PUT:
			target = op->item;
			break;
		default:
			target = op->update.new_item;
			break;
	}
	if (op->exists)
	{
		/* an identical write changes nothing: no new version, no stream record */
		if (compareJsonbContainers(&op->old->root, &target->root) != 0)
		{
			KvRowSetNew(w, op->keys, target);
			KvRowUpdate(w);
		}
		return true;
	}
	if (target == NULL)
		return true;			/* an update of a missing item that only removes */
	KvRowSetNew(w, op->keys, target);
	return KvRowInsert(w);
}

void
KvOpClose(KvItemOp *op)
{
	if (op->writer != NULL)
		KvRowWriterClose(op->writer);
	op->writer = NULL;
}

/*
 * KvOpAccount charges the op's write units.  A failed condition still
 * consumes (SPEC §3.8): the new item's size when the item exists (for an
 * update, whose new image was not computed, and a delete: the existing
 * item's), one unit when it does not.  Sizes are measured only when
 * statistics or ConsumedCapacity need them, and only exactly for items
 * over 1 KB (KvCapacitySize).
 */
/* KvTopAttr finds a top-level attribute of an item (NULL item: absent). */
static bool
KvTopAttr(Jsonb *item, const char *name, JsonbValue *out)
{
	return item != NULL &&
		getKeyJsonValueFromContainer(&item->root, name, strlen(name), out) != NULL;
}

/*
 * KvIndexEntryWrites is what one index entry costs for a write that turns
 * old into written (either may be NULL), DynamoDB's way: writing an entry
 * costs its size in write units (one for KEYS_ONLY), an entry that
 * disappears or whose index key changes costs one more for its delete, and
 * an entry whose keys and projected attributes all stay costs nothing.
 */
static int64
KvIndexEntryWrites(Jsonb *old, Jsonb *written, const KvKeyAttr *k1, const KvKeyAttr *k2,
				   KvProjectionType projection, int ninclude, char **include)
{
	JsonbValue	o1,
				o2,
				n1,
				n2;
	bool		in_old = KvTopAttr(old, k1->name, &o1) && (k2 == NULL || KvTopAttr(old, k2->name, &o2));
	bool		in_new = KvTopAttr(written, k1->name, &n1) && (k2 == NULL || KvTopAttr(written, k2->name, &n2));
	bool		keys_only = projection == KV_PROJECT_KEYS_ONLY;
	int64		units = 0;

	bool		moved = in_old && in_new &&
		(!KvValueEquals(&o1, &n1) || (k2 != NULL && !KvValueEquals(&o2, &n2)));

	if (in_old && in_new && !moved && KvIndexProjectionSame(old, written, projection, ninclude, include))
		return 0;
	if (in_new)
		units += keys_only ? 1 : KvWriteUnits(KvCapacitySize(written, KV_WRITE_UNIT_BYTES), false);
	if (in_old && (!in_new || moved))
		units += 1;
	return units;
}

/* KvOpIndexWrites fills op->index_units with what the write cost each secondary index. */
static void
KvOpIndexWrites(KvItemOp *op, Jsonb *written)
{
	const KvTable *t = op->table;
	Jsonb	   *old = op->exists ? op->old : NULL;
	int			mult = op->transactional ? 2 : 1;

	op->nindex_units = 0;
	if (t->nlocal + t->nglobal == 0)
		return;
	op->index_units = palloc0(sizeof(KvCapacityIndex) * KV_CAPACITY_MAX_INDEXES);
	for (int i = 0; i < t->nlocal && op->nindex_units < KV_CAPACITY_MAX_INDEXES; i++)
	{
		int64		units = KvIndexEntryWrites(old, written, &t->local[i].key, NULL,
											   t->local[i].projection, t->local[i].ninclude,
											   t->local[i].include);

		if (units > 0)
		{
			KvCapacityIndex *x = &op->index_units[op->nindex_units++];

			x->name = t->local[i].name;
			x->write_units = units * mult;
		}
	}
	for (int i = 0; i < t->nglobal && op->nindex_units < KV_CAPACITY_MAX_INDEXES; i++)
	{
		KvGsiInfo	info;
		int64		units;

		if (!KvGsiDescribe(t->schema_name, t->table_name, t->global_names[i], &info))
			continue;
		units = KvIndexEntryWrites(old, written, &info.pk, info.has_sk ? &info.sk : NULL,
								   info.projection, info.ninclude, info.include);
		if (units > 0)
		{
			KvCapacityIndex *x = &op->index_units[op->nindex_units++];

			x->name = t->global_names[i];
			x->global = true;
			x->write_units = units * mult;
		}
	}
}

void
KvOpCapacity(KvCapacity *cap, const KvItemOp *op, const char *table_name)
{
	KvCapacityAdd(cap, op->table->relid, table_name, 0, op->write_units);
	for (int i = 0; i < op->nindex_units; i++)
		KvCapacityAddIndex(cap, op->table->relid, table_name, op->index_units[i].name,
						   op->index_units[i].global, 0, op->index_units[i].write_units);
}

void
KvOpAccount(KvItemOp *op, bool failed)
{
	KvStatsCounters d = {0};
	Jsonb	   *written = NULL;
	int64		old_size;
	int64		new_size = 0;
	int64		charged;

	if (!kv_track_stats && !op->measure)
		return;
	old_size = KvCapacitySize(op->exists ? op->old : NULL, KV_WRITE_UNIT_BYTES);
	if (failed)
	{
		d.condition_failures = 1;
		charged = (op->exists && op->kind == KV_OP_PUT) ?
			KvCapacitySize(op->item, KV_WRITE_UNIT_BYTES) : old_size;
	}
	else
	{
		switch (op->kind)
		{
			case KV_OP_PUT:
				written = op->item;
				break;
			case KV_OP_UPDATE:
				written = op->update.new_item;
				break;
			case KV_OP_DELETE:
				d.items_deleted = op->exists ? 1 : 0;
				break;
			case KV_OP_CHECK:
				break;
		}
		if (written != NULL)
		{
			new_size = KvCapacitySize(written, KV_WRITE_UNIT_BYTES);
			d.items_written = 1;
			d.bytes_written = KvStoredSize(written);
		}
		charged = Max(old_size, new_size);
	}
	/* a failed condition writes no index entry; ConditionCheck writes none */
	if (op->measure && !failed && op->kind != KV_OP_CHECK &&
		(written != NULL || op->exists))
		KvOpIndexWrites(op, written);
	d.writes = 1;
	d.write_units = op->write_units = KvWriteUnits(charged, op->transactional);
	KvStatsReport(op->partition->relid, op->table->relid, &d);
}

void
KvOpRun(KvItemOp *op, bool return_item_on_failure)
{
	KvOpOpen(op);
	for (;;)
	{
		if (!KvOpLockAndCheck(op))
		{
			KvOpAccount(op, true);
			KvConditionFailed(op->old, return_item_on_failure);
		}
		if (KvOpApply(op))
			break;
	}
	KvOpAccount(op, false);
	KvOpClose(op);
}

void
KvConditionFailed(Jsonb *current, bool return_item)
{
	if (return_item && current != NULL)
		ereport(ERROR,
				(errcode(KV_ERRCODE_CONDITIONAL_CHECK_FAILED),
				 errmsg("The conditional request failed"),
				 errdetail("{\"Item\": %s}",
						   JsonbToCString(NULL, &current->root, VARSIZE(current)))));
	ereport(ERROR,
			(errcode(KV_ERRCODE_CONDITIONAL_CHECK_FAILED),
			 errmsg("The conditional request failed")));
}

Jsonb *
KvAttributesResponse(Jsonb *item)
{
	JsonbParseState *state = NULL;
	JsonbValue	key;
	JsonbValue *result;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	if (item != NULL && JB_ROOT_COUNT(item) > 0)
	{
		key.type = jbvString;
		key.val.string.val = "Attributes";
		key.val.string.len = strlen("Attributes");
		pushJsonbValue(&state, WJB_KEY, &key);
		JsonbToJsonbValue(item, &key);
		pushJsonbValue(&state, WJB_VALUE, &key);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(result);
}
