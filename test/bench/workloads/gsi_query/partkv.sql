-- Query of one GSI key (10 items, in sort-key order).
\set p random(0, :partition_keys - 1)
SELECT * FROM partkv.query('public.bench_gq', 'g = ' || chr(58) || 'g',
						   jsonb_build_object(chr(58) || 'g', 'g' || :p), index_name => 'by_g');
