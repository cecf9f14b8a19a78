/* partkv--0.4--0.5.sql: integrity (issue 14) */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.5'" to load this file. \quit

-------------------------------------------------------------------------------
-- Drop of kv tables (issue 14, defect 7)
--
-- partkv.tables finds a kv table by schema and name.  A plain DROP TABLE
-- used to leave its row behind (create_table then said the table existed,
-- delete_table failed), and a row naming a relation that is not the kv
-- table it describes sent partkv to relations it could not use.  Now:
-- dropping a kv table in any way (DROP TABLE, DROP SCHEMA ... CASCADE,
-- DROP OWNED) removes its rows, its GSI storage, its open stream and its
-- stream handlers; DDL that would leave a kv table other than its row says
-- (dropping or detaching one partition, renaming, moving, changing its
-- columns, dropping a GSI's storage) is refused; and every name resolved
-- through the catalog is checked against the relation it names.
-------------------------------------------------------------------------------

-- The kv table a catalog row names, when that relation is the kv table the
-- row describes (hash partitioned on its partition key, its key and item
-- columns, partitions stored by partkv with a primary key on the key
-- columns); NULL otherwise.  The same check as the item functions make.
CREATE FUNCTION partkv.table_relation(schema_name name, table_name text)
RETURNS regclass
AS 'MODULE_PATHNAME', 'partkv_table_relation'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION partkv.table_relation(name, text) IS
'internal: the kv table a catalog row describes, or NULL when no such relation is there';

-- find_table as in 0.1, and a row whose relation is missing or is not the
-- kv table it describes is ResourceNotFound too.
CREATE OR REPLACE FUNCTION partkv.find_table(name text)
RETURNS partkv.tables
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	r record;
	t partkv.tables;
BEGIN
	IF name IS NULL OR length(name) < 3 OR length(name) > 255 OR name !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', name));
	END IF;
	SELECT * INTO r FROM partkv.resolve_table_name(name, false);
	SELECT * INTO t FROM partkv.tables
	 WHERE schema_name = r.schema_name AND table_name = r.table_name;
	IF NOT FOUND OR partkv.table_relation(t.schema_name, t.table_name) IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Table: % not found', name
			USING ERRCODE = 'undefined_table';
	END IF;
	RETURN t;
END;
$$;

-- A GSI's storage is named after its table and index, always: a row
-- naming another relation would have the GSI triggers drop that relation
-- with the table.
ALTER TABLE partkv.gsi_indexes ADD CONSTRAINT gsi_indexes_storage_name
	CHECK (storage_name = partkv.gsi_storage_name(table_name, index_name));

-- Removes the catalog rows of a kv table that is no longer there: its GSIs
-- (whose storage the caller dropped), then its row, whose triggers close
-- its stream and remove its handlers.  Runs as the extension's owner, as
-- only a table's owner may write its rows and the owner can no longer be
-- told once the table is gone; it does nothing while any relation has the
-- table's name, so any role may call it, and it drops nothing.
CREATE FUNCTION partkv.forget_dropped_table(p_schema name, p_table text)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c
				 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
				WHERE n.nspname = p_schema AND c.relname = p_table) THEN
		RETURN false;
	END IF;
	DELETE FROM partkv.gsi_indexes g WHERE g.schema_name = p_schema AND g.table_name = p_table;
	DELETE FROM partkv.tables t WHERE t.schema_name = p_schema AND t.table_name = p_table;
	RETURN FOUND;
END;
$$;
COMMENT ON FUNCTION partkv.forget_dropped_table(name, text) IS
'internal: remove the catalog rows of a kv table that was dropped';

-- Drops the GSI storage a dropped kv table leaves (as the caller, with the
-- caller's privileges), then forgets the table.  Only partitioned tables
-- that no other kv table claims as storage are dropped (storage names are
-- cut from table names, so two long names can share one).
CREATE FUNCTION partkv.drop_table_leftovers(p_schema name, p_table text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT x.storage_name
			   FROM partkv.gsi_indexes x
			   JOIN pg_catalog.pg_namespace n ON n.nspname = x.schema_name
			   JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = x.storage_name
			  WHERE x.schema_name = p_schema AND x.table_name = p_table
				AND c.relkind = 'p'
				AND NOT EXISTS (SELECT 1 FROM partkv.gsi_indexes o
								 WHERE o.schema_name = x.schema_name AND o.storage_name = x.storage_name
								   AND o.table_name <> x.table_name) LOOP
		EXECUTE format('DROP TABLE %I.%I', p_schema, g.storage_name);
	END LOOP;
	PERFORM partkv.forget_dropped_table(p_schema, p_table);
END;
$$;
COMMENT ON FUNCTION partkv.drop_table_leftovers(name, text) IS
'internal: drop the GSI storage and catalog rows of a kv table that was dropped';

-- sql_drop: whatever dropped a kv table, its catalog rows go with it.
CREATE FUNCTION partkv.drop_kv_tables()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	d record;
BEGIN
	FOR d IN SELECT DISTINCT o.schema_name, o.object_name
			   FROM pg_catalog.pg_event_trigger_dropped_objects() o
			   JOIN partkv.tables t ON t.schema_name = o.schema_name AND t.table_name = o.object_name
			  WHERE o.object_type = 'table' LOOP
		PERFORM partkv.drop_table_leftovers(d.schema_name, d.object_name);
	END LOOP;
END;
$$;
COMMENT ON FUNCTION partkv.drop_kv_tables() IS
'internal: event trigger removing the catalog rows, GSI storage, stream and handlers of dropped kv tables';

CREATE EVENT TRIGGER partkv_drop_kv_tables ON sql_drop
	EXECUTE FUNCTION partkv.drop_kv_tables();

-- ddl_command_start: refuse DDL that would leave a kv table other than its
-- catalog row describes (src/catalog/ddlguard.c).
CREATE FUNCTION partkv.guard_ddl()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'partkv_guard_ddl'
LANGUAGE C;
COMMENT ON FUNCTION partkv.guard_ddl() IS
'internal: event trigger refusing DDL that would break a kv table (dropping a partition, renaming, ...)';

CREATE EVENT TRIGGER partkv_guard_ddl ON ddl_command_start
	WHEN TAG IN ('DROP TABLE', 'ALTER TABLE', 'ALTER SCHEMA')
	EXECUTE FUNCTION partkv.guard_ddl();

-- Rows of kv tables dropped before 0.5 go now, with the GSI storage they left.
SELECT partkv.drop_table_leftovers(t.schema_name, t.table_name)
  FROM partkv.tables t
 WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c
					 JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
					WHERE n.nspname = t.schema_name AND c.relname = t.table_name);


-------------------------------------------------------------------------------
-- lost slot recovery
--
-- A worker that falls behind makes its replication slot keep WAL; with
-- max_slot_wal_keep_size set, PostgreSQL invalidates the slot at a
-- checkpoint and the WAL the worker still needed is removed.  The worker
-- then replaces the slot by itself (src/stream/slothealth.c) and records
-- the loss in partkv.lost_slots: for the stream worker a gap in the
-- stream, between the last change it had materialised and the start of its
-- new slot; the GSI worker backfills every GSI again.  Readers are told
-- about a gap with TrimmedDataAccessException (KV005) instead of silently
-- reading past it; TRIM_HORIZON and LATEST start after it; a stream handler
-- records it as a dead letter and goes on after it.
--
-- Sequence numbers are the commit LSN of a change's transaction followed by
-- its position in it (from 1), so with from and to the sequence numbers of
-- position 0 at from_lsn and to_lsn, every change the stream holds before
-- a gap is below from, every one after it above to, and the lost ones lie
-- strictly between.  A gap concerns every shard of every stream open while
-- it lasted.
-------------------------------------------------------------------------------

CREATE TABLE partkv.lost_slots (
	loss_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	worker text NOT NULL CHECK (worker IN ('stream', 'gsi')),
	slot_name name NOT NULL,
	from_lsn pg_lsn NOT NULL,		-- the worker's work was done up to here
	to_lsn pg_lsn,					-- its new slot starts here; NULL while it is replaced
	detected_at timestamptz NOT NULL DEFAULT now(),
	recovered_at timestamptz
);
CREATE UNIQUE INDEX lost_slots_open ON partkv.lost_slots (worker) WHERE to_lsn IS NULL;
GRANT SELECT ON partkv.lost_slots TO PUBLIC;
COMMENT ON TABLE partkv.lost_slots IS
'replication slots of the stream and GSI workers that PostgreSQL invalidated (max_slot_wal_keep_size) and the workers replaced: what was lost, from_lsn to to_lsn';

-- The gaps of a stream (recovered losses of the stream worker's slot while
-- the stream was open), oldest first.
CREATE FUNCTION partkv.stream_gaps(s partkv.streams)
RETURNS TABLE (from_sequence_number text, to_sequence_number text, from_lsn pg_lsn,
			   to_lsn pg_lsn, detected_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT partkv.lsn_sequence_number(l.from_lsn), partkv.lsn_sequence_number(l.to_lsn),
		   l.from_lsn, l.to_lsn, l.detected_at
	  FROM partkv.lost_slots l
	 WHERE l.worker = 'stream' AND l.to_lsn IS NOT NULL
	   AND s.created_lsn < l.to_lsn AND (s.disabled_lsn IS NULL OR s.disabled_lsn > l.from_lsn)
	 ORDER BY l.to_lsn
$$;
COMMENT ON FUNCTION partkv.stream_gaps(partkv.streams) IS
'internal: the gaps of a stream (changes lost with the stream worker''s replication slot)';

-- The gaps of any stream of a kv table, oldest first.
CREATE FUNCTION partkv.table_stream_gaps(table_id uuid)
RETURNS TABLE (from_sequence_number text, to_sequence_number text, from_lsn pg_lsn,
			   to_lsn pg_lsn, detected_at timestamptz)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT DISTINCT g.*
	  FROM partkv.streams s, partkv.stream_gaps(s) g
	 WHERE s.table_id = table_stream_gaps.table_id
	 ORDER BY g.to_lsn
$$;
COMMENT ON FUNCTION partkv.table_stream_gaps(uuid) IS
'internal: the gaps of the streams of a kv table';

-- TrimmedDataAccessException (KV005) for a read that meets a gap.
CREATE FUNCTION partkv.raise_stream_gap(from_sequence_number text, to_sequence_number text,
										detected_at timestamptz)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RAISE EXCEPTION 'The data you are trying to access has been trimmed.'
		USING ERRCODE = 'KV005',
			  DETAIL = format('The changes committed between sequence numbers %s and %s never reached the stream: PostgreSQL invalidated the stream worker''s replication slot (max_slot_wal_keep_size), which the worker found and replaced at %s.',
							  from_sequence_number, to_sequence_number, detected_at),
			  HINT = 'Start again from TRIM_HORIZON, which begins after the gap (see partkv.lost_slots).';
END;
$$;
COMMENT ON FUNCTION partkv.raise_stream_gap(text, text, timestamptz) IS
'internal: TrimmedDataAccessException for a read meeting a gap in the stream';

CREATE OR REPLACE FUNCTION partkv.describe_stream(table_name text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	s partkv.streams;
	start_seq text;
	is_open boolean;
	shards jsonb;
	keys jsonb;
	gaps jsonb;
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
	-- partkv's own member: the gaps of every shard (lost replication slots)
	SELECT jsonb_agg(jsonb_build_object(
			'SequenceNumberRange', jsonb_build_object('StartingSequenceNumber', g.from_sequence_number,
													  'EndingSequenceNumber', g.to_sequence_number),
			'Reason', 'REPLICATION_SLOT_INVALIDATED',
			'DetectedDateTime', extract(epoch FROM g.detected_at)) ORDER BY g.to_lsn)
	  INTO gaps
	  FROM partkv.stream_gaps(s) g;
	RETURN jsonb_build_object(
		'StreamArn', partkv.stream_arn(s),
		'StreamLabel', s.label,
		'StreamStatus', CASE WHEN is_open THEN 'ENABLED' ELSE 'DISABLED' END,
		'StreamViewType', s.view_type,
		'CreationRequestDateTime', extract(epoch FROM s.created_at),
		'TableName', t.table_name,
		'KeySchema', keys,
		'Shards', coalesce(shards, '[]')) ||
		CASE WHEN gaps IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('StreamGaps', gaps) END;
END;
$$;

CREATE OR REPLACE FUNCTION partkv.get_shard_iterator(table_name text, shard_id text, iterator_type text,
													 sequence_number text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	s partkv.streams;
	after text;
	inclusive boolean := false;
	gap record;
BEGIN
	PERFORM partkv.check_stream_read(t);
	s := partkv.latest_stream(t);
	IF s.stream_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Table: % has no stream', t.table_name
			USING ERRCODE = 'undefined_table';
	END IF;
	IF iterator_type IS NULL OR iterator_type NOT IN ('TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''shardIteratorType'' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]', iterator_type));
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		IF sequence_number IS NULL THEN
			PERFORM partkv.raise_validation(format('SequenceNumber is required for ShardIteratorType %s', iterator_type));
		END IF;
		after := partkv.check_sequence_number(sequence_number);
		inclusive := iterator_type = 'AT_SEQUENCE_NUMBER';
	ELSIF sequence_number IS NOT NULL THEN
		PERFORM partkv.raise_validation(format('SequenceNumber must not be given for ShardIteratorType %s', iterator_type));
	END IF;
	IF shard_id IS NULL OR NOT EXISTS (
			SELECT 1 FROM pg_catalog.pg_inherits i
			 WHERE i.inhparent = format('%I.%I', t.schema_name, t.table_name)::regclass
			   AND partkv.stream_shard_id(i.inhrelid::regclass) = shard_id)
	   AND NOT EXISTS (SELECT 1 FROM partkv.stream_chunks c
						WHERE c.stream_id = s.stream_id AND c.shard_id = get_shard_iterator.shard_id) THEN
		RAISE EXCEPTION 'Requested resource not found: Shard does not exist: %', shard_id
			USING ERRCODE = 'undefined_object';
	END IF;
	-- records lost in a gap are trimmed: the horizon and the latest
	-- position lie after the last gap
	IF iterator_type IN ('TRIM_HORIZON', 'LATEST') THEN
		SELECT max(g.to_sequence_number) INTO after FROM partkv.stream_gaps(s) g;
	END IF;
	IF iterator_type = 'LATEST' THEN
		SELECT greatest(max(c.last_sequence_number), after) INTO after FROM partkv.stream_chunks c
		 WHERE c.stream_id = s.stream_id AND c.shard_id = get_shard_iterator.shard_id;
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv.check_not_trimmed(s, after, inclusive);
		SELECT * INTO gap FROM partkv.stream_gaps(s) g WHERE g.to_sequence_number > after
		 ORDER BY g.to_lsn LIMIT 1;
		IF FOUND AND after >= gap.from_sequence_number THEN
			PERFORM partkv.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
		END IF;
	END IF;
	RETURN partkv.encode_shard_iterator(s.stream_id, shard_id, after, inclusive);
END;
$$;

CREATE OR REPLACE FUNCTION partkv.get_records(shard_iterator text, item_limit int DEFAULT 1000)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	it jsonb := partkv.decode_shard_iterator(shard_iterator);
	s partkv.streams;
	shard text := it->>'h';
	after text := it->>'a';
	inclusive boolean := coalesce((it->>'i')::boolean, false);
	recs jsonb;
	last text;
	n int;
	reached pg_lsn;
	closed boolean;
	gap record;
	gap_from text;
BEGIN
	IF item_limit IS NULL OR item_limit < 1 OR item_limit > 1000 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''limit'' failed to satisfy constraint: Member must have value %s',
			item_limit, CASE WHEN item_limit < 1 THEN 'greater than or equal to 1' ELSE 'less than or equal to 1000' END));
	END IF;
	SELECT * INTO s FROM partkv.streams WHERE stream_id = (it->>'s')::bigint;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'Requested resource not found: Stream % not found', it->>'s'
			USING ERRCODE = 'undefined_table';
	END IF;
	IF NOT s.stream_id = ANY (partkv.readable_streams()) THEN
		RAISE EXCEPTION 'permission denied for table %', s.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM partkv.check_not_trimmed(s, after, inclusive);

	-- a gap ahead: the records before it, then TrimmedDataAccessException
	SELECT * INTO gap FROM partkv.stream_gaps(s) g WHERE after IS NULL OR g.to_sequence_number > after
	 ORDER BY g.to_lsn LIMIT 1;
	IF FOUND THEN
		gap_from := gap.from_sequence_number;
		IF after >= gap_from THEN
			PERFORM partkv.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
		END IF;
	END IF;

	-- at most item_limit records, and no more once 1 MB is reached; the
	-- shard's chunks come in order from the index, so only the first few
	-- are read (a batch's chunk never spans a gap)
	SELECT coalesce(jsonb_agg(x.record ORDER BY x.seq), '[]'), max(x.seq), count(*)
	  INTO recs, last, n
	  FROM (SELECT y.record, y.seq, sum(y.sz) OVER (ORDER BY y.seq) - y.sz AS before
			  FROM (SELECT r.record, r.seq, r.sz
					  FROM partkv.stream_chunks c,
						   unnest(c.sequence_numbers, c.size_bytes, c.records) WITH ORDINALITY AS r(seq, sz, record, ord)
					 WHERE c.stream_id = s.stream_id AND c.shard_id = shard
					   AND (after IS NULL OR c.last_sequence_number > after
							OR (inclusive AND c.last_sequence_number = after))
					   AND (gap_from IS NULL OR c.last_sequence_number < gap_from)
					   AND (after IS NULL OR r.seq > after OR (inclusive AND r.seq = after))
					 ORDER BY c.last_sequence_number, r.ord
					 LIMIT item_limit) y) x
	 WHERE x.before < 1048576;
	IF n > 0 THEN
		after := last;
		inclusive := false;
	ELSIF gap_from IS NOT NULL THEN
		PERFORM partkv.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
	END IF;

	-- a closed stream's shard ends once the worker has passed the closing
	-- point and nothing is left after the position
	closed := false;
	IF s.disabled_lsn IS NOT NULL THEN
		reached := (partkv.stream_worker_status()->>'reachedLsn')::pg_lsn;
		closed := reached >= s.disabled_lsn
			AND NOT EXISTS (SELECT 1 FROM partkv.stream_chunks c
							 WHERE c.stream_id = s.stream_id AND c.shard_id = shard
							   AND (after IS NULL OR c.last_sequence_number > after
									OR (inclusive AND c.last_sequence_number = after)));
	END IF;
	IF closed THEN
		RETURN jsonb_build_object('Records', recs);
	END IF;
	RETURN jsonb_build_object('Records', recs,
							  'NextShardIterator', partkv.encode_shard_iterator(s.stream_id, shard, after, inclusive));
END;
$$;

-- as in 0.2, stopping before the first gap after "after"
CREATE OR REPLACE FUNCTION partkv.stream_records_after(table_id uuid, after text, item_limit int)
RETURNS TABLE (sequence_number text, record jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	WITH gap AS (SELECT g.from_sequence_number AS seq, g.from_lsn AS lsn
				   FROM partkv.table_stream_gaps(stream_records_after.table_id) g
				  WHERE after IS NULL OR g.to_sequence_number > after
				  ORDER BY g.to_lsn LIMIT 1)
	SELECT r.seq, r.record
	  FROM partkv.stream_chunks c,
		   unnest(c.sequence_numbers, c.records) WITH ORDINALITY AS r(seq, record, ord)
	 WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s WHERE s.table_id = stream_records_after.table_id)
	   AND (after IS NULL OR (c.batch_lsn >= partkv.sequence_number_lsn(after)
							  AND c.last_sequence_number > after AND r.seq > after))
	   AND (NOT EXISTS (SELECT 1 FROM gap)
			OR (c.batch_lsn <= (SELECT gap.lsn FROM gap) AND r.seq < (SELECT gap.seq FROM gap)))
	 ORDER BY c.batch_lsn, r.seq
	 LIMIT item_limit
$$;

CREATE OR REPLACE FUNCTION partkv.stream_records(table_name text, after_sequence_number text DEFAULT NULL,
												 item_limit int DEFAULT 1000)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	after text;
	gap record;
BEGIN
	PERFORM partkv.check_stream_read(t);
	IF after_sequence_number IS NOT NULL THEN
		after := partkv.check_sequence_number(after_sequence_number);
	END IF;
	IF item_limit IS NOT NULL AND item_limit < 0 THEN
		PERFORM partkv.raise_validation('item_limit must not be negative');
	END IF;
	IF after IS NULL THEN
		-- from the start: after the last gap, as TRIM_HORIZON
		SELECT max(g.to_sequence_number) INTO after FROM partkv.table_stream_gaps(t.table_id) g;
	ELSE
		-- inside a gap, or before one with nothing left to read before it
		SELECT * INTO gap FROM partkv.table_stream_gaps(t.table_id) g
		 WHERE g.to_sequence_number > after ORDER BY g.to_lsn LIMIT 1;
		IF FOUND AND (after >= gap.from_sequence_number
					  OR NOT EXISTS (SELECT 1 FROM partkv.stream_records_after(t.table_id, after, 1))) THEN
			PERFORM partkv.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
		END IF;
	END IF;
	RETURN QUERY
		SELECT r.record FROM partkv.stream_records_after(t.table_id, after, item_limit) r;
END;
$$;

-- A stream handler whose next records lie beyond a gap (nothing is left to
-- hand it before the gap) records the gap as a dead letter -- no records,
-- the gap in its error -- and moves past it; the stream worker calls this
-- before each of the handler's batches (src/stream/handlers.c).  Replaying
-- that dead letter calls the handler with no records.
CREATE FUNCTION partkv.stream_handler_pass_gap(handler_id bigint)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	h partkv.stream_handlers;
	gap record;
BEGIN
	-- the common case, once per batch of every handler: no gap at all
	IF NOT EXISTS (SELECT 1 FROM partkv.lost_slots l WHERE l.worker = 'stream' AND l.to_lsn IS NOT NULL) THEN
		RETURN false;
	END IF;
	SELECT * INTO h FROM partkv.stream_handlers x
	 WHERE x.handler_id = stream_handler_pass_gap.handler_id AND x.enabled
	   FOR UPDATE SKIP LOCKED;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	SELECT * INTO gap FROM partkv.table_stream_gaps(h.table_id) g
	 WHERE g.to_sequence_number > h.position ORDER BY g.to_lsn LIMIT 1;
	IF NOT FOUND OR EXISTS (SELECT 1 FROM partkv.stream_records_after(h.table_id, h.position, 1)) THEN
		RETURN false;
	END IF;
	INSERT INTO partkv.dead_letters (handler_id, handler, table_name, records, error, attempts)
	VALUES (h.handler_id, h.handler, h.table_name, '[]',
			format('TrimmedDataAccessException: the changes committed between sequence numbers %s and %s never reached the stream (PostgreSQL invalidated the stream worker''s replication slot at %s); the handler goes on after them',
				   gap.from_sequence_number, gap.to_sequence_number, gap.detected_at),
			0);
	UPDATE partkv.stream_handlers x SET position = gap.to_sequence_number, attempts = 0
	 WHERE x.handler_id = h.handler_id;
	RAISE WARNING 'partkv stream handler % of table % skips a gap in the stream',
		h.handler, h.table_name
		USING DETAIL = format('The changes committed between sequence numbers %s and %s were lost with the stream worker''s replication slot; the gap is recorded as a dead letter of the handler (partkv.dead_letters).',
							  gap.from_sequence_number, gap.to_sequence_number);
	RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION partkv.stream_handler_pass_gap(bigint) FROM PUBLIC;
COMMENT ON FUNCTION partkv.stream_handler_pass_gap(bigint) IS
'internal: move a stream handler past a gap in the stream, recording it as a dead letter';

-- The workers of this database, as partkv.stream_backlog shows them.
CREATE FUNCTION partkv.worker_progress()
RETURNS TABLE (worker text, slot_name name, pid int, caught_up_at timestamptz, lag interval)
AS 'MODULE_PATHNAME', 'partkv_worker_progress'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.worker_progress() IS
'the stream and GSI workers of this database: slot, pid, when each last had consumed all WAL, and its lag';

-- The health of the workers' replication slots: the backlog (WAL written
-- since the slot's confirmed position), the WAL the slot keeps, its
-- wal_status (reserved, extended, unreserved, lost), how long the worker
-- has been behind, and the slots lost so far.
CREATE VIEW partkv.stream_backlog AS
SELECT w.worker, w.slot_name, w.pid AS worker_pid,
	   s.wal_status, s.restart_lsn, s.confirmed_flush_lsn,
	   greatest(pg_catalog.pg_wal_lsn_diff(c.lsn, s.confirmed_flush_lsn), 0) AS backlog_bytes,
	   greatest(pg_catalog.pg_wal_lsn_diff(c.lsn, s.restart_lsn), 0) AS retained_bytes,
	   s.safe_wal_size,
	   w.caught_up_at, w.lag,
	   coalesce(l.losses, 0) AS slot_losses, l.last_loss_at AS last_slot_loss_at
  FROM partkv.worker_progress() w
  CROSS JOIN (SELECT CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
						  ELSE pg_catalog.pg_current_wal_lsn() END AS lsn) c
  LEFT JOIN pg_catalog.pg_replication_slots s ON s.slot_name = w.slot_name
  LEFT JOIN LATERAL (SELECT count(*) AS losses, max(x.detected_at) AS last_loss_at
					   FROM partkv.lost_slots x WHERE x.worker = w.worker) l ON true;
GRANT SELECT ON partkv.stream_backlog TO PUBLIC;
COMMENT ON VIEW partkv.stream_backlog IS
'the stream and GSI workers'' replication slots: backlog and WAL kept (bytes), wal_status, how long each worker has been behind, slots lost (partkv.backlog_warning warns in the log)';
