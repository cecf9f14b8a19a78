-- Time to Live: update_time_to_live (every state and error),
-- describe_time_to_live and describe_table, the sweeper's index,
-- run_ttl_sweep deleting only expired items (top-level Numbers in
-- [now - 5 years, now)), expired items readable until swept, and the
-- stream's REMOVE records of TTL deletes (userIdentity Service).
--
-- The stream worker also sweeps (every partkv.ttl_interval): items are
-- written and swept in one transaction, so that it never sees them first.
\set VERBOSITY terse

-- a stream record without its volatile fields
CREATE FUNCTION pg_temp.m(r jsonb) RETURNS text LANGUAGE sql AS $$
	SELECT (r - 'eventID' #- '{dynamodb,SequenceNumber}'
			  #- '{dynamodb,ApproximateCreationDateTime}' #- '{dynamodb,SizeBytes}'
			  #- '{dynamodb,OldImage,exp}')::text
$$;
-- the ids of the items of a table, sorted
CREATE FUNCTION pg_temp.ids(t text) RETURNS text LANGUAGE sql AS $$
	SELECT coalesce(string_agg(i->>'id', ' ' ORDER BY i->>'id'), '(none)') FROM partkv.scan(t) i
$$;

SHOW partkv.ttl_interval;
SHOW partkv.ttl_batch_size;

SELECT partkv.create_table('ttl_sessions', 'id', partitions => 4,
						   stream_view_type => 'NEW_AND_OLD_IMAGES') IS NOT NULL AS created;

-- never configured: DISABLED, and describe_table says nothing
SELECT partkv.describe_time_to_live('ttl_sessions');
SELECT partkv.describe_table('ttl_sessions') ? 'TimeToLiveDescription' AS described;

-- validation
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', '')$$);
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', NULL)$$);
SELECT replace(try($$SELECT partkv.update_time_to_live('ttl_sessions', repeat('x', 256))$$),
			   repeat('x', 256), 'x...x') AS try;
SELECT length(partkv.update_time_to_live('ttl_sessions', repeat('x', 255))::text) > 0 AS longest_ok;
SELECT partkv.update_time_to_live('ttl_sessions', repeat('x', 255), false) IS NOT NULL AS disabled;
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', 'exp', NULL)$$);
SELECT try($$SELECT partkv.update_time_to_live('ttl_nothing', 'exp')$$);
SELECT try($$SELECT partkv.update_time_to_live('x', 'exp')$$);

-- the state machine
CREATE TABLE ttl_sessions_fresh AS SELECT 1;	-- (a plain table, not a kv table)
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions_fresh', 'exp')$$);
SELECT partkv.create_table('ttl_fresh', 'id', partitions => 1) IS NOT NULL AS created;
SELECT try($$SELECT partkv.update_time_to_live('ttl_fresh', 'exp', false)$$);
SELECT partkv.update_time_to_live('ttl_sessions', 'exp');
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', 'exp')$$);
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', 'expires', true)$$);
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', 'expires', false)$$);
SELECT partkv.describe_time_to_live('ttl_sessions');
SELECT partkv.describe_table('ttl_sessions')->'TimeToLiveDescription' AS described;
SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname = 'ttl_sessions_ttl';
SELECT partkv.update_time_to_live('ttl_sessions', 'exp', enabled => false);
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', 'exp', false)$$);
SELECT partkv.describe_table('ttl_sessions')->'TimeToLiveDescription' AS described;
SELECT count(*) AS ttl_indexes FROM pg_indexes WHERE indexname = 'ttl_sessions_ttl';
-- a table with TTL disabled has nothing to sweep
SELECT partkv.run_ttl_sweep('ttl_sessions');

-- only the owner changes TTL; run_ttl_sweep needs DELETE
CREATE ROLE regress_partkv_ttl;
GRANT SELECT ON ttl_sessions TO regress_partkv_ttl;
SET ROLE regress_partkv_ttl;
SELECT try($$SELECT partkv.update_time_to_live('ttl_sessions', 'exp')$$);
SELECT try($$SELECT partkv.run_ttl_sweep('ttl_sessions')$$);
SELECT partkv.run_ttl_sweep();
RESET ROLE;
SELECT partkv.describe_time_to_live('ttl_sessions');

-- what expires: written, read and swept in one transaction
SET partkv.ttl_batch_size = 2;
BEGIN;
SELECT partkv.update_time_to_live('ttl_sessions', 'exp');
CREATE TEMP TABLE ttl_now AS SELECT floor(extract(epoch FROM now()))::bigint AS s;
SELECT count(partkv.put_item('ttl_sessions', x)) AS written
  FROM ttl_now, LATERAL (VALUES
	(jsonb_build_object('id', 'past1', 'exp', s - 10)),
	(jsonb_build_object('id', 'past2', 'exp', s - 3600)),
	(jsonb_build_object('id', 'past3', 'exp', s - 86400 * 365 * 4)),		-- 4 years ago
	(jsonb_build_object('id', 'past4', 'exp', (s - 100)::numeric + 0.25)),	-- fractional
	(jsonb_build_object('id', 'past5', 'exp', s - 5, 'v', 'x')),
	(jsonb_build_object('id', 'past6', 'exp', s - 5, 'v', 'y')),
	(jsonb_build_object('id', 'past7', 'exp', s - 5)),
	(jsonb_build_object('id', 'future', 'exp', s + 3600)),
	(jsonb_build_object('id', 'ancient', 'exp', s - 86400 * 365 * 6)),	-- over 5 years ago
	(jsonb_build_object('id', 'epoch', 'exp', 1000)),
	(jsonb_build_object('id', 'string', 'exp', (s - 10)::text)),
	(jsonb_build_object('id', 'nested', 'm', jsonb_build_object('exp', s - 10))),
	(jsonb_build_object('id', 'set', 'exp', jsonb_build_object('$NS', jsonb_build_array(s - 10)))),
	(jsonb_build_object('id', 'list', 'exp', jsonb_build_array(s - 10))),
	(jsonb_build_object('id', 'bool', 'exp', true)),
	(jsonb_build_object('id', 'other', 'expires', s - 10)),
	(jsonb_build_object('id', 'renewed', 'exp', s - 10)),
	(jsonb_build_object('id', 'removed', 'exp', s - 10))) AS v(x);
-- expired items are returned until deleted
SELECT partkv.get_item('ttl_sessions', '{"id": "past1"}') ? 'exp' AS past1_read;
SELECT count(*) FROM partkv.query('ttl_sessions', 'id = :i', '{":i": "past2"}');
SELECT pg_temp.ids('ttl_sessions');
-- and can still be saved by changing the attribute
SELECT partkv.update_item('ttl_sessions', '{"id": "renewed"}', 'SET #e = #e + :d',
						  '{":d": 7200}', '{"#e": "exp"}');
SELECT partkv.update_item('ttl_sessions', '{"id": "removed"}', 'REMOVE #e', attr_names => '{"#e": "exp"}');
SELECT partkv.run_ttl_sweep('ttl_sessions') AS deleted;
SELECT pg_temp.ids('ttl_sessions');
SELECT partkv.get_item('ttl_sessions', '{"id": "past1"}') AS past1;
SELECT partkv.run_ttl_sweep('ttl_sessions') AS deleted_again;
COMMIT;
RESET partkv.ttl_batch_size;

-- the sweep's deletes are counted, free of capacity
SELECT sum(ttl_deletes) AS ttl_deletes, sum(items_deleted) AS items_deleted
  FROM partkv.partition_stats WHERE table_name = 'ttl_sessions';

-- TTL deletes are REMOVE records by the service; a user's delete is not
SELECT partkv.delete_item('ttl_sessions', '{"id": "future"}');
SELECT partkv.stream_wait() AS caught_up;
SELECT r->'dynamodb'->'Keys'->>'id' AS id, r->'userIdentity' AS identity,
	   r->'dynamodb'->'OldImage' ? 'exp' AS old_image
  FROM partkv.stream_records('ttl_sessions') r
 WHERE r->>'eventName' = 'REMOVE'
 ORDER BY r ? 'userIdentity' DESC, id;
SELECT pg_temp.m(r) FROM partkv.stream_records('ttl_sessions') r
 WHERE r->>'eventName' = 'REMOVE' AND r->'dynamodb'->'Keys'->>'id' = 'past1';

-- the TTL attribute may be a key attribute: a Number sort key expires, a
-- String never does
SELECT partkv.create_table('ttl_keys', 'id', sort_key => 'exp', sort_key_type => 'N',
						   partitions => 2) IS NOT NULL AS created;
SELECT partkv.create_table('ttl_skeys', 'exp', partitions => 2) IS NOT NULL AS created;
BEGIN;
SELECT partkv.update_time_to_live('ttl_keys', 'exp')->'TimeToLiveSpecification' AS spec;
SELECT partkv.update_time_to_live('ttl_skeys', 'exp')->'TimeToLiveSpecification' AS spec;
SELECT partkv.put_item('ttl_keys', jsonb_build_object('id', 'a', 'exp', floor(extract(epoch FROM now())) - 60));
SELECT partkv.put_item('ttl_keys', jsonb_build_object('id', 'a', 'exp', floor(extract(epoch FROM now())) + 60));
SELECT partkv.put_item('ttl_skeys', jsonb_build_object('exp', (floor(extract(epoch FROM now())) - 60)::text));
-- NULL: every TTL-enabled table the caller may delete from
SELECT partkv.run_ttl_sweep() AS deleted;
SELECT count(*) AS left_keys FROM partkv.scan('ttl_keys');
SELECT count(*) AS left_skeys FROM partkv.scan('ttl_skeys');
COMMIT;

-- disabling drops the index; the catalog keeps the last specification
SELECT partkv.update_time_to_live('ttl_keys', 'exp', false);
SELECT time_to_live FROM partkv.tables WHERE table_name = 'ttl_keys';
SELECT count(*) AS ttl_indexes FROM pg_indexes WHERE indexname = 'ttl_keys_ttl';
-- re-enabling with another attribute
SELECT partkv.update_time_to_live('ttl_keys', 'other');
SELECT partkv.describe_time_to_live('ttl_keys');

SELECT partkv.delete_table('ttl_sessions') IS NOT NULL AS dropped;
SELECT partkv.delete_table('ttl_keys') IS NOT NULL AS dropped;
SELECT partkv.delete_table('ttl_skeys') IS NOT NULL AS dropped;
SELECT partkv.delete_table('ttl_fresh') IS NOT NULL AS dropped;
DROP TABLE ttl_sessions_fresh;
DROP ROLE regress_partkv_ttl;
