-- Stream figures of the partkv runs: records materialised per second and
-- the delay from the write to the record being readable (p50, p99).
SELECT partkv.stream_wait('300s') AS caught_up \gset
WITH r AS (
	SELECT written_at,
		   (extract(epoch FROM written_at) -
			(record->'dynamodb'->'NewImage'->>'ts')::numeric) * 1000 AS delay_ms
	  FROM partkv.stream_log
	 WHERE record->>'tableName' = 'bench_stream'
	   AND record->'dynamodb'->'NewImage' ? 'ts'
)
SELECT count(*) AS records,
	   round(count(*) / greatest(extract(epoch FROM max(written_at) - min(written_at)), 1)) AS records_per_s,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_ms)::numeric, 1) AS delay_p50_ms,
	   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY delay_ms)::numeric, 1) AS delay_p99_ms
  FROM r;
