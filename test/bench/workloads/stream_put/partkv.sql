-- PutItem on a table whose stream is enabled; "ts" is the client's clock,
-- for the commit-to-stream delay measured by report.sql.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
\set n random(1, 1000000000)
SELECT partkv.put_item('public.bench_stream',
	jsonb_build_object('pk', 'c' || :p, 'sk', 's' || :s, 'v', :n::int,
					   'ts', extract(epoch FROM clock_timestamp())));
