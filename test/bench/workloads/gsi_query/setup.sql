-- Queries of 10 items through a GSI, against plain SQL on an equivalent plain
-- table with a btree on the same expression.
SET client_min_messages = warning;
SELECT partkv.create_table('{"TableName": "bench_gq",
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                           {"AttributeName": "g", "AttributeType": "S"}],
  "GlobalSecondaryIndexes": [
    {"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
     "Projection": {"ProjectionType": "ALL"}}]}') IS NOT NULL;
-- g: 10 items per value, spread over partition keys.  Only setup.sql's
-- items, with g from their keys: workloads run before this one add items
-- (conditional_put: hundreds of thousands, all with the same "v") and
-- change "v" (put_item), and a g value holding most of the table would
-- turn some of the measured queries into reads of all those items.
INSERT INTO public.bench_gq
SELECT pk, sk, item || jsonb_build_object('g', 'g' || ((substr(pk, 2)::int * 10 + substr(sk, 2)::int) % :partition_keys))
  FROM public.bench WHERE pk ~ '^c[0-9]+$' AND sk ~ '^s[0-9]+$';
CREATE TABLE plain.plain_gq AS
SELECT pk, sk, item || jsonb_build_object('g', 'g' || ((substr(pk, 2)::int * 10 + substr(sk, 2)::int) % :partition_keys)) AS item
  FROM plain.plain_kv WHERE pk ~ '^c[0-9]+$' AND sk ~ '^s[0-9]+$';
ALTER TABLE plain.plain_gq ADD PRIMARY KEY (pk, sk);
CREATE INDEX ON plain.plain_gq ((item->>'g') COLLATE "C", sk);
CREATE TABLE plain_part.plain_gq (LIKE plain.plain_gq INCLUDING ALL) PARTITION BY HASH (pk);
SELECT format('CREATE TABLE plain_part.plain_gq_%s PARTITION OF plain_part.plain_gq FOR VALUES WITH (MODULUS 8, REMAINDER %s)', r, r)
  FROM generate_series(0, 7) r \gexec
INSERT INTO plain_part.plain_gq SELECT * FROM plain.plain_gq;
VACUUM ANALYZE plain.plain_gq;
VACUUM ANALYZE plain_part.plain_gq;
SELECT partkv.wait_for_index('bench_gq', 'by_g', '600s');
-- the GSI's storage is vacuumed and analysed as the plain tables are, so
-- that autovacuum does not run into the measured queries on one side only
SELECT format('VACUUM ANALYZE %I.%I', g.schema_name, g.storage_name)
  FROM partkv.gsi_indexes g WHERE g.table_name = 'bench_gq' \gexec
