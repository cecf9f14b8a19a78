/*-------------------------------------------------------------------------
 *
 * itemops.h
 *	  One conditional write of one item, in three steps (lock and check,
 *	  apply, close), shared by the single-item functions, BatchWriteItem and
 *	  TransactWriteItems.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_ITEMOPS_H
#define PARTKV_ITEMOPS_H

#include "postgres.h"
#include "utils/jsonb.h"

#include "../catalog/tablecache.h"
#include "../eval/eval.h"
#include "../stats/capacity.h"
#include "../storage/rowops.h"

typedef enum KvOpKind
{
	KV_OP_PUT,
	KV_OP_UPDATE,
	KV_OP_DELETE,
	KV_OP_CHECK					/* TransactWriteItems' ConditionCheck */
} KvOpKind;

typedef struct KvItemOp
{
	/* the request */
	KvOpKind	kind;
	KvTable    *table;
	Datum		keys[2];
	Jsonb	   *item;			/* PUT: the canonical item; others: the key as an item */
	KvExprSet  *exprs;			/* condition / update expressions, or NULL */
	const KvPartition *partition;

	/* the state reached */
	KvRowWriter *writer;
	bool		exists;			/* the item existed when locked */
	Jsonb	   *old;			/* its value then */
	KvUpdateResult update;		/* UPDATE: what the expression produced */

	/* capacity units (src/stats) */
	bool		transactional;	/* TransactWriteItems: units count twice */
	bool		measure;		/* ConsumedCapacity asked: size it even without stats */
	int64		write_units;	/* what the op consumed, set by KvOpAccount */
	int			nindex_units;	/* ... and on its secondary indexes (measure only) */
	KvCapacityIndex *index_units;
} KvItemOp;

/* Route the op's key and open its partition for writing. */
extern void KvOpOpen(KvItemOp *op);

/*
 * Lock the item's current version and evaluate the op's condition on it;
 * false when the condition fails.
 */
extern bool KvOpLockAndCheck(KvItemOp *op);

/*
 * Perform the write decided by the locked state; false when a concurrent
 * insert of the same key won (lock and check again).
 */
extern bool KvOpApply(KvItemOp *op);

/* Release the partition (locks stay until the end of the transaction). */
extern void KvOpClose(KvItemOp *op);

/*
 * Charge the op's write units (SPEC §8.2: the larger of the old and new
 * item, a failed condition too) into op->write_units and report it to the
 * partition's statistics.  Call once, after the op applied or failed,
 * before KvOpClose.
 */
extern void KvOpAccount(KvItemOp *op, bool failed);

/* Run one op to completion; raises ConditionalCheckFailed (KV001). */
extern void KvOpRun(KvItemOp *op, bool return_item_on_failure);

/* ConditionalCheckFailedException, with the current item in DETAIL when asked */
extern void KvConditionFailed(Jsonb *current, bool return_item);

/* {"Attributes": item}, or {} without an item (or for an empty one) */
extern Jsonb *KvAttributesResponse(Jsonb *item);

/* add what an accounted op consumed (table and indexes) to a request's capacity */
extern void KvOpCapacity(KvCapacity *cap, const KvItemOp *op, const char *table_name);

#endif							/* PARTKV_ITEMOPS_H */
