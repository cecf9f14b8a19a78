-- The "partkv" logical decoding output plugin: record shapes for the four
-- stream view types, for partkv calls and plain SQL, what produces no
-- record, replica identity management, options, and sequence numbers.
\set VERBOSITY terse

-- the plugin must be trusted for this session (superuser setting)
SET output_plugin_libraries = pgoutput, test_decoding, partkv;

SELECT partkv.create_table('sd_keys', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N',
						   partitions => 4, stream_view_type => 'KEYS_ONLY') IS NOT NULL AS created;
SELECT partkv.create_table('sd_new', 'pk', 'S', partitions => 4, stream_view_type => 'NEW_IMAGE') IS NOT NULL AS created;
SELECT partkv.create_table('sd_old', 'pk', 'N', partitions => 4, stream_view_type => 'OLD_IMAGE') IS NOT NULL AS created;
SELECT partkv.create_table('sd_both', 'pk', 'S', sort_key => 'sk', partitions => 4,
						   stream_view_type => 'NEW_AND_OLD_IMAGES') IS NOT NULL AS created;
SELECT partkv.create_table('sd_bin', 'pk', 'B', partitions => 2,
						   stream_view_type => 'NEW_AND_OLD_IMAGES') IS NOT NULL AS created;
SELECT partkv.create_table('sd_plain', 'pk', 'S', partitions => 2) IS NOT NULL AS created;

-- old images need REPLICA IDENTITY FULL on the partitions, and only there
SELECT p.inhparent::regclass AS tab, c.relreplident, count(*)
  FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
 WHERE p.inhparent::regclass::text LIKE 'sd\_%' AND c.relkind = 'r'
 GROUP BY 1, 2 ORDER BY p.inhparent::regclass::text COLLATE "C";

-- the stream shard of a partition is named after its hash bound
SELECT c.relname, partkv_internal.stream_shard_id(c.oid::regclass)
  FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
 WHERE p.inhparent = 'sd_bin'::regclass ORDER BY 1;

SELECT 'init' FROM pg_create_logical_replication_slot('sd_slot', 'partkv');

-- consume() reads the slot, keeps the raw records in sd_got and shows them
-- without their volatile fields (event id, sequence number, time).
CREATE TEMP TABLE sd_got (n bigserial, r jsonb);
CREATE FUNCTION pg_temp.fetch() RETURNS bigint LANGUAGE sql AS $$
	WITH ins AS (INSERT INTO sd_got (r)
				 SELECT data::jsonb FROM pg_logical_slot_get_changes('sd_slot', NULL, NULL)
				 RETURNING 1)
	SELECT count(*) FROM ins
$$;
CREATE FUNCTION pg_temp.consume() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
	start bigint := coalesce((SELECT max(n) FROM sd_got), 0);
BEGIN
	PERFORM pg_temp.fetch();
	RETURN QUERY
		SELECT (r - 'eventID' #- '{dynamodb,SequenceNumber}'
				  #- '{dynamodb,ApproximateCreationDateTime}')::text
		  FROM sd_got WHERE n > start ORDER BY n;
END;
$$;

-- put_item (insert, then replace), delete_item, for every view type
SELECT partkv.put_item('sd_keys', '{"pk": "a", "sk": 1, "v": "one"}');
SELECT partkv.put_item('sd_keys', '{"pk": "a", "sk": 1, "v": "uno"}');
SELECT partkv.delete_item('sd_keys', '{"pk": "a", "sk": 1}');
SELECT * FROM pg_temp.consume();

SELECT partkv.put_item('sd_new', '{"pk": "a", "v": "one"}');
SELECT partkv.put_item('sd_new', '{"pk": "a", "v": "uno", "w": [1, {"x": null}]}');
SELECT partkv.delete_item('sd_new', '{"pk": "a"}');
SELECT * FROM pg_temp.consume();

SELECT partkv.put_item('sd_old', '{"pk": 1.50, "v": "one"}');
SELECT partkv.put_item('sd_old', '{"pk": 1.5, "v": "uno", "s": {"$SS": ["b", "a"]}}');
SELECT partkv.delete_item('sd_old', '{"pk": 1.5}');
SELECT * FROM pg_temp.consume();

SELECT partkv.put_item('sd_both', '{"pk": "a", "sk": "b", "v": "one"}');
SELECT partkv.put_item('sd_both', '{"pk": "a", "sk": "b", "v": "uno"}');
SELECT partkv.delete_item('sd_both', '{"pk": "a", "sk": "b"}');
SELECT * FROM pg_temp.consume();

SELECT partkv.put_item('sd_bin', '{"pk": {"$B": "AAECAw=="}, "data": {"$B": "/w=="}}');
SELECT partkv.delete_item('sd_bin', '{"pk": {"$B": "AAECAw=="}}');
SELECT * FROM pg_temp.consume();

-- deleting a missing item, failed conditions, rollbacks: no record
SELECT partkv.delete_item('sd_both', '{"pk": "nope", "sk": "x"}');
BEGIN;
SELECT partkv.put_item('sd_both', '{"pk": "r", "sk": "r"}');
ROLLBACK;
BEGIN;
SELECT partkv.put_item('sd_both', '{"pk": "s", "sk": "1"}');
SAVEPOINT sp;
SELECT partkv.put_item('sd_both', '{"pk": "s", "sk": "2"}');
ROLLBACK TO SAVEPOINT sp;
SELECT partkv.put_item('sd_both', '{"pk": "s", "sk": "3"}');
COMMIT;
SELECT * FROM pg_temp.consume();

-- tables without a stream produce nothing
SELECT partkv.put_item('sd_plain', '{"pk": "a"}');
SELECT partkv.delete_item('sd_plain', '{"pk": "a"}');
INSERT INTO sd_plain VALUES ('b', '{"pk": "b"}');
SELECT pg_temp.fetch() AS records;

-- plain SQL: INSERT, UPDATE, DELETE, INSERT ... ON CONFLICT
INSERT INTO sd_both VALUES ('q', '1', '{"pk": "q", "sk": "1", "n": 1}'),
						   ('q', '2', '{"pk": "q", "sk": "2", "n": 2}');
UPDATE sd_both SET item = item || '{"n": 10}' WHERE pk = 'q' AND sk = '1';
DELETE FROM sd_both WHERE pk = 'q' AND sk = '2';
INSERT INTO sd_keys VALUES ('c', 7, '{"pk": "c", "sk": 7}')
	ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item || '{"again": true}';
INSERT INTO sd_keys VALUES ('c', 7, '{"pk": "c", "sk": 7}')
	ON CONFLICT (pk, sk) DO UPDATE SET item = excluded.item || '{"again": true}';
SELECT * FROM pg_temp.consume();

-- an UPDATE that leaves the item as it was is no change: no record when
-- the old image is in WAL (REPLICA IDENTITY FULL) ...
UPDATE sd_both SET item = item WHERE pk = 'q';
UPDATE sd_both SET item = item || '{"n": 10}' WHERE pk = 'q';
SELECT pg_temp.fetch() AS records;
-- ... or when the item is TOASTed and was not rewritten, whatever the view
SELECT partkv.put_item('sd_new', jsonb_build_object('pk', 'big', 'blob',
		(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g)))
	   IS NOT NULL AS put;
UPDATE sd_new SET item = item WHERE pk = 'big';
SELECT pg_temp.fetch() AS records;
SELECT r->>'eventName' AS event, r->'dynamodb'->'Keys' AS keys,
	   length(r->'dynamodb'->'NewImage'->>'blob') AS blob_length,
	   (r->'dynamodb'->>'SizeBytes')::int AS size_bytes
  FROM sd_got ORDER BY n DESC LIMIT 1;
-- a TOASTed item replaced through partkv: complete images in both directions
SELECT partkv.put_item('sd_both', jsonb_build_object('pk', 'big', 'sk', 'x', 'blob',
		(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3000) g)))
	   IS NOT NULL AS put;
SELECT partkv.put_item('sd_both', jsonb_build_object('pk', 'big', 'sk', 'x', 'blob',
		(SELECT string_agg(md5(g::text), '') FROM generate_series(1, 3001) g)))
	   IS NOT NULL AS put;
SELECT pg_temp.fetch() AS records;
SELECT r->>'eventName' AS event,
	   length(r->'dynamodb'->'NewImage'->>'blob') AS new_blob,
	   length(r->'dynamodb'->'OldImage'->>'blob') AS old_blob,
	   (r->'dynamodb'->>'SizeBytes')::int AS size_bytes
  FROM sd_got ORDER BY n DESC LIMIT 2;

-- SizeBytes sizes stored items (numbers from their base-10000 digits),
-- item_size validates requests (numbers from their text): the two agree
SELECT count(*) AS put
  FROM (VALUES ('0'), ('1'), ('-1'), ('10'), ('100'), ('1000'), ('10000'), ('12345678'), ('0.1'),
			   ('0.0001'), ('0.00001'), ('-0.00012340'), ('120000'), ('1200'), ('99999999.9999'),
			   ('1e125'), ('9.9999999999999999999999999999999999999e125'), ('1e-130'), ('-1e-130'),
			   ('12345678901234567890123456789012345678'), ('3.14159'), ('-271828e-5'), ('5e3'),
			   ('0.5'), ('50'), ('500000000'), ('0.000000001')) v(n),
	   LATERAL partkv.put_item('sd_new', jsonb_build_object('pk', 'num' || v.n, 'n', v.n::numeric,
						'ns', jsonb_build_object('$NS', jsonb_build_array(v.n::numeric, 7)),
						'm', jsonb_build_object('l', jsonb_build_array(v.n::numeric, 'x', true)))) p;
SELECT pg_temp.fetch() AS records;
SELECT count(*) AS items,
	   count(*) FILTER (WHERE (r->'dynamodb'->>'SizeBytes')::int =
						partkv.item_size(r->'dynamodb'->'Keys') + partkv.item_size(r->'dynamodb'->'NewImage')) AS sizes_agree
  FROM sd_got WHERE r->'dynamodb'->'Keys'->>'pk' LIKE 'num%';

-- TRUNCATE has no DynamoDB equivalent: no records
TRUNCATE sd_keys;
SELECT pg_temp.fetch() AS records;

-- several items in one transaction: one record each, in order
BEGIN;
SELECT partkv.put_item('sd_keys', jsonb_build_object('pk', 'm', 'sk', g)) IS NOT NULL
  FROM generate_series(1, 3) g;
SELECT partkv.put_item('sd_new', '{"pk": "m"}');
COMMIT;
SELECT * FROM pg_temp.consume();
SELECT substr(r->'dynamodb'->>'SequenceNumber', 21) AS position
  FROM sd_got ORDER BY n DESC LIMIT 4;
SELECT count(DISTINCT substr(r->'dynamodb'->>'SequenceNumber', 1, 20)) AS commits
  FROM (SELECT r FROM sd_got ORDER BY n DESC LIMIT 4) s;

-- turning a stream off and on through the catalog (what update_table does)
-- switches the replica identity and takes effect at that point of the WAL
UPDATE partkv.tables SET stream_specification = NULL WHERE table_name = 'sd_old';
SELECT c.relreplident, count(*) FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
 WHERE p.inhparent = 'sd_old'::regclass GROUP BY 1;
SELECT partkv.put_item('sd_old', '{"pk": 2, "v": "off"}');
BEGIN;
UPDATE partkv.tables SET stream_specification = '{"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"}'
 WHERE table_name = 'sd_old';
SELECT partkv.put_item('sd_old', '{"pk": 2, "v": "on"}');
COMMIT;
SELECT c.relreplident, count(*) FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
 WHERE p.inhparent = 'sd_old'::regclass GROUP BY 1;
SELECT * FROM pg_temp.consume();

-- options: include-xids, a table filter, unknown options
SELECT partkv.put_item('sd_keys', '{"pk": "o", "sk": 1}');
SELECT partkv.put_item('sd_new', '{"pk": "o"}');
SELECT data::jsonb->>'tableName' AS table_name, (data::jsonb->'xid')::text::xid = xid AS xid_matches
  FROM pg_logical_slot_peek_changes('sd_slot', NULL, NULL, 'include-xids', 'on');
SELECT data::jsonb->>'tableName' AS table_name
  FROM pg_logical_slot_peek_changes('sd_slot', NULL, NULL, 'tables', 'public.sd_new, "sd_none"');
SELECT data::jsonb->>'tableName' AS table_name
  FROM pg_logical_slot_peek_changes('sd_slot', NULL, NULL, 'tables', 'sd_keys');
SELECT data FROM pg_logical_slot_peek_changes('sd_slot', NULL, NULL, 'include-xids', 'maybe');
SELECT data FROM pg_logical_slot_peek_changes('sd_slot', NULL, NULL, 'colour', 'blue');
SELECT pg_temp.fetch() AS records;

-- properties of the volatile fields, over every record seen
SELECT count(*) > 30 AS many,
	   bool_and(r->'dynamodb'->>'SequenceNumber' ~ '^[0-9]{30}$') AS seqno_shape,
	   bool_and(r->>'eventID' ~ '^[0-9a-f]{32}$') AS event_id_shape,
	   count(DISTINCT r->>'eventID') = count(*) AS event_ids_unique,
	   bool_and((r->'dynamodb'->>'ApproximateCreationDateTime')::numeric
				BETWEEN extract(epoch FROM now()) - 3600 AND extract(epoch FROM clock_timestamp()) + 1)
		   AS creation_time,
	   bool_and(jsonb_typeof(r->'dynamodb'->'ApproximateCreationDateTime') = 'number') AS time_is_number,
	   bool_and((r->'dynamodb'->>'SizeBytes')::int >= 1) AS size_positive
  FROM sd_got;
-- sequence numbers strictly increase in the order records are delivered
SELECT bool_and(s > prev) AS increasing
  FROM (SELECT r->'dynamodb'->>'SequenceNumber' AS s,
			   lag(r->'dynamodb'->>'SequenceNumber') OVER (ORDER BY n) AS prev
		  FROM sd_got) x
 WHERE prev IS NOT NULL;

SELECT 'stop' FROM pg_drop_replication_slot('sd_slot');
SELECT partkv.delete_table(t) IS NOT NULL AS dropped
  FROM unnest(ARRAY['sd_keys', 'sd_new', 'sd_old', 'sd_both', 'sd_bin', 'sd_plain']) t;
RESET output_plugin_libraries;
