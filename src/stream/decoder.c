/*-------------------------------------------------------------------------
 *
 * decoder.c
 *	  The "partkv" logical decoding output plugin.
 *
 * For every change to a partition stored by the partkv table access method
 * whose kv table has an enabled stream, the plugin writes one DynamoDB
 * Streams record (SPEC-dynamodb.md §9.4) as a JSON text message:
 *
 *	{"eventID", "eventName": INSERT|MODIFY|REMOVE, "eventVersion": "1.1",
 *	 "eventSource": "partkv", "tableName", "tableSchema", "shardId",
 *	 "dynamodb": {"ApproximateCreationDateTime", "Keys", "NewImage",
 *				  "OldImage", "SequenceNumber", "SizeBytes", "StreamViewType"}}
 *
 * and, on the REMOVE records of Time to Live deletes (those between the
 * TTL sweeper's "partkv.ttl" logical messages, see src/ttl/ttl.c),
 * "userIdentity": {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}.
 *
 * Items and keys are partkv's plain JSON.  Transactions without such
 * changes produce nothing (there are no BEGIN/COMMIT messages at all).
 *
 * The table's StreamViewType is read from partkv.tables, and the identity
 * of its current stream from partkv.streams: both are user catalog tables,
 * so that they can be read under the historic snapshot of the change being
 * decoded.  What the plugin learns about a partition is cached
 * per decoding context and dropped on relcache invalidation of the partition
 * or of its kv table: changing a table's stream specification invalidates
 * both (see partkv_internal.apply_stream_replica_identity).
 *
 * Sequence numbers come from the commit LSN of the transaction and the
 * position of the record within it, not from the change's own LSN, which is
 * not in commit order across transactions; the commit LSN plus the table's
 * sequence_offset, which keeps the sequence numbers of a table restored
 * from a dump of an older cluster above its restored records.
 *
 * A kv table whose partkv.tables row was made by another installation of
 * partkv (restored from a dump, not yet adopted: see "dump and restore" in
 * partkv--0.4--0.5.sql) produces nothing: the restore's COPY is no change.
 *
 * Options (like test_decoding's): include-xids (bool, default off) adds the
 * transaction id as "xid"; tables (comma-separated list of "name" or
 * "schema.name") restricts the output to those kv tables; records (bool,
 * default on) off writes none: the GSI worker decodes only for GSI changes
 * (kv_gsi_change_hook).
 *
 * TRUNCATE has no DynamoDB equivalent and produces no records.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/output_plugin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "../common/jsonbuild.h"
#include "../common/partkv.h"
#include "../storage/item.h"
#include "../storage/tableam.h"
#include "../ttl/ttl.h"
#include "decoder.h"

/*
 * Version differences.  PG 17 passes HeapTuple instead of
 * ReorderBufferTupleBuf in ReorderBufferChange (upstream 08e6344fd642);
 * PG 15 put commit_time in the xact_time union (upstream 63cf61cdeb7b).
 */
#if PG_VERSION_NUM >= 170000
#define KvChangeTuple(tb)	(tb)
#else
#define KvChangeTuple(tb)	(&(tb)->tuple)
#endif
#if PG_VERSION_NUM >= 150000
#define KvTxnCommitTime(txn) ((txn)->xact_time.commit_time)
#else
#define KvTxnCommitTime(txn) ((txn)->commit_time)
#endif

/* PG 16+ declare this in output_plugin.h; an identical redeclaration is fine */
extern PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

/* what the plugin knows about one partition */
typedef struct KvStreamRel
{
	Oid			relid;			/* hash key: the partition */
	bool		valid;
	bool		streamed;		/* changes to it produce records */
	bool		has_gsi;		/* its table has GSIs (kv_gsi_change_hook) */
	Oid			parent;			/* its kv table */
	KvStreamViewType view;
	int64		stream_id;		/* open partkv.streams row, 0 if none */
	int64		sequence_offset;	/* the table's partkv.tables.sequence_offset */
	KvRowLayout layout;
	char		schema_name[NAMEDATALEN];
	char		table_name[NAMEDATALEN];
	char		shard_id[KV_SHARD_ID_LEN + 1];
} KvStreamRel;

#define KV_DECODER_MAGIC 0x6b766463 /* "kvdc" */

/* per decoding context state */
typedef struct KvDecodingData
{
	uint32		magic;
	MemoryContext context;		/* reset after every change */
	bool		include_xids;
	bool		binary;			/* binary-records: each record as a jsonb varlena */
	bool		records;		/* "records" off: none (the GSI worker's decoding) */
	List	   *tables;			/* "tables" option: names, or NIL for all */
	uint32		position;		/* records written in the current txn */
	KvDecodedRecord current;	/* the record being written */
	bool		writing;
	bool		ttl;			/* between the TTL sweeper's messages (src/ttl) */
} KvDecodingData;

/*
 * The partition cache of the decoding context running in this process (a
 * process decodes from one slot at a time).  The relcache callback is
 * registered once per process and must find it through a static.
 */
static HTAB *kv_stream_rels = NULL;
static bool kv_callback_registered = false;

/* global secondary index maintenance (src/index/gsi.c), set by the GSI worker */
KvGsiChangeHook kv_gsi_change_hook = NULL;

/* changes made under this origin are not decoded (kv_decode_filter_origin) */
RepOriginId kv_decoder_skip_origin = InvalidRepOriginId;

static void kv_decode_startup(LogicalDecodingContext *ctx,
							  OutputPluginOptions *opt, bool is_init);
static void kv_decode_shutdown(LogicalDecodingContext *ctx);
static void kv_decode_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn);
static void kv_decode_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							 XLogRecPtr commit_lsn);
static void kv_decode_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							 Relation relation, ReorderBufferChange *change);
static void kv_decode_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
							  XLogRecPtr message_lsn, bool transactional,
							  const char *prefix, Size message_size,
							  const char *message);
static bool kv_decode_filter_origin(LogicalDecodingContext *ctx,
									RepOriginId origin_id);

/* _PG_output_plugin_init hands logical decoding the plugin's callbacks. */
void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = kv_decode_startup;
	cb->begin_cb = kv_decode_begin;
	cb->change_cb = kv_decode_change;
	cb->commit_cb = kv_decode_commit;
	cb->message_cb = kv_decode_message;
	cb->filter_by_origin_cb = kv_decode_filter_origin;
	cb->shutdown_cb = kv_decode_shutdown;
}

/*
 * kv_decode_filter_origin drops the changes of kv_decoder_skip_origin
 * before they are queued.  The workers set it to the GSI worker's origin:
 * that worker writes only GSI storage, which no stream or GSI reads, and
 * it writes two rows or more per GSI for every item change, which both
 * workers would otherwise queue, look up and skip.
 */
static bool
kv_decode_filter_origin(LogicalDecodingContext *ctx, RepOriginId origin_id)
{
	return origin_id != InvalidRepOriginId && origin_id == kv_decoder_skip_origin;
}

/* KvStreamViewTypeName spells a view type as DynamoDB does. */
const char *
KvStreamViewTypeName(KvStreamViewType view)
{
	switch (view)
	{
		case KV_VIEW_KEYS_ONLY:
			return "KEYS_ONLY";
		case KV_VIEW_NEW_IMAGE:
			return "NEW_IMAGE";
		case KV_VIEW_OLD_IMAGE:
			return "OLD_IMAGE";
		case KV_VIEW_NEW_AND_OLD_IMAGES:
			return "NEW_AND_OLD_IMAGES";
		case KV_VIEW_NONE:
			break;
	}
	return NULL;
}

/* KvStreamViewTypeFromName parses a StreamViewType; KV_VIEW_NONE if unknown. */
KvStreamViewType
KvStreamViewTypeFromName(const char *name)
{
	if (strcmp(name, "KEYS_ONLY") == 0)
		return KV_VIEW_KEYS_ONLY;
	if (strcmp(name, "NEW_IMAGE") == 0)
		return KV_VIEW_NEW_IMAGE;
	if (strcmp(name, "OLD_IMAGE") == 0)
		return KV_VIEW_OLD_IMAGE;
	if (strcmp(name, "NEW_AND_OLD_IMAGES") == 0)
		return KV_VIEW_NEW_AND_OLD_IMAGES;
	return KV_VIEW_NONE;
}

/*
 * KvShardIdOf names the shard of a partition after its hash bound:
 * "shardId-<modulus>-<remainder>", both ten digits.  Splitting a partition
 * (modulus 8 remainder 3 -> modulus 16 remainders 3 and 11) gives the new
 * partitions new shard ids, as DynamoDB's child shards.  Reads pg_class
 * through the syscache, so it works under a historic snapshot too.
 */
void
KvShardIdOf(Oid partition, char *out)
{
	HeapTuple	tuple;
	int			modulus = 1;
	int			remainder = 0;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(partition));
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		bound;

		bound = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &isnull);
		if (!isnull)
		{
			char	   *boundstr = TextDatumGetCString(bound);
			PartitionBoundSpec *spec = (PartitionBoundSpec *) stringToNode(boundstr);

			if (IsA(spec, PartitionBoundSpec) &&
				spec->strategy == PARTITION_STRATEGY_HASH)
			{
				modulus = spec->modulus;
				remainder = spec->remainder;
			}
		}
		ReleaseSysCache(tuple);
	}
	snprintf(out, KV_SHARD_ID_LEN + 1, "shardId-%010d-%010d", modulus, remainder);
}

/* KvFormatSequenceNumber writes the 30-digit sequence number of a record. */
void
KvFormatSequenceNumber(XLogRecPtr commit_lsn, uint32 position, char *out)
{
	snprintf(out, KV_SEQNO_LEN + 1, "%020llu%010u",
			 (unsigned long long) commit_lsn, position);
}

/*
 * KvDecoderCurrentRecord exposes the record being written to writer
 * callbacks of this library; NULL when ctx is not decoding with partkv.
 */
const KvDecodedRecord *
KvDecoderCurrentRecord(LogicalDecodingContext *ctx)
{
	KvDecodingData *data = (KvDecodingData *) ctx->output_plugin_private;

	if (data == NULL || data->magic != KV_DECODER_MAGIC || !data->writing)
		return NULL;
	return &data->current;
}

/* KvDecoderInvalidate drops cached knowledge of a partition or kv table. */
static void
KvDecoderInvalidate(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	KvStreamRel *entry;

	if (kv_stream_rels == NULL)
		return;
	hash_seq_init(&status, kv_stream_rels);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid || entry->parent == relid)
			entry->valid = false;
	}
}

/* KvBoolOption sets a boolean plugin option: true when given without a value. */
static void
KvBoolOption(DefElem *elem, bool *value)
{
	if (elem->arg == NULL)
		*value = true;
	else if (!parse_bool(strVal(elem->arg), value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not parse value \"%s\" for parameter \"%s\"",
						strVal(elem->arg), elem->defname)));
}

/* kv_decode_startup parses the options and sets up the partition cache. */
static void
kv_decode_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
				  bool is_init)
{
	KvDecodingData *data;
	HASHCTL		hctl;
	ListCell   *option;

	data = palloc0(sizeof(KvDecodingData));
	data->magic = KV_DECODER_MAGIC;
	data->records = true;
	data->context = AllocSetContextCreate(ctx->context,
										  "partkv decoder change",
										  ALLOCSET_DEFAULT_SIZES);
	opt->output_type = OUTPUT_PLUGIN_TEXTUAL_OUTPUT;
	opt->receive_rewrites = false;

	foreach(option, ctx->output_plugin_options)
	{
		DefElem    *elem = lfirst(option);

		Assert(elem->arg == NULL || IsA(elem->arg, String));
		if (strcmp(elem->defname, "include-xids") == 0)
			KvBoolOption(elem, &data->include_xids);
		else if (strcmp(elem->defname, "binary-records") == 0)
			KvBoolOption(elem, &data->binary);
		else if (strcmp(elem->defname, "records") == 0)
			KvBoolOption(elem, &data->records);
		else if (strcmp(elem->defname, "tables") == 0)
		{
			char	   *names;

			if (elem->arg == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("parameter \"%s\" needs a list of table names",
								elem->defname)));
			names = pstrdup(strVal(elem->arg));
			if (!SplitIdentifierString(names, ',', &data->tables))
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("could not parse value \"%s\" for parameter \"%s\"",
								strVal(elem->arg), elem->defname),
						 errhint("Give table names separated by commas, each optionally schema-qualified.")));
		}
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"%s\" = \"%s\" is unknown",
							elem->defname,
							elem->arg ? strVal(elem->arg) : "(null)")));
	}

	hctl.keysize = sizeof(Oid);
	hctl.entrysize = sizeof(KvStreamRel);
	hctl.hcxt = ctx->context;
	kv_stream_rels = hash_create("partkv decoder partitions", 64, &hctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	if (!kv_callback_registered)
	{
		CacheRegisterRelcacheCallback(KvDecoderInvalidate, (Datum) 0);
		kv_callback_registered = true;
	}
	ctx->output_plugin_private = data;
}

/* kv_decode_shutdown forgets the partition cache (freed with ctx->context). */
static void
kv_decode_shutdown(LogicalDecodingContext *ctx)
{
	kv_stream_rels = NULL;
}

/* kv_decode_begin starts numbering the records of a transaction. */
static void
kv_decode_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
	KvDecodingData *data = ctx->output_plugin_private;

	data->position = 0;
	data->ttl = false;
}

/*
 * kv_decode_message notes where the TTL sweeper's deletes start and end
 * in a transaction (transactional messages come in change order); other
 * messages are ignored.
 */
static void
kv_decode_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				  XLogRecPtr message_lsn, bool transactional,
				  const char *prefix, Size message_size, const char *message)
{
	KvDecodingData *data = ctx->output_plugin_private;

	if (!transactional || strcmp(prefix, KV_TTL_MESSAGE_PREFIX) != 0)
		return;
	data->ttl = (message_size == strlen(KV_TTL_MESSAGE_BEGIN) &&
				 memcmp(message, KV_TTL_MESSAGE_BEGIN, message_size) == 0);
}

/* kv_decode_commit writes nothing: records stand alone. */
static void
kv_decode_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 XLogRecPtr commit_lsn)
{
}

/*
 * KvCatalogAttnum finds a column of a partkv catalog table by name, so the
 * plugin does not depend on column order.  InvalidAttrNumber if absent.
 */
static AttrNumber
KvCatalogAttnum(TupleDesc desc, const char *name)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/* called by KvCatalogScan for each row of the wanted kv table */
typedef bool (*KvCatalogRowFn) (HeapTuple tuple, TupleDesc desc, void *arg);

/*
 * KvCatalogScan walks a partkv catalog table (partkv.tables or
 * partkv.streams) under the current catalog snapshot -- in decoding, the
 * historic snapshot of the change -- and calls fn for each row of the kv
 * table schema_name.table_name until fn returns true.  Both catalogs are
 * user catalog tables holding a few rows per kv table, read once per
 * partition per invalidation: a sequential scan.
 */
static void
KvCatalogScan(const char *catalog, const char *schema_name, const char *table_name,
			  KvCatalogRowFn fn, void *arg)
{
	Oid			nspid;
	Oid			catid;
	Relation	cat;
	TupleDesc	desc;
	AttrNumber	att_schema;
	AttrNumber	att_table;
	SysScanDesc scan;
	HeapTuple	tuple;

	nspid = get_namespace_oid(PARTKV_SCHEMA, true);
	if (!OidIsValid(nspid))
		return;
	catid = get_relname_relid(catalog, nspid);
	if (!OidIsValid(catid))
		return;

	cat = table_open(catid, AccessShareLock);
	desc = RelationGetDescr(cat);
	att_schema = KvCatalogAttnum(desc, "schema_name");
	att_table = KvCatalogAttnum(desc, "table_name");
	if (att_schema == InvalidAttrNumber || att_table == InvalidAttrNumber)
		elog(ERROR, "partkv.%s lacks the schema_name and table_name columns", catalog);

	scan = systable_beginscan(cat, InvalidOid, false, NULL, 0, NULL);
	while ((tuple = systable_getnext(scan)) != NULL)
	{
		bool		isnull;
		Datum		d;

		d = heap_getattr(tuple, att_schema, desc, &isnull);
		if (isnull || strcmp(NameStr(*DatumGetName(d)), schema_name) != 0)
			continue;
		d = heap_getattr(tuple, att_table, desc, &isnull);
		if (isnull || strcmp(TextDatumGetCString(d), table_name) != 0)
			continue;
		if (fn(tuple, desc, arg))
			break;
	}
	systable_endscan(scan);
	table_close(cat, AccessShareLock);
}

/* KvSpecRow reads the StreamViewType of a partkv.tables row (NONE if off). */
static bool
KvSpecRow(HeapTuple tuple, TupleDesc desc, void *arg)
{
	KvStreamViewType *view = arg;
	AttrNumber	att_spec = KvCatalogAttnum(desc, "stream_specification");
	bool		isnull;
	Datum		d;
	Jsonb	   *spec;
	JsonbValue	v;

	*view = KV_VIEW_NONE;
	if (att_spec == InvalidAttrNumber)
		return true;
	d = heap_getattr(tuple, att_spec, desc, &isnull);
	if (isnull)
		return true;
	spec = DatumGetJsonbP(d);
	if (!JB_ROOT_IS_OBJECT(spec))
		return true;
	if (getKeyJsonValueFromContainer(&spec->root, "StreamEnabled", 13, &v) == NULL ||
		v.type != jbvBool || !v.val.boolean)
		return true;
	if (getKeyJsonValueFromContainer(&spec->root, "StreamViewType", 14, &v) == NULL ||
		v.type != jbvString)
		return true;
	*view = KvStreamViewTypeFromName(pnstrdup(v.val.string.val, v.val.string.len));
	return true;
}

/* KvOpenStreamRow takes the id of the open (not disabled) partkv.streams row. */
static bool
KvOpenStreamRow(HeapTuple tuple, TupleDesc desc, void *arg)
{
	int64	   *stream_id = arg;
	AttrNumber	att_id = KvCatalogAttnum(desc, "stream_id");
	AttrNumber	att_disabled = KvCatalogAttnum(desc, "disabled_at");
	bool		isnull;
	Datum		d;

	if (att_id == InvalidAttrNumber || att_disabled == InvalidAttrNumber)
		return true;
	(void) heap_getattr(tuple, att_disabled, desc, &isnull);
	if (!isnull)
		return false;
	d = heap_getattr(tuple, att_id, desc, &isnull);
	if (!isnull)
		*stream_id = DatumGetInt64(d);
	return true;
}

/* KvGsiRow tells whether a partkv.tables row declares global secondary indexes. */
static bool
KvGsiRow(HeapTuple tuple, TupleDesc desc, void *arg)
{
	bool	   *has_gsi = arg;
	AttrNumber	att = KvCatalogAttnum(desc, "global_indexes");
	bool		isnull;
	Datum		d;
	Jsonb	   *gsis;

	*has_gsi = false;
	if (att == InvalidAttrNumber)
		return true;
	d = heap_getattr(tuple, att, desc, &isnull);
	if (isnull)
		return true;
	gsis = DatumGetJsonbP(d);
	*has_gsi = JB_ROOT_IS_ARRAY(gsis) && JB_ROOT_COUNT(gsis) > 0;
	return true;
}

/* what the plugin knows of a kv table's origin (KvOriginRow) */
typedef struct KvTableOrigin
{
	bool		have_here;		/* here is known */
	pg_uuid_t	here;			/* this database's partkv_internal.installation */
	bool		local;			/* the row was made (or adopted) here */
	int64		sequence_offset;
} KvTableOrigin;

/*
 * KvInstallationHere reads the id of this database's installation of
 * partkv (partkv_internal.installation, a user catalog table) under the current
 * catalog snapshot; false when there is none (before 0.5), or when the
 * row is that of the database this one was copied from and not claimed
 * yet (partkv_internal.installation_claim).
 */
static bool
KvInstallationHere(pg_uuid_t *out)
{
	Oid			nspid = get_namespace_oid(PARTKV_INTERNAL_SCHEMA, true);
	Oid			relid;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	AttrNumber	att;
	AttrNumber	att_db;
	bool		found = false;

	if (!OidIsValid(nspid))
		return false;
	relid = get_relname_relid("installation", nspid);
	if (!OidIsValid(relid))
		return false;
	rel = table_open(relid, AccessShareLock);
	att = KvCatalogAttnum(RelationGetDescr(rel), "installation_id");
	att_db = KvCatalogAttnum(RelationGetDescr(rel), "database_oid");
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tuple = systable_getnext(scan);
	if (tuple != NULL && att != InvalidAttrNumber && att_db != InvalidAttrNumber)
	{
		bool		isnull;
		bool		dbnull;
		Datum		d = heap_getattr(tuple, att, RelationGetDescr(rel), &isnull);
		Datum		db = heap_getattr(tuple, att_db, RelationGetDescr(rel), &dbnull);

		if (!isnull && !dbnull && DatumGetObjectId(db) == MyDatabaseId)
		{
			memcpy(out, DatumGetUUIDP(d), sizeof(pg_uuid_t));
			found = true;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * KvOriginRow reads whether a partkv.tables row is this installation's, and
 * its sequence offset.  A catalog without installation_id (WAL written
 * before the database was updated to 0.5) has only rows made here.
 */
static bool
KvOriginRow(HeapTuple tuple, TupleDesc desc, void *arg)
{
	KvTableOrigin *origin = arg;
	AttrNumber	att_inst = KvCatalogAttnum(desc, "installation_id");
	AttrNumber	att_offset = KvCatalogAttnum(desc, "sequence_offset");
	bool		isnull;
	Datum		d;

	origin->local = (att_inst == InvalidAttrNumber);
	origin->sequence_offset = 0;
	if (att_inst != InvalidAttrNumber && origin->have_here)
	{
		d = heap_getattr(tuple, att_inst, desc, &isnull);
		origin->local = !isnull &&
			memcmp(DatumGetUUIDP(d), &origin->here, sizeof(pg_uuid_t)) == 0;
	}
	if (att_offset != InvalidAttrNumber)
	{
		d = heap_getattr(tuple, att_offset, desc, &isnull);
		if (!isnull)
			origin->sequence_offset = DatumGetInt64(d);
	}
	return true;
}

/* KvTableSelected applies the "tables" option. */
static bool
KvTableSelected(KvDecodingData *data, const char *schema_name, const char *table_name)
{
	ListCell   *lc;

	if (data->tables == NIL)
		return true;
	foreach(lc, data->tables)
	{
		const char *name = lfirst(lc);
		size_t		nsplen = strlen(schema_name);

		if (strcmp(name, table_name) == 0)
			return true;
		if (strncmp(name, schema_name, nsplen) == 0 && name[nsplen] == '.' &&
			strcmp(name + nsplen + 1, table_name) == 0)
			return true;
	}
	return false;
}

/*
 * KvDecoderLookupRel finds out (once per invalidation) whether changes of a
 * partkv partition produce records, and how.  Runs in the per-change
 * context; the entry itself has no pointers.
 */
static KvStreamRel *
KvDecoderLookupRel(KvDecodingData *data, Relation relation)
{
	Oid			relid = RelationGetRelid(relation);
	KvStreamRel *entry;
	bool		found;
	Oid			parent;
	char	   *name;
	char	   *nspname;

	entry = hash_search(kv_stream_rels, &relid, HASH_ENTER, &found);
	if (found && entry->valid)
		return entry;

	entry->valid = false;
	entry->streamed = false;
	entry->has_gsi = false;
	entry->parent = InvalidOid;
	entry->view = KV_VIEW_NONE;
	entry->sequence_offset = 0;

	if (relation->rd_rel->relispartition &&
		KvRowLayoutOf(RelationGetDescr(relation), &entry->layout))
	{
		parent = get_partition_parent(relid, true);
		entry->parent = parent;
		name = get_rel_name(parent);
		nspname = get_namespace_name(get_rel_namespace(parent));
		if (name != NULL && nspname != NULL &&
			get_rel_relkind(parent) == RELKIND_PARTITIONED_TABLE)
		{
			KvTableOrigin origin = {0};

			strlcpy(entry->schema_name, nspname, NAMEDATALEN);
			strlcpy(entry->table_name, name, NAMEDATALEN);
			entry->stream_id = 0;
			/* a restored table's changes are the restore's own until adopted */
			origin.have_here = KvInstallationHere(&origin.here);
			KvCatalogScan("tables", nspname, name, KvOriginRow, &origin);
			entry->sequence_offset = origin.sequence_offset;
			if (origin.local && data->records && KvTableSelected(data, nspname, name))
				KvCatalogScan("tables", nspname, name, KvSpecRow, &entry->view);
			/* GSI maintenance (src/index/gsi.c): only the stream worker asks */
			if (origin.local && kv_gsi_change_hook != NULL)
				KvCatalogScan("tables", nspname, name, KvGsiRow, &entry->has_gsi);
			if (entry->view != KV_VIEW_NONE)
			{
				KvCatalogScan("streams", nspname, name, KvOpenStreamRow,
							  &entry->stream_id);
				KvShardIdOf(relid, entry->shard_id);
				entry->streamed = true;
			}
		}
	}
	entry->valid = true;
	return entry;
}

/* KvAppendItem appends a jsonb item as JSON text ("null" for NULL). */
static void
KvAppendItem(StringInfo out, Jsonb *item)
{
	if (item == NULL)
		appendStringInfoString(out, "null");
	else
		(void) JsonbToCString(out, &item->root, VARSIZE(item));
}

/*
 * KvTupleItem returns the item of a decoded row; *unchanged is set when
 * the row carries the old TOAST pointer (the item was not modified by an
 * UPDATE and is not in the WAL record).  NULL when absent.
 */
static Jsonb *
KvTupleItem(HeapTuple tuple, TupleDesc desc, const KvRowLayout *layout,
			bool *unchanged)
{
	bool		isnull;
	Datum		d;

	*unchanged = false;
	if (tuple == NULL)
		return NULL;
	d = heap_getattr(tuple, layout->item_attno, desc, &isnull);
	if (isnull)
		return NULL;
	if (VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(d)))
	{
		*unchanged = true;
		return NULL;
	}
	return DatumGetJsonbP(d);
}

/*
 * KvTupleKeys builds the Keys object of a record from the key columns of a
 * decoded row (present in every image, including a key-only old row).
 */
static Jsonb *
KvTupleKeys(HeapTuple tuple, TupleDesc desc, const KvRowLayout *layout)
{
	JsonbParseState *ps = NULL;
	JsonbValue *res;

	pushJsonbValue(&ps, WJB_BEGIN_OBJECT, NULL);
	for (int k = 0; k < layout->schema.nkeys; k++)
	{
		const KvKeyAttr *attr = &layout->schema.keys[k];
		JsonbValue	key;
		JsonbValue	val;
		bool		isnull;
		Datum		d;

		d = heap_getattr(tuple, layout->key_attno[k], desc, &isnull);
		if (isnull)
			return NULL;
		key.type = jbvString;
		key.val.string.val = (char *) attr->name;
		key.val.string.len = strlen(attr->name);
		KvKeyDatumToJsonbValue(d, attr->type, &val);
		pushJsonbValue(&ps, WJB_KEY, &key);
		pushJsonbValue(&ps, WJB_VALUE, &val);
	}
	res = pushJsonbValue(&ps, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

/* KvPushText pushes "key": string. */
static void
KvPushText(JsonbParseState **st, const char *key, const char *value)
{
	JsonbValue	v;

	KvPushKey(st, key);
	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = strlen(value);
	pushJsonbValue(st, WJB_VALUE, &v);
}

/* KvPushItem pushes "key": item. */
static void
KvPushItem(JsonbParseState **st, const char *key, Jsonb *item)
{
	JsonbValue	v;

	KvPushKey(st, key);
	v.type = jbvBinary;
	v.val.binary.data = &item->root;
	v.val.binary.len = VARSIZE(item) - VARHDRSZ;
	pushJsonbValue(st, WJB_VALUE, &v);
}

/*
 * KvRecordJsonb builds a change record as jsonb, the same document the text
 * form spells out (binary-records, used by the stream worker).
 */
static Jsonb *
KvRecordJsonb(KvDecodingData *data, KvStreamRel *entry, KvDecodedRecord *rec,
			  ReorderBufferTXN *txn, const char *event, Jsonb *keys,
			  Jsonb *newitem, Jsonb *olditem, bool by_ttl)
{
	JsonbParseState *st = NULL;
	char		event_id[64];

	snprintf(event_id, sizeof(event_id), "%016llx%08x%08x",
			 (unsigned long long) txn->final_lsn, txn->xid, data->position);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	KvPushText(&st, "eventID", event_id);
	KvPushText(&st, "eventName", event);
	KvPushText(&st, "eventVersion", "1.1");
	KvPushText(&st, "eventSource", "partkv");
	KvPushText(&st, "tableName", entry->table_name);
	KvPushText(&st, "tableSchema", entry->schema_name);
	KvPushText(&st, "shardId", entry->shard_id);
	if (data->include_xids)
		KvPushInt64(&st, "xid", txn->xid);
	KvPushKey(&st, "dynamodb");
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	KvPushInt64(&st, "ApproximateCreationDateTime", (int64) timestamptz_to_time_t(rec->commit_time));
	KvPushItem(&st, "Keys", keys);
	if (newitem != NULL)
		KvPushItem(&st, "NewImage", newitem);
	if (olditem != NULL)
		KvPushItem(&st, "OldImage", olditem);
	KvPushText(&st, "SequenceNumber", rec->sequence_number);
	KvPushInt64(&st, "SizeBytes", rec->size_bytes);
	KvPushText(&st, "StreamViewType", KvStreamViewTypeName(entry->view));
	pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	if (by_ttl)
	{
		KvPushKey(&st, "userIdentity");
		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		KvPushText(&st, "Type", "Service");
		KvPushText(&st, "PrincipalId", "dynamodb.amazonaws.com");
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	return JsonbValueToJsonb(pushJsonbValue(&st, WJB_END_OBJECT, NULL));
}

/* kv_decode_change writes the stream record of one item change. */
static void
kv_decode_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 Relation relation, ReorderBufferChange *change)
{
	KvDecodingData *data = ctx->output_plugin_private;
	TupleDesc	desc = RelationGetDescr(relation);
	MemoryContext oldcxt;
	KvStreamRel *entry;
	const char *event;
	HeapTuple	newtuple = NULL;
	HeapTuple	oldtuple = NULL;
	Jsonb	   *keys;
	Jsonb	   *newitem;
	Jsonb	   *olditem;
	bool		new_unchanged;
	bool		old_unchanged;
	bool		want_new;
	bool		want_old;
	int64		size;
	KvDecodedRecord *rec = &data->current;
	StringInfo	out;

	if (!KvIsPartkvRelation(relation))
		return;

	oldcxt = MemoryContextSwitchTo(data->context);

	entry = KvDecoderLookupRel(data, relation);
	if (!entry->streamed && !(entry->has_gsi && kv_gsi_change_hook != NULL))
		goto done;

	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			event = "INSERT";
			if (change->data.tp.newtuple != NULL)
				newtuple = KvChangeTuple(change->data.tp.newtuple);
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			event = "MODIFY";
			if (change->data.tp.newtuple != NULL)
				newtuple = KvChangeTuple(change->data.tp.newtuple);
			if (change->data.tp.oldtuple != NULL)
				oldtuple = KvChangeTuple(change->data.tp.oldtuple);
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			event = "REMOVE";
			if (change->data.tp.oldtuple != NULL)
				oldtuple = KvChangeTuple(change->data.tp.oldtuple);
			break;
		default:
			goto done;
	}

	/* a delete under REPLICA IDENTITY NOTHING does not even name the key */
	if (newtuple == NULL && oldtuple == NULL)
		goto done;
	keys = KvTupleKeys(newtuple != NULL ? newtuple : oldtuple, desc, &entry->layout);
	if (keys == NULL)
		goto done;

	newitem = KvTupleItem(newtuple, desc, &entry->layout, &new_unchanged);
	olditem = KvTupleItem(oldtuple, desc, &entry->layout, &old_unchanged);

	/*
	 * An update that left the item as it was is no change for DynamoDB: no
	 * record.  Known when the item was not rewritten (unchanged TOAST
	 * pointer), or when the old image is in WAL (REPLICA IDENTITY FULL) and
	 * equals the new one.
	 */
	if (change->action == REORDER_BUFFER_CHANGE_UPDATE)
	{
		if (new_unchanged)
			goto done;
		if (newitem != NULL && olditem != NULL &&
			DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(newitem),
											 JsonbPGetDatum(olditem))))
			goto done;
	}

	/* global secondary indexes: table key, new and old items (src/index/gsi.c) */
	if (entry->has_gsi && kv_gsi_change_hook != NULL)
	{
		KvGsiChangeInfo gc;

		gc.table_relid = entry->parent;
		gc.schema_name = entry->schema_name;
		gc.table_name = entry->table_name;
		gc.keys = keys;
		gc.newitem = change->action == REORDER_BUFFER_CHANGE_DELETE ? NULL : newitem;
		gc.olditem = olditem;
		gc.old_known = change->action == REORDER_BUFFER_CHANGE_INSERT || olditem != NULL;
		gc.xid = txn->xid;
		gc.commit_time = KvTxnCommitTime(txn);
		gc.commit_lsn = txn->final_lsn;
		if (change->action == REORDER_BUFFER_CHANGE_UPDATE && oldtuple != NULL)
		{
			/* an UPDATE of the key columns: the old key's entry goes */
			Jsonb	   *oldkeys = KvTupleKeys(oldtuple, desc, &entry->layout);

			if (oldkeys != NULL &&
				!DatumGetBool(DirectFunctionCall2(jsonb_eq, JsonbPGetDatum(oldkeys),
												  JsonbPGetDatum(keys))))
			{
				KvGsiChangeInfo gone = gc;

				gone.keys = oldkeys;
				gone.newitem = NULL;
				gone.old_known = olditem != NULL;
				kv_gsi_change_hook(&gone);
				/* no item had the new key before */
				gc.olditem = NULL;
				gc.old_known = true;
			}
		}
		kv_gsi_change_hook(&gc);
	}
	if (!entry->streamed)
		goto done;

	want_new = (entry->view == KV_VIEW_NEW_IMAGE ||
				entry->view == KV_VIEW_NEW_AND_OLD_IMAGES) && newitem != NULL;
	want_old = (entry->view == KV_VIEW_OLD_IMAGE ||
				entry->view == KV_VIEW_NEW_AND_OLD_IMAGES) && olditem != NULL;

	size = KvItemSize(keys);
	if (want_new)
		size += KvItemSize(newitem);
	if (want_old)
		size += KvItemSize(olditem);

	data->position++;
	rec->schema_name = entry->schema_name;
	rec->table_name = entry->table_name;
	rec->shard_id = entry->shard_id;
	rec->event_name = event;
	rec->stream_id = entry->stream_id;
	rec->commit_time = KvTxnCommitTime(txn);
	rec->commit_lsn = txn->final_lsn;
	rec->xid = txn->xid;
	rec->size_bytes = size;
	rec->sequence_offset = entry->sequence_offset;
	KvFormatSequenceNumber(txn->final_lsn + entry->sequence_offset, data->position,
						   rec->sequence_number);

	OutputPluginPrepareWrite(ctx, true);
	out = ctx->out;
	if (data->binary)
	{
		/* the stream worker stores jsonb: hand it jsonb, not text to parse again */
		Jsonb	   *j = KvRecordJsonb(data, entry, rec, txn, event, keys,
									  want_new ? newitem : NULL, want_old ? olditem : NULL,
									  data->ttl && change->action == REORDER_BUFFER_CHANGE_DELETE);

		appendBinaryStringInfo(out, (const char *) j, VARSIZE(j));
		goto write;
	}
	appendStringInfo(out, "{\"eventID\": \"%016llx%08x%08x\", \"eventName\": \"%s\", "
					 "\"eventVersion\": \"1.1\", \"eventSource\": \"partkv\", \"tableName\": ",
					 (unsigned long long) txn->final_lsn, txn->xid, data->position, event);
	escape_json(out, entry->table_name);
	appendStringInfoString(out, ", \"tableSchema\": ");
	escape_json(out, entry->schema_name);
	appendStringInfo(out, ", \"shardId\": \"%s\", ", entry->shard_id);
	if (data->include_xids)
		appendStringInfo(out, "\"xid\": %u, ", txn->xid);
	appendStringInfo(out, "\"dynamodb\": {\"ApproximateCreationDateTime\": %lld, \"Keys\": ",
					 (long long) timestamptz_to_time_t(rec->commit_time));
	KvAppendItem(out, keys);
	if (want_new)
	{
		appendStringInfoString(out, ", \"NewImage\": ");
		KvAppendItem(out, newitem);
	}
	if (want_old)
	{
		appendStringInfoString(out, ", \"OldImage\": ");
		KvAppendItem(out, olditem);
	}
	appendStringInfo(out, ", \"SequenceNumber\": \"%s\", \"SizeBytes\": %lld, "
					 "\"StreamViewType\": \"%s\"}",
					 rec->sequence_number, (long long) size,
					 KvStreamViewTypeName(entry->view));
	/* a delete by Time to Live is made by the service (SPEC §9.4, §10) */
	if (data->ttl && change->action == REORDER_BUFFER_CHANGE_DELETE)
		appendStringInfoString(out, ", \"userIdentity\": {\"Type\": \"Service\", "
							   "\"PrincipalId\": \"dynamodb.amazonaws.com\"}");
	appendStringInfoChar(out, '}');

write:
	data->writing = true;
	PG_TRY();
	{
		OutputPluginWrite(ctx, true);
	}
	PG_FINALLY();
	{
		data->writing = false;
	}
	PG_END_TRY();

done:
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(data->context);
}
