-- The same 10 items as plain SQL, in sort-key order.
\set p random(1, :partition_keys)
SELECT item FROM plain_kv WHERE pk = 'c' || :p ORDER BY sk;
