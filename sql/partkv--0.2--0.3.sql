/* partkv--0.2--0.3.sql: GSI entries are written without SQL */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.3'" to load this file. \quit

-- The stream worker now writes GSI entries through the table access method
-- and the indexes' access methods (src/index/gsi.c), so the statements it
-- used to build and run for every batch are gone.  The storage, its
-- indexes and the backfill are unchanged.
DROP FUNCTION partkv.gsi_apply_sql(name, text, text);
