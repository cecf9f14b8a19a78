-- The same 10 items from a plain table with an expression index.
\set p random(0, :partition_keys - 1)
SELECT item FROM plain_gq WHERE (item->>'g') COLLATE "C" = 'g' || :p ORDER BY sk;
