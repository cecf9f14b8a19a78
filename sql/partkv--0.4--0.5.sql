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
