-- A gap in the stream, as a lost replication slot leaves it (the loss is
-- simulated by a partkv.lost_slots row over a stretch of WAL the worker did
-- materialise; test/t/060_lost_slot.pl loses a slot for real): describe_stream
-- shows it; readers get the records before it, then
-- TrimmedDataAccessException (KV005), also when they start inside it;
-- TRIM_HORIZON, LATEST and stream_records from the start begin after it; a
-- handler records it as a dead letter and goes on.  partkv.stream_backlog.
-- Runs last: the gap concerns every stream open meanwhile.
\set VERBOSITY terse

CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;
-- the keys of a GetRecords result
CREATE FUNCTION pg_temp.keys(res jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(r->'dynamodb'->'Keys'->>'pk', ',' ORDER BY o), '(none)')
	  FROM jsonb_array_elements(res->'Records') WITH ORDINALITY AS x(r, o)
$$;

CREATE ROLE ls_app LOGIN;
CREATE SCHEMA ls AUTHORIZATION ls_app;
SELECT partkv.create_table('ls_t', 'pk', 'S', partitions => 1,
						   stream_view_type => 'KEYS_ONLY') IS NOT NULL AS created;
GRANT SELECT ON ls_t TO ls_app;
SET ROLE ls_app;
CREATE TABLE ls.seen (pk text);
CREATE FUNCTION ls.handle(records jsonb) RETURNS void LANGUAGE sql AS
  $$ INSERT INTO ls.seen SELECT r->'dynamodb'->'Keys'->>'pk' FROM jsonb_array_elements(records) r $$;
SELECT h->>'Handler' AS handler FROM partkv.add_stream_handler('ls_t', 'ls.handle') h;
RESET ROLE;
-- the handler waits until the gap exists
UPDATE partkv.stream_handlers SET enabled = false WHERE table_name = 'ls_t';

SELECT partkv.put_item('ls_t', '{"pk": "a"}');
SELECT partkv.put_item('ls_t', '{"pk": "b"}');
SELECT partkv.stream_wait() AS caught_up;
SELECT pg_current_wal_insert_lsn() AS gap_from \gset
SELECT partkv.put_item('ls_t', '{"pk": "lost"}');
SELECT partkv.stream_wait() AS caught_up;
SELECT pg_current_wal_insert_lsn() AS gap_to \gset
SELECT partkv.put_item('ls_t', '{"pk": "c"}');
SELECT partkv.stream_wait() AS caught_up;
SELECT r->'dynamodb'->>'SequenceNumber' AS seq_a FROM partkv.stream_records('ls_t') r
 WHERE r->'dynamodb'->'Keys'->>'pk' = 'a' \gset
SELECT r->'dynamodb'->>'SequenceNumber' AS seq_b FROM partkv.stream_records('ls_t') r
 WHERE r->'dynamodb'->'Keys'->>'pk' = 'b' \gset
SELECT r->'dynamodb'->>'SequenceNumber' AS seq_lost FROM partkv.stream_records('ls_t') r
 WHERE r->'dynamodb'->'Keys'->>'pk' = 'lost' \gset
SELECT r->'dynamodb'->>'SequenceNumber' AS seq_c FROM partkv.stream_records('ls_t') r
 WHERE r->'dynamodb'->'Keys'->>'pk' = 'c' \gset
SELECT partkv.describe_stream('ls_t')->'Shards'->0->>'ShardId' AS shard \gset
SELECT partkv.get_shard_iterator('ls_t', :'shard', 'TRIM_HORIZON') AS old_horizon \gset

-- no gap yet
SELECT partkv.describe_stream('ls_t') ? 'StreamGaps' AS has_gaps;
SELECT worker, wal_status, worker_pid IS NOT NULL AS running, backlog_bytes >= 0 AS backlog,
	   retained_bytes >= backlog_bytes AS kept, lag IS NOT NULL AS lag, slot_losses, last_slot_loss_at
  FROM partkv.stream_backlog ORDER BY worker;

-- the stream worker lost its slot over the "lost" put
INSERT INTO partkv.lost_slots (worker, slot_name, from_lsn, to_lsn, detected_at, recovered_at)
VALUES ('stream', 'partkv_stream_test', :'gap_from', :'gap_to', now(), now());

SELECT g->'SequenceNumberRange'->>'StartingSequenceNumber' < :'seq_lost' AS starts_before,
	   g->'SequenceNumberRange'->>'EndingSequenceNumber' BETWEEN :'seq_lost' AND :'seq_c' AS ends_before_c,
	   g->>'Reason' AS reason
  FROM jsonb_array_elements(partkv.describe_stream('ls_t')->'StreamGaps') g;
SELECT worker, slot_losses, last_slot_loss_at IS NOT NULL AS lost_at FROM partkv.stream_backlog ORDER BY worker;

-- iterators from before the gap read up to it, then are refused
SELECT pg_temp.keys(partkv.get_records(:'old_horizon'));
SELECT partkv.get_records(:'old_horizon', 1)->>'NextShardIterator' AS next \gset
SELECT pg_temp.keys(partkv.get_records(:'next'));
SELECT partkv.get_records(:'old_horizon')->>'NextShardIterator' AS next \gset
SELECT pg_temp.try(format('SELECT partkv.get_records(%L)', :'next'));
SELECT pg_temp.keys(partkv.get_records(partkv.get_shard_iterator('ls_t', :'shard', 'AT_SEQUENCE_NUMBER', :'seq_b')));
SELECT pg_temp.try(format('SELECT partkv.get_records(partkv.get_shard_iterator(%L, %L, %L, %L))',
						  'ls_t', :'shard', 'AFTER_SEQUENCE_NUMBER', :'seq_b'));
-- inside the gap: refused at once
SELECT pg_temp.try(format('SELECT partkv.get_shard_iterator(%L, %L, %L, %L)',
						  'ls_t', :'shard', 'AT_SEQUENCE_NUMBER', :'seq_lost'));
SELECT pg_temp.try(format('SELECT partkv.get_shard_iterator(%L, %L, %L, %L)',
						  'ls_t', :'shard', 'AFTER_SEQUENCE_NUMBER', :'seq_lost'));
-- after it, and the horizon and the latest position
SELECT pg_temp.keys(partkv.get_records(partkv.get_shard_iterator('ls_t', :'shard', 'AT_SEQUENCE_NUMBER', :'seq_c')));
SELECT pg_temp.keys(partkv.get_records(partkv.get_shard_iterator('ls_t', :'shard', 'TRIM_HORIZON')));
SELECT pg_temp.keys(partkv.get_records(partkv.get_shard_iterator('ls_t', :'shard', 'LATEST')));

-- stream_records
SELECT string_agg(r->'dynamodb'->'Keys'->>'pk', ',') AS from_start FROM partkv.stream_records('ls_t') r;
SELECT string_agg(r->'dynamodb'->'Keys'->>'pk', ',') AS after_a FROM partkv.stream_records('ls_t', :'seq_a') r;
SELECT pg_temp.try(format('SELECT partkv.stream_records(%L, %L)', 'ls_t', :'seq_b'));
SELECT pg_temp.try(format('SELECT partkv.stream_records(%L, %L)', 'ls_t', :'seq_lost'));
SELECT count(*) AS after_c FROM partkv.stream_records('ls_t', :'seq_c');

-- the handler: a, b, then the gap as a dead letter, then c
UPDATE partkv.stream_handlers SET enabled = true WHERE table_name = 'ls_t';
SELECT partkv.stream_handlers_wait() AS handled;
SELECT string_agg(pk, ',' ORDER BY pk) AS seen FROM ls.seen;
SELECT d.records, d.error ~ '^TrimmedDataAccessException: the changes committed between sequence numbers' AS gap_error,
	   d.attempts
  FROM partkv.dead_letters d JOIN partkv.stream_handlers h USING (handler_id)
 WHERE h.table_name = 'ls_t';
SELECT position = :'seq_c' AS past_the_gap
  FROM partkv.stream_handlers WHERE table_name = 'ls_t';

-- clean up: the gap concerned every open stream
DELETE FROM partkv.lost_slots WHERE slot_name = 'partkv_stream_test';
SELECT partkv.delete_table('ls_t') IS NOT NULL AS deleted;
DROP SCHEMA ls CASCADE;
DROP ROLE ls_app;
