/*-------------------------------------------------------------------------
 *
 * query.c
 *	  SQL entry points of Query and Scan (DESIGN §2, SPEC-dynamodb.md §5):
 *	  partkv.query, partkv.query_page, partkv.scan and partkv.scan_page.
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
 * call of partkv_internal.query_items / partkv_internal.scan_items (partkv_query and
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/partition.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/supportnodes.h"
#include "optimizer/planmain.h"
#include "parser/parse_func.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"

#include "../catalog/tablecache.h"
#include "../common/errors.h"
#include "../common/jsonbuild.h"
#include "../common/partkv.h"
#include "../common/serving.h"
#include "../eval/eval.h"
#include "../index/gsi.h"
#include "../index/projection.h"
#include "../stats/capacity.h"
#include "../stats/stats.h"
#include "../storage/hashops.h"
#include "../storage/item.h"
#include "../storage/ringfetch.h"
#include "../storage/rowops.h"
#include "api.h"

PG_FUNCTION_INFO_V1(partkv_query);
PG_FUNCTION_INFO_V1(partkv_query_page);
PG_FUNCTION_INFO_V1(partkv_scan);
PG_FUNCTION_INFO_V1(partkv_scan_page);
PG_FUNCTION_INFO_V1(partkv_read_support);

/* a page stops after the item that brings the data read to 1 MB */
#define KV_PAGE_BYTES			(1024 * 1024)
#define KV_MAX_TOTAL_SEGMENTS	1000000

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

/* ----------------------------------------------------------------
 * Errors and small helpers
 * ----------------------------------------------------------------
 */

/* KvCheckLimit validates item_limit (DynamoDB's Limit, at least 1). */
static int64
KvCheckLimit(FunctionCallInfo fcinfo, int argno, KvShapeErrors *errs)
{
	int32		limit;

	if (PG_ARGISNULL(argno))
		return 0;
	limit = PG_GETARG_INT32(argno);
	if (limit < 1)
		KvShapeAdd(errs, psprintf("%d", limit), "limit",
				   "Member must have value greater than or equal to 1");
	return limit;
}

/* KvCheckIndexName validates the shape of index_name; NULL when absent. */
static char *
KvCheckIndexName(FunctionCallInfo fcinfo, int argno, KvShapeErrors *errs)
{
	char	   *name;
	int			len;

	if (PG_ARGISNULL(argno))
		return NULL;
	name = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	len = strlen(name);
	if (len < 3)
		KvShapeAdd(errs, name, "indexName",
				   "Member must have length greater than or equal to 3");
	else if (len > 255)
		KvShapeAdd(errs, name, "indexName",
				   "Member must have length less than or equal to 255");
	for (int i = 0; i < len; i++)
	{
		char		c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
		{
			KvShapeAdd(errs, name, "indexName",
					   "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
			break;
		}
	}
	return name;
}

/* KvOptionalText returns a text argument as a C string, or NULL. */
static char *
KvOptionalText(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

/* KvOptionalJsonb returns a jsonb argument, or NULL. */
static Jsonb *
KvOptionalJsonb(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return PG_GETARG_JSONB_P(argno);
}

/* KvKeyProc is the btree operator (or, for 0, comparison) function of a key type. */
static RegProcedure
KvKeyProc(Oid typid, StrategyNumber strategy)
{
	static const RegProcedure text_procs[] = {
		F_BTTEXTCMP, F_TEXT_LT, F_TEXT_LE, F_TEXTEQ, F_TEXT_GE, F_TEXT_GT
	};
	static const RegProcedure numeric_procs[] = {
		F_NUMERIC_CMP, F_NUMERIC_LT, F_NUMERIC_LE, F_NUMERIC_EQ, F_NUMERIC_GE, F_NUMERIC_GT
	};
	static const RegProcedure bytea_procs[] = {
		F_BYTEACMP, F_BYTEALT, F_BYTEALE, F_BYTEAEQ, F_BYTEAGE, F_BYTEAGT
	};

	Assert(strategy <= BTMaxStrategyNumber);
	switch (typid)
	{
		case NUMERICOID:
			return numeric_procs[strategy];
		case BYTEAOID:
			return bytea_procs[strategy];
		default:
			return text_procs[strategy];
	}
}

/* KvKeyCollation is the collation key comparisons use: "C" for strings. */
static Oid
KvKeyCollation(Oid typid)
{
	return typid == TEXTOID ? C_COLLATION_OID : InvalidOid;
}

/* KvKeyCompare orders two key column values as the primary key index does. */
static int
KvKeyCompare(Datum a, Datum b, Oid typid)
{
	return DatumGetInt32(OidFunctionCall2Coll(KvKeyProc(typid, 0),
											  KvKeyCollation(typid), a, b));
}

/*
 * KvKeyScanKey fills a scan key on index column attno (1: partition key,
 * 2: sort key) in CurrentMemoryContext.
 */
static void
KvKeyScanKey(ScanKey key, AttrNumber attno, Oid typid, StrategyNumber strategy,
			 Datum arg)
{
	ScanKeyInit(key, attno, strategy, KvKeyProc(typid, strategy), arg);
	key->sk_collation = KvKeyCollation(typid);
}

/*
 * KvNotNullScanKey fills an IS NOT NULL scan key on index column attno: an
 * LSI read never returns entries lacking the LSI key, even from an index
 * built without the partial predicate.
 */
static void
KvNotNullScanKey(ScanKey key, AttrNumber attno)
{
	ScanKeyEntryInitialize(key, SK_ISNULL | SK_SEARCHNOTNULL, attno,
						   InvalidStrategy, InvalidOid, InvalidOid, InvalidOid,
						   (Datum) 0);
}

/*
 * KvRowScanKey fills the row comparison (lsi key, sk) > (a, b) -- or < --
 * on columns 2 and 3 of an LSI index: where a read resumes after an
 * ExclusiveStartKey, inside one index scan.  The member keys are allocated
 * in CurrentMemoryContext, which must outlive the scan; as nbtree expects
 * of row members, they carry the types' three-way comparison functions.
 */
static void
KvRowScanKey(ScanKey key, StrategyNumber strategy, Oid lsityp, Datum a,
			 Oid sktyp, Datum b)
{
	ScanKey		sub = palloc0(sizeof(ScanKeyData) * 2);

	ScanKeyEntryInitialize(&sub[0], SK_ROW_MEMBER, 2, strategy, InvalidOid,
						   KvKeyCollation(lsityp), KvKeyProc(lsityp, 0), a);
	ScanKeyEntryInitialize(&sub[1], SK_ROW_MEMBER | SK_ROW_END, 3, strategy,
						   InvalidOid, KvKeyCollation(sktyp), KvKeyProc(sktyp, 0), b);
	ScanKeyEntryInitialize(key, SK_ROW_HEADER, 2, strategy, InvalidOid,
						   KvKeyCollation(lsityp), InvalidOid, PointerGetDatum(sub));
}

/*
 * KvGsiRowScanKey fills the row comparison (columns first .. gsi_ncols) >
 * (vals[first - 1] ..) -- or < -- on a GSI's B-tree: where a GSI read
 * resumes after an ExclusiveStartKey.  Members in CurrentMemoryContext.
 */
static void
KvGsiRowScanKey(ScanKey key, StrategyNumber strategy, const KvReader *r, int first,
				const Datum *vals)
{
	int			n = r->gsi_ncols - first + 1;
	ScanKey		sub = palloc0(sizeof(ScanKeyData) * n);

	for (int i = 0; i < n; i++)
	{
		int			col = first + i;
		Oid			typid = r->gsi_typid[col - 1];

		ScanKeyEntryInitialize(&sub[i], SK_ROW_MEMBER | (i == n - 1 ? SK_ROW_END : 0),
							   col, strategy, InvalidOid, KvKeyCollation(typid),
							   KvKeyProc(typid, 0), vals[col - 1]);
	}
	ScanKeyEntryInitialize(key, SK_ROW_HEADER, first, strategy, InvalidOid,
						   KvKeyCollation(r->gsi_typid[first - 1]), InvalidOid,
						   PointerGetDatum(sub));
}

/*
 * KvRenderKeyValue renders a key value as DynamoDB prints an AttributeValue
 * in messages: {S:abc}, {N:5}, {B:<base64>}.
 */
static char *
KvRenderKeyValue(Datum value, KvType type)
{
	switch (type)
	{
		case KV_TYPE_S:
			return psprintf("{S:%s}", TextDatumGetCString(value));
		case KV_TYPE_N:
			return psprintf("{N:%s}", numeric_normalize(DatumGetNumeric(value)));
		default:
			{
				bytea	   *b = DatumGetByteaPP(value);

				return psprintf("{B:%s}", KvBase64Encode(VARDATA_ANY(b),
														 VARSIZE_ANY_EXHDR(b)));
			}
	}
}

/*
 * KvPrefixSuccessor gives the smallest byte string greater than every
 * string starting with prefix (drop trailing 0xFF bytes, increment the
 * last byte), as a text or bytea datum; false when there is none (all
 * 0xFF).
 * For text the result may not be valid UTF-8: it is only ever compared
 * bytewise (collation "C") as a scan key bound.
 */
static bool
KvPrefixSuccessor(Datum prefix, Datum *out)
{
	struct varlena *p = PG_DETOAST_DATUM_PACKED(prefix);
	int			len = VARSIZE_ANY_EXHDR(p);
	const unsigned char *data = (const unsigned char *) VARDATA_ANY(p);
	struct varlena *s;

	while (len > 0 && data[len - 1] == 0xFF)
		len--;
	if (len == 0)
		return false;
	s = palloc(VARHDRSZ + len);
	SET_VARSIZE(s, VARHDRSZ + len);
	memcpy(VARDATA(s), data, len);
	((unsigned char *) VARDATA(s))[len - 1]++;
	*out = PointerGetDatum(s);
	return true;
}

/* KvHasPrefix tells whether key value v starts with prefix (S or B). */
static bool
KvHasPrefix(Datum v, Datum prefix)
{
	struct varlena *a = PG_DETOAST_DATUM_PACKED(v);
	struct varlena *p = PG_DETOAST_DATUM_PACKED(prefix);

	return VARSIZE_ANY_EXHDR(a) >= VARSIZE_ANY_EXHDR(p) &&
		memcmp(VARDATA_ANY(a), VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p)) == 0;
}

/* KvRowHash is the partition-key hash PostgreSQL's hash partitioning uses. */
static uint64
KvRowHash(Datum pk, Oid typid)
{
	return hash_combine64(0, KvHashKeyDatum(pk, typid, HASH_PARTITION_SEED));
}

/* KvSplitIndex maps a row hash to one of k equal ranges of its high 32 bits. */
static int
KvSplitIndex(uint64 rowhash, int k)
{
	return (int) (((rowhash >> 32) * (uint64) k) >> 32);
}

/* ----------------------------------------------------------------
 * Reader: a sequence of index scans on partitions
 * ----------------------------------------------------------------
 */

/*
 * KvReaderInit prepares a reader for a table: key schema copied out of the
 * cache, and one snapshot for all its reads, registered with the current
 * resource owner (the portal's, for every call of a set-returning
 * function).
 */
static void
KvReaderInit(KvReader *r, const KvTable *table, MemoryContext mcxt)
{
	memset(r, 0, sizeof(*r));
	r->mcxt = mcxt;
	r->key = table->key;
	r->key_typid[0] = table->key_typid[0];
	r->key_typid[1] = table->key_typid[1];
	r->dir = ForwardScanDirection;
	r->open_unit = -1;
	r->split_k = 1;
	KvReadTallyInit(&r->tally, table->relid, false);

	/* see the latest committed state and this transaction's own writes */
	PushCopiedSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	r->owner = CurrentResourceOwner;
	r->snapshot = RegisterSnapshotOnOwner(GetActiveSnapshot(), r->owner);
	PopActiveSnapshot();
}

/* KvReaderCloseUnit releases the open partition and its index. */
static void
KvReaderCloseUnit(KvReader *r)
{
	if (r->scan != NULL)
	{
		KvRingFetchRelease(&r->fetch);
		index_endscan(r->scan);
		r->scan = NULL;
	}
	if (r->open_unit >= 0)
	{
		ExecDropSingleTupleTableSlot(r->slot);
		index_close(r->index, NoLock);
		table_close(r->rel, NoLock);
		r->slot = NULL;
		r->open_unit = -1;
	}
}

/* KvReaderClose ends the reader's scans and releases its snapshot; idempotent. */
static void
KvReaderClose(KvReader *r)
{
	if (r->closed)
		return;
	KvReaderCloseUnit(r);
	if (r->ring != NULL)
		FreeAccessStrategy(r->ring);
	r->ring = NULL;
	KvReadTallyEnd(&r->tally);
	UnregisterSnapshotFromOwner(r->snapshot, r->owner);
	r->closed = true;
}

/*
 * KvGsiKeyIndexOf finds the B-tree of a GSI storage partition on its
 * ncols key columns (GSI keys, then table keys); InvalidOid if none.  Looked
 * up only for the partitions a read visits: a Query reads one of them.
 */
static Oid
KvGsiKeyIndexOf(Relation part, int ncols)
{
	List	   *indexes = RelationGetIndexList(part);
	ListCell   *lc;
	Oid			keyindex = InvalidOid;

	foreach(lc, indexes)
	{
		Relation	indexrel = index_open(lfirst_oid(lc), AccessShareLock);

		if (indexrel->rd_index->indnkeyatts == ncols &&
			indexrel->rd_index->indkey.values[0] == 1 &&
			indexrel->rd_index->indisvalid)
			keyindex = lfirst_oid(lc);
		index_close(indexrel, NoLock);
	}
	list_free(indexes);
	return keyindex;
}

/*
 * KvReaderChooseRing decides how the heap of the partition just opened (unit
 * u) is read.  A Scan reads whole partitions; when those it has left, taken
 * to be the size of this one (hash partitions are even), exceed what
 * PostgreSQL would read sequentially through a ring, it reads them through
 * one bulk-read ring, so that it does not evict the rest of shared_buffers;
 * once chosen, the ring serves the partitions after it too.  A Query reads
 * one item collection, as an index scan does.
 */
static void
KvReaderChooseRing(KvReader *r, int u)
{
	if (!r->is_query && r->ring == NULL &&
		KvRingWanted(r->rel, (double) RelationGetNumberOfBlocks(r->rel) * (r->nunits - u)))
		r->ring = GetAccessStrategy(BAS_BULKREAD);
	KvRingFetchInit(&r->fetch, r->rel, r->ring);
}

/*
 * KvReaderOpenUnit opens partition u and its primary key index; false when
 * the partition has been dropped meanwhile (its rows went with it).
 */
static bool
KvReaderOpenUnit(KvReader *r, int u)
{
	if (r->open_unit == u)
		return true;
	KvReaderCloseUnit(r);
	r->rel = try_table_open(r->units[u].relid, AccessShareLock);
	if (r->rel == NULL)
		return false;
	if (r->gsi)
	{
		/* a GSI partition: keys, then the projected item */
		r->layout.key_attno[0] = 1;
		r->layout.item_attno = r->gsi_ncols + 1;
		if (!OidIsValid(r->units[u].index))
			r->units[u].index = KvGsiKeyIndexOf(r->rel, r->gsi_ncols);
		if (!OidIsValid(r->units[u].index))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("partition \"%s\" of a global secondary index has no key index",
							RelationGetRelationName(r->rel))));
		r->index = index_open(r->units[u].index, AccessShareLock);
		r->slot = table_slot_create(r->rel, NULL);
		r->open_unit = u;
		KvReaderChooseRing(r, u);
		return true;
	}
	if (!OidIsValid(r->units[u].index) ||
		!KvRowLayoutOf(RelationGetDescr(r->rel), &r->layout))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partition \"%s\" is not usable by partkv",
						RelationGetRelationName(r->rel)),
				 errdetail("It needs the table's key columns, an item column, a primary key and an index for each local secondary index.")));
	r->index = index_open(r->units[u].index, AccessShareLock);
	r->slot = table_slot_create(r->rel, NULL);
	r->open_unit = u;
	KvReaderChooseRing(r, u);
	KvReadTallyPartition(&r->tally, r->units[u].relid);
	return true;
}

/*
 * KvReaderBeginStep starts the next index scan; false when there is none
 * left.  Steps: a Query has one; a Scan has one per partition, and when it
 * resumes after key k, two on k's partition first (pk = k.pk AND sk >
 * k.sk, or on an LSI pk = k.pk AND (lsi, sk) > (k.lsi, k.sk); then pk >
 * k.pk).  An LSI Scan also skips entries without the LSI key.  Runs in
 * r->mcxt.
 */
static bool
KvReaderBeginStep(KvReader *r)
{
	for (;;)
	{
		int			step = r->step++;
		int			unit;
		int			nkeys = 0;
		ScanKeyData keys[lengthof(r->qkeys)];

		if (r->is_query)
		{
			if (step > 0 || r->nunits == 0)
				return false;
			unit = 0;
			nkeys = r->nqkeys;
			memcpy(keys, r->qkeys, sizeof(ScanKeyData) * nkeys);
		}
		else if (r->has_start && step < 2 && r->gsi)
		{
			/* GSI: pk = k.pk AND (rest) > (k.rest), then pk > k.pk */
			unit = 0;
			if (step == 0)
			{
				KvKeyScanKey(&keys[0], 1, r->gsi_typid[0], BTEqualStrategyNumber,
							 r->gsi_start[0]);
				KvGsiRowScanKey(&keys[1], BTGreaterStrategyNumber, r, 2, r->gsi_start);
				nkeys = 2;
			}
			else
			{
				KvKeyScanKey(&keys[0], 1, r->gsi_typid[0], BTGreaterStrategyNumber,
							 r->gsi_start[0]);
				nkeys = 1;
			}
		}
		else if (r->has_start && step < 2)
		{
			unit = 0;
			if (step == 0)
			{
				if (r->key.nkeys < 2)
					continue;
				KvKeyScanKey(&keys[0], 1, r->key_typid[0], BTEqualStrategyNumber,
							 r->start[0]);
				if (r->lsi)
					KvRowScanKey(&keys[1], BTGreaterStrategyNumber, r->lsi_typid,
								 r->start_lsi, r->key_typid[1], r->start[1]);
				else
					KvKeyScanKey(&keys[1], 2, r->key_typid[1], BTGreaterStrategyNumber,
								 r->start[1]);
				nkeys = 2;
			}
			else
			{
				KvKeyScanKey(&keys[0], 1, r->key_typid[0], BTGreaterStrategyNumber,
							 r->start[0]);
				nkeys = 1;
			}
		}
		else
		{
			unit = r->has_start ? step - 1 : step;
			if (unit >= r->nunits)
				return false;
		}
		if (r->lsi && !r->is_query)
			KvNotNullScanKey(&keys[nkeys++], 2);

		if (!KvReaderOpenUnit(r, unit))
			continue;
		r->scan = index_beginscan(r->rel, r->index, r->snapshot, nkeys, 0);
		index_rescan(r->scan, keys, nkeys, NULL, 0);
		return true;
	}
}

/*
 * KvReaderNext returns the slot holding the next row, or NULL at the end
 * (the reader is then closed).  Rows of a shared partition that belong to
 * other segments are skipped here.  The index AM may allocate scan-lifetime
 * state while fetching, so fetching runs in r->mcxt.
 */
static TupleTableSlot *
KvReaderNext(KvReader *r)
{
	if (r->closed)
		return NULL;
	for (;;)
	{
		MemoryContext old;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(r->mcxt);
		if (r->scan == NULL && !KvReaderBeginStep(r))
		{
			MemoryContextSwitchTo(old);
			KvReaderClose(r);
			return NULL;
		}
		found = KvRingGetNext(&r->fetch, r->scan, r->dir, r->slot);
		if (!found)
		{
			KvRingFetchRelease(&r->fetch);
			index_endscan(r->scan);
			r->scan = NULL;
		}
		MemoryContextSwitchTo(old);

		if (!found)
			continue;
		if (r->split_k > 1)
		{
			bool		isnull;
			Datum		pk = slot_getattr(r->slot, r->layout.key_attno[0], &isnull);

			if (KvSplitIndex(KvRowHash(pk, r->key_typid[0]), r->split_k) != r->split_j)
				continue;
		}
		return r->slot;
	}
}

/* ----------------------------------------------------------------
 * Request setup shared by Query and Scan
 * ----------------------------------------------------------------
 */

/*
 * KvCheckIndex resolves index_name among the indexes the table declares,
 * loaded with its cached catalog row: the position of a local secondary
 * index.  A name the table does not declare is DynamoDB's
 * ValidationException; a global secondary index cannot be read yet (the
 * background worker does not maintain GSIs so far).
 */
static int
KvCheckIndex(const KvTable *table, const char *index_name, bool consistent_read)
{
	for (int i = 0; i < table->nlocal; i++)
	{
		if (strcmp(table->local[i].name, index_name) == 0)
			return i;
	}
	for (int i = 0; i < table->nglobal; i++)
	{
		if (strcmp(table->global_names[i], index_name) != 0)
			continue;
		if (consistent_read)
			KvValidationError("Consistent reads are not supported on global secondary indexes");
		return KV_INDEX_GSI;
	}
	KvValidationError("The table does not have the specified index: %s",
					  index_name);
}

/*
 * KvUseGlobalIndex makes a reader read GSI index_name of table: its
 * storage partitions (in Scan order, and by hash remainder for a Query),
 * through their key B-tree.  A GSI still being backfilled cannot be read
 * (DynamoDB's ValidationException), nor one that no worker will maintain
 * until something changes (src/common/serving.c).  The stored items are already
 * projected.  Everything is copied into the reader's context.
 */
static void
KvUseGlobalIndex(KvReadState *st, const KvTable *table, const char *index_name)
{
	KvReader   *r = &st->reader;
	MemoryContext old = MemoryContextSwitchTo(r->mcxt);
	KvGsiInfo	info;
	Relation	storage;
	PartitionDesc partdesc;
	PartitionBoundInfo bounds;
	KvReadUnit *units;
	int			n = 0;

	if (!KvGsiDescribe(table->schema_name, table->table_name, index_name, &info))
		KvValidationError("The table does not have the specified index: %s",
						  index_name);
	if (!info.active)
		KvValidationError("Cannot read from backfilling global secondary index: %s",
						  index_name);
	/* an index nothing maintains must not answer as if it were up to date */
	KvServingCheck(KV_FEATURE_GSI,
				   psprintf("global secondary index \"%s\" of table \"%s\" is not being maintained",
							index_name, table->table_name));
	r->gsi = true;
	r->index_name = pstrdup(index_name);
	r->gsi_cols[r->gsi_ncols++] = info.pk;
	if (info.has_sk)
		r->gsi_cols[r->gsi_ncols++] = info.sk;
	for (int k = 0; k < table->key.nkeys; k++)
		r->gsi_cols[r->gsi_ncols++] = table->key.keys[k];
	for (int c = 0; c < r->gsi_ncols; c++)
		r->gsi_typid[c] = KvKeyTypeOid(r->gsi_cols[c].type);
	/* parallel scans split shared partitions by the GSI partition key hash */
	r->key_typid[0] = r->gsi_typid[0];

	storage = table_open(info.storage, AccessShareLock);
	partdesc = RelationGetPartitionDesc(storage, false);
	bounds = partdesc->boundinfo;
	r->gsi_modulus = (bounds != NULL) ? bounds->nindexes : 0;
	r->gsi_by_rem = palloc0(sizeof(KvReadUnit) * Max(r->gsi_modulus, 1));
	units = palloc0(sizeof(KvReadUnit) * Max(r->gsi_modulus, 1));
	for (int rem = 0; rem < r->gsi_modulus; rem++)
	{
		int			idx = bounds->indexes[rem];
		Oid			relid;
		bool		dup = false;

		if (idx < 0)
			continue;
		relid = partdesc->oids[idx];
		for (int i = 0; i < n && !dup; i++)
		{
			if (units[i].relid == relid)
			{
				r->gsi_by_rem[rem] = units[i];
				dup = true;
			}
		}
		if (dup)
			continue;
		/* its key index is found when the partition is read (KvReaderOpenUnit) */
		units[n].relid = relid;
		units[n].index = InvalidOid;
		units[n].rank = rem;
		r->gsi_by_rem[rem] = units[n];
		n++;
	}
	table_close(storage, NoLock);
	r->units = units;
	r->nunits = n;
	MemoryContextSwitchTo(old);
}

/*
 * KvGsiStartKeyDatums reads the ExclusiveStartKey of a GSI read: the
 * index's keys plus the table's keys (SPEC §5.3), each once, no other,
 * each of its declared type; into vals[] by GSI B-tree column.
 */
static void
KvGsiStartKeyDatums(Jsonb *esk, const KvReader *r, Datum *vals)
{
	int			ndistinct = 0;

	for (int c = 0; c < r->gsi_ncols; c++)
	{
		bool		dup = false;

		for (int p = 0; p < c && !dup; p++)
			dup = strcmp(r->gsi_cols[p].name, r->gsi_cols[c].name) == 0;
		if (!dup)
			ndistinct++;
	}
	if (!JB_ROOT_IS_OBJECT(esk) || JB_ROOT_COUNT(esk) != ndistinct)
		KvValidationError("The provided starting key is invalid");
	for (int c = 0; c < r->gsi_ncols; c++)
	{
		const KvKeyAttr *attr = &r->gsi_cols[c];
		JsonbValue	v;
		bool		type_ok;

		if (getKeyJsonValueFromContainer(&esk->root, attr->name, strlen(attr->name), &v) == NULL)
			KvValidationError("The provided starting key is invalid");
		vals[c] = KvKeyDatumFromValue(&v, attr, c > 0, &type_ok);
		if (!type_ok)
			KvValidationError("The provided key element does not match the schema");
	}
}

/*
 * KvUseLocalIndex makes a reader read LSI number lsi of table: its sort
 * key, and, when no ProjectionExpression is given, the attributes its
 * projection type returns (KEYS_ONLY: table keys and index key; INCLUDE:
 * those and NonKeyAttributes; ALL: whole items).  What it keeps is copied
 * into the reader's context: the cache entry may be rebuilt between two
 * calls of a set-returning function.
 */
static void
KvUseLocalIndex(KvReadState *st, const KvTable *table, int lsi)
{
	const KvLocalIndex *index = &table->local[lsi];
	KvReader   *r = &st->reader;
	MemoryContext old = MemoryContextSwitchTo(r->mcxt);

	r->lsi = true;
	r->index_name = pstrdup(index->name);
	r->lsi_key = index->key;
	r->lsi_typid = KvKeyTypeOid(index->key.type);
	if (index->projection != KV_PROJECT_ALL && !KvExprHas(st->set, KVEXPR_PROJECTION))
	{
		st->project = palloc(sizeof(char *) * (table->key.nkeys + 1 + index->ninclude));
		for (int k = 0; k < table->key.nkeys; k++)
			st->project[st->nproject++] = pstrdup(table->key.keys[k].name);
		st->project[st->nproject++] = pstrdup(index->key.name);
		for (int i = 0; i < index->ninclude; i++)
			st->project[st->nproject++] = pstrdup(index->include[i]);
	}
	MemoryContextSwitchTo(old);
}

/*
 * KvStartKeyDatums reads an ExclusiveStartKey: exactly the table's key
 * attributes ("The provided starting key is invalid" otherwise), each of
 * its declared type ("The provided key element does not match the
 * schema").
 */
static void
KvStartKeyDatums(Jsonb *esk, const KvKeySchema *schema, Datum *values)
{
	if (!JB_ROOT_IS_OBJECT(esk) || JB_ROOT_COUNT(esk) != schema->nkeys)
		KvValidationError("The provided starting key is invalid");
	for (int k = 0; k < schema->nkeys; k++)
	{
		JsonbValue	v;

		if (getKeyJsonValueFromContainer(&esk->root, schema->keys[k].name,
										 strlen(schema->keys[k].name), &v) == NULL)
			KvValidationError("The provided starting key is invalid");
	}
	KvRequestKeyDatums(esk, schema, values);
}

/*
 * KvIndexStartKeyDatums reads the ExclusiveStartKey of an LSI read: the
 * table's key attributes plus the index sort key (SPEC §5.3), no other,
 * each of its declared type; errors as KvStartKeyDatums.
 */
static void
KvIndexStartKeyDatums(Jsonb *esk, const KvKeySchema *schema, const KvKeyAttr *lsi_key,
					  Datum *values, Datum *lsi_value)
{
	int			nattrs = schema->nkeys + 1;
	JsonbValue	v[3];
	bool		type_ok;

	for (int k = 0; k < schema->nkeys; k++)
	{
		if (strcmp(schema->keys[k].name, lsi_key->name) == 0)
			nattrs--;
	}
	if (!JB_ROOT_IS_OBJECT(esk) || JB_ROOT_COUNT(esk) != nattrs)
		KvValidationError("The provided starting key is invalid");
	for (int k = 0; k <= schema->nkeys; k++)
	{
		const KvKeyAttr *attr = (k < schema->nkeys) ? &schema->keys[k] : lsi_key;

		if (getKeyJsonValueFromContainer(&esk->root, attr->name, strlen(attr->name),
										 &v[k]) == NULL)
			KvValidationError("The provided starting key is invalid");
	}
	for (int k = 0; k <= schema->nkeys; k++)
	{
		const KvKeyAttr *attr = (k < schema->nkeys) ? &schema->keys[k] : lsi_key;
		Datum		d = KvKeyDatumFromValue(&v[k], attr, k > 0, &type_ok);

		if (!type_ok)
			KvValidationError("The provided key element does not match the schema");
		if (k < schema->nkeys)
			values[k] = d;
		else
			*lsi_value = d;
	}
}

/* KvReadStateNew allocates the state of a request in mcxt. */
static KvReadState *
KvReadStateNew(MemoryContext mcxt, int64 limit)
{
	KvReadState *st = MemoryContextAllocZero(mcxt, sizeof(KvReadState));

	st->limit = limit;
	st->rowctx = AllocSetContextCreate(mcxt, "partkv read row",
									   ALLOCSET_DEFAULT_SIZES);
	return st;
}

/* ----------------------------------------------------------------
 * Query
 * ----------------------------------------------------------------
 */

/* KvNameIs tells whether an expression name (not NUL-terminated) is name. */
static bool
KvNameIs(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && memcmp(s, name, len) == 0;
}

/* KvFilterKeyAttribute returns the first key attribute a condition reads, or NULL. */
static const char *
KvFilterKeyAttribute(const KvExprNode *n, const KvKeySchema *schema)
{
	if (n == NULL)
		return NULL;
	if (n->type == KVEXPR_NODE_PATH)
	{
		for (int k = 0; k < schema->nkeys; k++)
		{
			if (KvNameIs(n->path.elems[0].name, n->path.elems[0].name_len,
						 schema->keys[k].name))
				return schema->keys[k].name;
		}
		return NULL;
	}
	for (int i = 0; i < n->nargs; i++)
	{
		const char *found = KvFilterKeyAttribute(n->args[i], schema);

		if (found != NULL)
			return found;
	}
	return NULL;
}

/*
 * KvConditionValue returns the key column Datum of a key condition's
 * ":v", checked against the key schema.
 */
static Datum
KvConditionValue(KvExprSet *set, const char *placeholder, const KvKeyAttr *attr,
				 bool is_sort_key, KvExprKeyOp op)
{
	JsonbValue	v;
	bool		type_ok;
	Datum		d;

	if (!KvExprLookupValue(set, placeholder, &v))
		elog(ERROR, "expression attribute value %s is not defined", placeholder);
	if (op == KVEXPR_KEY_BEGINS_WITH)
	{
		KvType		t = KvJsonbValueType(&v);

		if (t != KV_TYPE_S && t != KV_TYPE_B)
			KvValidationError("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: %s",
							  KvTypeName(t));
	}
	d = KvKeyDatumFromValue(&v, attr, is_sort_key, &type_ok);
	if (!type_ok)
		KvValidationError(KV_INVALID_PARAMS "Condition parameter type does not match schema type");
	return d;
}

/*
 * KvSortKeyMatches tells whether sort key value v satisfies the sort key
 * condition (for ExclusiveStartKey checks).
 */
static bool
KvSortKeyMatches(Datum v, Oid typid, KvExprKeyOp op, const Datum *vals)
{
	int			c = (op == KVEXPR_KEY_BEGINS_WITH) ? 0 : KvKeyCompare(v, vals[0], typid);

	switch (op)
	{
		case KVEXPR_KEY_EQ:
			return c == 0;
		case KVEXPR_KEY_LT:
			return c < 0;
		case KVEXPR_KEY_LE:
			return c <= 0;
		case KVEXPR_KEY_GT:
			return c > 0;
		case KVEXPR_KEY_GE:
			return c >= 0;
		case KVEXPR_KEY_BETWEEN:
			return c >= 0 && KvKeyCompare(v, vals[1], typid) <= 0;
		case KVEXPR_KEY_BEGINS_WITH:
			return KvHasPrefix(v, vals[0]);
	}
	return false;
}

/*
 * KvSortKeyScanKeys adds the scan keys of a sort-key condition on index
 * column 2 (table, LSI or GSI sort key); returns the new number of keys.
 * begins_with becomes [prefix, successor): exactly the values with that
 * prefix.
 */
static int
KvSortKeyScanKeys(ScanKey keys, int nkeys, KvExprKeyOp op, Oid sktyp, const Datum *skvals)
{
	Datum		succ;

	switch (op)
	{
		case KVEXPR_KEY_EQ:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTEqualStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_LT:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_LE:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessEqualStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_GT:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_GE:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterEqualStrategyNumber, skvals[0]);
			break;
		case KVEXPR_KEY_BETWEEN:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterEqualStrategyNumber, skvals[0]);
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessEqualStrategyNumber, skvals[1]);
			break;
		case KVEXPR_KEY_BEGINS_WITH:
			KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTGreaterEqualStrategyNumber, skvals[0]);
			if (KvPrefixSuccessor(skvals[0], &succ))
				KvKeyScanKey(&keys[nkeys++], 2, sktyp, BTLessStrategyNumber, succ);
			break;
	}
	return nkeys;
}

/*
 * KvPlanQuery matches the decomposed KeyConditionExpression with the key
 * schema of the table, or of LSI number lsi (SPEC §4.8), routes the
 * partition key, and turns the conditions and the ExclusiveStartKey into
 * the scan keys of one index scan: on the primary key index (pk, sk), or
 * on the LSI's index (pk, lsi key, sk), where resuming after (lsi key, sk)
 * is one row comparison.
 */
static void
KvPlanQuery(KvReader *r, KvTable *table, KvExprSet *set, Jsonb *esk, int lsi)
{
	const KvExprRequestResult *parsed = &set->parsed;
	KvKeySchema qschema = table->key;
	const KvKeySchema *schema = &qschema;
	const KvExprKeyCondition *pkcond = NULL;
	const KvExprKeyCondition *skcond = NULL;
	Datum		pk;
	Datum		skvals[2] = {0, 0};
	const KvPartition *part;
	ScanKey		keys = r->qkeys;
	int			nkeys = 0;
	Oid			sktyp = r->lsi ? r->lsi_typid : r->key_typid[1];

	if (r->lsi)
		qschema.keys[1] = r->lsi_key;	/* an LSI has the table's partition key */

	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (KvNameIs(kc->attribute, kc->attribute_len, schema->keys[0].name))
			pkcond = kc;
	}
	if (pkcond == NULL)
		KvValidationError("Query condition missed key schema element: %s",
						  schema->keys[0].name);
	if (pkcond->op != KVEXPR_KEY_EQ)
		KvValidationError("Query key condition not supported");
	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (kc == pkcond)
			continue;
		if (schema->nkeys == 2 &&
			KvNameIs(kc->attribute, kc->attribute_len, schema->keys[1].name))
			skcond = kc;
		else if (schema->nkeys == 2 && parsed->nkeyconds == 2)
			KvValidationError("Query condition missed key schema element: %s",
							  schema->keys[1].name);
		else
			KvValidationError("Query key condition not supported");
	}

	pk = KvConditionValue(set, pkcond->values[0], &schema->keys[0], false, KVEXPR_KEY_EQ);
	if (skcond != NULL)
	{
		for (int i = 0; i < skcond->nvalues; i++)
			skvals[i] = KvConditionValue(set, skcond->values[i], &schema->keys[1],
										 true, skcond->op);
		if (skcond->op == KVEXPR_KEY_BETWEEN &&
			KvKeyCompare(skvals[0], skvals[1], sktyp) > 0)
			KvValidationError("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s",
							  KvRenderKeyValue(skvals[0], schema->keys[1].type),
							  KvRenderKeyValue(skvals[1], schema->keys[1].type));
	}

	KvKeyScanKey(&keys[nkeys++], 1, r->key_typid[0], BTEqualStrategyNumber, pk);
	if (r->lsi)
		KvNotNullScanKey(&keys[nkeys++], 2);
	if (skcond != NULL)
		nkeys = KvSortKeyScanKeys(keys, nkeys, skcond->op, sktyp, skvals);

	if (esk != NULL && r->lsi)
	{
		Datum		start[2];
		Datum		start_lsi;

		KvIndexStartKeyDatums(esk, &table->key, &r->lsi_key, start, &start_lsi);
		if (KvKeyCompare(start[0], pk, r->key_typid[0]) != 0)
			KvValidationError("The provided starting key is outside query boundaries based on provided conditions");
		if (skcond != NULL && !KvSortKeyMatches(start_lsi, sktyp, skcond->op, skvals))
			KvValidationError("The provided starting key does not match the range key predicate");
		KvRowScanKey(&keys[nkeys++],
					 ScanDirectionIsForward(r->dir) ? BTGreaterStrategyNumber : BTLessStrategyNumber,
					 sktyp, start_lsi, r->key_typid[1], start[1]);
	}
	else if (esk != NULL)
	{
		Datum		start[2];

		KvStartKeyDatums(esk, schema, start);
		if (schema->nkeys == 1)
			KvValidationError("The provided exclusive start key is invalid: ExclusiveStartKey: {%s=AttributeValue: %s}",
							  schema->keys[0].name,
							  KvRenderKeyValue(start[0], schema->keys[0].type));
		if (KvKeyCompare(start[0], pk, r->key_typid[0]) != 0)
			KvValidationError("The provided starting key is outside query boundaries based on provided conditions");
		if (skcond != NULL && !KvSortKeyMatches(start[1], sktyp, skcond->op, skvals))
			KvValidationError("The provided starting key does not match the range key predicate");
		KvKeyScanKey(&keys[nkeys++], 2, sktyp,
					 ScanDirectionIsForward(r->dir) ? BTGreaterStrategyNumber : BTLessStrategyNumber,
					 start[1]);
	}
	r->nqkeys = nkeys;

	part = KvRoutePartition(table, pk);
	r->is_query = true;
	r->nunits = 1;
	r->units = palloc(sizeof(KvReadUnit));
	r->units[0].relid = part->relid;
	r->units[0].index = r->lsi ? part->lsiindex[lsi] : part->pkindex;
	r->units[0].rank = 0;
}

/*
 * KvPlanGsiQuery is KvPlanQuery on a global secondary index: the key
 * condition names the GSI's keys; the partition key is routed among the
 * GSI's partitions; the scan keys go to its B-tree (gsi pk, [gsi sk,] table
 * keys), and resuming after an ExclusiveStartKey (GSI keys + table keys)
 * is one row comparison on the columns after the partition key.
 */
static void
KvPlanGsiQuery(KvReader *r, KvExprSet *set, Jsonb *esk)
{
	const KvExprRequestResult *parsed = &set->parsed;
	const KvExprKeyCondition *pkcond = NULL;
	const KvExprKeyCondition *skcond = NULL;
	bool		has_sk = r->gsi_ncols > 1 && r->gsi_ncols == 2 + r->key.nkeys;
	const KvKeyAttr *pkattr = &r->gsi_cols[0];
	const KvKeyAttr *skattr = has_sk ? &r->gsi_cols[1] : NULL;
	Oid			sktyp = has_sk ? r->gsi_typid[1] : InvalidOid;
	Datum		pk;
	Datum		skvals[2] = {0, 0};
	ScanKey		keys = r->qkeys;
	int			nkeys = 0;
	int			rem;

	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (KvNameIs(kc->attribute, kc->attribute_len, pkattr->name))
			pkcond = kc;
	}
	if (pkcond == NULL)
		KvValidationError("Query condition missed key schema element: %s", pkattr->name);
	if (pkcond->op != KVEXPR_KEY_EQ)
		KvValidationError("Query key condition not supported");
	for (int i = 0; i < parsed->nkeyconds; i++)
	{
		const KvExprKeyCondition *kc = &parsed->keyconds[i];

		if (kc == pkcond)
			continue;
		if (has_sk && KvNameIs(kc->attribute, kc->attribute_len, skattr->name))
			skcond = kc;
		else if (has_sk && parsed->nkeyconds == 2)
			KvValidationError("Query condition missed key schema element: %s", skattr->name);
		else
			KvValidationError("Query key condition not supported");
	}

	pk = KvConditionValue(set, pkcond->values[0], pkattr, false, KVEXPR_KEY_EQ);
	if (skcond != NULL)
	{
		for (int i = 0; i < skcond->nvalues; i++)
			skvals[i] = KvConditionValue(set, skcond->values[i], skattr, true, skcond->op);
		if (skcond->op == KVEXPR_KEY_BETWEEN && KvKeyCompare(skvals[0], skvals[1], sktyp) > 0)
			KvValidationError("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: %s, upper bound operand: AttributeValue: %s",
							  KvRenderKeyValue(skvals[0], skattr->type),
							  KvRenderKeyValue(skvals[1], skattr->type));
	}

	KvKeyScanKey(&keys[nkeys++], 1, r->gsi_typid[0], BTEqualStrategyNumber, pk);
	if (skcond != NULL)
		nkeys = KvSortKeyScanKeys(keys, nkeys, skcond->op, sktyp, skvals);
	if (esk != NULL)
	{
		KvGsiStartKeyDatums(esk, r, r->gsi_start);
		if (KvKeyCompare(r->gsi_start[0], pk, r->gsi_typid[0]) != 0)
			KvValidationError("The provided starting key is outside query boundaries based on provided conditions");
		if (skcond != NULL && !KvSortKeyMatches(r->gsi_start[1], sktyp, skcond->op, skvals))
			KvValidationError("The provided starting key does not match the range key predicate");
		KvGsiRowScanKey(&keys[nkeys++],
						ScanDirectionIsForward(r->dir) ? BTGreaterStrategyNumber : BTLessStrategyNumber,
						r, 2, r->gsi_start);
	}
	r->nqkeys = nkeys;

	r->is_query = true;
	if (r->gsi_modulus == 0)
	{
		r->nunits = 0;
		return;
	}
	rem = (int) (KvRowHash(pk, r->gsi_typid[0]) % r->gsi_modulus);
	r->units = &r->gsi_by_rem[rem];
	r->nunits = OidIsValid(r->units[0].relid) ? 1 : 0;
}

/*
 * KvQueryBegin validates a Query request and prepares its reader, in mcxt
 * (the current context).
 */
static KvReadState *
KvQueryBegin(FunctionCallInfo fcinfo, MemoryContext mcxt)
{
	text	   *table_name = KvRequiredText(fcinfo, QA_TABLE, "tableName");
	KvShapeErrors errs = {0};
	char	   *index_name = KvCheckIndexName(fcinfo, QA_INDEX, &errs);
	int64		limit = KvCheckLimit(fcinfo, QA_LIMIT, &errs);
	bool		forward = PG_ARGISNULL(QA_FORWARD) || PG_GETARG_BOOL(QA_FORWARD);
	bool		consistent = !PG_ARGISNULL(QA_CONSISTENT) && PG_GETARG_BOOL(QA_CONSISTENT);
	Jsonb	   *esk = KvOptionalJsonb(fcinfo, QA_START);
	KvExprTexts texts = {{0}};
	KvTable    *table;
	KvReadState *st;
	const char *keyattr;
	int			lsi = -1;
	KvKeySchema lsikey;

	KvShapeCheck(&errs);
	if (PG_ARGISNULL(QA_KEYCOND))
		KvValidationError("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.");

	table = KvLookupTable(table_name, ACL_SELECT, AccessShareLock);
	if (index_name != NULL)
		lsi = KvCheckIndex(table, index_name, consistent);

	texts.text[KVEXPR_KEY_CONDITION] = KvOptionalText(fcinfo, QA_KEYCOND);
	texts.text[KVEXPR_FILTER] = KvOptionalText(fcinfo, QA_FILTER);
	texts.text[KVEXPR_PROJECTION] = KvOptionalText(fcinfo, QA_PROJECTION);

	st = KvReadStateNew(mcxt, limit);
	st->set = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, QA_NAMES),
							KvOptionalJsonb(fcinfo, QA_VALUES));

	/* a Query filter reads neither the table's keys nor the LSI's key */
	keyattr = (KvExprHas(st->set, KVEXPR_FILTER) && lsi != KV_INDEX_GSI) ?
		KvFilterKeyAttribute(st->set->parsed.expr[KVEXPR_FILTER]->cond, &table->key) : NULL;
	if (keyattr == NULL && lsi >= 0 && KvExprHas(st->set, KVEXPR_FILTER))
	{
		lsikey.nkeys = 1;
		lsikey.keys[0] = table->local[lsi].key;
		keyattr = KvFilterKeyAttribute(st->set->parsed.expr[KVEXPR_FILTER]->cond, &lsikey);
	}
	if (keyattr != NULL)
		KvValidationError("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s",
						  keyattr);

	KvReaderInit(&st->reader, table, mcxt);
	st->reader.tally.consistent = consistent;
	st->reader.dir = forward ? ForwardScanDirection : BackwardScanDirection;
	if (lsi == KV_INDEX_GSI)
	{
		/* a GSI Query filter does not read the GSI's keys */
		KvUseGlobalIndex(st, table, index_name);
		if (KvExprHas(st->set, KVEXPR_FILTER))
		{
			lsikey.nkeys = st->reader.gsi_ncols - table->key.nkeys;
			for (int k = 0; k < lsikey.nkeys; k++)
				lsikey.keys[k] = st->reader.gsi_cols[k];
			keyattr = KvFilterKeyAttribute(st->set->parsed.expr[KVEXPR_FILTER]->cond, &lsikey);
			if (keyattr != NULL)
				KvValidationError("Filter Expression can only contain non-primary key attributes: Primary key attribute: %s",
								  keyattr);
		}
		KvPlanGsiQuery(&st->reader, st->set, esk);
		return st;
	}
	if (lsi >= 0)
		KvUseLocalIndex(st, table, lsi);
	KvPlanQuery(&st->reader, table, st->set, esk, lsi);
	return st;
}

/* ----------------------------------------------------------------
 * Scan
 * ----------------------------------------------------------------
 */

/* KvUnitCmpRelid orders read units by relation, then rank. */
static int
KvUnitCmpRelid(const void *a, const void *b)
{
	const KvReadUnit *x = a;
	const KvReadUnit *y = b;

	if (x->relid != y->relid)
		return x->relid < y->relid ? -1 : 1;
	return x->rank - y->rank;
}

/* KvUnitCmpRank orders read units by rank. */
static int
KvUnitCmpRank(const void *a, const void *b)
{
	return ((const KvReadUnit *) a)->rank - ((const KvReadUnit *) b)->rank;
}

/*
 * KvScanOrder lists the table's partitions in Scan order: by the smallest
 * hash remainder each holds (with one modulus, simply by remainder).  A
 * partition of a smaller modulus appears under several remainders of the
 * greatest one; it is listed once.  Each is read through its primary key
 * index, or its index of LSI number lsi (when lsi >= 0).
 */
static int
KvScanOrder(const KvTable *table, int lsi, KvReadUnit **out)
{
	int			m = table->greatest_modulus;
	KvReadUnit *units = palloc(sizeof(KvReadUnit) * Max(m, 1));
	int			n = 0;
	int			kept = 0;

	for (int r = 0; r < m; r++)
	{
		if (!OidIsValid(table->by_remainder[r].relid))
			continue;
		units[n].relid = table->by_remainder[r].relid;
		units[n].index = (lsi >= 0) ? table->by_remainder[r].lsiindex[lsi] :
			table->by_remainder[r].pkindex;
		units[n].rank = r;
		n++;
	}
	qsort(units, n, sizeof(KvReadUnit), KvUnitCmpRelid);
	for (int i = 0; i < n; i++)
	{
		if (kept == 0 || units[kept - 1].relid != units[i].relid)
			units[kept++] = units[i];
	}
	qsort(units, kept, sizeof(KvReadUnit), KvUnitCmpRank);
	*out = units;
	return kept;
}

/*
 * KvPlanScan lists the partitions a Scan (or one segment of a parallel
 * Scan) reads, through their primary key index or the index of LSI number
 * lsi, and where it resumes after an ExclusiveStartKey.
 */
static void
KvPlanScan(KvReader *r, KvTable *table, bool segmented, int segment, int total,
		   Jsonb *esk, int lsi)
{
	KvReadUnit *all;
	int			nall;
	int			first = 0;

	if (r->gsi)
	{
		/* KvUseGlobalIndex listed the GSI's partitions */
		all = r->units;
		nall = r->nunits;
		r->units = NULL;
		r->nunits = 0;
	}
	else
		nall = KvScanOrder(table, lsi, &all);

	if (!segmented || nall == 0)
	{
		r->units = all;
		r->nunits = nall;
	}
	else if (total <= nall)
	{
		r->units = palloc(sizeof(KvReadUnit) * Max(nall, 1));
		for (int i = segment; i < nall; i += total)
			r->units[r->nunits++] = all[i];
	}
	else
	{
		int			base = segment % nall;

		/* the segments = base (mod nall) share partition base by hash range */
		r->units = palloc(sizeof(KvReadUnit));
		r->units[0] = all[base];
		r->nunits = 1;
		r->split_k = (total - 1 - base) / nall + 1;
		r->split_j = segment / nall;
	}

	if (esk != NULL)
	{
		Oid			relid;
		bool		in_segment = false;

		if (r->gsi)
		{
			KvGsiStartKeyDatums(esk, r, r->gsi_start);
			r->start[0] = r->gsi_start[0];
			relid = (r->gsi_modulus > 0) ?
				r->gsi_by_rem[KvRowHash(r->gsi_start[0], r->gsi_typid[0]) % r->gsi_modulus].relid :
				InvalidOid;
		}
		else
		{
			if (r->lsi)
				KvIndexStartKeyDatums(esk, &table->key, &r->lsi_key, r->start, &r->start_lsi);
			else
				KvStartKeyDatums(esk, &table->key, r->start);
			relid = KvRoutePartition(table, r->start[0])->relid;
		}
		for (int i = 0; i < r->nunits; i++)
		{
			if (r->units[i].relid == relid)
			{
				first = i;
				in_segment = true;
				break;
			}
		}
		if (in_segment && r->split_k > 1)
			in_segment = KvSplitIndex(KvRowHash(r->start[0], r->key_typid[0]),
									  r->split_k) == r->split_j;
		if (!in_segment)
		{
			if (segmented)
				KvValidationError("The provided Exclusive start key does not map to the provided Segment and TotalSegments values.");
			KvValidationError("The provided starting key is invalid");
		}
		r->has_start = true;
		r->units += first;
		r->nunits -= first;
	}
}

/*
 * KvScanBegin validates a Scan request and prepares its reader, in mcxt
 * (the current context).
 */
static KvReadState *
KvScanBegin(FunctionCallInfo fcinfo, MemoryContext mcxt)
{
	text	   *table_name = KvRequiredText(fcinfo, SA_TABLE, "tableName");
	KvShapeErrors errs = {0};
	char	   *index_name = KvCheckIndexName(fcinfo, SA_INDEX, &errs);
	int64		limit = KvCheckLimit(fcinfo, SA_LIMIT, &errs);
	bool		has_segment = !PG_ARGISNULL(SA_SEGMENT);
	bool		has_total = !PG_ARGISNULL(SA_TOTAL);
	int32		segment = has_segment ? PG_GETARG_INT32(SA_SEGMENT) : 0;
	int32		total = has_total ? PG_GETARG_INT32(SA_TOTAL) : 0;
	Jsonb	   *esk = KvOptionalJsonb(fcinfo, SA_START);
	KvExprTexts texts = {{0}};
	KvTable    *table;
	KvReadState *st;
	int			lsi = -1;

	if (has_segment && segment < 0)
		KvShapeAdd(&errs, psprintf("%d", segment), "segment",
				   "Member must have value greater than or equal to 0");
	if (has_segment && segment > KV_MAX_TOTAL_SEGMENTS - 1)
		KvShapeAdd(&errs, psprintf("%d", segment), "segment",
				   psprintf("Member must have value less than or equal to %d", KV_MAX_TOTAL_SEGMENTS - 1));
	if (has_total && total < 1)
		KvShapeAdd(&errs, psprintf("%d", total), "totalSegments",
				   "Member must have value greater than or equal to 1");
	if (has_total && total > KV_MAX_TOTAL_SEGMENTS)
		KvShapeAdd(&errs, psprintf("%d", total), "totalSegments",
				   psprintf("Member must have value less than or equal to %d", KV_MAX_TOTAL_SEGMENTS));
	KvShapeCheck(&errs);
	if (has_segment && !has_total)
		KvValidationError("The TotalSegments parameter is required but was not present in the request when Segment parameter is present");
	if (has_total && !has_segment)
		KvValidationError("The Segment parameter is required but was not present in the request when parameter TotalSegments is present");
	if (has_segment && segment >= total)
		KvValidationError("The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: %d is not less than TotalSegments: %d",
						  segment, total);

	table = KvLookupTable(table_name, ACL_SELECT, AccessShareLock);
	if (index_name != NULL)
		lsi = KvCheckIndex(table, index_name, false);

	texts.text[KVEXPR_FILTER] = KvOptionalText(fcinfo, SA_FILTER);
	texts.text[KVEXPR_PROJECTION] = KvOptionalText(fcinfo, SA_PROJECTION);

	st = KvReadStateNew(mcxt, limit);
	st->set = KvExprCompile(&texts, KvOptionalJsonb(fcinfo, SA_NAMES),
							KvOptionalJsonb(fcinfo, SA_VALUES));

	KvReaderInit(&st->reader, table, mcxt);
	if (lsi == KV_INDEX_GSI)
		KvUseGlobalIndex(st, table, index_name);
	else if (lsi >= 0)
		KvUseLocalIndex(st, table, lsi);
	KvPlanScan(&st->reader, table, has_segment, segment, total, esk, lsi);
	return st;
}

/* ----------------------------------------------------------------
 * Reading items: one at a time, or one page
 * ----------------------------------------------------------------
 */

/*
 * KvProjectItem applies the request's ProjectionExpression to an item, or
 * when there is none and an LSI with a KEYS_ONLY or INCLUDE projection is
 * read, keeps the attributes that projection holds.  (On an LSI, DynamoDB
 * fetches attributes a ProjectionExpression asks for from the base table;
 * here the whole item is in the row, so they simply are there.)
 */
static Jsonb *
KvProjectItem(KvReadState *st, Jsonb *item)
{
	if (st->project != NULL)
		return KvProjectAttributes(item, st->project, st->nproject);
	return KvExprProject(st->set, item);
}

/*
 * KvReadNextItem returns the next item that passes the filter, projected,
 * in st->rowctx (valid until the next call); NULL when the items or
 * item_limit are exhausted.
 */
static Jsonb *
KvReadNextItem(KvReadState *st)
{
	for (;;)
	{
		MemoryContext old;
		TupleTableSlot *slot;
		Jsonb	   *item;
		Jsonb	   *out = NULL;

		if (st->limit > 0 && st->scanned >= st->limit)
		{
			KvReaderClose(&st->reader);
			return NULL;
		}
		MemoryContextReset(st->rowctx);
		old = MemoryContextSwitchTo(st->rowctx);
		slot = KvReaderNext(&st->reader);
		if (slot != NULL)
		{
			item = KvSlotItem(slot, &st->reader.layout);
			st->scanned++;
			if (st->reader.tally.measure)
				KvReadTallyItem(&st->reader.tally, KvItemSize(item), KvStoredSize(item));
			if (KvExprTest(st->set, KVEXPR_FILTER, item))
				out = KvProjectItem(st, item);
		}
		MemoryContextSwitchTo(old);
		if (slot == NULL)
			return NULL;
		if (out != NULL)
			return out;
	}
}

/* KvPushCount pushes "key": n. */
static void
KvPushCount(JsonbParseState **ps, const char *key, int64 n)
{
	JsonbValue	v;

	KvPushKey(ps, key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(n);
	pushJsonbValue(ps, WJB_VALUE, &v);
}

/*
 * KvReadPage reads one DynamoDB page: items until item_limit items have
 * been read or the data read reaches 1 MB, filtered and projected, as
 * {"Items", "Count", "ScannedCount"[, "LastEvaluatedKey"]}.  The page is
 * built in the current context; per-item work in st->rowctx.
 */
static Jsonb *
KvReadPage(KvReadState *st)
{
	KvReader   *r = &st->reader;
	MemoryContext pagectx = CurrentMemoryContext;
	JsonbParseState *ps = NULL;
	JsonbValue *res;
	Jsonb	   *page;
	int64		count = 0;
	int64		bytes = 0;
	bool		stopped = false;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	KvPushKey(&ps, "Items");
	pushJsonbValue(&ps, WJB_BEGIN_ARRAY, NULL);
	for (;;)
	{
		TupleTableSlot *slot;
		Jsonb	   *item;
		Jsonb	   *out = NULL;

		MemoryContextReset(st->rowctx);
		MemoryContextSwitchTo(st->rowctx);
		slot = KvReaderNext(r);
		if (slot != NULL)
		{
			int64		size;

			item = KvSlotItem(slot, &r->layout);
			st->scanned++;
			size = KvItemSize(item);
			bytes += size;
			KvReadTallyItem(&r->tally, size, KvStoredSize(item));
			if (KvExprTest(st->set, KVEXPR_FILTER, item))
				out = KvProjectItem(st, item);
		}
		MemoryContextSwitchTo(pagectx);
		if (slot == NULL)
			break;
		if (out != NULL)
		{
			Jsonb	   *copy = palloc(VARSIZE(out));
			JsonbValue	v;

			memcpy(copy, out, VARSIZE(out));
			v.type = jbvBinary;
			v.val.binary.data = &copy->root;
			v.val.binary.len = VARSIZE(copy) - VARHDRSZ;
			pushJsonbValue(&ps, WJB_ELEM, &v);
			count++;
		}
		if ((st->limit > 0 && st->scanned >= st->limit) || bytes >= KV_PAGE_BYTES)
		{
			stopped = true;
			break;
		}
	}
	pushJsonbValue(&ps, WJB_END_ARRAY, NULL);
	KvPushCount(&ps, "Count", count);
	KvPushCount(&ps, "ScannedCount", st->scanned);
	if (stopped)
	{
		/* the key of the last item read; the slot still holds its row */
		KvPushKey(&ps, "LastEvaluatedKey");
		pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
		/* a GSI's: its keys and the table's, each attribute once (SPEC §5.3) */
		for (int c = 0; r->gsi && c < r->gsi_ncols; c++)
		{
			bool		isnull;
			bool		dup = false;
			Datum		d;
			JsonbValue	v;

			for (int p = 0; p < c && !dup; p++)
				dup = strcmp(r->gsi_cols[p].name, r->gsi_cols[c].name) == 0;
			if (dup)
				continue;
			d = slot_getattr(r->slot, c + 1, &isnull);
			KvPushKey(&ps, r->gsi_cols[c].name);
			KvKeyDatumToJsonbValue(d, r->gsi_cols[c].type, &v);
			pushJsonbValue(&ps, WJB_VALUE, &v);
		}
		for (int k = 0; !r->gsi && k < r->key.nkeys; k++)
		{
			bool		isnull;
			Datum		d = slot_getattr(r->slot, r->layout.key_attno[k], &isnull);
			JsonbValue	v;

			KvPushKey(&ps, r->key.keys[k].name);
			KvKeyDatumToJsonbValue(d, r->key.keys[k].type, &v);
			pushJsonbValue(&ps, WJB_VALUE, &v);
		}
		if (r->lsi)
		{
			/* an LSI's LastEvaluatedKey also has the index key (SPEC §5.3) */
			bool		found;
			Datum		d = KvItemKeyDatum(KvSlotItem(r->slot, &r->layout),
										   &r->lsi_key, true, &found);
			JsonbValue	v;

			KvPushKey(&ps, r->lsi_key.name);
			KvKeyDatumToJsonbValue(d, r->lsi_key.type, &v);
			pushJsonbValue(&ps, WJB_VALUE, &v);
		}
		pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	page = JsonbValueToJsonb(res);
	KvReaderClose(r);
	return page;
}

/* KvReadShutdown releases a set-returning call's scans when it ends early. */
static void
KvReadShutdown(Datum arg)
{
	KvReadState *st = (KvReadState *) DatumGetPointer(arg);

	KvReaderClose(&st->reader);
}

/*
 * KvReadSRF runs partkv.query or partkv.scan as a value-per-call
 * set-returning function: one item per call, memory reset per item.
 */
static Datum
KvReadSRF(FunctionCallInfo fcinfo,
		  KvReadState *(*begin) (FunctionCallInfo, MemoryContext))
{
	FuncCallContext *funcctx;
	KvReadState *st;
	Jsonb	   *item;

	if (SRF_IS_FIRSTCALL())
	{
		MemoryContext old;
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

		funcctx = SRF_FIRSTCALL_INIT();
		old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = begin(fcinfo, funcctx->multi_call_memory_ctx);
		MemoryContextSwitchTo(old);
		funcctx->user_fctx = st;
		/* registered after funcapi's own, so it runs before the memory goes */
		if (rsinfo != NULL && IsA(rsinfo, ReturnSetInfo) && rsinfo->econtext != NULL)
		{
			st->econtext = rsinfo->econtext;
			RegisterExprContextCallback(st->econtext, KvReadShutdown,
										PointerGetDatum(st));
		}
	}
	funcctx = SRF_PERCALL_SETUP();
	st = funcctx->user_fctx;

	item = KvReadNextItem(st);
	if (item == NULL)
	{
		KvReaderClose(&st->reader);
		if (st->econtext != NULL)
			UnregisterExprContextCallback(st->econtext, KvReadShutdown,
										  PointerGetDatum(st));
		SRF_RETURN_DONE(funcctx);
	}
	SRF_RETURN_NEXT(funcctx, JsonbPGetDatum(item));
}

/* ----------------------------------------------------------------
 * SQL entry points
 * ----------------------------------------------------------------
 */

/*
 * partkv_query returns every item of a Query (paging internally).
 * Arguments: table_name, key_condition, attr_values, attr_names, filter,
 * projection, index_name, scan_forward, item_limit, exclusive_start_key,
 * consistent_read.
 */
Datum
partkv_query(PG_FUNCTION_ARGS)
{
	return KvReadSRF(fcinfo, KvQueryBegin);
}

/*
 * KvPageCapacity adds a page's ConsumedCapacity when asked: its items'
 * sizes summed and rounded up once (SPEC §5.7), as the tally counted them.
 */
static Jsonb *
KvPageCapacity(Jsonb *page, KvReadState *st, KvReturnCapacity mode,
			   FunctionCallInfo fcinfo)
{
	KvReadTally *t = &st->reader.tally;
	KvCapacity	cap;

	if (mode == KV_CAPACITY_NONE)
		return page;
	KvCapacityInit(&cap, mode);
	/* reading an index is charged to that index */
	if (st->reader.index_name != NULL)
		KvCapacityAddIndex(&cap, t->table, text_to_cstring(PG_GETARG_TEXT_PP(0)),
						   st->reader.index_name, st->reader.gsi,
						   Max(t->halves, KvReadHalves(0, t->consistent, false)), 0);
	else
		KvCapacityAdd(&cap, t->table, text_to_cstring(PG_GETARG_TEXT_PP(0)),
					  Max(t->halves, KvReadHalves(0, t->consistent, false)), 0);
	return KvCapacityAppend(page, &cap, false);
}

/*
 * partkv_query_page returns one page of a Query; arguments as partkv_query,
 * then return_consumed_capacity.
 */
Datum
partkv_query_page(PG_FUNCTION_ARGS)
{
	KvReturnCapacity capacity = KvReturnCapacityArg(fcinfo, QA_CAPACITY);
	KvReadState *st = KvQueryBegin(fcinfo, CurrentMemoryContext);

	st->reader.tally.measure |= (capacity != KV_CAPACITY_NONE);
	PG_RETURN_JSONB_P(KvPageCapacity(KvReadPage(st), st, capacity, fcinfo));
}

/*
 * partkv_scan returns every item of a Scan or of one parallel-scan segment.
 * Arguments: table_name, filter, attr_values, attr_names, projection,
 * index_name, segment, total_segments, item_limit, exclusive_start_key.
 */
Datum
partkv_scan(PG_FUNCTION_ARGS)
{
	return KvReadSRF(fcinfo, KvScanBegin);
}

/*
 * partkv_scan_page returns one page of a Scan; arguments as partkv_scan,
 * then return_consumed_capacity.  A Scan is charged as eventually
 * consistent (it has no consistent_read argument).
 */
Datum
partkv_scan_page(PG_FUNCTION_ARGS)
{
	KvReturnCapacity capacity = KvReturnCapacityArg(fcinfo, SA_CAPACITY);
	KvReadState *st = KvScanBegin(fcinfo, CurrentMemoryContext);

	st->reader.tally.measure |= (capacity != KV_CAPACITY_NONE);
	PG_RETURN_JSONB_P(KvPageCapacity(KvReadPage(st), st, capacity, fcinfo));
}

/*
 * KvRangeTableCalls tells whether a function item of rtable (a FROM-clause
 * function call) calls funcid.
 */
static bool
KvRangeTableCalls(List *rtable, Oid funcid)
{
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		ListCell   *fc;

		if (rte->rtekind != RTE_FUNCTION)
			continue;
		foreach(fc, rte->functions)
		{
			Node	   *expr = lfirst_node(RangeTblFunction, fc)->funcexpr;

			if (IsA(expr, FuncExpr) && ((FuncExpr *) expr)->funcid == funcid)
				return true;
		}
	}
	return false;
}

/*
 * partkv_read_support is the planner support function of partkv.query and
 * partkv.scan, SQL functions over partkv_internal.query_items and partkv_internal.scan_items.
 * In FROM they must stay SQL functions, which the planner inlines so that
 * they stream.  Anywhere else -- a select list, where the SQL function
 * executor would plan the body at every execution -- a call is simplified
 * into the call of the C function it wraps, as inlining would do: when the
 * caller may execute it, no fmgr hook wants to see it, and the plan is
 * made to depend on it.
 */
Datum
partkv_read_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);
	SupportRequestSimplify *req;
	FuncExpr   *call;
	FuncExpr   *direct;
	Oid		   *argtypes;
	int			nargs;
	Oid			target;
	char	   *name;

	if (!IsA(rawreq, SupportRequestSimplify))
		PG_RETURN_POINTER(NULL);
	req = (SupportRequestSimplify *) rawreq;
	call = req->fcall;
	if (req->root == NULL ||
		KvRangeTableCalls(req->root->parse->rtable, call->funcid) ||
		pg_proc_aclcheck(call->funcid, GetUserId(), ACL_EXECUTE) != ACLCHECK_OK ||
		FmgrHookIsNeeded(call->funcid))
		PG_RETURN_POINTER(NULL);

	get_func_signature(call->funcid, &argtypes, &nargs);
	name = psprintf("%s_items", get_func_name(call->funcid));
	target = LookupFuncName(list_make2(makeString(PARTKV_INTERNAL_SCHEMA),
									   makeString(name)),
							nargs, argtypes, true);
	if (!OidIsValid(target) || list_length(call->args) != nargs)
		PG_RETURN_POINTER(NULL);

	direct = makeFuncExpr(target, call->funcresulttype, call->args,
						  call->funccollid, call->inputcollid, COERCE_EXPLICIT_CALL);
	direct->funcretset = true;
	record_plan_function_dependency(req->root, call->funcid);
	PG_RETURN_POINTER(direct);
}
