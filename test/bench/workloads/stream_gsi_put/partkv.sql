-- PutItem on a table with a stream and two GSIs; every put moves the item in both.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
\set n random(1, 1000000000)
SELECT partkv.put_item('public.bench_sg',
	jsonb_build_object('pk', 'c' || :p, 'sk', 's' || :s, 'v', :n::int,
					   'g1', 'g' || (:n::int % 1000), 'g2', :n::int % 997,
					   'ts', extract(epoch FROM clock_timestamp())));
