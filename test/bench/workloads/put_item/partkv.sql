-- PutItem replacing a random existing item through the partkv API.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
\set n random(1, 1000000000)
SELECT partkv.put_item('bench', jsonb_build_object('pk', 'c' || :p, 'sk', 's' || :s, 'v', :n::int));
