-- Issue 14, defect 7: a transaction's 4 MB limit; plain SQL DROP (and other
-- DDL) of kv tables; catalog rows that name no kv table; numbers out of
-- DynamoDB's range on every path.  Every error shows its SQLSTATE: none may
-- be XX000.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- tryh(sql) is try() that also shows the error's HINT.
CREATE FUNCTION sm_tryh(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	h text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || SQLERRM || coalesce(' HINT: ' || nullif(h, ''), '');
END;
$$;

-- tx(n, bytes) is a TransactWriteItems request putting n items of about
-- bytes bytes each into sm_big.
CREATE FUNCTION sm_tx(n int, bytes int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('TransactItems', jsonb_agg(jsonb_build_object('Put',
		jsonb_build_object('TableName', 'sm_big',
						   'Item', jsonb_build_object('pk', 'k' || i, 'x', repeat('x', bytes))))))
	  FROM generate_series(1, n) i
$$;

--
-- (a) TransactWriteItems and TransactGetItems: at most 4 MB (SPEC §6.3, §6.4)
--
SELECT partkv.create_table('sm_big', 'pk', partitions => 2) IS NOT NULL;
-- 12 items of 390 kB: refused whole, before anything is written
SELECT try($$SELECT partkv.transact_write_items(sm_tx(12, 390000))$$);
SELECT count(*) FROM sm_big;
-- 11 items too (4.29 MB)
SELECT try($$SELECT partkv.transact_write_items(sm_tx(11, 390000))$$);
-- 10 items of 390 kB (3.9 MB) fit
SELECT try($$SELECT partkv.transact_write_items(sm_tx(10, 390000))$$);
SELECT count(*) FROM sm_big;
-- the limit is on the request: an 11th large item, then deleting all 11
-- (4.29 MB of items, a small request) is fine
SELECT partkv.put_item('sm_big', jsonb_build_object('pk', 'k11', 'x', repeat('x', 390000)));
-- reading them in one transaction is over 4 MB; ten are not
SELECT try(format('SELECT partkv.transact_get_items(%L)',
	jsonb_build_object('TransactItems', (SELECT jsonb_agg(jsonb_build_object('Get',
		jsonb_build_object('TableName', 'sm_big', 'Key', jsonb_build_object('pk', 'k' || i))))
										  FROM generate_series(1, 11) i))));
SELECT jsonb_array_length(partkv.transact_get_items(
	jsonb_build_object('TransactItems', (SELECT jsonb_agg(jsonb_build_object('Get',
		jsonb_build_object('TableName', 'sm_big', 'Key', jsonb_build_object('pk', 'k' || i),
						   'ProjectionExpression', 'pk')))
										  FROM generate_series(1, 10) i)))->'Responses');
SELECT partkv.transact_write_items(
	jsonb_build_object('TransactItems', (SELECT jsonb_agg(jsonb_build_object('Delete',
		jsonb_build_object('TableName', 'sm_big', 'Key', jsonb_build_object('pk', 'k' || i))))
										  FROM generate_series(1, 11) i)));
SELECT count(*) FROM sm_big;
-- expression values count too
SELECT try(format('SELECT partkv.transact_write_items(%L)',
	jsonb_build_object('TransactItems', (SELECT jsonb_agg(jsonb_build_object('Update',
		jsonb_build_object('TableName', 'sm_big', 'Key', jsonb_build_object('pk', 'u' || i),
						   'UpdateExpression', 'SET x = :x',
						   'ExpressionAttributeValues', jsonb_build_object(':x', repeat('x', 390000)))))
										  FROM generate_series(1, 11) i))));
SELECT count(*) FROM sm_big;

--
-- (b) plain SQL DDL on kv tables
--
CREATE ROLE regress_sm_owner LOGIN;
CREATE SCHEMA sm_app AUTHORIZATION regress_sm_owner;
CREATE FUNCTION sm_app.handler(records jsonb) RETURNS void LANGUAGE sql AS 'SELECT NULL';
ALTER FUNCTION sm_app.handler(jsonb) OWNER TO regress_sm_owner;
SET ROLE regress_sm_owner;
SELECT partkv.create_table('sm_app.sm_orders', 'pk', sort_key => 'sk', partitions => 2,
	global_indexes => '[{"IndexName": "by_x", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
						 "Projection": {"ProjectionType": "ALL"}}]',
	stream_view_type => 'NEW_IMAGE') IS NOT NULL;
SELECT partkv.add_stream_handler('sm_app.sm_orders', 'sm_app.handler') IS NOT NULL;
SELECT partkv.put_item('sm_app.sm_orders', '{"pk": "a", "sk": "1", "x": "y"}');
SELECT storage_name FROM partkv.gsi_indexes WHERE table_name = 'sm_orders';

-- what would leave the table other than its catalog row says is refused
SELECT try($$DROP TABLE sm_app.sm_orders_p0$$);
SELECT try($$DROP TABLE sm_app.sm_orders_p0 CASCADE$$);
SELECT try($$DROP TABLE sm_app.sm_orders_gc8c51055$$);
SELECT try($$DROP TABLE sm_app.sm_orders_gc8c51055_p0$$);
SELECT sm_tryh($$ALTER TABLE sm_app.sm_orders RENAME TO sm_orders2$$);
SELECT try($$ALTER TABLE sm_app.sm_orders RENAME COLUMN pk TO pk2$$);
SELECT try($$ALTER TABLE sm_app.sm_orders ADD COLUMN extra text$$);
SELECT try($$ALTER TABLE sm_app.sm_orders DROP COLUMN sk$$);
SELECT try($$ALTER TABLE sm_app.sm_orders ALTER COLUMN sk TYPE varchar$$);
SELECT try($$ALTER TABLE sm_app.sm_orders DETACH PARTITION sm_app.sm_orders_p0$$);
SELECT try($$ALTER TABLE sm_app.sm_orders SET SCHEMA public$$);
SELECT try($$ALTER TABLE sm_app.sm_orders_gc8c51055 RENAME TO sm_storage$$);
SELECT try($$ALTER SCHEMA sm_app RENAME TO sm_app2$$);
-- what does not is fine
SELECT try($$ALTER TABLE sm_app.sm_orders_p0 RENAME TO sm_orders_part0$$);
SELECT try($$ALTER TABLE sm_app.sm_orders_part0 RENAME TO sm_orders_p0$$);
SELECT partkv.get_item('sm_app.sm_orders', '{"pk": "a", "sk": "1"}');

-- DROP TABLE by the owner: rows, GSI storage, stream and handler go with it
DROP TABLE sm_app.sm_orders;
RESET ROLE;
SELECT count(*) AS tables FROM partkv.tables WHERE table_name = 'sm_orders';
SELECT count(*) AS gsis FROM partkv.gsi_indexes WHERE table_name = 'sm_orders';
SELECT count(*) AS open_streams FROM partkv.streams WHERE table_name = 'sm_orders' AND disabled_at IS NULL;
SELECT count(*) AS handlers FROM partkv.stream_handlers WHERE table_name = 'sm_orders';
SELECT count(*) AS relations FROM pg_class WHERE relname LIKE 'sm_orders%';
-- the name is free again
SELECT try($$SELECT partkv.describe_table('sm_app.sm_orders')$$);
SELECT partkv.create_table('sm_app.sm_orders', 'pk') IS NOT NULL;
SELECT partkv.delete_table('sm_app.sm_orders') IS NOT NULL;

-- a partition dropped with its table is fine
SELECT partkv.create_table('sm_pair', 'pk', partitions => 2) IS NOT NULL;
DROP TABLE sm_pair_p1, sm_pair;
SELECT count(*) FROM partkv.tables WHERE table_name = 'sm_pair';

-- DROP SCHEMA ... CASCADE and DROP OWNED
SET ROLE regress_sm_owner;
SELECT partkv.create_table('sm_app.sm_one', 'pk',
	global_indexes => '[{"IndexName": "by_x", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
						 "Projection": {"ProjectionType": "KEYS_ONLY"}}]') IS NOT NULL;
SELECT partkv.create_table('sm_app.sm_two', 'pk', stream_view_type => 'KEYS_ONLY') IS NOT NULL;
RESET ROLE;
SET client_min_messages = warning;
DROP SCHEMA sm_app CASCADE;
RESET client_min_messages;
SELECT count(*) FROM partkv.tables WHERE schema_name = 'sm_app';
SELECT count(*) FROM partkv.gsi_indexes WHERE schema_name = 'sm_app';
SELECT count(*) FROM partkv.streams WHERE schema_name = 'sm_app' AND disabled_at IS NULL;
GRANT CREATE ON SCHEMA public TO regress_sm_owner;
SET ROLE regress_sm_owner;
SELECT partkv.create_table('sm_owned', 'pk') IS NOT NULL;
RESET ROLE;
DROP OWNED BY regress_sm_owner;
SELECT count(*) FROM partkv.tables WHERE table_name = 'sm_owned';
DROP ROLE regress_sm_owner;

-- the event triggers belong to the extension
SELECT e.evtname, e.evtevent, e.evtfoid::regproc
  FROM pg_event_trigger e
  JOIN pg_depend d ON d.classid = 'pg_event_trigger'::regclass AND d.objid = e.oid AND d.deptype = 'e'
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'partkv')
 ORDER BY 1;
-- and go with it: DROP EXTENSION ... CASCADE in a database of its own
CREATE DATABASE regress_sm_drop;
\c regress_sm_drop
CREATE EXTENSION partkv;
SELECT partkv.create_table('sm_gone', 'pk',
	global_indexes => '[{"IndexName": "by_x", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
						 "Projection": {"ProjectionType": "ALL"}}]') IS NOT NULL;
SET client_min_messages = warning;
DROP EXTENSION partkv CASCADE;
RESET client_min_messages;
SELECT count(*) AS event_triggers FROM pg_event_trigger;
SELECT count(*) AS relations FROM pg_class WHERE relname LIKE 'sm_gone%';
\c contrib_regression
-- the database's partkv workers let go of it (their slots block DROP DATABASE)
DO $$
BEGIN
	FOR i IN 1 .. 600 LOOP
		EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE database = 'regress_sm_drop');
		PERFORM pg_sleep(0.1);
	END LOOP;
END;
$$;
DROP DATABASE regress_sm_drop WITH (FORCE);

--
-- (c) catalog rows that name no kv table are ResourceNotFoundException
--
-- a plain table
CREATE TABLE sm_plain (pk text, item jsonb);
-- a partitioned table whose partition is heap, without a primary key
CREATE TABLE sm_heap (pk text, item jsonb) PARTITION BY HASH (pk);
CREATE TABLE sm_heap_0 PARTITION OF sm_heap FOR VALUES WITH (MODULUS 1, REMAINDER 0);
-- key columns of other types than the row says
CREATE TABLE sm_types (pk text COLLATE "C" NOT NULL, item jsonb NOT NULL, PRIMARY KEY (pk))
	PARTITION BY HASH (pk);
CREATE TABLE sm_types_0 PARTITION OF sm_types FOR VALUES WITH (MODULUS 1, REMAINDER 0) USING partkv;
INSERT INTO partkv.tables (schema_name, table_name, partition_key, partition_key_type,
						   partitions, attribute_definitions, table_id)
SELECT 'public', t, 'pk', ty, 1, jsonb_build_array(jsonb_build_object('AttributeName', 'pk', 'AttributeType', ty)),
	   gen_random_uuid()
  FROM (VALUES ('sm_plain', 'S'), ('sm_heap', 'S'), ('sm_types', 'N'), ('sm_none', 'S')) v(t, ty);
SELECT t, sm_tryh(format(q, t, k)) AS result
  FROM (VALUES ('sm_plain', '"k"'), ('sm_heap', '"k"'), ('sm_types', '1'), ('sm_none', '"k"')) v(t, k),
	   unnest(ARRAY[
		'SELECT partkv.get_item(%1$L, ''{"pk": %2$s}'')',
		'SELECT partkv.put_item(%1$L, ''{"pk": %2$s}'')',
		'SELECT partkv.delete_item(%1$L, ''{"pk": %2$s}'')',
		'SELECT partkv.update_item(%1$L, ''{"pk": %2$s}'', ''SET a = :a'', ''{":a": 1}'')',
		'SELECT partkv.query(%1$L, ''pk = :p'', ''{":p": %2$s}'')',
		'SELECT partkv.scan(%1$L)',
		'SELECT partkv.batch_get_item(jsonb_build_object(''RequestItems'', jsonb_build_object(%1$L, ''{"Keys": [{"pk": %2$s}]}''::jsonb)))',
		'SELECT partkv.batch_write_item(jsonb_build_object(''RequestItems'', jsonb_build_object(%1$L, ''[{"PutRequest": {"Item": {"pk": %2$s}}}]''::jsonb)))',
		'SELECT partkv.transact_get_items(jsonb_build_object(''TransactItems'', jsonb_build_array(jsonb_build_object(''Get'', jsonb_build_object(''TableName'', %1$L, ''Key'', ''{"pk": %2$s}''::jsonb)))))',
		'SELECT partkv.transact_write_items(jsonb_build_object(''TransactItems'', jsonb_build_array(jsonb_build_object(''Put'', jsonb_build_object(''TableName'', %1$L, ''Item'', ''{"pk": %2$s}''::jsonb)))))',
		'SELECT partkv.run_ttl_sweep(%1$L)',
		'SELECT partkv.describe_table(%1$L)',
		'SELECT partkv.delete_table(%1$L)',
		'SELECT partkv.update_time_to_live(%1$L, ''ttl'')',
		'SELECT partkv.update_table(%1$L, ''{"StreamSpecification": {"StreamEnabled": false}}'')',
		'SELECT partkv.describe_stream(%1$L)']) q
 ORDER BY 1, q;
-- delete_table dropped none of them
SELECT count(*) FROM pg_class WHERE relname IN ('sm_plain', 'sm_heap', 'sm_types');
-- the C and SQL paths check alike
SELECT partkv_internal.table_relation('public', t) FROM unnest(ARRAY['sm_plain', 'sm_heap', 'sm_types', 'sm_none']) t;
DELETE FROM partkv.tables WHERE table_name IN ('sm_plain', 'sm_heap', 'sm_types', 'sm_none');
DROP TABLE sm_plain, sm_heap, sm_types;

-- a GSI row cannot name another relation as its storage (the GSI triggers
-- drop the storage with the table)
SELECT partkv.create_table('sm_gsi', 'pk',
	global_indexes => '[{"IndexName": "by_x", "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
						 "Projection": {"ProjectionType": "ALL"}}]') IS NOT NULL;
CREATE TABLE sm_not_storage (a int);
SELECT try($$UPDATE partkv.gsi_indexes SET storage_name = 'sm_not_storage' WHERE table_name = 'sm_gsi'$$);
-- storage that is not a partitioned table (put there behind partkv's back)
-- is a missing index
ALTER EVENT TRIGGER partkv_guard_ddl DISABLE;
DROP TABLE sm_gsi_gc8c51055;
ALTER EVENT TRIGGER partkv_guard_ddl ENABLE;
CREATE TABLE sm_gsi_gc8c51055 (a int);
SELECT try($$SELECT partkv.query('sm_gsi', 'x = :x', '{":x": "a"}', index_name => 'by_x')$$);
SELECT try($$SELECT partkv.scan('sm_gsi', index_name => 'by_x')$$);
SELECT partkv.delete_table('sm_gsi') IS NOT NULL;
SELECT count(*) FROM pg_class WHERE relname = 'sm_not_storage';
DROP TABLE sm_not_storage;

--
-- (d) numbers out of DynamoDB's range (SPEC §1.1, §1.2), on every path
--
SELECT partkv.create_table('sm_num', 'pk', 'N', sort_key => 'sk', sort_key_type => 'N') IS NOT NULL;
SELECT partkv.put_item('sm_num', '{"pk": 1, "sk": 1, "n": 5}');
-- in ExpressionAttributeValues, the message names the placeholder
SELECT try(format(q, v)) AS result
  FROM unnest(ARRAY['1e-16383', '1e131071', '-1e-131', '1e126', '12345678901234567890123456789012345678901']) v,
	   unnest(ARRAY[
		'SELECT partkv.put_item(''sm_num'', ''{"pk": 1, "sk": 2}'', ''n < :v'', ''{":v": %s}'')',
		'SELECT partkv.update_item(''sm_num'', ''{"pk": 1, "sk": 1}'', ''SET n = n + :v'', ''{":v": %s}'')',
		'SELECT partkv.delete_item(''sm_num'', ''{"pk": 1, "sk": 1}'', ''n = :v'', ''{":v": %s}'')',
		'SELECT partkv.query(''sm_num'', ''pk = :p AND sk > :v'', ''{":p": 1, ":v": %s}'')',
		'SELECT partkv.scan(''sm_num'', filter => ''n IN (:a, :v)'', attr_values => ''{":a": 1, ":v": %s}'')',
		'SELECT partkv.transact_write_items(''{"TransactItems": [{"ConditionCheck": {"TableName": "sm_num", "Key": {"pk": 1, "sk": 1}, "ConditionExpression": "n = :v", "ExpressionAttributeValues": {":v": %s}}}]}'')']) q
 ORDER BY v, q;
-- nested values, sets, and an unused placeholder
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'SET l = :l', '{":l": [1, {"m": 1e-200}]}')$$);
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'ADD s :s', '{":s": {"$NS": [1, 1e131071]}}')$$);
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'SET n = :a', '{":a": 1, ":b": 1e-16383}')$$);
-- in items, keys and starting keys: DynamoDB's message as it is
SELECT try(format(q, v)) AS result
  FROM unnest(ARRAY['1e-16383', '1e131071']) v,
	   unnest(ARRAY[
		'SELECT partkv.put_item(''sm_num'', ''{"pk": 1, "sk": 3, "n": %s}'')',
		'SELECT partkv.get_item(''sm_num'', ''{"pk": %s, "sk": 1}'')',
		'SELECT partkv.query(''sm_num'', ''pk = :p'', ''{":p": 1}'', exclusive_start_key => ''{"pk": 1, "sk": %s}'')',
		'SELECT partkv.scan(''sm_num'', exclusive_start_key => ''{"pk": %s, "sk": 1}'')',
		'SELECT partkv.batch_get_item(''{"RequestItems": {"sm_num": {"Keys": [{"pk": %s, "sk": 1}]}}}'')',
		'SELECT partkv.batch_write_item(''{"RequestItems": {"sm_num": [{"DeleteRequest": {"Key": {"pk": 1, "sk": %s}}}]}}'')',
		'SELECT partkv.transact_get_items(''{"TransactItems": [{"Get": {"TableName": "sm_num", "Key": {"pk": %s, "sk": 1}}}]}'')',
		'INSERT INTO sm_num VALUES (1, 4, ''{"pk": 1, "sk": 4, "n": %s}'')']) q
 ORDER BY v, q;
-- DynamoDB JSON "N" strings at any depth, however large the exponent
SELECT try(format('SELECT partkv.from_dynamodb_json(%L)', j)) AS result
  FROM unnest(ARRAY['{"a": {"N": "1e-999999999"}}', '{"a": {"N": "1e999999999999999999999"}}',
					'{"a": {"L": [{"M": {"b": {"N": "-1e-999999999"}}}]}}',
					'{"a": {"NS": ["1", "1e-999999999"]}}']) j;
-- arithmetic whose result leaves the range or the precision
SELECT partkv.put_item('sm_num', '{"pk": 1, "sk": 1, "n": 9e125, "m": 1e50}');
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'SET n = n + n')$$);
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'SET n = :a - n', '{":a": -9e125}')$$);
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'ADD n :a', '{":a": 1e125}')$$);
SELECT try($$SELECT partkv.update_item('sm_num', '{"pk": 1, "sk": 1}', 'SET m = m + :one', '{":one": 1}')$$);
SELECT partkv.get_item('sm_num', '{"pk": 1, "sk": 1}', 'n, m');

SELECT partkv.delete_table('sm_num') IS NOT NULL;
SELECT partkv.delete_table('sm_big') IS NOT NULL;
DROP FUNCTION sm_tryh(text), sm_tx(int, int);
