/*-------------------------------------------------------------------------
 *
 * tableam.h
 *	  The partkv table access method and the row layout of kv tables.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_TABLEAM_H
#define PARTKV_TABLEAM_H

#include "postgres.h"
#include "access/tupdesc.h"
#include "utils/relcache.h"

#include "item.h"

#define KV_MAX_LOCAL_INDEXES	5	/* DynamoDB's per-table limit of LSIs */

/* one partition of a kv table (the table cache routes items to it) */
typedef struct KvPartition
{
	Oid			relid;
	Oid			pkindex;		/* its (pk[, sk]) primary key index */
	Oid			lsiindex[KV_MAX_LOCAL_INDEXES]; /* its index of each LSI */
} KvPartition;

/* where the key columns and the item column sit in a kv table's rows */
typedef struct KvRowLayout
{
	KvKeySchema schema;			/* names and types of the key columns */
	AttrNumber	key_attno[2];	/* their attribute numbers */
	AttrNumber	item_attno;		/* the jsonb "item" column */
} KvRowLayout;

/*
 * Called after a transaction that wrote kv rows commits, in the committing
 * backend.  The stream layer sets it at _PG_init to wake its workers: the
 * table AM must not call the layers above it.
 */
typedef void (*KvCommitWroteHook) (void);
extern PGDLLIMPORT KvCommitWroteHook kv_commit_wrote_hook;

extern bool KvRowLayoutOf(TupleDesc desc, KvRowLayout *layout);
extern bool KvIsPartkvRelation(Relation rel);
struct TupleTableSlot;
extern void KvSetValidatedSlot(struct TupleTableSlot *slot);
extern void KvItemKeys(Jsonb *item, const KvKeySchema *schema, Datum *values);

#endif							/* PARTKV_TABLEAM_H */
