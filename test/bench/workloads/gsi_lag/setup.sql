-- The table of gsi_put (two GSIs whose keys every put moves), for a
-- sustained load: created by gsi_put's setup when that workload ran first.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT to_regclass('public.bench_gsi') IS NOT NULL AS exists \gset
\if :exists
SELECT partkv.wait_for_index('bench_gsi', 'by_g1', '600s'), partkv.wait_for_index('bench_gsi', 'by_g2', '600s');
\else
\ir ../gsi_put/setup.sql
\endif
