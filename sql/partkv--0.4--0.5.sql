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
