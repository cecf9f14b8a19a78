-- The materialised change stream: the background worker, DescribeStream,
-- shard iterators, GetRecords, stream_records, UpdateTable's
-- StreamSpecification, privileges and errors.
\set VERBOSITY terse

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
-- a record without its volatile fields
CREATE FUNCTION pg_temp.m(r jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT (r - 'eventID' #- '{dynamodb,SequenceNumber}'
			  #- '{dynamodb,ApproximateCreationDateTime}')::text
$$;

-- a worker serves this database
SELECT partkv.stream_wait('60s') AS caught_up;
SELECT partkv.stream_worker_status() ?& ARRAY['pid', 'reachedLsn', 'records'] AS status;
SELECT count(*) AS slots FROM pg_replication_slots
 WHERE slot_name = 'partkv_stream_' || (SELECT oid FROM pg_database WHERE datname = current_database())
   AND plugin = 'partkv';

SELECT partkv.create_table('st_orders', 'customer', 'S', sort_key => 'id', sort_key_type => 'N',
						   partitions => 4, stream_view_type => 'NEW_AND_OLD_IMAGES') IS NOT NULL AS created;
SELECT partkv.create_table('st_quiet', 'k', 'S', partitions => 2) IS NOT NULL AS created;
SELECT partkv.put_item('st_orders', '{"customer": "c1", "id": 1, "total": 10}');
SELECT partkv.put_item('st_orders', '{"customer": "c1", "id": 1, "total": 12}');
SELECT partkv.put_item('st_orders', '{"customer": "c2", "id": 7, "total": 3}');
SELECT partkv.delete_item('st_orders', '{"customer": "c1", "id": 1}');
SELECT partkv.put_item('st_quiet', '{"k": "x"}');
SELECT partkv.stream_wait() AS caught_up;

-- all shards merged, in sequence order
SELECT pg_temp.m(r) FROM partkv.stream_records('st_orders') r;
SELECT count(*) FROM partkv.stream_records('st_orders', item_limit => 2);
SELECT pg_temp.m(r) FROM partkv.stream_records('st_orders',
	(SELECT r->'dynamodb'->>'SequenceNumber' FROM partkv.stream_records('st_orders') r LIMIT 1 OFFSET 2)) r;
SELECT pg_temp.try($$SELECT partkv.stream_records('st_orders', 'abc')$$);

-- the worker's records are the plugin's records
SELECT bool_and(r->'dynamodb'->>'SequenceNumber' ~ '^[0-9]{30}$') AS seqno,
	   count(DISTINCT r->>'eventID') AS events
  FROM partkv.stream_records('st_orders') r;

-- DescribeStream: one shard per partition, open while the stream is enabled
SELECT d - 'StreamArn' - 'StreamLabel' - 'CreationRequestDateTime' - 'Shards' AS description,
	   d->>'StreamArn' = format('arn:partkv:%s:public:table/st_orders/stream/%s', current_database(), d->>'StreamLabel') AS arn,
	   d->>'StreamLabel' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$' AS label,
	   jsonb_typeof(d->'CreationRequestDateTime') AS created
  FROM partkv.describe_stream('st_orders') d;
SELECT s->>'ShardId' AS shard, s->'SequenceNumberRange' ? 'StartingSequenceNumber' AS starts,
	   s->'SequenceNumberRange' ? 'EndingSequenceNumber' AS ends
  FROM partkv.describe_stream('st_orders') d, jsonb_array_elements(d->'Shards') s;
SELECT pg_temp.try($$SELECT partkv.describe_stream('st_quiet')$$);
SELECT pg_temp.try($$SELECT partkv.describe_stream('st_nothing')$$);

-- GetShardIterator + GetRecords, shard by shard: every record exactly once
CREATE TEMP TABLE st_read (shard text, n int, r jsonb);
DO $$
DECLARE
	sh jsonb;
	it text;
	page jsonb;
	n int;
BEGIN
	FOR sh IN SELECT s FROM jsonb_array_elements(partkv.describe_stream('st_orders')->'Shards') s LOOP
		it := partkv.get_shard_iterator('st_orders', sh->>'ShardId', 'TRIM_HORIZON');
		n := 0;
		LOOP
			page := partkv.get_records(it, 1);
			EXIT WHEN jsonb_array_length(page->'Records') = 0;
			n := n + 1;
			INSERT INTO st_read SELECT sh->>'ShardId', n, r FROM jsonb_array_elements(page->'Records') r;
			it := page->>'NextShardIterator';
		END LOOP;
	END LOOP;
END;
$$;
SELECT shard, n, pg_temp.m(r) FROM st_read ORDER BY shard, n;
SELECT (SELECT count(*) FROM st_read) = (SELECT count(*) FROM partkv.stream_records('st_orders')) AS all_read,
	   bool_and(r->>'shardId' = shard) AS right_shard
  FROM st_read;

-- LATEST sees only what comes next; AT and AFTER a sequence number
SELECT r->>'shardId' AS shard, r->'dynamodb'->>'SequenceNumber' AS seq
  FROM partkv.stream_records('st_orders') r WHERE r->'dynamodb'->'Keys'->>'customer' = 'c1' LIMIT 1 \gset
SELECT partkv.get_shard_iterator('st_orders', :'shard', 'LATEST') AS latest \gset
SELECT partkv.get_records(:'latest')->'Records' AS nothing_yet;
SELECT partkv.put_item('st_orders', '{"customer": "c1", "id": 2}');
SELECT partkv.stream_wait() AS caught_up;
SELECT pg_temp.m(r) FROM jsonb_array_elements(partkv.get_records(:'latest')->'Records') r;
SELECT jsonb_array_length(partkv.get_records(
	partkv.get_shard_iterator('st_orders', :'shard', 'AT_SEQUENCE_NUMBER', :'seq'))->'Records') AS at_seq,
	   jsonb_array_length(partkv.get_records(
	partkv.get_shard_iterator('st_orders', :'shard', 'AFTER_SEQUENCE_NUMBER', :'seq'))->'Records') AS after_seq,
	   jsonb_array_length(partkv.get_records(
	partkv.get_shard_iterator('st_orders', :'shard', 'AFTER_SEQUENCE_NUMBER', ltrim(:'seq', '0')))->'Records') AS unpadded;
-- the next iterator of an exhausted open shard stays put
SELECT jsonb_array_length(p->'Records') AS records, p ? 'NextShardIterator' AS more
  FROM partkv.get_records(partkv.get_shard_iterator('st_orders', :'shard', 'LATEST')) p;

-- errors
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('st_orders', 'shardId-0000000004-0000000000', 'OLDEST')$$);
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('st_orders', 'shardId-0000000004-0000000000', 'AT_SEQUENCE_NUMBER')$$);
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('st_orders', 'shardId-0000000004-0000000000', 'LATEST', '1')$$);
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('st_orders', 'shardId-0000000004-0000000000', 'AT_SEQUENCE_NUMBER', '12x')$$);
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('st_orders', 'shardId-0000000009-0000000000', 'LATEST')$$);
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('st_quiet', 'shardId-0000000002-0000000000', 'LATEST')$$);
SELECT pg_temp.try($$SELECT partkv.get_records('nonsense')$$);
SELECT pg_temp.try($$SELECT partkv.get_records('partkv-iterator:!!!')$$);
SELECT pg_temp.try(format($$SELECT partkv.get_records(%L, 0)$$, :'latest'));
SELECT pg_temp.try(format($$SELECT partkv.get_records(%L, 1001)$$, :'latest'));
-- an iterator issued 16 minutes ago has expired
SELECT regexp_replace(pg_temp.try(format($$SELECT partkv.get_records(%L)$$,
	'partkv-iterator:' || translate(encode(convert_to(jsonb_build_object('s', 1, 'h', 'x', 'a', NULL, 'i', false,
		't', extract(epoch FROM now()) - 960)::text, 'UTF8'), 'base64'), E'\n', ''))),
	'created at time .*', 'created at time ...') AS expired;

-- UpdateTable: StreamSpecification
SELECT pg_temp.try($$SELECT partkv.update_table('st_orders', '{}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_orders', '[]')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_orders', '{"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_orders', '{"StreamSpecification": {"StreamViewType": "KEYS_ONLY"}}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_quiet', '{"StreamSpecification": {"StreamEnabled": false}}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_quiet', '{"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "ALL"}}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_quiet', '{"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "gsi"}}]}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_quiet', '{"BillingMode": "PAY_PER_REQUEST"}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_quiet', '{"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}, "Colour": 1}')$$);
SELECT pg_temp.try($$SELECT partkv.update_table('st_nothing', '{"StreamSpecification": {"StreamEnabled": false}}')$$);

-- disabling closes the stream: its shards end, it stays readable
SELECT d->'StreamSpecification' AS spec, d ? 'LatestStreamArn' AS arn, d->>'TableStatus' AS status
  FROM partkv.update_table('st_orders', '{"StreamSpecification": {"StreamEnabled": false}}') d;
SELECT c.relreplident, count(*) FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
 WHERE p.inhparent = 'st_orders'::regclass GROUP BY 1;
SELECT partkv.put_item('st_orders', '{"customer": "c3", "id": 1}');
SELECT partkv.stream_wait() AS caught_up;
SELECT count(*) AS records FROM partkv.stream_records('st_orders');
SELECT d->>'StreamStatus' AS status,
	   bool_and(s->'SequenceNumberRange' ? 'EndingSequenceNumber') AS all_ended
  FROM partkv.describe_stream('st_orders') d, jsonb_array_elements(d->'Shards') s GROUP BY 1;
-- a closed shard read to its end has no next iterator
SELECT jsonb_array_length(p->'Records') AS records, p ? 'NextShardIterator' AS more
  FROM partkv.get_records(partkv.get_shard_iterator('st_orders', :'shard', 'TRIM_HORIZON')) p;
SELECT pg_temp.try($$SELECT partkv.update_table('st_orders', '{"StreamSpecification": {"StreamEnabled": false}}')$$);

-- enabling again starts a new stream with a new label; records of both
-- stay in stream_records, the iterators read the latest stream
SELECT partkv.describe_stream('st_orders')->>'StreamLabel' AS old_label \gset
SELECT d->'StreamSpecification' AS spec, d->>'LatestStreamLabel' <> :'old_label' AS new_label
  FROM partkv.update_table('st_orders', '{"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}') d;
SELECT c.relreplident, count(*) FROM pg_inherits p JOIN pg_class c ON c.oid = p.inhrelid
 WHERE p.inhparent = 'st_orders'::regclass GROUP BY 1;
SELECT partkv.put_item('st_orders', '{"customer": "c3", "id": 1, "v": 2}');
SELECT partkv.stream_wait() AS caught_up;
SELECT pg_temp.m(r) FROM partkv.stream_records('st_orders') r;
SELECT d->>'StreamStatus' AS status, d->>'StreamViewType' AS view_type,
	   count(*) FILTER (WHERE s->'SequenceNumberRange' ? 'EndingSequenceNumber') AS ended
  FROM partkv.describe_stream('st_orders') d, jsonb_array_elements(d->'Shards') s GROUP BY 1, 2;
SELECT r->>'shardId' AS c3_shard FROM partkv.stream_records('st_orders') r
 WHERE r->'dynamodb'->'Keys'->>'customer' = 'c3' \gset
SELECT jsonb_array_length(partkv.get_records(
	partkv.get_shard_iterator('st_orders', :'c3_shard', 'TRIM_HORIZON'))->'Records') AS new_stream_records;

-- privileges: the stream of a table is readable by who may read the table
CREATE ROLE st_reader;
CREATE ROLE st_nobody;
GRANT SELECT ON st_orders TO st_reader;
SET ROLE st_reader;
SELECT count(*) AS visible FROM partkv.stream_records('st_orders');
SELECT count(*) > 0 AS direct FROM partkv.stream_log;
SELECT pg_temp.try($$SELECT partkv.update_table('st_orders', '{"StreamSpecification": {"StreamEnabled": false}}')$$);
SELECT partkv.get_shard_iterator('st_orders', :'shard', 'TRIM_HORIZON') AS reader_it \gset
RESET ROLE;
SET ROLE st_nobody;
SELECT pg_temp.try($$SELECT partkv.stream_records('st_orders')$$);
SELECT pg_temp.try($$SELECT partkv.describe_stream('st_orders')$$);
SELECT pg_temp.try(format($$SELECT partkv.get_records(%L)$$, :'reader_it'));
SELECT count(*) AS direct FROM partkv.stream_log;
SELECT pg_temp.try($$SELECT partkv_internal.stream_maintain('1h', '1h')$$);
RESET ROLE;

-- the NOTIFY channel of a table (LISTEN on it; names cut to 63 bytes)
SELECT partkv_internal.stream_channel('st_orders');
SELECT length(partkv_internal.stream_channel(repeat('x', 100)));

-- deleting the table closes its stream
SELECT partkv.delete_table('st_orders') IS NOT NULL AS deleted;
SELECT count(*) FILTER (WHERE disabled_at IS NULL) AS open, count(*) AS streams
  FROM partkv.streams WHERE table_name = 'st_orders';
SELECT partkv.delete_table('st_quiet') IS NOT NULL AS deleted;
DROP ROLE st_reader;
DROP ROLE st_nobody;
