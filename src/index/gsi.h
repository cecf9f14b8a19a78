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
#include "access/xlogdefs.h"
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
 * One decoded change of a kv table that has GSIs, as the partkv output
 * plugin hands it to KvGsiCollectChange.
 */
typedef struct KvGsiChangeInfo
{
	Oid			table_relid;
	const char *schema_name;
	const char *table_name;
	Jsonb	   *keys;			/* the table key */
	Jsonb	   *newitem;		/* NULL: deleted */

	/*
	 * The item before the change, when known: an insert had none; an update
	 * or delete shows it only when the whole old row is in WAL (REPLICA
	 * IDENTITY FULL).  old_known false: it may have been anything.
	 */
	Jsonb	   *olditem;
	bool		old_known;
	TransactionId xid;
	TimestampTz commit_time;
	XLogRecPtr	commit_lsn;
} KvGsiChangeInfo;

/*
 * GSI worker side.  The decoder hands every change of a table that has
 * GSIs to KvGsiCollectChange (through the decoder's kv_gsi_change_hook,
 * which the GSI worker sets); KvGsiApplyBatch applies what was collected,
 * inside the batch's transaction; KvGsiBackfillStep runs one backfill batch
 * of at most batch_size items in a transaction of its own (true when more
 * work is waiting), looking for new work at most every idle_ms when there
 * was none.
 */
extern void KvGsiWorkerInit(void);
extern void KvGsiCollectChange(const KvGsiChangeInfo *change);
extern void KvGsiBatchReset(void);
extern int	KvGsiPendingChanges(void);
extern TimestampTz KvGsiLastCommitTime(void);
extern void KvGsiApplyBatch(void);
extern bool KvGsiBackfillStep(int idle_ms, int batch_size);
extern int	KvGsiRebuildAll(void);

#endif							/* PARTKV_GSI_H */
