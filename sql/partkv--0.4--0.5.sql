/* partkv--0.4--0.5.sql: integrity (issue 14) */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.5'" to load this file. \quit

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
	INSERT INTO partkv.stream_handlers (schema_name, table_name, table_id, handler, role_name,
										batch_size, max_attempts, position)
	VALUES (t.schema_name, t.table_name, t.table_id, handler, current_user, batch_size, max_attempts,
			partkv.lsn_sequence_number(pg_catalog.pg_current_wal_insert_lsn()))
	RETURNING * INTO h;
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
