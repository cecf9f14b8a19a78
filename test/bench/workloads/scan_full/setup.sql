-- Tables for the scan workloads (scan_full, scan_limit): setup.sql's items,
-- generated again rather than copied from bench and plain_kv, which the
-- write workloads run before these change and grow (by different amounts
-- on each side).  Created once, whichever scan workload runs first.
SET client_min_messages = warning;
SELECT to_regclass('public.bench_scan') IS NULL AS missing \gset
\if :missing
SELECT partkv.create_table('bench_scan', 'pk', 'S', sort_key => 'sk', sort_key_type => 'S') IS NOT NULL;
CREATE TABLE plain.plain_scan (LIKE plain.plain_kv INCLUDING ALL);
CREATE TABLE plain_part.plain_scan (LIKE plain.plain_kv INCLUDING ALL) PARTITION BY HASH (pk);
SELECT format('CREATE TABLE plain_part.plain_scan_%s PARTITION OF plain_part.plain_scan
			   FOR VALUES WITH (MODULUS 8, REMAINDER %s)', r, r)
  FROM generate_series(0, 7) r \gexec
CREATE TEMP TABLE scan_items AS
SELECT 'c' || i AS pk, 's' || j AS sk,
	   jsonb_build_object('pk', 'c' || i, 'sk', 's' || j, 'v', i * 10 + j,
						  'payload', md5(i::text || '/' || j::text),
						  'tags', jsonb_build_array('a', 'b', 'c')) AS item
  FROM generate_series(1, :partition_keys) i, generate_series(1, :sort_keys) j;
INSERT INTO public.bench_scan (pk, sk, item) SELECT pk, sk, item FROM scan_items;
INSERT INTO plain.plain_scan SELECT pk, sk, item FROM scan_items;
INSERT INTO plain_part.plain_scan SELECT pk, sk, item FROM scan_items;
VACUUM ANALYZE public.bench_scan;
VACUUM ANALYZE plain.plain_scan;
VACUUM ANALYZE plain_part.plain_scan;
\endif
