-- UpdateItem incrementing a number of a random existing item
-- (SET v = v + :one; pgbench would substitute ":one", hence chr(58)).
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
SELECT partkv.update_item('bench', jsonb_build_object('pk', 'c' || :p, 'sk', 's' || :s),
						  'SET v = v + ' || chr(58) || 'one',
						  attr_values => jsonb_build_object(chr(58) || 'one', 1));
