-- Consumed capacity (SPEC §8) and the statistics views.
--
-- Units: a read is ceil(size / 4 KB) units (at least 1), half of that when
-- eventually consistent, twice in a transaction; a write is ceil(size /
-- 1 KB) units (at least 1), twice in a transaction.  Item sizes are
-- DynamoDB's (SPEC §1.8): attribute name bytes + value bytes; in table cap
-- "pk": "a" is 2 + 1 = 3 bytes, "sk": 1 is 2 + 2 = 4 bytes (a one-digit
-- number is 2 bytes), "v": <n chars> is 1 + n bytes, so an item
-- {pk, sk, v} of n characters is n + 8 bytes.
--
-- Statistics are per cluster and other suites use the same database:
-- every assertion on counters follows a partkv.reset_stats(<table>).
\set VERBOSITY terse

-- the item {pk, sk, v} whose DynamoDB size is `bytes`
CREATE FUNCTION pg_temp.item(pk text, sk int, bytes int) RETURNS jsonb LANGUAGE sql AS $$
	SELECT jsonb_build_object('pk', pk, 'sk', sk, 'v', repeat('x', bytes - 8))
$$;
-- counters of table cap since its last reset
CREATE FUNCTION pg_temp.cap_stats() RETURNS TABLE (reads bigint, writes bigint,
	read_units double precision, write_units double precision,
	condition_check_failures bigint) LANGUAGE sql AS $$
	SELECT reads, writes, read_units, write_units, condition_check_failures
	  FROM partkv.table_stats WHERE table_name = 'cap'
$$;

SELECT partkv.create_table('cap', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N', partitions => 4) IS NOT NULL;

-- the sizes used below: 5 KB, 1.5 KB, 6.5 KB
SELECT b, partkv.item_size(pg_temp.item('a', 1, b)) FROM unnest(ARRAY[5120, 1536, 6656]) b;

--
-- Single-item writes return ConsumedCapacity when asked
--
SELECT partkv.reset_stats('cap');
-- PutItem of a new 5 KB item: ceil(5120 / 1024) = 5 WCU
SELECT partkv.put_item('cap', pg_temp.item('a', 1, 5120), return_consumed_capacity => 'TOTAL');
-- INDEXES: the same plus the table's own share (no secondary index)
SELECT partkv.put_item('cap', pg_temp.item('a', 2, 1536), return_consumed_capacity => 'INDEXES');
-- NONE (the default) adds nothing
SELECT partkv.put_item('cap', pg_temp.item('a', 3, 6656));
SELECT partkv.put_item('cap', pg_temp.item('a', 3, 6656), return_consumed_capacity => 'NONE');
-- replacing the 1.5 KB item by a 100-byte one: max(1536, 100) -> 2 WCU
SELECT partkv.put_item('cap', pg_temp.item('a', 2, 100), return_values => 'ALL_OLD',
	return_consumed_capacity => 'TOTAL') - 'Attributes';
SELECT partkv.put_item('cap', pg_temp.item('a', 2, 1536), return_consumed_capacity => 'TOTAL');
-- UpdateItem charges the larger of before and after: removing v from the
-- 5 KB item leaves 7 bytes, max(5120, 7) -> 5 WCU
SELECT partkv.update_item('cap', '{"pk": "a", "sk": 1}', 'REMOVE v',
	return_consumed_capacity => 'TOTAL');
-- ... and growing it back: max(7, 5120) -> 5 WCU
SELECT partkv.update_item('cap', '{"pk": "a", "sk": 1}', 'SET v = :v',
	jsonb_build_object(':v', repeat('x', 5112)), return_consumed_capacity => 'TOTAL');
-- a small update of a small item: 1 WCU
SELECT partkv.update_item('cap', '{"pk": "b", "sk": 1}', 'SET n = :n', '{":n": 1}',
	return_consumed_capacity => 'TOTAL');
-- an update of a missing item that only removes writes nothing: still 1 WCU
SELECT partkv.update_item('cap', '{"pk": "nobody", "sk": 1}', 'REMOVE n',
	return_consumed_capacity => 'TOTAL');
-- DeleteItem of a missing item: 1 WCU
SELECT partkv.delete_item('cap', '{"pk": "nobody", "sk": 1}', return_consumed_capacity => 'TOTAL');
-- DeleteItem of the 6.5 KB item: ceil(6656 / 1024) = 7 WCU
SELECT partkv.delete_item('cap', '{"pk": "a", "sk": 3}', return_consumed_capacity => 'TOTAL');
-- writes so far: 5 + 2 + 7 + 7 + 2 + 2 + 5 + 5 + 1 + 1 + 1 + 7 = 45 WCU in 12 writes
SELECT * FROM pg_temp.cap_stats();

-- A failed conditional write still consumes (SPEC §3.8): over an existing
-- item, the size of the new item: 1.5 KB -> 2 WCU
SELECT partkv.reset_stats('cap');
SELECT try($$SELECT partkv.put_item('cap', pg_temp.item('a', 1, 1536),
	'attribute_not_exists(pk)', return_consumed_capacity => 'TOTAL')$$);
-- on a missing item: 1 WCU
SELECT try($$SELECT partkv.put_item('cap', pg_temp.item('q', 1, 1536),
	'attribute_exists(pk)')$$);
-- a failed delete of the 5 KB item: its size, 5 WCU
SELECT try($$SELECT partkv.delete_item('cap', '{"pk": "a", "sk": 1}', 'attribute_not_exists(pk)')$$);
-- 3 writes, 2 + 1 + 5 = 8 WCU, 3 conditional check failures; nothing written
SELECT * FROM pg_temp.cap_stats();
SELECT partkv.item_size(item) FROM cap WHERE pk = 'a' AND sk = 1;

--
-- GetItem returns the item itself: its units show in the statistics only
--
SELECT partkv.reset_stats('cap');
-- 5 KB strongly consistent: ceil(5120 / 4096) = 2 RCU
SELECT partkv.get_item('cap', '{"pk": "a", "sk": 1}', consistent_read => true,
	return_consumed_capacity => 'TOTAL') IS NOT NULL;
-- 5 KB eventually consistent: 2 / 2 = 1 RCU
SELECT partkv.get_item('cap', '{"pk": "a", "sk": 1}', return_consumed_capacity => 'INDEXES') IS NOT NULL;
-- a missing item still costs one read: 0.5 RCU eventually consistent
SELECT partkv.get_item('cap', '{"pk": "nobody", "sk": 1}') IS NULL;
-- a projection does not reduce it: 1.5 KB strongly consistent -> 1 RCU
SELECT partkv.get_item('cap', '{"pk": "a", "sk": 2}', 'sk', consistent_read => true);
-- 4 reads, 2 + 1 + 0.5 + 1 = 4.5 RCU
SELECT * FROM pg_temp.cap_stats();

--
-- Query and Scan: the sizes of the items read are summed and rounded up
-- once; filters and projections do not reduce it
--
-- partition key a holds sk 1 (5 KB) and sk 2 (1.5 KB): 6656 bytes, 2 units
-- strongly consistent, 1 eventually consistent
SELECT partkv.query_page('cap', 'pk = :p', '{":p": "a"}', projection => 'sk',
	return_consumed_capacity => 'TOTAL') -> 'ConsumedCapacity';
SELECT partkv.query_page('cap', 'pk = :p', '{":p": "a"}', projection => 'sk', consistent_read => true,
	return_consumed_capacity => 'TOTAL') -> 'ConsumedCapacity';
-- a filter that drops everything: the items were read all the same
SELECT partkv.query_page('cap', 'pk = :p', filter => 'attribute_exists(nothing)',
	attr_values => '{":p": "a"}', return_consumed_capacity => 'INDEXES');
-- item_limit 1 reads the 5 KB item only: 2 units strongly consistent
SELECT partkv.query_page('cap', 'pk = :p', '{":p": "a"}', item_limit => 1, consistent_read => true,
	return_consumed_capacity => 'TOTAL') -> 'ConsumedCapacity';
-- nothing read: the minimum, 0.5 (1 strongly consistent)
SELECT partkv.query_page('cap', 'pk = :p', '{":p": "nobody"}', return_consumed_capacity => 'TOTAL');
SELECT partkv.query_page('cap', 'pk = :p', '{":p": "nobody"}', consistent_read => true,
	return_consumed_capacity => 'TOTAL') -> 'ConsumedCapacity';
-- Scan is eventually consistent: the whole table is 5120 + 1536 + 10 bytes
-- ({pk: b, sk: 1, n: 1} is 3 + 4 + 3 bytes) = 6666, 2 units, halved: 1
SELECT sum(partkv.item_size(item)) FROM cap;
SELECT partkv.scan_page('cap', projection => 'pk', return_consumed_capacity => 'TOTAL') -> 'ConsumedCapacity';
-- per partition, the units add up to the request's; bytes_read counts the
-- stored (jsonb) sizes, never smaller than the DynamoDB sizes
SELECT partkv.reset_stats('cap');
SELECT partkv.scan_page('cap', return_consumed_capacity => 'TOTAL') -> 'ConsumedCapacity';
SELECT sum(read_units), sum(items_read), sum(bytes_read) >= 6666 AS bytes_read_ok
  FROM partkv.partition_stats WHERE table_name = 'cap';
SELECT sum(bytes_read) = (SELECT sum(pg_column_size(item::text::jsonb) - 4) FROM cap) AS stored_sizes
  FROM partkv.partition_stats WHERE table_name = 'cap';
-- query and scan (all pages) are counted too, without ConsumedCapacity
SELECT partkv.reset_stats('cap');
SELECT count(*) FROM partkv.query('cap', 'pk = :p', '{":p": "a"}', consistent_read => true);
SELECT count(*) FROM partkv.scan('cap');
-- query: 1 read, 2 RCU; scan: 1 RCU and one read per partition it read (4)
SELECT * FROM pg_temp.cap_stats();

--
-- Batches round every item on its own; transactions count twice
--
SELECT partkv.create_table('cap2', 'id', 'N', partitions => 2) IS NOT NULL;
SELECT partkv.put_item('cap', pg_temp.item('c', 1, 6656)) IS NOT NULL;
-- 1.5 KB + 6.5 KB strongly consistent: 1 + 2 = 3 RCU (8 KB at once would be 2),
-- plus 1 for the missing key: 4; and table cap2, eventually consistent, a
-- missing key: 0.5
SELECT partkv.batch_get_item('{"RequestItems": {
	"cap": {"Keys": [{"pk": "a", "sk": 2}, {"pk": "c", "sk": 1}, {"pk": "nobody", "sk": 1}],
			"ConsistentRead": true, "ProjectionExpression": "sk"},
	"cap2": {"Keys": [{"id": 1}]}},
	"ReturnConsumedCapacity": "TOTAL"}') -> 'ConsumedCapacity';
-- eventually consistent: 0.5 + 1 = 1.5
SELECT partkv.batch_get_item('{"RequestItems": {
	"cap": {"Keys": [{"pk": "a", "sk": 2}, {"pk": "c", "sk": 1}]}}}', 'INDEXES') -> 'ConsumedCapacity';
-- BatchWriteItem: 1.5 KB put (2) + 100-byte put (1) + delete of the 6.5 KB item (7)
-- = 10 WCU on cap, 1 on cap2
SELECT partkv.batch_write_item(jsonb_build_object('RequestItems', jsonb_build_object(
	'cap', jsonb_build_array(
		jsonb_build_object('PutRequest', jsonb_build_object('Item', pg_temp.item('d', 1, 1536))),
		jsonb_build_object('PutRequest', jsonb_build_object('Item', pg_temp.item('d', 2, 100))),
		jsonb_build_object('DeleteRequest', jsonb_build_object('Key', '{"pk": "c", "sk": 1}'::jsonb))),
	'cap2', jsonb_build_array(jsonb_build_object('PutRequest', jsonb_build_object('Item', '{"id": 1}'::jsonb))))),
	return_consumed_capacity => 'TOTAL');
-- the parameter wins over a body member of NONE, and the other way round
SELECT partkv.batch_write_item('{"RequestItems": {"cap2": [{"PutRequest": {"Item": {"id": 2}}}]},
	"ReturnConsumedCapacity": "NONE"}', 'TOTAL');
SELECT partkv.batch_write_item('{"RequestItems": {"cap2": [{"PutRequest": {"Item": {"id": 2}}}]},
	"ReturnConsumedCapacity": "TOTAL"}');
-- TransactWriteItems: 2 x (put 1.5 KB: 2; update of the 5 KB item keeping
-- its size: 5; ConditionCheck of the 100-byte item: 1) = 16 WCU on cap;
-- delete of the 4-byte item {"id": 2}: 2 x 1 on cap2
SELECT partkv.transact_write_items(jsonb_build_object('TransactItems', jsonb_build_array(
	jsonb_build_object('Put', jsonb_build_object('TableName', 'cap', 'Item', pg_temp.item('e', 1, 1536))),
	jsonb_build_object('Update', jsonb_build_object('TableName', 'cap', 'Key', '{"pk": "a", "sk": 1}'::jsonb,
		'UpdateExpression', 'SET v = :v', 'ExpressionAttributeValues', jsonb_build_object(':v', repeat('x', 5112)))),
	jsonb_build_object('ConditionCheck', jsonb_build_object('TableName', 'cap', 'Key', '{"pk": "d", "sk": 2}'::jsonb,
		'ConditionExpression', 'attribute_exists(pk)')),
	jsonb_build_object('Delete', jsonb_build_object('TableName', 'cap2', 'Key', '{"id": 2}'::jsonb))),
	'ReturnConsumedCapacity', 'TOTAL'));
-- TransactGetItems: 2 x (5 KB: 2 units; missing: 1 unit) = 6 RCU
SELECT partkv.transact_get_items('{"TransactItems": [
	{"Get": {"TableName": "cap", "Key": {"pk": "a", "sk": 1}}},
	{"Get": {"TableName": "cap", "Key": {"pk": "nobody", "sk": 1}}}]}', 'TOTAL') -> 'ConsumedCapacity';
-- a cancelled transaction: the failing action consumes (2 x 5), statistics only
SELECT partkv.reset_stats('cap');
SELECT try($$SELECT partkv.transact_write_items('{"TransactItems": [
	{"ConditionCheck": {"TableName": "cap", "Key": {"pk": "a", "sk": 1}, "ConditionExpression": "attribute_not_exists(pk)"}},
	{"Put": {"TableName": "cap", "Item": {"pk": "f", "sk": 1}}}], "ReturnConsumedCapacity": "TOTAL"}')$$);
SELECT * FROM pg_temp.cap_stats();

--
-- Invalid ReturnConsumedCapacity values (case-sensitive enum)
--
SELECT f, try(f) FROM unnest(ARRAY[
	$$SELECT partkv.put_item('cap', '{"pk": "z", "sk": 1}', return_consumed_capacity => 'total')$$,
	$$SELECT partkv.get_item('cap', '{"pk": "z", "sk": 1}', return_consumed_capacity => 'ALL')$$,
	$$SELECT partkv.update_item('cap', '{"pk": "z", "sk": 1}', 'SET a = :a', '{":a": 1}', return_consumed_capacity => '')$$,
	$$SELECT partkv.delete_item('cap', '{"pk": "z", "sk": 1}', return_consumed_capacity => 'SIZE')$$,
	$$SELECT partkv.query_page('cap', 'pk = :p', '{":p": "a"}', return_consumed_capacity => 'Indexes')$$,
	$$SELECT partkv.scan_page('cap', return_consumed_capacity => 'x')$$,
	$$SELECT partkv.batch_get_item('{"RequestItems": {"cap": {"Keys": [{"pk": "a", "sk": 1}]}}}', 'none')$$,
	$$SELECT partkv.batch_get_item('{"RequestItems": {"cap": {"Keys": [{"pk": "a", "sk": 1}]}}, "ReturnConsumedCapacity": "all"}')$$,
	$$SELECT partkv.batch_write_item('{"RequestItems": {"cap2": [{"PutRequest": {"Item": {"id": 3}}}]}, "ReturnConsumedCapacity": "YES"}')$$,
	$$SELECT partkv.transact_write_items('{"TransactItems": [{"Put": {"TableName": "cap2", "Item": {"id": 3}}}]}', 'no')$$,
	$$SELECT partkv.transact_get_items('{"TransactItems": [{"Get": {"TableName": "cap2", "Key": {"id": 3}}}], "ReturnConsumedCapacity": 1}')$$
]) f;
-- nothing was written by the rejected requests
SELECT count(*) FROM cap WHERE pk = 'z';
SELECT count(*) FROM cap2 WHERE id = 3;

--
-- The views
--
SELECT table_name, column_name, data_type FROM information_schema.columns
 WHERE table_schema = 'partkv' AND table_name IN ('table_stats', 'partition_stats')
 ORDER BY table_name, ordinal_position;
SELECT partition, modulus, remainder, bytes > 0 AS has_bytes FROM partkv.partition_stats
 WHERE table_name = 'cap' ORDER BY remainder;
SELECT table_name, partitions, bytes > 0 AS has_bytes, stream_backlog, gsi_backlog
  FROM partkv.table_stats WHERE table_name IN ('cap', 'cap2') ORDER BY table_name;
-- items is the planner's estimate, known after VACUUM or ANALYZE
ANALYZE cap;
SELECT items FROM partkv.table_stats WHERE table_name = 'cap';
SELECT count(*) FROM cap;

--
-- A skewed workload: one partition key gets almost all the traffic
--
SELECT partkv.create_table('hot', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N', partitions => 8) IS NOT NULL;
SELECT partkv.reset_stats('hot');
SELECT count(partkv.put_item('hot', jsonb_build_object('pk', 'celebrity', 'sk', g))) FROM generate_series(1, 300) g;
SELECT count(partkv.get_item('hot', jsonb_build_object('pk', 'celebrity', 'sk', g))) FROM generate_series(1, 100) g;
SELECT count(partkv.put_item('hot', jsonb_build_object('pk', 'fan' || g, 'sk', 1))) FROM generate_series(1, 30) g;
-- the celebrity's partition has at least 400 of the 430 requests: share > 0.9
SELECT p.partition = (SELECT tableoid::regclass::text FROM hot WHERE pk = 'celebrity' LIMIT 1) AS is_celebrity,
	   p.reads, p.writes >= 300 AS writes_300, round(p.traffic_share::numeric, 1) AS share
  FROM partkv.partition_stats p
 WHERE p.table_name = 'hot' AND p.traffic_share > 0.5;
SELECT count(*) FILTER (WHERE traffic_share > 0.5) AS hot_partitions,
	   round(sum(traffic_share)::numeric, 6) AS total_share,
	   sum(reads) AS reads, sum(writes) AS writes, sum(read_units) AS rcu, sum(write_units) AS wcu
  FROM partkv.partition_stats WHERE table_name = 'hot';
SELECT reads, writes, read_units, write_units, hottest_partition_share > 0.9 AS skewed
  FROM partkv.table_stats WHERE table_name = 'hot';

--
-- partkv.track_stats off: nothing is counted, ConsumedCapacity still works
--
SELECT partkv.reset_stats('hot');
SET partkv.track_stats = off;
SELECT partkv.put_item('hot', '{"pk": "celebrity", "sk": 1}', return_consumed_capacity => 'TOTAL');
SELECT partkv.get_item('hot', '{"pk": "celebrity", "sk": 1}');
RESET partkv.track_stats;
SELECT reads, writes FROM partkv.table_stats WHERE table_name = 'hot';

--
-- reset_stats: a table's owner resets its table; every table needs a superuser
--
SELECT writes > 0 FROM partkv.table_stats WHERE table_name = 'cap';
SELECT partkv.reset_stats('cap');
SELECT reads, writes, read_units, write_units FROM partkv.table_stats WHERE table_name = 'cap';
SELECT try($$SELECT partkv.reset_stats('nosuch')$$);
CREATE ROLE regress_partkv_stats;
GRANT SELECT, INSERT, UPDATE, DELETE ON cap TO regress_partkv_stats;
SET ROLE regress_partkv_stats;
SELECT count(*) > 0 FROM partkv.partition_stats;
SELECT try($$SELECT partkv.reset_stats('cap')$$);
SELECT try($$SELECT partkv.reset_stats()$$);
RESET ROLE;
SELECT partkv.put_item('cap', '{"pk": "g", "sk": 1}') IS NOT NULL;
SELECT partkv.reset_stats();
SELECT count(*) FROM partkv_internal.stats_counters();

SELECT partkv.delete_table('hot') IS NOT NULL;
SELECT partkv.delete_table('cap2') IS NOT NULL;
REVOKE ALL ON cap FROM regress_partkv_stats;
DROP ROLE regress_partkv_stats;
SELECT partkv.delete_table('cap') IS NOT NULL;

-- tables with a stream (or GSIs) show their worker's backlog in WAL bytes; others NULL
SELECT partkv.create_table('cap_stream', 'pk', stream_view_type => 'KEYS_ONLY') IS NOT NULL AS created;
SELECT partkv.put_item('cap_stream', '{"pk": "a"}');
SELECT partkv.stream_wait();
SELECT table_name, stream_backlog >= 0 AS stream_backlog_known, gsi_backlog IS NULL AS no_gsi_backlog
  FROM partkv.table_stats WHERE table_name = 'cap_stream';
SELECT partkv.delete_table('cap_stream') IS NOT NULL AS deleted;

-- INDEXES: what each secondary index consumed.  capix has an LSI (ALL) on l
-- and a GSI (KEYS_ONLY) on g; the items are under 1 KB.
SELECT partkv.create_table('{"TableName": "capix",
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                           {"AttributeName": "l", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "S"}],
  "LocalSecondaryIndexes": [{"IndexName": "by_l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                            {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
  "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "KEYS_ONLY"}}]}') IS NOT NULL AS created;
-- a new item in both indexes: table 1 + LSI 1 + GSI 1
SELECT partkv.put_item('capix', '{"pk": "a", "sk": "1", "l": 5, "g": "x"}', return_consumed_capacity => 'INDEXES');
-- TOTAL folds the indexes into CapacityUnits
SELECT partkv.put_item('capix', '{"pk": "a", "sk": "2", "l": 6}', return_consumed_capacity => 'TOTAL');
-- g changes: the GSI entry moves (delete + put = 2), the LSI entry is rewritten (1)
SELECT partkv.update_item('capix', '{"pk": "a", "sk": "1"}', 'SET g = :y', '{":y": "y"}',
						  return_consumed_capacity => 'INDEXES');
-- only a non-key attribute changes: the KEYS_ONLY GSI entry is not rewritten
SELECT partkv.update_item('capix', '{"pk": "a", "sk": "1"}', 'SET v = :v', '{":v": 1}',
						  return_consumed_capacity => 'INDEXES');
-- a delete removes both entries: table 1 + LSI 1 + GSI 1
SELECT partkv.delete_item('capix', '{"pk": "a", "sk": "1"}', return_consumed_capacity => 'INDEXES');
-- reading an index is charged to the index (eventually consistent: 0.5)
SELECT partkv.query_page('capix', 'pk = :p', '{":p": "a"}', index_name => 'by_l',
						 return_consumed_capacity => 'INDEXES')->'ConsumedCapacity';
SELECT partkv.delete_table('capix') IS NOT NULL AS deleted;

-- an entry whose keys and projected attributes all stay costs its index
-- nothing: capinc has an LSI (ALL) on l and a GSI (INCLUDE r) on g
SELECT partkv.create_table('{"TableName": "capinc",
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                           {"AttributeName": "l", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "S"}],
  "LocalSecondaryIndexes": [{"IndexName": "by_l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"},
                            {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
  "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
                             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["r"]}}]}') IS NOT NULL AS created;
SELECT partkv.put_item('capinc', '{"pk": "a", "sk": "1", "l": 5, "g": "x", "r": 1, "v": 1}',
					   return_consumed_capacity => 'INDEXES')->'ConsumedCapacity';
-- v is not projected into by_g: only the LSI (ALL) entry is rewritten
SELECT partkv.update_item('capinc', '{"pk": "a", "sk": "1"}', 'SET v = :v', '{":v": 2}',
						  return_consumed_capacity => 'INDEXES')->'ConsumedCapacity';
-- r is: both entries are rewritten
SELECT partkv.update_item('capinc', '{"pk": "a", "sk": "1"}', 'SET r = :r', '{":r": 2}',
						  return_consumed_capacity => 'INDEXES')->'ConsumedCapacity';
-- the same item again: neither entry changes
SELECT partkv.put_item('capinc', '{"pk": "a", "sk": "1", "l": 5, "g": "x", "r": 2, "v": 2}',
					   return_consumed_capacity => 'INDEXES')->'ConsumedCapacity';
SELECT partkv.delete_table('capinc') IS NOT NULL AS deleted;
