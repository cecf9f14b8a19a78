/*-------------------------------------------------------------------------
 *
 * scan.c
 *	  Scan (SPEC-dynamodb.md §5): its arguments checked, the partitions
 *	  put in their fixed order, parallel segments mapped onto them, and its
 *	  reader started (resuming after an ExclusiveStartKey).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"


#include "../stats/stats.h"
#include "api.h"
#include "read.h"

#define KV_MAX_TOTAL_SEGMENTS	1000000

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
KvReadState *
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
