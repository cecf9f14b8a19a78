/* partkv--0.4--0.5.sql: integrity (issue 14) */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.5'" to load this file. \quit

-- ===== serving status =====
--
-- Whether a database's change stream, GSIs and TTL are being served
-- (src/common/serving.c): the workers record their own state in shared
-- memory, and these functions tell.  Not served until something changes
-- (a setting, ALTER EXTENSION UPDATE, a worker that keeps failing): an
-- error where the user acts -- enabling a stream, adding a GSI, enabling
-- TTL, adding a stream handler, reading a GSI, waiting for the stream --
-- and a "partkv" member {"Served": false, "Reason": ..., "Hint": ...} in
-- the descriptions whose DynamoDB status it qualifies.  Not served yet,
-- but soon (a worker starting): no error, and the status views say so.

CREATE FUNCTION partkv.serving(feature text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_serving'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION partkv.serving(text) IS
'NULL when this database''s feature (''stream'', ''gsi'' or ''ttl'') is served by its partkv worker, else {"Served": false, "Transient": ..., "Reason": ..., "Hint": ...}';

CREATE FUNCTION partkv.check_served(feature text, table_name text, index_name text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'partkv_check_served'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.check_served(text, text, text) IS
'internal: raise an error when a table''s stream, GSI or TTL would not be served until a setting or the database changes';

CREATE FUNCTION partkv.serving_states()
RETURNS TABLE (feature text, served boolean, transient boolean, reason text, hint text,
			   worker_pid int, since timestamptz)
AS 'MODULE_PATHNAME', 'partkv_serving_status'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.serving_states() IS
'internal: the rows of partkv.serving_status';

CREATE VIEW partkv.serving_status AS
	SELECT * FROM partkv.serving_states();
GRANT SELECT ON partkv.serving_status TO PUBLIC;
COMMENT ON VIEW partkv.serving_status IS
'whether this database''s stream (and stream handlers), GSIs and TTL are being served by its partkv workers; if not, why, whether it will be once a worker starts (transient), and what to change';

-- partkv's member of a description whose DynamoDB status it qualifies:
-- {"Served": false, "Reason": ..., "Hint": ...}, NULL when the feature is
-- served or soon will be.
CREATE FUNCTION partkv.serving_member(feature text)
RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT s - 'Transient' FROM partkv.serving(feature) s
	 WHERE NOT (s->>'Transient')::boolean
$$;
COMMENT ON FUNCTION partkv.serving_member(text) IS
'internal: the "partkv" member of a description when a feature is not served';

-- Enabling a stream, adding a GSI or enabling TTL fails when it would not
-- be served.  A restore (COPY into the catalog) keeps what it restores:
-- the status then says what is not served.
CREATE FUNCTION partkv.check_tables_served()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	gsi jsonb;
BEGIN
	IF current_query() ~* '^\s*copy\s' THEN
		RETURN NEW;
	END IF;
	IF coalesce(NEW.stream_specification @> '{"StreamEnabled": true}', false)
	   AND (TG_OP = 'INSERT' OR NOT coalesce(OLD.stream_specification @> '{"StreamEnabled": true}', false)) THEN
		PERFORM partkv.check_served('stream', NEW.table_name);
	END IF;
	FOR gsi IN SELECT value FROM jsonb_array_elements(NEW.global_indexes) LOOP
		IF TG_OP = 'INSERT' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(OLD.global_indexes) o
											 WHERE o->>'IndexName' = gsi->>'IndexName') THEN
			PERFORM partkv.check_served('gsi', NEW.table_name, gsi->>'IndexName');
		END IF;
	END LOOP;
	IF coalesce(NEW.time_to_live @> '{"Enabled": true}', false)
	   AND (TG_OP = 'INSERT' OR NOT coalesce(OLD.time_to_live @> '{"Enabled": true}', false)) THEN
		PERFORM partkv.check_served('ttl', NEW.table_name);
	END IF;
	RETURN NEW;
END;
$$;
COMMENT ON FUNCTION partkv.check_tables_served() IS
'internal: trigger refusing a stream, GSI or TTL that no worker would serve';

CREATE TRIGGER check_served
	BEFORE INSERT OR UPDATE OF stream_specification, global_indexes, time_to_live ON partkv.tables
	FOR EACH ROW EXECUTE FUNCTION partkv.check_tables_served();

-- A stream handler is run by the stream worker.
CREATE FUNCTION partkv.check_handler_served()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF current_query() !~* '^\s*copy\s' THEN
		PERFORM partkv.check_served('stream', NEW.table_name);
	END IF;
	RETURN NEW;
END;
$$;
COMMENT ON FUNCTION partkv.check_handler_served() IS
'internal: trigger refusing a stream handler that no worker would run';

CREATE TRIGGER check_served
	BEFORE INSERT ON partkv.stream_handlers
	FOR EACH ROW EXECUTE FUNCTION partkv.check_handler_served();

-- TableDescription: as before, plus the table's "partkv" member when its
-- stream, GSIs or TTL are not served: {"Served": false, "Reason": ...,
-- "Hint": ..., "Features": [what is not served]}.
CREATE OR REPLACE FUNCTION partkv.table_description(t partkv.tables, status text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel text := format('%I.%I', t.schema_name, t.table_name);
	items bigint := 0;
	bytes bigint := 0;
	d jsonb;
	lsis jsonb := '[]';
	lsi jsonb;
	lsi_items bigint;
	lsi_bytes bigint;
BEGIN
	IF status <> 'DELETING' THEN
		EXECUTE format('SELECT count(*) FROM %s', rel) INTO items;
		SELECT coalesce(sum(pg_table_size(i.inhrelid)), 0) INTO bytes
		  FROM pg_inherits i WHERE i.inhparent = rel::regclass;
	END IF;
	d := jsonb_build_object(
		'TableName', t.table_name,
		'TableId', t.table_id,
		'TableArn', format('arn:partkv:%s:%s:table/%s', current_database(), t.schema_name, t.table_name),
		'KeySchema', jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'))
			|| CASE WHEN t.sort_key IS NULL THEN '[]'::jsonb
					ELSE jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE')) END,
		'AttributeDefinitions', t.attribute_definitions,
		'TableStatus', status,
		'CreationDateTime', extract(epoch FROM t.created_at),
		'ItemCount', items,
		'TableSizeBytes', bytes,
		'BillingModeSummary', jsonb_build_object('BillingMode', 'PAY_PER_REQUEST'),
		'SchemaName', t.schema_name,
		'Partitions', t.partitions);
	IF jsonb_array_length(t.local_indexes) > 0 THEN
		-- an LSI's size is that of its index <table>_lsi<n> on every
		-- partition; its items are those that have its sort key
		FOR n IN 0 .. jsonb_array_length(t.local_indexes) - 1 LOOP
			lsi := t.local_indexes->n;
			lsi_items := 0;
			lsi_bytes := 0;
			IF status <> 'DELETING' THEN
				SELECT coalesce(sum(pg_relation_size(p.relid)), 0) INTO lsi_bytes
				  FROM pg_partition_tree(to_regclass(format('%I.%I', t.schema_name,
															t.table_name || '_lsi' || n))) p;
				EXECUTE format('SELECT count(*) FROM %s WHERE %s IS NOT NULL', rel,
							   partkv.lsi_key_expression(lsi->'KeySchema'->1->>'AttributeName',
								   (SELECT x->>'AttributeType' FROM jsonb_array_elements(t.attribute_definitions) x
									 WHERE x->>'AttributeName' = lsi->'KeySchema'->1->>'AttributeName')))
					INTO lsi_items;
			END IF;
			lsis := lsis || jsonb_build_array(lsi || jsonb_build_object('IndexSizeBytes', lsi_bytes,
																		'ItemCount', lsi_items));
		END LOOP;
		d := d || jsonb_build_object('LocalSecondaryIndexes', lsis);
	END IF;
	IF jsonb_array_length(t.global_indexes) > 0 AND status <> 'DELETING' THEN
		-- status, backfill progress, size and backlog (src/index/gsi.c)
		d := d || partkv.gsi_description_fields(t);
	ELSIF jsonb_array_length(t.global_indexes) > 0 THEN
		d := d || jsonb_build_object('GlobalSecondaryIndexes',
			(SELECT jsonb_agg(i || jsonb_build_object('IndexStatus', 'DELETING'))
			   FROM jsonb_array_elements(t.global_indexes) i));
	END IF;
	IF t.stream_specification IS NOT NULL THEN
		d := d || jsonb_build_object('StreamSpecification', t.stream_specification);
	END IF;
	IF status <> 'DELETING' THEN
		d := d || partkv.stream_description_fields(t);
	END IF;
	-- once TTL has been configured (src/ttl)
	IF t.time_to_live IS NOT NULL THEN
		d := d || jsonb_build_object('TimeToLiveDescription', partkv.ttl_description(t));
	END IF;
	IF status <> 'DELETING' THEN
		d := d || partkv.serving_description_fields(t);
	END IF;
	RETURN d;
END;
$$;

-- The table's "partkv" member ('{}' when all it has is served).
CREATE FUNCTION partkv.serving_description_fields(t partkv.tables)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	member jsonb;
	m jsonb;
	features text[] := '{}';
BEGIN
	IF coalesce(t.stream_specification @> '{"StreamEnabled": true}', false) THEN
		m := partkv.serving_member('stream');
		IF m IS NOT NULL THEN
			member := coalesce(member, m);
			features := features || 'Stream'::text;
		END IF;
	END IF;
	IF jsonb_array_length(t.global_indexes) > 0 THEN
		m := partkv.serving_member('gsi');
		IF m IS NOT NULL THEN
			member := coalesce(member, m);
			features := features || 'GlobalSecondaryIndexes'::text;
		END IF;
	END IF;
	IF coalesce(t.time_to_live @> '{"Enabled": true}', false) THEN
		m := partkv.serving_member('ttl');
		IF m IS NOT NULL THEN
			member := coalesce(member, m);
			features := features || 'TimeToLive'::text;
		END IF;
	END IF;
	IF member IS NULL THEN
		RETURN '{}';
	END IF;
	RETURN jsonb_build_object('partkv', member || jsonb_build_object('Features', to_jsonb(features)));
END;
$$;
COMMENT ON FUNCTION partkv.serving_description_fields(partkv.tables) IS
'internal: the "partkv" member of a TableDescription when its stream, GSIs or TTL are not served';

-- Each GlobalSecondaryIndexes element: as before, plus "partkv" when no
-- worker maintains the index (IndexStatus keeps DynamoDB's values).
CREATE OR REPLACE FUNCTION partkv.gsi_description_fields(t partkv.tables)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	out jsonb := '[]';
	gsi jsonb;
	g partkv.gsi_indexes;
	e jsonb;
	items bigint;
	bytes bigint;
	not_served jsonb;
BEGIN
	IF jsonb_array_length(t.global_indexes) = 0 THEN
		RETURN '{}';
	END IF;
	not_served := partkv.serving_member('gsi');
	FOR gsi IN SELECT value FROM jsonb_array_elements(t.global_indexes) LOOP
		SELECT * INTO g FROM partkv.gsi_indexes x
		 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
		   AND x.index_name = gsi->>'IndexName';
		items := 0;
		bytes := 0;
		IF g.storage_name IS NOT NULL AND to_regclass(format('%I.%I', g.schema_name, g.storage_name)) IS NOT NULL THEN
			EXECUTE format('SELECT count(*) FROM %I.%I', g.schema_name, g.storage_name) INTO items;
			SELECT coalesce(sum(pg_total_relation_size(p.relid)), 0) INTO bytes
			  FROM pg_partition_tree(format('%I.%I', g.schema_name, g.storage_name)::regclass) p;
		END IF;
		e := gsi || jsonb_build_object('IndexStatus', coalesce(g.status, 'CREATING'),
									   'IndexSizeBytes', bytes, 'ItemCount', items,
									   'IndexArn', format('arn:partkv:%s:%s:table/%s/index/%s', current_database(),
														  t.schema_name, t.table_name, gsi->>'IndexName'));
		IF g.status IS DISTINCT FROM 'ACTIVE' THEN
			e := e || jsonb_build_object('Backfilling', g.backfill_partition IS NOT NULL,
										 'BackfillProgress', jsonb_build_object(
											 'ItemsDone', coalesce(g.items_done, 0),
											 'ItemsEstimated', greatest(coalesce(g.items_estimated, 0), coalesce(g.items_done, 0))));
		END IF;
		IF not_served IS NOT NULL THEN
			e := e || jsonb_build_object('partkv', not_served);
		END IF;
		out := out || jsonb_build_array(e);
	END LOOP;
	RETURN jsonb_build_object('GlobalSecondaryIndexes', out);
END;
$$;

-- TimeToLiveDescription: as before, plus "partkv" when enabled and no
-- sweeper runs (it reads the workers' state: no longer IMMUTABLE).
CREATE OR REPLACE FUNCTION partkv.ttl_description(t partkv.tables)
RETURNS jsonb
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT CASE WHEN coalesce(t.time_to_live @> '{"Enabled": true}', false)
				THEN jsonb_build_object('TimeToLiveStatus', 'ENABLED',
										'AttributeName', t.time_to_live->>'AttributeName')
					 || coalesce((SELECT jsonb_build_object('partkv', m) FROM partkv.serving_member('ttl') m
								   WHERE m IS NOT NULL), '{}')
				ELSE jsonb_build_object('TimeToLiveStatus', 'DISABLED') END
$$;

-- StreamDescription: as before, plus "partkv" when the stream is enabled
-- and no worker materialises it (StreamStatus keeps DynamoDB's values).
CREATE OR REPLACE FUNCTION partkv.describe_stream(table_name text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	s partkv.streams;
	start_seq text;
	is_open boolean;
	shards jsonb;
	keys jsonb;
	not_served jsonb;
BEGIN
	PERFORM partkv.check_stream_read(t);
	s := partkv.latest_stream(t);
	IF s.stream_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Table: % has no stream', t.table_name
			USING ERRCODE = 'undefined_table';
	END IF;
	start_seq := partkv.lsn_sequence_number(s.created_lsn);
	is_open := s.disabled_at IS NULL;
	-- within a shard, chunks are in sequence number order
	SELECT jsonb_agg(jsonb_build_object('ShardId', x.shard_id,
			'SequenceNumberRange',
			jsonb_build_object('StartingSequenceNumber', coalesce(x.first, start_seq)) ||
			CASE WHEN is_open THEN '{}'::jsonb
				 ELSE jsonb_build_object('EndingSequenceNumber', coalesce(x.last, start_seq)) END)
			ORDER BY x.shard_id)
	  INTO shards
	  FROM (SELECT sh.shard_id,
				   (SELECT c.first_sequence_number FROM partkv.stream_chunks c
					 WHERE c.stream_id = s.stream_id AND c.shard_id = sh.shard_id
					 ORDER BY c.last_sequence_number LIMIT 1) AS first,
				   (SELECT max(c.last_sequence_number) FROM partkv.stream_chunks c
					 WHERE c.stream_id = s.stream_id AND c.shard_id = sh.shard_id) AS last
			  FROM (SELECT partkv.stream_shard_id(i.inhrelid::regclass) AS shard_id
					  FROM pg_catalog.pg_inherits i
					 WHERE i.inhparent = format('%I.%I', t.schema_name, t.table_name)::regclass) sh) x;
	keys := jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'));
	IF t.sort_key IS NOT NULL THEN
		keys := keys || jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE'));
	END IF;
	IF is_open THEN
		not_served := partkv.serving_member('stream');
	END IF;
	RETURN jsonb_build_object(
		'StreamArn', partkv.stream_arn(s),
		'StreamLabel', s.label,
		'StreamStatus', CASE WHEN is_open THEN 'ENABLED' ELSE 'DISABLED' END,
		'StreamViewType', s.view_type,
		'CreationRequestDateTime', extract(epoch FROM s.created_at),
		'TableName', t.table_name,
		'KeySchema', keys,
		'Shards', coalesce(shards, '[]'))
		|| CASE WHEN not_served IS NULL THEN '{}'::jsonb
				ELSE jsonb_build_object('partkv', not_served) END;
END;
$$;

-- index_status: as before, plus whether a worker maintains the indexes
-- and, when not, why (a worker starting included).
CREATE OR REPLACE VIEW partkv.index_status AS
	SELECT g.schema_name, g.table_name, g.index_name, g.storage_name, g.status,
		   g.backfill_partition IS NOT NULL AND g.status = 'CREATING' AS backfilling,
		   g.items_done, g.items_estimated, g.created_at, g.activated_at,
		   (b->>'WalBytes')::bigint AS backlog_bytes,
		   (b->>'Seconds')::float8 AS backlog_seconds,
		   (b->>'Served')::boolean AS served,
		   b->>'Reason' AS not_served_reason
	  FROM partkv.gsi_indexes g, partkv.gsi_backlog() b;
COMMENT ON VIEW partkv.index_status IS
'global secondary indexes: status, backfill progress, the worker''s backlog, and whether a worker maintains them (if not, why)';

-- {"Served": ...} of a table's stream, GSIs and TTL taken together (with
-- "Reason" of the first not served, a worker starting included); NULL for
-- a table that has none of them.
CREATE FUNCTION partkv.table_serving(t partkv.tables)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s jsonb;
	used boolean := false;
BEGIN
	IF coalesce(t.stream_specification @> '{"StreamEnabled": true}', false) THEN
		used := true;
		s := partkv.serving('stream');
	END IF;
	IF s IS NULL AND jsonb_array_length(t.global_indexes) > 0 THEN
		used := true;
		s := partkv.serving('gsi');
	END IF;
	IF s IS NULL AND coalesce(t.time_to_live @> '{"Enabled": true}', false) THEN
		used := true;
		s := partkv.serving('ttl');
	END IF;
	IF NOT used THEN
		RETURN NULL;
	END IF;
	RETURN coalesce(s, '{"Served": true}');
END;
$$;
COMMENT ON FUNCTION partkv.table_serving(partkv.tables) IS
'internal: whether a kv table''s stream, GSIs and TTL are served, for partkv.table_stats';

-- table_stats: as before, plus whether the table's stream, GSIs and TTL
-- are served (NULL for a table that has none of them) and, when not, why.
CREATE OR REPLACE VIEW partkv.table_stats AS
SELECT schema_name, table_name,
	   count(*)::int AS partitions,
	   sum(items)::bigint AS items,
	   sum(bytes)::bigint AS bytes,
	   sum(reads)::bigint AS reads,
	   sum(writes)::bigint AS writes,
	   sum(read_units) AS read_units,
	   sum(write_units) AS write_units,
	   sum(ttl_deletes)::bigint AS ttl_deletes,
	   sum(condition_check_failures)::bigint AS condition_check_failures,
	   (SELECT CASE WHEN coalesce((t.stream_specification->>'StreamEnabled')::boolean, false)
					THEN (partkv.gsi_backlog()->>'WalBytes')::bigint END
		  FROM partkv.tables t
		 WHERE t.schema_name = ps.schema_name AND t.table_name = ps.table_name) AS stream_backlog,
	   (SELECT CASE WHEN jsonb_array_length(t.global_indexes) > 0
					THEN (partkv.gsi_backlog()->>'WalBytes')::bigint END
		  FROM partkv.tables t
		 WHERE t.schema_name = ps.schema_name AND t.table_name = ps.table_name) AS gsi_backlog,
	   sum(items_read)::bigint AS items_read,
	   sum(bytes_read)::bigint AS bytes_read,
	   sum(items_written)::bigint AS items_written,
	   sum(items_deleted)::bigint AS items_deleted,
	   sum(bytes_written)::bigint AS bytes_written,
	   max(traffic_share) AS hottest_partition_share,
	   (SELECT partkv.table_serving(t)->>'Served'
		  FROM partkv.tables t
		 WHERE t.schema_name = ps.schema_name AND t.table_name = ps.table_name)::boolean AS served,
	   (SELECT partkv.table_serving(t)->>'Reason'
		  FROM partkv.tables t
		 WHERE t.schema_name = ps.schema_name AND t.table_name = ps.table_name) AS not_served_reason
  FROM partkv.partition_stats ps
 GROUP BY schema_name, table_name;
COMMENT ON VIEW partkv.table_stats IS
'Per kv table: partitions, estimated items, bytes on disk, requests and capacity units read and written, TTL deletes, conditional check failures, the traffic share of its hottest partition, for tables with a stream or GSIs the stream worker''s backlog (WAL bytes not yet decoded), and whether its stream, GSIs and TTL are served (if not, why)';

-- wait_for_index: as before, but an index no worker will maintain is an
-- error saying why, not a timeout.
CREATE OR REPLACE FUNCTION partkv.wait_for_index(table_name text, index_name text, timeout interval DEFAULT '30s')
RETURNS boolean
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	deadline timestamptz := clock_timestamp() + timeout;
	st text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = wait_for_index.index_name) THEN
		RAISE EXCEPTION 'Requested resource not found: Index: % not found', index_name
			USING ERRCODE = 'undefined_object';
	END IF;
	LOOP
		PERFORM partkv.check_served('gsi', t.table_name, wait_for_index.index_name);
		IF NOT partkv.stream_wait(greatest(deadline - clock_timestamp(), interval '0')) THEN
			RETURN false;
		END IF;
		SELECT g.status INTO st FROM partkv.gsi_indexes g
		 WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
		   AND g.index_name = wait_for_index.index_name;
		IF st = 'ACTIVE' THEN
			RETURN true;
		END IF;
		IF clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
END;
$$;
COMMENT ON FUNCTION partkv.wait_for_index(text, text, interval) IS
'wait until a global secondary index is ACTIVE and holds every change committed before the call; false on timeout; an error when no worker will maintain it until something changes';
