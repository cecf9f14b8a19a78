/*-------------------------------------------------------------------------
 *
 * gsi.h
 *	  Global secondary indexes (DESIGN §1.3): partitioned tables of
 *	  projected items kept up to date asynchronously by the stream worker,
 *	  from the change stream, in the transaction that records the worker's
 *	  WAL position; backfilled in the background when added to a table
 *	  that has items.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_GSI_H
#define PARTKV_GSI_H

#include "postgres.h"
#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "../catalog/tablecache.h"
#include "../storage/item.h"

/* what a Query or Scan needs to know about a GSI */
typedef struct KvGsiInfo
{
	bool		active;			/* false while CREATING (backfilling) */
	Oid			storage;		/* its partitioned storage table */
	KvKeyAttr	pk;				/* its partition key */
	bool		has_sk;
	KvKeyAttr	sk;				/* its sort key, when has_sk */
	KvProjectionType projection;
	int			ninclude;		/* NonKeyAttributes of INCLUDE */
	char	  **include;
} KvGsiInfo;

/* describe GSI index_name of kv table schema_name.table_name; false if unknown */
extern bool KvGsiDescribe(const char *schema_name, const char *table_name,
						  const char *index_name, KvGsiInfo *info);

/*
 * GSI worker side.  The decoder hands every change of a table that has
 * GSIs to KvGsiCollectChange (through kv_gsi_change_hook, set only in the
 * GSI worker); KvGsiApplyBatch applies what was collected, inside the batch's
 * transaction; KvGsiBackfillStep runs one backfill batch in a transaction
 * of its own (true when more work is waiting).
 */
extern void KvGsiWorkerInit(void);
extern void KvGsiBatchReset(void);
extern int	KvGsiPendingChanges(void);
extern TimestampTz KvGsiLastCommitTime(void);
extern void KvGsiApplyBatch(void);
extern bool KvGsiBackfillStep(void);
extern int	KvGsiRebuildAll(void);

#endif							/* PARTKV_GSI_H */
