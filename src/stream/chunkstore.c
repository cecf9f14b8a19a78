/*-------------------------------------------------------------------------
 *
 * chunkstore.c
 *	  The stream's storage: partkv_internal.stream_chunks.
 *
 * A stream worker writes each batch's records as one row per stream and
 * shard holding that batch's records of the shard (a row per record cost a
 * heap tuple and two index entries per change, more than a worker could
 * pay while four writers saturate two cores), then NOTIFYs each table's
 * channel.  Chunks are stored in time-partitioned storage: partitions of
 * partkv_internal.stream_chunks by write time, created ahead and dropped whole once
 * older than partkv.stream_retention.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "chunkstore.h"
#include "streamapi.h"

int			kv_stream_retention_s = 86400;

/* width of the stream's time partitions: retention / 24, 1 s .. 1 h */
int
KvPartitionWidth(void)
{
	return Max(1, Min(3600, kv_stream_retention_s / 24));
}

/* orders batch records by stream, shard, then sequence number */
static int
KvBatchRecordCmp(const void *a, const void *b)
{
	const KvBatchRecord *x = *(KvBatchRecord *const *) a;
	const KvBatchRecord *y = *(KvBatchRecord *const *) b;
	int			c;

	if (x->stream_id != y->stream_id)
		return x->stream_id < y->stream_id ? -1 : 1;
	c = strcmp(x->shard_id, y->shard_id);
	if (c != 0)
		return c;
	return strcmp(x->sequence_number, y->sequence_number);
}

/*
 * KvResolveStreams gives records whose stream the decoder did not know
 * (its partkv.streams row was missing) the table's latest stream; those of
 * tables without one get -1 and are not stored.
 */
static void
KvResolveStreams(KvBatch *b)
{
	static SPIPlanPtr plan = NULL;
	Oid			argtypes[2] = {NAMEOID, NAMEOID};

	for (int i = 0; i < b->n; i++)
	{
		KvBatchRecord *r = &b->recs[i];
		Datum		args[2];
		bool		isnull;
		int64		sid = -1;

		if (r->stream_id != 0)
			continue;
		if (plan == NULL)
		{
			plan = SPI_prepare("SELECT pg_catalog.max(s.stream_id) FROM partkv.streams s"
							   " WHERE s.schema_name = $1 AND s.table_name = $2",
							   2, argtypes);
			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "partkv stream: could not plan the stream lookup: %s",
					 SPI_result_code_string(SPI_result));
		}
		args[0] = DirectFunctionCall1(namein, CStringGetDatum(r->schema_name));
		args[1] = DirectFunctionCall1(namein, CStringGetDatum(r->table_name));
		if (SPI_execute_plan(plan, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "partkv stream: could not look up the stream of \"%s\"", r->table_name);
		if (SPI_processed == 1)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			if (!isnull)
				sid = DatumGetInt64(d);
		}
		/* the batch's other records of this table get the same */
		for (int j = i; j < b->n; j++)
			if (b->recs[j].stream_id == 0 &&
				strcmp(b->recs[j].table_name, r->table_name) == 0 &&
				strcmp(b->recs[j].schema_name, r->schema_name) == 0)
				b->recs[j].stream_id = sid;
	}
}

/*
 * KvStoreChunk inserts the records recs[0..n-1] (one stream and shard, in
 * sequence number order) as one row of partkv_internal.stream_chunks.  Its
 * batch_lsn is where the batch reached, plus the sequence offset of the
 * stream's table, as its sequence numbers are: the chunk's batch_lsn is at
 * or above every one of them.
 */
static void
KvStoreChunk(SPIPlanPtr plan, KvBatchRecord **recs, int n, XLogRecPtr batch_lsn,
			 TimestampTz written_at)
{
	Datum	   *seqs = palloc(sizeof(Datum) * n);
	Datum	   *sizes = palloc(sizeof(Datum) * n);
	Datum	   *records = palloc(sizeof(Datum) * n);
	int64		offset = 0;
	Datum		args[9];

	for (int i = 0; i < n; i++)
	{
		seqs[i] = CStringGetTextDatum(recs[i]->sequence_number);
		sizes[i] = Int32GetDatum(recs[i]->size_bytes);
		records[i] = recs[i]->record;
		offset = Max(offset, recs[i]->sequence_offset);
	}
	args[0] = Int64GetDatum(recs[0]->stream_id);
	args[1] = CStringGetTextDatum(recs[0]->shard_id);
	args[2] = LSNGetDatum(batch_lsn + offset);
	args[3] = seqs[0];
	args[4] = seqs[n - 1];
	args[5] = PointerGetDatum(construct_array(seqs, n, TEXTOID, -1, false, TYPALIGN_INT));
	args[6] = PointerGetDatum(construct_array(sizes, n, INT4OID, 4, true, TYPALIGN_INT));
	args[7] = PointerGetDatum(construct_array(records, n, JSONBOID, -1, false, TYPALIGN_INT));
	args[8] = TimestampTzGetDatum(written_at);
	if (SPI_execute_plan(plan, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "partkv stream: could not store a chunk of records");
}

/*
 * KvNotifyTables NOTIFYs the channel of each table with records in the
 * batch, once per stream (records sorted by stream are adjacent), with
 * the table, its last sequence number and the record count.
 */
static void
KvNotifyTables(KvBatchRecord **sorted, int n)
{
	int			i = 0;

	while (i < n)
	{
		KvBatchRecord *first = sorted[i];
		const char *last = first->sequence_number;
		int			count = 0;
		StringInfoData payload;

		for (; i < n && sorted[i]->stream_id == first->stream_id; i++)
		{
			if (strcmp(sorted[i]->sequence_number, last) > 0)
				last = sorted[i]->sequence_number;
			count++;
		}
		initStringInfo(&payload);
		appendStringInfoString(&payload, "{\"TableName\" : ");
		escape_json(&payload, first->table_name);
		appendStringInfoString(&payload, ", \"TableSchema\" : ");
		escape_json(&payload, first->schema_name);
		appendStringInfo(&payload, ", \"SequenceNumber\" : \"%s\", \"Count\" : %d}", last, count);
		Async_Notify(KvStreamChannelName(first->table_name), payload.data);
	}
}

/*
 * KvChunkStoreBatch writes the batch into partkv_internal.stream_chunks, one chunk per
 * stream and shard, and notifies the channels of the tables it touches, in
 * the current transaction.
 */
void
KvChunkStoreBatch(KvBatch *b, XLogRecPtr batch_lsn)
{
	static SPIPlanPtr kv_ensure_plan = NULL;
	static SPIPlanPtr kv_chunk_plan = NULL;
	Oid			argtypes[9] = {INT8OID, TEXTOID, LSNOID, TEXTOID, TEXTOID,
	TEXTARRAYOID, INT4ARRAYOID, JSONBARRAYOID, TIMESTAMPTZOID};
	Oid			ensure_types[2] = {INT4OID, TIMESTAMPTZOID};
	Datum		ensure_args[2];
	/* written_at: when the records were decoded, close to their commit */
	TimestampTz written_at = GetCurrentTimestamp();
	KvBatchRecord **sorted;
	int			n = 0;
	int			i;

	/* both statements run every batch: plan them once per worker */
	if (kv_chunk_plan == NULL)
	{
		SPIPlanPtr	ensure = SPI_prepare("SELECT partkv_internal.stream_ensure_partition($2, pg_catalog.make_interval(secs => $1))",
										 2, ensure_types);
		SPIPlanPtr	chunk = SPI_prepare("INSERT INTO partkv_internal.stream_chunks"
										" (stream_id, shard_id, batch_lsn, first_sequence_number,"
										"  last_sequence_number, sequence_numbers, size_bytes, records,"
										"  written_at)"
										" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
										9, argtypes);

		if (ensure == NULL || chunk == NULL)
			elog(ERROR, "partkv stream: could not plan the batch statements: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(ensure);
		SPI_keepplan(chunk);
		kv_ensure_plan = ensure;
		kv_chunk_plan = chunk;
	}

	ensure_args[0] = Int32GetDatum(KvPartitionWidth());
	ensure_args[1] = TimestampTzGetDatum(written_at);
	if (SPI_execute_plan(kv_ensure_plan, ensure_args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "partkv stream: could not prepare a partition");

	KvResolveStreams(b);
	sorted = palloc(sizeof(KvBatchRecord *) * b->n);
	for (i = 0; i < b->n; i++)
		if (b->recs[i].stream_id > 0)
			sorted[n++] = &b->recs[i];
	qsort(sorted, n, sizeof(KvBatchRecord *), KvBatchRecordCmp);

	for (i = 0; i < n;)
	{
		int			j = i + 1;

		while (j < n && sorted[j]->stream_id == sorted[i]->stream_id &&
			   strcmp(sorted[j]->shard_id, sorted[i]->shard_id) == 0)
			j++;
		KvStoreChunk(kv_chunk_plan, sorted + i, j - i, batch_lsn, written_at);
		i = j;
	}
	KvNotifyTables(sorted, n);
}

/*
 * KvChunkStoreMaintain creates the partitions the next writes need and
 * drops those past the retention period, in the caller's transaction (the
 * DDL takes short exclusive locks and gives way to readers: see
 * stream_maintain).
 */
void
KvChunkStoreMaintain(void)
{
	Oid			argtypes[2] = {INT4OID, INT4OID};
	Datum		args[2];
	int			ret;

	args[0] = Int32GetDatum(kv_stream_retention_s);
	args[1] = Int32GetDatum(KvPartitionWidth());
	ret = SPI_execute_with_args("SELECT partkv_internal.stream_maintain(pg_catalog.make_interval(secs => $1),"
								" pg_catalog.make_interval(secs => $2))",
								2, argtypes, args, NULL, false, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "partkv stream: maintenance failed: %d", ret);
}
