-- partkv 0.5: the whole extension, each object defined once.
--
-- CREATE EXTENSION partkv runs this script; databases at an older version
-- reach the same state through partkv--0.1.sql and the upgrade scripts
-- (test/t/041_upgrade_compare.pl compares the two).  A change to the SQL
-- goes into both: a section at the end of this script and the same section
-- at the end of partkv--0.4--0.5.sql.
--
-- The schema partkv holds the API (DESIGN.md §2), the catalogs and views
-- users read; partkv_internal, what the API is built from.

\echo Use "CREATE EXTENSION partkv" to load this file. \quit

-- SQL function bodies name functions of later sections.
SET check_function_bodies = false;

-------------------------------------------------------------------------------
-- schemas and types
-------------------------------------------------------------------------------

-- The schema partkv is CREATE EXTENSION's (partkv.control).
GRANT USAGE ON SCHEMA partkv TO PUBLIC;

CREATE SCHEMA partkv_internal;

COMMENT ON SCHEMA partkv_internal IS 'partkv''s internals: helper functions, support functions, request tokens, the stream''s chunks; not an API';

CREATE DOMAIN partkv.attribute_name AS text COLLATE pg_catalog."C";

GRANT USAGE ON SCHEMA partkv_internal TO PUBLIC;

-------------------------------------------------------------------------------
-- functions the catalogs check their rows with
-------------------------------------------------------------------------------

CREATE FUNCTION partkv_internal.gsi_storage_name(table_name text, index_name text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT left(table_name, 46) || '_g' || left(md5(index_name), 8)
$$;

COMMENT ON FUNCTION partkv_internal.gsi_storage_name(table_name text, index_name text) IS 'internal: name of a GSI''s storage table';

-------------------------------------------------------------------------------
-- catalogs
--
-- partkv's catalogs: what a DBA reads in partkv (tables, streams,
-- stream_handlers, dead_letters, gsi_indexes, lost_slots), and the
-- internal ones in partkv_internal.  Rows of the user-facing catalogs are
-- written through catalog_write (row-level security lets each role read
-- its own).
-------------------------------------------------------------------------------

CREATE TABLE partkv.streams (
    stream_id bigint NOT NULL,
    schema_name name NOT NULL,
    table_name text NOT NULL,
    table_id uuid NOT NULL,
    view_type text NOT NULL,
    label text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_lsn pg_lsn NOT NULL,
    disabled_at timestamp with time zone,
    disabled_lsn pg_lsn,
    trimmed_upto text COLLATE pg_catalog."C"
)
WITH (user_catalog_table='true');

CREATE TABLE partkv.tables (
    schema_name name NOT NULL,
    table_name text NOT NULL,
    partition_key text NOT NULL,
    partition_key_type text NOT NULL,
    sort_key text,
    sort_key_type text,
    partitions integer NOT NULL,
    attribute_definitions jsonb NOT NULL,
    local_indexes jsonb DEFAULT '[]'::jsonb NOT NULL,
    global_indexes jsonb DEFAULT '[]'::jsonb NOT NULL,
    stream_specification jsonb,
    table_id uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    time_to_live jsonb,
    installation_id uuid DEFAULT '00000000-0000-0000-0000-000000000000'::uuid NOT NULL,
    sequence_offset bigint DEFAULT 0 NOT NULL,
    CONSTRAINT tables_check CHECK (((sort_key IS NULL) = (sort_key_type IS NULL))),
    CONSTRAINT tables_partition_key_type_check CHECK ((partition_key_type = ANY (ARRAY['S'::text, 'N'::text, 'B'::text]))),
    CONSTRAINT tables_sequence_offset_check CHECK ((sequence_offset >= 0)),
    CONSTRAINT tables_sort_key_type_check CHECK ((sort_key_type = ANY (ARRAY['S'::text, 'N'::text, 'B'::text])))
)
WITH (user_catalog_table='true');
ALTER TABLE ONLY partkv.tables ALTER COLUMN global_indexes SET STORAGE MAIN;
ALTER TABLE ONLY partkv.tables ALTER COLUMN stream_specification SET STORAGE MAIN;

CREATE TABLE partkv.stream_handlers (
    handler_id bigint NOT NULL,
    schema_name name NOT NULL,
    table_name text NOT NULL,
    table_id uuid NOT NULL,
    handler regproc NOT NULL,
    role_name name NOT NULL,
    batch_size integer NOT NULL,
    max_attempts integer NOT NULL,
    "position" text NOT NULL COLLATE pg_catalog."C",
    enabled boolean DEFAULT true NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    last_success_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT stream_handlers_batch_size_check CHECK (((batch_size >= 1) AND (batch_size <= 10000))),
    CONSTRAINT stream_handlers_max_attempts_check CHECK (((max_attempts >= 1) AND (max_attempts <= 100)))
);

CREATE TABLE partkv.dead_letters (
    dead_letter_id bigint NOT NULL,
    handler_id bigint NOT NULL,
    handler regproc NOT NULL,
    table_name text NOT NULL,
    records jsonb NOT NULL,
    error text,
    attempts integer NOT NULL,
    failed_at timestamp with time zone DEFAULT now() NOT NULL,
    replay_requested boolean DEFAULT false NOT NULL
);

ALTER TABLE partkv.dead_letters ALTER COLUMN dead_letter_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME partkv.dead_letters_dead_letter_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE partkv.gsi_indexes (
    schema_name name NOT NULL,
    table_name text NOT NULL,
    index_name text NOT NULL,
    storage_name text NOT NULL,
    status text NOT NULL,
    backfill_partition text,
    backfill_after jsonb,
    items_done bigint DEFAULT 0 NOT NULL,
    items_estimated bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    activated_at timestamp with time zone,
    activated_lsn pg_lsn,
    installation_id uuid DEFAULT '00000000-0000-0000-0000-000000000000'::uuid NOT NULL,
    CONSTRAINT gsi_indexes_status_check CHECK ((status = ANY (ARRAY['CREATING'::text, 'ACTIVE'::text]))),
    CONSTRAINT gsi_indexes_storage_name CHECK ((storage_name = partkv_internal.gsi_storage_name(table_name, index_name)))
);

CREATE TABLE partkv.lost_slots (
    loss_id bigint NOT NULL,
    worker text NOT NULL,
    slot_name name NOT NULL,
    from_lsn pg_lsn NOT NULL,
    to_lsn pg_lsn,
    detected_at timestamp with time zone DEFAULT now() NOT NULL,
    recovered_at timestamp with time zone,
    CONSTRAINT lost_slots_worker_check CHECK ((worker = ANY (ARRAY['stream'::text, 'gsi'::text])))
);

COMMENT ON TABLE partkv.lost_slots IS 'replication slots of the stream and GSI workers that PostgreSQL invalidated (max_slot_wal_keep_size) and the workers replaced: what was lost, from_lsn to to_lsn';

ALTER TABLE partkv.lost_slots ALTER COLUMN loss_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME partkv.lost_slots_loss_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

ALTER TABLE partkv.stream_handlers ALTER COLUMN handler_id ADD GENERATED BY DEFAULT AS IDENTITY (
    SEQUENCE NAME partkv.stream_handlers_handler_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE partkv_internal.stream_chunks (
    stream_id bigint NOT NULL,
    shard_id text NOT NULL COLLATE pg_catalog."C",
    batch_lsn pg_lsn NOT NULL,
    first_sequence_number text NOT NULL COLLATE pg_catalog."C",
    last_sequence_number text NOT NULL COLLATE pg_catalog."C",
    sequence_numbers text[] NOT NULL COLLATE pg_catalog."C",
    size_bytes integer[] NOT NULL,
    records jsonb[] NOT NULL,
    written_at timestamp with time zone NOT NULL,
    CONSTRAINT stream_chunks_check CHECK (((cardinality(sequence_numbers) = cardinality(records)) AND (cardinality(size_bytes) = cardinality(records))))
)
PARTITION BY RANGE (written_at);
ALTER TABLE ONLY partkv_internal.stream_chunks ALTER COLUMN sequence_numbers SET COMPRESSION lz4;
ALTER TABLE ONLY partkv_internal.stream_chunks ALTER COLUMN size_bytes SET COMPRESSION lz4;
ALTER TABLE ONLY partkv_internal.stream_chunks ALTER COLUMN records SET COMPRESSION lz4;

ALTER TABLE partkv.streams ALTER COLUMN stream_id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME partkv.streams_stream_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

CREATE TABLE partkv_internal.client_request_tokens (
    token text NOT NULL,
    request_hash text NOT NULL,
    response jsonb,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE partkv_internal.installation (
    installation_id uuid DEFAULT gen_random_uuid() NOT NULL,
    database_oid oid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
)
WITH (user_catalog_table='true');

COMMENT ON TABLE partkv_internal.installation IS 'this database''s installation of partkv; catalog rows of another installation were restored from a dump';

CREATE TABLE partkv_internal.stream_partitions (
    partition_name name NOT NULL,
    lo timestamp with time zone NOT NULL,
    hi timestamp with time zone NOT NULL
);

ALTER TABLE ONLY partkv.dead_letters
    ADD CONSTRAINT dead_letters_pkey PRIMARY KEY (dead_letter_id);

ALTER TABLE ONLY partkv.gsi_indexes
    ADD CONSTRAINT gsi_indexes_pkey PRIMARY KEY (schema_name, table_name, index_name);

ALTER TABLE ONLY partkv.lost_slots
    ADD CONSTRAINT lost_slots_pkey PRIMARY KEY (loss_id);

ALTER TABLE ONLY partkv.stream_handlers
    ADD CONSTRAINT stream_handlers_pkey PRIMARY KEY (handler_id);

ALTER TABLE ONLY partkv.stream_handlers
    ADD CONSTRAINT stream_handlers_table_id_handler_key UNIQUE (table_id, handler);

ALTER TABLE ONLY partkv.streams
    ADD CONSTRAINT streams_pkey PRIMARY KEY (stream_id);

ALTER TABLE ONLY partkv.tables
    ADD CONSTRAINT tables_pkey PRIMARY KEY (schema_name, table_name);

ALTER TABLE ONLY partkv_internal.client_request_tokens
    ADD CONSTRAINT client_request_tokens_pkey PRIMARY KEY (token);

ALTER TABLE ONLY partkv_internal.installation
    ADD CONSTRAINT installation_pkey PRIMARY KEY (installation_id);

ALTER TABLE ONLY partkv_internal.stream_partitions
    ADD CONSTRAINT stream_partitions_pkey PRIMARY KEY (partition_name);

CREATE INDEX dead_letters_handler ON partkv.dead_letters USING btree (handler_id);

CREATE UNIQUE INDEX gsi_indexes_storage ON partkv.gsi_indexes USING btree (schema_name, storage_name);

CREATE UNIQUE INDEX lost_slots_open ON partkv.lost_slots USING btree (worker) WHERE (to_lsn IS NULL);

CREATE UNIQUE INDEX streams_open ON partkv.streams USING btree (table_id) WHERE (disabled_at IS NULL);

CREATE UNIQUE INDEX tables_table_id ON partkv.tables USING btree (table_id);

CREATE INDEX client_request_tokens_created_at_idx ON partkv_internal.client_request_tokens USING btree (created_at);

ALTER TABLE ONLY partkv.dead_letters
    ADD CONSTRAINT dead_letters_handler_id_fkey FOREIGN KEY (handler_id) REFERENCES partkv.stream_handlers(handler_id) ON DELETE CASCADE;

ALTER TABLE partkv.dead_letters ENABLE ROW LEVEL SECURITY;

ALTER TABLE partkv.gsi_indexes ENABLE ROW LEVEL SECURITY;

ALTER TABLE partkv.stream_handlers ENABLE ROW LEVEL SECURITY;

ALTER TABLE partkv.streams ENABLE ROW LEVEL SECURITY;

ALTER TABLE partkv.tables ENABLE ROW LEVEL SECURITY;

ALTER TABLE partkv_internal.stream_chunks ENABLE ROW LEVEL SECURITY;

GRANT SELECT ON TABLE partkv.streams TO PUBLIC;

GRANT SELECT ON TABLE partkv.tables TO PUBLIC;

GRANT SELECT ON TABLE partkv.stream_handlers TO PUBLIC;

GRANT SELECT ON TABLE partkv.dead_letters TO PUBLIC;

GRANT SELECT ON TABLE partkv.gsi_indexes TO PUBLIC;

GRANT SELECT ON TABLE partkv.lost_slots TO PUBLIC;

GRANT SELECT ON TABLE partkv_internal.stream_chunks TO PUBLIC;

GRANT SELECT ON TABLE partkv_internal.installation TO PUBLIC;

-- This installation of partkv: one row, for the database it was made in.
INSERT INTO partkv_internal.installation (database_oid)
SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database();

-- pg_dump dumps the catalogs' rows; the request tokens only while they count.
SELECT pg_catalog.pg_extension_config_dump('partkv.tables', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.stream_handlers', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.stream_handlers_handler_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.gsi_indexes', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.streams', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.streams_stream_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.dead_letters', '');
SELECT pg_catalog.pg_extension_config_dump('partkv.dead_letters_dead_letter_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('partkv_internal.client_request_tokens',
										   'WHERE created_at > now() - interval ''10 minutes''');

-- Only partkv's SECURITY DEFINER functions read and write the tokens.
REVOKE ALL ON partkv_internal.client_request_tokens FROM PUBLIC;

-------------------------------------------------------------------------------
-- errors
--
-- Errors: the DynamoDB error a SQLSTATE stands for, and the one way the
-- SQL functions raise one (src/common/errors.c).
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.error_type(sqlstate text, OUT type_name text, OUT wire_type text, OUT http_status integer) RETURNS record
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_error_type';

COMMENT ON FUNCTION partkv.error_type(sqlstate text, OUT type_name text, OUT wire_type text, OUT http_status integer) IS 'the DynamoDB error a SQLSTATE stands for: its name, its wire __type ("<namespace>#<name>") and HTTP status; NULL for any other SQLSTATE';

CREATE FUNCTION partkv_internal.raise_error(error_type text, message text, detail text DEFAULT NULL::text, hint text DEFAULT NULL::text, sqlstate text DEFAULT NULL::text) RETURNS void
    LANGUAGE c PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_raise_error';

COMMENT ON FUNCTION partkv_internal.raise_error(error_type text, message text, detail text, hint text, sqlstate text) IS 'internal: raise DynamoDB error error_type (e.g. ValidationException) with the SQLSTATE the error module gives it, or sqlstate when the type has several';

-------------------------------------------------------------------------------
-- items
--
-- Items: DynamoDB JSON, item size, and the extractors of index key
-- attributes (LSI index expressions and users' SQL name them).
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.from_dynamodb_json(item jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_from_dynamodb_json';

COMMENT ON FUNCTION partkv.from_dynamodb_json(item jsonb) IS 'convert a DynamoDB typed-JSON item to a partkv item (plain JSON)';

CREATE FUNCTION partkv.item_size(item jsonb) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_item_size';

COMMENT ON FUNCTION partkv.item_size(item jsonb) IS 'validate an item and return its size in bytes by DynamoDB''s rules';

CREATE FUNCTION partkv.key_bytea(item jsonb, attribute partkv.attribute_name) RETURNS bytea
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_key_bytea';

COMMENT ON FUNCTION partkv.key_bytea(item jsonb, attribute partkv.attribute_name) IS 'The bytes of a binary (B) top-level attribute {"$B": base64} of an item; NULL when absent or of another type (LSI index expressions)';

CREATE FUNCTION partkv.key_numeric(item jsonb, attribute partkv.attribute_name) RETURNS numeric
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_key_numeric';

COMMENT ON FUNCTION partkv.key_numeric(item jsonb, attribute partkv.attribute_name) IS 'The number (N) value of a top-level attribute of an item; NULL when absent or of another type (LSI index expressions)';

CREATE FUNCTION partkv.key_text(item jsonb, attribute partkv.attribute_name) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_key_text';

COMMENT ON FUNCTION partkv.key_text(item jsonb, attribute partkv.attribute_name) IS 'The string (S) value of a top-level attribute of an item; NULL when absent or of another type (LSI index expressions)';

CREATE FUNCTION partkv.to_dynamodb_json(item jsonb) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_to_dynamodb_json';

COMMENT ON FUNCTION partkv.to_dynamodb_json(item jsonb) IS 'convert a partkv item (plain JSON) to DynamoDB typed JSON';

-------------------------------------------------------------------------------
-- hash partitioning and the table access method
--
-- Hash partitioning and the table access method: xxHash operator classes
-- for the key columns' hash partitions, and the partkv table AM.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv_internal.partkv_tam_handler(internal) RETURNS table_am_handler
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_tam_handler';

COMMENT ON FUNCTION partkv_internal.partkv_tam_handler(internal) IS 'handler of the partkv table access method';

CREATE FUNCTION partkv_internal.xxhash_bytea(bytea) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_xxhash_bytea';

COMMENT ON FUNCTION partkv_internal.xxhash_bytea(bytea) IS 'XXH3 hash of a binary key';

CREATE FUNCTION partkv_internal.xxhash_bytea_extended(bytea, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_xxhash_bytea_extended';

COMMENT ON FUNCTION partkv_internal.xxhash_bytea_extended(bytea, bigint) IS 'seeded XXH3 hash of a binary key (hash partitioning)';

CREATE FUNCTION partkv_internal.xxhash_numeric(numeric) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_xxhash_numeric';

COMMENT ON FUNCTION partkv_internal.xxhash_numeric(numeric) IS 'XXH3 hash of a number key, by its normalised text';

CREATE FUNCTION partkv_internal.xxhash_numeric_extended(numeric, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_xxhash_numeric_extended';

COMMENT ON FUNCTION partkv_internal.xxhash_numeric_extended(numeric, bigint) IS 'seeded XXH3 hash of a number key (hash partitioning)';

CREATE FUNCTION partkv_internal.xxhash_text(text) RETURNS integer
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_xxhash_text';

COMMENT ON FUNCTION partkv_internal.xxhash_text(text) IS 'XXH3 hash of a text key (hash opclass support)';

CREATE FUNCTION partkv_internal.xxhash_text_extended(text, bigint) RETURNS bigint
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_xxhash_text_extended';

COMMENT ON FUNCTION partkv_internal.xxhash_text_extended(text, bigint) IS 'seeded XXH3 hash of a text key (hash partitioning)';

CREATE ACCESS METHOD partkv TYPE TABLE HANDLER partkv_internal.partkv_tam_handler;

COMMENT ON ACCESS METHOD partkv IS 'heap storage that validates every row as a partkv item';

CREATE OPERATOR FAMILY partkv_internal.xxhash_bytea_ops USING hash;
ALTER OPERATOR FAMILY partkv_internal.xxhash_bytea_ops USING hash ADD
    FUNCTION 2 (bytea, bytea) partkv_internal.xxhash_bytea_extended(bytea,bigint);

CREATE OPERATOR CLASS partkv_internal.xxhash_bytea_ops
    FOR TYPE bytea USING hash FAMILY partkv_internal.xxhash_bytea_ops AS
    OPERATOR 1 =(bytea,bytea) ,
    FUNCTION 1 (bytea, bytea) partkv_internal.xxhash_bytea(bytea);

CREATE OPERATOR FAMILY partkv_internal.xxhash_numeric_ops USING hash;
ALTER OPERATOR FAMILY partkv_internal.xxhash_numeric_ops USING hash ADD
    FUNCTION 2 (numeric, numeric) partkv_internal.xxhash_numeric_extended(numeric,bigint);

CREATE OPERATOR CLASS partkv_internal.xxhash_numeric_ops
    FOR TYPE numeric USING hash FAMILY partkv_internal.xxhash_numeric_ops AS
    OPERATOR 1 =(numeric,numeric) ,
    FUNCTION 1 (numeric, numeric) partkv_internal.xxhash_numeric(numeric);

CREATE OPERATOR FAMILY partkv_internal.xxhash_text_ops USING hash;
ALTER OPERATOR FAMILY partkv_internal.xxhash_text_ops USING hash ADD
    FUNCTION 2 (text, text) partkv_internal.xxhash_text_extended(text,bigint);

CREATE OPERATOR CLASS partkv_internal.xxhash_text_ops
    FOR TYPE text USING hash FAMILY partkv_internal.xxhash_text_ops AS
    OPERATOR 1 =(text,text) ,
    FUNCTION 1 (text, text) partkv_internal.xxhash_text(text);

-------------------------------------------------------------------------------
-- catalog access
--
-- Catalog access: this installation, name resolution, the tables cache,
-- and catalog writes on behalf of the caller.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv_internal.catalog_write(operation text, args jsonb) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_catalog_write';

COMMENT ON FUNCTION partkv_internal.catalog_write(operation text, args jsonb) IS 'internal: the one way the SQL API changes partkv''s catalogs for a role, after checking that role''s rights (register_table, update_table, unregister_table, add_handler, remove_handler, replay_dead_letter)';

CREATE FUNCTION partkv_internal.execute_as_owner(relation regclass, statement text) RETURNS SETOF record
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_execute_as_owner';

COMMENT ON FUNCTION partkv_internal.execute_as_owner(relation regclass, statement text) IS 'internal: run a statement as the owner of a relation, in a security-restricted operation (superusers only: partkv''s workers)';

CREATE FUNCTION partkv_internal.find_table(name text) RETURNS partkv.tables
    LANGUAGE plpgsql STABLE
    AS $_$
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
$_$;

COMMENT ON FUNCTION partkv_internal.find_table(name text) IS 'internal: the catalog row of a table name, or ResourceNotFound';

CREATE FUNCTION partkv_internal.installation_claim() RETURNS uuid
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	here oid := (SELECT d.oid FROM pg_database d WHERE d.datname = current_database());
	old partkv_internal.installation;
	fresh uuid := gen_random_uuid();
BEGIN
	SELECT * INTO old FROM partkv_internal.installation i;
	IF old.database_oid = here THEN
		RETURN old.installation_id;
	END IF;
	-- the one lock partkv takes on it (see adopt_restored_tables)
	LOCK TABLE partkv_internal.installation IN EXCLUSIVE MODE;
	SELECT * INTO old FROM partkv_internal.installation i;
	IF old.database_oid = here THEN
		RETURN old.installation_id;
	END IF;
	UPDATE partkv_internal.installation SET installation_id = fresh, database_oid = here, created_at = now();
	UPDATE partkv.tables x SET installation_id = fresh WHERE x.installation_id = old.installation_id;
	UPDATE partkv.gsi_indexes x SET installation_id = fresh WHERE x.installation_id = old.installation_id;
	RETURN fresh;
END;
$$;

COMMENT ON FUNCTION partkv_internal.installation_claim() IS 'internal: give a copy of a database (CREATE DATABASE ... TEMPLATE) an installation of partkv of its own';

CREATE FUNCTION partkv_internal.installation_id() RETURNS uuid
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT i.installation_id FROM partkv_internal.installation i
	 WHERE i.database_oid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
$$;

COMMENT ON FUNCTION partkv_internal.installation_id() IS 'the id of this database''s installation of partkv (catalog rows made here carry it)';

CREATE FUNCTION partkv_internal.invalidate_table_cache(relid oid) RETURNS void
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_invalidate_table_cache';

COMMENT ON FUNCTION partkv_internal.invalidate_table_cache(relid oid) IS 'internal: make every backend reload a kv table''s metadata';

CREATE FUNCTION partkv_internal.key_column_type(attr_type text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT CASE attr_type WHEN 'S' THEN 'text COLLATE "C"'
						  WHEN 'N' THEN 'numeric'
						  WHEN 'B' THEN 'bytea' END
$$;

COMMENT ON FUNCTION partkv_internal.key_column_type(attr_type text) IS 'internal: the column type of a key attribute type';

CREATE FUNCTION partkv_internal.owns_table(p_schema name, p_table text) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT coalesce((SELECT pg_has_role(current_user, c.relowner, 'USAGE')
					   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
					  WHERE n.nspname = p_schema AND c.relname = p_table
						AND c.relkind = 'p'), false)
$$;

COMMENT ON FUNCTION partkv_internal.owns_table(p_schema name, p_table text) IS 'internal: whether the current role owns a kv table';

CREATE FUNCTION partkv_internal.resolve_table_name(name text, for_create boolean, OUT schema_name name, OUT table_name text) RETURNS record
    LANGUAGE plpgsql STABLE
    AS $$
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
$$;

COMMENT ON FUNCTION partkv_internal.resolve_table_name(name text, for_create boolean, OUT schema_name name, OUT table_name text) IS 'internal: schema and table of a DynamoDB table name';

CREATE FUNCTION partkv_internal.table_relation(schema_name name, table_name text) RETURNS regclass
    LANGUAGE c STABLE STRICT
    AS '$libdir/partkv', 'partkv_table_relation';

COMMENT ON FUNCTION partkv_internal.table_relation(schema_name name, table_name text) IS 'internal: the kv table a catalog row describes, or NULL when no such relation is there';

CREATE FUNCTION partkv_internal.tables_stamp() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	NEW.installation_id := coalesce(NEW.installation_id, partkv_internal.installation_claim());
	NEW.sequence_offset := coalesce(NEW.sequence_offset, 0);
	RETURN NEW;
END;
$$;

COMMENT ON FUNCTION partkv_internal.tables_stamp() IS 'internal: trigger giving a kv table''s catalog row made here this installation';

REVOKE ALL ON FUNCTION partkv_internal.execute_as_owner(relation regclass, statement text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- tables
--
-- Tables: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable,
-- their checks, and what dropping a kv table leaves behind.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.create_table(definition jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
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
$_$;

COMMENT ON FUNCTION partkv.create_table(definition jsonb) IS 'CreateTable from a DynamoDB request body (plus "Partitions", partkv''s partition count)';

CREATE FUNCTION partkv.create_table(table_name text, partition_key text, partition_key_type text DEFAULT 'S'::text, sort_key text DEFAULT NULL::text, sort_key_type text DEFAULT 'S'::text, partitions integer DEFAULT 8, local_indexes jsonb DEFAULT NULL::jsonb, global_indexes jsonb DEFAULT NULL::jsonb, stream_view_type text DEFAULT NULL::text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
	attrs jsonb := '{}';
	ks jsonb;
	body jsonb;
	idx jsonb;
	k jsonb;
BEGIN
	IF partition_key IS NULL THEN
		PERFORM partkv_internal.raise_error('ValidationException', '1 validation error detected: Value null at ''keySchema'' failed to satisfy constraint: Member must not be null');
	END IF;
	ks := pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', partition_key, 'KeyType', 'HASH'));
	attrs := pg_catalog.jsonb_build_object(partition_key, partition_key_type);
	IF sort_key IS NOT NULL THEN
		ks := ks || pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object('AttributeName', sort_key, 'KeyType', 'RANGE'));
		IF attrs ? sort_key AND attrs->>sort_key IS DISTINCT FROM sort_key_type THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Cannot have two attributes with the same name: %s', sort_key));
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
					PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Cannot have two attributes with the same name: %s', k->>'AttributeName'));
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
$$;

COMMENT ON FUNCTION partkv.create_table(table_name text, partition_key text, partition_key_type text, sort_key text, sort_key_type text, partitions integer, local_indexes jsonb, global_indexes jsonb, stream_view_type text) IS 'CreateTable: a kv table hashed over partitions on its partition key';

CREATE FUNCTION partkv.delete_table(table_name text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.delete_table(table_name text) IS 'DeleteTable: drops the table and its items';

CREATE FUNCTION partkv.describe_table(table_name text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
	SELECT partkv_internal.table_description(t, CASE WHEN t.installation_id = partkv_internal.installation_id()
											THEN 'ACTIVE' ELSE 'CREATING' END)
	  FROM partkv_internal.find_table(table_name) t
$$;

COMMENT ON FUNCTION partkv.describe_table(table_name text) IS 'DescribeTable';

CREATE FUNCTION partkv.list_tables() RETURNS SETOF text
    LANGUAGE sql STABLE
    AS $$
	-- A table is listed by the name that finds it: unqualified when it is
	-- the first match through search_path, schema-qualified otherwise.
	SELECT CASE WHEN (SELECT r.schema_name FROM partkv_internal.resolve_table_name(t.table_name, false) r) = t.schema_name
				THEN t.table_name
				ELSE t.schema_name || '.' || t.table_name END AS name
	  FROM partkv.tables t
	 ORDER BY 1
$$;

COMMENT ON FUNCTION partkv.list_tables() IS 'ListTables';

CREATE FUNCTION partkv.update_table(table_name text, changes jsonb) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	member text;
	spec jsonb;
	view_type text;
	enabled_now boolean;
	new_spec jsonb;
BEGIN
	IF changes IS NULL OR pg_catalog.jsonb_typeof(changes) <> 'object' THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'The UpdateTable request must be a JSON object');
	END IF;
	IF NOT (changes ? 'StreamSpecification' OR changes ? 'GlobalSecondaryIndexUpdates'
			OR changes ? 'ProvisionedThroughput' OR changes ? 'BillingMode'
			OR changes ? 'SSESpecification' OR changes ? 'ReplicaUpdates') THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required');
	END IF;
	FOR member IN SELECT pg_catalog.jsonb_object_keys(changes) LOOP
		IF member IN ('StreamSpecification', 'TableName') THEN
			CONTINUE;
		ELSIF member IN ('GlobalSecondaryIndexUpdates', 'AttributeDefinitions') THEN
			-- applied below by partkv_internal.gsi_update_table (src/index/gsi.c)
			CONTINUE;
		ELSIF member IN ('ProvisionedThroughput', 'BillingMode', 'SSESpecification', 'ReplicaUpdates',
						 'TableClass', 'DeletionProtectionEnabled', 'OnDemandThroughput', 'WarmThroughput') THEN
			RAISE EXCEPTION 'partkv does not support % in UpdateTable', member
				USING ERRCODE = 'feature_not_supported';
		ELSE
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Unexpected UpdateTable member: %s', member));
		END IF;
	END LOOP;
	IF NOT partkv_internal.owns_table(t.schema_name, t.table_name) THEN
		RAISE EXCEPTION 'must be owner of table %', t.table_name
			USING ERRCODE = 'insufficient_privilege';
	END IF;

	-- GlobalSecondaryIndexUpdates: one Create or Delete (src/index/gsi.c)
	IF changes ? 'GlobalSecondaryIndexUpdates' THEN
		t := partkv_internal.gsi_update_table(t, changes);
	END IF;

	IF changes ? 'StreamSpecification' THEN
		spec := changes->'StreamSpecification';
		IF pg_catalog.jsonb_typeof(spec) IS DISTINCT FROM 'object'
		   OR pg_catalog.jsonb_typeof(spec->'StreamEnabled') IS DISTINCT FROM 'boolean' THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: StreamSpecification requires StreamEnabled (true or false)');
		END IF;
		enabled_now := coalesce((t.stream_specification->>'StreamEnabled')::boolean, false);
		IF (spec->>'StreamEnabled')::boolean THEN
			view_type := spec->>'StreamViewType';
			IF view_type IS NULL OR view_type NOT IN ('KEYS_ONLY', 'NEW_IMAGE', 'OLD_IMAGE', 'NEW_AND_OLD_IMAGES') THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: Enabled stream must have a valid StreamViewType (KEYS_ONLY, NEW_IMAGE, OLD_IMAGE or NEW_AND_OLD_IMAGES)');
			END IF;
			IF enabled_now THEN
				PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Table already has an enabled stream: TableName: %s', t.table_name));
			END IF;
			new_spec := pg_catalog.jsonb_build_object('StreamEnabled', true, 'StreamViewType', view_type);
		ELSE
			IF spec ? 'StreamViewType' THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: StreamViewType cannot be specified when StreamEnabled is false');
			END IF;
			IF NOT enabled_now THEN
				PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Table does not have an enabled stream to disable: TableName: %s', t.table_name));
			END IF;
			new_spec := NULL;
		END IF;
		-- the trigger on partkv.tables opens or closes the stream and sets
		-- the partitions' replica identity
		PERFORM partkv_internal.catalog_write('update_table',
			pg_catalog.jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'set', pg_catalog.jsonb_build_object('stream_specification', new_spec)));
		t.stream_specification := new_spec;
	END IF;
	RETURN partkv_internal.table_description(t, 'ACTIVE') || partkv_internal.stream_description_fields(t);
END;
$$;

COMMENT ON FUNCTION partkv.update_table(table_name text, changes jsonb) IS 'UpdateTable: StreamSpecification (enable with a view type, or disable); GlobalSecondaryIndexUpdates (one Create or Delete)';

CREATE FUNCTION partkv_internal.check_indexes(indexes jsonb, is_local boolean, table_keys jsonb, seen_names text[]) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
	idx jsonb;
	ks jsonb;
	proj jsonb;
	ptype text;
	iname text;
	out jsonb := '[]';
	kind text := CASE WHEN is_local THEN 'LocalSecondaryIndexes' ELSE 'GlobalSecondaryIndexes' END;
BEGIN
	IF indexes IS NULL OR jsonb_typeof(indexes) = 'null' THEN
		RETURN '[]';
	END IF;
	IF jsonb_typeof(indexes) <> 'array' THEN
		PERFORM partkv_internal.raise_error('ValidationException', format('%s must be a list', kind));
	END IF;
	IF is_local AND jsonb_array_length(indexes) > 5 THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5');
	END IF;
	IF NOT is_local AND jsonb_array_length(indexes) > 20 THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: GlobalSecondaryIndex count exceeds the per-table limit of 20');
	END IF;
	IF is_local AND jsonb_array_length(indexes) > 0 AND jsonb_array_length(table_keys) < 2 THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex');
	END IF;
	FOR idx IN SELECT value FROM jsonb_array_elements(indexes) LOOP
		iname := idx->>'IndexName';
		IF jsonb_typeof(idx) <> 'object' OR iname IS NULL THEN
			PERFORM partkv_internal.raise_error('ValidationException', format('%s: every index needs an IndexName', kind));
		END IF;
		IF length(iname) < 3 OR length(iname) > 255 OR iname !~ '^[a-zA-Z0-9_.-]+$' THEN
			PERFORM partkv_internal.raise_error('ValidationException', format('1 validation error detected: Value ''%s'' at ''indexName'' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255', iname));
		END IF;
		IF iname = ANY (seen_names) THEN
			PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Duplicate index name: %s', iname));
		END IF;
		seen_names := seen_names || iname;
		ks := partkv_internal.check_key_schema(idx->'KeySchema', 'Index');
		IF is_local THEN
			IF jsonb_array_length(ks) < 2 THEN
				PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Index KeySchema does not have a range key for index: %s', iname));
			END IF;
			IF ks->0->>'AttributeName' <> table_keys->0->>'AttributeName' THEN
				PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: %s. index hash key: %s, table hash key: %s',
					iname, ks->0->>'AttributeName', table_keys->0->>'AttributeName'));
			END IF;
		END IF;
		proj := idx->'Projection';
		IF proj IS NULL OR jsonb_typeof(proj) <> 'object' THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'Unknown ProjectionType: null');
		END IF;
		ptype := proj->>'ProjectionType';
		IF ptype IS NULL OR ptype NOT IN ('ALL', 'KEYS_ONLY', 'INCLUDE') THEN
			PERFORM partkv_internal.raise_error('ValidationException', format('Unknown ProjectionType: %s', coalesce(ptype, 'null')));
		END IF;
		IF ptype <> 'INCLUDE' AND proj ? 'NonKeyAttributes' THEN
			PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: ProjectionType is %s, but NonKeyAttributes is specified', ptype));
		END IF;
		IF ptype = 'INCLUDE' THEN
			IF jsonb_typeof(proj->'NonKeyAttributes') IS DISTINCT FROM 'array'
			   OR jsonb_array_length(proj->'NonKeyAttributes') = 0 THEN
				PERFORM partkv_internal.raise_error('ValidationException', 'One or more parameter values were invalid: NonKeyAttributes must be specified when ProjectionType is INCLUDE');
			END IF;
			IF (SELECT count(DISTINCT v) <> count(*) FROM jsonb_array_elements_text(proj->'NonKeyAttributes') v) THEN
				PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Duplicate attribute names in NonKeyAttributes of index: %s', iname));
			END IF;
		END IF;
		out := out || jsonb_build_array(jsonb_build_object('IndexName', iname, 'KeySchema', ks,
														   'Projection', proj));
	END LOOP;
	RETURN out;
END;
$_$;

COMMENT ON FUNCTION partkv_internal.check_indexes(indexes jsonb, is_local boolean, table_keys jsonb, seen_names text[]) IS 'internal: validate the index list of a CreateTable request';

CREATE FUNCTION partkv_internal.check_key_schema(ks jsonb, what text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	n int;
	e jsonb;
	name text;
BEGIN
	IF ks IS NULL OR jsonb_typeof(ks) <> 'array' OR jsonb_array_length(ks) NOT BETWEEN 1 AND 2 THEN
		PERFORM partkv_internal.raise_error('ValidationException', format('1 validation error detected: Value at ''keySchema'' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1 (%s)', what));
	END IF;
	n := jsonb_array_length(ks);
	FOR i IN 0 .. n - 1 LOOP
		e := ks->i;
		name := e->>'AttributeName';
		IF jsonb_typeof(e) <> 'object' OR name IS NULL OR name = '' THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'Invalid KeySchema: every KeySchemaElement needs an AttributeName');
		END IF;
		IF octet_length(name) > 255 THEN
			PERFORM partkv_internal.raise_error('ValidationException', format('One or more parameter values were invalid: Key attribute name %s exceeds 255 bytes', left(name, 20)));
		END IF;
		IF i = 0 AND e->>'KeyType' IS DISTINCT FROM 'HASH' THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'Invalid KeySchema: The first KeySchemaElement is not a HASH key type');
		END IF;
		IF i = 1 AND e->>'KeyType' IS DISTINCT FROM 'RANGE' THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'Invalid KeySchema: The second KeySchemaElement is not a RANGE key type');
		END IF;
	END LOOP;
	IF n = 2 AND ks->0->>'AttributeName' = ks->1->>'AttributeName' THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'Both the Hash Key and the Range Key element in the KeySchema have the same name');
	END IF;
	RETURN (SELECT jsonb_agg(jsonb_build_object('AttributeName', v->>'AttributeName', 'KeyType', v->>'KeyType'))
			  FROM jsonb_array_elements(ks) v);
END;
$$;

COMMENT ON FUNCTION partkv_internal.check_key_schema(ks jsonb, what text) IS 'internal: validate a KeySchema list';

CREATE FUNCTION partkv_internal.drop_kv_tables() RETURNS event_trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	d record;
BEGIN
	FOR d IN SELECT DISTINCT o.schema_name, o.object_name
			   FROM pg_catalog.pg_event_trigger_dropped_objects() o
			   JOIN partkv.tables t ON t.schema_name = o.schema_name AND t.table_name = o.object_name
			  WHERE o.object_type = 'table' LOOP
		PERFORM partkv_internal.drop_table_leftovers(d.schema_name, d.object_name);
	END LOOP;
END;
$$;

COMMENT ON FUNCTION partkv_internal.drop_kv_tables() IS 'internal: event trigger removing the catalog rows, GSI storage, stream and handlers of dropped kv tables';

CREATE FUNCTION partkv_internal.drop_table_leftovers(p_schema name, p_table text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
	PERFORM partkv_internal.forget_dropped_table(p_schema, p_table);
END;
$$;

COMMENT ON FUNCTION partkv_internal.drop_table_leftovers(p_schema name, p_table text) IS 'internal: drop the GSI storage and catalog rows of a kv table that was dropped';

CREATE FUNCTION partkv_internal.forget_dropped_table(p_schema name, p_table text) RETURNS boolean
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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

COMMENT ON FUNCTION partkv_internal.forget_dropped_table(p_schema name, p_table text) IS 'internal: remove the catalog rows of a kv table that was dropped';

CREATE FUNCTION partkv_internal.guard_ddl() RETURNS event_trigger
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_guard_ddl';

COMMENT ON FUNCTION partkv_internal.guard_ddl() IS 'internal: event trigger refusing DDL that would break a kv table (dropping a partition, renaming, ...)';

CREATE FUNCTION partkv_internal.lsi_key_expression(attribute text, attribute_type text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT format('partkv.%s(item, %L)',
				  CASE attribute_type WHEN 'S' THEN 'key_text'
									  WHEN 'N' THEN 'key_numeric'
									  ELSE 'key_bytea' END,
				  attribute)
$$;

COMMENT ON FUNCTION partkv_internal.lsi_key_expression(attribute text, attribute_type text) IS 'The SQL expression of a local secondary index key over a kv table''s item column';

CREATE FUNCTION partkv_internal.table_description(t partkv.tables, status text) RETURNS jsonb
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
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
							   partkv_internal.lsi_key_expression(lsi->'KeySchema'->1->>'AttributeName',
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
		d := d || partkv_internal.gsi_description_fields(t);
	ELSIF jsonb_array_length(t.global_indexes) > 0 THEN
		d := d || jsonb_build_object('GlobalSecondaryIndexes',
			(SELECT jsonb_agg(i || jsonb_build_object('IndexStatus', 'DELETING'))
			   FROM jsonb_array_elements(t.global_indexes) i));
	END IF;
	IF t.stream_specification IS NOT NULL THEN
		d := d || jsonb_build_object('StreamSpecification', t.stream_specification);
	END IF;
	IF status <> 'DELETING' THEN
		d := d || partkv_internal.stream_description_fields(t);
	END IF;
	-- once TTL has been configured (src/ttl)
	IF t.time_to_live IS NOT NULL THEN
		d := d || jsonb_build_object('TimeToLiveDescription', partkv_internal.ttl_description(t));
	END IF;
	IF status <> 'DELETING' THEN
		d := d || partkv_internal.serving_description_fields(t);
	END IF;
	RETURN d;
END;
$$;

COMMENT ON FUNCTION partkv_internal.table_description(t partkv.tables, status text) IS 'internal: the TableDescription of a catalog row';

-------------------------------------------------------------------------------
-- item calls
--
-- Item calls, batches and transactions (C), and the idempotency tokens of
-- TransactWriteItems.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.batch_get_item(request jsonb, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_batch_get_item';

COMMENT ON FUNCTION partkv.batch_get_item(request jsonb, return_consumed_capacity text) IS 'BatchGetItem: up to 100 keys from one or more tables';

CREATE FUNCTION partkv.batch_write_item(request jsonb, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_batch_write_item';

COMMENT ON FUNCTION partkv.batch_write_item(request jsonb, return_consumed_capacity text) IS 'BatchWriteItem: up to 25 puts and deletes in one or more tables';

CREATE FUNCTION partkv.delete_item(table_name text, key jsonb, condition text DEFAULT NULL::text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, return_values text DEFAULT 'NONE'::text, return_values_on_condition_check_failure text DEFAULT 'NONE'::text, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_delete_item';

COMMENT ON FUNCTION partkv.delete_item(table_name text, key jsonb, condition text, attr_values jsonb, attr_names jsonb, return_values text, return_values_on_condition_check_failure text, return_consumed_capacity text) IS 'DeleteItem: delete the item with this key, optionally under a condition';

CREATE FUNCTION partkv.get_item(table_name text, key jsonb, projection text DEFAULT NULL::text, attr_names jsonb DEFAULT NULL::jsonb, consistent_read boolean DEFAULT false, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_get_item';

COMMENT ON FUNCTION partkv.get_item(table_name text, key jsonb, projection text, attr_names jsonb, consistent_read boolean, return_consumed_capacity text) IS 'GetItem: the item with this key, or NULL';

CREATE FUNCTION partkv.put_item(table_name text, item jsonb, condition text DEFAULT NULL::text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, return_values text DEFAULT 'NONE'::text, return_values_on_condition_check_failure text DEFAULT 'NONE'::text, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_put_item';

COMMENT ON FUNCTION partkv.put_item(table_name text, item jsonb, condition text, attr_values jsonb, attr_names jsonb, return_values text, return_values_on_condition_check_failure text, return_consumed_capacity text) IS 'PutItem: create or replace an item, optionally under a condition';

CREATE FUNCTION partkv.transact_get_items(request jsonb, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_transact_get_items';

COMMENT ON FUNCTION partkv.transact_get_items(request jsonb, return_consumed_capacity text) IS 'TransactGetItems: up to 100 items read as of one snapshot';

CREATE FUNCTION partkv.transact_write_items(request jsonb, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_transact_write_items';

COMMENT ON FUNCTION partkv.transact_write_items(request jsonb, return_consumed_capacity text) IS 'TransactWriteItems: up to 100 conditional writes, all or nothing';

CREATE FUNCTION partkv.update_item(table_name text, key jsonb, update text DEFAULT NULL::text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, condition text DEFAULT NULL::text, return_values text DEFAULT 'NONE'::text, return_values_on_condition_check_failure text DEFAULT 'NONE'::text, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_update_item';

COMMENT ON FUNCTION partkv.update_item(table_name text, key jsonb, update text, attr_values jsonb, attr_names jsonb, condition text, return_values text, return_values_on_condition_check_failure text, return_consumed_capacity text) IS 'UpdateItem: edit (or create) an item with an update expression';

CREATE FUNCTION partkv_internal.claim_request_token(p_token text, p_hash text) RETURNS jsonb
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION partkv_internal.claim_request_token(p_token text, p_hash text) IS 'internal: claim a ClientRequestToken, or return the response it already has';

CREATE FUNCTION partkv_internal.record_request_token(p_token text, p_response jsonb) RETURNS void
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	-- only the transaction that claimed the token may record its response
	UPDATE partkv_internal.client_request_tokens SET response = p_response
	 WHERE token = p_token AND response IS NULL AND xmin = xid(pg_current_xact_id())
$$;

COMMENT ON FUNCTION partkv_internal.record_request_token(p_token text, p_response jsonb) IS 'internal: store the response of the transaction that claimed a token';

-------------------------------------------------------------------------------
-- query and scan
--
-- Query and Scan: the SRFs, their pages, and the planner support that
-- calls the C functions directly.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv_internal.read_support(internal) RETURNS internal
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_read_support';

COMMENT ON FUNCTION partkv_internal.read_support(internal) IS 'internal: planner support of partkv.query and partkv.scan (outside FROM, call the C function directly)';

CREATE FUNCTION partkv.query(table_name text, key_condition text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, filter text DEFAULT NULL::text, projection text DEFAULT NULL::text, index_name text DEFAULT NULL::text, scan_forward boolean DEFAULT true, item_limit integer DEFAULT NULL::integer, exclusive_start_key jsonb DEFAULT NULL::jsonb, consistent_read boolean DEFAULT false) RETURNS SETOF jsonb
    LANGUAGE sql STABLE SUPPORT partkv_internal.read_support
    AS $_$ SELECT partkv_internal.query_items($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) $_$;

COMMENT ON FUNCTION partkv.query(table_name text, key_condition text, attr_values jsonb, attr_names jsonb, filter text, projection text, index_name text, scan_forward boolean, item_limit integer, exclusive_start_key jsonb, consistent_read boolean) IS 'Query: every item of one partition key matching the key condition and filter, in sort-key order (item_limit caps the items read); streamed, one snapshot';

CREATE FUNCTION partkv.query_page(table_name text, key_condition text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, filter text DEFAULT NULL::text, projection text DEFAULT NULL::text, index_name text DEFAULT NULL::text, scan_forward boolean DEFAULT true, item_limit integer DEFAULT NULL::integer, exclusive_start_key jsonb DEFAULT NULL::jsonb, consistent_read boolean DEFAULT false, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_query_page';

COMMENT ON FUNCTION partkv.query_page(table_name text, key_condition text, attr_values jsonb, attr_names jsonb, filter text, projection text, index_name text, scan_forward boolean, item_limit integer, exclusive_start_key jsonb, consistent_read boolean, return_consumed_capacity text) IS 'Query: one page {Items, Count, ScannedCount, LastEvaluatedKey} (item_limit items read or 1 MB)';

CREATE FUNCTION partkv.scan(table_name text, filter text DEFAULT NULL::text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, projection text DEFAULT NULL::text, index_name text DEFAULT NULL::text, segment integer DEFAULT NULL::integer, total_segments integer DEFAULT NULL::integer, item_limit integer DEFAULT NULL::integer, exclusive_start_key jsonb DEFAULT NULL::jsonb) RETURNS SETOF jsonb
    LANGUAGE sql STABLE SUPPORT partkv_internal.read_support
    AS $_$ SELECT partkv_internal.scan_items($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) $_$;

COMMENT ON FUNCTION partkv.scan(table_name text, filter text, attr_values jsonb, attr_names jsonb, projection text, index_name text, segment integer, total_segments integer, item_limit integer, exclusive_start_key jsonb) IS 'Scan: every item of the table (or of one parallel-scan segment) matching the filter (item_limit caps the items read); streamed, one snapshot';

CREATE FUNCTION partkv.scan_page(table_name text, filter text DEFAULT NULL::text, attr_values jsonb DEFAULT NULL::jsonb, attr_names jsonb DEFAULT NULL::jsonb, projection text DEFAULT NULL::text, index_name text DEFAULT NULL::text, segment integer DEFAULT NULL::integer, total_segments integer DEFAULT NULL::integer, item_limit integer DEFAULT NULL::integer, exclusive_start_key jsonb DEFAULT NULL::jsonb, return_consumed_capacity text DEFAULT 'NONE'::text) RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_scan_page';

COMMENT ON FUNCTION partkv.scan_page(table_name text, filter text, attr_values jsonb, attr_names jsonb, projection text, index_name text, segment integer, total_segments integer, item_limit integer, exclusive_start_key jsonb, return_consumed_capacity text) IS 'Scan: one page {Items, Count, ScannedCount, LastEvaluatedKey} (item_limit items read or 1 MB)';

CREATE FUNCTION partkv_internal.query_items(table_name text, key_condition text, attr_values jsonb, attr_names jsonb, filter text, projection text, index_name text, scan_forward boolean, item_limit integer, exclusive_start_key jsonb, consistent_read boolean) RETURNS SETOF jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_query';

COMMENT ON FUNCTION partkv_internal.query_items(table_name text, key_condition text, attr_values jsonb, attr_names jsonb, filter text, projection text, index_name text, scan_forward boolean, item_limit integer, exclusive_start_key jsonb, consistent_read boolean) IS 'internal: the items of a Query, one per call (partkv.query is inlined into a call of it)';

CREATE FUNCTION partkv_internal.scan_items(table_name text, filter text, attr_values jsonb, attr_names jsonb, projection text, index_name text, segment integer, total_segments integer, item_limit integer, exclusive_start_key jsonb) RETURNS SETOF jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_scan';

COMMENT ON FUNCTION partkv_internal.scan_items(table_name text, filter text, attr_values jsonb, attr_names jsonb, projection text, index_name text, segment integer, total_segments integer, item_limit integer, exclusive_start_key jsonb) IS 'internal: the items of a Scan, one per call (partkv.scan is inlined into a call of it)';

-------------------------------------------------------------------------------
-- global secondary indexes
--
-- Global secondary indexes: shape, storage, backfill, maintenance status.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.gsi_backlog() RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_gsi_backlog';

COMMENT ON FUNCTION partkv.gsi_backlog() IS 'the stream worker''s backlog of changes not yet applied to global secondary indexes (WAL bytes, seconds)';

CREATE FUNCTION partkv.verify_index(table_name text, index_name text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $_$
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
$_$;

COMMENT ON FUNCTION partkv.verify_index(table_name text, index_name text) IS 'recompute a global secondary index from its table: counts of missing, extra and stale entries, and of items checked';

CREATE FUNCTION partkv.wait_for_index(table_name text, index_name text, timeout interval DEFAULT '00:00:30'::interval) RETURNS boolean
    LANGUAGE plpgsql
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.wait_for_index(table_name text, index_name text, timeout interval) IS 'wait until a global secondary index is ACTIVE and holds every change committed before the call; false on timeout; an error when no worker will maintain it until something changes';

CREATE FUNCTION partkv_internal.gsi_backfill_step(schema_name name, table_name text, index_name text, batch integer) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
		PERFORM partkv_internal.invalidate_table_cache(rel);
		RETURN false;
	END IF;
	keycols := pg_catalog.format('%I', t.partition_key)
		|| CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', %I', t.sort_key) END;
	keydesc := pg_catalog.format('%I DESC', t.partition_key)
		|| CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', %I DESC', t.sort_key) END;
	IF g.backfill_after IS NOT NULL THEN
		cond := pg_catalog.format(' WHERE (%s) > (%L::%s%s)', keycols, g.backfill_after->>'pk',
					   partkv_internal.key_column_type(t.partition_key_type),
					   CASE WHEN t.sort_key IS NULL THEN ''
							ELSE pg_catalog.format(', %L::%s', g.backfill_after->>'sk', partkv_internal.key_column_type(t.sort_key_type)) END);
	END IF;
	s := partkv_internal.gsi_shape(t, gsi, 'b.item');
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
		partkv_internal.gsi_key_expression('b.item', s.gpk, s.gpk_type),
		CASE WHEN s.gsk IS NULL THEN '' ELSE ', ' || partkv_internal.gsi_key_expression('b.item', s.gsk, s.gsk_type) || ' AS gsk' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', b.%I', t.sort_key) END,
		s.projection,
		CASE WHEN s.gsk IS NULL THEN '' ELSE ' AND x.gsk IS NOT NULL' END,
		CASE WHEN t.sort_key IS NULL THEN '' ELSE pg_catalog.format(', ''sk'', b.%I::text', t.sort_key) END,
		keydesc,
		partkv_internal.gsi_base_hash_expression(t, 'g.base_pk', 'g.base_sk'),
		partkv_internal.gsi_base_hash_expression(t, pg_catalog.format('b.%I', t.partition_key),
										CASE WHEN t.sort_key IS NOT NULL THEN pg_catalog.format('b.%I', t.sort_key) END));
	SELECT x.n, x.last INTO n, last
	  FROM partkv_internal.execute_as_owner(pg_catalog.format('%I.%I', g.schema_name, g.storage_name)::regclass, sql)
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
			PERFORM partkv_internal.invalidate_table_cache(rel);
			RETURN false;
		END IF;
	END IF;
	UPDATE partkv.gsi_indexes x SET backfill_partition = part, backfill_after = last,
									items_done = x.items_done + n
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	RETURN true;
END;
$_$;

COMMENT ON FUNCTION partkv_internal.gsi_backfill_step(schema_name name, table_name text, index_name text, batch integer) IS 'internal: one batch of the backfill of a CREATING global secondary index (run by the stream worker)';

CREATE FUNCTION partkv_internal.gsi_base_hash_expression(t partkv.tables, pk text, sk text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT format('partkv_internal.xxhash_%s_extended(%s, 0)',
				  CASE t.partition_key_type WHEN 'S' THEN 'text' WHEN 'N' THEN 'numeric' ELSE 'bytea' END, pk)
		|| CASE WHEN t.sort_key IS NULL THEN ''
				ELSE format(' # partkv_internal.xxhash_%s_extended(%s, 1)',
							CASE t.sort_key_type WHEN 'S' THEN 'text' WHEN 'N' THEN 'numeric' ELSE 'bytea' END, sk)
		   END
$$;

COMMENT ON FUNCTION partkv_internal.gsi_base_hash_expression(t partkv.tables, pk text, sk text) IS 'internal: the hash of a table key that GSI storage indexes for replacing entries by table key';

CREATE FUNCTION partkv_internal.gsi_create_storage(t partkv.tables, gsi jsonb, storage_name text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
	s := partkv_internal.gsi_shape(t, gsi, 'item');
	ddl := format('CREATE TABLE %I.%I (gsi_pk %s NOT NULL', t.schema_name, storage_name,
				  partkv_internal.key_column_type(s.gpk_type));
	IF s.gsk IS NOT NULL THEN
		ddl := ddl || format(', gsi_sk %s NOT NULL', partkv_internal.key_column_type(s.gsk_type));
	END IF;
	ddl := ddl || format(', base_pk %s NOT NULL', partkv_internal.key_column_type(t.partition_key_type));
	IF t.sort_key IS NOT NULL THEN
		ddl := ddl || format(', base_sk %s NOT NULL', partkv_internal.key_column_type(t.sort_key_type));
	END IF;
	opclass := CASE s.gpk_type WHEN 'S' THEN 'partkv_internal.xxhash_text_ops'
							   WHEN 'N' THEN 'partkv_internal.xxhash_numeric_ops'
							   ELSE 'partkv_internal.xxhash_bytea_ops' END;
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
				   partkv_internal.gsi_base_hash_expression(t, 'base_pk', 'base_sk'));
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
$$;

COMMENT ON FUNCTION partkv_internal.gsi_create_storage(t partkv.tables, gsi jsonb, storage_name text) IS 'internal: create the partitioned storage of a GSI';

CREATE FUNCTION partkv_internal.gsi_description_fields(t partkv.tables) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
	not_served := partkv_internal.serving_member('gsi');
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

COMMENT ON FUNCTION partkv_internal.gsi_description_fields(t partkv.tables) IS 'internal: GSI members of a TableDescription';

CREATE FUNCTION partkv_internal.gsi_ensure(t partkv.tables) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
		sname := partkv_internal.gsi_storage_name(t.table_name, gsi->>'IndexName');
		created := partkv_internal.gsi_create_storage(t, gsi, sname);
		has_items := false;
		IF created AND rel IS NOT NULL THEN
			EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', rel) INTO has_items;
		END IF;
		INSERT INTO partkv.gsi_indexes (schema_name, table_name, index_name, storage_name, status,
										items_estimated, activated_at, installation_id)
		VALUES (t.schema_name, t.table_name, gsi->>'IndexName', sname,
				CASE WHEN has_items THEN 'CREATING' ELSE 'ACTIVE' END,
				CASE WHEN has_items THEN partkv_internal.gsi_estimate_items(rel) ELSE 0 END,
				CASE WHEN has_items THEN NULL ELSE now() END,
				partkv_internal.installation_claim());
	END LOOP;
END;
$$;

COMMENT ON FUNCTION partkv_internal.gsi_ensure(t partkv.tables) IS 'internal: create the storage and catalog rows of a kv table''s GSIs that lack them';

CREATE FUNCTION partkv_internal.gsi_estimate_items(rel regclass) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	n bigint;
BEGIN
	SELECT CASE WHEN bool_and(c.reltuples >= 0) THEN sum(c.reltuples)::bigint END INTO n
	  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = rel;
	IF n IS NULL THEN
		EXECUTE format('SELECT count(*) FROM %s', rel) INTO n;
	END IF;
	RETURN n;
END;
$$;

COMMENT ON FUNCTION partkv_internal.gsi_estimate_items(rel regclass) IS 'internal: estimated items of a table, for backfill progress';

CREATE FUNCTION partkv_internal.gsi_key_expression(src text, attribute text, attribute_type text) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT CASE attribute_type
		WHEN 'S' THEN format('NULLIF(partkv.key_text(%s, %L), '''')', src, attribute)
		WHEN 'N' THEN format('partkv.key_numeric(%s, %L)', src, attribute)
		ELSE format('NULLIF(partkv.key_bytea(%s, %L), ''\x''::bytea)', src, attribute) END
$$;

COMMENT ON FUNCTION partkv_internal.gsi_key_expression(src text, attribute text, attribute_type text) IS 'internal: SQL expression extracting a GSI key attribute';

CREATE FUNCTION partkv_internal.gsi_note_activation() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	IF TG_OP = 'INSERT' AND NEW.installation_id IS DISTINCT FROM partkv_internal.installation_claim() THEN
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

COMMENT ON FUNCTION partkv_internal.gsi_note_activation() IS 'internal: trigger recording the WAL position at which a GSI becomes ACTIVE';

CREATE FUNCTION partkv_internal.gsi_project(item jsonb, attributes text[]) RETURNS jsonb
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_gsi_project';

COMMENT ON FUNCTION partkv_internal.gsi_project(item jsonb, attributes text[]) IS 'internal: the item restricted to the given top-level attributes (index projections)';

CREATE FUNCTION partkv_internal.gsi_rebuild(schema_name name, table_name text, index_name text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
	PERFORM FROM partkv_internal.execute_as_owner(storage, pg_catalog.format('TRUNCATE %s', storage))
		AS x(nothing boolean);
	UPDATE partkv.gsi_indexes x
	   SET status = 'CREATING', backfill_partition = NULL, backfill_after = NULL, items_done = 0,
		   activated_at = NULL
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	rel := pg_catalog.to_regclass(pg_catalog.format('%I.%I', $1, $2));
	IF rel IS NOT NULL THEN
		PERFORM partkv_internal.invalidate_table_cache(rel);
	END IF;
	RETURN true;
END;
$_$;

COMMENT ON FUNCTION partkv_internal.gsi_rebuild(schema_name name, table_name text, index_name text) IS 'internal: empty a GSI and set it to be backfilled again (GSI worker with a new replication slot)';

CREATE FUNCTION partkv_internal.gsi_replica_identity() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	IF NEW.installation_id IS NOT DISTINCT FROM partkv_internal.installation_claim() THEN
		PERFORM partkv_internal.apply_stream_replica_identity(NEW.schema_name, NEW.table_name);
	END IF;
	RETURN NULL;
END;
$$;

COMMENT ON FUNCTION partkv_internal.gsi_replica_identity() IS 'internal: trigger giving a table whose GSIs change the replica identity they need';

CREATE FUNCTION partkv_internal.gsi_shape(t partkv.tables, gsi jsonb, src text, OUT gpk text, OUT gpk_type text, OUT gsk text, OUT gsk_type text, OUT projection text) RETURNS record
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	attrs text[];
BEGIN
	gpk := gsi->'KeySchema'->0->>'AttributeName';
	gsk := gsi->'KeySchema'->1->>'AttributeName';
	SELECT x->>'AttributeType' INTO gpk_type FROM jsonb_array_elements(t.attribute_definitions) x
	 WHERE x->>'AttributeName' = gpk;
	SELECT x->>'AttributeType' INTO gsk_type FROM jsonb_array_elements(t.attribute_definitions) x
	 WHERE x->>'AttributeName' = gsk;
	IF gsi->'Projection'->>'ProjectionType' = 'ALL' THEN
		projection := src;
	ELSE
		attrs := ARRAY[t.partition_key, gpk];
		IF t.sort_key IS NOT NULL THEN attrs := attrs || t.sort_key; END IF;
		IF gsk IS NOT NULL THEN attrs := attrs || gsk; END IF;
		IF gsi->'Projection'->>'ProjectionType' = 'INCLUDE' THEN
			attrs := attrs || ARRAY(SELECT jsonb_array_elements_text(gsi->'Projection'->'NonKeyAttributes'));
		END IF;
		projection := format('partkv_internal.gsi_project(%s, %L::text[])', src, attrs);
	END IF;
END;
$$;

COMMENT ON FUNCTION partkv_internal.gsi_shape(t partkv.tables, gsi jsonb, src text, OUT gpk text, OUT gpk_type text, OUT gsk text, OUT gsk_type text, OUT projection text) IS 'internal: key attributes, types and projection of a GSI';

CREATE FUNCTION partkv_internal.gsi_sync() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	g record;
	rel regclass;
BEGIN
	IF TG_OP <> 'DELETE' AND NEW.installation_id IS DISTINCT FROM partkv_internal.installation_claim() THEN
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
	PERFORM partkv_internal.gsi_ensure(NEW);
	rel := to_regclass(format('%I.%I', NEW.schema_name, NEW.table_name));
	IF rel IS NOT NULL THEN
		PERFORM partkv_internal.stream_invalidate(rel);
		PERFORM partkv_internal.invalidate_table_cache(rel);
	END IF;
	RETURN NULL;
END;
$$;

COMMENT ON FUNCTION partkv_internal.gsi_sync() IS 'internal: trigger creating and dropping the storage of global secondary indexes';

CREATE FUNCTION partkv_internal.gsi_update_table(t partkv.tables, changes jsonb) RETURNS partkv.tables
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION partkv_internal.gsi_update_table(t partkv.tables, changes jsonb) IS 'internal: GlobalSecondaryIndexUpdates of UpdateTable';

REVOKE ALL ON FUNCTION partkv_internal.gsi_backfill_step(schema_name name, table_name text, index_name text, batch integer) FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.gsi_rebuild(schema_name name, table_name text, index_name text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- time to live
--
-- Time to live.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.describe_time_to_live(table_name text) RETURNS jsonb
    LANGUAGE sql STABLE
    AS $$
	SELECT pg_catalog.jsonb_build_object('TimeToLiveDescription',
							  partkv_internal.ttl_description(partkv_internal.find_table(table_name)))
$$;

COMMENT ON FUNCTION partkv.describe_time_to_live(table_name text) IS 'DescribeTimeToLive';

CREATE FUNCTION partkv.run_ttl_sweep(table_name text DEFAULT NULL::text) RETURNS bigint
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_run_ttl_sweep';

COMMENT ON FUNCTION partkv.run_ttl_sweep(table_name text) IS 'Delete now, in this transaction, the expired items of a TTL-enabled table (NULL: of every one the caller may delete from); returns how many';

CREATE FUNCTION partkv.update_time_to_live(table_name text, attribute_name text, enabled boolean DEFAULT true) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	current_attribute text;
	index_name text := t.table_name || '_ttl';
	expr text;
BEGIN
	IF attribute_name IS NULL OR pg_catalog.length(attribute_name) NOT BETWEEN 1 AND 255 THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('1 validation error detected: Value ''%s'' at ''timeToLiveSpecification.attributeName'' failed to satisfy constraint: Member must have length less than or equal to 255 and greater than or equal to 1',
											   coalesce(attribute_name, 'null')));
	END IF;
	IF enabled IS NULL THEN
		PERFORM partkv_internal.raise_error('ValidationException', '1 validation error detected: Value null at ''timeToLiveSpecification.enabled'' failed to satisfy constraint: Member must not be null');
	END IF;
	IF NOT partkv_internal.owns_table(t.schema_name, t.table_name) THEN
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
			PERFORM partkv_internal.raise_error('ValidationException', 'TimeToLive is already enabled');
		ELSIF current_attribute IS NOT NULL THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		-- the sweeper's index: items whose attribute is a top-level Number
		expr := partkv_internal.lsi_key_expression(attribute_name, 'N');
		IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE pg_catalog.format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
		EXECUTE pg_catalog.format('CREATE INDEX %I ON %I.%I ((%s)) WHERE %s IS NOT NULL',
					   index_name, t.schema_name, t.table_name, expr, expr);
	ELSE
		IF current_attribute IS NULL THEN
			PERFORM partkv_internal.raise_error('ValidationException', 'TimeToLive is already disabled');
		ELSIF current_attribute <> attribute_name THEN
			PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('TimeToLive is active on a different AttributeName: current AttributeName is %s',
												   current_attribute));
		END IF;
		IF pg_catalog.to_regclass(pg_catalog.format('%I.%I', t.schema_name, index_name)) IS NOT NULL THEN
			EXECUTE pg_catalog.format('DROP INDEX %I.%I', t.schema_name, index_name);
		END IF;
	END IF;

	t.time_to_live := pg_catalog.jsonb_build_object('AttributeName', attribute_name, 'Enabled', enabled);
	PERFORM partkv_internal.catalog_write('update_table',
		pg_catalog.jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
						   'set', pg_catalog.jsonb_build_object('time_to_live', t.time_to_live)));
	RETURN pg_catalog.jsonb_build_object('TimeToLiveSpecification', t.time_to_live);
END;
$$;

COMMENT ON FUNCTION partkv.update_time_to_live(table_name text, attribute_name text, enabled boolean) IS 'UpdateTimeToLive: enable (or disable, naming the current attribute) the expiry of items whose attribute holds a past epoch time in seconds';

CREATE FUNCTION partkv_internal.ttl_description(t partkv.tables) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT CASE WHEN coalesce(t.time_to_live @> '{"Enabled": true}', false)
				THEN jsonb_build_object('TimeToLiveStatus', 'ENABLED',
										'AttributeName', t.time_to_live->>'AttributeName')
					 || coalesce((SELECT jsonb_build_object('partkv', m) FROM partkv_internal.serving_member('ttl') m
								   WHERE m IS NOT NULL), '{}')
				ELSE jsonb_build_object('TimeToLiveStatus', 'DISABLED') END
$$;

COMMENT ON FUNCTION partkv_internal.ttl_description(t partkv.tables) IS 'internal: the TimeToLiveDescription of a kv table''s catalog row';

-------------------------------------------------------------------------------
-- streams
--
-- Streams: shards and iterators, records, the worker's chunks and their
-- partitions, slot gaps, waiting for the worker.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.describe_stream(table_name text) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.describe_stream(table_name text) IS 'DescribeStream: the latest stream of a table and its shards (one per hash partition)';

CREATE FUNCTION partkv.get_records(shard_iterator text, item_limit integer DEFAULT 1000) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.get_records(shard_iterator text, item_limit integer) IS 'GetRecords: up to item_limit (1..1000) records of a shard, at most 1 MB, and the next iterator';

CREATE FUNCTION partkv.get_shard_iterator(table_name text, shard_id text, iterator_type text, sequence_number text DEFAULT NULL::text) RETURNS text
    LANGUAGE plpgsql
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.get_shard_iterator(table_name text, shard_id text, iterator_type text, sequence_number text) IS 'GetShardIterator: TRIM_HORIZON, LATEST, AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER; valid 15 minutes';

CREATE FUNCTION partkv.stream_records(table_name text, after_sequence_number text DEFAULT NULL::text, item_limit integer DEFAULT 1000) RETURNS SETOF jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	after text;
	gap record;
BEGIN
	PERFORM partkv_internal.check_stream_read(t);
	IF after_sequence_number IS NOT NULL THEN
		after := partkv_internal.check_sequence_number(after_sequence_number);
	END IF;
	IF item_limit IS NOT NULL AND item_limit < 0 THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'item_limit must not be negative');
	END IF;
	IF after IS NULL THEN
		-- from the start: after the last gap, as TRIM_HORIZON
		SELECT pg_catalog.max(g.to_sequence_number) INTO after FROM partkv_internal.table_stream_gaps(t.table_id) g;
	ELSE
		-- inside a gap, or before one with nothing left to read before it
		SELECT * INTO gap FROM partkv_internal.table_stream_gaps(t.table_id) g
		 WHERE g.to_sequence_number > after ORDER BY g.to_lsn LIMIT 1;
		IF FOUND AND (after >= gap.from_sequence_number
					  OR NOT EXISTS (SELECT 1 FROM partkv_internal.stream_records_after(t.table_id, after, 1))) THEN
			PERFORM partkv_internal.raise_stream_gap(gap.from_sequence_number, gap.to_sequence_number, gap.detected_at);
		END IF;
	END IF;
	RETURN QUERY
		SELECT r.record FROM partkv_internal.stream_records_after(t.table_id, after, item_limit) r;
END;
$$;

COMMENT ON FUNCTION partkv.stream_records(table_name text, after_sequence_number text, item_limit integer) IS 'the stream records of a table, all shards merged in sequence number order (NULL item_limit: all)';

CREATE FUNCTION partkv.stream_wait(timeout interval DEFAULT '00:00:30'::interval) RETURNS boolean
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_stream_wait';

COMMENT ON FUNCTION partkv.stream_wait(timeout interval) IS 'wait until the stream holds every change committed before the call; false on timeout';

CREATE FUNCTION partkv.stream_worker_status() RETURNS jsonb
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_stream_worker_status';

COMMENT ON FUNCTION partkv.stream_worker_status() IS 'the stream worker of this database: pid, WAL position reached, records written; NULL if none runs';

CREATE FUNCTION partkv_internal.apply_stream_replica_identity(schema_name name, table_name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
	PERFORM partkv_internal.stream_invalidate(rel);
END;
$_$;

COMMENT ON FUNCTION partkv_internal.apply_stream_replica_identity(schema_name name, table_name text) IS 'set the replica identity of a kv table''s partitions: FULL for a stream with old images or for GSIs';

CREATE FUNCTION partkv_internal.check_not_trimmed(s partkv.streams, after text, inclusive boolean) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	IF after IS NOT NULL AND s.trimmed_upto IS NOT NULL
	   AND (after < s.trimmed_upto OR (inclusive AND after = s.trimmed_upto)) THEN
		PERFORM partkv_internal.raise_error('TrimmedDataAccessException', 'The operation attempted to read past the oldest stream record in a shard.', detail => format('Records up to sequence number %s have been trimmed (partkv.stream_retention).', s.trimmed_upto), hint => 'Start again from TRIM_HORIZON.');
	END IF;
END;
$$;

COMMENT ON FUNCTION partkv_internal.check_not_trimmed(s partkv.streams, after text, inclusive boolean) IS 'internal: refuse stream positions older than the trim point';

CREATE FUNCTION partkv_internal.check_sequence_number(seq text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
DECLARE
	digits text := ltrim(seq, '0');
BEGIN
	IF seq IS NULL OR seq !~ '^[0-9]{1,40}$' OR length(digits) > 30 THEN
		PERFORM partkv_internal.raise_error('ValidationException', format('Invalid SequenceNumber: %s', seq));
	END IF;
	RETURN lpad(digits, 30, '0');
END;
$_$;

COMMENT ON FUNCTION partkv_internal.check_sequence_number(seq text) IS 'internal: validate and normalise a stream sequence number';

CREATE FUNCTION partkv_internal.check_stream_read(t partkv.tables) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION partkv_internal.check_stream_read(t partkv.tables) IS 'internal: the stream of a table is readable by the roles that may SELECT it';

CREATE FUNCTION partkv_internal.decode_shard_iterator(iterator text) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION partkv_internal.decode_shard_iterator(iterator text) IS 'internal: read a shard iterator, refusing expired ones';

CREATE FUNCTION partkv_internal.encode_shard_iterator(stream_id bigint, shard_id text, after text, inclusive boolean) RETURNS text
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT 'partkv-iterator:' ||
		   translate(encode(convert_to(jsonb_build_object(
					's', stream_id, 'h', shard_id, 'a', after, 'i', inclusive,
					't', extract(epoch FROM clock_timestamp()))::text, 'UTF8'), 'base64'),
					 E'\n', '')
$$;

COMMENT ON FUNCTION partkv_internal.encode_shard_iterator(stream_id bigint, shard_id text, after text, inclusive boolean) IS 'internal: build a shard iterator';

CREATE FUNCTION partkv_internal.latest_stream(t partkv.tables) RETURNS partkv.streams
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT s.* FROM partkv.streams s WHERE s.table_id = t.table_id ORDER BY s.stream_id DESC LIMIT 1
$$;

COMMENT ON FUNCTION partkv_internal.latest_stream(t partkv.tables) IS 'internal: the latest stream of a kv table';

CREATE FUNCTION partkv_internal.lsn_sequence_number(lsn pg_lsn) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT lpad((lsn - '0/0'::pg_lsn)::text, 20, '0') || '0000000000'
$$;

COMMENT ON FUNCTION partkv_internal.lsn_sequence_number(lsn pg_lsn) IS 'internal: the first sequence number at a WAL position';

CREATE FUNCTION partkv_internal.raise_sequence_offset(t partkv.tables) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	top pg_lsn;
	wanted bigint;
	rel regclass;
BEGIN
	SELECT max(m.lsn) INTO top
	  FROM (SELECT max(c.batch_lsn) AS lsn	-- at or above its records' sequence numbers
			  FROM partkv_internal.stream_chunks c
			 WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s WHERE s.table_id = t.table_id)
			UNION ALL
			SELECT max(partkv_internal.sequence_number_lsn(s.trimmed_upto))
			  FROM partkv.streams s WHERE s.table_id = t.table_id
			UNION ALL
			SELECT max(partkv_internal.sequence_number_lsn(h.position))
			  FROM partkv.stream_handlers h WHERE h.table_id = t.table_id) m;
	wanted := greatest(t.sequence_offset, coalesce(top - pg_current_wal_insert_lsn() + 1, 0))::bigint;
	IF wanted <= t.sequence_offset THEN
		RETURN false;
	END IF;
	UPDATE partkv.tables x SET sequence_offset = wanted
	 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name;
	rel := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	IF rel IS NOT NULL THEN
		PERFORM partkv_internal.stream_invalidate(rel);
	END IF;
	RETURN true;
END;
$$;

COMMENT ON FUNCTION partkv_internal.raise_sequence_offset(t partkv.tables) IS 'internal: keep the sequence numbers a kv table makes from now on above those it holds';

CREATE FUNCTION partkv_internal.raise_stream_gap(from_sequence_number text, to_sequence_number text, detected_at timestamp with time zone) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	PERFORM partkv_internal.raise_error('TrimmedDataAccessException', 'The data you are trying to access has been trimmed.', detail => format('The changes committed between sequence numbers %s and %s never reached the stream: PostgreSQL invalidated the stream worker''s replication slot (max_slot_wal_keep_size), which the worker found and replaced at %s.',
							  from_sequence_number, to_sequence_number, detected_at), hint => 'Start again from TRIM_HORIZON, which begins after the gap (see partkv.lost_slots).');
END;
$$;

COMMENT ON FUNCTION partkv_internal.raise_stream_gap(from_sequence_number text, to_sequence_number text, detected_at timestamp with time zone) IS 'internal: TrimmedDataAccessException for a read meeting a gap in the stream';

CREATE FUNCTION partkv_internal.readable_streams() RETURNS bigint[]
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT coalesce(array_agg(s.stream_id), '{}')
	  FROM partkv.streams s
	  JOIN partkv.tables t ON t.table_id = s.table_id
	  JOIN pg_namespace n ON n.nspname = t.schema_name
	  JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.table_name AND c.relkind = 'p'
	 WHERE has_table_privilege(c.oid, 'SELECT') AND NOT row_security_active(c.oid)
$$;

COMMENT ON FUNCTION partkv_internal.readable_streams() IS 'internal: ids of the streams whose table the current role may read';

CREATE FUNCTION partkv_internal.sequence_number_lsn(seq text) RETURNS pg_lsn
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT '0/0'::pg_lsn + left(seq, 20)::numeric
$$;

COMMENT ON FUNCTION partkv_internal.sequence_number_lsn(seq text) IS 'internal: the commit LSN a sequence number was made from';

CREATE FUNCTION partkv_internal.stream_arn(s partkv.streams) RETURNS text
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT format('arn:partkv:%s:%s:table/%s/stream/%s', current_database(), s.schema_name,
				  s.table_name, s.label)
$$;

COMMENT ON FUNCTION partkv_internal.stream_arn(s partkv.streams) IS 'internal: the ARN of a stream';

CREATE FUNCTION partkv_internal.stream_channel(table_name text) RETURNS text
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS '$libdir/partkv', 'partkv_stream_channel';

COMMENT ON FUNCTION partkv_internal.stream_channel(table_name text) IS 'the NOTIFY channel announcing new stream records of a table: LISTEN on it';

CREATE FUNCTION partkv_internal.stream_description_fields(t partkv.tables) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT coalesce((SELECT jsonb_build_object('LatestStreamArn', partkv_internal.stream_arn(s),
											   'LatestStreamLabel', s.label)
					   FROM partkv_internal.latest_stream(t) s WHERE s.stream_id IS NOT NULL), '{}')
$$;

COMMENT ON FUNCTION partkv_internal.stream_description_fields(t partkv.tables) IS 'LatestStreamArn and LatestStreamLabel of a kv table, for its TableDescription';

CREATE FUNCTION partkv_internal.stream_ensure_partition(at timestamp with time zone, width interval) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	lo timestamptz;
	hi timestamptz;
	pname text;
BEGIN
	IF EXISTS (SELECT 1 FROM partkv_internal.stream_partitions p WHERE p.lo <= at AND at < p.hi) THEN
		RETURN;
	END IF;
	-- partitions restored from a dump, or dropped by hand
	PERFORM partkv_internal.stream_partitions_sync();
	IF EXISTS (SELECT 1 FROM partkv_internal.stream_partitions p WHERE p.lo <= at AND at < p.hi) THEN
		RETURN;
	END IF;
	lo := date_bin(width, at, timestamptz '1970-01-01 00:00:00+00');
	hi := lo + width;
	lo := greatest(lo, (SELECT max(p.hi) FROM partkv_internal.stream_partitions p WHERE p.hi <= at));
	hi := least(hi, (SELECT min(p.lo) FROM partkv_internal.stream_partitions p WHERE p.lo > at));
	pname := 'stream_chunks_' || to_char(lo AT TIME ZONE 'UTC', 'YYYYMMDD_HH24MISS_US');
	EXECUTE format('CREATE TABLE partkv_internal.%I PARTITION OF partkv_internal.stream_chunks FOR VALUES FROM (%L) TO (%L)',
				   pname, lo, hi);
	PERFORM partkv_internal.stream_index_partition(pname);
	INSERT INTO partkv_internal.stream_partitions VALUES (pname, lo, hi);
END;
$$;

COMMENT ON FUNCTION partkv_internal.stream_ensure_partition(at timestamp with time zone, width interval) IS 'internal: create the stream partition holding a point in time';

CREATE FUNCTION partkv_internal.stream_gaps(s partkv.streams) RETURNS TABLE(from_sequence_number text, to_sequence_number text, from_lsn pg_lsn, to_lsn pg_lsn, detected_at timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT partkv_internal.lsn_sequence_number(l.from_lsn), partkv_internal.lsn_sequence_number(l.to_lsn),
		   l.from_lsn, l.to_lsn, l.detected_at
	  FROM partkv.lost_slots l
	 WHERE l.worker = 'stream' AND l.to_lsn IS NOT NULL
	   AND s.created_lsn < l.to_lsn AND (s.disabled_lsn IS NULL OR s.disabled_lsn > l.from_lsn)
	 ORDER BY l.to_lsn
$$;

COMMENT ON FUNCTION partkv_internal.stream_gaps(s partkv.streams) IS 'internal: the gaps of a stream (changes lost with the stream worker''s replication slot)';

CREATE FUNCTION partkv_internal.stream_index_partition(pname text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON partkv_internal.%I (stream_id, shard_id, last_sequence_number)',
				   pname || '_shard', pname);
	EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON partkv_internal.%I (stream_id, batch_lsn)',
				   pname || '_batch', pname);
END;
$$;

COMMENT ON FUNCTION partkv_internal.stream_index_partition(pname text) IS 'internal: index a partition of partkv_internal.stream_chunks';

CREATE FUNCTION partkv_internal.stream_invalidate(relid regclass) RETURNS void
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_stream_invalidate';

COMMENT ON FUNCTION partkv_internal.stream_invalidate(relid regclass) IS 'internal: make logical decoding reread the stream specification of a kv table';

CREATE FUNCTION partkv_internal.stream_maintain(retention interval, width interval) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	p record;
BEGIN
	PERFORM set_config('lock_timeout', '100ms', true);
	BEGIN
		PERFORM partkv_internal.stream_partitions_sync();
		IF EXISTS (SELECT 1 FROM partkv.streams s JOIN partkv.tables t USING (table_id)
					WHERE s.disabled_at IS NULL AND t.installation_id = partkv_internal.installation_id()) THEN
			PERFORM partkv_internal.stream_ensure_partition(now(), width);
			PERFORM partkv_internal.stream_ensure_partition(now() + width, width);
		END IF;
	EXCEPTION WHEN lock_not_available THEN
		NULL;
	END;
	FOR p IN SELECT * FROM partkv_internal.stream_partitions sp
			  WHERE sp.hi <= now() - retention ORDER BY sp.lo LOOP
		BEGIN
			EXECUTE format('UPDATE partkv.streams s SET trimmed_upto = greatest(s.trimmed_upto, m.last)'
						   '  FROM (SELECT stream_id, max(last_sequence_number) AS last FROM partkv_internal.%I GROUP BY stream_id) m'
						   ' WHERE m.stream_id = s.stream_id', p.partition_name);
			EXECUTE format('DROP TABLE partkv_internal.%I', p.partition_name);
			DELETE FROM partkv_internal.stream_partitions sp WHERE sp.partition_name = p.partition_name;
		EXCEPTION WHEN lock_not_available THEN
			EXIT;
		END;
	END LOOP;
	DELETE FROM partkv.streams s
	 WHERE s.disabled_at < now() - retention
	   AND NOT EXISTS (SELECT 1 FROM partkv_internal.stream_chunks c WHERE c.stream_id = s.stream_id);
END;
$$;

COMMENT ON FUNCTION partkv_internal.stream_maintain(retention interval, width interval) IS 'internal: create upcoming stream partitions and drop those past retention';

CREATE FUNCTION partkv_internal.stream_partitions_sync() RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET "DateStyle" TO 'ISO, YMD'
    AS $$
BEGIN
	DELETE FROM partkv_internal.stream_partitions p
	 WHERE NOT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
						WHERE i.inhparent = 'partkv_internal.stream_chunks'::regclass
						  AND c.relname = p.partition_name
						  AND c.relnamespace = 'partkv_internal'::regnamespace);
	INSERT INTO partkv_internal.stream_partitions (partition_name, lo, hi)
	SELECT c.relname, b[1]::timestamptz, b[2]::timestamptz
	  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid,
		   regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') b
	 WHERE i.inhparent = 'partkv_internal.stream_chunks'::regclass
	   AND NOT EXISTS (SELECT 1 FROM partkv_internal.stream_partitions p WHERE p.partition_name = c.relname);
END;
$$;

COMMENT ON FUNCTION partkv_internal.stream_partitions_sync() IS 'internal: bring partkv_internal.stream_partitions in line with the partitions of partkv_internal.stream_chunks';

CREATE FUNCTION partkv_internal.stream_records_after(table_id uuid, after text, item_limit integer) RETURNS TABLE(sequence_number text, record jsonb)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	WITH gap AS (SELECT g.from_sequence_number AS seq, g.from_lsn AS lsn
				   FROM partkv_internal.table_stream_gaps(stream_records_after.table_id) g
				  WHERE after IS NULL OR g.to_sequence_number > after
				  ORDER BY g.to_lsn LIMIT 1)
	SELECT r.seq, r.record
	  FROM partkv_internal.stream_chunks c,
		   unnest(c.sequence_numbers, c.records) WITH ORDINALITY AS r(seq, record, ord)
	 WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s WHERE s.table_id = stream_records_after.table_id)
	   AND (after IS NULL OR (c.batch_lsn >= partkv_internal.sequence_number_lsn(after)
							  AND c.last_sequence_number > after AND r.seq > after))
	   AND (NOT EXISTS (SELECT 1 FROM gap)
			OR (c.batch_lsn <= (SELECT gap.lsn FROM gap) AND r.seq < (SELECT gap.seq FROM gap)))
	 ORDER BY c.batch_lsn, r.seq
	 LIMIT item_limit
$$;

COMMENT ON FUNCTION partkv_internal.stream_records_after(table_id uuid, after text, item_limit integer) IS 'internal: the stream records of a table after a sequence number, in order';

CREATE FUNCTION partkv_internal.stream_shard_id(partition regclass) RETURNS text
    LANGUAGE c STABLE STRICT
    AS '$libdir/partkv', 'partkv_stream_shard_id';

COMMENT ON FUNCTION partkv_internal.stream_shard_id(partition regclass) IS 'the stream shard id ("shardId-<modulus>-<remainder>") of a kv table partition';

CREATE FUNCTION partkv_internal.stream_specification_changed() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		UPDATE partkv.streams s SET disabled_at = now(), disabled_lsn = pg_current_wal_insert_lsn()
		 WHERE s.table_id = OLD.table_id AND s.disabled_at IS NULL;
		DELETE FROM partkv.stream_handlers h WHERE h.table_id = OLD.table_id;
		RETURN NULL;
	END IF;
	-- restored rows are left to partkv_internal.adopt_table
	IF NEW.installation_id IS NOT DISTINCT FROM partkv_internal.installation_claim() THEN
		PERFORM partkv_internal.stream_sync(NEW);
	END IF;
	RETURN NULL;
END;
$$;

COMMENT ON FUNCTION partkv_internal.stream_specification_changed() IS 'internal: trigger keeping streams, replica identity and decoding caches in line with stream specifications';

CREATE FUNCTION partkv_internal.stream_sync(t partkv.tables) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
	PERFORM partkv_internal.apply_stream_replica_identity(t.schema_name, t.table_name);
END;
$$;

COMMENT ON FUNCTION partkv_internal.stream_sync(t partkv.tables) IS 'internal: open or close a kv table''s stream as its stream specification says';

CREATE FUNCTION partkv_internal.table_stream_gaps(table_id uuid) RETURNS TABLE(from_sequence_number text, to_sequence_number text, from_lsn pg_lsn, to_lsn pg_lsn, detected_at timestamp with time zone)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT DISTINCT g.*
	  FROM partkv.streams s, partkv_internal.stream_gaps(s) g
	 WHERE s.table_id = table_stream_gaps.table_id
	 ORDER BY g.to_lsn
$$;

COMMENT ON FUNCTION partkv_internal.table_stream_gaps(table_id uuid) IS 'internal: the gaps of the streams of a kv table';

CREATE FUNCTION partkv_internal.worker_progress() RETURNS TABLE(worker text, slot_name name, pid integer, caught_up_at timestamp with time zone, lag interval)
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_worker_progress';

COMMENT ON FUNCTION partkv_internal.worker_progress() IS 'the stream and GSI workers of this database: slot, pid, when each last had consumed all WAL, and its lag';

REVOKE ALL ON FUNCTION partkv_internal.raise_sequence_offset(t partkv.tables) FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.stream_ensure_partition(at timestamp with time zone, width interval) FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.stream_index_partition(pname text) FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.stream_maintain(retention interval, width interval) FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.stream_partitions_sync() FROM PUBLIC;

-------------------------------------------------------------------------------
-- stream handlers
--
-- Stream handlers and their dead letters.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.add_stream_handler(table_name text, handler regproc, batch_size integer DEFAULT 100, max_attempts integer DEFAULT 3) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
DECLARE
	t partkv.tables := partkv_internal.find_table(table_name);
	h partkv.stream_handlers;
	p record;
BEGIN
	PERFORM partkv_internal.check_stream_read(t);
	IF handler IS NULL THEN
		PERFORM partkv_internal.raise_error('ValidationException', 'handler must not be null');
	END IF;
	SELECT pr.prokind, pr.pronargs, pr.proargtypes[0] AS argtype INTO p
	  FROM pg_catalog.pg_proc pr WHERE pr.oid = handler;
	IF p.prokind <> 'f' OR p.pronargs <> 1 OR p.argtype <> 'pg_catalog.jsonb'::pg_catalog.regtype THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('stream handler %s must be a function taking one jsonb argument (the records)', handler));
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
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('1 validation error detected: Value ''%s'' at ''batchSize'' failed to satisfy constraint: Member must have value between 1 and 10000', batch_size));
	END IF;
	IF max_attempts IS NULL OR max_attempts NOT BETWEEN 1 AND 100 THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('max_attempts must be between 1 and 100, not %s', max_attempts));
	END IF;
	IF NOT EXISTS (SELECT 1 FROM partkv.streams s WHERE s.table_id = t.table_id AND s.disabled_at IS NULL) THEN
		PERFORM partkv_internal.raise_error('ValidationException', pg_catalog.format('Table %s has no enabled stream', t.table_name));
	END IF;
	IF EXISTS (SELECT 1 FROM partkv.stream_handlers x WHERE x.table_id = t.table_id AND x.handler = add_stream_handler.handler) THEN
		RAISE EXCEPTION 'The stream handler % of table % already exists', handler, t.table_name
			USING ERRCODE = 'duplicate_object';
	END IF;
	-- handlers start with the changes committed from now on (LATEST)
	h := pg_catalog.jsonb_populate_record(NULL::partkv.stream_handlers,
		partkv_internal.catalog_write('add_handler',
			pg_catalog.jsonb_build_object('schema_name', t.schema_name, 'table_name', t.table_name,
							   'handler', handler::oid::bigint, 'batch_size', batch_size,
							   'max_attempts', max_attempts,
							   'position', partkv_internal.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn() + t.sequence_offset))));
	RETURN partkv_internal.stream_handler_description(h);
END;
$$;

COMMENT ON FUNCTION partkv.add_stream_handler(table_name text, handler regproc, batch_size integer, max_attempts integer) IS 'register a function f(records jsonb) that a worker connected as the current role calls with batches of the table''s stream records';

CREATE FUNCTION partkv.list_stream_handlers(table_name text DEFAULT NULL::text) RETURNS SETOF jsonb
    LANGUAGE plpgsql STABLE
    AS $$
DECLARE
	t partkv.tables;
BEGIN
	IF table_name IS NOT NULL THEN
		t := partkv_internal.find_table(table_name);
	END IF;
	RETURN QUERY
		SELECT partkv_internal.stream_handler_description(h)
		  FROM partkv.stream_handlers h
		 WHERE t.table_id IS NULL OR h.table_id = t.table_id
		 ORDER BY h.handler_id;
END;
$$;

COMMENT ON FUNCTION partkv.list_stream_handlers(table_name text) IS 'the stream handlers the current role may see, of one table or all';

CREATE FUNCTION partkv.remove_stream_handler(table_name text, handler regproc) RETURNS jsonb
    LANGUAGE plpgsql
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.remove_stream_handler(table_name text, handler regproc) IS 'unregister a stream handler (its dead letters go with it)';

CREATE FUNCTION partkv.replay_dead_letter(id bigint) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
$$;

COMMENT ON FUNCTION partkv.replay_dead_letter(id bigint) IS 'hand a dead letter to its handler again (the stream worker does it; the dead letter goes once handled)';

CREATE FUNCTION partkv.stream_handlers_wait(timeout interval DEFAULT '00:00:30'::interval) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
				   AND EXISTS (SELECT 1 FROM partkv_internal.stream_chunks c
								WHERE c.stream_id IN (SELECT s.stream_id FROM partkv.streams s
													   WHERE s.table_id = h.table_id)
								  AND c.batch_lsn >= partkv_internal.sequence_number_lsn(h.position)
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

COMMENT ON FUNCTION partkv.stream_handlers_wait(timeout interval) IS 'wait until the stream handlers have handled every change committed before the call; false on timeout';

CREATE FUNCTION partkv_internal.check_handler_served() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	IF current_query() !~* '^\s*copy\s' THEN
		PERFORM partkv_internal.check_served('stream', NEW.table_name);
	END IF;
	RETURN NEW;
END;
$$;

COMMENT ON FUNCTION partkv_internal.check_handler_served() IS 'internal: trigger refusing a stream handler that no worker would run';

CREATE FUNCTION partkv_internal.stream_handler_description(h partkv.stream_handlers) RETURNS jsonb
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT jsonb_build_object(
		'HandlerId', h.handler_id,
		'TableName', h.table_name,
		'Handler', h.handler::text,
		'Role', h.role_name,
		'BatchSize', h.batch_size,
		'MaximumAttempts', h.max_attempts,
		'State', CASE WHEN h.enabled THEN 'Enabled' ELSE 'Disabled' END,
		'Position', h.position,
		'LastProcessingResult', CASE WHEN h.last_error IS NULL THEN 'OK' ELSE h.last_error END,
		'DeadLetters', (SELECT count(*) FROM partkv.dead_letters d WHERE d.handler_id = h.handler_id))
$$;

COMMENT ON FUNCTION partkv_internal.stream_handler_description(h partkv.stream_handlers) IS 'internal: a stream handler as JSON';

CREATE FUNCTION partkv_internal.stream_handler_pass_gap(handler_id bigint) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
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
	SELECT * INTO gap FROM partkv_internal.table_stream_gaps(h.table_id) g
	 WHERE g.to_sequence_number > h.position ORDER BY g.to_lsn LIMIT 1;
	IF NOT FOUND OR EXISTS (SELECT 1 FROM partkv_internal.stream_records_after(h.table_id, h.position, 1)) THEN
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

COMMENT ON FUNCTION partkv_internal.stream_handler_pass_gap(handler_id bigint) IS 'internal: move a stream handler past a gap in the stream, recording it as a dead letter';

REVOKE ALL ON FUNCTION partkv_internal.stream_handler_pass_gap(handler_id bigint) FROM PUBLIC;

-------------------------------------------------------------------------------
-- serving status and statistics
--
-- Serving status (what the workers serve) and statistics.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.reset_stats(table_name text DEFAULT NULL::text) RETURNS void
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_reset_stats';

COMMENT ON FUNCTION partkv.reset_stats(table_name text) IS 'Forget the statistics of one kv table (its owner), or of every kv table of this database, dropped ones included (NULL: superuser)';

CREATE FUNCTION partkv_internal.check_served(feature text, table_name text, index_name text DEFAULT NULL::text) RETURNS void
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_check_served';

COMMENT ON FUNCTION partkv_internal.check_served(feature text, table_name text, index_name text) IS 'internal: raise an error when a table''s stream, GSI or TTL would not be served until a setting or the database changes';

CREATE FUNCTION partkv_internal.check_tables_served() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	gsi jsonb;
BEGIN
	IF current_query() ~* '^\s*copy\s' THEN
		RETURN NEW;
	END IF;
	IF coalesce(NEW.stream_specification @> '{"StreamEnabled": true}', false)
	   AND (TG_OP = 'INSERT' OR NOT coalesce(OLD.stream_specification @> '{"StreamEnabled": true}', false)) THEN
		PERFORM partkv_internal.check_served('stream', NEW.table_name);
	END IF;
	FOR gsi IN SELECT value FROM jsonb_array_elements(NEW.global_indexes) LOOP
		IF TG_OP = 'INSERT' OR NOT EXISTS (SELECT 1 FROM jsonb_array_elements(OLD.global_indexes) o
											 WHERE o->>'IndexName' = gsi->>'IndexName') THEN
			PERFORM partkv_internal.check_served('gsi', NEW.table_name, gsi->>'IndexName');
		END IF;
	END LOOP;
	IF coalesce(NEW.time_to_live @> '{"Enabled": true}', false)
	   AND (TG_OP = 'INSERT' OR NOT coalesce(OLD.time_to_live @> '{"Enabled": true}', false)) THEN
		PERFORM partkv_internal.check_served('ttl', NEW.table_name);
	END IF;
	RETURN NEW;
END;
$$;

COMMENT ON FUNCTION partkv_internal.check_tables_served() IS 'internal: trigger refusing a stream, GSI or TTL that no worker would serve';

CREATE FUNCTION partkv_internal.serving(feature text) RETURNS jsonb
    LANGUAGE c STRICT
    AS '$libdir/partkv', 'partkv_serving';

COMMENT ON FUNCTION partkv_internal.serving(feature text) IS 'NULL when this database''s feature (''stream'', ''gsi'' or ''ttl'') is served by its partkv worker, else {"Served": false, "Transient": ..., "Reason": ..., "Hint": ...}';

CREATE FUNCTION partkv_internal.serving_description_fields(t partkv.tables) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	member jsonb;
	m jsonb;
	features text[] := '{}';
BEGIN
	IF coalesce(t.stream_specification @> '{"StreamEnabled": true}', false) THEN
		m := partkv_internal.serving_member('stream');
		IF m IS NOT NULL THEN
			member := coalesce(member, m);
			features := features || 'Stream'::text;
		END IF;
	END IF;
	IF jsonb_array_length(t.global_indexes) > 0 THEN
		m := partkv_internal.serving_member('gsi');
		IF m IS NOT NULL THEN
			member := coalesce(member, m);
			features := features || 'GlobalSecondaryIndexes'::text;
		END IF;
	END IF;
	IF coalesce(t.time_to_live @> '{"Enabled": true}', false) THEN
		m := partkv_internal.serving_member('ttl');
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

COMMENT ON FUNCTION partkv_internal.serving_description_fields(t partkv.tables) IS 'internal: the "partkv" member of a TableDescription when its stream, GSIs or TTL are not served';

CREATE FUNCTION partkv_internal.serving_member(feature text) RETURNS jsonb
    LANGUAGE sql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
	SELECT s - 'Transient' FROM partkv_internal.serving(feature) s
	 WHERE NOT (s->>'Transient')::boolean
$$;

COMMENT ON FUNCTION partkv_internal.serving_member(feature text) IS 'internal: the "partkv" member of a description when a feature is not served';

CREATE FUNCTION partkv_internal.serving_states() RETURNS TABLE(feature text, served boolean, transient boolean, reason text, hint text, worker_pid integer, since timestamp with time zone)
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_serving_status';

COMMENT ON FUNCTION partkv_internal.serving_states() IS 'internal: the rows of partkv.serving_status';

CREATE FUNCTION partkv_internal.stats_counters(OUT relid oid, OUT table_relid oid, OUT reads bigint, OUT items_read bigint, OUT bytes_read bigint, OUT read_units double precision, OUT writes bigint, OUT items_written bigint, OUT items_deleted bigint, OUT bytes_written bigint, OUT write_units double precision, OUT condition_check_failures bigint, OUT ttl_deletes bigint) RETURNS SETOF record
    LANGUAGE c
    AS '$libdir/partkv', 'partkv_stats_counters';

COMMENT ON FUNCTION partkv_internal.stats_counters(OUT relid oid, OUT table_relid oid, OUT reads bigint, OUT items_read bigint, OUT bytes_read bigint, OUT read_units double precision, OUT writes bigint, OUT items_written bigint, OUT items_deleted bigint, OUT bytes_written bigint, OUT write_units double precision, OUT condition_check_failures bigint, OUT ttl_deletes bigint) IS 'Raw shared-memory counters of the kv table partitions of this database (read them through partkv.partition_stats)';

CREATE FUNCTION partkv_internal.table_serving(t partkv.tables) RETURNS jsonb
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	s jsonb;
	used boolean := false;
BEGIN
	IF coalesce(t.stream_specification @> '{"StreamEnabled": true}', false) THEN
		used := true;
		s := partkv_internal.serving('stream');
	END IF;
	IF s IS NULL AND jsonb_array_length(t.global_indexes) > 0 THEN
		used := true;
		s := partkv_internal.serving('gsi');
	END IF;
	IF s IS NULL AND coalesce(t.time_to_live @> '{"Enabled": true}', false) THEN
		used := true;
		s := partkv_internal.serving('ttl');
	END IF;
	IF NOT used THEN
		RETURN NULL;
	END IF;
	RETURN coalesce(s, '{"Served": true}');
END;
$$;

COMMENT ON FUNCTION partkv_internal.table_serving(t partkv.tables) IS 'internal: whether a kv table''s stream, GSIs and TTL are served, for partkv.table_stats';

-------------------------------------------------------------------------------
-- dump and restore
--
-- Dump and restore: adopting restored kv tables.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.adopt_restored_tables(force boolean DEFAULT false) RETURNS integer
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	t partkv.tables;
	n int := 0;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM partkv.tables x
					WHERE x.installation_id IS DISTINCT FROM partkv_internal.installation_id()) THEN
		RETURN 0;
	END IF;
	LOCK TABLE partkv_internal.installation IN EXCLUSIVE MODE;
	PERFORM partkv_internal.installation_claim();	-- in a copy of another database
	FOR t IN SELECT * FROM partkv.tables x
			  WHERE x.installation_id IS DISTINCT FROM partkv_internal.installation_id()
			  ORDER BY x.schema_name, x.table_name LOOP
		IF (force OR partkv_internal.restore_loaded(t)) AND partkv_internal.adopt_table(t.schema_name, t.table_name) THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END;
$$;

COMMENT ON FUNCTION partkv.adopt_restored_tables(force boolean) IS 'adopt the kv tables a restore has loaded (done by itself during the restore); force: every restored table, after a data-only restore';

CREATE FUNCTION partkv_internal.adopt_restored_tables_copy() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
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
				  WHERE x.installation_id = partkv_internal.installation_id()
					AND EXISTS (SELECT 1 FROM partkv.stream_handlers h
								 WHERE h.table_id = x.table_id
								   AND partkv_internal.sequence_number_lsn(h.position)
									   >= pg_current_wal_insert_lsn() + x.sequence_offset) LOOP
			PERFORM partkv_internal.raise_sequence_offset(t);
		END LOOP;
	END IF;
	RETURN NULL;
END;
$$;

COMMENT ON FUNCTION partkv_internal.adopt_restored_tables_copy() IS 'internal: trigger adopting restored kv tables once the restore has loaded partkv''s catalogs';

CREATE FUNCTION partkv_internal.adopt_restored_tables_ddl() RETURNS event_trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
BEGIN
	PERFORM partkv.adopt_restored_tables(false);
END;
$$;

COMMENT ON FUNCTION partkv_internal.adopt_restored_tables_ddl() IS 'internal: event trigger adopting restored kv tables once the restore has built their indexes';

CREATE FUNCTION partkv_internal.adopt_table(p_schema name, p_table text) RETURNS boolean
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
	t partkv.tables;
	here uuid := partkv_internal.installation_id();
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
	PERFORM partkv_internal.raise_sequence_offset(t);
	SELECT * INTO t FROM partkv.tables x WHERE x.schema_name = p_schema AND x.table_name = p_table;
	-- a restored closed stream's WAL position is the dumped cluster's: its
	-- shards end once the stream worker has passed this point
	UPDATE partkv.streams s SET disabled_lsn = pg_current_wal_insert_lsn()
	 WHERE s.table_id = t.table_id AND s.disabled_lsn IS NOT NULL;
	PERFORM partkv_internal.stream_sync(t);
	PERFORM partkv_internal.gsi_ensure(t);
	FOR g IN SELECT x.index_name FROM partkv.gsi_indexes x
			  WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name LOOP
		UPDATE partkv.gsi_indexes x SET installation_id = here
		 WHERE x.schema_name = t.schema_name AND x.table_name = t.table_name AND x.index_name = g.index_name;
		PERFORM partkv_internal.gsi_rebuild(t.schema_name, t.table_name, g.index_name);
	END LOOP;
	rel := to_regclass(format('%I.%I', t.schema_name, t.table_name));
	IF rel IS NOT NULL THEN
		PERFORM partkv_internal.stream_invalidate(rel);
		PERFORM partkv_internal.invalidate_table_cache(rel);
	END IF;
	RETURN true;
END;
$$;

COMMENT ON FUNCTION partkv_internal.adopt_table(p_schema name, p_table text) IS 'internal: make a kv table restored from a dump a table of this installation (streamed, GSIs rebuilt)';

CREATE FUNCTION partkv_internal.restore_loaded(t partkv.tables) RETURNS boolean
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
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
									  partkv_internal.gsi_storage_name(t.table_name, gsi->>'IndexName')));
		IF storage IS NOT NULL
		   AND (SELECT count(*) FROM pg_index i WHERE i.indrelid = storage AND i.indisvalid) < 2 THEN
			RETURN false;
		END IF;
	END LOOP;
	RETURN NOT EXISTS (
		SELECT 1 FROM pg_inherits i
		 WHERE i.inhparent = 'partkv_internal.stream_chunks'::regclass
		   AND (SELECT count(*) FROM pg_index x WHERE x.indrelid = i.inhrelid AND x.indisvalid) < 2);
END;
$$;

COMMENT ON FUNCTION partkv_internal.restore_loaded(t partkv.tables) IS 'internal: whether a restore has loaded a restored kv table, its catalog rows, GSI storage and the stream chunks';

REVOKE ALL ON FUNCTION partkv.adopt_restored_tables(force boolean) FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.adopt_restored_tables_copy() FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.adopt_restored_tables_ddl() FROM PUBLIC;

REVOKE ALL ON FUNCTION partkv_internal.adopt_table(p_schema name, p_table text) FROM PUBLIC;

-------------------------------------------------------------------------------
-- views
--
-- What users read: statistics, index status, the stream, the backlog of
-- the workers, serving status.
-------------------------------------------------------------------------------

CREATE VIEW partkv.index_status AS
 SELECT g.schema_name,
    g.table_name,
    g.index_name,
    g.storage_name,
    g.status,
    ((g.backfill_partition IS NOT NULL) AND (g.status = 'CREATING'::text)) AS backfilling,
    g.items_done,
    g.items_estimated,
    g.created_at,
    g.activated_at,
    ((b.b ->> 'WalBytes'::text))::bigint AS backlog_bytes,
    ((b.b ->> 'Seconds'::text))::double precision AS backlog_seconds,
    ((b.b ->> 'Served'::text))::boolean AS served,
    (b.b ->> 'Reason'::text) AS not_served_reason
   FROM partkv.gsi_indexes g,
    partkv.gsi_backlog() b(b)
  WHERE has_table_privilege(( SELECT c.oid
           FROM (pg_class c
             JOIN pg_namespace n ON ((n.oid = c.relnamespace)))
          WHERE ((n.nspname = g.schema_name) AND (c.relname = g.table_name) AND (c.relkind = 'p'::"char"))), 'SELECT'::text);

COMMENT ON VIEW partkv.index_status IS 'global secondary indexes: status, backfill progress, the worker''s backlog, and whether a worker maintains them (if not, why)';

CREATE VIEW partkv.partition_stats AS
 SELECT ps.schema_name,
    ps.table_name,
    ps.partition,
    ps.modulus,
    ps.remainder,
    ps.items,
    ps.bytes,
    ps.reads,
    ps.items_read,
    ps.bytes_read,
    ps.read_units,
    ps.writes,
    ps.items_written,
    ps.items_deleted,
    ps.bytes_written,
    ps.write_units,
    ps.ttl_deletes,
    ps.condition_check_failures,
    ((ps.read_units + ps.write_units) / NULLIF(sum((ps.read_units + ps.write_units)) OVER (PARTITION BY ps.schema_name, ps.table_name), (0)::double precision)) AS traffic_share
   FROM ( SELECT t.schema_name,
            t.table_name,
            p.relname AS partition,
            (b.bound[1])::integer AS modulus,
            (b.bound[2])::integer AS remainder,
                CASE
                    WHEN (p.reltuples >= (0)::double precision) THEN (p.reltuples)::bigint
                    ELSE NULL::bigint
                END AS items,
            pg_table_size((p.oid)::regclass) AS bytes,
            COALESCE(s.reads, (0)::bigint) AS reads,
            COALESCE(s.items_read, (0)::bigint) AS items_read,
            COALESCE(s.bytes_read, (0)::bigint) AS bytes_read,
            COALESCE(s.read_units, (0)::double precision) AS read_units,
            COALESCE(s.writes, (0)::bigint) AS writes,
            COALESCE(s.items_written, (0)::bigint) AS items_written,
            COALESCE(s.items_deleted, (0)::bigint) AS items_deleted,
            COALESCE(s.bytes_written, (0)::bigint) AS bytes_written,
            COALESCE(s.write_units, (0)::double precision) AS write_units,
            COALESCE(s.ttl_deletes, (0)::bigint) AS ttl_deletes,
            COALESCE(s.condition_check_failures, (0)::bigint) AS condition_check_failures
           FROM ((((((partkv.tables t
             JOIN pg_namespace n ON ((n.nspname = t.schema_name)))
             JOIN pg_class c ON (((c.relnamespace = n.oid) AND (c.relname = t.table_name) AND (c.relkind = 'p'::"char"))))
             JOIN pg_inherits i ON ((i.inhparent = c.oid)))
             JOIN pg_class p ON ((p.oid = i.inhrelid)))
             CROSS JOIN LATERAL regexp_match(pg_get_expr(p.relpartbound, p.oid), 'modulus (\d+), remainder (\d+)'::text) b(bound))
             LEFT JOIN partkv_internal.stats_counters() s(relid, table_relid, reads, items_read, bytes_read, read_units, writes, items_written, items_deleted, bytes_written, write_units, condition_check_failures, ttl_deletes) ON ((s.relid = p.oid)))
          WHERE has_table_privilege(c.oid, 'SELECT'::text)) ps;

COMMENT ON VIEW partkv.partition_stats IS 'Per partition of every kv table: size (items is the planner''s estimate, NULL before the first VACUUM/ANALYZE), requests, items, bytes and capacity units read and written, and traffic_share, the partition''s fraction (0..1) of its table''s capacity units: a hot partition stands out';

CREATE VIEW partkv.serving_status AS
 SELECT serving_states.feature,
    serving_states.served,
    serving_states.transient,
    serving_states.reason,
    serving_states.hint,
    serving_states.worker_pid,
    serving_states.since
   FROM partkv_internal.serving_states() serving_states(feature, served, transient, reason, hint, worker_pid, since);

COMMENT ON VIEW partkv.serving_status IS 'whether this database''s stream (and stream handlers), GSIs and TTL are being served by its partkv workers; if not, why, whether it will be once a worker starts (transient), and what to change';

CREATE VIEW partkv.stream_backlog AS
 SELECT w.worker,
    w.slot_name,
    w.pid AS worker_pid,
    s.wal_status,
    s.restart_lsn,
    s.confirmed_flush_lsn,
    GREATEST(pg_wal_lsn_diff(c.lsn, s.confirmed_flush_lsn), (0)::numeric) AS backlog_bytes,
    GREATEST(pg_wal_lsn_diff(c.lsn, s.restart_lsn), (0)::numeric) AS retained_bytes,
    s.safe_wal_size,
    w.caught_up_at,
    w.lag,
    COALESCE(l.losses, (0)::bigint) AS slot_losses,
    l.last_loss_at AS last_slot_loss_at
   FROM (((partkv_internal.worker_progress() w(worker, slot_name, pid, caught_up_at, lag)
     CROSS JOIN ( SELECT
                CASE
                    WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
                    ELSE pg_current_wal_lsn()
                END AS lsn) c)
     LEFT JOIN pg_replication_slots s ON ((s.slot_name = w.slot_name)))
     LEFT JOIN LATERAL ( SELECT count(*) AS losses,
            max(x.detected_at) AS last_loss_at
           FROM partkv.lost_slots x
          WHERE (x.worker = w.worker)) l ON (true));

COMMENT ON VIEW partkv.stream_backlog IS 'the stream and GSI workers'' replication slots: backlog and WAL kept (bytes), wal_status, how long each worker has been behind, slots lost (partkv.backlog_warning warns in the log)';

CREATE VIEW partkv.stream_log WITH (security_invoker='true') AS
 SELECT c.stream_id,
    c.shard_id,
    r.sequence_number,
    (r.record ->> 'eventName'::text) AS event_name,
    r.size_bytes,
    r.record,
    c.written_at
   FROM partkv_internal.stream_chunks c,
    LATERAL UNNEST(c.sequence_numbers, c.size_bytes, c.records) r(sequence_number, size_bytes, record);

COMMENT ON VIEW partkv.stream_log IS 'the materialised stream, one row per record (stored in partkv.stream_chunks)';

CREATE VIEW partkv.table_stats AS
 SELECT ps.schema_name,
    ps.table_name,
    (count(*))::integer AS partitions,
    (sum(ps.items))::bigint AS items,
    (sum(ps.bytes))::bigint AS bytes,
    (sum(ps.reads))::bigint AS reads,
    (sum(ps.writes))::bigint AS writes,
    sum(ps.read_units) AS read_units,
    sum(ps.write_units) AS write_units,
    (sum(ps.ttl_deletes))::bigint AS ttl_deletes,
    (sum(ps.condition_check_failures))::bigint AS condition_check_failures,
    ( SELECT
                CASE
                    WHEN COALESCE(((t.stream_specification ->> 'StreamEnabled'::text))::boolean, false) THEN ((partkv.gsi_backlog() ->> 'WalBytes'::text))::bigint
                    ELSE NULL::bigint
                END AS "case"
           FROM partkv.tables t
          WHERE ((t.schema_name = ps.schema_name) AND (t.table_name = ps.table_name))) AS stream_backlog,
    ( SELECT
                CASE
                    WHEN (jsonb_array_length(t.global_indexes) > 0) THEN ((partkv.gsi_backlog() ->> 'WalBytes'::text))::bigint
                    ELSE NULL::bigint
                END AS "case"
           FROM partkv.tables t
          WHERE ((t.schema_name = ps.schema_name) AND (t.table_name = ps.table_name))) AS gsi_backlog,
    (sum(ps.items_read))::bigint AS items_read,
    (sum(ps.bytes_read))::bigint AS bytes_read,
    (sum(ps.items_written))::bigint AS items_written,
    (sum(ps.items_deleted))::bigint AS items_deleted,
    (sum(ps.bytes_written))::bigint AS bytes_written,
    max(ps.traffic_share) AS hottest_partition_share,
    (( SELECT (partkv_internal.table_serving(t.*) ->> 'Served'::text)
           FROM partkv.tables t
          WHERE ((t.schema_name = ps.schema_name) AND (t.table_name = ps.table_name))))::boolean AS served,
    ( SELECT (partkv_internal.table_serving(t.*) ->> 'Reason'::text)
           FROM partkv.tables t
          WHERE ((t.schema_name = ps.schema_name) AND (t.table_name = ps.table_name))) AS not_served_reason
   FROM partkv.partition_stats ps
  GROUP BY ps.schema_name, ps.table_name;

COMMENT ON VIEW partkv.table_stats IS 'Per kv table: partitions, estimated items, bytes on disk, requests and capacity units read and written, TTL deletes, conditional check failures, the traffic share of its hottest partition, for tables with a stream or GSIs the stream worker''s backlog (WAL bytes not yet decoded), and whether its stream, GSIs and TTL are served (if not, why)';

GRANT SELECT ON TABLE partkv.index_status TO PUBLIC;

GRANT SELECT ON TABLE partkv.partition_stats TO PUBLIC;

GRANT SELECT ON TABLE partkv.serving_status TO PUBLIC;

GRANT SELECT ON TABLE partkv.stream_backlog TO PUBLIC;

GRANT SELECT ON TABLE partkv.stream_log TO PUBLIC;

GRANT SELECT ON TABLE partkv.table_stats TO PUBLIC;

-------------------------------------------------------------------------------
-- indexes, triggers, policies and event triggers
--
-- Last, as they call the functions above.
-------------------------------------------------------------------------------

CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.gsi_indexes FOR EACH STATEMENT EXECUTE FUNCTION partkv_internal.adopt_restored_tables_copy();

CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.stream_handlers FOR EACH STATEMENT EXECUTE FUNCTION partkv_internal.adopt_restored_tables_copy();

CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.streams FOR EACH STATEMENT EXECUTE FUNCTION partkv_internal.adopt_restored_tables_copy();

CREATE TRIGGER adopt_restored AFTER INSERT ON partkv.tables FOR EACH STATEMENT EXECUTE FUNCTION partkv_internal.adopt_restored_tables_copy();

CREATE TRIGGER check_served BEFORE INSERT ON partkv.stream_handlers FOR EACH ROW EXECUTE FUNCTION partkv_internal.check_handler_served();

CREATE TRIGGER check_served BEFORE INSERT OR UPDATE OF stream_specification, global_indexes, time_to_live ON partkv.tables FOR EACH ROW EXECUTE FUNCTION partkv_internal.check_tables_served();

CREATE TRIGGER gsi_note_activation BEFORE INSERT OR UPDATE OF status ON partkv.gsi_indexes FOR EACH ROW EXECUTE FUNCTION partkv_internal.gsi_note_activation();

CREATE TRIGGER gsi_replica_identity AFTER UPDATE OF global_indexes ON partkv.tables FOR EACH ROW EXECUTE FUNCTION partkv_internal.gsi_replica_identity();

CREATE TRIGGER gsi_sync AFTER INSERT OR DELETE OR UPDATE OF global_indexes ON partkv.tables FOR EACH ROW EXECUTE FUNCTION partkv_internal.gsi_sync();

CREATE TRIGGER stream_specification_changed AFTER INSERT OR DELETE OR UPDATE OF stream_specification ON partkv.tables FOR EACH ROW EXECUTE FUNCTION partkv_internal.stream_specification_changed();

CREATE TRIGGER tables_stamp BEFORE INSERT ON partkv.tables FOR EACH ROW EXECUTE FUNCTION partkv_internal.tables_stamp();

CREATE POLICY dead_letters_read ON partkv.dead_letters FOR SELECT USING ((EXISTS ( SELECT 1
   FROM partkv.stream_handlers h
  WHERE (h.handler_id = dead_letters.handler_id))));

CREATE POLICY gsi_indexes_read ON partkv.gsi_indexes FOR SELECT USING (true);

CREATE POLICY stream_handlers_read ON partkv.stream_handlers FOR SELECT USING ((pg_has_role(role_name, 'MEMBER'::text) OR partkv_internal.owns_table(schema_name, table_name)));

CREATE POLICY streams_read ON partkv.streams FOR SELECT USING (true);

CREATE POLICY tables_read ON partkv.tables FOR SELECT USING (true);

CREATE POLICY stream_chunks_read ON partkv_internal.stream_chunks FOR SELECT USING ((stream_id = ANY (( SELECT partkv_internal.readable_streams() AS readable_streams)::bigint[])));

CREATE EVENT TRIGGER partkv_adopt_restored ON ddl_command_end
         WHEN TAG IN ('ALTER TABLE', 'ALTER INDEX', 'CREATE INDEX')
   EXECUTE FUNCTION partkv_internal.adopt_restored_tables_ddl();

CREATE EVENT TRIGGER partkv_drop_kv_tables ON sql_drop
   EXECUTE FUNCTION partkv_internal.drop_kv_tables();

CREATE EVENT TRIGGER partkv_guard_ddl ON ddl_command_start
         WHEN TAG IN ('DROP TABLE', 'ALTER TABLE', 'ALTER SCHEMA')
   EXECUTE FUNCTION partkv_internal.guard_ddl();


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

CREATE TABLE partkv_internal.access_keys (
	access_key_id text PRIMARY KEY,
	secret_access_key text NOT NULL,
	-- an OID, not a name: a later role of the same name gets no old keys
	role_oid oid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	created_by name NOT NULL
);
REVOKE ALL ON partkv_internal.access_keys FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('partkv_internal.access_keys', '');

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
	  FROM partkv_internal.access_keys k JOIN pg_catalog.pg_roles r ON r.oid = k.role_oid
	 WHERE k.access_key_id = $1
$function$;
REVOKE ALL ON FUNCTION partkv.access_key_lookup(text) FROM PUBLIC;
COMMENT ON FUNCTION partkv.access_key_lookup(text) IS
'internal: the role and secret of an access key, for partkv-server''s SigV4 check (EXECUTE only for the server''s login role, granted by the administrator)';
