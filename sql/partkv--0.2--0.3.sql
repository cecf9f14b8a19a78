/* partkv--0.2--0.3.sql: a GSI worker of its own, writing entries without SQL */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.3'" to load this file. \quit

-- The stream worker now writes GSI entries through the table access method
-- and the indexes' access methods (src/index/gsi.c), so the statements it
-- used to build and run for every batch are gone.  The storage, its
-- indexes and the backfill are unchanged.
DROP FUNCTION partkv.gsi_apply_sql(name, text, text);

-- GSIs are kept by a GSI worker of their own, beside the stream worker,
-- with a replication slot of its own.  When that slot is made after the
-- GSIs exist (a database upgraded from 0.2, whose stream worker kept
-- them), the changes made before are not in it: the GSI worker then
-- empties each GSI and backfills it again.
CREATE FUNCTION partkv.gsi_rebuild(schema_name name, table_name text, index_name text)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	g partkv.gsi_indexes;
	rel regclass;
BEGIN
	SELECT * INTO g FROM partkv.gsi_indexes x
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3 FOR UPDATE;
	IF g IS NULL OR to_regclass(format('%I.%I', g.schema_name, g.storage_name)) IS NULL THEN
		RETURN false;
	END IF;
	EXECUTE format('TRUNCATE %I.%I', g.schema_name, g.storage_name);
	UPDATE partkv.gsi_indexes x
	   SET status = 'CREATING', backfill_partition = NULL, backfill_after = NULL, items_done = 0,
		   activated_at = NULL
	 WHERE x.schema_name = $1 AND x.table_name = $2 AND x.index_name = $3;
	rel := to_regclass(format('%I.%I', $1, $2));
	IF rel IS NOT NULL THEN
		PERFORM partkv.invalidate_table_cache(rel);
	END IF;
	RETURN true;
END;
$$;
COMMENT ON FUNCTION partkv.gsi_rebuild(name, text, text) IS
'internal: empty a GSI and set it to be backfilled again (GSI worker with a new replication slot)';
