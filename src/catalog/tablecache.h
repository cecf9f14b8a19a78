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

typedef struct KvTable
{
	Oid			relid;			/* the partitioned table; hash key */
	bool		valid;
	char		schema_name[NAMEDATALEN];
	char		table_name[NAMEDATALEN];
	KvKeySchema key;
	Oid			key_typid[2];	/* text, numeric or bytea */
	int			greatest_modulus;	/* hash routing: remainder -> partition */
	KvPartition *by_remainder;	/* greatest_modulus entries */
	int			npartitions;

	/* secondary indexes, allocated in index_cxt (NULL when there are none) */
	MemoryContext index_cxt;
	int			nlocal;
	KvLocalIndex *local;
	int			nglobal;
	char	  **global_names;	/* IndexNames of the declared GSIs */
} KvTable;

/*
 * Find a kv table by its DynamoDB name ("name" through search_path, or
 * "schema.name"), check the current role holds `required` privileges on it
 * and that row-level security does not apply.  The table is locked in
 * lockmode until the end of the transaction.  Errors: 22023 malformed
 * name, 42P01 not a kv table, 42501 privileges, 0A000 RLS.
 */
extern KvTable *KvLookupTable(text *name, AclMode required, LOCKMODE lockmode);

/* the partition holding partition key value pk */
extern const KvPartition *KvRoutePartition(const KvTable *table, Datum pk);

#endif							/* PARTKV_TABLECACHE_H */
