/*-------------------------------------------------------------------------
 *
 * lsi.h
 *	  Local secondary indexes (DESIGN §1.3): partial B-tree expression
 *	  indexes (pk, partkv.key_<type>(item, 'attr'), sk) WHERE
 *	  partkv.key_<type>(item, 'attr') IS NOT NULL on every partition of a kv
 *	  table.  This module provides the key extractors used in those index
 *	  expressions, recognises such indexes from their definition (relcache
 *	  only, no partkv catalog query), and checks index key attributes of
 *	  every written item (SPEC-dynamodb.md §2.7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_LSI_H
#define PARTKV_LSI_H

#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

#include "../catalog/tablecache.h"
#include "../storage/item.h"

/*
 * Top-level attribute name (len bytes) of an item as the Datum of an index
 * key column of type type (S: text, N: numeric, B: bytea); false when the
 * item is NULL or lacks it or has it of another type.  What the extractors
 * partkv.key_text/key_numeric/key_bytea return, and GSI keys.
 */
extern bool KvIndexKeyValue(Jsonb *item, const char *name, int len, KvType type, Datum *out);

/*
 * The key attribute an index column extracts from the item: true when
 * column colno (1-based) of index indexrel is partkv.key_text/key_numeric/
 * key_bytea(item, '<attr>'), with *attr set to the attribute's name and
 * type (S, N or B).
 */
extern bool KvIndexColumnKey(Relation indexrel, int colno, KvKeyAttr *attr);

/*
 * True when indexrel, an index of kv partition part, has the shape of a
 * local secondary index: three key columns (partition key column,
 * extractor, sort key column).  *attr receives the LSI sort key.
 */
extern bool KvIsLsiIndex(Relation part, Relation indexrel, KvKeyAttr *attr);

/*
 * Fill lsiindex[0 .. table->nlocal - 1] with the OIDs of partition part's
 * indexes serving each local secondary index of table (InvalidOid where
 * the partition has none, e.g. during pg_restore).
 */
extern void KvLsiMapPartition(Relation part, const KvTable *table, Oid *lsiindex);

/*
 * Check the index key attributes of an item about to be written into rel
 * (a kv partition): an attribute an index of rel extracts must, when
 * present, be of the index key's type, non-empty and at most 1024 bytes.
 * Errors 22023 worded like DynamoDB's.  The index keys of rel are derived
 * from its indexes once and cached in rel->rd_amcache; tables without
 * index keys pay one pointer test per row.
 */
extern void KvCheckIndexKeys(Relation rel, Jsonb *item);

/*
 * The item restricted to the given top-level attributes (a projection of
 * an index: KEYS_ONLY or INCLUDE), in CurrentMemoryContext.
 */
extern Jsonb *KvProjectAttributes(Jsonb *item, char *const *names, int nnames);

/*
 * Whether an index entry's projected non-key attributes are the same in
 * both items (its keys are compared apart): always for KEYS_ONLY, the
 * whole items for ALL, the NonKeyAttributes for INCLUDE.
 */
extern bool KvIndexProjectionSame(Jsonb *old, Jsonb *written, KvProjectionType projection,
								  int ninclude, char *const *include);

#endif							/* PARTKV_LSI_H */
