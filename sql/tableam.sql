-- The partkv table access method: every write path validates the row as an
-- item, and PostgreSQL's maintenance operations work on kv partitions.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT partkv.create_table('amt', 'pk', 'S', sort_key => 'n', sort_key_type => 'N', partitions => 4) IS NOT NULL;

-- Plain SQL INSERT works and is canonicalised like put_item
INSERT INTO amt VALUES ('a', 1.00, '{"pk": "a", "n": 1.0, "x": 2.50, "l": [1e2]}');
SELECT pk, n, item FROM amt;
SELECT partkv.get_item('amt', '{"pk": "a", "n": 1}');

-- Invalid rows are refused on every path
SELECT try($$INSERT INTO amt VALUES ('b', 1, '[1]')$$);
SELECT try($$INSERT INTO amt VALUES ('b', 1, '{"pk": "b"}')$$);
SELECT try($$INSERT INTO amt VALUES ('b', 1, '{"pk": "c", "n": 1}')$$);
SELECT try($$INSERT INTO amt VALUES ('b', 1, '{"pk": "b", "n": "1"}')$$);
SELECT try($$INSERT INTO amt VALUES ('', 1, '{"pk": "", "n": 1}')$$);
SELECT try($$INSERT INTO amt VALUES ('b', 1, '{"pk": "b", "n": 1, "s": {"$SS": []}}')$$);
SELECT try($$INSERT INTO amt VALUES ('b', 1e200, '{"pk": "b", "n": 1e200}')$$);
SELECT try($$INSERT INTO amt VALUES ('b', 1, NULL)$$);
SELECT try($$UPDATE amt SET item = item - 'n'$$);
SELECT try($$UPDATE amt SET item = item || '{"pk": "zz"}'$$);
SELECT try($$INSERT INTO amt VALUES ('a', 1, '{"pk": "a", "n": 1, "v": 2}') ON CONFLICT (pk, n) DO UPDATE SET item = EXCLUDED.item || '{"bad": {"$B": "!"}}'$$);
SELECT try($$INSERT INTO amt VALUES ('b', 2, '{"pk": "b", "n": 2}') ON CONFLICT DO NOTHING$$);
SELECT try($$INSERT INTO amt VALUES ('c', 3, ('{"pk": "c", "n": 3, "big": "' || repeat('x', 409600) || '"}')::jsonb)$$);
SELECT pk, n, item FROM amt ORDER BY pk, n;

-- UPDATE with a valid change, including a key change that moves partitions
UPDATE amt SET item = item || '{"x": 3}' WHERE pk = 'a';
UPDATE amt SET pk = 'z', item = item || '{"pk": "z"}' WHERE pk = 'b';
SELECT tableoid::regclass, pk, n, item FROM amt ORDER BY pk, n;

-- COPY goes through multi-insert
COPY amt FROM stdin;
d	4	{"pk": "d", "n": 4.000}
e	5	{"pk": "e", "n": 5}
\.
SELECT pk, n, item FROM amt WHERE pk IN ('d', 'e') ORDER BY pk;
-- a bad row fails the whole COPY
SELECT try($$COPY amt FROM PROGRAM 'printf "f\t6\t{\"pk\": \"f\", \"n\": 6}\ng\t7\t{\"pk\": \"g\"}\n"'$$);
SELECT count(*) FROM amt WHERE pk IN ('f', 'g');

-- Plain SQL reads prune to one partition
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT item FROM amt WHERE pk = 'a';
EXPLAIN (COSTS OFF) SELECT item FROM amt WHERE pk = 'a' AND n = 1;

-- 1, 1.0 and 1e0 are the same partition key and land in one partition
SELECT partkv.create_table('numkeys', 'k', 'N', partitions => 8) IS NOT NULL;
INSERT INTO numkeys VALUES (1, '{"k": 1}');
SELECT try($$INSERT INTO numkeys VALUES (1.0, '{"k": 1.0}')$$);
SELECT try($$INSERT INTO numkeys VALUES (1e0, '{"k": 1e0}')$$);
SELECT partkv_internal.xxhash_numeric_extended(1, 7) = partkv_internal.xxhash_numeric_extended(1.000, 7) AS same_hash,
	   partkv_internal.xxhash_numeric_extended(1, 7) = partkv_internal.xxhash_numeric_extended(10, 7) AS hash_of_10;
EXPLAIN (COSTS OFF) SELECT * FROM numkeys WHERE k = 1.00;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT * FROM numkeys WHERE k = 1.00;

-- Items spread over the partitions
INSERT INTO numkeys SELECT g, jsonb_build_object('k', g) FROM generate_series(2, 2000) g;
SELECT count(*) = 8 AS all_partitions_used, min(n) > 150 AS balanced
  FROM (SELECT tableoid, count(*) AS n FROM numkeys GROUP BY tableoid) s;

-- Maintenance operations work on partkv partitions
VACUUM amt;
VACUUM (ANALYZE) numkeys;
ANALYZE amt;
CREATE INDEX amt_x ON amt ((item->>'x'));
CREATE INDEX CONCURRENTLY amt_x2 ON amt_p0 ((item->>'x'));
REINDEX TABLE amt;
CLUSTER amt_p0 USING amt_p0_pkey;
VACUUM FULL amt;
SELECT pk, n, item FROM amt ORDER BY pk, n;
-- a large item is TOASTed in a heap TOAST table
INSERT INTO amt VALUES ('big', 1, jsonb_build_object('pk', 'big', 'n', 1, 'b', repeat('y', 300000)));
SELECT length(item->>'b') FROM amt WHERE pk = 'big';
SELECT count(*) > 0 AS has_toast FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
 WHERE i.inhparent = 'amt'::regclass AND c.reltoastrelid <> 0;
TRUNCATE amt;
SELECT count(*) FROM amt;
INSERT INTO amt VALUES ('after', 1, '{"pk": "after", "n": 1}');
SELECT pk FROM amt;

-- Logical decoding sees changes made through the access method
SELECT 'init' FROM pg_create_logical_replication_slot('regress_partkv_am', 'test_decoding');
SELECT partkv.put_item('amt', '{"pk": "dec", "n": 1, "v": true}');
INSERT INTO amt VALUES ('dec', 2, '{"pk": "dec", "n": 2}');
SELECT regexp_replace(data, 'amt_p[0-9]+', 'amt_pN') FROM pg_logical_slot_get_changes('regress_partkv_am', NULL, NULL, 'include-xids', '0')
 WHERE data NOT LIKE 'BEGIN%' AND data NOT LIKE 'COMMIT%';
SELECT pg_drop_replication_slot('regress_partkv_am');

-- contrib tools that insist on heap's access method refuse kv partitions;
-- index checks work
CREATE EXTENSION pgstattuple;
SELECT try($$SELECT * FROM pgstattuple('amt_p0')$$);
CREATE EXTENSION amcheck;
SELECT try($$SELECT * FROM verify_heapam('amt_p0')$$);
SELECT bt_index_check('amt_p0_pkey', true);
