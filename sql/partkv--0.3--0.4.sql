/* partkv--0.3--0.4.sql: GSI storage finds entries by table key through a hash index */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.4'" to load this file. \quit

-------------------------------------------------------------------------------
-- The index a GSI's storage has on the hash of the table key serves only
-- equality probes: the GSI worker's replacement of an entry by table key
-- (while the GSI is backfilled, or when a change's old item is not in WAL)
-- and the backfill's.  As a B-tree it cost the worker a descent per entry
-- written, beside the one into the (GSI key, table key) index; a hash
-- index reaches its bucket from the metapage.  With every put moving an
-- item in two GSIs it took a fifth of the worker's CPU as a B-tree, a
-- twentieth as a hash index (docs/BENCHMARKS.md, 0.4).
-------------------------------------------------------------------------------

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
	EXECUTE format('CREATE INDEX %I ON %I.%I USING hash ((%s))',
				   storage_name || '_base', t.schema_name, storage_name,
				   partkv.gsi_base_hash_expression(t, 'base_pk', 'base_sk'));
	EXECUTE format('COMMENT ON TABLE %I.%I IS %L', t.schema_name, storage_name,
				   format('partkv global secondary index %s of table %s (maintained by the stream worker)',
						  gsi->>'IndexName', t.table_name));
	RETURN true;
END;
$$;

-- the storage of existing GSIs gets the hash index in place of the B-tree
DO $$
DECLARE
	g record;
BEGIN
	FOR g IN SELECT x.schema_name, x.storage_name, t AS tab
			   FROM partkv.gsi_indexes x JOIN partkv.tables t USING (schema_name, table_name)
			  WHERE to_regclass(format('%I.%I', x.schema_name, x.storage_name)) IS NOT NULL LOOP
		EXECUTE format('DROP INDEX IF EXISTS %I.%I', g.schema_name, g.storage_name || '_base');
		EXECUTE format('CREATE INDEX %I ON %I.%I USING hash ((%s))', g.storage_name || '_base', g.schema_name,
					   g.storage_name, partkv.gsi_base_hash_expression(g.tab, 'base_pk', 'base_sk'));
	END LOOP;
END;
$$;
