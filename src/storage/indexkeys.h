/*-------------------------------------------------------------------------
 *
 * indexkeys.h
 *	  The index keys of kv items (DESIGN §1.3): the key extractors used in
 *	  the expressions of local and global secondary indexes
 *	  (partkv.key_<type>(item, 'attr')), recognition of an index column's
 *	  key attribute from its definition (relcache only, no partkv catalog
 *	  query), and the index key checks of every written item
 *	  (SPEC-dynamodb.md §2.7).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_INDEXKEYS_H
#define PARTKV_INDEXKEYS_H

#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/relcache.h"

#include "item.h"

/*
 * Top-level attribute name (len bytes) of an item into *v; false when the
 * item is NULL, not an object or lacks it.
 */
extern bool KvTopLevelValue(Jsonb *item, const char *name, int len, JsonbValue *v);

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
 * An index key a kv table declares in partkv's catalog: an LSI sort key or
 * a GSI key, with the name of the index it serves.
 */
typedef struct KvDeclaredIndexKey
{
	KvKeyAttr	attr;
	bool		gsi;			/* a GSI key (else an LSI sort key) */
	bool		hash;			/* a GSI partition key: 2048-byte limit */
	char	   *index_name;		/* IndexName */
} KvDeclaredIndexKey;

/*
 * The index keys the kv table of partition part declares, in
 * CurrentMemoryContext: LSI sort keys, then each GSI's keys in declaration
 * order.  partkv's catalog is the catalog layer's, above storage: it sets
 * the hook at _PG_init.  Without it, or without a catalog row (pg_restore),
 * there are none.
 */
typedef int (*KvDeclaredIndexKeysHook) (Relation part, KvDeclaredIndexKey **keys);
extern PGDLLIMPORT KvDeclaredIndexKeysHook kv_declared_index_keys_hook;

/*
 * Check the index key attributes of an item about to be written into rel
 * (a kv partition): an attribute an index of rel extracts must, when
 * present, be of the index key's type, non-empty and at most 1024 bytes.
 * Errors 22023 worded like DynamoDB's.  The index keys of rel are derived
 * from its indexes once and cached in rel->rd_amcache; tables without
 * index keys pay one pointer test per row.
 */
extern void KvCheckIndexKeys(Relation rel, Jsonb *item);

#endif							/* PARTKV_INDEXKEYS_H */
