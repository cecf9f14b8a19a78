-- partkv.query and partkv.scan stream their items (issue 14, defect 6): the
-- planner inlines them into a select-list call that a ProjectSet node asks
-- for one item at a time, so LIMIT, cursors and lateral joins stop reading
-- when the caller stops, and memory stays that of one item.  Results are
-- those of query_page/scan_page walked page by page: same items, same
-- order, same errors.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;

-- 3,000 items of about 1 kB (3 MB: several 1 MB pages), 300 partition keys,
-- an LSI on n (descending with the sort key, to read in another order)
SELECT partkv.create_table('stream_t', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N',
	partitions => 4,
	local_indexes => '[{"IndexName": "by_m", "Projection": {"ProjectionType": "KEYS_ONLY"},
		"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
					  {"AttributeName": "m", "KeyType": "RANGE", "AttributeType": "N"}]}]') IS NOT NULL;
INSERT INTO stream_t
SELECT 'p' || (i / 10), i % 10,
	   jsonb_build_object('pk', 'p' || (i / 10), 'sk', i % 10, 'n', i, 'm', 10 - i % 10,
						  'pad', repeat('x', 1000))
  FROM generate_series(0, 2999) i;

-- every page of a Scan, following LastEvaluatedKey: page count and items
CREATE FUNCTION pg_temp.scan_pages(filter text DEFAULT NULL, vals jsonb DEFAULT NULL,
								   proj text DEFAULT NULL, idx text DEFAULT NULL,
								   seg int DEFAULT NULL, total int DEFAULT NULL,
								   lim int DEFAULT NULL, esk jsonb DEFAULT NULL)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.scan_page('stream_t', filter, vals, NULL, proj, idx, seg, total,
								 lim, esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END $$;

-- every page of a Query
CREATE FUNCTION pg_temp.query_pages(kc text, vals jsonb, filter text DEFAULT NULL,
									proj text DEFAULT NULL, idx text DEFAULT NULL,
									fwd boolean DEFAULT true, lim int DEFAULT NULL)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
	esk jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.query_page('stream_t', kc, vals, NULL, filter, proj, idx, fwd,
								  lim, esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END $$;

-- items read from stream_t so far (partkv's own per-partition counter)
CREATE FUNCTION pg_temp.items_read() RETURNS bigint LANGUAGE sql AS $$
	SELECT sum(items_read)::bigint FROM partkv.partition_stats WHERE table_name = 'stream_t'
$$;
CREATE FUNCTION pg_temp.read_since(before bigint) RETURNS bigint LANGUAGE sql AS $$
	SELECT pg_temp.items_read() - before
$$;

-- the backend's memory, sampled per row (the argument makes it run per row)
CREATE FUNCTION pg_temp.backend_memory(anyelement) RETURNS bigint LANGUAGE sql VOLATILE AS $$
	SELECT sum(total_bytes)::bigint FROM pg_backend_memory_contexts
$$;

-- 1. The plans: no Function Scan (which would store the whole result first)
EXPLAIN (COSTS OFF) SELECT * FROM partkv.scan('stream_t') LIMIT 10;
EXPLAIN (COSTS OFF) SELECT * FROM partkv.query('stream_t', 'pk = :p', '{":p": "p1"}') LIMIT 10;
-- in a select list, the planner support function calls the C function
-- directly (the SQL function executor would plan the body every time)
EXPLAIN (COSTS OFF, VERBOSE) SELECT partkv.scan('stream_t', item_limit => 1);
-- the column keeps the function's name
SELECT * FROM partkv.query('stream_t', 'pk = :p', '{":p": "p1"}', projection => 'sk') LIMIT 2;
SELECT s FROM partkv.scan('stream_t', projection => 'n') AS s LIMIT 1;

-- 2. The same items in the same order as the pages, walked one by one
SELECT p.pages, jsonb_array_length(p.items) AS items,
	   p.items = (SELECT jsonb_agg(x) FROM partkv.scan('stream_t') x) AS same
  FROM pg_temp.scan_pages() p;
SELECT p.pages, p.items = (SELECT jsonb_agg(x) FROM partkv.scan('stream_t') x) AS same
  FROM pg_temp.scan_pages(lim => 700) p;
-- filter, values, projection
SELECT p.pages, jsonb_array_length(p.items) AS items,
	   p.items = (SELECT jsonb_agg(x)
					FROM partkv.scan('stream_t', 'n > :a AND sk <> :b', '{":a": 100, ":b": 3}',
									 projection => 'pk, n')
				  x) AS same
  FROM pg_temp.scan_pages('n > :a AND sk <> :b', '{":a": 100, ":b": 3}', 'pk, n', lim => 500) p;
-- through the LSI (KEYS_ONLY)
SELECT p.pages, jsonb_array_length(p.items) AS items,
	   p.items = (SELECT jsonb_agg(x) FROM partkv.scan('stream_t', index_name => 'by_m') x) AS same
  FROM pg_temp.scan_pages(idx => 'by_m', lim => 1000) p;
-- parallel segments: fewer than the partitions, and more (shared partitions)
SELECT t.total, bool_and(p.items = (SELECT coalesce(jsonb_agg(x), '[]')
									 FROM partkv.scan('stream_t', segment => s, total_segments => t.total) x))
		   AS same,
	   sum(jsonb_array_length(p.items)) AS items
  FROM (VALUES (3), (6)) t(total), generate_series(0, t.total - 1) s,
	   LATERAL pg_temp.scan_pages(seg => s, total => t.total) p
 GROUP BY t.total ORDER BY t.total;
-- resuming after a key
SELECT jsonb_array_length(p.items) AS items,
	   p.items = (SELECT jsonb_agg(x) FROM partkv.scan('stream_t',
					  exclusive_start_key => '{"pk": "p150", "sk": 4}') x) AS same
  FROM pg_temp.scan_pages(esk => '{"pk": "p150", "sk": 4}') p;
-- item_limit caps the items read in all: one page of that many
SELECT (partkv.scan_page('stream_t', 'sk < :s', '{":s": 5}', item_limit => 25))->'Items' =
	   (SELECT jsonb_agg(x) FROM partkv.scan('stream_t', 'sk < :s', '{":s": 5}', item_limit => 25) x)
	   AS same;
-- Query, both directions, filter, projection, LSI
SELECT p.pages, p.items = (SELECT jsonb_agg(x) FROM partkv.query('stream_t', 'pk = :p AND sk > :s',
							   '{":p": "p7", ":s": 2, ":n": 75}', filter => 'n <> :n', projection => 'n',
							   scan_forward => false) x
						   ) AS same
  FROM pg_temp.query_pages('pk = :p AND sk > :s', '{":p": "p7", ":s": 2, ":n": 75}', 'n <> :n', 'n',
						   fwd => false, lim => 3) p;
SELECT p.items = (SELECT jsonb_agg(x) FROM partkv.query('stream_t', 'pk = :p AND m >= :m',
					  '{":p": "p9", ":m": 4}', index_name => 'by_m') x) AS same
  FROM pg_temp.query_pages('pk = :p AND m >= :m', '{":p": "p9", ":m": 4}', idx => 'by_m', lim => 2) p;

-- 3. LIMIT and OFFSET in SQL: a prefix of the same sequence
SELECT (SELECT jsonb_agg(x) FROM (SELECT * FROM partkv.scan('stream_t') LIMIT 25 OFFSET 5) s(x)) =
	   (SELECT jsonb_path_query_array(p.items, '$[5 to 29]') FROM pg_temp.scan_pages() p) AS same;

-- 4. Reading stops when the caller stops
SELECT pg_temp.items_read() AS before \gset
SELECT count(*) FROM (SELECT * FROM partkv.scan('stream_t') LIMIT 10) s;
SELECT pg_temp.read_since(:before) AS items_read;
SELECT pg_temp.items_read() AS before \gset
SELECT EXISTS (SELECT FROM partkv.scan('stream_t', 'n >= :n', '{":n": 0}'));
SELECT pg_temp.read_since(:before) AS items_read;
SELECT pg_temp.items_read() AS before \gset
SELECT x->>'sk' AS sk FROM partkv.query('stream_t', 'pk = :p', '{":p": "p5"}', scan_forward => false) x
 LIMIT 3;
SELECT pg_temp.read_since(:before) AS items_read;
-- in the select list too
SELECT pg_temp.items_read() AS before \gset
SELECT count(*) FROM (SELECT partkv.scan('stream_t') LIMIT 10) s;
SELECT pg_temp.read_since(:before) AS items_read;
-- a whole scan reads everything, once
SELECT pg_temp.items_read() AS before \gset
SELECT count(*) FROM partkv.scan('stream_t');
SELECT pg_temp.read_since(:before) AS items_read;

-- 5. Memory stays that of one item: sampled every 100 items of a whole
-- read, it grows no more than on a read of one item (with work_mem large
-- enough to hold the 3 MB result, a stored result would show)
SET work_mem = '64MB';
CREATE FUNCTION pg_temp.sample(x jsonb) RETURNS bigint LANGUAGE sql AS $$
	SELECT CASE WHEN (x->>'n')::int % 100 = 0 THEN pg_temp.backend_memory(x) END
$$;
SELECT count(pg_temp.backend_memory(x)) FROM partkv.scan('stream_t', item_limit => 1) x;	-- warm caches
SELECT max(pg_temp.backend_memory(x)) AS one FROM partkv.scan('stream_t', item_limit => 1) x \gset
SELECT max(pg_temp.sample(x)) - :one < 1024 * 1024 AS bounded, count(pg_temp.sample(x)) AS samples,
	   count(*) AS items
  FROM partkv.scan('stream_t') x;
-- a Query of 3,000 items of 1 kB
INSERT INTO stream_t
SELECT 'wide', i, jsonb_build_object('pk', 'wide', 'sk', i, 'n', -i, 'm', i, 'pad', repeat('y', 1000))
  FROM generate_series(1, 3000) i;
SELECT max(pg_temp.backend_memory(x)) AS one
  FROM partkv.query('stream_t', 'pk = :p', '{":p": "wide"}', item_limit => 1) x \gset
SELECT max(pg_temp.sample(x)) - :one < 1024 * 1024 AS bounded, count(pg_temp.sample(x)) AS samples,
	   count(*) AS items
  FROM partkv.query('stream_t', 'pk = :p', '{":p": "wide"}') x;
DELETE FROM stream_t WHERE pk = 'wide';
RESET work_mem;

-- 6. Cursors: the scan advances with the fetches, under the snapshot of its
-- first fetch
BEGIN;
DECLARE c CURSOR FOR SELECT x->>'n' AS n FROM partkv.scan('stream_t', projection => 'n') x;
FETCH 3 FROM c;
FETCH 2 FROM c;
MOVE FORWARD ALL IN c;
-- a cursor that is not SCROLL only goes forward
FETCH BACKWARD 1 FROM c;
ROLLBACK;
-- the same in the select list (0.4 crashed here: it kept a pointer to the
-- executor's per-call ReturnSetInfo, which a MOVE passes from another frame)
BEGIN;
DECLARE c CURSOR FOR SELECT partkv.scan('stream_t', projection => 'n');
FETCH 2 FROM c;
MOVE FORWARD ALL IN c;
ROLLBACK;
BEGIN;
DECLARE c CURSOR FOR SELECT partkv_internal.scan_items('stream_t', NULL, NULL, NULL, 'n', NULL, NULL, NULL,
											  NULL, NULL);
FETCH 2 FROM c;
MOVE FORWARD ALL IN c;
ROLLBACK;
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT x->>'n' AS n FROM partkv.scan('stream_t', projection => 'n') x;
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH ABSOLUTE 5 FROM c;
-- an error in a subtransaction leaves the cursor usable
SAVEPOINT a;
SELECT 1 / 0;
ROLLBACK TO a;
FETCH 2 FROM c;
COMMIT;
-- items written after the first fetch (in every partition) are not seen
BEGIN;
DECLARE c CURSOR FOR SELECT x->>'n' AS n FROM partkv.scan('stream_t', 'n < :k', '{":k": 3}') x;
FETCH 1 FROM c \gset
SELECT count(partkv.put_item('stream_t', jsonb_build_object('pk', 'new' || i, 'sk', 0, 'n', -i)))
  FROM generate_series(1, 40) i;
SELECT count(*) FROM partkv.scan('stream_t', 'n < :k', '{":k": 3}');
FETCH ALL FROM c;
ROLLBACK;
-- a holdable cursor outlives its transaction
BEGIN;
DECLARE c CURSOR WITH HOLD FOR SELECT x->>'n' AS n FROM partkv.scan('stream_t', projection => 'n') x;
FETCH 2 FROM c;
COMMIT;
FETCH 2 FROM c;
CLOSE c;
-- a cursor closed early releases its scan
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM partkv.scan('stream_t');
FETCH 1 FROM c \gset
CLOSE c;
COMMIT;

-- 7. Errors: an invalid expression is raised before any row, as before
SELECT * FROM partkv.scan('stream_t', filter => 'n >') LIMIT 1;
SELECT * FROM partkv.query('stream_t', 'pk = :p', '{":p": "p1"}', projection => 'a,,b');
SELECT * FROM partkv.query('stream_t', 'sk = :s', '{":s": 1}');
BEGIN;
DECLARE c CURSOR FOR SELECT * FROM partkv.scan('stream_t', filter => 'n = :missing');
FETCH 1 FROM c;
ROLLBACK;
-- an error of the caller midway through the items ends the scan cleanly
SELECT (x->>'n')::int / ((x->>'n')::int - 1234) FROM partkv.scan('stream_t') x;
SELECT count(*) FROM partkv.scan('stream_t');

-- 8. Rescans: a lateral call per outer row, stopped early by its LIMIT
SELECT pg_temp.items_read() AS before \gset
SELECT v.p, x->>'sk' AS sk
  FROM (VALUES ('p1'), ('p7'), ('p3')) v(p),
	   LATERAL (SELECT * FROM partkv.query('stream_t', 'pk = :p', jsonb_build_object(':p', v.p),
										   scan_forward => v.p <> 'p7')
				 LIMIT 2) s(x);
SELECT pg_temp.read_since(:before) AS items_read;
SELECT g, count(*) FROM generate_series(1, 3) g,
	   LATERAL partkv.scan('stream_t', item_limit => g * 5) x
 GROUP BY g ORDER BY g;

-- 9. Calls the planner cannot inline still return everything (materialised)
SELECT max(o) FROM partkv.scan('stream_t') WITH ORDINALITY AS s(x, o);
SELECT count(*) FROM partkv.scan('stream_t', item_limit => (random() * 0 + 7)::int);
SELECT count(*) FROM ROWS FROM (partkv.scan('stream_t', item_limit => 3),
								partkv.query('stream_t', 'pk = :p', '{":p": "p2"}'));

-- 10. Neither inlining nor the support function bypasses EXECUTE on
-- partkv.scan
CREATE ROLE stream_reader;
GRANT SELECT ON stream_t TO stream_reader;
REVOKE EXECUTE ON FUNCTION partkv.scan(text, text, jsonb, jsonb, text, text, int, int, int, jsonb)
  FROM PUBLIC;
SET ROLE stream_reader;
SELECT * FROM partkv.scan('stream_t', projection => 'n') LIMIT 1;
SELECT partkv.scan('stream_t', projection => 'n') LIMIT 1;
RESET ROLE;
GRANT EXECUTE ON FUNCTION partkv.scan(text, text, jsonb, jsonb, text, text, int, int, int, jsonb)
  TO PUBLIC;
SET ROLE stream_reader;
SELECT partkv.scan('stream_t', projection => 'n') LIMIT 1;
RESET ROLE;
REVOKE ALL ON stream_t FROM stream_reader;
DROP ROLE stream_reader;

SELECT partkv.delete_table('stream_t') IS NOT NULL AS deleted;
