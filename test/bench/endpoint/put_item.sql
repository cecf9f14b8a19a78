-- PutItem replacing a random existing item through partkv.dynamodb().
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
\set n random(1, 1000000000)
SELECT partkv.dynamodb('PutItem', jsonb_build_object('TableName', 'bench', 'Item',
	jsonb_build_object('pk', jsonb_build_object('S', 'c' || :p), 'sk', jsonb_build_object('S', 's' || :s),
					   'v', jsonb_build_object('N', :n::text))));
