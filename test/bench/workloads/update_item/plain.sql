-- The same increment as a plain SQL UPDATE of the item.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
UPDATE plain_kv SET item = jsonb_set(item, '{v}', to_jsonb((item->>'v')::numeric + 1))
 WHERE pk = 'c' || :p AND sk = 's' || :s;
