-- setup.sql -- the data every benchmark starts from: the same 200,000 items
-- (20,000 partition keys x 10 sort keys, ~120 bytes each) in
--   public.bench          a partkv table (8 hash partitions, partkv AM)
--   plain.plain_kv        a plain heap table, not partitioned
--   plain_part.plain_kv   a plain heap table, hash-partitioned 8 ways
-- Workload scripts name their table unqualified: the driver sets
-- search_path to plain or plain_part for the two baselines.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS partkv;
SELECT partkv.create_table('bench', 'pk', 'S', sort_key => 'sk', sort_key_type => 'S');

CREATE SCHEMA plain;
CREATE TABLE plain.plain_kv (
	pk text COLLATE "C",
	sk text COLLATE "C",
	item jsonb NOT NULL,
	PRIMARY KEY (pk, sk)
);

CREATE SCHEMA plain_part;
CREATE TABLE plain_part.plain_kv (
	pk text COLLATE "C",
	sk text COLLATE "C",
	item jsonb NOT NULL,
	PRIMARY KEY (pk, sk)
) PARTITION BY HASH (pk);
SELECT format('CREATE TABLE plain_part.plain_kv_%s PARTITION OF plain_part.plain_kv
			   FOR VALUES WITH (MODULUS 8, REMAINDER %s)', r, r)
FROM generate_series(0, 7) r \gexec

-- Items: {"pk": "c<i>", "sk": "s<j>", "v": <n>, "payload": "<32 hex chars>", "tags": [...]}
CREATE TEMP TABLE items AS
SELECT 'c' || i AS pk, 's' || j AS sk,
	   jsonb_build_object('pk', 'c' || i, 'sk', 's' || j, 'v', i * 10 + j,
						  'payload', md5(i::text || '/' || j::text),
						  'tags', jsonb_build_array('a', 'b', 'c')) AS item
FROM generate_series(1, :partition_keys) i, generate_series(1, :sort_keys) j;

INSERT INTO public.bench (pk, sk, item) SELECT pk, sk, item FROM items;
INSERT INTO plain.plain_kv SELECT pk, sk, item FROM items;
INSERT INTO plain_part.plain_kv SELECT pk, sk, item FROM items;

VACUUM (ANALYZE) public.bench;
VACUUM (ANALYZE) plain.plain_kv;
VACUUM (ANALYZE) plain_part.plain_kv;
CHECKPOINT;

-- Sanity: the three tables hold the same items and partkv finds them.
SELECT coalesce((SELECT count(*) FROM public.bench) = :partition_keys * :sort_keys
   AND (SELECT count(*) FROM plain.plain_kv) = :partition_keys * :sort_keys
   AND (SELECT count(*) FROM plain_part.plain_kv) = :partition_keys * :sort_keys
   AND partkv.get_item('bench', '{"pk": "c1", "sk": "s1"}') =
	   (SELECT item FROM plain.plain_kv WHERE pk = 'c1' AND sk = 's1'), false)
	AS setup_ok \gset
\if :setup_ok
\else
DO $$ BEGIN RAISE EXCEPTION 'bench setup: the tables do not hold the same items'; END $$;
\endif
