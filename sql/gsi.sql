-- Global secondary indexes: create_table in both forms, sparse indexes,
-- overloading (one GSI over several item types), key changes moving
-- entries, projections, synchronous key type checks, update_table Create
-- and Delete with a background backfill, verify_index, Query and Scan
-- through a GSI (conditions, both directions, filters, pagination,
-- parallel scan), errors worded as DynamoDB's.
\set VERBOSITY terse
\set SHOW_CONTEXT never

-- every item of a GSI query, in order, on one line
CREATE FUNCTION pg_temp.gq(idx text, kc text, vals jsonb, names jsonb, fwd boolean DEFAULT true,
						   filter text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(x::text, ' ' ORDER BY o), '(none)')
	  FROM partkv.query('app', kc, vals, names, filter => filter, index_name => idx,
						scan_forward => fwd) WITH ORDINALITY AS t(x, o)
$$;

-- every page of a GSI query, following LastEvaluatedKey
CREATE FUNCTION pg_temp.gpages(idx text, kc text, vals jsonb, names jsonb, fwd boolean, lim int)
RETURNS TABLE (pages int, items jsonb) LANGUAGE plpgsql AS $$
DECLARE
	page jsonb;
	esk jsonb;
BEGIN
	pages := 0;
	items := '[]';
	LOOP
		page := partkv.query_page('app', kc, vals, names, index_name => idx, scan_forward => fwd,
								  item_limit => lim, exclusive_start_key => esk);
		pages := pages + 1;
		items := items || (page->'Items');
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RETURN NEXT;
END;
$$;

-- One table, overloaded GSI "gsi1" (gpk/gsk over users and orders), a
-- sparse KEYS_ONLY GSI on "email", an INCLUDE GSI with a numeric sort key.
SELECT partkv.create_table('app', 'pk', 'S', 'sk', 'S', partitions => 4,
	global_indexes => '[
	  {"IndexName": "gsi1", "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"},
										   {"AttributeName": "gsk", "KeyType": "RANGE"}],
	   "Projection": {"ProjectionType": "ALL"}},
	  {"IndexName": "by_email", "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
	   "Projection": {"ProjectionType": "KEYS_ONLY"}},
	  {"IndexName": "by_amount", "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
											   {"AttributeName": "amount", "KeyType": "RANGE", "AttributeType": "N"}],
	   "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["note"]}}]'
	)->'GlobalSecondaryIndexes' @> '[{"IndexName": "gsi1", "IndexStatus": "ACTIVE"}]' AS created;
SELECT index_name, status FROM partkv.gsi_indexes WHERE table_name = 'app' ORDER BY 1;
-- each storage: a B-tree on (GSI key, table key) that queries read, and a
-- hash index on the table key's hash that replaces entries by table key
SELECT g.index_name, a.amname, pg_get_indexdef(i.indexrelid) ~ 'xxhash_text_extended\(base_pk, .*\) # partkv' AS on_key_hash,
	   i.indnkeyatts
  FROM partkv.gsi_indexes g
  JOIN pg_index i ON i.indrelid = format('%I.%I', g.schema_name, g.storage_name)::regclass
  JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
 WHERE g.table_name = 'app' ORDER BY 1, 2;

-- users and orders share gsi1: users by email domain, orders by status
SELECT partkv.put_item('app', '{"pk": "u#1", "sk": "profile", "gpk": "domain#a.com", "gsk": "u#1", "email": "x@a.com", "name": "Xu"}');
SELECT partkv.put_item('app', '{"pk": "u#2", "sk": "profile", "gpk": "domain#a.com", "gsk": "u#2", "email": "y@a.com"}');
SELECT partkv.put_item('app', '{"pk": "u#1", "sk": "o#1", "gpk": "status#open", "gsk": "2024-01-03", "kind": "order", "amount": 30, "note": "n1", "secret": 1}');
SELECT partkv.put_item('app', '{"pk": "u#1", "sk": "o#2", "gpk": "status#open", "gsk": "2024-01-01", "kind": "order", "amount": 10}');
SELECT partkv.put_item('app', '{"pk": "u#2", "sk": "o#3", "gpk": "status#done", "gsk": "2024-01-02", "kind": "order", "amount": 20}');
-- sparse: no gsk, so not in gsi1; no email, so not in by_email
SELECT partkv.put_item('app', '{"pk": "u#3", "sk": "profile", "gpk": "domain#b.com"}');
SELECT partkv.stream_wait();

SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "domain#a.com"}', NULL);
SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "status#open"}', NULL, false);
SELECT pg_temp.gq('gsi1', 'gpk = :p AND begins_with(gsk, :d)', '{":p": "status#open", ":d": "2024-01-0"}', NULL);
SELECT pg_temp.gq('gsi1', 'gpk = :p AND gsk BETWEEN :a AND :b', '{":p": "status#open", ":a": "2024-01-02", ":b": "2024-12-31"}', NULL);
SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "domain#b.com"}', NULL);
SELECT pg_temp.gq('by_email', 'email = :e', '{":e": "y@a.com"}', NULL);
SELECT pg_temp.gq('by_amount', 'kind = :k AND amount >= :a', '{":k": "order", ":a": 20}', NULL, false);
-- filters apply to the projected items; projection expressions too
SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "status#open", ":n": 15}', NULL, true, 'amount > :n');
SELECT x FROM partkv.query('app', 'kind = :k', '{":k": "order"}', projection => 'amount, secret, note',
						   index_name => 'by_amount') x;
SELECT partkv.verify_index('app', 'gsi1'), partkv.verify_index('app', 'by_email'),
	   partkv.verify_index('app', 'by_amount');

-- key changes move the entry; removing a key attribute removes it; deletes too
SELECT partkv.update_item('app', '{"pk": "u#1", "sk": "o#2"}', 'SET gpk = :d', '{":d": "status#done"}');
SELECT partkv.update_item('app', '{"pk": "u#2", "sk": "profile"}', 'REMOVE email');
SELECT partkv.delete_item('app', '{"pk": "u#2", "sk": "o#3"}');
-- plain SQL writes are indexed too
UPDATE app SET item = item || '{"gsk": "u#3"}' WHERE pk = 'u#3';
SELECT partkv.stream_wait();
SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "status#done"}', NULL);
SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "status#open"}', NULL);
SELECT pg_temp.gq('gsi1', 'gpk = :p', '{":p": "domain#b.com"}', NULL);
SELECT pg_temp.gq('by_email', 'email = :e', '{":e": "y@a.com"}', NULL);
SELECT partkv.verify_index('app', 'gsi1'), partkv.verify_index('app', 'by_email');

-- index key attributes are type-checked synchronously, on every write path
SELECT try($$SELECT partkv.put_item('app', '{"pk": "u#9", "sk": "x", "gpk": 5}')$$);
SELECT try($$SELECT partkv.put_item('app', '{"pk": "u#9", "sk": "x", "amount": "lots"}')$$);
SELECT try($$SELECT partkv.put_item('app', '{"pk": "u#9", "sk": "x", "email": ""}')$$);
SELECT try($$SELECT partkv.put_item('app', '{"pk": "u#9", "sk": "x", "gsk": null}')$$);
SELECT try($$SELECT partkv.update_item('app', '{"pk": "u#1", "sk": "o#1"}', 'SET kind = :n', '{":n": 1}')$$);
SELECT try($$INSERT INTO app VALUES ('u#9', 'x', '{"pk": "u#9", "sk": "x", "email": {"a": 1}}')$$);
SELECT try($$SELECT partkv.batch_write_item('{"RequestItems": {"app": [{"PutRequest": {"Item": {"pk": "u#9", "sk": "y"}}},
												 {"PutRequest": {"Item": {"pk": "u#9", "sk": "z", "gpk": true}}}]}}')$$);
SELECT count(*) FROM app WHERE pk = 'u#9';

-- reading GSIs: errors
SELECT try($$SELECT partkv.query('app', 'gpk = :p', '{":p": "x"}', index_name => 'gsi1', consistent_read => true)$$);
SELECT try($$SELECT partkv.query('app', 'gpk = :p', '{":p": "x"}', filter => 'gsk = :p', index_name => 'gsi1')$$);
SELECT try($$SELECT partkv.query('app', 'pk = :p', '{":p": "x"}', index_name => 'gsi1')$$);
SELECT try($$SELECT partkv.query('app', 'gpk = :p', '{":p": 1}', index_name => 'gsi1')$$);
SELECT try($$SELECT partkv.query('app', 'gpk = :p', '{":p": "x"}', index_name => 'nope')$$);
SELECT try($$SELECT partkv.query_page('app', 'gpk = :p', '{":p": "status#done"}', index_name => 'gsi1',
									   exclusive_start_key => '{"pk": "u#1", "sk": "o#2"}')$$);
SELECT try($$SELECT partkv.query_page('app', 'gpk = :p', '{":p": "status#done"}', index_name => 'gsi1',
									   exclusive_start_key => '{"pk": "u#1", "sk": "o#2", "gpk": "status#open", "gsk": "a"}')$$);

-- pagination: LastEvaluatedKey = GSI keys + table keys, equal GSI keys included
SELECT count(*) FROM generate_series(1, 25) g,
	LATERAL partkv.put_item('app', jsonb_build_object('pk', 'c#' || g, 'sk', 'o', 'gpk', 'same',
													  'gsk', 'k' || (g % 3), 'kind', 'bulk', 'amount', g % 5));
SELECT partkv.stream_wait();
SELECT partkv.query_page('app', 'gpk = :p', '{":p": "same"}', index_name => 'gsi1', item_limit => 2)->'LastEvaluatedKey';
SELECT pages, jsonb_array_length(items), items = (SELECT jsonb_agg(x ORDER BY o) FROM partkv.query('app', 'gpk = :p', '{":p": "same"}', index_name => 'gsi1') WITH ORDINALITY t(x, o))
  FROM pg_temp.gpages('gsi1', 'gpk = :p', '{":p": "same"}', NULL, true, 4);
SELECT pages, jsonb_array_length(items), items = (SELECT jsonb_agg(x ORDER BY o) FROM partkv.query('app', 'kind = :k', '{":k": "bulk"}', index_name => 'by_amount', scan_forward => false) WITH ORDINALITY t(x, o))
  FROM pg_temp.gpages('by_amount', 'kind = :k', '{":k": "bulk"}', NULL, false, 7);

-- Scan of a GSI: everything it holds, by pages, and in parallel segments
SELECT count(*) FROM partkv.scan('app', index_name => 'gsi1');
SELECT (SELECT count(*) FROM app WHERE partkv.key_text(item, 'gpk') IS NOT NULL AND partkv.key_text(item, 'gsk') IS NOT NULL) AS expected;
SELECT sum((SELECT count(*) FROM partkv.scan('app', index_name => 'gsi1', segment => s, total_segments => 3))) FROM generate_series(0, 2) s;
SELECT sum((SELECT count(*) FROM partkv.scan('app', index_name => 'gsi1', segment => s, total_segments => 11))) FROM generate_series(0, 10) s;
DO $$
DECLARE
	page jsonb;
	esk jsonb;
	n int := 0;
	pages int := 0;
BEGIN
	LOOP
		page := partkv.scan_page('app', index_name => 'by_amount', item_limit => 4, exclusive_start_key => esk);
		n := n + (page->>'Count')::int;
		pages := pages + 1;
		esk := page->'LastEvaluatedKey';
		EXIT WHEN esk IS NULL;
	END LOOP;
	RAISE NOTICE 'by_amount scan: % items in % pages', n, pages;
END;
$$;

-- UpdateTable: create a GSI on a table with items: backfilled in the
-- background (CREATING, then ACTIVE) while writes continue
SELECT count(*) FROM generate_series(1, 500) g,
	LATERAL partkv.put_item('app', jsonb_build_object('pk', 'm#' || g, 'sk', 'v', 'color', 'c' || (g % 4), 'n', g));
SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_color",
	"KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
	"Projection": {"ProjectionType": "KEYS_ONLY"}}}],
	"AttributeDefinitions": [{"AttributeName": "color", "AttributeType": "S"}, {"AttributeName": "n", "AttributeType": "N"}]}'
	)->'GlobalSecondaryIndexes' @> '[{"IndexName": "by_color", "IndexStatus": "CREATING", "Backfilling": false,
									 "BackfillProgress": {"ItemsDone": 0}}]' AS creating;
SELECT try($$SELECT partkv.query('app', 'color = :c', '{":c": "c1"}', index_name => 'by_color')$$)
	IN ('ok', '22023: Cannot read from backfilling global secondary index: by_color') AS refused_or_done;
-- writes during the backfill: moves, deletes, new items, a now-invalid key type is checked
SELECT count(*) FROM generate_series(1, 500, 7) g,
	LATERAL partkv.put_item('app', jsonb_build_object('pk', 'm#' || g, 'sk', 'v', 'color', 'z', 'n', -g));
SELECT count(*) FROM generate_series(2, 500, 11) g,
	LATERAL partkv.delete_item('app', jsonb_build_object('pk', 'm#' || g, 'sk', 'v'));
SELECT try($$SELECT partkv.put_item('app', '{"pk": "m#1", "sk": "v", "color": 7}')$$);
SELECT partkv.wait_for_index('app', 'by_color');
SELECT e->'IndexStatus', e ? 'Backfilling', e->'ItemCount'
  FROM jsonb_array_elements(partkv.describe_table('app')->'GlobalSecondaryIndexes') e
 WHERE e->>'IndexName' = 'by_color';
SELECT partkv.verify_index('app', 'by_color');
SELECT pg_temp.gq('by_color', 'color = :c AND n < :n', '{":c": "z", ":n": -480}', NULL);
SELECT status, items_done > 0 AS progressed FROM partkv.index_status WHERE index_name = 'by_color';

-- UpdateTable errors: unknown index, existing name, two at once, missing definitions
SELECT try($$SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "nope"}}]}')$$);
SELECT try($$SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "gsi1",
	"KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}')$$);
SELECT try($$SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "gsi1"}}, {"Delete": {"IndexName": "by_email"}}]}')$$);
SELECT try($$SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_q",
	"KeySchema": [{"AttributeName": "q", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}')$$);
SELECT try($$SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_q2",
	"KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}],
	"AttributeDefinitions": [{"AttributeName": "gpk", "AttributeType": "N"}]}')$$);

-- UpdateTable Delete: the index and its storage go; writes are no longer checked
SELECT partkv.update_table('app', '{"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_email"}}]}')
	->'GlobalSecondaryIndexes' @> '[{"IndexName": "by_email"}]' AS still_there;
SELECT index_name FROM partkv.gsi_indexes WHERE table_name = 'app' ORDER BY 1;
SELECT try($$SELECT partkv.put_item('app', '{"pk": "u#9", "sk": "e", "email": 5}')$$);
SELECT try($$SELECT partkv.query('app', 'email = :e', '{":e": "x"}', index_name => 'by_email')$$);
SELECT partkv.stream_wait();
SELECT partkv.verify_index('app', 'gsi1'), partkv.verify_index('app', 'by_amount');

-- a table with only a hash key and a GSI on a number; no stream needed
SELECT partkv.create_table('{"TableName": "flat", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
	"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "N"}],
	"GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
								"Projection": {"ProjectionType": "ALL"}}]}') ? 'TableName';
SELECT count(*) FROM generate_series(1, 20) g, LATERAL partkv.put_item('flat', jsonb_build_object('id', g, 'g', g % 2));
SELECT partkv.stream_wait();
SELECT count(*) FROM partkv.query('flat', 'g = :g', '{":g": 1}', index_name => 'by_g');
SELECT partkv.query_page('flat', 'g = :g', '{":g": 0}', index_name => 'by_g', item_limit => 3)->'LastEvaluatedKey';
SELECT partkv.verify_index('flat', 'by_g');

-- GSI maintenance reads old images: a table with GSIs logs whole old rows
-- (REPLICA IDENTITY FULL) and each GSI knows when it became ACTIVE
SELECT DISTINCT c.relreplident FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'flat'::regclass;
SELECT index_name, status, activated_lsn IS NOT NULL AS activated FROM partkv.gsi_indexes
 WHERE table_name = 'flat';
-- moves located by old image, deletes, and re-creates of the same key
SELECT count(*) FROM generate_series(1, 20) g, LATERAL partkv.put_item('flat', jsonb_build_object('id', g, 'g', g % 5));
SELECT count(*) FROM generate_series(1, 20, 3) g, LATERAL partkv.delete_item('flat', jsonb_build_object('id', g));
BEGIN;
SELECT count(*) FROM generate_series(1, 20, 2) g, LATERAL partkv.put_item('flat', jsonb_build_object('id', g, 'g', 7));
SELECT count(*) FROM generate_series(1, 20, 2) g, LATERAL partkv.put_item('flat', jsonb_build_object('id', g, 'g', 8));
COMMIT;
UPDATE flat SET item = item - 'g' WHERE item->>'id' = '4';
SELECT partkv.stream_wait();
SELECT partkv.verify_index('flat', 'by_g');
SELECT (SELECT count(*) FROM partkv.scan('flat', index_name => 'by_g')) AS gsi_entries,
	   (SELECT count(*) FROM flat WHERE item ? 'g') AS items_with_key;
-- an entry that is not where its item's old image places it (here moved by
-- hand) is found by table key and replaced, and the worker logs it
SELECT partkv.put_item('flat', '{"id": 100, "g": 1}');
SELECT partkv.stream_wait();
SELECT format('UPDATE %I.%I SET gsi_pk = 2 WHERE base_pk = 100', g.schema_name, g.storage_name)
  FROM partkv.gsi_indexes g WHERE g.table_name = 'flat' AND g.index_name = 'by_g' \gexec
SELECT partkv.verify_index('flat', 'by_g')->'stale' AS moved_by_hand;
SELECT partkv.put_item('flat', '{"id": 100, "g": 3}');
SELECT partkv.stream_wait();
SELECT partkv.verify_index('flat', 'by_g');
SELECT partkv.query('flat', 'g = :g', '{":g": 3}', index_name => 'by_g') AS entry;
-- with the old rows no longer in WAL (identity changed by hand) entries
-- are found by table key instead
SELECT format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', i.inhrelid::regclass)
  FROM pg_inherits i WHERE i.inhparent = 'flat'::regclass \gexec
SELECT count(*) FROM generate_series(1, 20) g, LATERAL partkv.put_item('flat', jsonb_build_object('id', g, 'g', g % 3));
SELECT count(*) FROM generate_series(2, 20, 4) g, LATERAL partkv.delete_item('flat', jsonb_build_object('id', g));
SELECT partkv.stream_wait();
SELECT partkv.verify_index('flat', 'by_g');
-- deleting the last GSI gives the partitions their default identity back
SELECT partkv.update_table('flat', '{"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "by_g"}}]}') ? 'TableName';
SELECT DISTINCT c.relreplident FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'flat'::regclass;
SELECT partkv.update_table('flat', '{"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "N"}],
	"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g",
	"KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]}') ? 'TableName';
SELECT partkv.wait_for_index('flat', 'by_g');
SELECT DISTINCT c.relreplident FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'flat'::regclass;
SELECT partkv.verify_index('flat', 'by_g');

-- an entry whose keys and projected attributes stay is not rewritten (as
-- DynamoDB, which charges no index write for it); one missing meanwhile
-- comes back
SELECT partkv.create_table('{"TableName": "kept", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
	"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "team", "AttributeType": "S"}],
	"GlobalSecondaryIndexes": [{"IndexName": "by_team", "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
								"Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["role"]}}]}') ? 'TableName';
SELECT count(*) FROM generate_series(1, 6) i,
	LATERAL partkv.put_item('kept', jsonb_build_object('id', 'u' || i, 'team', 't' || (i % 2), 'role', 'dev', 'visits', 0));
SELECT partkv.stream_wait();
SELECT format('CREATE TEMP TABLE kept_before AS SELECT base_pk, xmin::text AS x FROM %I.%I',
			  g.schema_name, g.storage_name)
  FROM partkv.gsi_indexes g WHERE g.table_name = 'kept' \gexec
-- visits is not projected: u1..u3 keep their entries; u4 changes role, u5 team
SELECT count(*) FROM generate_series(1, 3) i,
	LATERAL partkv.update_item('kept', jsonb_build_object('id', 'u' || i), 'SET visits = visits + :one', '{":one": 1}');
SELECT partkv.update_item('kept', '{"id": "u4"}', 'SET #r = :r', '{":r": "lead"}', '{"#r": "role"}');
SELECT partkv.update_item('kept', '{"id": "u5"}', 'SET team = :t', '{":t": "t9"}');
SELECT partkv.stream_wait();
SELECT format('SELECT g.base_pk, g.xmin::text = b.x AS same_entry, g.item FROM %I.%I g JOIN kept_before b USING (base_pk) ORDER BY 1',
			  g.schema_name, g.storage_name)
  FROM partkv.gsi_indexes g WHERE g.table_name = 'kept' \gexec
SELECT format('DELETE FROM %I.%I WHERE base_pk = %L', g.schema_name, g.storage_name, 'u2')
  FROM partkv.gsi_indexes g WHERE g.table_name = 'kept' \gexec
SELECT partkv.update_item('kept', '{"id": "u2"}', 'SET visits = visits + :one', '{":one": 1}');
SELECT partkv.stream_wait();
SELECT partkv.verify_index('kept', 'by_team');
SELECT partkv.delete_table('kept') ? 'TableName';

-- a table cannot be deleted while a GSI of it is being backfilled
BEGIN;
SELECT partkv.update_table('flat', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_id",
	"KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}}]}') ? 'TableName';
SELECT try($$SELECT partkv.delete_table('flat')$$);
ROLLBACK;

-- delete_table drops the GSIs' storage
SELECT partkv.delete_table('flat') ? 'TableName';
SELECT count(*) FROM partkv.gsi_indexes WHERE table_name = 'flat';
SELECT count(*) FROM pg_class WHERE relname LIKE 'flat_g%';
