-- The same write as a plain SQL upsert of the whole item.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
\set n random(1, 1000000000)
INSERT INTO plain_kv VALUES ('c' || :p, 's' || :s,
							 jsonb_build_object('pk', 'c' || :p, 'sk', 's' || :s, 'v', :n::int))
ON CONFLICT (pk, sk) DO UPDATE SET item = EXCLUDED.item;
