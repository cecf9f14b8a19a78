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


-------------------------------------------------------------------------------
-- security: catalogs
--
-- partkv's catalogs are written only through partkv.catalog_write
-- (src/catalog/catwrite.c), which checks that the calling role may do what
-- a change means and makes it with the extension owner's rights.  Roles
-- read what they may see and write nothing directly.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.catalog_write(operation text, args jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'partkv_catalog_write';
COMMENT ON FUNCTION partkv.catalog_write(text, jsonb) IS
'internal: the one way the SQL API changes partkv''s catalogs for a role, after checking that role''s rights (register_table, update_table, unregister_table, add_handler, remove_handler, replay_dead_letter)';

REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
	ON partkv.tables, partkv.streams, partkv.stream_handlers, partkv.dead_letters, partkv.gsi_indexes
	FROM PUBLIC;
DROP POLICY tables_write ON partkv.tables;
DROP POLICY streams_write ON partkv.streams;
DROP POLICY gsi_indexes_write ON partkv.gsi_indexes;
DROP POLICY stream_handlers_own ON partkv.stream_handlers;
CREATE POLICY stream_handlers_read ON partkv.stream_handlers FOR SELECT
	USING (pg_catalog.pg_has_role(role_name, 'MEMBER') OR partkv.owns_table(schema_name, table_name));
DROP POLICY dead_letters_own ON partkv.dead_letters;
CREATE POLICY dead_letters_read ON partkv.dead_letters FOR SELECT
	USING (EXISTS (SELECT 1 FROM partkv.stream_handlers h WHERE h.handler_id = dead_letters.handler_id));

-- Rows that 0.4 let any role write: a table_id names one table, a GSI's
-- storage belongs to one GSI.  Where a forged row shares either with an
-- older one, the older row is the real one.
DO $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT t.schema_name, t.table_name
			   FROM partkv.tables t
			  WHERE EXISTS (SELECT 1 FROM partkv.tables o
							 WHERE o.table_id = t.table_id
							   AND (o.created_at, o.schema_name, o.table_name)
								   < (t.created_at, t.schema_name, t.table_name)) LOOP
		RAISE WARNING 'partkv: removing the catalog row of %.%, which repeats the table_id of an older table',
			r.schema_name, r.table_name;
		DELETE FROM partkv.tables t WHERE t.schema_name = r.schema_name AND t.table_name = r.table_name;
	END LOOP;
	FOR r IN SELECT g.schema_name, g.table_name, g.index_name
			   FROM partkv.gsi_indexes g
			  WHERE EXISTS (SELECT 1 FROM partkv.gsi_indexes o
							 WHERE o.schema_name = g.schema_name AND o.storage_name = g.storage_name
							   AND (o.created_at, o.table_name, o.index_name)
								   < (g.created_at, g.table_name, g.index_name)) LOOP
		RAISE WARNING 'partkv: removing the catalog row of GSI % of %.%, which names the storage of an older GSI',
			r.index_name, r.schema_name, r.table_name;
		DELETE FROM partkv.gsi_indexes g
		 WHERE g.schema_name = r.schema_name AND g.table_name = r.table_name AND g.index_name = r.index_name;
	END LOOP;
END;
$$;
CREATE UNIQUE INDEX tables_table_id ON partkv.tables (table_id);
CREATE UNIQUE INDEX gsi_indexes_storage ON partkv.gsi_indexes (schema_name, storage_name);

-- run only by the workers, which own the catalogs
REVOKE ALL ON FUNCTION partkv.gsi_backfill_step(name, text, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION partkv.gsi_rebuild(name, text, text) FROM PUBLIC;

CREATE OR REPLACE FUNCTION partkv.create_table(definition jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	r record;
	tname text := definition->>'TableName';
	ks jsonb;
	attrdefs jsonb := definition->'AttributeDefinitions';
	lsis jsonb;
	gsis jsonb;
	stream jsonb := definition->'StreamSpecification';
	nparts int;
	key_names text[];
	defined text[];
	pk text;
	sk text;
	pk_type text;
	sk_type text;
	coltype text;
	ddl text;
	opclass text;
	entry partkv.tables;
	a jsonb;
	lsi_type text;
	lsi_expr text;
BEGIN
	IF definition IS NULL OR jsonb_typeof(definition) <> 'object' THEN
		PERFORM partkv.raise_validation('The CreateTable request must be a JSON object');
	END IF;
	IF tname IS NULL OR length(tname) < 3 OR length(tname) > 255 OR tname !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', tname));
	END IF;
	SELECT * INTO r FROM partkv.resolve_table_name(tname, true);
	-- Partition names add "_p<n>" to the table's name; PostgreSQL names
	-- are at most 63 bytes.
	IF octet_length(r.table_name) > 56 THEN
		PERFORM partkv.raise_validation(format('TableName %s is too long: partkv table names are limited to 56 bytes (PostgreSQL identifiers are 63 bytes)', r.table_name));
	END IF;

	ks := partkv.check_key_schema(definition->'KeySchema', 'Table');
	pk := ks->0->>'AttributeName';
	sk := ks->1->>'AttributeName';

	IF attrdefs IS NULL OR jsonb_typeof(attrdefs) <> 'array' THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''attributeDefinitions'' failed to satisfy constraint: Member must not be null');
	END IF;
	FOR a IN SELECT value FROM jsonb_array_elements(attrdefs) LOOP
		IF jsonb_typeof(a) <> 'object' OR a->>'AttributeName' IS NULL THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: every AttributeDefinition needs an AttributeName');
		END IF;
		IF a->>'AttributeType' IS NULL OR a->>'AttributeType' NOT IN ('S', 'N', 'B') THEN
			PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', a->>'AttributeType'));
		END IF;
		IF a->>'AttributeName' = ANY (defined) THEN
			PERFORM partkv.raise_validation(format('Cannot have two attributes with the same name: %s', a->>'AttributeName'));
		END IF;
		defined := defined || (a->>'AttributeName');
	END LOOP;

	lsis := partkv.check_indexes(definition->'LocalSecondaryIndexes', true, ks, '{}');
	gsis := partkv.check_indexes(definition->'GlobalSecondaryIndexes', false, ks,
								 ARRAY(SELECT i->>'IndexName' FROM jsonb_array_elements(lsis) i));

	-- Every key attribute of the table and its indexes is defined, and
	-- nothing else is.
	key_names := ARRAY(SELECT DISTINCT k->>'AttributeName'
						 FROM (SELECT ks AS s
							   UNION ALL SELECT i->'KeySchema' FROM jsonb_array_elements(lsis) i
							   UNION ALL SELECT i->'KeySchema' FROM jsonb_array_elements(gsis) i) x,
							  jsonb_array_elements(x.s) k
						ORDER BY 1);
	IF EXISTS (SELECT unnest(key_names) EXCEPT SELECT unnest(defined)) THEN
		PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
			array_to_string(key_names, ', '), array_to_string(defined, ', ')));
	END IF;
	IF cardinality(defined) <> cardinality(key_names) THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions');
	END IF;
	IF pk = 'item' OR sk = 'item' THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: "item" cannot be a table key attribute in partkv: it is the name of the column holding the whole item');
	END IF;
	IF octet_length(pk) > 63 OR octet_length(sk) > 63 THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: partkv table key attribute names are limited to 63 bytes (they name PostgreSQL columns)');
	END IF;

	IF stream IS NOT NULL AND jsonb_typeof(stream) <> 'null' THEN
		IF jsonb_typeof(stream) <> 'object' OR jsonb_typeof(stream->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		IF (stream->>'StreamEnabled')::boolean THEN
			IF stream->>'StreamViewType' IS NULL OR stream->>'StreamViewType' NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			stream := jsonb_build_object('StreamEnabled', true, 'StreamViewType', stream->>'StreamViewType');
		ELSE
			IF stream ? 'StreamViewType' THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			stream := NULL;
		END IF;
	ELSE
		stream := NULL;
	END IF;

	IF definition ? 'Partitions' THEN
		IF jsonb_typeof(definition->'Partitions') <> 'number'
		   OR (definition->>'Partitions')::numeric <> trunc((definition->>'Partitions')::numeric)
		   OR (definition->>'Partitions')::numeric NOT BETWEEN 1 AND 1024 THEN
			PERFORM partkv.raise_validation(format('Partitions must be an integer between 1 and 1024, not %s', definition->'Partitions'));
		END IF;
		nparts := (definition->>'Partitions')::int;
	ELSE
		nparts := 8;
	END IF;

	IF EXISTS (SELECT 1 FROM partkv.tables WHERE schema_name = r.schema_name AND table_name = r.table_name) THEN
		RAISE EXCEPTION 'Table already exists: %', tname USING ERRCODE = 'duplicate_table';
	END IF;

	SELECT x->>'AttributeType' INTO pk_type FROM jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = pk;
	SELECT x->>'AttributeType' INTO sk_type FROM jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = sk;

	ddl := format('CREATE TABLE %I.%I (%I %s NOT NULL', r.schema_name, r.table_name, pk,
				  partkv.key_column_type(pk_type));
	IF sk IS NOT NULL THEN
		ddl := ddl || format(', %I %s NOT NULL', sk, partkv.key_column_type(sk_type));
	END IF;
	opclass := CASE pk_type WHEN 'S' THEN 'partkv.xxhash_text_ops'
							WHEN 'N' THEN 'partkv.xxhash_numeric_ops'
							ELSE 'partkv.xxhash_bytea_ops' END;
	ddl := ddl || format(', item jsonb NOT NULL, PRIMARY KEY (%s)) PARTITION BY HASH (%I %s)',
						 CASE WHEN sk IS NULL THEN quote_ident(pk)
							  ELSE quote_ident(pk) || ', ' || quote_ident(sk) END,
						 pk, opclass);
	EXECUTE ddl;
	FOR i IN 0 .. nparts - 1 LOOP
		EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s) USING partkv',
					   r.schema_name, r.table_name || '_p' || i, r.schema_name, r.table_name, nparts, i);
	END LOOP;
	-- Local secondary indexes (src/index/lsi.c): B-tree (pk, LSI key, sk)
	-- over the items that have the LSI key, named <table>_lsi<n>; the table
	-- sort key makes their order total (LastEvaluatedKey resumes after it).
	FOR i IN 0 .. jsonb_array_length(lsis) - 1 LOOP
		a := lsis->i->'KeySchema'->1;
		SELECT x->>'AttributeType' INTO lsi_type FROM jsonb_array_elements(attrdefs) x
		 WHERE x->>'AttributeName' = a->>'AttributeName';
		lsi_expr := partkv.lsi_key_expression(a->>'AttributeName', lsi_type);
		EXECUTE format('CREATE INDEX %I ON %I.%I (%I, (%s)%s, %I) WHERE %s IS NOT NULL',
					   r.table_name || '_lsi' || i, r.schema_name, r.table_name, pk, lsi_expr,
					   CASE WHEN lsi_type = 'S' THEN ' COLLATE "C"' ELSE '' END, sk, lsi_expr);
	END LOOP;
	EXECUTE format('COMMENT ON TABLE %I.%I IS %L', r.schema_name, r.table_name,
				   'partkv table: use the partkv.* functions, or SQL on the item column');

	entry := ROW(r.schema_name, r.table_name, pk, pk_type, sk, sk_type, nparts,
				 (SELECT jsonb_agg(jsonb_build_object('AttributeName', x->>'AttributeName',
													  'AttributeType', x->>'AttributeType')
								   ORDER BY x->>'AttributeName')
					FROM jsonb_array_elements(attrdefs) x),
				 lsis, gsis, stream, gen_random_uuid(), now());
	PERFORM partkv.catalog_write('register_table', jsonb_build_object('row', to_jsonb(entry)));
	PERFORM partkv.invalidate_table_cache(format('%I.%I', r.schema_name, r.table_name)::regclass);
	RETURN partkv.table_description(entry, 'ACTIVE');
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.delete_table(table_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	d jsonb := partkv.table_description(t, 'DELETING');
BEGIN
	-- as in DynamoDB, a table cannot be deleted while one of its GSIs is backfilled
	IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g
				WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
				  AND g.status = 'CREATING') THEN
		RAISE EXCEPTION 'Attempt to change a resource which is still in use: Table is being updated: %', t.table_name
			USING ERRCODE = 'duplicate_table';
	END IF;
	PERFORM partkv.catalog_write('unregister_table', jsonb_build_object('schema_name', t.schema_name,
																		'table_name', t.table_name));
	EXECUTE format('DROP TABLE %I.%I', t.schema_name, t.table_name);
	RETURN d;
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.update_table(table_name text, changes jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	member text;
	spec jsonb;
	view_type text;
	enabled_now boolean;
	new_spec jsonb;
BEGIN
	IF changes IS NULL OR jsonb_typeof(changes) <> 'object' THEN
		PERFORM partkv.raise_validation('The UpdateTable request must be a JSON object');
	END IF;
	IF NOT (changes ? 'StreamSpecification' OR changes ? 'GlobalSecondaryIndexUpdates'
			OR changes ? 'ProvisionedThroughput' OR changes ? 'BillingMode'
			OR changes ? 'SSESpecification' OR changes ? 'ReplicaUpdates') THEN
		PERFORM partkv.raise_validation('At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
	END IF;
	FOR member IN SELECT jsonb_object_keys(changes) LOOP
		IF member IN ('StreamSpecification', 'TableName') THEN
			CONTINUE;
		ELSIF member IN ('GlobalSecondaryIndexUpdates', 'AttributeDefinitions') THEN
			-- applied below by partkv.gsi_update_table (src/index/gsi.c)
			CONTINUE;
		ELSIF member IN ('ProvisionedThroughput', 'BillingMode', 'SSESpecification', 'ReplicaUpdates',
						 'TableClass', 'DeletionProtectionEnabled', 'OnDemandThroughput', 'WarmThroughput') THEN
			RAISE EXCEPTION 'partkv does not support % in UpdateTable', member
				USING ERRCODE = 'feature_not_supported';
		ELSE
			PERFORM partkv.raise_validation(format('Unexpected UpdateTable member: %s', member));
		END IF;
	END LOOP;
	IF NOT partkv.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- GlobalSecondaryIndexUpdates: one Create or Delete (src/index/gsi.c)
	IF changes ? 'GlobalSecondaryIndexUpdates' THEN
		t := partkv.gsi_update_table(t, changes);
	END IF;

	IF changes ? 'StreamSpecification' THEN
		spec := changes->'StreamSpecification';
		IF jsonb_typeof(spec) IS DISTINCT FROM 'object'
		   OR jsonb_typeof(spec->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		enabled_now := coalesce((t.stream_specification->>'StreamEnabled')::boolean, false);
		IF (spec->>'StreamEnabled')::boolean THEN
			view_type := spec->>'StreamViewType';
			IF view_type IS NULL OR view_type NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			IF enabled_now THEN
				PERFORM partkv.raise_validation(format('Table already has an enabled stream: TableName: %s', t.table_name));
			END IF;
			new_spec := jsonb_build_object('StreamEnabled', true, 'StreamViewType', view_type);
		ELSE
			IF spec ? 'StreamViewType' THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			IF NOT enabled_now THEN
				PERFORM partkv.raise_validation(format('Table does not have an enabled stream to disable: TableName: %s', t.table_name));
			END IF;
			new_spec := NULL;
		END IF;
		-- the trigger on partkv.tables opens or closes the stream and sets
		-- the partitions' replica identity
		PERFORM partkv.catalog_write('update_table',
			jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'set', jsonb_build_object('stream_specification', new_spec)));
		t.stream_specification := new_spec;
	END IF;
	RETURN partkv.table_description(t, 'ACTIVE') || partkv.stream_description_fields(t);
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.gsi_update_table(t partkv.tables, changes jsonb)
 RETURNS partkv.tables
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	updates jsonb := changes->'GlobalSecondaryIndexUpdates';
	u jsonb;
	c jsonb;
	iname text;
	gsis jsonb;
	defs jsonb := t.attribute_definitions;
	newdefs jsonb := coalesce(changes->'AttributeDefinitions', '[]');
	k jsonb;
	d jsonb;
	missing text[];
	table_keys jsonb;
BEGIN
	IF jsonb_typeof(updates) IS DISTINCT FROM 'array' OR jsonb_array_length(updates) = 0 THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value at ''globalSecondaryIndexUpdates'' failed to satisfy constraint: Member must be a non-empty list');
	END IF;
	IF jsonb_typeof(newdefs) <> 'array' THEN
		PERFORM partkv.raise_validation('AttributeDefinitions must be a list');
	END IF;
	IF (SELECT count(*) FROM jsonb_array_elements(updates) x WHERE x ? 'Create' OR x ? 'Delete') > 1 THEN
		RAISE EXCEPTION 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table'
			USING ERRCODE = 'program_limit_exceeded';
	END IF;
	FOR u IN SELECT value FROM jsonb_array_elements(updates) LOOP
		IF jsonb_typeof(u) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(u)) <> 1 THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified');
		END IF;
		IF u ? 'Update' THEN
			RAISE EXCEPTION 'partkv does not support GlobalSecondaryIndexUpdates Update (provisioned throughput)'
				USING ERRCODE = 'feature_not_supported';
		ELSIF u ? 'Delete' THEN
			iname := u->'Delete'->>'IndexName';
			IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = iname) THEN
				RAISE EXCEPTION 'Requested resource not found: Index: % not found', iname
					USING ERRCODE = 'undefined_object';
			END IF;
			t.global_indexes := coalesce((SELECT jsonb_agg(i ORDER BY o) FROM jsonb_array_elements(t.global_indexes) WITH ORDINALITY AS x(i, o)
										   WHERE i->>'IndexName' <> iname), '[]');
		ELSIF u ? 'Create' THEN
			c := u->'Create';
			iname := c->>'IndexName';
			IF EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes || t.local_indexes) i
						WHERE i->>'IndexName' = iname) THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Index with name %s already exists', iname));
			END IF;
			IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g WHERE g.schema_name = t.schema_name
						 AND g.table_name = t.table_name AND g.status = 'CREATING') THEN
				RAISE EXCEPTION 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table'
					USING ERRCODE = 'program_limit_exceeded';
			END IF;
			IF jsonb_array_length(t.global_indexes) >= 20 THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20');
			END IF;
			table_keys := jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'))
				|| CASE WHEN t.sort_key IS NULL THEN '[]'::jsonb
						ELSE jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE')) END;
			gsis := partkv.check_indexes(jsonb_build_array(c - 'ProvisionedThroughput' - 'OnDemandThroughput' - 'WarmThroughput'),
										 false, table_keys, '{}');
			-- the new index's key attributes need definitions (spurious ones are ignored)
			FOR k IN SELECT value FROM jsonb_array_elements(gsis->0->'KeySchema') LOOP
				SELECT x INTO d FROM jsonb_array_elements(newdefs) x WHERE x->>'AttributeName' = k->>'AttributeName';
				IF d IS NOT NULL AND (d->>'AttributeType' IS NULL OR d->>'AttributeType' NOT IN ('S', 'N', 'B')) THEN
					PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', d->>'AttributeType'));
				END IF;
				IF EXISTS (SELECT 1 FROM jsonb_array_elements(defs) x WHERE x->>'AttributeName' = k->>'AttributeName') THEN
					IF d IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(defs) x
													   WHERE x->>'AttributeName' = k->>'AttributeName'
														 AND x->>'AttributeType' = d->>'AttributeType') THEN
						PERFORM partkv.raise_validation(format('Cannot have two attributes with the same name: %s', k->>'AttributeName'));
					END IF;
				ELSIF d IS NULL THEN
					missing := missing || (k->>'AttributeName');
				ELSE
					defs := defs || jsonb_build_array(jsonb_build_object('AttributeName', d->>'AttributeName',
																		 'AttributeType', d->>'AttributeType'));
				END IF;
			END LOOP;
			IF missing IS NOT NULL THEN
				PERFORM partkv.raise_validation(format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
					array_to_string(missing, ', '),
					(SELECT string_agg(x->>'AttributeName', ', ') FROM jsonb_array_elements(newdefs) x)));
			END IF;
			t.attribute_definitions := (SELECT jsonb_agg(x ORDER BY x->>'AttributeName') FROM jsonb_array_elements(defs) x);
			t.global_indexes := t.global_indexes || gsis;
		ELSE
			PERFORM partkv.raise_validation('One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified');
		END IF;
	END LOOP;
	-- the trigger gsi_sync creates or drops the storage
	PERFORM partkv.catalog_write('update_table',
		jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
						   'set', jsonb_build_object('attribute_definitions', t.attribute_definitions,
													 'global_indexes', t.global_indexes)));
	RETURN t;
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.update_time_to_live(table_name text, attribute_name text, enabled boolean DEFAULT true)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	current_attribute text;
	index_name text := t.table_name || '_ttl';
	expr text;
BEGIN
	IF attribute_name IS NULL OR length(attribute_name) NOT BETWEEN 1 AND 255 THEN
		PERFORM partkv.raise_validation(format('1 validation error detected: Value ''%s'' at ''timeToLiveSpecification.attributeName'' failed to satisfy constraint: Member must have length less than or equal to 255 and greater than or equal to 1',
											   coalesce(attribute_name, 'null')));
	END IF;
	IF enabled IS NULL THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''timeToLiveSpecification.enabled'' failed to satisfy constraint: Member must not be null');
	END IF;
	IF NOT partkv.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- one change of a table's TTL at a time (the lock conflicts with itself)
	EXECUTE format('LOCK TABLE %I.%I IN SHARE ROW EXCLUSIVE MODE', t.schema_name, t.table_name);
	SELECT c.time_to_live INTO t.time_to_live FROM partkv.tables c
	 WHERE c.schema_name = t.schema_name AND c.table_name = t.table_name;
	IF t.time_to_live @> '{"Enabled": true}' THEN
		current_attribute := t.time_to_live->>'AttributeName';
	END IF;

	IF enabled THEN
		IF current_attribute = attribute_name THEN
			PERFORM partkv.raise_validation('TimeToLive is already enabled');
		ELSIF current_attribute IS NOT NULL THEN
			PERFORM partkv.raise_validation(format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		-- the sweeper's index: items whose attribute is a top-level Number
		expr := partkv.lsi_key_expression(attribute_name, 'N');
		IF to_regclass(format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
		EXECUTE format('CREATE INDEX %I ON %I.%I ((%s)) WHERE %s IS NOT NULL',
					   index_name, t.schema_name, t.table_name, expr, expr);
	ELSE
		IF current_attribute IS NULL THEN
			PERFORM partkv.raise_validation('TimeToLive is already disabled');
		ELSIF current_attribute <> attribute_name THEN
			PERFORM partkv.raise_validation(format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		IF to_regclass(format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
	END IF;

	t.time_to_live := jsonb_build_object('AttributeName', attribute_name, 'Enabled', enabled);
	PERFORM partkv.catalog_write('update_table',
		jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
						   'set', jsonb_build_object('time_to_live', t.time_to_live)));
	RETURN jsonb_build_object('TimeToLiveSpecification', t.time_to_live);
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.add_stream_handler(table_name text, handler regproc, batch_size integer DEFAULT 100, max_attempts integer DEFAULT 3)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
	h := jsonb_populate_record(NULL::partkv.stream_handlers,
		partkv.catalog_write('add_handler',
			jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'handler', handler::oid::bigint, 'batch_size', batch_size,
							   'max_attempts', max_attempts,
							   'position', partkv.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn() + t.sequence_offset))));
	RETURN partkv.stream_handler_description(h);
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.remove_stream_handler(table_name text, handler regproc)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	h partkv.stream_handlers;
BEGIN
	SELECT * INTO h FROM partkv.stream_handlers x
	 WHERE x.table_id = t.table_id AND x.handler = remove_stream_handler.handler;
	IF h.handler_id IS NOT NULL THEN
		h := jsonb_populate_record(NULL::partkv.stream_handlers,
			partkv.catalog_write('remove_handler', jsonb_build_object('handler_id', h.handler_id)));
	END IF;
	IF h.handler_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: stream handler % of table %', handler, t.table_name
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN partkv.stream_handler_description(h) || '{"State": "Deleted"}';
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.replay_dead_letter(id bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	d partkv.dead_letters;
BEGIN
	d := jsonb_populate_record(NULL::partkv.dead_letters,
		partkv.catalog_write('replay_dead_letter', jsonb_build_object('dead_letter_id', id)));
	IF d.dead_letter_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: dead letter %', id
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN jsonb_build_object('DeadLetterId', d.dead_letter_id, 'Handler', d.handler::text,
							  'Records', jsonb_array_length(d.records), 'State', 'Queued');
END;
$function$;

CREATE OR REPLACE FUNCTION partkv.gsi_create_storage(t partkv.tables, gsi jsonb, storage_name text)
 RETURNS boolean
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	part record;
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
	EXECUTE format('CREATE INDEX %I ON %I.%I USING hash ((%s))',
				   storage_name || '_base', t.schema_name, storage_name,
				   partkv.gsi_base_hash_expression(t, 'base_pk', 'base_sk'));
	EXECUTE format('COMMENT ON TABLE %I.%I IS %L', t.schema_name, storage_name,
				   format('partkv global secondary index %s of table %s (maintained by the stream worker)',
						  gsi->>'IndexName', t.table_name));
	-- made by the trigger with the catalog owner's rights: the storage
	-- belongs to the owner of the table, as the table's own indexes do
	FOR part IN SELECT c.oid::regclass AS r FROM pg_class c
				 WHERE c.oid = format('%I.%I', t.schema_name, storage_name)::regclass
				UNION ALL
				SELECT i.inhrelid::regclass FROM pg_inherits i
				 WHERE i.inhparent = format('%I.%I', t.schema_name, storage_name)::regclass LOOP
		EXECUTE format('ALTER TABLE %s OWNER TO %s', part.r,
					   (SELECT c.relowner::regrole FROM pg_class c
						 WHERE c.oid = format('%I.%I', t.schema_name, t.table_name)::regclass));
	END LOOP;
	RETURN true;
END;
$function$;


-------------------------------------------------------------------------------
-- security: streams and row-level security
--
-- A stream record carries the whole item: a role for which a row-level
-- security policy is active on the table may not read the table's stream
-- (functions, stream_log) nor register a handler on it.
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION partkv.readable_streams()
 RETURNS bigint[]
 LANGUAGE sql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
	SELECT coalesce(array_agg(s.stream_id), '{}')
	  FROM partkv.streams s
	  JOIN partkv.tables t ON t.table_id = s.table_id
	  JOIN pg_namespace n ON n.nspname = t.schema_name
	  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name AND c.relkind = 'p'
	 WHERE has_table_privilege(c.oid, 'SELECT') AND NOT row_security_active(c.oid)
$function$;

CREATE OR REPLACE FUNCTION partkv.check_stream_read(t partkv.tables)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	IF NOT has_table_privilege(format('%I.%I', t.schema_name, t.table_name), 'SELECT') THEN
		RAISE EXCEPTION 'permission denied for table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF row_security_active(format('%I.%I', t.schema_name, t.table_name)) THEN
		RAISE EXCEPTION 'row-level security is not supported on the stream of partkv table "%"', t.table_name
			USING ERRCODE = 'feature_not_supported',
				  DETAIL = 'Stream records carry whole items; partkv cannot apply row-level security policies to them.',
				  HINT = 'Read the stream as a role that bypasses row-level security, or disable it on the table.';
	END IF;
END;
$function$;

-------------------------------------------------------------------------------
-- security: statistics
--
-- The statistics views show a role the tables it may read, and no others
-- (table_stats is built on partition_stats); partkv.stats_counters(), which
-- they read, returns the counters of those tables only.
-------------------------------------------------------------------------------

CREATE OR REPLACE VIEW partkv.partition_stats AS
SELECT schema_name, table_name, partition, modulus, remainder, items, bytes,
	   reads, items_read, bytes_read, read_units,
	   writes, items_written, items_deleted, bytes_written, write_units,
	   ttl_deletes, condition_check_failures,
	   (read_units + write_units) /
		   nullif(sum(read_units + write_units) OVER (PARTITION BY schema_name, table_name), 0)
		   AS traffic_share
  FROM (SELECT t.schema_name, t.table_name, p.relname AS partition,
			   b.bound[1]::int AS modulus, b.bound[2]::int AS remainder,
			   CASE WHEN p.reltuples >= 0 THEN p.reltuples::bigint END AS items,
			   pg_catalog.pg_table_size(p.oid) AS bytes,
			   coalesce(s.reads, 0) AS reads,
			   coalesce(s.items_read, 0) AS items_read,
			   coalesce(s.bytes_read, 0) AS bytes_read,
			   coalesce(s.read_units, 0) AS read_units,
			   coalesce(s.writes, 0) AS writes,
			   coalesce(s.items_written, 0) AS items_written,
			   coalesce(s.items_deleted, 0) AS items_deleted,
			   coalesce(s.bytes_written, 0) AS bytes_written,
			   coalesce(s.write_units, 0) AS write_units,
			   coalesce(s.ttl_deletes, 0) AS ttl_deletes,
			   coalesce(s.condition_check_failures, 0) AS condition_check_failures
		  FROM partkv.tables t
		  JOIN pg_catalog.pg_namespace n ON n.nspname = t.schema_name
		  JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid
			   AND c.relname = t.table_name AND c.relkind = 'p'
		  JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid
		  JOIN pg_catalog.pg_class p ON p.oid = i.inhrelid
		  CROSS JOIN LATERAL pg_catalog.regexp_match(pg_catalog.pg_get_expr(p.relpartbound, p.oid),
													 'modulus (\d+), remainder (\d+)') AS b(bound)
		  LEFT JOIN partkv.stats_counters() s ON s.relid = p.oid
		 WHERE pg_catalog.has_table_privilege(c.oid, 'SELECT')) AS ps;

-- (index_status is redefined with the same filter under "serving status")



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
	gaps jsonb;
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
	-- partkv's own member: the gaps of every shard (lost replication slots)
	SELECT jsonb_agg(jsonb_build_object(
			'SequenceNumberRange', jsonb_build_object('StartingSequenceNumber', g.from_sequence_number,
													  'EndingSequenceNumber', g.to_sequence_number),
			'Reason', 'REPLICATION_SLOT_INVALIDATED',
			'DetectedDateTime', extract(epoch FROM g.detected_at)) ORDER BY g.to_lsn)
	  INTO gaps
	  FROM partkv.stream_gaps(s) g;
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
		|| CASE WHEN gaps IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('StreamGaps', gaps) END
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
	  FROM partkv.gsi_indexes g, partkv.gsi_backlog() b
	 -- a role sees the indexes of the tables it may read (security: statistics)
	 WHERE pg_catalog.has_table_privilege(
			(SELECT c.oid FROM pg_catalog.pg_class c
			   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
			  WHERE n.nspname = g.schema_name AND c.relname = g.table_name AND c.relkind = 'p'),
			'SELECT');
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


-------------------------------------------------------------------------------
-- security: workers and handlers (issue 15, items 2 and 5)
--
-- partkv's workers are superuser sessions.  They run their own SQL with
-- search_path = pg_catalog, pg_temp (src/common/safesql.h), whatever the
-- database's settings; whatever of a user's they must touch (a trigger or
-- index expression on a GSI's storage) runs as that table's owner in a
-- security-restricted operation; and stream handlers run in a worker
-- connected as the role that registered them (src/stream/handlers.c).
-------------------------------------------------------------------------------

-- A statement on a user's table, run as its owner: for the functions below,
-- which the GSI worker runs as a superuser.
CREATE FUNCTION partkv.execute_as_owner(relation regclass, statement text)
RETURNS SETOF record
LANGUAGE C STRICT VOLATILE
AS 'MODULE_PATHNAME', 'partkv_execute_as_owner';
REVOKE ALL ON FUNCTION partkv.execute_as_owner(regclass, text) FROM PUBLIC;
COMMENT ON FUNCTION partkv.execute_as_owner(regclass, text) IS
'internal: run a statement as the owner of a relation, in a security-restricted operation (superusers only: partkv''s workers)';

-- The backfill writes the GSI's storage as its owner: the storage's
-- triggers, rules and index expressions are its owner's code.
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
	SELECT i INTO gsi FROM pg_catalog.jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = $3;
	rel := pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, t.table_name));
	IF t IS NULL OR g IS NULL OR gsi IS NULL OR rel IS NULL OR g.status <> 'CREATING' THEN
		RETURN false;
	END IF;
	part := g.backfill_partition;
	IF part IS NULL THEN
		SELECT pg_catalog.min(c.relname) INTO part FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel;
	END IF;
	IF part IS NOT NULL AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, part)) IS NULL THEN
		-- the partition went away (split): continue with the next name
		g.backfill_after := NULL;
		SELECT pg_catalog.min(c.relname) INTO part FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel AND c.relname > part;
	END IF;
	IF part IS NULL THEN
		UPDATE partkv.gsi_indexes x SET status = 'ACTIVE', backfill_partition = NULL, backfill_after = NULL,
										activated_at = pg_catalog.now()
		 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
		PERFORM partkv.invalidate_table_cache(rel);
		RETURN false;
	END IF;
	keycols := pg_catalog.format('%I', t.partition_key)
		|| CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', %I', t.sort_key) END;
	keydesc := pg_catalog.format('%I DESC', t.partition_key)
		|| CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', %I DESC', t.sort_key) END;
	IF g.backfill_after IS NOT NULL THEN
		cond := pg_catalog.format(' WHERE (%s) > (%L::%s%s)', keycols, g.backfill_after->>'pk',
					   partkv.key_column_type(t.partition_key_type),
					   CASE WHEN t.sort_key IS NULL THEN ''
							ELSE pg_catalog.format(', %L::%s', g.backfill_after->>'sk', partkv.key_column_type(t.sort_key_type)) END);
	END IF;
	s := partkv.gsi_shape(t, gsi, 'b.item');
	-- the statement runs with search_path = pg_catalog, pg_temp (execute_as_owner)
	sql := pg_catalog.format(
		'WITH b AS (SELECT %1$s, item FROM ONLY %2$I.%3$I%4$s ORDER BY %1$s LIMIT %5$s), '
		'd AS (DELETE FROM %6$s g USING b WHERE %16$s = %17$s AND g.base_pk = b.%7$I%8$s), '
		'i AS (INSERT INTO %6$s SELECT * FROM (SELECT %9$s AS gpk%10$s, b.%7$I%11$s, %12$s FROM b) x '
		'      WHERE x.gpk IS NOT NULL%13$s) '
		'SELECT (SELECT pg_catalog.count(*) FROM b), '
		'       (SELECT pg_catalog.jsonb_build_object(''pk'', b.%7$I::text%14$s) FROM b ORDER BY %15$s LIMIT 1)',
		keycols, t.schema_name, part, cond, batch,
		pg_catalog.format('%I.%I', g.schema_name, g.storage_name),
		t.partition_key,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(' AND g.base_sk = b.%I', t.sort_key) END,
		partkv.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN '' ELSE ', ' || partkv.gsi_key_expression('b.item', s.gsk, s.gsk_type) || ' AS gsk' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', b.%I', t.sort_key) END,
		s.projection,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', ''sk'', b.%I::text', t.sort_key) END,
		keydesc,
		partkv.gsi_base_hash_expression(t, 'g.base_pk', 'g.base_sk'),
		partkv.gsi_base_hash_expression(t, pg_catalog.format('b.%I', t.partition_key),
										CASE WHEN t.sort_key IS NOT NULL THEN pg_catalog.format('b.%I', t.sort_key) END));
	SELECT x.n, x.last INTO n, last
	  FROM partkv.execute_as_owner(pg_catalog.format('%I.%I', g.schema_name, g.storage_name)::regclass, sql)
		   AS x(n bigint, last jsonb);
	IF n < batch THEN
		-- this partition is done: the next one by name
		SELECT pg_catalog.min(c.relname) INTO part FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
		 WHERE i.inhparent = rel AND c.relname > part;
		last := NULL;
		IF part IS NULL THEN
			UPDATE partkv.gsi_indexes x SET status = 'ACTIVE', backfill_partition = NULL, backfill_after = NULL,
											items_done = x.items_done + n, activated_at = pg_catalog.now()
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

-- Emptying a GSI before it is backfilled again: as its owner too (a
-- TRUNCATE fires the storage's ON TRUNCATE triggers).
CREATE OR REPLACE FUNCTION partkv.gsi_rebuild(schema_name name, table_name text, index_name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g partkv.gsi_indexes;
	storage regclass;
	rel regclass;
BEGIN
	SELECT * INTO g FROM partkv.gsi_indexes x
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3 FOR UPDATE;
	storage := pg_catalog.to_regclass(pg_catalog.format('%I.%I', g.schema_name, g.storage_name));
	IF g IS NULL OR storage IS NULL THEN
		RETURN false;
	END IF;
	PERFORM FROM partkv.execute_as_owner(storage, pg_catalog.format('TRUNCATE %s', storage))
		AS x(nothing boolean);
	UPDATE partkv.gsi_indexes x
	   SET status = 'CREATING', backfill_partition = NULL, backfill_after = NULL, items_done = 0,
		   activated_at = NULL
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	rel := pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1, $2));
	IF rel IS NOT NULL THEN
		PERFORM partkv.invalidate_table_cache(rel);
	END IF;
	RETURN true;
END;
$$;

-- Handlers run in a session of their role (src/stream/handlers.c): the role
-- must be able to log in and connect.  (Checked again at each run.)
CREATE OR REPLACE FUNCTION partkv.add_stream_handler(table_name text, handler regproc,
													 batch_size int DEFAULT 100, max_attempts int DEFAULT 3)
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
		PERFORM partkv.raise_validation(pg_catalog.format('stream handler %s must be a function taking one jsonb argument (the records)', handler));
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
	IF NOT (SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
	   OR NOT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CONNECT') THEN
		RAISE EXCEPTION 'stream handlers run in a session of the role that registers them, and role "%" cannot log in to this database', current_user
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Give the role LOGIN and CONNECT on the database, or register the handler as a role that has them.';
	END IF;
	IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
		PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''batchSize'' failed to satisfy constraint: Member must have value between 1 and 10000', batch_size));
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		PERFORM partkv.raise_validation(pg_catalog.format('max_attempts must be between 1 and 100, not %s', max_attempts));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL) THEN
		PERFORM partkv.raise_validation(pg_catalog.format('Table %s has no enabled stream', t.table_name));
	END IF;
	IF EXISTS (SELECT 1 FROM partkv.stream_handlers x WHERE x.table_id = t.table_id AND x.handler = add_stream_handler.handler) THEN
		RAISE EXCEPTION 'The stream handler % of table % already exists', handler, t.table_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- handlers start with the changes committed from now on (LATEST)
	h := jsonb_populate_record(NULL::partkv.stream_handlers,
		partkv.catalog_write('add_handler',
			jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'handler', handler::oid::bigint, 'batch_size', batch_size,
							   'max_attempts', max_attempts,
							   'position', partkv.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn() + t.sequence_offset))));
	RETURN partkv.stream_handler_description(h);
END;
$$;
COMMENT ON FUNCTION partkv.add_stream_handler(text, regproc, int, int) IS
'register a function f(records jsonb) that a worker connected as the current role calls with batches of the table''s stream records';

-- Handlers registered by roles that cannot log in are disabled at their
-- next run, with the reason; say so now.
DO $$
DECLARE
	h record;
BEGIN
	FOR h IN SELECT x.handler, x.table_name, x.role_name
			   FROM partkv.stream_handlers x
			   LEFT JOIN pg_catalog.pg_roles r ON r.rolname = x.role_name
			  WHERE x.enabled AND NOT coalesce(r.rolcanlogin, false) LOOP
		RAISE WARNING 'stream handler % of table % will be disabled: its role "%" cannot log in',
			h.handler, h.table_name, h.role_name
			USING HINT = 'Stream handlers now run in a session of their role: give the role LOGIN.';
	END LOOP;
END;
$$;


-------------------------------------------------------------------------------
-- Query and Scan stream their items (issue 14, defect 6).
--
-- A set-returning C function called in FROM runs as a Function Scan, which
-- stores the whole result in a tuplestore before the first row goes up:
-- `SELECT * FROM partkv.scan('t') LIMIT 10` read every item and spilled
-- them to a temporary file.  A SQL function whose body is one SELECT is
-- inlined by the planner instead, and the set-returning call in its select
-- list then runs under a ProjectSet node, which asks for one item at a time
-- and stops asking when the caller stops.  So partkv.query and partkv.scan
-- become such SQL functions over C functions that return one item per
-- call.  They are STABLE because the planner inlines only functions that
-- are not VOLATILE; the C functions they call stay VOLATILE, and take their
-- own snapshot as before.  A call that cannot be inlined (WITH ORDINALITY,
-- ROWS FROM with several functions, an argument that is volatile or a
-- subquery) runs the SQL function as before, materialised.  A call in a
-- select list would run through the SQL function executor, which plans the
-- body at every execution: the support function partkv.read_support
-- replaces such calls by the C function's at plan time.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.read_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'partkv_read_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION partkv.read_support(internal) IS
'internal: planner support of partkv.query and partkv.scan (outside FROM, call the C function directly)';

CREATE FUNCTION partkv.query_items(table_name text, key_condition text,
								   attr_values jsonb, attr_names jsonb,
								   filter text, projection text, index_name text,
								   scan_forward boolean, item_limit int,
								   exclusive_start_key jsonb, consistent_read boolean)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'partkv_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.query_items(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean) IS
'internal: the items of a Query, one per call (partkv.query is inlined into a call of it)';

CREATE FUNCTION partkv.scan_items(table_name text, filter text,
								  attr_values jsonb, attr_names jsonb,
								  projection text, index_name text,
								  segment int, total_segments int, item_limit int,
								  exclusive_start_key jsonb)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'partkv_scan'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.scan_items(text, text, jsonb, jsonb, text, text, int, int, int, jsonb) IS
'internal: the items of a Scan, one per call (partkv.scan is inlined into a call of it)';

CREATE OR REPLACE FUNCTION partkv.query(table_name text, key_condition text,
										attr_values jsonb DEFAULT NULL,
										attr_names jsonb DEFAULT NULL,
										filter text DEFAULT NULL,
										projection text DEFAULT NULL,
										index_name text DEFAULT NULL,
										scan_forward boolean DEFAULT true,
										item_limit int DEFAULT NULL,
										exclusive_start_key jsonb DEFAULT NULL,
										consistent_read boolean DEFAULT false)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SUPPORT partkv.read_support
AS $$ SELECT partkv.query_items($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) $$;
COMMENT ON FUNCTION partkv.query(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean) IS
'Query: every item of one partition key matching the key condition and filter, in sort-key order (item_limit caps the items read); streamed, one snapshot';

CREATE OR REPLACE FUNCTION partkv.scan(table_name text,
									   filter text DEFAULT NULL,
									   attr_values jsonb DEFAULT NULL,
									   attr_names jsonb DEFAULT NULL,
									   projection text DEFAULT NULL,
									   index_name text DEFAULT NULL,
									   segment int DEFAULT NULL,
									   total_segments int DEFAULT NULL,
									   item_limit int DEFAULT NULL,
									   exclusive_start_key jsonb DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SUPPORT partkv.read_support
AS $$ SELECT partkv.scan_items($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) $$;
COMMENT ON FUNCTION partkv.scan(text, text, jsonb, jsonb, text, text, int, int, int, jsonb) IS
'Scan: every item of the table (or of one parallel-scan segment) matching the filter (item_limit caps the items read); streamed, one snapshot';

-------------------------------------------------------------------------------
-- security: qualified names in the SQL API
--
-- The SQL API's functions run with their caller's search_path, which names
-- the schema of a table given without one.  Every built-in function they
-- call is therefore named with its schema: a look-alike planted in a
-- schema the caller searches (public, writable by every role before
-- PostgreSQL 15) is never called by them, whoever the caller is.  These
-- are the final definitions of those functions in 0.5.
-------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION partkv.add_stream_handler(table_name text, handler regproc, batch_size integer DEFAULT 100, max_attempts integer DEFAULT 3)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
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
		PERFORM partkv.raise_validation(pg_catalog.format('stream handler %s must be a function taking one jsonb argument (the records)', handler));
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
	IF NOT (SELECT r.rolcanlogin FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
	   OR NOT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CONNECT') THEN
		RAISE EXCEPTION 'stream handlers run in a session of the role that registers them, and role "%" cannot log in to this database', current_user
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Give the role LOGIN and CONNECT on the database, or register the handler as a role that has them.';
	END IF;
	IF batch_size IS NULL OR batch_size NOT BETWEEN 1 AND 10000 THEN
		PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''batchSize'' failed to satisfy constraint: Member must have value between 1 and 10000', batch_size));
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		PERFORM partkv.raise_validation(pg_catalog.format('max_attempts must be between 1 and 100, not %s', max_attempts));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL) THEN
		PERFORM partkv.raise_validation(pg_catalog.format('Table %s has no enabled stream', t.table_name));
	END IF;
	IF EXISTS (SELECT 1 FROM partkv.stream_handlers x WHERE x.table_id = t.table_id AND x.handler = add_stream_handler.handler) THEN
		RAISE EXCEPTION 'The stream handler % of table % already exists', handler, t.table_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- handlers start with the changes committed from now on (LATEST)
	h := pg_catalog.jsonb_populate_record(NULL::partkv.stream_handlers,
		partkv.catalog_write('add_handler',
			pg_catalog.jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'handler', handler::oid::bigint, 'batch_size', batch_size,
							   'max_attempts', max_attempts,
							   'position', partkv.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn() + t.sequence_offset))));
	RETURN partkv.stream_handler_description(h);
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.create_table(definition jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	r record;
	tname text := definition->>'TableName';
	ks jsonb;
	attrdefs jsonb := definition->'AttributeDefinitions';
	lsis jsonb;
	gsis jsonb;
	stream jsonb := definition->'StreamSpecification';
	nparts int;
	key_names text[];
	defined text[];
	pk text;
	sk text;
	pk_type text;
	sk_type text;
	coltype text;
	ddl text;
	opclass text;
	entry partkv.tables;
	a jsonb;
	lsi_type text;
	lsi_expr text;
BEGIN
	IF definition IS NULL OR pg_catalog.jsonb_typeof(definition) <> 'object' THEN
		PERFORM partkv.raise_validation('The CreateTable request must be a JSON object');
	END IF;
	IF tname IS NULL OR pg_catalog.length(tname) < 3 OR pg_catalog.length(tname) > 255 OR tname !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', tname));
	END IF;
	SELECT * INTO r FROM partkv.resolve_table_name(tname, true);
	-- Partition names add "_p<n>" to the table's name; PostgreSQL names
	-- are at most 63 bytes.
	IF pg_catalog.octet_length(r.table_name) > 56 THEN
		PERFORM partkv.raise_validation(pg_catalog.format('TableName %s is too long: partkv table names are limited to 56 bytes (PostgreSQL identifiers are 63 bytes)', r.table_name));
	END IF;

	ks := partkv.check_key_schema(definition->'KeySchema', 'Table');
	pk := ks->0->>'AttributeName';
	sk := ks->1->>'AttributeName';

	IF attrdefs IS NULL OR pg_catalog.jsonb_typeof(attrdefs) <> 'array' THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''attributeDefinitions'' failed to satisfy constraint: Member must not be null');
	END IF;
	FOR a IN SELECT value FROM pg_catalog.jsonb_array_elements(attrdefs) LOOP
		IF pg_catalog.jsonb_typeof(a) <> 'object' OR a->>'AttributeName' IS NULL THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: every AttributeDefinition needs an AttributeName');
		END IF;
		IF a->>'AttributeType' IS NULL OR a->>'AttributeType' NOT IN ('S', 'N', 'B') THEN
			PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', a->>'AttributeType'));
		END IF;
		IF a->>'AttributeName' = ANY (defined) THEN
			PERFORM partkv.raise_validation(pg_catalog.format('Cannot have two attributes with the same name: %s', a->>'AttributeName'));
		END IF;
		defined := defined || (a->>'AttributeName');
	END LOOP;

	lsis := partkv.check_indexes(definition->'LocalSecondaryIndexes', true, ks, '{}');
	gsis := partkv.check_indexes(definition->'GlobalSecondaryIndexes', false, ks,
								 ARRAY(SELECT i->>'IndexName' FROM pg_catalog.jsonb_array_elements(lsis) i));

	-- Every key attribute of the table and its indexes is defined, and
	-- nothing else is.
	key_names := ARRAY(SELECT DISTINCT k->>'AttributeName'
						 FROM (SELECT ks AS s
							   UNION ALL SELECT i->'KeySchema' FROM pg_catalog.jsonb_array_elements(lsis) i
							   UNION ALL SELECT i->'KeySchema' FROM pg_catalog.jsonb_array_elements(gsis) i) x,
							  pg_catalog.jsonb_array_elements(x.s) k
						ORDER BY 1);
	IF EXISTS (SELECT pg_catalog.unnest(key_names) EXCEPT SELECT pg_catalog.unnest(defined)) THEN
		PERFORM partkv.raise_validation(pg_catalog.format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
			pg_catalog.array_to_string(key_names, ', '), pg_catalog.array_to_string(defined, ', ')));
	END IF;
	IF pg_catalog.cardinality(defined) <> pg_catalog.cardinality(key_names) THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions');
	END IF;
	IF pk = 'item' OR sk = 'item' THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: "item" cannot be a table key attribute in partkv: it is the name of the column holding the whole item');
	END IF;
	IF pg_catalog.octet_length(pk) > 63 OR pg_catalog.octet_length(sk) > 63 THEN
		PERFORM partkv.raise_validation('One or more parameter values were invalid: partkv table key attribute names are limited to 63 bytes (they name PostgreSQL columns)');
	END IF;

	IF stream IS NOT NULL AND pg_catalog.jsonb_typeof(stream) <> 'null' THEN
		IF pg_catalog.jsonb_typeof(stream) <> 'object' OR pg_catalog.jsonb_typeof(stream->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		IF (stream->>'StreamEnabled')::boolean THEN
			IF stream->>'StreamViewType' IS NULL OR stream->>'StreamViewType' NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			stream := pg_catalog.jsonb_build_object('StreamEnabled', true, 'StreamViewType', stream->>'StreamViewType');
		ELSE
			IF stream ? 'StreamViewType' THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			stream := NULL;
		END IF;
	ELSE
		stream := NULL;
	END IF;

	IF definition ? 'Partitions' THEN
		IF pg_catalog.jsonb_typeof(definition->'Partitions') <> 'number'
		   OR (definition->>'Partitions')::numeric <> pg_catalog.trunc((definition->>'Partitions')::numeric)
		   OR (definition->>'Partitions')::numeric NOT BETWEEN 1 AND 1024 THEN
			PERFORM partkv.raise_validation(pg_catalog.format('Partitions must be an integer between 1 and 1024, not %s', definition->'Partitions'));
		END IF;
		nparts := (definition->>'Partitions')::int;
	ELSE
		nparts := 8;
	END IF;

	IF EXISTS (SELECT 1 FROM partkv.tables WHERE schema_name = r.schema_name AND table_name = r.table_name) THEN
		RAISE EXCEPTION 'Table already exists: %', tname USING ERRCODE = 'duplicate_table';
	END IF;

	SELECT x->>'AttributeType' INTO pk_type FROM pg_catalog.jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = pk;
	SELECT x->>'AttributeType' INTO sk_type FROM pg_catalog.jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = sk;

	ddl := pg_catalog.format('CREATE TABLE %I.%I (%I %s NOT NULL', r.schema_name, r.table_name, pk,
				  partkv.key_column_type(pk_type));
	IF sk IS NOT NULL THEN
		ddl := ddl || pg_catalog.format(', %I %s NOT NULL', sk, partkv.key_column_type(sk_type));
	END IF;
	opclass := CASE pk_type WHEN 'S' THEN 'partkv.xxhash_text_ops'
							WHEN 'N' THEN 'partkv.xxhash_numeric_ops'
							ELSE 'partkv.xxhash_bytea_ops' END;
	ddl := ddl || pg_catalog.format(', item jsonb NOT NULL, PRIMARY KEY (%s)) PARTITION BY HASH (%I %s)',
						 CASE WHEN sk IS NULL THEN pg_catalog.quote_ident(pk)
							  ELSE pg_catalog.quote_ident(pk) || ', ' || pg_catalog.quote_ident(sk) END,
						 pk, opclass);
	EXECUTE ddl;
	FOR i IN 0 .. nparts - 1 LOOP
		EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s) USING partkv',
					   r.schema_name, r.table_name || '_p' || i, r.schema_name, r.table_name, nparts, i);
	END LOOP;
	-- Local secondary indexes (src/index/lsi.c): B-tree (pk, LSI key, sk)
	-- over the items that have the LSI key, named <table>_lsi<n>; the table
	-- sort key makes their order total (LastEvaluatedKey resumes after it).
	FOR i IN 0 .. pg_catalog.jsonb_array_length(lsis) - 1 LOOP
		a := lsis->i->'KeySchema'->1;
		SELECT x->>'AttributeType' INTO lsi_type FROM pg_catalog.jsonb_array_elements(attrdefs) x
		 WHERE x->>'AttributeName' = a->>'AttributeName';
		lsi_expr := partkv.lsi_key_expression(a->>'AttributeName', lsi_type);
		EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I (%I, (%s)%s, %I) WHERE %s IS NOT NULL',
					   r.table_name || '_lsi' || i, r.schema_name, r.table_name, pk, lsi_expr,
					   CASE WHEN lsi_type = 'S' THEN ' COLLATE "C"' ELSE '' END, sk, lsi_expr);
	END LOOP;
	EXECUTE pg_catalog.format('COMMENT ON TABLE %I.%I IS %L', r.schema_name, r.table_name,
				   'partkv table: use the partkv.* functions, or SQL on the item column');

	entry := ROW(r.schema_name, r.table_name, pk, pk_type, sk, sk_type, nparts,
				 (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('AttributeName', x->>'AttributeName',
													  'AttributeType', x->>'AttributeType')
								   ORDER BY x->>'AttributeName')
					FROM pg_catalog.jsonb_array_elements(attrdefs) x),
				 lsis, gsis, stream, pg_catalog.gen_random_uuid(), pg_catalog.now());
	PERFORM partkv.catalog_write('register_table', pg_catalog.jsonb_build_object('row', pg_catalog.to_jsonb(entry)));
	PERFORM partkv.invalidate_table_cache(pg_catalog.format('%I.%I', r.schema_name, r.table_name)::regclass);
	RETURN partkv.table_description(entry, 'ACTIVE');
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.create_table(table_name text, partition_key text, partition_key_type text DEFAULT 'S'::text, sort_key text DEFAULT NULL::text, sort_key_type text DEFAULT 'S'::text, partitions integer DEFAULT 8, local_indexes jsonb DEFAULT NULL::jsonb, global_indexes jsonb DEFAULT NULL::jsonb, stream_view_type text DEFAULT NULL::text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	attrs jsonb := '{}';
	ks jsonb;
	body jsonb;
	idx jsonb;
	k jsonb;
BEGIN
	IF partition_key IS NULL THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''keySchema'' failed to satisfy constraint: Member must not be null');
	END IF;
	ks := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', partition_key, 'KeyType', 'HASH'));
	attrs := pg_catalog.jsonb_build_object(partition_key, partition_key_type);
	IF sort_key IS NOT NULL THEN
		ks := ks || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', sort_key, 'KeyType', 'RANGE'));
		IF attrs ? sort_key AND attrs->>sort_key IS DISTINCT FROM sort_key_type THEN
			PERFORM partkv.raise_validation(pg_catalog.format('Cannot have two attributes with the same name: %s', sort_key));
		END IF;
		attrs := attrs || pg_catalog.jsonb_build_object(sort_key, sort_key_type);
	END IF;
	-- Index key attributes need definitions too: they come from the index's
	-- KeySchema with an "AttributeType" member (partkv's shorthand), or default to S.
	FOR idx IN SELECT value FROM pg_catalog.jsonb_array_elements(coalesce(local_indexes, '[]') || coalesce(global_indexes, '[]')) LOOP
		FOR k IN SELECT value FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(idx->'KeySchema') = 'array' THEN idx->'KeySchema' ELSE '[]' END) LOOP
			IF k->>'AttributeName' IS NOT NULL THEN
				IF attrs ? (k->>'AttributeName') AND k ? 'AttributeType'
				   AND attrs->>(k->>'AttributeName') IS DISTINCT FROM k->>'AttributeType' THEN
					PERFORM partkv.raise_validation(pg_catalog.format('Cannot have two attributes with the same name: %s', k->>'AttributeName'));
				END IF;
				IF NOT attrs ? (k->>'AttributeName') THEN
					attrs := attrs || pg_catalog.jsonb_build_object(k->>'AttributeName', coalesce(k->>'AttributeType', 'S'));
				END IF;
			END IF;
		END LOOP;
	END LOOP;
	body := pg_catalog.jsonb_build_object(
		'TableName', table_name,
		'KeySchema', ks,
		'AttributeDefinitions', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('AttributeName', key, 'AttributeType', value))
								   FROM pg_catalog.jsonb_each_text(attrs)),
		'Partitions', partitions);
	IF local_indexes IS NOT NULL THEN
		body := body || pg_catalog.jsonb_build_object('LocalSecondaryIndexes', local_indexes);
	END IF;
	IF global_indexes IS NOT NULL THEN
		body := body || pg_catalog.jsonb_build_object('GlobalSecondaryIndexes', global_indexes);
	END IF;
	IF stream_view_type IS NOT NULL THEN
		body := body || pg_catalog.jsonb_build_object('StreamSpecification',
			pg_catalog.jsonb_build_object('StreamEnabled', true, 'StreamViewType', stream_view_type));
	END IF;
	RETURN partkv.create_table(body);
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.delete_table(table_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	d jsonb := partkv.table_description(t, 'DELETING');
BEGIN
	-- as in DynamoDB, a table cannot be deleted while one of its GSIs is backfilled
	IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g
				WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
				  AND g.status = 'CREATING') THEN
		RAISE EXCEPTION 'Attempt to change a resource which is still in use: Table is being updated: %', t.table_name
			USING ERRCODE = 'duplicate_table';
	END IF;
	PERFORM partkv.catalog_write('unregister_table', pg_catalog.jsonb_build_object('schema_name', t.schema_name,
																		'table_name', t.table_name));
	EXECUTE pg_catalog.format('DROP TABLE %I.%I', t.schema_name, t.table_name);
	RETURN d;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.describe_stream(table_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	s partkv.streams;
	start_seq text;
	is_open boolean;
	shards jsonb;
	keys jsonb;
	gaps jsonb;
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
	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('ShardId', x.shard_id,
			'SequenceNumberRange',
			pg_catalog.jsonb_build_object('StartingSequenceNumber', coalesce(x.first, start_seq)) ||
			CASE WHEN is_open THEN '{}'::jsonb
				 ELSE pg_catalog.jsonb_build_object('EndingSequenceNumber', coalesce(x.last, start_seq)) END)
			ORDER BY x.shard_id)
	  INTO shards
	  FROM (SELECT sh.shard_id,
				   (SELECT c.first_sequence_number FROM partkv.stream_chunks c
					 WHERE c.stream_id = s.stream_id AND c.shard_id = sh.shard_id
					 ORDER BY c.last_sequence_number LIMIT 1) AS first,
				   (SELECT pg_catalog.max(c.last_sequence_number) FROM partkv.stream_chunks c
					 WHERE c.stream_id = s.stream_id AND c.shard_id = sh.shard_id) AS last
			  FROM (SELECT partkv.stream_shard_id(i.inhrelid::regclass) AS shard_id
					  FROM pg_catalog.pg_inherits i
					 WHERE i.inhparent = pg_catalog.format('%I.%I', t.schema_name, t.table_name)::regclass) sh) x;
	keys := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'));
	IF t.sort_key IS NOT NULL THEN
		keys := keys || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE'));
	END IF;
	-- partkv's own member: the gaps of every shard (lost replication slots)
	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			'SequenceNumberRange', pg_catalog.jsonb_build_object('StartingSequenceNumber', g.from_sequence_number,
													  'EndingSequenceNumber', g.to_sequence_number),
			'Reason', 'REPLICATION_SLOT_INVALIDATED',
			'DetectedDateTime', extract(epoch FROM g.detected_at)) ORDER BY g.to_lsn)
	  INTO gaps
	  FROM partkv.stream_gaps(s) g;
	IF is_open THEN
		not_served := partkv.serving_member('stream');
	END IF;
	RETURN pg_catalog.jsonb_build_object(
		'StreamArn', partkv.stream_arn(s),
		'StreamLabel', s.label,
		'StreamStatus', CASE WHEN is_open THEN 'ENABLED' ELSE 'DISABLED' END,
		'StreamViewType', s.view_type,
		'CreationRequestDateTime', extract(epoch FROM s.created_at),
		'TableName', t.table_name,
		'KeySchema', keys,
		'Shards', coalesce(shards, '[]'))
		|| CASE WHEN gaps IS NULL THEN '{}'::jsonb ELSE pg_catalog.jsonb_build_object('StreamGaps', gaps) END
		|| CASE WHEN not_served IS NULL THEN '{}'::jsonb
				ELSE pg_catalog.jsonb_build_object('partkv', not_served) END;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.describe_table(table_name text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
	SELECT partkv.table_description(t, CASE WHEN t.installation_id = partkv.installation_id()
											THEN 'ACTIVE' ELSE 'CREATING' END)
	  FROM partkv.find_table(table_name) t
$function$
;

CREATE OR REPLACE FUNCTION partkv.describe_time_to_live(table_name text)
 RETURNS jsonb
 LANGUAGE sql
 STABLE
AS $function$
	SELECT pg_catalog.jsonb_build_object('TimeToLiveDescription',
							  partkv.ttl_description(partkv.find_table(table_name)))
$function$
;

CREATE OR REPLACE FUNCTION partkv.find_table(name text)
 RETURNS partkv.tables
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
	r record;
	t partkv.tables;
BEGIN
	IF name IS NULL OR pg_catalog.length(name) < 3 OR pg_catalog.length(name) > 255 OR name !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', name));
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
$function$
;

CREATE OR REPLACE FUNCTION partkv.get_shard_iterator(table_name text, shard_id text, iterator_type text, sequence_number text DEFAULT NULL::text)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
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
		PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''shardIteratorType'' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]', iterator_type));
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		IF sequence_number IS NULL THEN
			PERFORM partkv.raise_validation(pg_catalog.format('SequenceNumber is required for ShardIteratorType %s', iterator_type));
		END IF;
		after := partkv.check_sequence_number(sequence_number);
		inclusive := iterator_type = 'AT_SEQUENCE_NUMBER';
	ELSIF sequence_number IS NOT NULL THEN
		PERFORM partkv.raise_validation(pg_catalog.format('SequenceNumber must not be given for ShardIteratorType %s', iterator_type));
	END IF;
	IF shard_id IS NULL OR NOT EXISTS (
			SELECT 1 FROM pg_catalog.pg_inherits i
			 WHERE i.inhparent = pg_catalog.format('%I.%I', t.schema_name, t.table_name)::regclass
			   AND partkv.stream_shard_id(i.inhrelid::regclass) = shard_id)
	   AND NOT EXISTS (SELECT 1 FROM partkv.stream_chunks c
						WHERE c.stream_id = s.stream_id AND c.shard_id = get_shard_iterator.shard_id) THEN
		RAISE EXCEPTION 'Requested resource not found: Shard does not exist: %', shard_id
			USING ERRCODE = 'undefined_object';
	END IF;
	-- records lost in a gap are trimmed: the horizon and the latest
	-- position lie after the last gap
	IF iterator_type IN ('TRIM_HORIZON', 'LATEST') THEN
		SELECT pg_catalog.max(g.to_sequence_number) INTO after FROM partkv.stream_gaps(s) g;
	END IF;
	IF iterator_type = 'LATEST' THEN
		SELECT greatest(pg_catalog.max(c.last_sequence_number), after) INTO after FROM partkv.stream_chunks c
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
$function$
;

CREATE OR REPLACE FUNCTION partkv.list_stream_handlers(table_name text DEFAULT NULL::text)
 RETURNS SETOF jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
	t partkv.tables;
BEGIN
	IF table_name IS NOT NULL THEN
		t := partkv.find_table(table_name);
	END IF;
	RETURN QUERY
		SELECT partkv.stream_handler_description(h)
		  FROM partkv.stream_handlers h
		 WHERE t.table_id IS NULL OR h.table_id = t.table_id
		 ORDER BY h.handler_id;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.list_tables()
 RETURNS SETOF text
 LANGUAGE sql
 STABLE
AS $function$
	-- A table is listed by the name that finds it: unqualified when it is
	-- the first match through search_path, schema-qualified otherwise.
	SELECT CASE WHEN (SELECT r.schema_name FROM partkv.resolve_table_name(t.table_name, false) r) = t.schema_name
				THEN t.table_name
				ELSE t.schema_name || '.' || t.table_name END AS name
	  FROM partkv.tables t
	 ORDER BY 1
$function$
;

CREATE OR REPLACE FUNCTION partkv.remove_stream_handler(table_name text, handler regproc)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	h partkv.stream_handlers;
BEGIN
	SELECT * INTO h FROM partkv.stream_handlers x
	 WHERE x.table_id = t.table_id AND x.handler = remove_stream_handler.handler;
	IF h.handler_id IS NOT NULL THEN
		h := pg_catalog.jsonb_populate_record(NULL::partkv.stream_handlers,
			partkv.catalog_write('remove_handler', pg_catalog.jsonb_build_object('handler_id', h.handler_id)));
	END IF;
	IF h.handler_id IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: stream handler % of table %', handler, t.table_name
			USING ERRCODE = 'undefined_object';
	END IF;
	RETURN partkv.stream_handler_description(h) || '{"State": "Deleted"}';
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.resolve_table_name(name text, for_create boolean, OUT schema_name name, OUT table_name text)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
	dot int := position('.' in name);
	nsp text;
BEGIN
	IF dot > 1 THEN
		nsp := pg_catalog.substr(name, 1, dot - 1);
		IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = nsp) THEN
			schema_name := nsp;
			table_name := pg_catalog.substr(name, dot + 1);
			RETURN;
		END IF;
	END IF;
	table_name := name;
	IF for_create THEN
		schema_name := pg_catalog.current_schema();
		IF schema_name IS NULL THEN
			RAISE EXCEPTION 'no schema has been selected to create in'
				USING ERRCODE = 'invalid_schema_name';
		END IF;
		RETURN;
	END IF;
	SELECT s INTO schema_name
	  FROM pg_catalog.unnest(pg_catalog.current_schemas(false)) WITH ORDINALITY AS p(s, ord)
	  JOIN partkv.tables t ON t.schema_name = p.s AND t.table_name = name
	 ORDER BY ord LIMIT 1;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.stream_records(table_name text, after_sequence_number text DEFAULT NULL::text, item_limit integer DEFAULT 1000)
 RETURNS SETOF jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
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
		SELECT pg_catalog.max(g.to_sequence_number) INTO after FROM partkv.table_stream_gaps(t.table_id) g;
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
$function$
;

CREATE OR REPLACE FUNCTION partkv.update_table(table_name text, changes jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	member text;
	spec jsonb;
	view_type text;
	enabled_now boolean;
	new_spec jsonb;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'object' THEN
		PERFORM partkv.raise_validation('The UpdateTable request must be a JSON object');
	END IF;
	IF NOT (changes ? 'StreamSpecification' OR changes ? 'GlobalSecondaryIndexUpdates'
			OR changes ? 'ProvisionedThroughput' OR changes ? 'BillingMode'
			OR changes ? 'SSESpecification' OR changes ? 'ReplicaUpdates') THEN
		PERFORM partkv.raise_validation('At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
	END IF;
	FOR member IN SELECT pg_catalog.jsonb_object_keys(changes) LOOP
		IF member IN ('StreamSpecification', 'TableName') THEN
			CONTINUE;
		ELSIF member IN ('GlobalSecondaryIndexUpdates', 'AttributeDefinitions') THEN
			-- applied below by partkv.gsi_update_table (src/index/gsi.c)
			CONTINUE;
		ELSIF member IN ('ProvisionedThroughput', 'BillingMode', 'SSESpecification', 'ReplicaUpdates',
						 'TableClass', 'DeletionProtectionEnabled', 'OnDemandThroughput', 'WarmThroughput') THEN
			RAISE EXCEPTION 'partkv does not support % in UpdateTable', member
				USING ERRCODE = 'feature_not_supported';
		ELSE
			PERFORM partkv.raise_validation(pg_catalog.format('Unexpected UpdateTable member: %s', member));
		END IF;
	END LOOP;
	IF NOT partkv.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- GlobalSecondaryIndexUpdates: one Create or Delete (src/index/gsi.c)
	IF changes ? 'GlobalSecondaryIndexUpdates' THEN
		t := partkv.gsi_update_table(t, changes);
	END IF;

	IF changes ? 'StreamSpecification' THEN
		spec := changes->'StreamSpecification';
		IF pg_catalog.jsonb_typeof(spec) IS DISTINCT FROM 'object'
		   OR pg_catalog.jsonb_typeof(spec->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		enabled_now := coalesce((t.stream_specification->>'StreamEnabled')::boolean, false);
		IF (spec->>'StreamEnabled')::boolean THEN
			view_type := spec->>'StreamViewType';
			IF view_type IS NULL OR view_type NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			IF enabled_now THEN
				PERFORM partkv.raise_validation(pg_catalog.format('Table already has an enabled stream: TableName: %s', t.table_name));
			END IF;
			new_spec := pg_catalog.jsonb_build_object('StreamEnabled', true, 'StreamViewType', view_type);
		ELSE
			IF spec ? 'StreamViewType' THEN
				PERFORM partkv.raise_validation('One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			IF NOT enabled_now THEN
				PERFORM partkv.raise_validation(pg_catalog.format('Table does not have an enabled stream to disable: TableName: %s', t.table_name));
			END IF;
			new_spec := NULL;
		END IF;
		-- the trigger on partkv.tables opens or closes the stream and sets
		-- the partitions' replica identity
		PERFORM partkv.catalog_write('update_table',
			pg_catalog.jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'set', pg_catalog.jsonb_build_object('stream_specification', new_spec)));
		t.stream_specification := new_spec;
	END IF;
	RETURN partkv.table_description(t, 'ACTIVE') || partkv.stream_description_fields(t);
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.update_time_to_live(table_name text, attribute_name text, enabled boolean DEFAULT true)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	current_attribute text;
	index_name text := t.table_name || '_ttl';
	expr text;
BEGIN
	IF attribute_name IS NULL OR pg_catalog.length(attribute_name) NOT BETWEEN 1 AND 255 THEN
		PERFORM partkv.raise_validation(pg_catalog.format('1 validation error detected: Value ''%s'' at ''timeToLiveSpecification.attributeName'' failed to satisfy constraint: Member must have length less than or equal to 255 and greater than or equal to 1',
											   coalesce(attribute_name, 'null')));
	END IF;
	IF enabled IS NULL THEN
		PERFORM partkv.raise_validation('1 validation error detected: Value null at ''timeToLiveSpecification.enabled'' failed to satisfy constraint: Member must not be null');
	END IF;
	IF NOT partkv.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	-- one change of a table's TTL at a time (the lock conflicts with itself)
	EXECUTE pg_catalog.format('LOCK TABLE %I.%I IN SHARE ROW EXCLUSIVE MODE', t.schema_name, t.table_name);
	SELECT c.time_to_live INTO t.time_to_live FROM partkv.tables c
	 WHERE c.schema_name = t.schema_name AND c.table_name = t.table_name;
	IF t.time_to_live @> '{"Enabled": true}' THEN
		current_attribute := t.time_to_live->>'AttributeName';
	END IF;

	IF enabled THEN
		IF current_attribute = attribute_name THEN
			PERFORM partkv.raise_validation('TimeToLive is already enabled');
		ELSIF current_attribute IS NOT NULL THEN
			PERFORM partkv.raise_validation(pg_catalog.format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		-- the sweeper's index: items whose attribute is a top-level Number
		expr := partkv.lsi_key_expression(attribute_name, 'N');
		IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE pg_catalog.format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
		EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I ((%s)) WHERE %s IS NOT NULL',
					   index_name, t.schema_name, t.table_name, expr, expr);
	ELSE
		IF current_attribute IS NULL THEN
			PERFORM partkv.raise_validation('TimeToLive is already disabled');
		ELSIF current_attribute <> attribute_name THEN
			PERFORM partkv.raise_validation(pg_catalog.format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE pg_catalog.format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
	END IF;

	t.time_to_live := pg_catalog.jsonb_build_object('AttributeName', attribute_name, 'Enabled', enabled);
	PERFORM partkv.catalog_write('update_table',
		pg_catalog.jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
						   'set', pg_catalog.jsonb_build_object('time_to_live', t.time_to_live)));
	RETURN pg_catalog.jsonb_build_object('TimeToLiveSpecification', t.time_to_live);
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.verify_index(table_name text, index_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	g partkv.gsi_indexes;
	gsi jsonb;
	s record;
	bk text;
	res jsonb;
BEGIN
	SELECT i INTO gsi FROM pg_catalog.jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = verify_index.index_name;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
	   AND x.index_name = verify_index.index_name;
	IF gsi IS NULL OR g IS NULL THEN
		RAISE EXCEPTION 'Requested resource not found: Index: % not found', index_name
			USING ERRCODE = 'undefined_object';
	END IF;
	s := partkv.gsi_shape(t, gsi, 'b.item');
	bk := pg_catalog.format('b.%I', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', b.%I', t.sort_key) END;
	EXECUTE pg_catalog.format(
		'WITH want AS (SELECT * FROM (SELECT %1$s AS gpk, %2$s AS gsk, %3$s, %4$s AS item FROM %5$I.%6$I b) x '
		'               WHERE x.gpk IS NOT NULL%7$s), '
		'     have AS (SELECT gpk, gsk, base_pk, base_sk, item, pg_catalog.row_number() OVER (PARTITION BY base_pk, base_sk) AS rn '
		'                FROM (SELECT gsi_pk AS gpk, %8$s AS gsk, base_pk, %9$s AS base_sk, item FROM %10$s) y) '
		'SELECT pg_catalog.jsonb_build_object(''missing'', pg_catalog.count(*) FILTER (WHERE h.base_pk IS NULL), '
		'                          ''extra'', pg_catalog.count(*) FILTER (WHERE w.base_pk IS NULL) '
		'                                   + (SELECT pg_catalog.count(*) FROM have WHERE rn > 1), '
		'                          ''stale'', pg_catalog.count(*) FILTER (WHERE w.base_pk IS NOT NULL AND h.base_pk IS NOT NULL '
		'                                   AND (w.gpk IS DISTINCT FROM h.gpk OR w.gsk IS DISTINCT FROM h.gsk '
		'                                        OR w.item IS DISTINCT FROM h.item)), '
		'                          ''checked'', pg_catalog.count(*) FILTER (WHERE w.base_pk IS NOT NULL)) '
		'  FROM want w FULL JOIN (SELECT * FROM have WHERE rn = 1) h '
		'    ON h.base_pk = w.base_pk AND h.base_sk IS NOT DISTINCT FROM w.base_sk',
		partkv.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN 'NULL::text' ELSE partkv.gsi_key_expression('b.item', s.gsk, s.gsk_type) END,
		pg_catalog.format('b.%I AS base_pk, %s AS base_sk', t.partition_key,
			   CASE WHEN t.sort_key IS NULL THEN 'NULL::text' ELSE pg_catalog.format('b.%I', t.sort_key) END),
		s.projection, t.schema_name, t.table_name,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN s.gsk IS NULL THEN 'NULL::text' ELSE 'gsi_sk' END,
		CASE WHEN t.sort_key IS NULL THEN 'NULL::text' ELSE 'base_sk' END,
		pg_catalog.format('%I.%I', g.schema_name, g.storage_name)) INTO res;
	RETURN res;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.wait_for_index(table_name text, index_name text, timeout interval DEFAULT '00:00:30'::interval)
 RETURNS boolean
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv.find_table(table_name);
	deadline timestamptz := pg_catalog.clock_timestamp() + timeout;
	st text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = wait_for_index.index_name) THEN
		RAISE EXCEPTION 'Requested resource not found: Index: % not found', index_name
			USING ERRCODE = 'undefined_object';
	END IF;
	LOOP
		PERFORM partkv.check_served('gsi', t.table_name, wait_for_index.index_name);
		IF NOT partkv.stream_wait(greatest(deadline - pg_catalog.clock_timestamp(), interval '0')) THEN
			RETURN false;
		END IF;
		SELECT g.status INTO st FROM partkv.gsi_indexes g
		 WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
		   AND g.index_name = wait_for_index.index_name;
		IF st = 'ACTIVE' THEN
			RETURN true;
		END IF;
		IF pg_catalog.clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_catalog.pg_sleep(0.02);
	END LOOP;
END;
$function$
;


-------------------------------------------------------------------------------
-- error module (issue 16)
--
-- A partkv error is a PostgreSQL error whose SQLSTATE names the DynamoDB
-- exception (DESIGN §2.1).  A wire endpoint turns it back into DynamoDB's
-- error body with this table, kept in src/common/errors.c.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.error_type(sqlstate text, OUT type_name text,
								  OUT wire_type text, OUT http_status integer)
AS 'MODULE_PATHNAME', 'partkv_error_type'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION partkv.error_type(text) IS
'the DynamoDB error a SQLSTATE stands for: its name, its wire __type ("<namespace>#<name>") and HTTP status; NULL for any other SQLSTATE';

-- ---------------------------------------------------------------------
-- The DynamoDB wire protocol (issue 17): partkv.dynamodb(operation,
-- request) takes a wire request body (typed AttributeValues) and returns
-- the wire response body, through the same C code and SQL functions as
-- the partkv.* API; an error's DETAIL is the wire error body
-- (src/wire/).  It runs as the caller: every privilege check applies.
-- ---------------------------------------------------------------------
CREATE FUNCTION partkv.dynamodb(operation text, request jsonb)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'partkv_dynamodb'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.dynamodb(text, jsonb) IS
'DynamoDB''s JSON protocol: operation is the X-Amz-Target action (prefix DynamoDB_20120810. or DynamoDBStreams_20120810. optional), request and result are wire bodies with typed AttributeValues; errors carry the wire error body {"__type", "message", ...} in DETAIL';
GRANT EXECUTE ON FUNCTION partkv.dynamodb(text, jsonb) TO PUBLIC;



-------------------------------------------------------------------------------
-- access keys for partkv-server (issue 17)
--
-- partkv-server verifies AWS Signature Version 4 with these keys and runs
-- each request as the key's role.  The secrets are readable by the
-- extension's owner only: no privilege on the table goes to PUBLIC; the
-- functions below check the caller (as pg_has_role(..., 'MEMBER') does)
-- and then read or write the table as its owner.
-------------------------------------------------------------------------------

CREATE TABLE partkv.access_keys (
	access_key_id text PRIMARY KEY,
	secret_access_key text NOT NULL,
	-- an OID, not a name: a later role of the same name gets no old keys
	role_oid oid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by name NOT NULL
);
REVOKE ALL ON partkv.access_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('partkv.access_keys', '');

CREATE FUNCTION partkv.create_access_key(role_name name,
										 OUT access_key_id text, OUT secret_access_key text)
RETURNS record
AS 'MODULE_PATHNAME', 'partkv_create_access_key'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION partkv.create_access_key(name) IS
'a new access key (AKIA... id, 40-character secret) for partkv-server, mapped to role_name, which the caller must be able to act as; the secret is shown only now';

CREATE FUNCTION partkv.revoke_access_key(access_key_id text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'partkv_revoke_access_key'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION partkv.revoke_access_key(text) IS
'deletes an access key of a role the caller can act as; partkv-server stops accepting it within its key cache time (5 seconds by default)';

CREATE FUNCTION partkv.list_access_keys()
RETURNS TABLE (access_key_id text, role_name name, created_at timestamptz, created_by name)
AS 'MODULE_PATHNAME', 'partkv_list_access_keys'
LANGUAGE C STRICT VOLATILE ROWS 10;
COMMENT ON FUNCTION partkv.list_access_keys() IS
'the access keys of the roles the caller can act as, without their secrets';

-- What partkv-server asks for each key it does not have cached.  Only the
-- server's login role may call it: GRANT EXECUTE ON FUNCTION
-- partkv.access_key_lookup(text) TO <login role>.
CREATE FUNCTION partkv.access_key_lookup(access_key_id text)
RETURNS TABLE (role_name name, secret_access_key text)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
	SELECT r.rolname, k.secret_access_key
	  FROM partkv.access_keys k JOIN pg_catalog.pg_roles r ON r.oid = k.role_oid
	 WHERE k.access_key_id = $1
$function$;
REVOKE ALL ON FUNCTION partkv.access_key_lookup(text) FROM PUBLIC;
COMMENT ON FUNCTION partkv.access_key_lookup(text) IS
'internal: the role and secret of an access key, for partkv-server''s SigV4 check (EXECUTE only for the server''s login role, granted by the administrator)';



-------------------------------------------------------------------------------
-- internal schema (issue 16)
--
-- The API schema partkv shows what users call and read: the functions of
-- DESIGN §2 and the documented helpers, the views, and the catalogs a DBA
-- reads (tables, streams, stream_handlers, dead_letters, gsi_indexes,
-- lost_slots).  Everything the API is built from moves to partkv_internal,
-- an extension member: SET SCHEMA keeps each object's OID, grants, comments
-- and dependencies (views, triggers, defaults and index expressions refer to
-- objects by OID and follow).  PUBLIC may look up names in the schema, as the
-- API's functions run as the caller; EXECUTE and table rights stay as the
-- security work set them.
-------------------------------------------------------------------------------

-- The adoption of restored tables runs after each DDL command; until the
-- end of this section it would call functions half moved.
ALTER EVENT TRIGGER partkv_adopt_restored DISABLE;

CREATE SCHEMA partkv_internal;
GRANT USAGE ON SCHEMA partkv_internal TO PUBLIC;
COMMENT ON SCHEMA partkv_internal IS
'partkv''s internals: helper functions, support functions, request tokens, the stream''s chunks; not an API';

ALTER OPERATOR FAMILY partkv.xxhash_text_ops USING hash SET SCHEMA partkv_internal;
ALTER OPERATOR FAMILY partkv.xxhash_numeric_ops USING hash SET SCHEMA partkv_internal;
ALTER OPERATOR FAMILY partkv.xxhash_bytea_ops USING hash SET SCHEMA partkv_internal;
ALTER OPERATOR CLASS partkv.xxhash_text_ops USING hash SET SCHEMA partkv_internal;
ALTER OPERATOR CLASS partkv.xxhash_numeric_ops USING hash SET SCHEMA partkv_internal;
ALTER OPERATOR CLASS partkv.xxhash_bytea_ops USING hash SET SCHEMA partkv_internal;

ALTER TABLE partkv.client_request_tokens SET SCHEMA partkv_internal;
ALTER TABLE partkv.installation SET SCHEMA partkv_internal;
ALTER TABLE partkv.stream_partitions SET SCHEMA partkv_internal;
ALTER TABLE partkv.stream_chunks SET SCHEMA partkv_internal;

-- The chunks' partitions are no extension members (pg_dump dumps them) but
-- live beside their parent.
DO $$
DECLARE
	p regclass;
BEGIN
	FOR p IN SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i
			  WHERE i.inhparent = 'partkv_internal.stream_chunks'::pg_catalog.regclass
	LOOP
		EXECUTE pg_catalog.format('ALTER TABLE %s SET SCHEMA partkv_internal', p);
	END LOOP;
END;
$$;

ALTER FUNCTION partkv.adopt_restored_tables_copy() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.adopt_restored_tables_ddl() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.adopt_table(name,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.apply_stream_replica_identity(name,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.catalog_write(text,jsonb) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_handler_served() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_indexes(jsonb,boolean,jsonb,text[]) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_key_schema(jsonb,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_not_trimmed(partkv.streams,text,boolean) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_sequence_number(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_served(text,text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_stream_read(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.check_tables_served() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.claim_request_token(text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.decode_shard_iterator(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.drop_kv_tables() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.drop_table_leftovers(name,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.encode_shard_iterator(bigint,text,text,boolean) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.execute_as_owner(regclass,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.find_table(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.forget_dropped_table(name,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_backfill_step(name,text,text,integer) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_base_hash_expression(partkv.tables,text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_create_storage(partkv.tables,jsonb,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_description_fields(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_ensure(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_estimate_items(regclass) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_key_expression(text,text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_note_activation() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_project(jsonb,text[]) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_rebuild(name,text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_replica_identity() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_shape(partkv.tables,jsonb,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_storage_name(text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_sync() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.gsi_update_table(partkv.tables,jsonb) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.guard_ddl() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.installation_claim() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.installation_id() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.invalidate_table_cache(oid) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.key_column_type(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.latest_stream(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.lsi_key_expression(text,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.lsn_sequence_number(pg_lsn) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.owns_table(name,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.partkv_tam_handler(internal) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.query_items(text,text,jsonb,jsonb,text,text,text,boolean,integer,jsonb,boolean) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.raise_sequence_offset(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.raise_stream_gap(text,text,timestamp with time zone) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.raise_validation(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.read_support(internal) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.readable_streams() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.record_request_token(text,jsonb) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.resolve_table_name(text,boolean) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.restore_loaded(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.scan_items(text,text,jsonb,jsonb,text,text,integer,integer,integer,jsonb) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.sequence_number_lsn(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.serving(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.serving_description_fields(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.serving_member(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.serving_states() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stats_counters() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_arn(partkv.streams) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_channel(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_description_fields(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_ensure_partition(timestamp with time zone,interval) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_gaps(partkv.streams) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_handler_description(partkv.stream_handlers) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_handler_pass_gap(bigint) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_index_partition(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_invalidate(regclass) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_maintain(interval,interval) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_partitions_sync() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_records_after(uuid,text,integer) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_shard_id(regclass) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_specification_changed() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.stream_sync(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.table_description(partkv.tables,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.table_relation(name,text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.table_serving(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.table_stream_gaps(uuid) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.tables_stamp() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.ttl_description(partkv.tables) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.worker_progress() SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.xxhash_bytea(bytea) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.xxhash_bytea_extended(bytea,bigint) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.xxhash_numeric(numeric) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.xxhash_numeric_extended(numeric,bigint) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.xxhash_text(text) SET SCHEMA partkv_internal;
ALTER FUNCTION partkv.xxhash_text_extended(text,bigint) SET SCHEMA partkv_internal;


-- The SQL and PL/pgSQL bodies name what moved by its old schema: each one
-- that does is defined again with the new names (its text as the catalog
-- holds it, names rewritten), as are the comments that name them.
DO $$
DECLARE
	moved CONSTANT text := 'partkv\.(adopt_restored_tables_copy|adopt_restored_tables_ddl|adopt_table|apply_stream_replica_identity|catalog_write|check_handler_served|check_indexes|check_key_schema|check_not_trimmed|check_sequence_number|check_served|check_stream_read|check_tables_served|claim_request_token|client_request_tokens|decode_shard_iterator|drop_kv_tables|drop_table_leftovers|encode_shard_iterator|execute_as_owner|find_table|forget_dropped_table|gsi_backfill_step|gsi_base_hash_expression|gsi_create_storage|gsi_description_fields|gsi_ensure|gsi_estimate_items|gsi_key_expression|gsi_note_activation|gsi_project|gsi_rebuild|gsi_replica_identity|gsi_shape|gsi_storage_name|gsi_sync|gsi_update_table|guard_ddl|installation|installation_claim|installation_id|invalidate_table_cache|key_column_type|latest_stream|lsi_key_expression|lsn_sequence_number|owns_table|partkv_tam_handler|query_items|raise_sequence_offset|raise_stream_gap|raise_validation|read_support|readable_streams|record_request_token|resolve_table_name|restore_loaded|scan_items|sequence_number_lsn|serving|serving_description_fields|serving_member|serving_states|stats_counters|stream_arn|stream_channel|stream_chunks|stream_description_fields|stream_ensure_partition|stream_gaps|stream_handler_description|stream_handler_pass_gap|stream_index_partition|stream_invalidate|stream_maintain|stream_partitions|stream_partitions_sync|stream_records_after|stream_shard_id|stream_specification_changed|stream_sync|table_description|table_relation|table_serving|table_stream_gaps|tables_stamp|ttl_description|worker_progress|xxhash_bytea|xxhash_bytea_extended|xxhash_bytea_ops|xxhash_numeric|xxhash_numeric_extended|xxhash_numeric_ops|xxhash_text|xxhash_text_extended|xxhash_text_ops)\M';
	f record;
	def text;
	fixed text;
BEGIN
	FOR f IN SELECT p.oid, p.prolang, pg_catalog.obj_description(p.oid, 'pg_proc') AS note
			   FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
			  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
				AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
				AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'partkv')
				AND d.deptype = 'e'
			  ORDER BY p.oid
	LOOP
		IF f.prolang <> (SELECT l.oid FROM pg_catalog.pg_language l WHERE l.lanname = 'c') THEN
			def := pg_catalog.pg_get_functiondef(f.oid);
			fixed := pg_catalog.regexp_replace(def, moved, 'partkv_internal.\1', 'g');
			-- names that format() completes: the stream's partitions, GSI
			-- storage's hash functions
			fixed := pg_catalog.replace(fixed, 'partkv.%I', 'partkv_internal.%I');
			fixed := pg_catalog.replace(fixed, 'partkv.xxhash_%s', 'partkv_internal.xxhash_%s');
			fixed := pg_catalog.replace(fixed, '''partkv''::regnamespace', '''partkv_internal''::regnamespace');
			IF fixed <> def THEN
				EXECUTE fixed;
			END IF;
		END IF;
		IF f.note ~ moved THEN
			EXECUTE pg_catalog.format('COMMENT ON FUNCTION %s IS %L', f.oid::pg_catalog.regprocedure,
									  pg_catalog.regexp_replace(f.note, moved, 'partkv_internal.\1', 'g'));
		END IF;
	END LOOP;
END;
$$;

ALTER EVENT TRIGGER partkv_adopt_restored ENABLE;


-------------------------------------------------------------------------------
-- one way to raise a DynamoDB error (issue 16)
--
-- The SQL functions raise DynamoDB's errors through the error module
-- (src/common/errors.c), as the C code does: the module's table gives each
-- error its SQLSTATE.  partkv.raise_validation, a second way, is gone.
-------------------------------------------------------------------------------

ALTER EVENT TRIGGER partkv_adopt_restored DISABLE;

CREATE FUNCTION partkv_internal.raise_error(error_type text, message text, detail text DEFAULT NULL,
											hint text DEFAULT NULL, sqlstate text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'partkv_raise_error'
LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION partkv_internal.raise_error(text, text, text, text, text) IS
'internal: raise DynamoDB error error_type (e.g. ValidationException) with the SQLSTATE the error module gives it, or sqlstate when the type has several';

DO $$
DECLARE
	f record;
	def text;
	fixed text;
BEGIN
	FOR f IN SELECT p.oid
			   FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
			  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
				AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
				AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'partkv')
				AND d.deptype = 'e'
				AND p.prosrc LIKE '%partkv_internal.raise_validation(%'
				AND p.proname <> 'raise_validation'
			  ORDER BY p.oid
	LOOP
		def := pg_catalog.pg_get_functiondef(f.oid);
		fixed := pg_catalog.replace(def, 'partkv_internal.raise_validation(',
									'partkv_internal.raise_error(''ValidationException'', ');
		EXECUTE fixed;
	END LOOP;
END;
$$;

DROP FUNCTION partkv_internal.raise_validation(text);

-- The functions that raised a DynamoDB error with RAISE ... USING ERRCODE, now
-- raising it through the module (their final bodies).
CREATE OR REPLACE FUNCTION partkv_internal.find_table(name text)
 RETURNS partkv.tables
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
	r record;
	t partkv.tables;
BEGIN
	IF name IS NULL OR pg_catalog.length(name) < 3 OR pg_catalog.length(name) > 255 OR name !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', name));
	END IF;
	SELECT * INTO r FROM partkv_internal.resolve_table_name(name, false);
	SELECT * INTO t FROM partkv.tables
	 WHERE schema_name = r.schema_name AND table_name = r.table_name;
	IF NOT FOUND OR partkv_internal.table_relation(t.schema_name, t.table_name) IS NULL THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Table: %s not found', name));
	END IF;
	RETURN t;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.create_table(definition jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	r record;
	tname text := definition->>'TableName';
	ks jsonb;
	attrdefs jsonb := definition->'AttributeDefinitions';
	lsis jsonb;
	gsis jsonb;
	stream jsonb := definition->'StreamSpecification';
	nparts int;
	key_names text[];
	defined text[];
	pk text;
	sk text;
	pk_type text;
	sk_type text;
	coltype text;
	ddl text;
	opclass text;
	entry partkv.tables;
	a jsonb;
	lsi_type text;
	lsi_expr text;
BEGIN
	IF definition IS NULL OR pg_catalog.jsonb_typeof(definition) <> 'object' THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'The CreateTable request must be a JSON object');
	END IF;
	IF tname IS NULL OR pg_catalog.length(tname) < 3 OR pg_catalog.length(tname) > 255 OR tname !~ '^[a-zA-Z0-9_.-]+$' THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('1 validation error detected: Value ''%s'' at ''tableName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', tname));
	END IF;
	SELECT * INTO r FROM partkv_internal.resolve_table_name(tname, true);
	-- Partition names add "_p<n>" to the table's name; PostgreSQL names
	-- are at most 63 bytes.
	IF pg_catalog.octet_length(r.table_name) > 56 THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('TableName %s is too long: partkv table names are limited to 56 bytes (PostgreSQL identifiers are 63 bytes)', r.table_name));
	END IF;

	ks := partkv_internal.check_key_schema(definition->'KeySchema', 'Table');
	pk := ks->0->>'AttributeName';
	sk := ks->1->>'AttributeName';

	IF attrdefs IS NULL OR pg_catalog.jsonb_typeof(attrdefs) <> 'array' THEN
		PERFORM partkv_internal.raise_error('ValidationException', '1 validation error detected: Value null at ''attributeDefinitions'' failed to satisfy constraint: Member must not be null');
	END IF;
	FOR a IN SELECT value FROM pg_catalog.jsonb_array_elements(attrdefs) LOOP
		IF pg_catalog.jsonb_typeof(a) <> 'object' OR a->>'AttributeName' IS NULL THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: every AttributeDefinition needs an AttributeName');
		END IF;
		IF a->>'AttributeType' IS NULL OR a->>'AttributeType' NOT IN ('S', 'N', 'B') THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', a->>'AttributeType'));
		END IF;
		IF a->>'AttributeName' = ANY (defined) THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Cannot have two attributes with the same name: %s', a->>'AttributeName'));
		END IF;
		defined := defined || (a->>'AttributeName');
	END LOOP;

	lsis := partkv_internal.check_indexes(definition->'LocalSecondaryIndexes', true, ks, '{}');
	gsis := partkv_internal.check_indexes(definition->'GlobalSecondaryIndexes', false, ks,
								 ARRAY(SELECT i->>'IndexName' FROM pg_catalog.jsonb_array_elements(lsis) i));

	-- Every key attribute of the table and its indexes is defined, and
	-- nothing else is.
	key_names := ARRAY(SELECT DISTINCT k->>'AttributeName'
						 FROM (SELECT ks AS s
							   UNION ALL SELECT i->'KeySchema' FROM pg_catalog.jsonb_array_elements(lsis) i
							   UNION ALL SELECT i->'KeySchema' FROM pg_catalog.jsonb_array_elements(gsis) i) x,
							  pg_catalog.jsonb_array_elements(x.s) k
						ORDER BY 1);
	IF EXISTS (SELECT pg_catalog.unnest(key_names) EXCEPT SELECT pg_catalog.unnest(defined)) THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
			pg_catalog.array_to_string(key_names, ', '), pg_catalog.array_to_string(defined, ', ')));
	END IF;
	IF pg_catalog.cardinality(defined) <> pg_catalog.cardinality(key_names) THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions');
	END IF;
	IF pk = 'item' OR sk = 'item' THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: "item" cannot be a table key attribute in partkv: it is the name of the column holding the whole item');
	END IF;
	IF pg_catalog.octet_length(pk) > 63 OR pg_catalog.octet_length(sk) > 63 THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: partkv table key attribute names are limited to 63 bytes (they name PostgreSQL columns)');
	END IF;

	IF stream IS NOT NULL AND pg_catalog.jsonb_typeof(stream) <> 'null' THEN
		IF pg_catalog.jsonb_typeof(stream) <> 'object' OR pg_catalog.jsonb_typeof(stream->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		IF (stream->>'StreamEnabled')::boolean THEN
			IF stream->>'StreamViewType' IS NULL OR stream->>'StreamViewType' NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			stream := pg_catalog.jsonb_build_object('StreamEnabled', true, 'StreamViewType', stream->>'StreamViewType');
		ELSE
			IF stream ? 'StreamViewType' THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			stream := NULL;
		END IF;
	ELSE
		stream := NULL;
	END IF;

	IF definition ? 'Partitions' THEN
		IF pg_catalog.jsonb_typeof(definition->'Partitions') <> 'number'
		   OR (definition->>'Partitions')::numeric <> pg_catalog.trunc((definition->>'Partitions')::numeric)
		   OR (definition->>'Partitions')::numeric NOT BETWEEN 1 AND 1024 THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Partitions must be an integer between 1 and 1024, not %s', definition->'Partitions'));
		END IF;
		nparts := (definition->>'Partitions')::int;
	ELSE
		nparts := 8;
	END IF;

	IF EXISTS (SELECT 1 FROM partkv.tables WHERE schema_name = r.schema_name AND table_name = r.table_name) THEN
		PERFORM partkv_internal.raise_error('ResourceInUseException', pg_catalog.format('Table already exists: %s', tname));
	END IF;

	SELECT x->>'AttributeType' INTO pk_type FROM pg_catalog.jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = pk;
	SELECT x->>'AttributeType' INTO sk_type FROM pg_catalog.jsonb_array_elements(attrdefs) x WHERE x->>'AttributeName' = sk;

	ddl := pg_catalog.format('CREATE TABLE %I.%I (%I %s NOT NULL', r.schema_name, r.table_name, pk,
				  partkv_internal.key_column_type(pk_type));
	IF sk IS NOT NULL THEN
		ddl := ddl || pg_catalog.format(', %I %s NOT NULL', sk, partkv_internal.key_column_type(sk_type));
	END IF;
	opclass := CASE pk_type WHEN 'S' THEN 'partkv_internal.xxhash_text_ops'
							WHEN 'N' THEN 'partkv_internal.xxhash_numeric_ops'
							ELSE 'partkv_internal.xxhash_bytea_ops' END;
	ddl := ddl || pg_catalog.format(', item jsonb NOT NULL, PRIMARY KEY (%s)) PARTITION BY HASH (%I %s)',
						 CASE WHEN sk IS NULL THEN pg_catalog.quote_ident(pk)
							  ELSE pg_catalog.quote_ident(pk) || ', ' || pg_catalog.quote_ident(sk) END,
						 pk, opclass);
	EXECUTE ddl;
	FOR i IN 0 .. nparts - 1 LOOP
		EXECUTE pg_catalog.format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES WITH (MODULUS %s, REMAINDER %s) USING partkv',
					   r.schema_name, r.table_name || '_p' || i, r.schema_name, r.table_name, nparts, i);
	END LOOP;
	-- Local secondary indexes (src/index/lsi.c): B-tree (pk, LSI key, sk)
	-- over the items that have the LSI key, named <table>_lsi<n>; the table
	-- sort key makes their order total (LastEvaluatedKey resumes after it).
	FOR i IN 0 .. pg_catalog.jsonb_array_length(lsis) - 1 LOOP
		a := lsis->i->'KeySchema'->1;
		SELECT x->>'AttributeType' INTO lsi_type FROM pg_catalog.jsonb_array_elements(attrdefs) x
		 WHERE x->>'AttributeName' = a->>'AttributeName';
		lsi_expr := partkv_internal.lsi_key_expression(a->>'AttributeName', lsi_type);
		EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I (%I, (%s)%s, %I) WHERE %s IS NOT NULL',
					   r.table_name || '_lsi' || i, r.schema_name, r.table_name, pk, lsi_expr,
					   CASE WHEN lsi_type = 'S' THEN ' COLLATE "C"' ELSE '' END, sk, lsi_expr);
	END LOOP;
	EXECUTE pg_catalog.format('COMMENT ON TABLE %I.%I IS %L', r.schema_name, r.table_name,
				   'partkv table: use the partkv.* functions, or SQL on the item column');

	entry := ROW(r.schema_name, r.table_name, pk, pk_type, sk, sk_type, nparts,
				 (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('AttributeName', x->>'AttributeName',
													  'AttributeType', x->>'AttributeType')
								   ORDER BY x->>'AttributeName')
					FROM pg_catalog.jsonb_array_elements(attrdefs) x),
				 lsis, gsis, stream, pg_catalog.gen_random_uuid(), pg_catalog.now());
	PERFORM partkv_internal.catalog_write('register_table', pg_catalog.jsonb_build_object('row', pg_catalog.to_jsonb(entry)));
	PERFORM partkv_internal.invalidate_table_cache(pg_catalog.format('%I.%I', r.schema_name, r.table_name)::regclass);
	RETURN partkv_internal.table_description(entry, 'ACTIVE');
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.delete_table(table_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	d jsonb := partkv_internal.table_description(t, 'DELETING');
BEGIN
	-- as in DynamoDB, a table cannot be deleted while one of its GSIs is backfilled
	IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g
				WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
				  AND g.status = 'CREATING') THEN
		PERFORM partkv_internal.raise_error('ResourceInUseException', pg_catalog.format('Attempt to change a resource which is still in use: Table is being updated: %s', t.table_name));
	END IF;
	PERFORM partkv_internal.catalog_write('unregister_table', pg_catalog.jsonb_build_object('schema_name', t.schema_name,
																		'table_name', t.table_name));
	EXECUTE pg_catalog.format('DROP TABLE %I.%I', t.schema_name, t.table_name);
	RETURN d;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv_internal.claim_request_token(p_token text, p_hash text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	r partkv_internal.client_request_tokens;
BEGIN
	DELETE FROM partkv_internal.client_request_tokens WHERE created_at < now() - interval '10 minutes';
	INSERT INTO partkv_internal.client_request_tokens (token, request_hash)
	VALUES (p_token, p_hash) ON CONFLICT (token) DO NOTHING;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	SELECT * INTO r FROM partkv_internal.client_request_tokens WHERE token = p_token;
	IF r.request_hash <> p_hash THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'IdempotentParameterMismatchException: the ClientRequestToken was already used with different parameters');
	END IF;
	RETURN r.response;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv_internal.decode_shard_iterator(iterator text)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	j jsonb;
	issued numeric;
	now_epoch numeric := extract(epoch FROM clock_timestamp());
BEGIN
	IF iterator IS NULL OR left(iterator, 16) <> 'partkv-iterator:' THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'Invalid ShardIterator');
	END IF;
	BEGIN
		j := convert_from(decode(substr(iterator, 17), 'base64'), 'UTF8')::jsonb;
		issued := (j->>'t')::numeric;
		IF jsonb_typeof(j->'s') <> 'number' OR jsonb_typeof(j->'h') <> 'string' OR issued IS NULL THEN
			RAISE EXCEPTION USING ERRCODE = 'data_exception';
		END IF;
	EXCEPTION WHEN OTHERS THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'Invalid ShardIterator');
	END;
	IF now_epoch - issued > 900 THEN
		PERFORM partkv_internal.raise_error('ExpiredIteratorException', pg_catalog.format('Iterator expired. The iterator was created at time %s while right now it''s %s which is further in the future than the tolerated delay of 900000 milliseconds.', to_timestamp(issued), to_timestamp(now_epoch)), hint => 'Get a new iterator with partkv.get_shard_iterator().');
	END IF;
	RETURN j;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv_internal.check_not_trimmed(s partkv.streams, after text, inclusive boolean)
 RETURNS void
 LANGUAGE plpgsql
 STABLE
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	IF after IS NOT NULL AND s.trimmed_upto IS NOT NULL
	   AND (after < s.trimmed_upto OR (inclusive AND after = s.trimmed_upto)) THEN
		PERFORM partkv_internal.raise_error('TrimmedDataAccessException', 'The operation attempted to read past the oldest stream record in a shard.', detail => format('Records up to sequence number %s have been trimmed (partkv.stream_retention).', s.trimmed_upto), hint => 'Start again from TRIM_HORIZON.');
	END IF;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.describe_stream(table_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	s partkv.streams;
	start_seq text;
	is_open boolean;
	shards jsonb;
	keys jsonb;
	gaps jsonb;
	not_served jsonb;
BEGIN
	PERFORM partkv_internal.check_stream_read(t);
	s := partkv_internal.latest_stream(t);
	IF s.stream_id IS NULL THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Table: %s has no stream', t.table_name));
	END IF;
	start_seq := partkv_internal.lsn_sequence_number(s.created_lsn);
	is_open := s.disabled_at IS NULL;
	-- within a shard, chunks are in sequence number order
	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('ShardId', x.shard_id,
			'SequenceNumberRange',
			pg_catalog.jsonb_build_object('StartingSequenceNumber', coalesce(x.first, start_seq)) ||
			CASE WHEN is_open THEN '{}'::jsonb
				 ELSE pg_catalog.jsonb_build_object('EndingSequenceNumber', coalesce(x.last, start_seq)) END)
			ORDER BY x.shard_id)
	  INTO shards
	  FROM (SELECT sh.shard_id,
				   (SELECT c.first_sequence_number FROM partkv_internal.stream_chunks c
					 WHERE c.stream_id = s.stream_id AND c.shard_id = sh.shard_id
					 ORDER BY c.last_sequence_number LIMIT 1) AS first,
				   (SELECT pg_catalog.max(c.last_sequence_number) FROM partkv_internal.stream_chunks c
					 WHERE c.stream_id = s.stream_id AND c.shard_id = sh.shard_id) AS last
			  FROM (SELECT partkv_internal.stream_shard_id(i.inhrelid::regclass) AS shard_id
					  FROM pg_catalog.pg_inherits i
					 WHERE i.inhparent = pg_catalog.format('%I.%I', t.schema_name, t.table_name)::regclass) sh) x;
	keys := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'));
	IF t.sort_key IS NOT NULL THEN
		keys := keys || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE'));
	END IF;
	-- partkv's own member: the gaps of every shard (lost replication slots)
	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			'SequenceNumberRange', pg_catalog.jsonb_build_object('StartingSequenceNumber', g.from_sequence_number,
													  'EndingSequenceNumber', g.to_sequence_number),
			'Reason', 'REPLICATION_SLOT_INVALIDATED',
			'DetectedDateTime', extract(epoch FROM g.detected_at)) ORDER BY g.to_lsn)
	  INTO gaps
	  FROM partkv_internal.stream_gaps(s) g;
	IF is_open THEN
		not_served := partkv_internal.serving_member('stream');
	END IF;
	RETURN pg_catalog.jsonb_build_object(
		'StreamArn', partkv_internal.stream_arn(s),
		'StreamLabel', s.label,
		'StreamStatus', CASE WHEN is_open THEN 'ENABLED' ELSE 'DISABLED' END,
		'StreamViewType', s.view_type,
		'CreationRequestDateTime', extract(epoch FROM s.created_at),
		'TableName', t.table_name,
		'KeySchema', keys,
		'Shards', coalesce(shards, '[]'))
		|| CASE WHEN gaps IS NULL THEN '{}'::jsonb ELSE pg_catalog.jsonb_build_object('StreamGaps', gaps) END
		|| CASE WHEN not_served IS NULL THEN '{}'::jsonb
				ELSE pg_catalog.jsonb_build_object('partkv', not_served) END;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.get_shard_iterator(table_name text, shard_id text, iterator_type text, sequence_number text DEFAULT NULL::text)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	s partkv.streams;
	after text;
	inclusive boolean := false;
	gap record;
BEGIN
	PERFORM partkv_internal.check_stream_read(t);
	s := partkv_internal.latest_stream(t);
	IF s.stream_id IS NULL THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Table: %s has no stream', t.table_name));
	END IF;
	IF iterator_type IS NULL OR iterator_type NOT IN ('TRIM_HORIZON', 'LATEST', 'AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('1 validation error detected: Value ''%s'' at ''shardIteratorType'' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]', iterator_type));
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		IF sequence_number IS NULL THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('SequenceNumber is required for ShardIteratorType %s', iterator_type));
		END IF;
		after := partkv_internal.check_sequence_number(sequence_number);
		inclusive := iterator_type = 'AT_SEQUENCE_NUMBER';
	ELSIF sequence_number IS NOT NULL THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('SequenceNumber must not be given for ShardIteratorType %s', iterator_type));
	END IF;
	IF shard_id IS NULL OR NOT EXISTS (
			SELECT 1 FROM pg_catalog.pg_inherits i
			 WHERE i.inhparent = pg_catalog.format('%I.%I', t.schema_name, t.table_name)::regclass
			   AND partkv_internal.stream_shard_id(i.inhrelid::regclass) = shard_id)
	   AND NOT EXISTS (SELECT 1 FROM partkv_internal.stream_chunks c
						WHERE c.stream_id = s.stream_id AND c.shard_id = get_shard_iterator.shard_id) THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Shard does not exist: %s', shard_id), sqlstate => '42704');
	END IF;
	-- records lost in a gap are trimmed: the horizon and the latest
	-- position lie after the last gap
	IF iterator_type IN ('TRIM_HORIZON', 'LATEST') THEN
		SELECT pg_catalog.max(g.to_sequence_number) INTO after FROM partkv_internal.stream_gaps(s) g;
	END IF;
	IF iterator_type = 'LATEST' THEN
		SELECT greatest(pg_catalog.max(c.last_sequence_number), after) INTO after FROM partkv_internal.stream_chunks c
		 WHERE c.stream_id = s.stream_id AND c.shard_id = get_shard_iterator.shard_id;
	END IF;
	IF iterator_type IN ('AT_SEQUENCE_NUMBER', 'AFTER_SEQUENCE_NUMBER') THEN
		PERFORM partkv_internal.check_not_trimmed(s, after, inclusive);
		SELECT * INTO gap FROM partkv_internal.stream_gaps(s) g WHERE g.to_sequence_number > after
		 ORDER BY g.to_lsn LIMIT 1;
		IF FOUND AND after >= gap.from_sequence_number THEN
			PERFORM partkv_internal.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
		END IF;
	END IF;
	RETURN partkv_internal.encode_shard_iterator(s.stream_id, shard_id, after, inclusive);
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.get_records(shard_iterator text, item_limit integer DEFAULT 1000)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	it jsonb := partkv_internal.decode_shard_iterator(shard_iterator);
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
		PERFORM partkv_internal.raise_error('ValidationException', format('1 validation error detected: Value ''%s'' at ''limit'' failed to satisfy constraint: Member must have value %s',
			item_limit, CASE WHEN item_limit < 1 THEN 'greater than or equal to 1' ELSE 'less than or equal to 1000' END));
	END IF;
	SELECT * INTO s FROM partkv.streams WHERE stream_id = (it->>'s')::bigint;
	IF NOT FOUND THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Stream %s not found', it->>'s'));
	END IF;
	IF NOT s.stream_id = ANY (partkv_internal.readable_streams()) THEN
		RAISE EXCEPTION 'permission denied for table %', s.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;
	PERFORM partkv_internal.check_not_trimmed(s, after, inclusive);

	-- a gap ahead: the records before it, then TrimmedDataAccessException
	SELECT * INTO gap FROM partkv_internal.stream_gaps(s) g WHERE after IS NULL OR g.to_sequence_number > after
	 ORDER BY g.to_lsn LIMIT 1;
	IF FOUND THEN
		gap_from := gap.from_sequence_number;
		IF after >= gap_from THEN
			PERFORM partkv_internal.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
		END IF;
	END IF;

	-- at most item_limit records, and no more once 1 MB is reached; the
	-- shard's chunks come in order from the index, so only the first few
	-- are read (a batch's chunk never spans a gap)
	SELECT coalesce(jsonb_agg(x.record ORDER BY x.seq), '[]'), max(x.seq), count(*)
	  INTO recs, last, n
	  FROM (SELECT y.record, y.seq, sum(y.sz) OVER (ORDER BY y.seq) - y.sz AS before
			  FROM (SELECT r.record, r.seq, r.sz
					  FROM partkv_internal.stream_chunks c,
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
		PERFORM partkv_internal.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
	END IF;

	-- a closed stream's shard ends once the worker has passed the closing
	-- point and nothing is left after the position
	closed := false;
	IF s.disabled_lsn IS NOT NULL THEN
		reached := (partkv.stream_worker_status()->>'reachedLsn')::pg_lsn;
		closed := reached >= s.disabled_lsn
			AND NOT EXISTS (SELECT 1 FROM partkv_internal.stream_chunks c
							 WHERE c.stream_id = s.stream_id AND c.shard_id = shard
							   AND (after IS NULL OR c.last_sequence_number > after
									OR (inclusive AND c.last_sequence_number = after)));
	END IF;
	IF closed THEN
		RETURN jsonb_build_object('Records', recs);
	END IF;
	RETURN jsonb_build_object('Records', recs,
							  'NextShardIterator', partkv_internal.encode_shard_iterator(s.stream_id, shard, after, inclusive));
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.remove_stream_handler(table_name text, handler regproc)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	h partkv.stream_handlers;
BEGIN
	SELECT * INTO h FROM partkv.stream_handlers x
	 WHERE x.table_id = t.table_id AND x.handler = remove_stream_handler.handler;
	IF h.handler_id IS NOT NULL THEN
		h := pg_catalog.jsonb_populate_record(NULL::partkv.stream_handlers,
			partkv_internal.catalog_write('remove_handler', pg_catalog.jsonb_build_object('handler_id', h.handler_id)));
	END IF;
	IF h.handler_id IS NULL THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: stream handler %s of table %s', handler, t.table_name), sqlstate => '42704');
	END IF;
	RETURN partkv_internal.stream_handler_description(h) || '{"State": "Deleted"}';
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.replay_dead_letter(id bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	d partkv.dead_letters;
BEGIN
	d := jsonb_populate_record(NULL::partkv.dead_letters,
		partkv_internal.catalog_write('replay_dead_letter', jsonb_build_object('dead_letter_id', id)));
	IF d.dead_letter_id IS NULL THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: dead letter %s', id), sqlstate => '42704');
	END IF;
	RETURN jsonb_build_object('DeadLetterId', d.dead_letter_id, 'Handler', d.handler::text,
							  'Records', jsonb_array_length(d.records), 'State', 'Queued');
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv_internal.gsi_update_table(t partkv.tables, changes jsonb)
 RETURNS partkv.tables
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
DECLARE
	updates jsonb := changes->'GlobalSecondaryIndexUpdates';
	u jsonb;
	c jsonb;
	iname text;
	gsis jsonb;
	defs jsonb := t.attribute_definitions;
	newdefs jsonb := coalesce(changes->'AttributeDefinitions', '[]');
	k jsonb;
	d jsonb;
	missing text[];
	table_keys jsonb;
BEGIN
	IF jsonb_typeof(updates) IS DISTINCT FROM 'array' OR jsonb_array_length(updates) = 0 THEN
		PERFORM partkv_internal.raise_error('ValidationException', '1 validation error detected: Value at ''globalSecondaryIndexUpdates'' failed to satisfy constraint: Member must be a non-empty list');
	END IF;
	IF jsonb_typeof(newdefs) <> 'array' THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'AttributeDefinitions must be a list');
	END IF;
	IF (SELECT count(*) FROM jsonb_array_elements(updates) x WHERE x ? 'Create' OR x ? 'Delete') > 1 THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table', sqlstate => '54000');
	END IF;
	FOR u IN SELECT value FROM jsonb_array_elements(updates) LOOP
		IF jsonb_typeof(u) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(u)) <> 1 THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified');
		END IF;
		IF u ? 'Update' THEN
			RAISE EXCEPTION 'partkv does not support GlobalSecondaryIndexUpdates Update (provisioned throughput)'
				USING ERRCODE = 'feature_not_supported';
		ELSIF u ? 'Delete' THEN
			iname := u->'Delete'->>'IndexName';
			IF NOT EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = iname) THEN
				PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Index: %s not found', iname), sqlstate => '42704');
			END IF;
			t.global_indexes := coalesce((SELECT jsonb_agg(i ORDER BY o) FROM jsonb_array_elements(t.global_indexes) WITH ORDINALITY AS x(i, o)
										   WHERE i->>'IndexName' <> iname), '[]');
		ELSIF u ? 'Create' THEN
			c := u->'Create';
			iname := c->>'IndexName';
			IF EXISTS (SELECT 1 FROM jsonb_array_elements(t.global_indexes || t.local_indexes) i
						WHERE i->>'IndexName' = iname) THEN
				PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Index with name %s already exists', iname));
			END IF;
			IF EXISTS (SELECT 1 FROM partkv.gsi_indexes g WHERE g.schema_name = t.schema_name
						 AND g.table_name = t.table_name AND g.status = 'CREATING') THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table', sqlstate => '54000');
			END IF;
			IF jsonb_array_length(t.global_indexes) >= 20 THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20');
			END IF;
			table_keys := jsonb_build_array(jsonb_build_object('AttributeName', t.partition_key, 'KeyType', 'HASH'))
				|| CASE WHEN t.sort_key IS NULL THEN '[]'::jsonb
						ELSE jsonb_build_array(jsonb_build_object('AttributeName', t.sort_key, 'KeyType', 'RANGE')) END;
			gsis := partkv_internal.check_indexes(jsonb_build_array(c - 'ProvisionedThroughput' - 'OnDemandThroughput' - 'WarmThroughput'),
										 false, table_keys, '{}');
			-- the new index's key attributes need definitions (spurious ones are ignored)
			FOR k IN SELECT value FROM jsonb_array_elements(gsis->0->'KeySchema') LOOP
				SELECT x INTO d FROM jsonb_array_elements(newdefs) x WHERE x->>'AttributeName' = k->>'AttributeName';
				IF d IS NOT NULL AND (d->>'AttributeType' IS NULL OR d->>'AttributeType' NOT IN ('S', 'N', 'B')) THEN
					PERFORM partkv_internal.raise_error('ValidationException', format('1 validation error detected: Value ''%s'' at ''attributeDefinitions.member.attributeType'' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]', d->>'AttributeType'));
				END IF;
				IF EXISTS (SELECT 1 FROM jsonb_array_elements(defs) x WHERE x->>'AttributeName' = k->>'AttributeName') THEN
					IF d IS NOT NULL AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(defs) x
													   WHERE x->>'AttributeName' = k->>'AttributeName'
														 AND x->>'AttributeType' = d->>'AttributeType') THEN
						PERFORM partkv_internal.raise_error('ValidationException', format('Cannot have two attributes with the same name: %s', k->>'AttributeName'));
					END IF;
				ELSIF d IS NULL THEN
					missing := missing || (k->>'AttributeName');
				ELSE
					defs := defs || jsonb_build_array(jsonb_build_object('AttributeName', d->>'AttributeName',
																		 'AttributeType', d->>'AttributeType'));
				END IF;
			END LOOP;
			IF missing IS NOT NULL THEN
				PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: [%s]',
					array_to_string(missing, ', '),
					(SELECT string_agg(x->>'AttributeName', ', ') FROM jsonb_array_elements(newdefs) x)));
			END IF;
			t.attribute_definitions := (SELECT jsonb_agg(x ORDER BY x->>'AttributeName') FROM jsonb_array_elements(defs) x);
			t.global_indexes := t.global_indexes || gsis;
		ELSE
			PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Create, Update or Delete must be specified');
		END IF;
	END LOOP;
	-- the trigger gsi_sync creates or drops the storage
	PERFORM partkv_internal.catalog_write('update_table',
		jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
						   'set', jsonb_build_object('attribute_definitions', t.attribute_definitions,
													 'global_indexes', t.global_indexes)));
	RETURN t;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.wait_for_index(table_name text, index_name text, timeout interval DEFAULT '00:00:30'::interval)
 RETURNS boolean
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	deadline timestamptz := pg_catalog.clock_timestamp() + timeout;
	st text;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = wait_for_index.index_name) THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Index: %s not found', index_name), sqlstate => '42704');
	END IF;
	LOOP
		PERFORM partkv_internal.check_served('gsi', t.table_name, wait_for_index.index_name);
		IF NOT partkv.stream_wait(greatest(deadline - pg_catalog.clock_timestamp(), interval '0')) THEN
			RETURN false;
		END IF;
		SELECT g.status INTO st FROM partkv.gsi_indexes g
		 WHERE g.schema_name = t.schema_name AND g.table_name = t.table_name
		   AND g.index_name = wait_for_index.index_name;
		IF st = 'ACTIVE' THEN
			RETURN true;
		END IF;
		IF pg_catalog.clock_timestamp() >= deadline THEN
			RETURN false;
		END IF;
		PERFORM pg_catalog.pg_sleep(0.02);
	END LOOP;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv.verify_index(table_name text, index_name text)
 RETURNS jsonb
 LANGUAGE plpgsql
AS $function$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	g partkv.gsi_indexes;
	gsi jsonb;
	s record;
	bk text;
	res jsonb;
BEGIN
	SELECT i INTO gsi FROM pg_catalog.jsonb_array_elements(t.global_indexes) i WHERE i->>'IndexName' = verify_index.index_name;
	SELECT * INTO g FROM partkv.gsi_indexes x WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name
	   AND x.index_name = verify_index.index_name;
	IF gsi IS NULL OR g IS NULL THEN
		PERFORM partkv_internal.raise_error('ResourceNotFoundException', pg_catalog.format('Requested resource not found: Index: %s not found', index_name), sqlstate => '42704');
	END IF;
	s := partkv_internal.gsi_shape(t, gsi, 'b.item');
	bk := pg_catalog.format('b.%I', t.partition_key) || CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', b.%I', t.sort_key) END;
	EXECUTE pg_catalog.format(
		'WITH want AS (SELECT * FROM (SELECT %1$s AS gpk, %2$s AS gsk, %3$s, %4$s AS item FROM %5$I.%6$I b) x '
		'               WHERE x.gpk IS NOT NULL%7$s), '
		'     have AS (SELECT gpk, gsk, base_pk, base_sk, item, pg_catalog.row_number() OVER (PARTITION BY base_pk, base_sk) AS rn '
		'                FROM (SELECT gsi_pk AS gpk, %8$s AS gsk, base_pk, %9$s AS base_sk, item FROM %10$s) y) '
		'SELECT pg_catalog.jsonb_build_object(''missing'', pg_catalog.count(*) FILTER (WHERE h.base_pk IS NULL), '
		'                          ''extra'', pg_catalog.count(*) FILTER (WHERE w.base_pk IS NULL) '
		'                                   + (SELECT pg_catalog.count(*) FROM have WHERE rn > 1), '
		'                          ''stale'', pg_catalog.count(*) FILTER (WHERE w.base_pk IS NOT NULL AND h.base_pk IS NOT NULL '
		'                                   AND (w.gpk IS DISTINCT FROM h.gpk OR w.gsk IS DISTINCT FROM h.gsk '
		'                                        OR w.item IS DISTINCT FROM h.item)), '
		'                          ''checked'', pg_catalog.count(*) FILTER (WHERE w.base_pk IS NOT NULL)) '
		'  FROM want w FULL JOIN (SELECT * FROM have WHERE rn = 1) h '
		'    ON h.base_pk = w.base_pk AND h.base_sk IS NOT DISTINCT FROM w.base_sk',
		partkv_internal.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN 'NULL::text' ELSE partkv_internal.gsi_key_expression('b.item', s.gsk, s.gsk_type) END,
		pg_catalog.format('b.%I AS base_pk, %s AS base_sk', t.partition_key,
			   CASE WHEN t.sort_key IS NULL THEN 'NULL::text' ELSE pg_catalog.format('b.%I', t.sort_key) END),
		s.projection, t.schema_name, t.table_name,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN s.gsk IS NULL THEN 'NULL::text' ELSE 'gsi_sk' END,
		CASE WHEN t.sort_key IS NULL THEN 'NULL::text' ELSE 'base_sk' END,
		pg_catalog.format('%I.%I', g.schema_name, g.storage_name)) INTO res;
	RETURN res;
END;
$function$
;

CREATE OR REPLACE FUNCTION partkv_internal.raise_stream_gap(from_sequence_number text, to_sequence_number text, detected_at timestamp with time zone)
 RETURNS void
 LANGUAGE plpgsql
 SET search_path TO 'pg_catalog', 'pg_temp'
AS $function$
BEGIN
	PERFORM partkv_internal.raise_error('TrimmedDataAccessException', 'The data you are trying to access has been trimmed.', detail => format('The changes committed between sequence numbers %s and %s never reached the stream: PostgreSQL invalidated the stream worker''s replication slot (max_slot_wal_keep_size), which the worker found and replaced at %s.',
							  from_sequence_number, to_sequence_number, detected_at), hint => 'Start again from TRIM_HORIZON, which begins after the gap (see partkv.lost_slots).');
END;
$function$
;

ALTER EVENT TRIGGER partkv_adopt_restored ENABLE;


-------------------------------------------------------------------------------
-- access keys: their table is internal (issue 17)
-------------------------------------------------------------------------------
-- The keys were made before partkv_internal existed; users see them through
-- partkv.list_access_keys(), never the table.
ALTER TABLE partkv.access_keys SET SCHEMA partkv_internal;
CREATE OR REPLACE FUNCTION partkv.access_key_lookup(access_key_id text)
RETURNS TABLE (role_name name, secret_access_key text)
LANGUAGE sql STABLE STRICT SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
	SELECT r.rolname, k.secret_access_key
	  FROM partkv_internal.access_keys k JOIN pg_catalog.pg_roles r ON r.oid = k.role_oid
	 WHERE k.access_key_id = $1
$function$;
