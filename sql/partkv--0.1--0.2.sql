/* partkv--0.1--0.2.sql: the materialised stream is stored in chunks */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.2'" to load this file. \quit

-------------------------------------------------------------------------------
-- Stream chunks
--
-- 0.1 stored one row per stream record, so the stream worker paid a heap
-- tuple and two btree entries for every change and fell behind a saturating
-- write load.  A chunk holds the records one worker batch wrote for one
-- shard, in sequence number order, as parallel arrays: one row and two index
-- entries per shard and batch.  Readers find chunks through the index on
-- (stream, shard, last sequence number) and unnest them.  partkv.stream_log
-- becomes a view with the 0.1 columns, one row per record.
-------------------------------------------------------------------------------

ALTER TABLE partkv.stream_log RENAME TO stream_log_0_1;

-- Chunks are written once and read a few times: lz4 compresses them at a
-- fraction of pglz's cost to the worker.
-- batch_lsn is the WAL position the batch reached: every record of a batch
-- precedes, in sequence number order, every record of a later batch, so
-- ordering chunks by batch_lsn and records within them orders a whole stream.
CREATE TABLE partkv.stream_chunks (
	stream_id bigint NOT NULL,
	shard_id text COLLATE "C" NOT NULL,
	batch_lsn pg_lsn NOT NULL,
	first_sequence_number text COLLATE "C" NOT NULL,
	last_sequence_number text COLLATE "C" NOT NULL,
	sequence_numbers text[] COMPRESSION lz4 COLLATE "C" NOT NULL,
	size_bytes int[] COMPRESSION lz4 NOT NULL,
	records jsonb[] COMPRESSION lz4 NOT NULL,
	written_at timestamptz NOT NULL,
	CHECK (cardinality(sequence_numbers) = cardinality(records)
		   AND cardinality(size_bytes) = cardinality(records))
) PARTITION BY RANGE (written_at);
CREATE INDEX stream_chunks_shard ON partkv.stream_chunks (stream_id, shard_id, last_sequence_number);
CREATE INDEX stream_chunks_batch ON partkv.stream_chunks (stream_id, batch_lsn);

ALTER TABLE partkv.stream_chunks ENABLE ROW LEVEL SECURITY;
CREATE POLICY stream_chunks_read ON partkv.stream_chunks FOR SELECT
	USING (stream_id = ANY ((SELECT partkv.readable_streams())::bigint[]));
GRANT SELECT ON partkv.stream_chunks TO PUBLIC;

-- The records of 0.1's partitions become chunks of the same partitions:
-- one per stream, shard and worker batch (a batch shared its written_at).
DO $$
DECLARE
	p record;
	chunk_partition text;
BEGIN
	FOR p IN SELECT * FROM partkv.stream_partitions ORDER BY lo LOOP
		chunk_partition := 'stream_chunks_' || substr(p.partition_name, length('stream_log_') + 1);
		EXECUTE format('CREATE TABLE partkv.%I PARTITION OF partkv.stream_chunks FOR VALUES FROM (%L) TO (%L)',
					   chunk_partition, p.lo, p.hi);
		EXECUTE format($q$
			INSERT INTO partkv.%I
			SELECT l.stream_id, l.shard_id,
				   '0/0'::pg_lsn + max(max(left(l.sequence_number, 20)::numeric)) OVER (PARTITION BY l.written_at),
				   min(l.sequence_number), max(l.sequence_number),
				   array_agg(l.sequence_number ORDER BY l.sequence_number),
				   array_agg(l.size_bytes ORDER BY l.sequence_number),
				   array_agg(l.record ORDER BY l.sequence_number),
				   l.written_at
			  FROM partkv.%I l
			 GROUP BY l.stream_id, l.shard_id, l.written_at$q$,
					   chunk_partition, p.partition_name);
		UPDATE partkv.stream_partitions sp SET partition_name = chunk_partition
		 WHERE sp.partition_name = p.partition_name;
	END LOOP;
END;
$$;
DROP TABLE partkv.stream_log_0_1;

-- One row per record, as 0.1 stored them; the caller's privileges apply
-- (security_invoker), so each role sees the records of the tables it may read.
CREATE VIEW partkv.stream_log WITH (security_invoker = true) AS
SELECT c.stream_id, c.shard_id, r.sequence_number,
	   r.record->>'eventName' AS event_name, r.size_bytes, r.record, c.written_at
  FROM partkv.stream_chunks c,
	   unnest(c.sequence_numbers, c.size_bytes, c.records) AS r(sequence_number, size_bytes, record);
GRANT SELECT ON partkv.stream_log TO PUBLIC;
COMMENT ON VIEW partkv.stream_log IS
'the materialised stream, one row per record (stored in partkv.stream_chunks)';

-- The lowest batch_lsn a chunk holding records after sequence number
-- "after" can have: its batch reached at least the commit LSN in "after".
CREATE FUNCTION partkv.sequence_number_lsn(seq text)
RETURNS pg_lsn
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT '0/0'::pg_lsn + left(seq, 20)::numeric
$$;
COMMENT ON FUNCTION partkv.sequence_number_lsn(text) IS
'internal: the commit LSN a sequence number was made from';

CREATE OR REPLACE FUNCTION partkv.stream_ensure_partition(at timestamptz, width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	pname text;
BEGIN
	IF EXISTS (SELECT 1 FROM partkv.stream_partitions p WHERE p.lo <= at AND at < p.hi) THEN
		RETURN;
	END IF;
	lo := date_bin(width, at, timestamptz '1970-01-01 00:00:00+00');
	hi := lo + width;
	lo := greatest(lo, (SELECT max(p.hi) FROM partkv.stream_partitions p WHERE p.hi <= at));
	hi := least(hi, (SELECT min(p.lo) FROM partkv.stream_partitions p WHERE p.lo > at));
	pname := 'stream_chunks_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US');
	EXECUTE format('CREATE TABLE partkv.%I PARTITION OF partkv.stream_chunks FOR VALUES FROM (%L) TO (%L)',
				   pname, lo, hi);
	EXECUTE format('ALTER EXTENSION partkv ADD TABLE partkv.%I', pname);
	INSERT INTO partkv.stream_partitions VALUES (pname, lo, hi);
END;
$$;

CREATE OR REPLACE FUNCTION partkv.stream_maintain(retention interval, width interval)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	p record;
BEGIN
	PERFORM set_config('lock_timeout', '100ms', true);
	BEGIN
		PERFORM partkv.stream_ensure_partition(now(), width);
		PERFORM partkv.stream_ensure_partition(now() + width, width);
	EXCEPTION WHEN lock_not_available THEN
		NULL;
	END;
	FOR p IN SELECT * FROM partkv.stream_partitions sp
			  WHERE sp.hi <= now() - retention ORDER BY sp.lo LOOP
		BEGIN
			EXECUTE format('UPDATE partkv.streams s SET trimmed_upto = greatest(s.trimmed_upto, m.last)'
						   '  FROM (SELECT stream_id, max(last_sequence_number) AS last FROM partkv.%I GROUP BY stream_id) m'
						   ' WHERE m.stream_id = s.stream_id', p.partition_name);
			EXECUTE format('ALTER EXTENSION partkv DROP TABLE partkv.%I', p.partition_name);
			EXECUTE format('DROP TABLE partkv.%I', p.partition_name);
			DELETE FROM partkv.stream_partitions sp WHERE sp.partition_name = p.partition_name;
		EXCEPTION WHEN lock_not_available THEN
			EXIT;
		END;
	END LOOP;
	DELETE FROM partkv.streams s
	 WHERE s.disabled_at < now() - retention
	   AND NOT EXISTS (SELECT 1 FROM partkv.stream_chunks c WHERE c.stream_id = s.stream_id);
END;
$$;

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
	RETURN jsonb_build_object(
		'StreamArn', partkv.stream_arn(s),
		'StreamLabel', s.label,
		'StreamStatus', CASE WHEN is_open THEN 'ENABLED' ELSE 'DISABLED' END,
		'StreamViewType', s.view_type,
		'CreationRequestDateTime', extract(epoch FROM s.created_at),
		'TableName', t.table_name,
		'KeySchema', keys,
		'Shards', coalesce(shards, '[]'));
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
	IF iterator_type = 'LATEST' THEN
		SELECT max(c.last_sequence_number) INTO after FROM partkv.stream_chunks c
		 WHERE c.stream_id = s.stream_id AND c.shard_id = get_shard_iterator.shard_id;
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv.check_not_trimmed(s, after, inclusive);
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

	-- at most item_limit records, and no more once 1 MB is reached; the
	-- shard's chunks come in order from the index, so only the first few
	-- are read
	SELECT coalesce(jsonb_agg(x.record ORDER BY x.seq), '[]'), max(x.seq), count(*)
	  INTO recs, last, n
	  FROM (SELECT y.record, y.seq, sum(y.sz) OVER (ORDER BY y.seq) - y.sz AS before
			  FROM (SELECT r.record, r.seq, r.sz
					  FROM partkv.stream_chunks c,
						   unnest(c.sequence_numbers, c.size_bytes, c.records) WITH ORDINALITY AS r(seq, sz, record, ord)
					 WHERE c.stream_id = s.stream_id AND c.shard_id = shard
					   AND (after IS NULL OR c.last_sequence_number > after
							OR (inclusive AND c.last_sequence_number = after))
					   AND (after IS NULL OR r.seq > after OR (inclusive AND r.seq = after))
					 ORDER BY c.last_sequence_number, r.ord
					 LIMIT item_limit) y) x
	 WHERE x.before < 1048576;
	IF n > 0 THEN
		after := last;
		inclusive := false;
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

-- The records of a table's streams after a sequence number, in order, at
-- most item_limit of them (NULL: all).  Shared by stream_records and the
-- stream handlers (src/stream/handlers.c).
CREATE FUNCTION partkv.stream_records_after(table_id uuid, after text, item_limit int)
RETURNS TABLE (sequence_number text, record jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT r.seq, r.record
	  FROM partkv.stream_chunks c,
		   unnest(c.sequence_numbers, c.records) WITH ORDINALITY AS r(seq, record, ord)
	 WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s WHERE s.table_id = stream_records_after.table_id)
	   AND (after IS NULL OR (c.batch_lsn >= partkv.sequence_number_lsn(after)
							  AND c.last_sequence_number > after AND r.seq > after))
	 ORDER BY c.batch_lsn, r.seq
	 LIMIT item_limit
$$;
COMMENT ON FUNCTION partkv.stream_records_after(uuid, text, int) IS
'internal: the stream records of a table after a sequence number, in order';

CREATE OR REPLACE FUNCTION partkv.stream_records(table_name text, after_sequence_number text DEFAULT NULL,
												 item_limit int DEFAULT 1000)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	after text;
BEGIN
	PERFORM partkv.check_stream_read(t);
	IF after_sequence_number IS NOT NULL THEN
		after := partkv.check_sequence_number(after_sequence_number);
	END IF;
	IF item_limit IS NOT NULL AND item_limit < 0 THEN
		PERFORM partkv.raise_validation('item_limit must not be negative');
	END IF;
	RETURN QUERY
		SELECT r.record FROM partkv.stream_records_after(t.table_id, after, item_limit) r;
END;
$$;

CREATE OR REPLACE FUNCTION partkv.stream_handlers_wait(timeout interval DEFAULT '30s')
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	deadline timestamptz := clock_timestamp() + timeout;
BEGIN
	IF NOT partkv.stream_wait(timeout) THEN
		RETURN false;
	END IF;
	LOOP
		IF NOT EXISTS (SELECT 1 FROM partkv.dead_letters d WHERE d.replay_requested)
		   AND NOT EXISTS (
				SELECT 1 FROM partkv.stream_handlers h
				 WHERE h.enabled
				   AND EXISTS (SELECT 1 FROM partkv.stream_chunks c
								WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s
													   WHERE s.table_id = h.table_id)
								  AND c.batch_lsn >= partkv.sequence_number_lsn(h.position)
								  AND c.last_sequence_number > h.position)) THEN
			RETURN true;
		END IF;
		IF clock_timestamp() > deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_sleep(0.01);
	END LOOP;
END;
$$;

-------------------------------------------------------------------------------
-- GSI maintenance by old image
--
-- A GSI's storage is hashed on the GSI partition key, so replacing an
-- item's entry by its table key alone probes the table-key index of every
-- storage partition.  Tables with GSIs now log whole old rows (REPLICA
-- IDENTITY FULL): the worker knows each item's previous GSI key and deletes
-- its entry in the one partition holding it.  Changes whose old row is not
-- in WAL (identity changed by hand, writes from before) and changes older
-- than the end of the index's backfill still replace by table key.
-------------------------------------------------------------------------------

-- The WAL position at which the index became ACTIVE: from there on every
-- entry is exactly what the stream's old images say it is.
ALTER TABLE partkv.gsi_indexes ADD COLUMN activated_lsn pg_lsn;
UPDATE partkv.gsi_indexes SET activated_lsn = pg_current_wal_insert_lsn() WHERE status = 'ACTIVE';

CREATE FUNCTION partkv.gsi_note_activation()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.status = 'ACTIVE' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'ACTIVE') THEN
		NEW.activated_lsn := pg_current_wal_insert_lsn();
	ELSIF NEW.status <> 'ACTIVE' THEN
		NEW.activated_lsn := NULL;
	END IF;
	RETURN NEW;
END;
$$;
COMMENT ON FUNCTION partkv.gsi_note_activation() IS
'internal: trigger recording the WAL position at which a GSI becomes ACTIVE';
CREATE TRIGGER gsi_note_activation
	BEFORE INSERT OR UPDATE OF status ON partkv.gsi_indexes
	FOR EACH ROW EXECUTE FUNCTION partkv.gsi_note_activation();

CREATE OR REPLACE FUNCTION partkv.apply_stream_replica_identity(schema_name name, table_name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel oid;
	spec jsonb;
	gsis jsonb;
	want_full boolean;
	part record;
BEGIN
	SELECT c.oid INTO rel
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'p';
	IF rel IS NULL THEN
		RETURN;
	END IF;
	SELECT t.stream_specification, t.global_indexes INTO spec, gsis
	  FROM partkv.tables t WHERE t.schema_name = $1 AND t.table_name = $2;
	-- old images for the stream's view type, or for GSI maintenance
	want_full := coalesce(jsonb_typeof(spec->'StreamEnabled') = 'boolean'
						  AND (spec->>'StreamEnabled')::boolean
						  AND spec->>'StreamViewType' IN ('OLD_IMAGE', 'NEW_AND_OLD_IMAGES'), false)
		OR coalesce(jsonb_array_length(gsis) > 0, false);
	FOR part IN SELECT c.oid::regclass AS r, c.relreplident
				  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
				 WHERE i.inhparent = rel ORDER BY c.oid LOOP
		IF want_full AND part.relreplident <> 'f' THEN
			EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', part.r);
		ELSIF NOT want_full AND part.relreplident = 'f' THEN
			EXECUTE format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', part.r);
		END IF;
	END LOOP;
	PERFORM partkv.stream_invalidate(rel);
END;
$$;
COMMENT ON FUNCTION partkv.apply_stream_replica_identity(name, text) IS
'set the replica identity of a kv table''s partitions: FULL for a stream with old images or for GSIs';

CREATE FUNCTION partkv.gsi_replica_identity()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM partkv.apply_stream_replica_identity(NEW.schema_name, NEW.table_name);
	RETURN NULL;
END;
$$;
COMMENT ON FUNCTION partkv.gsi_replica_identity() IS
'internal: trigger giving a table whose GSIs change the replica identity they need';
CREATE TRIGGER gsi_replica_identity
	AFTER UPDATE OF global_indexes ON partkv.tables
	FOR EACH ROW EXECUTE FUNCTION partkv.gsi_replica_identity();

SELECT partkv.apply_stream_replica_identity(t.schema_name, t.table_name)
  FROM partkv.tables t WHERE jsonb_array_length(t.global_indexes) > 0;

-------------------------------------------------------------------------------
-- The table-key index of GSI storage indexes a 64-bit hash of the key
--
-- A B-tree on (base_pk, base_sk) was also the planner's pick for the deletes
-- located by old image, where it walks every dead version of an item's
-- entries; an index on an expression only the by-table-key statements
-- mention leaves those deletes to the exact GSI key index, and costs less
-- to insert into.
-------------------------------------------------------------------------------

-- The expression over a table key's two column expressions (sk unused for
-- tables without a sort key); the by-table-key statements repeat it so that
-- the index serves them, and compare the columns too (hashes collide).
CREATE FUNCTION partkv.gsi_base_hash_expression(t partkv.tables, pk text, sk text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT format('partkv.xxhash_%s_extended(%s, 0)',
				  CASE t.partition_key_type WHEN 'S' THEN 'text' WHEN 'N' THEN 'numeric' ELSE 'bytea' END, pk)
		|| CASE WHEN t.sort_key IS NULL THEN ''
				ELSE format(' # partkv.xxhash_%s_extended(%s, 1)',
							CASE t.sort_key_type WHEN 'S' THEN 'text' WHEN 'N' THEN 'numeric' ELSE 'bytea' END, sk)
		   END
$$;
COMMENT ON FUNCTION partkv.gsi_base_hash_expression(partkv.tables, text, text) IS
'internal: the hash of a table key that GSI storage indexes for replacing entries by table key';

CREATE OR REPLACE FUNCTION partkv.gsi_create_storage(t partkv.tables, gsi jsonb, storage_name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	s record;
	ddl text;
	opclass text;
	nparts int := least(t.partitions, 8);
BEGIN
	IF to_regclass(format('%I.%I', t.schema_name, storage_name)) IS NOT NULL THEN
		RETURN false;
	END IF;
	s := partkv.gsi_shape(t, gsi, 'item');
	ddl := format('CREATE TABLE %I.%I (gsi_pk %s NOT NULL', t.schema_name, storage_name,
				  partkv.key_column_type(s.gpk_type));
	IF s.gsk IS NOT NULL THEN
		ddl := ddl || format(', gsi_sk %s NOT NULL', partkv.key_column_type(s.gsk_type));
	END IF;
	ddl := ddl || format(', base_pk %s NOT NULL', partkv.key_column_type(t.partition_key_type));
	IF t.sort_key IS NOT NULL THEN
		ddl := ddl || format(', base_sk %s NOT NULL', partkv.key_column_type(t.sort_key_type));
	END IF;
	opclass := CASE s.gpk_type WHEN 'S' THEN 'partkv.xxhash_text_ops'
							   WHEN 'N' THEN 'partkv.xxhash_numeric_ops'
							   ELSE 'partkv.xxhash_bytea_ops' END;
	ddl := ddl || format(', item jsonb NOT NULL) PARTITION BY HASH (gsi_pk %s)', opclass);
	EXECUTE ddl;
	FOR i IN 0 .. nparts - 1 LOOP
		EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
					   t.schema_name, storage_name || '_p' || i, t.schema_name, storage_name, nparts, i);
	END LOOP;
	EXECUTE format('CREATE INDEX %I ON %I.%I (gsi_pk%s, base_pk%s)',
				   storage_name || '_key', t.schema_name, storage_name,
				   CASE WHEN s.gsk IS NOT NULL THEN ', gsi_sk' ELSE '' END,
				   CASE WHEN t.sort_key IS NOT NULL THEN ', base_sk' ELSE '' END);
	EXECUTE format('CREATE INDEX %I ON %I.%I ((%s))',
				   storage_name || '_base', t.schema_name, storage_name,
				   partkv.gsi_base_hash_expression(t, 'base_pk', 'base_sk'));
	EXECUTE format('COMMENT ON TABLE %I.%I IS %L', t.schema_name, storage_name,
				   format('partkv global secondary index %s of table %s (maintained by the stream worker)',
						  gsi->>'IndexName', t.table_name));
	RETURN true;
END;
$$;

CREATE OR REPLACE FUNCTION partkv.gsi_backfill_step(schema_name name, table_name text, index_name text, batch int)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
	g partkv.gsi_indexes;
	s record;
	gsi jsonb;
	part text;
	rel regclass;
	keycols text;
	keydesc text;
	cond text := '';
	last jsonb;
	n bigint;
	sql text;
BEGIN
	SELECT * INTO t FROM partkv.tables x WHERE x.schema_name = $1 AND x.table_name = $2;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3
	   FOR UPDATE;
	SELECT i INTO gsi FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = $3;
	rel := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	IF t IS NULL OR g IS NULL OR gsi IS NULL OR rel IS NULL OR g.status <> 'CREATING' THEN
		RETURN false;
	END IF;
	part := g.backfill_partition;
	IF part IS NULL THEN
		SELECT min(c.relname) INTO part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel;
	END IF;
	IF part IS NOT NULL AND to_regclass(format('%I.%I', t.schema_name, part)) IS NULL THEN
		-- the partition went away (split): continue with the next name
		g.backfill_after := NULL;
		SELECT min(c.relname) INTO part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel AND c.relname > part;
	END IF;
	IF part IS NULL THEN
		UPDATE partkv.gsi_indexes x SET status = 'ACTIVE', backfill_partition = NULL, backfill_after = NULL,
										activated_at = now()
		 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
		PERFORM partkv.invalidate_table_cache(rel);
		RETURN false;
	END IF;
	keycols := format('%I', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', %I', t.sort_key) END;
	keydesc := format('%I DESC', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', %I DESC', t.sort_key) END;
	IF g.backfill_after IS NOT NULL THEN
		cond := format(' WHERE (%s) > (%L::%s%s)', keycols, g.backfill_after->>'pk',
					   partkv.key_column_type(t.partition_key_type),
					   CASE WHEN t.sort_key IS NULL THEN ''
							ELSE format(', %L::%s', g.backfill_after->>'sk', partkv.key_column_type(t.sort_key_type)) END);
	END IF;
	s := partkv.gsi_shape(t, gsi, 'b.item');
	sql := format(
		'WITH b AS (SELECT %1$s, item FROM ONLY %2$I.%3$I%4$s ORDER BY %1$s LIMIT %5$s), '
		'd AS (DELETE FROM %6$s g USING b WHERE %16$s = %17$s AND g.base_pk = b.%7$I%8$s), '
		'i AS (INSERT INTO %6$s SELECT * FROM (SELECT %9$s AS gpk%10$s, b.%7$I%11$s, %12$s FROM b) x '
		'      WHERE x.gpk IS NOT NULL%13$s) '
		'SELECT (SELECT count(*) FROM b), '
		'       (SELECT jsonb_build_object(''pk'', b.%7$I::text%14$s) FROM b ORDER BY %15$s LIMIT 1)',
		keycols, t.schema_name, part, cond, batch,
		format('%I.%I', g.schema_name, g.storage_name),
		t.partition_key,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE format(' AND g.base_sk = b.%I', t.sort_key) END,
		partkv.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN '' ELSE ', ' || partkv.gsi_key_expression('b.item', s.gsk, s.gsk_type) || ' AS gsk' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', b.%I', t.sort_key) END,
		s.projection,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE format(', ''sk'', b.%I::text', t.sort_key) END,
		keydesc,
		partkv.gsi_base_hash_expression(t, 'g.base_pk', 'g.base_sk'),
		partkv.gsi_base_hash_expression(t, format('b.%I', t.partition_key),
										CASE WHEN t.sort_key IS NOT NULL THEN format('b.%I', t.sort_key) END));
	EXECUTE sql INTO n, last;
	IF n < batch THEN
		-- this partition is done: the next one by name
		SELECT min(c.relname) INTO part FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel AND c.relname > part;
		last := NULL;
		IF part IS NULL THEN
			UPDATE partkv.gsi_indexes x SET status = 'ACTIVE', backfill_partition = NULL, backfill_after = NULL,
											items_done = x.items_done + n, activated_at = now()
			 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
			PERFORM partkv.invalidate_table_cache(rel);
			RETURN false;
		END IF;
	END IF;
	UPDATE partkv.gsi_indexes x SET backfill_partition = part, backfill_after = last,
									items_done = x.items_done + n
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	RETURN true;
END;
$$;

DO $$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT x.schema_name, x.storage_name, t AS tab
			   FROM partkv.gsi_indexes x JOIN partkv.tables t USING (schema_name, table_name)
			  WHERE to_regclass(format('%I.%I', x.schema_name, x.storage_name)) IS NOT NULL LOOP
		EXECUTE format('DROP INDEX IF EXISTS %I.%I', g.schema_name, g.storage_name || '_base');
		EXECUTE format('CREATE INDEX %I ON %I.%I ((%s))', g.storage_name || '_base', g.schema_name,
					   g.storage_name, partkv.gsi_base_hash_expression(g.tab, 'base_pk', 'base_sk'));
	END LOOP;
END;
$$;

-- The two SQL statements applying a batch of changes to one GSI.  Both
-- take $1 jsonb[] table keys and $2 jsonb[] new items (NULL: deleted), one
-- element per table key: the worker merged the batch's changes of a key
-- (the first one's old item, known flag and LSN, the last one's new item).
--
-- The first, with $3 jsonb[] old items, $4 bool[] whether each is known (see
-- KvGsiChangeInfo) and $5 pg_lsn[] commit LSNs, deletes each entry where its
-- old item places it, except entries whose keys and projection stay, and
-- returns the positions of the keys that need more: 'kept' (the entry is
-- there and stays), 'by key' (an unknown old item, or a change older than
-- the index's activation) and 'misplaced' (no entry where the old item
-- placed it).  The second, with $3 int8[] the 'by key' and 'misplaced'
-- positions and $4 int8[] the 'kept' ones, deletes the former's entries by
-- table key and inserts the new entries, but the kept ones, of items that
-- have every index key attribute (sparse index).  Two statements so that
-- the planner knows how few keys the by-table-key delete has (usually none).
DROP FUNCTION partkv.gsi_apply_sql(name, text, text);
CREATE FUNCTION partkv.gsi_apply_sql(schema_name name, table_name text, index_name text)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
	g partkv.gsi_indexes;
	s record;
	gsi jsonb;
	bpk text;
	bsk text;
	storage text;
	base_match text;
	targeted text;
	old_has_key text;
	old_at text;
	unchanged text;
BEGIN
	SELECT * INTO t FROM partkv.tables x WHERE x.schema_name = $1 AND x.table_name = $2;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	SELECT i INTO gsi FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = $3;
	IF t IS NULL OR g IS NULL OR gsi IS NULL
	   OR to_regclass(format('%I.%I', g.schema_name, g.storage_name)) IS NULL THEN
		RETURN NULL;
	END IF;
	s := partkv.gsi_shape(t, gsi, 'u.i');
	storage := format('%I.%I', g.schema_name, g.storage_name);
	bpk := replace(partkv.lsi_key_expression(t.partition_key, t.partition_key_type), '(item,', '(u.k,');
	bsk := replace(partkv.lsi_key_expression(t.sort_key, t.sort_key_type), '(item,', '(u.k,');
	base_match := partkv.gsi_base_hash_expression(t, 'g.base_pk', 'g.base_sk') || ' = '
		|| partkv.gsi_base_hash_expression(t, bpk, bsk)
		|| ' AND g.base_pk = ' || bpk
		|| CASE WHEN t.sort_key IS NULL THEN '' ELSE ' AND g.base_sk = ' || bsk END;
	-- old images locate entries once the index holds exactly the stream's
	-- state: changes committed after it became ACTIVE
	targeted := CASE WHEN g.status = 'ACTIVE' AND g.activated_lsn IS NOT NULL
					 THEN format('c.kn AND c.l > %L::pg_lsn', g.activated_lsn) ELSE 'false' END;
	old_has_key := partkv.gsi_key_expression('u.ol', s.gpk, s.gpk_type) || ' IS NOT NULL'
		|| CASE WHEN s.gsk IS NULL THEN ''
				ELSE ' AND ' || partkv.gsi_key_expression('u.ol', s.gsk, s.gsk_type) || ' IS NOT NULL' END;
	old_at := 'g.gsi_pk = ' || partkv.gsi_key_expression('u.ol', s.gpk, s.gpk_type)
		|| CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND g.gsi_sk = ' || partkv.gsi_key_expression('u.ol', s.gsk, s.gsk_type) END
		|| ' AND g.base_pk = ' || bpk || CASE WHEN t.sort_key IS NULL THEN '' ELSE ' AND g.base_sk = ' || bsk END;
	-- an entry whose keys and projected attributes stay is left alone (as
	-- DynamoDB, which charges no index write for it); with ALL projected,
	-- any change changes it
	unchanged := CASE WHEN gsi->'Projection'->>'ProjectionType' = 'ALL' THEN 'false'
		ELSE format('(u.targeted AND u.i IS NOT NULL AND %s AND %s IS NOT DISTINCT FROM %s%s AND %s = %s)',
					old_has_key,
					partkv.gsi_key_expression('u.i', s.gpk, s.gpk_type),
					partkv.gsi_key_expression('u.ol', s.gpk, s.gpk_type),
					CASE WHEN s.gsk IS NULL THEN ''
						 ELSE format(' AND %s IS NOT DISTINCT FROM %s',
									 partkv.gsi_key_expression('u.i', s.gsk, s.gsk_type),
									 partkv.gsi_key_expression('u.ol', s.gsk, s.gsk_type)) END,
					s.projection, (partkv.gsi_shape(t, gsi, 'u.ol')).projection) END;
	RETURN ARRAY[
		format(
			'WITH u AS (SELECT c.r, c.k, c.i, c.ol, %1$s AS targeted '
			'FROM unnest($1::jsonb[], $2::jsonb[], $3::jsonb[], $4::bool[], $5::pg_lsn[]) '
			'WITH ORDINALITY AS c(k, i, ol, kn, l, r)), '
			'v AS (SELECT u.r, u.k, u.ol, u.targeted, %5$s AS unchanged FROM u), '
			'dt AS (DELETE FROM %2$s g USING v u WHERE u.targeted AND NOT u.unchanged AND %3$s RETURNING u.r), '
			'kept AS (SELECT u.r FROM v u JOIN %2$s g ON u.unchanged AND %3$s) '
			'SELECT u.r, CASE WHEN u.r IN (SELECT kept.r FROM kept) THEN ''kept'' '
			'WHEN u.targeted THEN ''misplaced'' ELSE ''by key'' END FROM v u '
			'WHERE NOT u.targeted OR u.r IN (SELECT kept.r FROM kept) '
			'OR (%4$s AND u.r NOT IN (SELECT dt.r FROM dt))',
			targeted, storage, old_at, old_has_key, unchanged),
		format(
			'WITH u AS (SELECT c.r, c.k, c.i FROM unnest($1::jsonb[], $2::jsonb[]) WITH ORDINALITY AS c(k, i, r)), '
			'd AS (DELETE FROM %1$s g USING u WHERE u.r = ANY ($3::int8[]) AND %2$s) '
			'INSERT INTO %1$s SELECT * FROM (SELECT %3$s AS gpk%4$s, %5$s, %6$s FROM u '
			'WHERE u.i IS NOT NULL AND NOT u.r = ANY ($4::int8[])) x '
			'WHERE x.gpk IS NOT NULL%7$s',
			storage, base_match,
			partkv.gsi_key_expression('u.i', s.gpk, s.gpk_type),
			CASE WHEN s.gsk IS NULL THEN '' ELSE ', ' || partkv.gsi_key_expression('u.i', s.gsk, s.gsk_type) || ' AS gsk' END,
			bpk || CASE WHEN t.sort_key IS NULL THEN '' ELSE ', ' || bsk END,
			s.projection,
			CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END)];
END;
$$;
COMMENT ON FUNCTION partkv.gsi_apply_sql(name, text, text) IS 'internal: the statements that apply a batch of changes to one GSI';
