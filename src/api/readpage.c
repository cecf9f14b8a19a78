/*-------------------------------------------------------------------------
 *
 * readpage.c
 *	  The SQL entry points of Query and Scan and what runs them: items
 *	  read one at a time (partkv_internal.query_items / scan_items, streaming
 *	  set-returning functions) or one DynamoDB page (query_page / scan_page:
 *	  Limit, the 1 MB rule, LastEvaluatedKey, ConsumedCapacity).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"

#include "../common/jsonbuild.h"
#include "../index/projection.h"
#include "../stats/stats.h"
#include "read.h"

PG_FUNCTION_INFO_V1(partkv_query);
PG_FUNCTION_INFO_V1(partkv_query_page);
PG_FUNCTION_INFO_V1(partkv_scan);
PG_FUNCTION_INFO_V1(partkv_scan_page);

/* a page stops after the item that brings the data read to 1 MB */
#define KV_PAGE_BYTES			(1024 * 1024)

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
	KvPushInt64(&ps, "Count", count);
	KvPushInt64(&ps, "ScannedCount", st->scanned);
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
