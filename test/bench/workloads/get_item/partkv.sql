-- GetItem of a random existing item through the partkv API.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
SELECT partkv.get_item('bench', jsonb_build_object('pk', 'c' || :p, 'sk', 's' || :s));
