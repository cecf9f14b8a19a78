-- Query of one partition key (10 items, in sort-key order).
\set p random(1, :partition_keys)
SELECT * FROM partkv.query('bench', 'pk = ' || chr(58) || 'p',
						   jsonb_build_object(chr(58) || 'p', 'c' || :p));
