/*-------------------------------------------------------------------------
 *
 * tablecache.h
 *	  Per-backend cache of kv table metadata: key schema, partitions and
 *	  their primary-key indexes, so an item operation finds its partition
 *	  without a catalog query.  Entries are dropped by relcache invalidation
 *	  of the table or any of its partitions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_TABLECACHE_H
#define PARTKV_TABLECACHE_H

#include "postgres.h"
#include "storage/lockdefs.h"
#include "utils/acl.h"

#include "../storage/item.h"
#include "../storage/tableam.h"


/* ProjectionType of a secondary index */
typedef enum KvProjectionType
{
	KV_PROJECT_ALL,
	KV_PROJECT_KEYS_ONLY,
	KV_PROJECT_INCLUDE
} KvProjectionType;

/* a local secondary index, as declared in partkv.tables.local_indexes */
typedef struct KvLocalIndex
{
	char	   *name;			/* IndexName */
	KvKeyAttr	key;			/* its sort key (the partition key is the table's) */
	KvProjectionType projection;
	int			ninclude;		/* NonKeyAttributes of INCLUDE */
	char	  **include;
} KvLocalIndex;

/* a global secondary index, as declared in partkv.tables.global_indexes */
typedef struct KvGlobalIndex
{
	char	   *name;			/* IndexName */
	KvKeyAttr	pk;				/* its partition key (type INVALID: undefined) */
	bool		has_sk;
	KvKeyAttr	sk;				/* its sort key, when has_sk */
	KvProjectionType projection;
	int			ninclude;		/* NonKeyAttributes of INCLUDE */
	char	  **include;
} KvGlobalIndex;

typedef struct KvTable
{
	Oid			relid;			/* the partitioned table; hash key */
	bool		valid;			/* all of it is loaded and checked */
	bool		row_valid;		/* its catalog row (the declarations) is loaded */
	char		schema_name[NAMEDATALEN];
	char		table_name[NAMEDATALEN];
	KvKeySchema key;
	Oid			key_typid[2];	/* text, numeric or bytea */
	int			greatest_modulus;	/* hash routing: remainder -> partition */
	KvPartition *by_remainder;	/* greatest_modulus entries */
	int			npartitions;

	/*
	 * what the catalog row declares beyond the key schema, allocated in
	 * row_cxt
	 */
	MemoryContext row_cxt;
	char	   *ttl_attribute;	/* NULL unless TTL is enabled */
	int			nlocal;
	KvLocalIndex *local;
	int			nglobal;
	KvGlobalIndex *global;
	char	  **global_names;	/* global[i].name */
} KvTable;

/*
 * Find a kv table by its DynamoDB name ("name" through search_path, or
 * "schema.name"), check the current role holds `required` privileges on it
 * and that row-level security does not apply.  The table is locked in
 * lockmode until the end of the transaction.  Errors: 22023 malformed
 * name, 42P01 not a kv table, 42501 privileges, 0A000 RLS.
 */
extern KvTable *KvLookupTable(text *name, AclMode required, LOCKMODE lockmode);

/*
 * The declarations of the kv table relid as its catalog row states them:
 * key schema, TTL attribute, local and global secondary indexes; NULL when
 * partkv.tables has no row for it.  Unlike KvLookupTable this neither
 * checks the relation nor loads its partitions (by_remainder may be NULL:
 * never route through it), so it also serves while pg_restore is building
 * the table.  The row is read once per relcache invalidation of the table;
 * the result is valid until the next invalidation is processed (copy what
 * outlives a lock or a catalog access).
 */
extern const KvTable *KvTableDeclaration(Oid relid);

/*
 * KvTableCacheInit registers the table cache's hooks in lower layers (the
 * table AM's declared index keys): called from _PG_init.
 */
extern void KvTableCacheInit(void);

/* the partition holding partition key value pk */
extern const KvPartition *KvRoutePartition(const KvTable *table, Datum pk);

#endif							/* PARTKV_TABLECACHE_H */
