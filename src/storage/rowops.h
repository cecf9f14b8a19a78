/*-------------------------------------------------------------------------
 *
 * rowops.h
 *	  Reading and writing one item in its partition without the planner:
 *	  index lookup by key, row locking, speculative insertion, update and
 *	  delete, with the partition's indexes maintained.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_ROWOPS_H
#define PARTKV_ROWOPS_H

#include "postgres.h"
#include "executor/executor.h"
#include "utils/jsonb.h"
#include "utils/snapshot.h"

#include "tableam.h"

/* an open partition ready for one item write */
typedef struct KvRowWriter
{
	Relation	part;
	Oid			pkindex;
	KvRowLayout layout;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *newslot;	/* the row to write (virtual) */
	TupleTableSlot *oldslot;	/* the current row, once locked */
} KvRowWriter;

/* open partition part of kv table table_name (for messages) for one write */
extern KvRowWriter *KvRowWriterOpen(const char *table_name, const KvPartition *part);
extern void KvRowWriterClose(KvRowWriter *w);

/* fill newslot with key values and an item (item may be NULL for a key-only search) */
extern void KvRowSetNew(KvRowWriter *w, const Datum *keys, Jsonb *item);

/*
 * Lock the current row holding newslot's key; true and oldslot filled when
 * it exists.  Under REPEATABLE READ or SERIALIZABLE a row changed since the
 * transaction's snapshot raises 40001, as UPDATE would.
 */
extern bool KvRowLock(KvRowWriter *w);

/* insert newslot unless the key appeared meanwhile (then false: lock and retry) */
extern bool KvRowInsert(KvRowWriter *w);

/* replace the locked row (oldslot) with newslot */
extern void KvRowUpdate(KvRowWriter *w);

/* delete the locked row (oldslot) */
extern void KvRowDelete(KvRowWriter *w);

/* the item of a row in a slot, copied into CurrentMemoryContext */
extern Jsonb *KvSlotItem(TupleTableSlot *slot, const KvRowLayout *layout);

/* read the item with the given key visible to the active snapshot; NULL if none */
extern Jsonb *KvRowFetch(const KvKeySchema *key, const KvPartition *part, const Datum *keys);

/* the same with a given snapshot (one snapshot for several reads) */
extern Jsonb *KvRowFetchSnapshot(const KvKeySchema *key, const KvPartition *part,
								 const Datum *keys, Snapshot snapshot);

#endif							/* PARTKV_ROWOPS_H */
