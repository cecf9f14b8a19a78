-- The worker's GSI backlog when the load stopped, how long it took to catch
-- up (a backlog that keeps growing means the worker cannot keep up), and
-- verify_index's count of wrong entries afterwards.
SELECT (partkv.gsi_backlog()->>'WalBytes')::bigint AS backlog_bytes,
	   round((partkv.gsi_backlog()->>'Seconds')::numeric, 3) AS backlog_seconds,
	   clock_timestamp() AS t0 \gset
SELECT partkv.wait_for_index('bench_gsi', 'by_g1', '600s') AS caught_up \gset
SELECT partkv.verify_index('bench_gsi', 'by_g1') AS v \gset
SELECT :backlog_bytes AS backlog_bytes_at_end, :backlog_seconds AS backlog_seconds_at_end,
	   round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz)::numeric, 3) AS catch_up_seconds,
	   (:'v'::jsonb->>'missing')::int + (:'v'::jsonb->>'extra')::int + (:'v'::jsonb->>'stale')::int AS index_errors;
