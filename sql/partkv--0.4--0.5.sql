/* partkv--0.4--0.5.sql: integrity (issue 14) */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.5'" to load this file. \quit

-------------------------------------------------------------------------------
-- dump and restore
--
-- pg_dump carries partkv's catalogs (partkv.tables, gsi_indexes, streams,
-- stream_handlers, dead_letters, client_request_tokens, their sequences),
-- the stream's chunks and every kv table and GSI storage table.  A restore
-- runs CREATE EXTENSION (which makes the database's replication slots) and
-- then loads all of that with COPY: the restore's own writes must not come
-- out of the slots as changes, the GSIs restored from the dump are only as
-- fresh as the GSI worker was when the dump was taken, and the restored
-- stream's sequence numbers were made from another cluster's LSNs.
--
-- So every kv table's catalog row names the installation of partkv it was
-- made in (partkv.installation, which CREATE EXTENSION fills and pg_dump
-- leaves out, while pg_upgrade keeps it; a database copied by CREATE
-- DATABASE ... TEMPLATE claims an installation of its own).  A row of
-- another installation is a restored table: the output plugin neither
-- streams its changes nor hands them to the GSIs, the catalog triggers
-- leave it alone, and neither its handlers, its GSI backfills nor TTL run.
-- Once the restore has loaded the table -- pg_dump builds indexes after
-- loading data, so the table's primary key, its GSI storage's indexes and
-- the stream chunks' indexes are all valid, and partkv's catalog rows are
-- in -- the restore adopts it (an event trigger at the end of that DDL, or
-- a trigger at the end of its COPY into partkv's catalogs), in the
-- restore's transaction: the row takes this installation's id (the output
-- plugin sees the change at that point of the WAL), its GSIs are emptied
-- and backfilled from the table, its stream continues, and its sequence
-- numbers continue above every restored one (sequence_offset).
-------------------------------------------------------------------------------

-- This installation of partkv: one row, for the database it was made in.
CREATE TABLE partkv.installation (
	installation_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	database_oid oid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
-- the output plugin reads it under historic snapshots
ALTER TABLE partkv.installation SET (user_catalog_table = true);
INSERT INTO partkv.installation (database_oid)
SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database();
GRANT SELECT ON partkv.installation TO PUBLIC;
COMMENT ON TABLE partkv.installation IS
'this database''s installation of partkv; catalog rows of another installation were restored from a dump';

-- The id of this database's installation; NULL in a copy of another
-- database that has not claimed one yet.
CREATE FUNCTION partkv.installation_id()
RETURNS uuid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT i.installation_id FROM partkv.installation i
	 WHERE i.database_oid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
$$;
COMMENT ON FUNCTION partkv.installation_id() IS
'the id of this database''s installation of partkv (catalog rows made here carry it)';

-- installation_id: where the row was made.  The default (all zeros) is
-- what a dump of partkv 0.4 restores: made elsewhere.  create_table stores
-- a whole row with NULLs in the columns it does not know; the trigger
-- below gives those rows this installation.
-- sequence_offset: what is added to a commit LSN to make the sequence
-- numbers of the table's stream records (see partkv.adopt_table).
ALTER TABLE partkv.tables
	ADD COLUMN installation_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000',
	ADD COLUMN sequence_offset bigint NOT NULL DEFAULT 0 CHECK (sequence_offset >= 0);
UPDATE partkv.tables SET installation_id = partkv.installation_id();

-- A database copied from another (CREATE DATABASE ... TEMPLATE, whose files
-- are the template's) takes an installation id of its own, with the rows
-- that carried the template's: otherwise a dump of the one restored into
-- the other would look made there.  The stream worker runs it when it
-- starts, before it makes the copy's replication slots; whatever needs the
-- id first does too.  Returns the id.
CREATE FUNCTION partkv.installation_claim()
RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	here oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
	old partkv.installation;
	fresh uuid := gen_random_uuid();
BEGIN
	SELECT * INTO old FROM partkv.installation i;
	IF old.database_oid = here THEN
		RETURN old.installation_id;
	END IF;
	-- the one lock partkv takes on it (see adopt_restored_tables)
	LOCK TABLE partkv.installation IN EXCLUSIVE MODE;
	SELECT * INTO old FROM partkv.installation i;
	IF old.database_oid = here THEN
		RETURN old.installation_id;
	END IF;
	UPDATE partkv.installation SET installation_id = fresh, database_oid = here, created_at = now();
	UPDATE partkv.tables x SET installation_id = fresh WHERE x.installation_id = old.installation_id;
	UPDATE partkv.gsi_indexes x SET installation_id = fresh WHERE x.installation_id = old.installation_id;
	RETURN fresh;
END;
$$;
COMMENT ON FUNCTION partkv.installation_claim() IS
'internal: give a copy of a database (CREATE DATABASE ... TEMPLATE) an installation of partkv of its own';

CREATE FUNCTION partkv.tables_stamp()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	NEW.installation_id := coalesce(NEW.installation_id, partkv.installation_claim());
	NEW.sequence_offset := coalesce(NEW.sequence_offset, 0);
	RETURN NEW;
END;
$$;
COMMENT ON FUNCTION partkv.tables_stamp() IS
'internal: trigger giving a kv table''s catalog row made here this installation';
CREATE TRIGGER tables_stamp
	BEFORE INSERT ON partkv.tables
	FOR EACH ROW EXECUTE FUNCTION partkv.tables_stamp();

-- A restored GSI is CREATING from the moment its row is restored: it is
-- rebuilt from the table once the restore has loaded it.
ALTER TABLE partkv.gsi_indexes
	ADD COLUMN installation_id uuid NOT NULL DEFAULT '00000000-0000-0000-0000-000000000000';
UPDATE partkv.gsi_indexes SET installation_id = partkv.installation_id();

CREATE OR REPLACE FUNCTION partkv.gsi_note_activation()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'INSERT' AND NEW.installation_id IS DISTINCT FROM partkv.installation_claim() THEN
		NEW.status := 'CREATING';
		NEW.backfill_partition := NULL;
		NEW.backfill_after := NULL;
		NEW.items_done := 0;
		NEW.activated_at := NULL;
	END IF;
	IF NEW.status = 'ACTIVE' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'ACTIVE') THEN
		NEW.activated_lsn := pg_current_wal_insert_lsn();
	ELSIF NEW.status <> 'ACTIVE' THEN
		NEW.activated_lsn := NULL;
	END IF;
	RETURN NEW;
END;
$$;

-- The storage and catalog rows of the GSIs a kv table declares and does not
-- have yet (CREATING with a backfill when the table has items).
CREATE FUNCTION partkv.gsi_ensure(t partkv.tables)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	gsi jsonb;
	sname text;
	rel regclass := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	has_items boolean;
	created boolean;
BEGIN
	FOR gsi IN SELECT value FROM jsonb_array_elements(t.global_indexes) LOOP
		IF EXISTS (SELECT 1 FROM partkv.gsi_indexes x
					WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
					  AND x.index_name = gsi->>'IndexName') THEN
			CONTINUE;
		END IF;
		sname := partkv.gsi_storage_name(t.table_name, gsi->>'IndexName');
		created := partkv.gsi_create_storage(t, gsi, sname);
		has_items := false;
		IF created AND rel IS NOT NULL THEN
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', rel) INTO has_items;
		END IF;
		INSERT INTO partkv.gsi_indexes (schema_name, table_name, index_name, storage_name, status,
										items_estimated, activated_at, installation_id)
		VALUES (t.schema_name, t.table_name, gsi->>'IndexName', sname,
				CASE WHEN has_items THEN 'CREATING' ELSE 'ACTIVE' END,
				CASE WHEN has_items THEN partkv.gsi_estimate_items(rel) ELSE 0 END,
				CASE WHEN has_items THEN NULL ELSE now() END,
				partkv.installation_claim());
	END LOOP;
END;
$$;
COMMENT ON FUNCTION partkv.gsi_ensure(partkv.tables) IS
'internal: create the storage and catalog rows of a kv table''s GSIs that lack them';

-- Restored rows are left to partkv.adopt_table.
CREATE OR REPLACE FUNCTION partkv.gsi_sync()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g record;
	rel regclass;
BEGIN
	IF TG_OP <> 'DELETE' AND NEW.installation_id IS DISTINCT FROM partkv.installation_claim() THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		FOR g IN SELECT * FROM partkv.gsi_indexes x
				  WHERE x.schema_name = OLD.schema_name AND x.table_name = OLD.table_name
					AND (TG_OP = 'DELETE'
						 OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(NEW.global_indexes) i
										 WHERE i->>'IndexName' = x.index_name)) LOOP
			EXECUTE format('DROP TABLE IF EXISTS %I.%I', g.schema_name, g.storage_name);
			DELETE FROM partkv.gsi_indexes x
			 WHERE x.schema_name = g.schema_name AND x.table_name = g.table_name
			   AND x.index_name = g.index_name;
		END LOOP;
	END IF;
	IF TG_OP = 'DELETE' THEN
		RETURN NULL;
	END IF;
	PERFORM partkv.gsi_ensure(NEW);
	rel := to_regclass(format('%I.%I', NEW.schema_name, NEW.table_name));
	IF rel IS NOT NULL THEN
		PERFORM partkv.stream_invalidate(rel);
		PERFORM partkv.invalidate_table_cache(rel);
	END IF;
	RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION partkv.gsi_replica_identity()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.installation_id IS NOT DISTINCT FROM partkv.installation_claim() THEN
		PERFORM partkv.apply_stream_replica_identity(NEW.schema_name, NEW.table_name);
	END IF;
	RETURN NULL;
END;
$$;

-- Opens, keeps or closes a kv table's stream as its stream specification
-- says, and sets the replica identity its view type needs.
CREATE FUNCTION partkv.stream_sync(t partkv.tables)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	enabled boolean;
	open_id bigint;
	open_view text;
	label_at timestamptz := clock_timestamp();
BEGIN
	enabled := coalesce(jsonb_typeof(t.stream_specification->'StreamEnabled') = 'boolean'
						AND (t.stream_specification->>'StreamEnabled')::boolean, false);
	SELECT s.stream_id, s.view_type INTO open_id, open_view
	  FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL;
	IF open_id IS NOT NULL
	   AND (NOT enabled OR open_view IS DISTINCT FROM t.stream_specification->>'StreamViewType') THEN
		UPDATE partkv.streams s SET disabled_at = now(), disabled_lsn = pg_current_wal_insert_lsn()
		 WHERE s.stream_id = open_id;
		open_id := NULL;
	END IF;
	IF enabled AND open_id IS NULL THEN
		-- the label is the creation time, as DynamoDB's; unique per table
		WHILE EXISTS (SELECT 1 FROM partkv.streams s
					   WHERE s.table_id = t.table_id
						 AND s.label = to_char(label_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS')) LOOP
			label_at := label_at + interval '1 millisecond';
		END LOOP;
		-- created_lsn is where the stream's sequence numbers start (the
		-- shards' StartingSequenceNumber until they have records), offset as
		-- they are; disabled_lsn is a WAL position the stream worker passes
		INSERT INTO partkv.streams (schema_name, table_name, table_id, view_type, label, created_lsn)
		VALUES (t.schema_name, t.table_name, t.table_id,
				t.stream_specification->>'StreamViewType',
				to_char(label_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS'),
				pg_current_wal_insert_lsn() + t.sequence_offset);
	END IF;
	PERFORM partkv.apply_stream_replica_identity(t.schema_name, t.table_name);
END;
$$;
COMMENT ON FUNCTION partkv.stream_sync(partkv.tables) IS
'internal: open or close a kv table''s stream as its stream specification says';

CREATE OR REPLACE FUNCTION partkv.stream_specification_changed()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE partkv.streams s SET disabled_at = now(), disabled_lsn = pg_current_wal_insert_lsn()
		 WHERE s.table_id = OLD.table_id AND s.disabled_at IS NULL;
		DELETE FROM partkv.stream_handlers h WHERE h.table_id = OLD.table_id;
		RETURN NULL;
	END IF;
	-- restored rows are left to partkv.adopt_table
	IF NEW.installation_id IS NOT DISTINCT FROM partkv.installation_claim() THEN
		PERFORM partkv.stream_sync(NEW);
	END IF;
	RETURN NULL;
END;
$$;

-- The stream, its handlers and dead letters travel with the dump (the
-- tokens of TransactWriteItems while they are valid).
SELECT pg_catalog.pg_extension_config_dump('partkv.streams', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.streams_stream_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.dead_letters_dead_letter_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.client_request_tokens',
										   'WHERE created_at > now() - interval ''10 minutes''');

-- The stream's chunks: the partitions of partkv.stream_chunks stop being
-- members of the extension, so that pg_dump dumps them, and each gets its
-- own indexes: indexes on the parent, which CREATE EXTENSION makes before
-- the restore attaches the partitions, would make ATTACH PARTITION build
-- indexes of the very names pg_dump creates next.
DO $$
DECLARE
	p record;
BEGIN
	FOR p IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			  WHERE i.inhparent = 'partkv.stream_chunks'::regclass LOOP
		EXECUTE format('ALTER EXTENSION partkv DROP TABLE partkv.%I', p.relname);
	END LOOP;
END;
$$;
DROP INDEX partkv.stream_chunks_shard;
DROP INDEX partkv.stream_chunks_batch;

-- Makes the two indexes of a partition of partkv.stream_chunks.
CREATE FUNCTION partkv.stream_index_partition(pname text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON partkv.%I (stream_id, shard_id, last_sequence_number)',
				   pname || '_shard', pname);
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON partkv.%I (stream_id, batch_lsn)',
				   pname || '_batch', pname);
END;
$$;
REVOKE ALL ON FUNCTION partkv.stream_index_partition(text) FROM PUBLIC;
COMMENT ON FUNCTION partkv.stream_index_partition(text) IS
'internal: index a partition of partkv.stream_chunks';
SELECT partkv.stream_index_partition(c.relname)
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'partkv.stream_chunks'::regclass;

-- partkv.stream_partitions is the worker's list of the partitions, not
-- dumped: it learns the restored ones from the catalog.
CREATE FUNCTION partkv.stream_partitions_sync()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET datestyle = 'ISO, YMD'
AS $$
BEGIN
	DELETE FROM partkv.stream_partitions p
	 WHERE NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
						WHERE i.inhparent = 'partkv.stream_chunks'::regclass
						  AND c.relname = p.partition_name
						  AND c.relnamespace = 'partkv'::regnamespace);
	INSERT INTO partkv.stream_partitions (partition_name, lo, hi)
	SELECT c.relname, b[1]::timestamptz, b[2]::timestamptz
	  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
		   regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') b
	 WHERE i.inhparent = 'partkv.stream_chunks'::regclass
	   AND NOT EXISTS (SELECT 1 FROM partkv.stream_partitions p WHERE p.partition_name = c.relname);
END;
$$;
REVOKE ALL ON FUNCTION partkv.stream_partitions_sync() FROM PUBLIC;
COMMENT ON FUNCTION partkv.stream_partitions_sync() IS
'internal: bring partkv.stream_partitions in line with the partitions of partkv.stream_chunks';

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
	-- partitions restored from a dump, or dropped by hand
	PERFORM partkv.stream_partitions_sync();
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
	PERFORM partkv.stream_index_partition(pname);
	INSERT INTO partkv.stream_partitions VALUES (pname, lo, hi);
END;
$$;

-- Partitions ahead of time only once a stream of this installation may
-- write: in a database being restored, the restore creates its own.
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
		PERFORM partkv.stream_partitions_sync();
		IF EXISTS (SELECT 1 FROM partkv.streams s JOIN partkv.tables t USING (table_id)
					WHERE s.disabled_at IS NULL AND t.installation_id = partkv.installation_id()) THEN
			PERFORM partkv.stream_ensure_partition(now(), width);
			PERFORM partkv.stream_ensure_partition(now() + width, width);
		END IF;
	EXCEPTION WHEN lock_not_available THEN
		NULL;
	END;
	FOR p IN SELECT * FROM partkv.stream_partitions sp
			  WHERE sp.hi <= now() - retention ORDER BY sp.lo LOOP
		BEGIN
			EXECUTE format('UPDATE partkv.streams s SET trimmed_upto = greatest(s.trimmed_upto, m.last)'
						   '  FROM (SELECT stream_id, max(last_sequence_number) AS last FROM partkv.%I GROUP BY stream_id) m'
						   ' WHERE m.stream_id = s.stream_id', p.partition_name);
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

-- A handler starts at the sequence number of the present, offset as the
-- table's records are.
CREATE OR REPLACE FUNCTION partkv.add_stream_handler(table_name text, handler regproc, batch_size int DEFAULT 100,
													 max_attempts int DEFAULT 3)
RETURNS jsonb
LANGUAGE plpgsql
-- no fixed search_path: the caller's names the schema
AS $$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	h partkv.stream_handlers;
	p record;
BEGIN
	PERFORM partkv.check_stream_read(t);
	IF handler IS NULL THEN
		PERFORM partkv.raise_validation('handler must not be null');
	END IF;
	SELECT pr.prokind, pr.pronargs, pr.proargtypes[0] AS argtype INTO p
	  FROM pg_catalog.pg_proc pr WHERE pr.oid = handler;
	IF p.prokind <> 'f' OR p.pronargs <> 1 OR p.argtype <> 'pg_catalog.jsonb'::pg_catalog.regtype THEN
		PERFORM partkv.raise_validation(format('stream handler %s must be a function taking one jsonb argument (the records)', handler));
	END IF;
	IF NOT pg_catalog.has_function_privilege(handler, 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied for function %', handler USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
		RAISE EXCEPTION 'stream handlers cannot be registered by a superuser'
			USING ERRCODE = 'insufficient_privilege',
				  DETAIL = 'Handlers run as the role that registers them, and never as a superuser.',
				  HINT = 'Register the handler as the role it should run as (SET ROLE).';
	END IF;
	IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''batchSize'' failed to satisfy constraint: Member must have value between 1 and 10000', batch_size));
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		PERFORM partkv.raise_validation(format('max_attempts must be between 1 and 100, not %s', max_attempts));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL) THEN
		PERFORM partkv.raise_validation(format('Table %s has no enabled stream', t.table_name));
	END IF;
	IF EXISTS (SELECT 1 FROM partkv.stream_handlers x WHERE x.table_id = t.table_id AND x.handler = add_stream_handler.handler) THEN
		RAISE EXCEPTION 'The stream handler % of table % already exists', handler, t.table_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- handlers start with the changes committed from now on (LATEST)
	INSERT INTO partkv.stream_handlers (schema_name, table_name, table_id, handler, role_name,
										batch_size, max_attempts, position)
	VALUES (t.schema_name, t.table_name, t.table_id, handler, current_user, batch_size, max_attempts,
			partkv.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn() + t.sequence_offset))
	RETURNING * INTO h;
	RETURN partkv.stream_handler_description(h);
END;
$$;

-- A restored table is CREATING (as a table DynamoDB restores from a
-- backup) until it is adopted.
CREATE OR REPLACE FUNCTION partkv.describe_table(table_name text)
RETURNS jsonb
LANGUAGE sql STABLE
-- no fixed search_path: the caller's names the schema
AS $$
	SELECT partkv.table_description(t, CASE WHEN t.installation_id = partkv.installation_id()
											THEN 'ACTIVE' ELSE 'CREATING' END)
	  FROM partkv.find_table(table_name) t
$$;

-- Whether a restore has loaded a restored kv table: its catalog rows (the
-- GSIs it declares, and the open stream its stream specification asks for,
-- which a dump of partkv 0.5 or later holds), its data, its GSIs' storage
-- and the stream's chunks.  pg_dump creates the indexes of a table after
-- loading its data (pg_restore --jobs too, table by table), so a table is
-- loaded once its indexes are valid.
CREATE FUNCTION partkv.restore_loaded(t partkv.tables)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	rel regclass := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	storage regclass;
	gsi jsonb;
BEGIN
	IF rel IS NULL OR NOT EXISTS (SELECT 1 FROM pg_index i
								   WHERE i.indrelid = rel AND i.indisprimary AND i.indisvalid) THEN
		RETURN false;
	END IF;
	IF t.installation_id <> '00000000-0000-0000-0000-000000000000'
	   AND coalesce(t.stream_specification @> '{"StreamEnabled": true}', false)
	   AND NOT EXISTS (SELECT 1 FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL) THEN
		RETURN false;
	END IF;
	FOR gsi IN SELECT value FROM jsonb_array_elements(t.global_indexes) LOOP
		IF NOT EXISTS (SELECT 1 FROM partkv.gsi_indexes x
						WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
						  AND x.index_name = gsi->>'IndexName') THEN
			RETURN false;
		END IF;
		storage := to_regclass(format('%I.%I', t.schema_name,
									  partkv.gsi_storage_name(t.table_name, gsi->>'IndexName')));
		IF storage IS NOT NULL
		   AND (SELECT count(*) FROM pg_index i WHERE i.indrelid = storage AND i.indisvalid) < 2 THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN NOT EXISTS (
		SELECT 1 FROM pg_inherits i
		 WHERE i.inhparent = 'partkv.stream_chunks'::regclass
		   AND (SELECT count(*) FROM pg_index x WHERE x.indrelid = i.inhrelid AND x.indisvalid) < 2);
END;
$$;
COMMENT ON FUNCTION partkv.restore_loaded(partkv.tables) IS
'internal: whether a restore has loaded a restored kv table, its catalog rows, GSI storage and the stream chunks';

-- Raises a kv table's sequence_offset so that every sequence number made
-- from now on is above each it already has: the records, trim points and
-- handler positions restored from a dump (a cluster younger than the
-- dumped one has lower LSNs).  It only grows, so sequence numbers keep
-- increasing.  True when it changed.
CREATE FUNCTION partkv.raise_sequence_offset(t partkv.tables)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	top pg_lsn;
	wanted bigint;
	rel regclass;
BEGIN
	SELECT max(m.lsn) INTO top
	  FROM (SELECT max(c.batch_lsn) AS lsn	-- at or above its records' sequence numbers
			  FROM partkv.stream_chunks c
			 WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s WHERE s.table_id = t.table_id)
			UNION ALL
			SELECT max(partkv.sequence_number_lsn(s.trimmed_upto))
			  FROM partkv.streams s WHERE s.table_id = t.table_id
			UNION ALL
			SELECT max(partkv.sequence_number_lsn(h.position))
			  FROM partkv.stream_handlers h WHERE h.table_id = t.table_id) m;
	wanted := greatest(t.sequence_offset, coalesce(top - pg_current_wal_insert_lsn() + 1, 0))::bigint;
	IF wanted <= t.sequence_offset THEN
		RETURN false;
	END IF;
	UPDATE partkv.tables x SET sequence_offset = wanted
	 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name;
	rel := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	IF rel IS NOT NULL THEN
		PERFORM partkv.stream_invalidate(rel);
	END IF;
	RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION partkv.raise_sequence_offset(partkv.tables) FROM PUBLIC;
COMMENT ON FUNCTION partkv.raise_sequence_offset(partkv.tables) IS
'internal: keep the sequence numbers a kv table makes from now on above those it holds';

-- Adopts a kv table restored from a dump (see the head of this section),
-- in the current transaction: from its commit on, the output plugin streams
-- the table's changes and hands them to its GSIs.  Its GSIs are emptied
-- and backfilled from the table (the dump holds them only as fresh as the
-- GSI worker was).  Its streams keep their records and the open one goes
-- on, with sequence numbers above every restored one.  Handlers resume
-- after their restored positions.
CREATE FUNCTION partkv.adopt_table(p_schema name, p_table text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
	here uuid := partkv.installation_id();
	g record;
	rel regclass;
BEGIN
	SELECT * INTO t FROM partkv.tables x
	 WHERE x.schema_name = p_schema AND x.table_name = p_table FOR UPDATE;
	IF NOT FOUND OR t.installation_id = here THEN
		RETURN false;
	END IF;
	-- the dumped database's offset means nothing here
	t.installation_id := here;
	t.sequence_offset := 0;
	UPDATE partkv.tables x SET installation_id = t.installation_id, sequence_offset = t.sequence_offset
	 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name;
	PERFORM partkv.raise_sequence_offset(t);
	SELECT * INTO t FROM partkv.tables x WHERE x.schema_name = p_schema AND x.table_name = p_table;
	-- a restored closed stream's WAL position is the dumped cluster's: its
	-- shards end once the stream worker has passed this point
	UPDATE partkv.streams s SET disabled_lsn = pg_current_wal_insert_lsn()
	 WHERE s.table_id = t.table_id AND s.disabled_lsn IS NOT NULL;
	PERFORM partkv.stream_sync(t);
	PERFORM partkv.gsi_ensure(t);
	FOR g IN SELECT x.index_name FROM partkv.gsi_indexes x
			  WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name LOOP
		UPDATE partkv.gsi_indexes x SET installation_id = here
		 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name AND x.index_name = g.index_name;
		PERFORM partkv.gsi_rebuild(t.schema_name, t.table_name, g.index_name);
	END LOOP;
	rel := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	IF rel IS NOT NULL THEN
		PERFORM partkv.stream_invalidate(rel);
		PERFORM partkv.invalidate_table_cache(rel);
	END IF;
	RETURN true;
END;
$$;
REVOKE ALL ON FUNCTION partkv.adopt_table(name, text) FROM PUBLIC;
COMMENT ON FUNCTION partkv.adopt_table(name, text) IS
'internal: make a kv table restored from a dump a table of this installation (streamed, GSIs rebuilt)';

-- Adopts the restored kv tables the restore has loaded (all of them with
-- force: after a data-only restore, which builds no index); returns how
-- many.  It runs by itself at the end of the restore's index DDL and of
-- its COPY into partkv's catalogs, as whoever runs the restore (SECURITY
-- DEFINER: it changes only partkv's own state).  The sessions of
-- pg_restore --jobs check one at a time (the lock), each after its own
-- step, so the last step sees all the others.
CREATE FUNCTION partkv.adopt_restored_tables(force boolean DEFAULT false)
RETURNS int
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
	n int := 0;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM partkv.tables x
					WHERE x.installation_id IS DISTINCT FROM partkv.installation_id()) THEN
		RETURN 0;
	END IF;
	LOCK TABLE partkv.installation IN EXCLUSIVE MODE;
	PERFORM partkv.installation_claim();	-- in a copy of another database
	FOR t IN SELECT * FROM partkv.tables x
			  WHERE x.installation_id IS DISTINCT FROM partkv.installation_id()
			  ORDER BY x.schema_name, x.table_name LOOP
		IF (force OR partkv.restore_loaded(t)) AND partkv.adopt_table(t.schema_name, t.table_name) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END;
$$;
REVOKE ALL ON FUNCTION partkv.adopt_restored_tables(boolean) FROM PUBLIC;
COMMENT ON FUNCTION partkv.adopt_restored_tables(boolean) IS
'adopt the kv tables a restore has loaded (done by itself during the restore); force: every restored table, after a data-only restore';

CREATE FUNCTION partkv.adopt_restored_tables_ddl()
RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	PERFORM partkv.adopt_restored_tables(false);
END;
$$;
REVOKE ALL ON FUNCTION partkv.adopt_restored_tables_ddl() FROM PUBLIC;
COMMENT ON FUNCTION partkv.adopt_restored_tables_ddl() IS
'internal: event trigger adopting restored kv tables once the restore has built their indexes';

-- pg_dump's post-data section: primary keys, indexes and their partitions
CREATE EVENT TRIGGER partkv_adopt_restored ON ddl_command_end
	WHEN TAG IN ('ALTER TABLE', 'ALTER INDEX', 'CREATE INDEX')
	EXECUTE FUNCTION partkv.adopt_restored_tables_ddl();

-- pg_restore --jobs may load partkv's catalogs after the tables' indexes;
-- handlers restored after their table was adopted keep its sequence numbers
-- above their positions.
CREATE FUNCTION partkv.adopt_restored_tables_copy()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	t partkv.tables;
BEGIN
	-- not for partkv's own writes while it adopts
	IF pg_trigger_depth() > 1 THEN
		RETURN NULL;
	END IF;
	PERFORM partkv.adopt_restored_tables(false);
	IF TG_TABLE_NAME = 'stream_handlers' THEN
		FOR t IN SELECT x.* FROM partkv.tables x
				  WHERE x.installation_id = partkv.installation_id()
					AND EXISTS (SELECT 1 FROM partkv.stream_handlers h
								 WHERE h.table_id = x.table_id
								   AND partkv.sequence_number_lsn(h.position)
									   >= pg_current_wal_insert_lsn() + x.sequence_offset) LOOP
			PERFORM partkv.raise_sequence_offset(t);
		END LOOP;
	END IF;
	RETURN NULL;
END;
$$;
REVOKE ALL ON FUNCTION partkv.adopt_restored_tables_copy() FROM PUBLIC;
COMMENT ON FUNCTION partkv.adopt_restored_tables_copy() IS
'internal: trigger adopting restored kv tables once the restore has loaded partkv''s catalogs';
CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.tables
	FOR EACH STATEMENT EXECUTE FUNCTION partkv.adopt_restored_tables_copy();
CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.gsi_indexes
	FOR EACH STATEMENT EXECUTE FUNCTION partkv.adopt_restored_tables_copy();
CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.streams
	FOR EACH STATEMENT EXECUTE FUNCTION partkv.adopt_restored_tables_copy();
CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.stream_handlers
	FOR EACH STATEMENT EXECUTE FUNCTION partkv.adopt_restored_tables_copy();
