-- The same lookup as plain SQL on the primary key.
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
SELECT item FROM plain_kv WHERE pk = 'c' || :p AND sk = 's' || :s;
