-- The stream of the table with GSIs: delay from the write to the record
-- being readable (p50, p99), while GSI maintenance runs behind.
SELECT partkv.stream_wait('600s') AS caught_up \gset
WITH r AS (
	SELECT (extract(epoch FROM written_at) -
			(record->'dynamodb'->'NewImage'->>'ts')::numeric) * 1000 AS delay_ms
	  FROM partkv.stream_log
	 WHERE record->>'tableName' = 'bench_sg'
	   AND record->'dynamodb'->'NewImage' ? 'ts'
)
SELECT count(*) AS records,
	   round(percentile_cont(0.5) WITHIN GROUP (ORDER BY delay_ms)::numeric, 1) AS stream_delay_p50_ms,
	   round(percentile_cont(0.99) WITHIN GROUP (ORDER BY delay_ms)::numeric, 1) AS stream_delay_p99_ms
  FROM r;
