--
-- Security: partkv's catalogs are written only through partkv_internal.catalog_write,
-- which checks the caller's right to do what a row means; streams refuse
-- roles for which row-level security is active; statistics show a role the
-- tables it may read.  Every attack is made by an unprivileged role.
--
\set VERBOSITY terse
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

CREATE ROLE sec_owner;
CREATE ROLE sec_mallory;
CREATE SCHEMA sec_app AUTHORIZATION sec_owner;
CREATE SCHEMA sec_shared;
GRANT CREATE, USAGE ON SCHEMA sec_shared TO sec_owner, sec_mallory;

-- the victim: a table with a stream and a GSI that mallory may not read
SET ROLE sec_owner;
SET search_path = sec_app;
SELECT partkv.create_table('{"TableName": "secrets", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
	"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "kind", "AttributeType": "S"}],
	"GlobalSecondaryIndexes": [{"IndexName": "by_kind", "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}],
								"Projection": {"ProjectionType": "ALL"}}],
	"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}, "Partitions": 2}') IS NOT NULL AS created;
SELECT partkv.put_item('secrets', '{"id": "s1", "kind": "pin", "value": "1234"}') IS NOT NULL AS put;
SET search_path = sec_shared;
SELECT partkv.create_table('victim_shared', 'id', partitions => 2,
	global_indexes => '[{"IndexName": "gix", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]',
	local_indexes => NULL) IS NOT NULL AS created;
RESET ROLE;
RESET search_path;
SELECT partkv.stream_wait('60s') AS caught_up;

-- 1. nobody but the extension writes the catalogs
SET ROLE sec_mallory;
SELECT c, pg_temp.try(format('INSERT INTO %s SELECT * FROM %s LIMIT 1', c, c)) AS insert_copy,
	   pg_temp.try(format('UPDATE %s SET schema_name = schema_name', c)) AS update_all,
	   pg_temp.try(format('DELETE FROM %s', c)) AS delete_all
  FROM unnest(ARRAY['partkv.tables', 'partkv.streams', 'partkv.stream_handlers',
					'partkv.dead_letters', 'partkv.gsi_indexes']) c;

-- 1a. a handler row naming a table mallory may read, with the secret's table_id
CREATE TABLE sec_shared.sink (records jsonb);
CREATE FUNCTION sec_shared.steal(records jsonb) RETURNS void LANGUAGE sql
	AS 'INSERT INTO sec_shared.sink VALUES (records)';
SELECT pg_temp.try($$INSERT INTO partkv.stream_handlers (schema_name, table_name, table_id, handler, role_name, batch_size, max_attempts, position)
	SELECT 'pg_catalog', 'pg_class', t.table_id, 'sec_shared.steal', 'sec_mallory', 100, 3, '0'
	  FROM partkv.tables t WHERE t.table_name = 'secrets'$$) AS forged_handler;
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sec_app.secrets', 'sec_shared.steal')$$) AS handler_on_secrets;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('add_handler', jsonb_build_object('schema_name', 'sec_app',
	'table_name', 'secrets', 'handler', 'sec_shared.steal'::regproc::oid::bigint, 'batch_size', 1,
	'max_attempts', 1, 'position', '0'))$$) AS gate_handler_on_secrets;

-- 1b. a catalog row for a table of mallory's own carrying the secret's table_id
CREATE TABLE sec_shared.mine (id text COLLATE "C" NOT NULL, item jsonb NOT NULL) PARTITION BY HASH (id);
SELECT pg_temp.try($$INSERT INTO partkv.tables SELECT 'sec_shared', 'mine', t.partition_key, t.partition_key_type,
	NULL, NULL, 1, t.attribute_definitions, '[]', '[]', NULL, t.table_id
	  FROM partkv.tables t WHERE t.table_name = 'secrets'$$) AS forged_table;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('register_table', jsonb_build_object('row',
	to_jsonb(t) || '{"schema_name": "sec_shared", "table_name": "mine", "global_indexes": [], "stream_specification": null}'))
	  FROM partkv.tables t WHERE t.table_name = 'secrets'$$) AS gate_table_with_secret_id;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('register_table', jsonb_build_object('row',
	to_jsonb(t) || jsonb_build_object('table_id', gen_random_uuid())))
	  FROM partkv.tables t WHERE t.table_name = 'secrets'$$) AS gate_someone_elses_table;
SELECT count(*) AS readable_records FROM partkv.stream_log;

-- 1c. mallory's own GSI row naming another table's GSI storage
SELECT partkv.create_table('sec_shared.mallory_t', 'id', partitions => 2,
	global_indexes => '[{"IndexName": "mix", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]') IS NOT NULL AS created;
SELECT pg_temp.try(format('UPDATE partkv.gsi_indexes SET storage_name = %L WHERE table_name = %L',
	(SELECT storage_name FROM partkv.gsi_indexes WHERE table_name = 'victim_shared'), 'mallory_t')) AS forged_storage;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('update_table', '{"schema_name": "sec_shared", "table_name": "mallory_t", "set": {"table_id": "00000000-0000-0000-0000-000000000000"}}')$$) AS gate_update_own_table_id;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('update_table', '{"schema_name": "sec_shared", "table_name": "mallory_t", "set": {}}')$$) AS gate_update_nothing;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('update_table', '{"schema_name": "sec_app", "table_name": "secrets", "set": {"global_indexes": []}}')$$) AS gate_update_others;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('update_table', '{"schema_name": "sec_shared", "table_name": "victim_shared", "set": {"table_id": "00000000-0000-0000-0000-000000000000"}}')$$) AS gate_update_table_id;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('unregister_table', '{"schema_name": "sec_app", "table_name": "secrets"}')$$) AS gate_unregister_others;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('frobnicate', '{}')$$) AS gate_unknown;
SELECT pg_temp.try($$SELECT partkv_internal.catalog_write('add_handler', '{"schema_name": 1}')$$) AS gate_malformed;
-- workers' own functions are theirs
SELECT pg_temp.try($$SELECT partkv_internal.gsi_rebuild('sec_app', 'secrets', 'by_kind')$$) AS rebuild;
SELECT pg_temp.try($$SELECT partkv_internal.gsi_backfill_step('sec_app', 'secrets', 'by_kind', 10)$$) AS backfill;
RESET ROLE;
-- nothing changed: one row per table and GSI, with its own table_id and storage
SELECT t.schema_name, t.table_name, (SELECT count(*) FROM partkv.tables o WHERE o.table_id = t.table_id) AS same_id
  FROM partkv.tables t WHERE t.schema_name IN ('sec_app', 'sec_shared') ORDER BY 1, 2;
SELECT schema_name, table_name, index_name, storage_name FROM partkv.gsi_indexes
 WHERE schema_name IN ('sec_app', 'sec_shared') ORDER BY 1, 2;
SELECT count(*) AS handlers FROM partkv.stream_handlers;

-- the owner still manages everything through the API
SET ROLE sec_owner;
SELECT partkv.update_time_to_live('sec_app.secrets', 'expires')->'TimeToLiveSpecification' AS ttl;
SELECT (partkv.update_table('sec_app.secrets', '{"StreamSpecification": {"StreamEnabled": false}}')->>'TableName') AS stream_off;
SELECT (partkv.update_table('sec_app.secrets', '{"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}')->>'TableName') AS stream_on;
-- the GSI storage the catalog's trigger made belongs to the table's owner
SELECT c.relkind, pg_get_userbyid(c.relowner) AS owner, count(*)
  FROM partkv.gsi_indexes g
  JOIN pg_class c ON c.relname LIKE g.storage_name || '%'
 WHERE g.table_name = 'secrets' GROUP BY 1, 2 ORDER BY 1, 2;
RESET ROLE;

-- 3. row-level security: a role that sees no row in SQL sees no record either
CREATE ROLE sec_reader;
GRANT USAGE ON SCHEMA sec_app TO sec_reader;
GRANT SELECT ON sec_app.secrets TO sec_reader;
ALTER TABLE sec_app.secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY nothing ON sec_app.secrets USING (false);
SELECT partkv.put_item('sec_app.secrets', '{"id": "s2", "kind": "pin", "value": "5678"}') IS NOT NULL AS put;
SELECT partkv.stream_wait('60s') AS caught_up;
SET ROLE sec_reader;
SELECT count(*) AS rows_in_sql FROM sec_app.secrets;
SELECT pg_temp.try($$SELECT count(*) FROM partkv.stream_records('sec_app.secrets')$$) AS stream_records;
SELECT pg_temp.try($$SELECT partkv.describe_stream('sec_app.secrets')$$) AS describe_stream;
SELECT pg_temp.try($$SELECT partkv.get_shard_iterator('sec_app.secrets', 'shardId-0000000000-0000000000', 'TRIM_HORIZON')$$) AS iterator;
SELECT count(*) AS stream_log_rows FROM partkv.stream_log;
CREATE FUNCTION pg_temp.h(records jsonb) RETURNS void LANGUAGE sql AS '';
SELECT pg_temp.try($$SELECT partkv.add_stream_handler('sec_app.secrets', 'pg_temp.h')$$) AS handler;
RESET ROLE;
-- the owner (not subject to its own policies) still reads the stream
SET ROLE sec_owner;
SELECT count(*) > 0 AS owner_reads FROM partkv.stream_records('sec_app.secrets');
RESET ROLE;
ALTER TABLE sec_app.secrets DISABLE ROW LEVEL SECURITY;
SET ROLE sec_reader;
SELECT count(*) > 0 AS reads_without_rls FROM partkv.stream_records('sec_app.secrets');
RESET ROLE;

-- 4. statistics show a role the tables it may read
SELECT 'sec_app.secrets'::regclass::oid AS secrets_oid \gset
SET ROLE sec_mallory;
SELECT count(*) AS partition_rows FROM partkv.partition_stats WHERE table_name = 'secrets';
SELECT count(*) AS table_rows FROM partkv.table_stats WHERE table_name = 'secrets';
SELECT count(*) AS index_rows FROM partkv.index_status WHERE table_name = 'secrets';
SELECT count(*) AS counters FROM partkv_internal.stats_counters() s WHERE s.table_relid = :secrets_oid;
RESET ROLE;
SET ROLE sec_reader;
SELECT count(*) AS partition_rows FROM partkv.partition_stats WHERE table_name = 'secrets';
SELECT count(*) AS index_rows FROM partkv.index_status WHERE table_name = 'secrets';
RESET ROLE;

-- 2. the SQL API never calls a look-alike of a built-in function planted in a
-- schema on the caller's search_path, even when a superuser calls it
CREATE ROLE sec_planter;
GRANT CREATE ON SCHEMA public TO sec_planter;
SET ROLE sec_planter;
CREATE TABLE public.sec_trap_log (fn text, by_user name);
GRANT INSERT ON public.sec_trap_log TO PUBLIC;
CREATE FUNCTION public.format(text, name, text) RETURNS text LANGUAGE sql AS
	$$ INSERT INTO public.sec_trap_log VALUES ('format', current_user); SELECT pg_catalog.format($1, $2, $3) $$;
CREATE FUNCTION public.jsonb_build_object(text, text, text, text) RETURNS jsonb LANGUAGE sql AS
	$$ INSERT INTO public.sec_trap_log VALUES ('jsonb_build_object', current_user);
	   SELECT pg_catalog.jsonb_build_object($1, $2, $3, $4) $$;
CREATE FUNCTION public.length(text) RETURNS int LANGUAGE sql AS
	$$ INSERT INTO public.sec_trap_log VALUES ('length', current_user); SELECT pg_catalog.length($1) $$;
RESET ROLE;
SET search_path = public;
SELECT partkv.create_table('sec_trapped', 'id', partitions => 2, stream_view_type => 'NEW_IMAGE') IS NOT NULL AS created;
SELECT partkv.describe_table('sec_trapped')->>'TableName' AS described;
SELECT partkv.update_time_to_live('sec_trapped', 'ttl')->'TimeToLiveSpecification'->>'AttributeName' AS ttl;
SELECT partkv.describe_stream('sec_trapped')->>'StreamStatus' AS stream;
SELECT count(*) AS tables FROM partkv.list_tables() WHERE list_tables = 'sec_trapped';
SELECT partkv.delete_table('sec_trapped')->>'TableStatus' AS deleted;
RESET search_path;
SELECT count(*) AS planted_calls FROM public.sec_trap_log;
DROP TABLE public.sec_trap_log;
DROP FUNCTION public.format(text, name, text), public.jsonb_build_object(text, text, text, text), public.length(text);
REVOKE CREATE ON SCHEMA public FROM sec_planter;
DROP ROLE sec_planter;

-- clean up
SET ROLE sec_owner;
SELECT partkv.delete_table('sec_app.secrets') IS NOT NULL AS deleted;
SELECT partkv.delete_table('sec_shared.victim_shared') IS NOT NULL AS deleted;
SET ROLE sec_mallory;
SELECT partkv.delete_table('sec_shared.mallory_t') IS NOT NULL AS deleted;
RESET ROLE;
DROP TABLE sec_shared.mine, sec_shared.sink;
DROP FUNCTION sec_shared.steal(jsonb);
DROP SCHEMA sec_app, sec_shared;
DROP FUNCTION pg_temp.h(jsonb);
DROP ROLE sec_owner, sec_mallory, sec_reader;
