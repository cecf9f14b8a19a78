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
#include "itemops.h"

void
KvOpOpen(KvItemOp *op)
{
	op->partition = KvRoutePartition(op->table, op->keys[0]);
	op->writer = KvRowWriterOpen(op->table, op->partition);
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
