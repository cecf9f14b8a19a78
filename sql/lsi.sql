-- Local secondary indexes: create_table in both forms, sparse indexes on S,
-- N and B sort keys, index key checks on every write path, Query and Scan
-- through an LSI (key conditions, both directions, filters, projections,
-- pagination), describe_table, and plain SQL using the LSI indexes.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- "<index key>/<id>" of every item of a query through an index, in order
CREATE FUNCTION pg_temp.q(idx text, kc text, vals jsonb, fwd boolean DEFAULT true,
						  a text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(coalesce(x->>coalesce(a, CASE idx WHEN 'by_title' THEN 'title'
															 WHEN 'by_votes' THEN 'votes'
															 ELSE 'sig' END), '-')
							   || '/' || (x->>'id'), ' ' ORDER BY o), '(none)')
	  FROM partkv.query('posts', kc, vals, index_name => idx, scan_forward => fwd)
		   WITH ORDINALITY AS t(x, o)
$$;

-- every page of a query through an index, following LastEvaluatedKey
CREATE FUNCTION pg_temp.query_pages(idx text, kc text, vals jsonb, fwd boolean, lim int,
									filter text DEFAULT NULL)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
	esk jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.query_page('posts', kc, vals, filter => filter, index_name => idx,
								  scan_forward => fwd, item_limit => lim,
								  exclusive_start_key => esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END;
$$;

-- every page of a scan through an index (or of one segment)
CREATE FUNCTION pg_temp.scan_pages(idx text, lim int, seg int DEFAULT NULL, total int DEFAULT NULL)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
	esk jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.scan_page('posts', index_name => idx, segment => seg,
								 total_segments => total, item_limit => lim,
								 exclusive_start_key => esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END;
$$;

-------------------------------------------------------------------------------
-- create_table: function form (KeySchema elements may carry AttributeType)
-------------------------------------------------------------------------------
SELECT jsonb_pretty(partkv.create_table('posts', 'forum', sort_key => 'id', partitions => 4,
	local_indexes => '[
	  {"IndexName": "by_title",
	   "KeySchema": [{"AttributeName": "forum", "KeyType": "HASH"}, {"AttributeName": "title", "KeyType": "RANGE"}],
	   "Projection": {"ProjectionType": "ALL"}},
	  {"IndexName": "by_votes",
	   "KeySchema": [{"AttributeName": "forum", "KeyType": "HASH"}, {"AttributeName": "votes", "KeyType": "RANGE", "AttributeType": "N"}],
	   "Projection": {"ProjectionType": "KEYS_ONLY"}},
	  {"IndexName": "by_sig",
	   "KeySchema": [{"AttributeName": "forum", "KeyType": "HASH"}, {"AttributeName": "sig", "KeyType": "RANGE", "AttributeType": "B"}],
	   "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["author", "forum"]}}]')
	- 'TableId' - 'CreationDateTime' - 'TableSizeBytes') AS d;

-- one partial B-tree index per LSI, (pk, LSI key, sk), on every partition
SELECT indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'public' AND tablename = 'posts' ORDER BY indexname;
SELECT c.relname AS partition, count(*) AS indexes
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  JOIN pg_index x ON x.indrelid = c.oid
 WHERE i.inhparent = 'posts'::regclass GROUP BY c.relname ORDER BY 1;

-- request-body form: number sort key, an S LSI with INCLUDE, and a GSI
SELECT partkv.create_table('{
  "TableName": "events",
  "KeySchema": [{"AttributeName": "dev", "KeyType": "HASH"}, {"AttributeName": "ts", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "dev", "AttributeType": "S"},
                           {"AttributeName": "ts", "AttributeType": "N"},
                           {"AttributeName": "kind", "AttributeType": "S"},
                           {"AttributeName": "g", "AttributeType": "S"}],
  "LocalSecondaryIndexes": [{"IndexName": "by_kind", "KeySchema": [{"AttributeName": "dev", "KeyType": "HASH"}, {"AttributeName": "kind", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["level"]}}],
  "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
  "Partitions": 2
}')->'LocalSecondaryIndexes';
SELECT indexname, indexdef FROM pg_indexes
 WHERE schemaname = 'public' AND tablename = 'events' ORDER BY indexname;

-------------------------------------------------------------------------------
-- the extractors
-------------------------------------------------------------------------------
SELECT partkv.key_text('{"a": "x"}', 'a'), partkv.key_text('{"a": 1}', 'a') IS NULL,
	   partkv.key_text('{"b": "x"}', 'a') IS NULL, partkv.key_text('[1]', 'a') IS NULL;
SELECT partkv.key_numeric('{"a": 1.50}', 'a'), partkv.key_numeric('{"a": "1"}', 'a') IS NULL;
SELECT partkv.key_bytea('{"a": {"$B": "AAH/"}}', 'a'), partkv.key_bytea('{"a": "AAH/"}', 'a') IS NULL,
	   partkv.key_bytea('{"a": {"$B": "AA==", "x": 1}}', 'a') IS NULL;
-- S keys compare bytewise (collation "C") without a COLLATE clause
SELECT pg_collation_for(partkv.key_text('{"a": "x"}', 'a'));
SELECT partkv.key_text('{"a": "Z"}', 'a') < 'a', partkv.key_text('{"a": "a"}', 'a') < 'Ä';

-------------------------------------------------------------------------------
-- data: 30 posts in forum "db", 3 in forum "os"; sparse index keys
-------------------------------------------------------------------------------
-- title: t0..t6 (repeated, so equal LSI keys are ordered by id), absent for i % 5 = 0
-- votes: -5..5 (repeated, one fraction), absent for i % 4 = 0
-- sig:   one byte, only for i % 3 = 0
SELECT count(partkv.put_item('posts', jsonb_strip_nulls(jsonb_build_object(
		'forum', 'db', 'id', lpad(i::text, 3, '0'),
		'title', CASE WHEN i % 5 <> 0 THEN 't' || (i % 7) END,
		'votes', CASE WHEN i % 4 <> 0 THEN (i * 37) % 11 - 5 + CASE WHEN i = 7 THEN 0.5 ELSE 0 END END,
		'sig', CASE WHEN i % 3 = 0 THEN jsonb_build_object('$B', encode(decode(lpad(to_hex((i * 53) % 256), 2, '0'), 'hex'), 'base64')) END,
		'author', 'u' || (i % 3), 'body', repeat('x', i)))))
  FROM generate_series(1, 30) i;
SELECT count(partkv.put_item('posts', jsonb_build_object('forum', 'os', 'id', lpad(i::text, 3, '0'),
		'title', 'z' || i, 'votes', i, 'sig', jsonb_build_object('$B', 'AA=='))))
  FROM generate_series(1, 3) i;

-- sparse: each index holds only the items having its key
SELECT (SELECT count(*) FROM partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title')) AS titled,
	   (SELECT count(*) FROM partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_votes')) AS voted,
	   (SELECT count(*) FROM partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_sig')) AS signed,
	   (SELECT count(*) FROM partkv.query('posts', 'forum = :f', '{":f": "db"}')) AS total;

-------------------------------------------------------------------------------
-- Query through an LSI: index order, every key condition, both directions
-------------------------------------------------------------------------------
SELECT pg_temp.q('by_title', 'forum = :f', '{":f": "db"}');
SELECT pg_temp.q('by_title', 'forum = :f', '{":f": "db"}', false);
SELECT pg_temp.q('by_title', 'forum = :f AND title = :t', '{":f": "db", ":t": "t3"}');
SELECT pg_temp.q('by_title', 'forum = :f AND title < :t', '{":f": "db", ":t": "t2"}');
SELECT pg_temp.q('by_title', 'forum = :f AND title <= :t', '{":f": "db", ":t": "t1"}');
SELECT pg_temp.q('by_title', 'forum = :f AND title > :t', '{":f": "db", ":t": "t5"}');
SELECT pg_temp.q('by_title', 'forum = :f AND title >= :t', '{":f": "db", ":t": "t5"}', false);
SELECT pg_temp.q('by_title', 'forum = :f AND title BETWEEN :a AND :b', '{":f": "db", ":a": "t2", ":b": "t3"}');
SELECT pg_temp.q('by_title', 'begins_with(title, :p) AND forum = :f', '{":f": "db", ":p": "t4"}', false);
SELECT pg_temp.q('by_title', 'forum = :f AND :t < title', '{":f": "db", ":t": "t5"}');
SELECT pg_temp.q('by_title', 'forum = :f', '{":f": "os"}');
SELECT pg_temp.q('by_title', 'forum = :f', '{":f": "nobody"}');
-- N keys in numeric order (the fraction sorts between its neighbours)
SELECT pg_temp.q('by_votes', 'forum = :f', '{":f": "db"}');
SELECT pg_temp.q('by_votes', 'forum = :f AND votes < :v', '{":f": "db", ":v": -3}');
SELECT pg_temp.q('by_votes', 'forum = :f AND votes BETWEEN :a AND :b', '{":f": "db", ":a": 0, ":b": 1}', false);
SELECT pg_temp.q('by_votes', 'forum = :f AND votes = :v', '{":f": "db", ":v": 1.5}');
-- B keys in unsigned byte order
SELECT pg_temp.q('by_sig', 'forum = :f', '{":f": "db"}');
SELECT pg_temp.q('by_sig', 'forum = :f AND sig > :s', '{":f": "db", ":s": {"$B": "gA=="}}');
SELECT pg_temp.q('by_sig', 'forum = :f AND begins_with(sig, :s)', '{":f": "db", ":s": {"$B": "nw=="}}');
-- ConsistentRead is allowed on an LSI
SELECT count(*) FROM partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title', consistent_read => true);

-------------------------------------------------------------------------------
-- filters and projections
-------------------------------------------------------------------------------
SELECT pg_temp.q('by_title', 'forum = :f AND title < :t', '{":f": "db", ":t": "t3"}') AS unfiltered;
SELECT string_agg(x->>'title' || '/' || (x->>'id'), ' ')
  FROM partkv.query('posts', 'forum = :f AND title < :t', '{":f": "db", ":t": "t3", ":a": "u1"}',
					filter => 'author = :a', index_name => 'by_title') x;
-- ALL: whole items; KEYS_ONLY: table keys and index key; INCLUDE: and NonKeyAttributes
SELECT x FROM partkv.query('posts', 'forum = :f AND title = :t', '{":f": "db", ":t": "t6"}', index_name => 'by_title') x;
SELECT x FROM partkv.query('posts', 'forum = :f AND votes >= :v', '{":f": "db", ":v": 4}', index_name => 'by_votes') x;
SELECT x FROM partkv.query('posts', 'forum = :f AND sig < :s', '{":f": "db", ":s": {"$B": "QA=="}}', index_name => 'by_sig') x;
-- a ProjectionExpression may ask for attributes the index does not project
SELECT x FROM partkv.query('posts', 'forum = :f AND votes >= :v', '{":f": "db", ":v": 4}',
						   projection => 'body, author', index_name => 'by_votes') x;
-- a filter may read attributes the index does not project
SELECT x FROM partkv.query('posts', 'forum = :f AND votes >= :v', '{":f": "db", ":v": 4, ":a": "u0"}',
						   filter => 'author = :a', index_name => 'by_votes') x;
-- a Query filter may not use the table's keys nor the index key
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db", ":t": "t1"}', filter => 'title = :t', index_name => 'by_title')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db", ":t": "t1"}', filter => 'id = :t', index_name => 'by_title')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db", ":t": "t1"}', filter => 'forum = :t', index_name => 'by_title')$$);
-- the table's own queries may still filter on an LSI key
SELECT count(*) FROM partkv.query('posts', 'forum = :f', '{":f": "db", ":t": "t1"}', filter => 'title = :t');

-------------------------------------------------------------------------------
-- key condition errors on an LSI
-------------------------------------------------------------------------------
SELECT try($$SELECT partkv.query('posts', 'forum = :f AND id = :i', '{":f": "db", ":i": "001"}', index_name => 'by_title')$$);
SELECT try($$SELECT partkv.query('posts', 'title = :t', '{":t": "t1"}', index_name => 'by_title')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f AND title = :t', '{":f": "db", ":t": 1}', index_name => 'by_title')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f AND begins_with(votes, :v)', '{":f": "db", ":v": "1"}', index_name => 'by_votes')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f AND votes BETWEEN :a AND :b', '{":f": "db", ":a": 2, ":b": 1}', index_name => 'by_votes')$$);

-------------------------------------------------------------------------------
-- pagination: LastEvaluatedKey = table keys + index key; round trips
-------------------------------------------------------------------------------
SELECT partkv.query_page('posts', 'forum = :f AND title > :t', '{":f": "db", ":t": "t5"}',
						 index_name => 'by_title', item_limit => 2) - 'Items';
SELECT partkv.query_page('posts', 'forum = :f AND title > :t', '{":f": "db", ":t": "t5"}',
						 index_name => 'by_title', item_limit => 2,
						 exclusive_start_key => '{"forum": "db", "id": "013", "title": "t6"}')->'Items';
-- equal LSI keys are ordered by the table's sort key: resuming after
-- (t6, 006) forward, and after (t6, 020) backward
SELECT jsonb_path_query_array(partkv.query_page('posts', 'forum = :f AND title = :t', '{":f": "db", ":t": "t6"}',
						 index_name => 'by_title', exclusive_start_key => '{"forum": "db", "id": "006", "title": "t6"}')->'Items', '$[*].id');
SELECT jsonb_path_query_array(partkv.query_page('posts', 'forum = :f AND title = :t', '{":f": "db", ":t": "t6"}',
						 index_name => 'by_title', scan_forward => false,
						 exclusive_start_key => '{"forum": "db", "id": "020", "title": "t6"}')->'Items', '$[*].id');
-- a start key need not be an item
SELECT jsonb_path_query_array(partkv.query_page('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_votes',
						 exclusive_start_key => '{"forum": "db", "id": "zzz", "votes": 3}')->'Items', '$[*].votes');
-- every page size, both directions, each key type: pages concatenate to the full query
SELECT idx, kc, fwd, lim, p.pages,
	   p.items = (SELECT coalesce(jsonb_agg(x ORDER BY o), '[]')
					FROM partkv.query('posts', kc, vals, index_name => idx, scan_forward => fwd)
						 WITH ORDINALITY AS t(x, o)) AS same
  FROM (VALUES ('by_title', 'forum = :f', '{":f": "db"}'::jsonb),
			   ('by_title', 'forum = :f AND title BETWEEN :a AND :b', '{":f": "db", ":a": "t1", ":b": "t4"}'),
			   ('by_votes', 'forum = :f', '{":f": "db"}'),
			   ('by_votes', 'forum = :f AND votes > :v', '{":f": "db", ":v": 0}'),
			   ('by_sig', 'forum = :f', '{":f": "db"}')) AS c(idx, kc, vals),
	   (VALUES (true), (false)) AS d(fwd),
	   (VALUES (1), (3), (7)) AS l(lim),
	   LATERAL pg_temp.query_pages(idx, kc, vals, fwd, lim) p
 ORDER BY idx, kc, fwd DESC, lim;
-- with a filter, pages may be short but still add up
SELECT p.pages, jsonb_array_length(p.items),
	   p.items = (SELECT jsonb_agg(x) FROM partkv.query('posts', 'forum = :f', '{":f": "db", ":a": "u2"}',
														filter => 'author = :a', index_name => 'by_title') x) AS same
  FROM pg_temp.query_pages('by_title', 'forum = :f', '{":f": "db", ":a": "u2"}', true, 4, 'author = :a') p;
-- start key errors
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title', exclusive_start_key => '{"forum": "db", "id": "001"}')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title', exclusive_start_key => '{"forum": "db", "title": "t1"}')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title', exclusive_start_key => '{"forum": "db", "id": "001", "title": "t1", "x": 1}')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title', exclusive_start_key => '{"forum": "db", "id": "001", "title": 1}')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f', '{":f": "db"}', index_name => 'by_title', exclusive_start_key => '{"forum": "os", "id": "001", "title": "t1"}')$$);
SELECT try($$SELECT partkv.query('posts', 'forum = :f AND title > :t', '{":f": "db", ":t": "t3"}', index_name => 'by_title', exclusive_start_key => '{"forum": "db", "id": "001", "title": "t1"}')$$);

-------------------------------------------------------------------------------
-- Scan through an LSI: items having the key, in (pk, LSI key, sk) order
-- per partition; pages and segments add up
-------------------------------------------------------------------------------
SELECT string_agg((x->>'forum') || ':' || (x->>'votes') || '/' || (x->>'id'), ' ' ORDER BY o)
  FROM partkv.scan('posts', index_name => 'by_votes') WITH ORDINALITY AS t(x, o);
SELECT count(*), count(*) FILTER (WHERE x ? 'body') AS with_body FROM partkv.scan('posts', index_name => 'by_votes') x;
SELECT count(*) FROM partkv.scan('posts', index_name => 'by_sig');
SELECT x FROM partkv.scan('posts', 'votes > :v', '{":v": 4}', index_name => 'by_votes') x;
SELECT lim, p.pages,
	   p.items = (SELECT jsonb_agg(x ORDER BY o) FROM partkv.scan('posts', index_name => 'by_title')
					   WITH ORDINALITY AS t(x, o)) AS same
  FROM (VALUES (1), (4), (100)) AS l(lim), LATERAL pg_temp.scan_pages('by_title', lim) p;
SELECT sum((SELECT count(*) FROM pg_temp.scan_pages('by_votes', 2, s, 4) p, jsonb_array_elements(p.items)))
  FROM generate_series(0, 3) s;
SELECT partkv.scan_page('posts', index_name => 'by_votes', item_limit => 1)->'LastEvaluatedKey' ?& '{forum,id,votes}';
SELECT try($$SELECT partkv.scan('posts', index_name => 'by_votes', exclusive_start_key => '{"forum": "db", "id": "001"}')$$);

-------------------------------------------------------------------------------
-- index key checks: every write path, nothing written on failure
-------------------------------------------------------------------------------
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "title": 5}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "votes": "5"}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "sig": "AA=="}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "title": null}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "title": {"$SS": ["a"]}}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "votes": [1]}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "title": ""}')$$);
SELECT try($$SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "sig": {"$B": ""}}')$$);
SELECT try(format('SELECT partkv.put_item(''posts'', %L)',
	jsonb_build_object('forum', 'db', 'id', '100', 'title', repeat('é', 513))));
SELECT try(format('SELECT partkv.put_item(''posts'', %L)',
	jsonb_build_object('forum', 'db', 'id', '100', 'sig', jsonb_build_object('$B', translate(encode(decode(repeat('ab', 1025), 'hex'), 'base64'), E'\n', '')))));
-- updates, batches and transactions are checked alike
SELECT try($$SELECT partkv.update_item('posts', '{"forum": "db", "id": "001"}', 'SET title = :t', '{":t": 1}')$$);
SELECT try($$SELECT partkv.update_item('posts', '{"forum": "db", "id": "001"}', 'SET votes = :t', '{":t": ""}')$$);
SELECT try($$SELECT partkv.batch_write_item('{"RequestItems": {"posts": [{"PutRequest": {"Item": {"forum": "db", "id": "100"}}}, {"PutRequest": {"Item": {"forum": "db", "id": "101", "votes": true}}}]}}')$$);
SELECT try($$SELECT partkv.transact_write_items('{"TransactItems": [{"Put": {"TableName": "posts", "Item": {"forum": "db", "id": "100"}}}, {"Update": {"TableName": "posts", "Key": {"forum": "db", "id": "003"}, "UpdateExpression": "SET sig = :s", "ExpressionAttributeValues": {":s": 3}}}]}')$$);
-- plain SQL INSERT, UPDATE and INSERT ... ON CONFLICT
SELECT try($$INSERT INTO posts VALUES ('db', '100', '{"forum": "db", "id": "100", "title": 5}')$$);
SELECT try($$INSERT INTO posts VALUES ('db', '100', '{"forum": "db", "id": "100", "title": ""}')$$);
SELECT try($$UPDATE posts SET item = item || '{"votes": "many"}' WHERE forum = 'db' AND id = '002'$$);
SELECT try($$UPDATE posts SET item = item || '{"sig": {"$B": ""}}' WHERE forum = 'db'$$);
SELECT try($$INSERT INTO posts VALUES ('db', '001', '{"forum": "db", "id": "001"}') ON CONFLICT (forum, id) DO UPDATE SET item = '{"forum": "db", "id": "001", "title": false}'$$);
-- COPY
COPY posts FROM STDIN;
db	100	{"forum": "db", "id": "100", "votes": "x"}
\.
-- nothing was written
SELECT count(*), count(*) FILTER (WHERE id >= '100') AS new,
	   string_agg(DISTINCT jsonb_typeof(item->'title'), ',') AS title_types,
	   string_agg(DISTINCT jsonb_typeof(item->'votes'), ',') AS vote_types
  FROM posts;
-- valid writes move items in and out of the indexes
SELECT try(format('SELECT partkv.put_item(''posts'', %L)',
	jsonb_build_object('forum', 'db', 'id', repeat('i', 1024), 'title', repeat('é', 512))));
SELECT partkv.put_item('posts', '{"forum": "db", "id": "100", "title": "a first"}');
UPDATE posts SET item = item - 'title' WHERE forum = 'db' AND id = '001';
SELECT partkv.update_item('posts', '{"forum": "db", "id": "002"}', 'SET title = :t', '{":t": "a second"}');
INSERT INTO posts VALUES ('db', '101', '{"forum": "db", "id": "101", "title": "a third", "votes": 1e2}');
SELECT pg_temp.q('by_title', 'forum = :f AND title < :t', '{":f": "db", ":t": "t1"}', a => 'title');
SELECT pg_temp.q('by_votes', 'forum = :f AND votes > :v', '{":f": "db", ":v": 5}');
SELECT partkv.delete_item('posts', '{"forum": "db", "id": "100"}');
DELETE FROM posts WHERE forum = 'db' AND (id = '101' OR length(id) = 1024);
SELECT pg_temp.q('by_title', 'forum = :f AND title < :t', '{":f": "db", ":t": "t1"}', a => 'title');

-- while partkv's catalog row is missing (as during pg_restore), a wrong
-- index key type is not refused: the item stays out of the index
BEGIN;
SELECT partkv.create_table('restored', 'p', sort_key => 's', partitions => 1,
	local_indexes => '[{"IndexName": "by_x", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE", "AttributeType": "N"}], "Projection": {"ProjectionType": "ALL"}}]') IS NOT NULL;
DELETE FROM partkv.tables WHERE table_name = 'restored';
INSERT INTO restored VALUES ('a', 'b', '{"p": "a", "s": "b", "x": "not a number"}');
SELECT try($$INSERT INTO restored VALUES ('a', 'c', '{"p": "a", "s": "c", "x": ""}')$$);
SELECT count(*) AS in_table, (SELECT count(*) FROM restored WHERE partkv.key_numeric(item, 'x') IS NOT NULL) AS in_index
  FROM restored;
ROLLBACK;

-------------------------------------------------------------------------------
-- describe_table: size and item count of each LSI
-------------------------------------------------------------------------------
SELECT i->>'IndexName' AS index, i->'ItemCount' AS items, (i->>'IndexSizeBytes')::bigint > 0 AS has_size,
	   i->'Projection' AS projection, i ? 'IndexStatus' AS has_status
  FROM jsonb_array_elements(partkv.describe_table('posts')->'LocalSecondaryIndexes') i;
SELECT (SELECT sum(pg_relation_size(relid)) FROM pg_partition_tree('posts_lsi1')) =
	   (partkv.describe_table('posts')->'LocalSecondaryIndexes'->1->>'IndexSizeBytes')::bigint AS size_matches;

-------------------------------------------------------------------------------
-- plain SQL: the LSI index of one partition serves conditions on the key
-------------------------------------------------------------------------------
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT item FROM posts WHERE forum = 'db' AND partkv.key_text(item, 'title') > 'm';
EXPLAIN (COSTS OFF) SELECT item->>'id' FROM posts WHERE forum = 'db' AND partkv.key_numeric(item, 'votes') BETWEEN 1 AND 2
 ORDER BY partkv.key_numeric(item, 'votes'), id;
SELECT string_agg(item->>'title' || '/' || (item->>'id'), ' ' ORDER BY partkv.key_text(item, 'title'), id) =
	   pg_temp.q('by_title', 'forum = :f AND title > :t', '{":f": "db", ":t": "m"}') AS same
  FROM posts WHERE forum = 'db' AND partkv.key_text(item, 'title') > 'm';
RESET enable_seqscan;
RESET enable_bitmapscan;

-------------------------------------------------------------------------------
-- GSIs are readable (src/index/gsi.c); LSI rules of create_table
-------------------------------------------------------------------------------
SELECT try($$SELECT partkv.query('events', 'g = :g', '{":g": "x"}', index_name => 'by_g')$$);
SELECT try($$SELECT partkv.query('events', 'g = :g', '{":g": "x"}', index_name => 'by_g', consistent_read => true)$$);
SELECT try($$SELECT partkv.scan('events', index_name => 'by_g')$$);
SELECT try($$SELECT partkv.query('events', 'dev = :d', '{":d": "x"}', index_name => 'by_nothing')$$);
SELECT partkv.put_item('events', '{"dev": "d1", "ts": 3, "kind": "boot", "level": 1, "msg": "m"}');
SELECT partkv.put_item('events', '{"dev": "d1", "ts": 1, "kind": "alarm", "level": 5, "msg": "m"}');
SELECT partkv.put_item('events', '{"dev": "d1", "ts": 2, "kind": "alarm", "msg": "m"}');
SELECT x FROM partkv.query('events', 'dev = :d AND kind = :k', '{":d": "d1", ":k": "alarm"}', index_name => 'by_kind') x;
SELECT partkv.query_page('events', 'dev = :d', '{":d": "d1"}', index_name => 'by_kind', item_limit => 1)->'LastEvaluatedKey';
SELECT try($$SELECT partkv.create_table('nolsi', 'p', local_indexes => '[{"IndexName": "by_x", "KeySchema": [{"AttributeName": "p", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}]')$$);
SELECT partkv.delete_table('events')->'LocalSecondaryIndexes';
SELECT count(*) FROM pg_class WHERE relname LIKE 'events%';
