-- query, query_page, scan, scan_page: key conditions on S, N and B sort
-- keys in both directions, Limit before the filter, 1 MB pages, pagination
-- round trips, parallel scan, and every error path.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- the sort-key values of a query, in the order returned
CREATE FUNCTION pg_temp.q(tbl text, kc text, vals jsonb, fwd boolean DEFAULT true,
						  sk text DEFAULT 's')
RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(x->>sk, ' ' ORDER BY o), '(none)')
	  FROM partkv.query(tbl, kc, vals, scan_forward => fwd) WITH ORDINALITY AS t(x, o)
$$;

-- every page of a query, following LastEvaluatedKey: page count and items
CREATE FUNCTION pg_temp.query_pages(tbl text, kc text, vals jsonb, fwd boolean, lim int,
									filter text DEFAULT NULL)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
	esk jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.query_page(tbl, kc, vals, filter => filter, scan_forward => fwd,
								  item_limit => lim, exclusive_start_key => esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END;
$$;

-- every page of a scan (or of one segment), following LastEvaluatedKey
CREATE FUNCTION pg_temp.scan_pages(tbl text, lim int, seg int DEFAULT NULL, total int DEFAULT NULL)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
	esk jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.scan_page(tbl, segment => seg, total_segments => total,
								 item_limit => lim, exclusive_start_key => esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END;
$$;

SELECT partkv.create_table('q_s', 'p', 'S', sort_key => 's', sort_key_type => 'S', partitions => 4) IS NOT NULL;
SELECT partkv.create_table('q_n', 'p', 'S', sort_key => 'n', sort_key_type => 'N', partitions => 4) IS NOT NULL;
SELECT partkv.create_table('q_b', 'p', 'N', sort_key => 'b', sort_key_type => 'B', partitions => 2) IS NOT NULL;
SELECT partkv.create_table('q_h', 'id', 'S', partitions => 3) IS NOT NULL;

-- S sort keys sort by UTF-8 bytes: A < B < a < ab < abc < b < z < ¿ (C2 BF) < é (C3 A9)
SELECT count(partkv.put_item('q_s', jsonb_build_object('p', 'a', 's', s, 'v', ord)))
  FROM unnest(ARRAY['é', 'b', 'A', 'abc', 'z', 'a', '¿', 'B', 'ab']) WITH ORDINALITY AS t(s, ord);
SELECT count(partkv.put_item('q_s', jsonb_build_object('p', 'other' || g, 's', 'x', 'v', g)))
  FROM generate_series(1, 20) g;
-- N sort keys sort by value (not as text): -10 < -1.5 < 0 < 2 < 10 < 100 < 1000
SELECT count(partkv.put_item('q_n', jsonb_build_object('p', 'k', 'n', n, 'even', n::numeric % 2 = 0)))
  FROM unnest(ARRAY['100', '-1.5', '2', '1e3', '0', '-10', '10']::numeric[]) n;
-- B sort keys sort by unsigned bytes: 00 < 01 < 0102 < 7F < 80 < 8001 < FF < FF01 < FFFF
SELECT count(partkv.put_item('q_b', jsonb_build_object('p', 7, 'b', jsonb_build_object('$B', b), 'hex', h)))
  FROM (VALUES ('AA==', '00'), ('AQ==', '01'), ('AQI=', '0102'), ('fw==', '7f'), ('gA==', '80'),
			   ('gAE=', '8001'), ('/w==', 'ff'), ('/wE=', 'ff01'), ('//8=', 'ffff')) v(b, h);
SELECT count(partkv.put_item('q_h', jsonb_build_object('id', 'i' || g, 'v', g))) FROM generate_series(1, 30) g;

-- every sort-key operator on S, forward and backward
SELECT pg_temp.q('q_s', 'p = :p', '{":p": "a"}');
SELECT pg_temp.q('q_s', 'p = :p', '{":p": "a"}', false);
SELECT pg_temp.q('q_s', 'p = :p AND s = :v', '{":p": "a", ":v": "ab"}');
SELECT pg_temp.q('q_s', 'p = :p AND s = :v', '{":p": "a", ":v": "nope"}');
SELECT pg_temp.q('q_s', 'p = :p AND s < :v', '{":p": "a", ":v": "ab"}');
SELECT pg_temp.q('q_s', 'p = :p AND s < :v', '{":p": "a", ":v": "ab"}', false);
SELECT pg_temp.q('q_s', 'p = :p AND s <= :v', '{":p": "a", ":v": "ab"}');
SELECT pg_temp.q('q_s', 'p = :p AND s > :v', '{":p": "a", ":v": "ab"}');
SELECT pg_temp.q('q_s', 'p = :p AND s > :v', '{":p": "a", ":v": "ab"}', false);
SELECT pg_temp.q('q_s', 'p = :p AND s >= :v', '{":p": "a", ":v": "ab"}');
SELECT pg_temp.q('q_s', 'p = :p AND s BETWEEN :lo AND :hi', '{":p": "a", ":lo": "B", ":hi": "b"}');
SELECT pg_temp.q('q_s', 'p = :p AND s BETWEEN :lo AND :hi', '{":p": "a", ":lo": "B", ":hi": "b"}', false);
SELECT pg_temp.q('q_s', 'p = :p AND s BETWEEN :lo AND :hi', '{":p": "a", ":lo": "b", ":hi": "b"}');
SELECT pg_temp.q('q_s', 'p = :p AND begins_with(s, :pre)', '{":p": "a", ":pre": "a"}');
SELECT pg_temp.q('q_s', 'p = :p AND begins_with(s, :pre)', '{":p": "a", ":pre": "a"}', false);
SELECT pg_temp.q('q_s', 'p = :p AND begins_with(s, :pre)', '{":p": "a", ":pre": "ab"}');
SELECT pg_temp.q('q_s', 'p = :p AND begins_with(s, :pre)', '{":p": "a", ":pre": "¿"}');
SELECT pg_temp.q('q_s', 'p = :p AND begins_with(s, :pre)', '{":p": "a", ":pre": "q"}');
-- either order of conditions and operands, names, parentheses
SELECT pg_temp.q('q_s', ':v > s AND :p = p', '{":p": "a", ":v": "ab"}');
SELECT pg_temp.q('q_s', '(p = :p) AND (s >= :v)', '{":p": "a", ":v": "b"}');
SELECT string_agg(x->>'s', ' ') FROM partkv.query('q_s', '#k = :p AND #s >= :v', '{":p": "a", ":v": "b"}',
												   '{"#k": "p", "#s": "s"}') x;
-- an unknown partition key: nothing
SELECT pg_temp.q('q_s', 'p = :p', '{":p": "zzz"}');

-- N: numeric order and bounds
SELECT pg_temp.q('q_n', 'p = :p', '{":p": "k"}', true, 'n');
SELECT pg_temp.q('q_n', 'p = :p', '{":p": "k"}', false, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n = :v', '{":p": "k", ":v": 1000.00}', true, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n < :v', '{":p": "k", ":v": 2}', true, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n <= :v', '{":p": "k", ":v": 2}', false, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n > :v', '{":p": "k", ":v": 2}', true, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n >= :v', '{":p": "k", ":v": 2}', false, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n BETWEEN :lo AND :hi', '{":p": "k", ":lo": -1.5, ":hi": 1e2}', true, 'n');
SELECT pg_temp.q('q_n', 'p = :p AND n BETWEEN :lo AND :hi', '{":p": "k", ":lo": -1.5, ":hi": 1e2}', false, 'n');

-- B: unsigned byte order; begins_with is a byte prefix (also of 0xFF...)
SELECT pg_temp.q('q_b', 'p = :p', '{":p": 7}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p', '{":p": 7}', false, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND b = :v', '{":p": 7, ":v": {"$B": "gAE="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND b < :v', '{":p": 7, ":v": {"$B": "gA=="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND b <= :v', '{":p": 7, ":v": {"$B": "gA=="}}', false, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND b > :v', '{":p": 7, ":v": {"$B": "fw=="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND b >= :v', '{":p": 7, ":v": {"$B": "fw=="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND b BETWEEN :lo AND :hi', '{":p": 7, ":lo": {"$B": "AQ=="}, ":hi": {"$B": "gA=="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND begins_with(b, :pre)', '{":p": 7, ":pre": {"$B": "AQ=="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND begins_with(b, :pre)', '{":p": 7, ":pre": {"$B": "gA=="}}', false, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND begins_with(b, :pre)', '{":p": 7, ":pre": {"$B": "/w=="}}', true, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND begins_with(b, :pre)', '{":p": 7, ":pre": {"$B": "/w=="}}', false, 'hex');
SELECT pg_temp.q('q_b', 'p = :p AND begins_with(b, :pre)', '{":p": 7, ":pre": {"$B": "//8="}}', true, 'hex');

-- hash-only table: at most one item
SELECT partkv.query('q_h', 'id = :v', '{":v": "i7"}');
SELECT partkv.query_page('q_h', 'id = :v', '{":v": "i7"}', item_limit => 1);
SELECT partkv.query_page('q_h', 'id = :v', '{":v": "nope"}');

-- pages: Count, ScannedCount and LastEvaluatedKey
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k"}');
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k"}', item_limit => 3);
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k"}', item_limit => 3, scan_forward => false);
-- Limit counts items read before the filter: 4 read, 2 returned
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k", ":t": true}', filter => 'even = :t', item_limit => 4);
-- a page can be empty and still carry LastEvaluatedKey
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k", ":x": "no"}', filter => 'even = :x', item_limit => 2);
SELECT partkv.query_page('q_n', 'p = :p AND n > :v', '{":p": "k", ":v": 5, ":t": true}', filter => 'even = :t');
-- LastEvaluatedKey even when Limit is reached on the last item
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k"}', item_limit => 7)->'LastEvaluatedKey';
SELECT partkv.query_page('q_n', 'p = :p', '{":p": "k"}', item_limit => 8) ? 'LastEvaluatedKey';
-- binary keys come back as {"$B": ...}
SELECT partkv.query_page('q_b', 'p = :p', '{":p": 7}', item_limit => 2, projection => 'hex');
-- query() with item_limit caps the items read; the filter applies after
SELECT string_agg(x->>'n', ' ') FROM partkv.query('q_n', 'p = :p', '{":p": "k"}', item_limit => 3) x;
SELECT string_agg(x->>'n', ' ') FROM partkv.query('q_n', 'p = :p', '{":p": "k", ":t": true}', filter => 'even = :t', item_limit => 4) x;
-- projection is applied last; keys are not added
SELECT partkv.query('q_n', 'p = :p AND n = :v', '{":p": "k", ":v": 2}', projection => 'even');
SELECT partkv.query('q_n', 'p = :p AND n = :v', '{":p": "k", ":v": 2}', projection => 'nothing');
SELECT partkv.query('q_n', 'p = :p AND n = :v', '{":p": "k", ":v": 2}', projection => '#e, n', attr_names => '{"#e": "even"}');

-- exclusive_start_key resumes strictly after it, in scan direction; the key need not exist
SELECT partkv.query_page('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "s": "ab"}', projection => 's');
SELECT partkv.query_page('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "s": "ab"}', projection => 's', scan_forward => false);
SELECT partkv.query_page('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "s": "aa"}', projection => 's', item_limit => 2);
SELECT partkv.query_page('q_s', 'p = :p AND begins_with(s, :x)', '{":p": "a", ":x": "a"}', exclusive_start_key => '{"p": "a", "s": "ab"}', projection => 's');
SELECT partkv.query_page('q_n', 'p = :p AND n BETWEEN :lo AND :hi', '{":p": "k", ":lo": -5, ":hi": 100}', exclusive_start_key => '{"p": "k", "n": 10}', projection => 'n', scan_forward => false);

-- pagination round trips equal the full query, in both directions
SELECT r.pages, r.items = (SELECT jsonb_agg(x ORDER BY o) FROM partkv.query('q_s', 'p = :p', '{":p": "a"}') WITH ORDINALITY t(x, o)) AS same
  FROM pg_temp.query_pages('q_s', 'p = :p', '{":p": "a"}', true, 2) r;
SELECT r.pages, r.items = (SELECT jsonb_agg(x ORDER BY o) FROM partkv.query('q_s', 'p = :p', '{":p": "a"}', scan_forward => false) WITH ORDINALITY t(x, o)) AS same
  FROM pg_temp.query_pages('q_s', 'p = :p', '{":p": "a"}', false, 2) r;
SELECT r.pages, (SELECT string_agg(i->>'n', ' ') FROM jsonb_array_elements(r.items) i)
  FROM pg_temp.query_pages('q_n', 'p = :p AND n > :v', '{":p": "k", ":v": -10}', true, 1) r;
SELECT r.pages, (SELECT string_agg(i->>'n', ' ') FROM jsonb_array_elements(r.items) i)
  FROM pg_temp.query_pages('q_n', 'p = :p AND n > :v', '{":p": "k", ":v": -10}', false, 4) r;
SELECT r.pages, (SELECT string_agg(i->>'hex', ' ') FROM jsonb_array_elements(r.items) i)
  FROM pg_temp.query_pages('q_b', 'p = :p', '{":p": 7}', false, 2) r;
SELECT r.pages, (SELECT string_agg(i->>'hex', ' ') FROM jsonb_array_elements(r.items) i)
  FROM pg_temp.query_pages('q_b', 'p = :p AND begins_with(b, :x)', '{":p": 7, ":x": {"$B": "/w=="}}', true, 1) r;

-- 1 MB pages: items of ~100 KB; a page stops after the item that brings the
-- data read to 1 MB (11 items), before the filter too
SELECT partkv.create_table('q_big', 'p', 'S', sort_key => 'n', sort_key_type => 'N', partitions => 2) IS NOT NULL;
SELECT count(partkv.put_item('q_big', jsonb_build_object('p', 'big', 'n', g, 'blob', repeat(chr(65 + g % 26), 100000))))
  FROM generate_series(1, 25) g;
SELECT partkv.item_size(item) FROM q_big LIMIT 1;
SELECT jsonb_array_length(pg->'Items') AS items, pg->'Count' AS count, pg->'ScannedCount' AS scanned, pg->'LastEvaluatedKey' AS lek
  FROM partkv.query_page('q_big', 'p = :p', '{":p": "big"}') pg;
SELECT jsonb_array_length(pg->'Items') AS items, pg->'Count' AS count, pg->'ScannedCount' AS scanned, pg->'LastEvaluatedKey' AS lek
  FROM partkv.query_page('q_big', 'p = :p', '{":p": "big"}', scan_forward => false) pg;
SELECT pg->'Count' AS count, pg->'ScannedCount' AS scanned, pg->'LastEvaluatedKey' AS lek
  FROM partkv.query_page('q_big', 'p = :p', '{":p": "big", ":n": "x"}', filter => '#b = :n', attr_names => '{"#b": "blob"}') pg;
SELECT pg->'Count' AS count, pg->'ScannedCount' AS scanned, pg->'LastEvaluatedKey' AS lek
  FROM partkv.query_page('q_big', 'p = :p', '{":p": "big"}', projection => 'n', item_limit => 5) pg;
SELECT r.pages, jsonb_array_length(r.items), (SELECT string_agg(i->>'n', ' ') FROM jsonb_array_elements(r.items) i)
  FROM pg_temp.query_pages('q_big', 'p = :p', '{":p": "big"}', true, NULL) r;
SELECT r.pages, jsonb_array_length(r.items) FROM pg_temp.query_pages('q_big', 'p = :p', '{":p": "big"}', false, NULL) r;
SELECT jsonb_array_length(pg->'Items') AS items, pg->'LastEvaluatedKey' AS lek FROM partkv.scan_page('q_big', projection => 'n') pg;
SELECT r.pages, jsonb_array_length(r.items) FROM pg_temp.scan_pages('q_big', NULL) r;
-- query() and scan() are not cut at 1 MB
SELECT count(*) FROM partkv.query('q_big', 'p = :p', '{":p": "big"}');
SELECT count(*) FROM partkv.scan('q_big');

-- own writes are visible inside a transaction; a rolled-back write is not
BEGIN;
SELECT partkv.put_item('q_s', '{"p": "a", "s": "new"}');
SELECT pg_temp.q('q_s', 'p = :p AND s > :v', '{":p": "a", ":v": "m"}');
ROLLBACK;
SELECT pg_temp.q('q_s', 'p = :p AND s > :v', '{":p": "a", ":v": "m"}');
-- consistent_read is accepted
SELECT count(*) FROM partkv.query('q_s', 'p = :p', '{":p": "a"}', consistent_read => true);

-- stopping early releases the scan (no leak warnings); a cursor reads lazily
SELECT x->>'s' FROM partkv.query('q_s', 'p = :p', '{":p": "a"}') x LIMIT 2;
SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', projection => 's') LIMIT 3;
BEGIN;
DECLARE c CURSOR FOR SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', projection => 's');
FETCH 2 FROM c;
FETCH 2 FROM c;
CLOSE c;
COMMIT;
SELECT count(*) FROM (SELECT partkv.scan('q_h') LIMIT 5) x;

-- Scan: every item once, filters may use keys, projection
SELECT count(*), count(DISTINCT x) FROM partkv.scan('q_s') x;
SELECT (SELECT jsonb_agg(i ORDER BY i) FROM partkv.scan('q_s') i) =
	   (SELECT jsonb_agg(item ORDER BY item) FROM q_s) AS scan_is_table;
SELECT string_agg(x->>'s', ' ' ORDER BY x->>'s' COLLATE "C") FROM partkv.scan('q_s', 'p = :p', '{":p": "a"}') x;
SELECT string_agg(x::text, ' ' ORDER BY x::text) FROM partkv.scan('q_h', 'v < :n', '{":n": 4}', projection => 'id') x;
SELECT partkv.scan_page('q_h', 'v = :n', '{":n": 4}');
SELECT x->'Count', x->'ScannedCount', x->'LastEvaluatedKey' IS NOT NULL FROM partkv.scan_page('q_h', 'v < :n', '{":n": 4}', item_limit => 10) x;
SELECT count(*) FROM partkv.scan('q_h', item_limit => 7);
-- partitions come one after the other, by remainder, each in primary key order
CREATE TEMP TABLE scan_order AS
	SELECT t.o, q.tableoid::regclass::text AS part, q.p, q.s
	  FROM partkv.scan('q_s') WITH ORDINALITY t(x, o) JOIN q_s q ON q.item = t.x;
SELECT string_agg(part, ' ' ORDER BY first) FROM (SELECT part, min(o) AS first FROM scan_order GROUP BY part) x;
SELECT count(*) FILTER (WHERE part IS DISTINCT FROM prev) AS runs,
	   bool_and(part IS DISTINCT FROM prev OR (p, s) > (prev_p, prev_s)) AS key_order
  FROM (SELECT part, p, s, lag(part) OVER w AS prev, lag(p) OVER w AS prev_p, lag(s) OVER w AS prev_s
		  FROM scan_order WINDOW w AS (ORDER BY o)) x;
-- scan pagination round trips, every page size
SELECT lim, r.pages, (SELECT jsonb_agg(i ORDER BY i) FROM jsonb_array_elements(r.items) i) =
					  (SELECT jsonb_agg(i ORDER BY i) FROM partkv.scan('q_h') i) AS same,
	   jsonb_array_length(r.items) AS n
  FROM unnest(ARRAY[1, 4, 7, 29, 30, 31, 100]) lim, pg_temp.scan_pages('q_h', lim) r;
SELECT r.pages, jsonb_array_length(r.items) FROM pg_temp.scan_pages('q_s', 3) r;
-- Scan resumes after any key of the table, even one that does not exist
SELECT count(*) FROM jsonb_array_elements(
	(partkv.scan_page('q_s', exclusive_start_key => '{"p": "a", "s": "b"}'))->'Items');
SELECT count(*) FROM jsonb_array_elements(
	(partkv.scan_page('q_s', exclusive_start_key => '{"p": "a", "s": "ba"}'))->'Items');
SELECT count(*) FROM partkv.scan('q_s', exclusive_start_key => '{"p": "zzz", "s": "x"}');

-- parallel scan: segments are disjoint and together cover the table,
-- with fewer and with more segments than partitions
SELECT partkv.create_table('q_par', 'p', 'S', sort_key => 'n', sort_key_type => 'N', partitions => 4) IS NOT NULL;
SELECT count(partkv.put_item('q_par', jsonb_build_object('p', 'p' || (g % 37), 'n', g))) FROM generate_series(1, 300) g;
SELECT total,
	   (SELECT count(*) FROM generate_series(0, total - 1) s, partkv.scan('q_par', segment => s, total_segments => total)) AS rows,
	   (SELECT count(DISTINCT x) FROM generate_series(0, total - 1) s, partkv.scan('q_par', segment => s, total_segments => total) x) AS distinct_rows,
	   (SELECT jsonb_agg(x ORDER BY x) FROM generate_series(0, total - 1) s, partkv.scan('q_par', segment => s, total_segments => total) x) =
	   (SELECT jsonb_agg(x ORDER BY x) FROM partkv.scan('q_par') x) AS covers,
	   (SELECT count(*) FROM generate_series(0, total - 1) s
		 WHERE EXISTS (SELECT FROM partkv.scan('q_par', segment => s, total_segments => total))) AS nonempty_segments
  FROM unnest(ARRAY[1, 3, 4, 8, 20]) total;
-- a partition key lives in exactly one segment
SELECT total, bool_and(nseg = 1) FROM (
	SELECT total, x->>'p' AS p, count(DISTINCT s) AS nseg
	  FROM unnest(ARRAY[3, 8, 20]) total, generate_series(0, total - 1) s,
		   partkv.scan('q_par', segment => s, total_segments => total) x
	 GROUP BY 1, 2) g GROUP BY 1 ORDER BY 1;
-- far more segments than items: most are empty, none overlap
SELECT count(*), count(DISTINCT x) FROM generate_series(0, 999) s,
	   partkv.scan('q_par', segment => s, total_segments => 1000) x;
SELECT count(*) FROM partkv.scan('q_par', segment => 999999, total_segments => 1000000);
-- pagination within a segment stays in it
SELECT total, seg, r.pages,
	   (SELECT jsonb_agg(i ORDER BY i) FROM jsonb_array_elements(r.items) i) IS NOT DISTINCT FROM
	   (SELECT jsonb_agg(x ORDER BY x) FROM partkv.scan('q_par', segment => seg, total_segments => total) x) AS same
  FROM (VALUES (3, 1), (8, 5), (20, 2), (20, 17)) v(total, seg),
	   pg_temp.scan_pages('q_par', 6, seg, total) r;

-- errors: key conditions
SELECT try($$SELECT partkv.query('q_s', NULL)$$);
SELECT try($$SELECT partkv.query_page(NULL, 'p = :p', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', '', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = ', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 's = :p', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p > :p', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND x = :x', '{":p": "a", ":x": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND s = :s AND x = :x', '{":p": "a", ":s": "b", ":x": 1}')$$);
SELECT try($$SELECT partkv.query('q_h', 'id = :p AND x = :x', '{":p": "a", ":x": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p OR s = :s', '{":p": "a", ":s": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND s <> :s', '{":p": "a", ":s": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND p = :s', '{":p": "a", ":s": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND s.x = :s', '{":p": "a", ":s": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND size(s) = :s', '{":p": "a", ":s": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND :s BETWEEN s AND :s2', '{":p": "a", ":s": "a", ":s2": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND :s = :s2', '{":p": "a", ":s": "a", ":s2": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND s > :s', '{":p": "a", ":s": 1}')$$);
SELECT try($$SELECT partkv.query('q_n', 'p = :p AND n > :s', '{":p": "k", ":s": "1"}')$$);
SELECT try($$SELECT partkv.query('q_b', 'p = :p', '{":p": "7"}')$$);
SELECT try($$SELECT partkv.query('q_b', 'p = :p AND b = :b', '{":p": 7, ":b": "AA=="}')$$);
SELECT try($$SELECT partkv.query('q_n', 'p = :p AND begins_with(n, :s)', '{":p": "k", ":s": 1}')$$);
SELECT try($$SELECT partkv.query('q_n', 'p = :p AND begins_with(n, :s)', '{":p": "k", ":s": "1"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND s BETWEEN :a AND :b', '{":p": "a", ":a": "b", ":b": "a"}')$$);
SELECT try($$SELECT partkv.query('q_n', 'p = :p AND n BETWEEN :a AND :b', '{":p": "k", ":a": 5, ":b": -5}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": ""}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a", ":q": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', '{"#n": "x"}')$$);
-- errors: filters of a Query may not use key attributes
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a", ":x": "b"}', filter => 's = :x')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a", ":x": "b"}', filter => 'v = :x OR attribute_exists(#k)', attr_names => '{"#k": "p"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', filter => 'v = ')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', projection => 'v,')$$);
-- errors: limits, tables, indexes
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', item_limit => 0)$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', item_limit => 0, index_name => 'x!')$$);
SELECT try($$SELECT partkv.query('no_such_table', 'p = :p', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q', 'p = :p', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', index_name => 'nope')$$);
SELECT partkv.create_table('{"TableName": "q_idx", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}],
	"AttributeDefinitions": [{"AttributeName": "p", "AttributeType": "S"}, {"AttributeName": "s", "AttributeType": "S"},
							 {"AttributeName": "l", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "S"}],
	"LocalSecondaryIndexes": [{"IndexName": "by_l", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
	"GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}]}') IS NOT NULL;
SELECT try($$SELECT partkv.query('q_idx', 'p = :p', '{":p": "a"}', index_name => 'by_x')$$);
SELECT try($$SELECT partkv.query('q_idx', 'p = :p', '{":p": "a"}', index_name => 'by_l')$$);
SELECT try($$SELECT partkv.query('q_idx', 'g = :p', '{":p": "a"}', index_name => 'by_g', consistent_read => true)$$);
SELECT try($$SELECT partkv.query('q_idx', 'g = :p', '{":p": "a"}', index_name => 'by_g')$$);
SELECT try($$SELECT partkv.scan('q_idx', index_name => 'by_g')$$);
SELECT try($$SELECT partkv.scan('q_idx', index_name => 'nope')$$);
-- errors: exclusive_start_key of a Query
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "s": "b", "x": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "x": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '[1, 2]')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "s": 1}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "a", "s": ""}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}', exclusive_start_key => '{"p": "b", "s": "b"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND s > :s', '{":p": "a", ":s": "b"}', exclusive_start_key => '{"p": "a", "s": "a"}')$$);
SELECT try($$SELECT partkv.query('q_s', 'p = :p AND begins_with(s, :s)', '{":p": "a", ":s": "b"}', exclusive_start_key => '{"p": "a", "s": "a"}')$$);
SELECT try($$SELECT partkv.query('q_n', 'p = :p AND n BETWEEN :a AND :b', '{":p": "k", ":a": 1, ":b": 5}', exclusive_start_key => '{"p": "k", "n": 6}')$$);
SELECT try($$SELECT partkv.query('q_h', 'id = :p', '{":p": "i1"}', exclusive_start_key => '{"id": "i1"}')$$);
SELECT try($$SELECT partkv.query('q_b', 'p = :p', '{":p": 7}', exclusive_start_key => '{"p": 7, "b": {"$B": "AA"}}')$$);
-- errors: Scan
SELECT try($$SELECT partkv.scan('q_s', segment => 1)$$);
SELECT try($$SELECT partkv.scan('q_s', total_segments => 4)$$);
SELECT try($$SELECT partkv.scan('q_s', segment => 4, total_segments => 4)$$);
SELECT try($$SELECT partkv.scan('q_s', segment => 0, total_segments => 0)$$);
SELECT try($$SELECT partkv.scan('q_s', segment => 0, total_segments => 1000001)$$);
SELECT try($$SELECT partkv.scan('q_s', segment => -1, total_segments => 4)$$);
SELECT try($$SELECT partkv.scan('q_s', segment => -1, total_segments => 0)$$);
SELECT try($$SELECT partkv.scan_page('q_s', item_limit => -3)$$);
SELECT try($$SELECT partkv.scan('q_s', attr_values => '{":x": 1}')$$);
SELECT try($$SELECT partkv.scan('q_s', 'x = :x')$$);
SELECT try($$SELECT partkv.scan('q_s', exclusive_start_key => '{"p": "a"}')$$);
SELECT try($$SELECT partkv.scan('q_s', exclusive_start_key => '{"p": 1, "s": "a"}')$$);
-- a segment's start key must lie in that segment
SELECT s, try(format($$SELECT partkv.scan('q_par', segment => %s, total_segments => 3, exclusive_start_key => '{"p": "p1", "n": 1}')$$, s))
  FROM generate_series(0, 2) s;
SELECT count(*) FILTER (WHERE r = 'ok') AS accepted, count(*) AS segments FROM (
	SELECT try(format($$SELECT partkv.scan('q_par', segment => %s, total_segments => 20, exclusive_start_key => '{"p": "p1", "n": 1}')$$, s)) r
	  FROM generate_series(0, 19) s) x;

-- privileges: reading needs SELECT on the table
CREATE ROLE q_reader;
SET ROLE q_reader;
SELECT try($$SELECT partkv.query('q_s', 'p = :p', '{":p": "a"}')$$);
SELECT try($$SELECT partkv.scan_page('q_s')$$);
RESET ROLE;
GRANT SELECT ON q_s TO q_reader;
SET ROLE q_reader;
SELECT count(*) FROM partkv.query('q_s', 'p = :p', '{":p": "a"}');
SELECT count(*) FROM partkv.scan('q_s');
RESET ROLE;
REVOKE SELECT ON q_s FROM q_reader;
DROP ROLE q_reader;
