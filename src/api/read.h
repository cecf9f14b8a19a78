/*-------------------------------------------------------------------------
 *
 * read.h
 *	  What the files of Query and Scan share: the reader, a request's read
 *	  state, argument positions, and each file's entry points.
 *
 * Reading is done below the planner, on the partitions' primary key
 * indexes:
 *
 * - A Query routes its partition key to one partition and runs ONE btree
 *	 index scan on it: the partition key equality and the sort-key bounds
 *	 are scan keys (BETWEEN is two bounds; begins_with is the range
 *	 [prefix, successor of prefix)), walked forward or backward.  An
 *	 ExclusiveStartKey adds one more bound on the sort key.
 *
 * - A Scan reads the partitions in a fixed order (by hash remainder), each
 *	 in primary key order, with a full index scan.  Resuming after a key k
 *	 is two index scans on k's partition (pk = k.pk AND sk > k.sk, then
 *	 pk > k.pk) followed by the partitions after it.
 *
 * - With index_name naming a local secondary index, the same steps run on
 *	 the partitions' LSI indexes (pk, LSI key, sk) instead (src/catalog/lsimap.c):
 *	 the key condition names the LSI sort key, only items having it are
 *	 read (an IS NOT NULL scan key), and resuming after an ExclusiveStartKey
 *	 (table keys + LSI key) is the row comparison (lsi, sk) > (k.lsi, k.sk),
 *	 so equal LSI keys come in table sort key order.  Without a
 *	 ProjectionExpression, an LSI returns what its ProjectionType holds
 *	 (KEYS_ONLY: table and index keys; INCLUDE: and NonKeyAttributes; ALL:
 *	 whole items); a ProjectionExpression or a FilterExpression may use any
 *	 attribute, as DynamoDB fetches those from the base table -- here the
 *	 whole item is in the row anyway.  The 1 MB page size counts whole
 *	 items.
 *
 * - With index_name naming a global secondary index (src/index/gsi.c), the
 *	 same steps run on the GSI's storage partitions through their B-tree
 *	 (gsi pk, [gsi sk,] table pk, [table sk]): a Query routes the GSI
 *	 partition key, resuming after an ExclusiveStartKey (GSI keys + table
 *	 keys) is a row comparison on the columns after the partition key, and
 *	 the items read are the projected ones the GSI stores.  GSIs are
 *	 eventually consistent: ConsistentRead is refused, and so is reading a
 *	 GSI still being backfilled.
 *
 * - A parallel Scan maps segments onto partitions.  With TotalSegments <=
 *	 partitions, segment s reads the partitions of rank r = s (mod
 *	 TotalSegments).  With more segments than partitions, the segments
 *	 s = r (mod partitions) share partition r and split it by ranges of
 *	 the partition-key hash; each of them then reads the whole partition
 *	 and keeps its own rows, so such a scan costs k full reads of a
 *	 partition shared by k segments.  Use TotalSegments <= partitions when
 *	 reading cost matters.
 *
 * Pages follow DynamoDB (SPEC §5.2): Limit counts the items read, before
 * the FilterExpression; a page also stops after the item whose cumulative
 * size (KvItemSize) reaches 1 MB; LastEvaluatedKey is returned exactly
 * when one of those stopped the page.  partkv.query and partkv.scan return
 * every matching item, one at a time (value-per-call, per-row memory
 * context), as if paging until the end: the 1 MB rule is invisible there,
 * and item_limit caps the total number of items read.
 *
 * They stream: memory stays that of one item, and nothing is read beyond
 * what the caller takes (LIMIT, a cursor's FETCH).  In FROM, the executor
 * would store a C function's whole result before returning its first row
 * (a Function Scan); so the SQL functions partkv.query and partkv.scan are
 * one-SELECT SQL functions that the planner inlines into a select-list
 * call of partkv.query_items / partkv.scan_items (partkv_query and
 * partkv_scan here), which a ProjectSet node calls once per row wanted.
 * Elsewhere (a select list) the SQL function would run through the SQL
 * function executor, which plans its body at every execution; there the
 * planner support function partkv_read_support replaces the call by the C
 * function's.
 *
 * All reads of one call use one snapshot taken at its start (the latest
 * committed data and the transaction's own writes), so ConsistentRead is
 * always honoured.  For partkv.query and partkv.scan that means every page
 * of the result sees the same state of the table, however slowly the
 * caller consumes it -- where DynamoDB's pages, separate requests, may each
 * see newer data.  The *_page functions see one snapshot per page.
 *
 * A Scan of a table larger than a quarter of shared_buffers reads its heap
 * pages through a bulk-read buffer ring (src/storage/ringfetch.c), as a
 * sequential scan of such a table would, instead of evicting the rest of
 * shared_buffers.  The primary key index's own pages are read normally.
 *
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_READ_H
#define PARTKV_READ_H

#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/sdir.h"
#include "access/skey.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "storage/bufmgr.h"
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapshot.h"

#include "../catalog/tablecache.h"
#include "../common/errors.h"
#include "../eval/eval.h"
#include "../stats/capacity.h"
#include "../storage/item.h"
#include "../storage/ringfetch.h"
#include "../storage/rowops.h"

/* argument positions of partkv.query / query_page */
#define QA_TABLE		0
#define QA_KEYCOND		1
#define QA_VALUES		2
#define QA_NAMES		3
#define QA_FILTER		4
#define QA_PROJECTION	5
#define QA_INDEX		6
#define QA_FORWARD		7
#define QA_LIMIT		8
#define QA_START		9
#define QA_CONSISTENT	10
#define QA_CAPACITY		11		/* query_page only */

/* argument positions of partkv.scan / scan_page */
#define SA_TABLE		0
#define SA_FILTER		1
#define SA_VALUES		2
#define SA_NAMES		3
#define SA_PROJECTION	4
#define SA_INDEX		5
#define SA_SEGMENT		6
#define SA_TOTAL		7
#define SA_LIMIT		8
#define SA_START		9
#define SA_CAPACITY		10		/* scan_page only */

/* one partition to read */
typedef struct KvReadUnit
{
	Oid			relid;
	Oid			index;			/* the index read: primary key or LSI */
	int			rank;			/* smallest hash remainder it holds */
} KvReadUnit;

/*
 * What a request reads and where it stands: a sequence of index scans
 * ("steps") over a list of partitions.  Everything here is copied out of
 * the table cache, whose entries may be rebuilt between two calls of a
 * set-returning function.
 */
typedef struct KvReader
{
	MemoryContext mcxt;			/* outlives the rows: scans, relations */
	KvKeySchema key;
	Oid			key_typid[2];
	Snapshot	snapshot;
	ResourceOwner owner;		/* the snapshot is registered there */
	ScanDirection dir;

	int			nunits;
	KvReadUnit *units;

	/*
	 * Reading a local secondary index: its index is (pk, lsi key, sk), the
	 * LSI sort key being column 2.
	 */
	bool		lsi;
	KvKeyAttr	lsi_key;
	Oid			lsi_typid;
	char	   *index_name;		/* the LSI or GSI read (capacity is charged to it) */

	/*
	 * Reading a global secondary index (src/index/gsi.c): its storage
	 * partitions, through their B-tree (gsi pk, [gsi sk,] base pk, [base
	 * sk]), whose columns gsi_cols describes (gsi_ncols of them, the item
	 * being the next column).  Resuming after a key is a row comparison on
	 * columns 2 .. gsi_ncols.
	 */
	bool		gsi;
	int			gsi_ncols;
	KvKeyAttr	gsi_cols[4];
	Oid			gsi_typid[4];
	Datum		gsi_start[4];
	int			gsi_modulus;	/* greatest modulus of its partitions */
	KvReadUnit *gsi_by_rem;		/* hash remainder -> partition */

	/* Query: the keys of its one index scan */
	bool		is_query;
	int			nqkeys;
	ScanKeyData qkeys[6];

	/* Scan: resume strictly after this key (and LSI key), which is in units[0] */
	bool		has_start;
	Datum		start[2];
	Datum		start_lsi;

	/* a segment sharing its partition keeps hash range split_j of split_k */
	int			split_k;
	int			split_j;

	/* position */
	int			step;
	int			open_unit;		/* unit whose relations are open, or -1 */
	Relation	rel;
	Relation	index;
	KvRowLayout layout;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	KvRingFetch fetch;			/* its heap side */
	BufferAccessStrategy ring;	/* a large Scan's bulk-read ring, or NULL */
	bool		closed;

	KvReadTally tally;			/* statistics and capacity (src/stats) */
} KvReader;

/* one Query or Scan request being executed */
typedef struct KvReadState
{
	KvReader	reader;
	KvExprSet  *set;
	int			nproject;		/* an index's KEYS_ONLY/INCLUDE projection: */
	char	  **project;		/* the attributes kept; NULL: whole items */
	MemoryContext rowctx;		/* reset for every item read */
	int64		limit;			/* items to read at most; 0: no limit */
	int64		scanned;
	/*
	 * Set-returning calls: where the shutdown callback is registered.  Not
	 * the ReturnSetInfo, which the executor passes on its stack, anew at
	 * each call (a cursor's FETCH and MOVE call from different frames).
	 */
	ExprContext *econtext;
} KvReadState;

/* KvCheckIndex's answer for a global secondary index */
#define KV_INDEX_GSI	(-2)

/* reader.c */
extern int	KvKeyCompare(Datum a, Datum b, Oid typid);
extern void KvKeyScanKey(ScanKey key, AttrNumber attno, Oid typid, StrategyNumber strategy, Datum arg);
extern void KvNotNullScanKey(ScanKey key, AttrNumber attno);
extern void KvRowScanKey(ScanKey key, StrategyNumber strategy, Oid lsityp, Datum a, Oid sktyp, Datum b);
extern void KvGsiRowScanKey(ScanKey key, StrategyNumber strategy, const KvReader *r, int first, const Datum *vals);
extern uint64 KvRowHash(Datum pk, Oid typid);
extern int	KvSplitIndex(uint64 rowhash, int k);
extern void KvReaderInit(KvReader *r, const KvTable *table, MemoryContext mcxt);
extern void KvReaderClose(KvReader *r);
extern bool KvReaderOpenUnit(KvReader *r, int u);
extern TupleTableSlot *KvReaderNext(KvReader *r);

/* readrequest.c */
extern int64 KvCheckLimit(FunctionCallInfo fcinfo, int argno, KvShapeErrors *errs);
extern char *KvCheckIndexName(FunctionCallInfo fcinfo, int argno, KvShapeErrors *errs);
extern char *KvOptionalText(FunctionCallInfo fcinfo, int argno);
extern Jsonb *KvOptionalJsonb(FunctionCallInfo fcinfo, int argno);
extern int	KvCheckIndex(const KvTable *table, const char *index_name, bool consistent_read);
extern void KvUseGlobalIndex(KvReadState *st, const KvTable *table, const char *index_name);
extern void KvGsiStartKeyDatums(Jsonb *esk, const KvReader *r, Datum *vals);
extern void KvUseLocalIndex(KvReadState *st, const KvTable *table, int lsi);
extern void KvStartKeyDatums(Jsonb *esk, const KvKeySchema *schema, Datum *values);
extern void KvIndexStartKeyDatums(Jsonb *esk, const KvKeySchema *schema, const KvKeyAttr *lsi_key, Datum *values, Datum *lsi_value);
extern KvReadState *KvReadStateNew(MemoryContext mcxt, int64 limit);

/* query.c */
extern KvReadState *KvQueryBegin(FunctionCallInfo fcinfo, MemoryContext mcxt);

/* scan.c */
extern KvReadState *KvScanBegin(FunctionCallInfo fcinfo, MemoryContext mcxt);

#endif							/* PARTKV_READ_H */
