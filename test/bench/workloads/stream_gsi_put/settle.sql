-- The GSI backlog of the partkv run is worked off before the baseline runs.
SELECT partkv.wait_for_index('bench_sg', 'by_g1', '600s'), partkv.wait_for_index('bench_sg', 'by_g2', '600s');
-- The dead row versions the run left in the table and its GSIs' storage are
-- vacuumed now, so that autovacuum does not run into the next measured runs.
VACUUM public.bench_sg;
SELECT format('VACUUM %I.%I', g.schema_name, g.storage_name)
  FROM partkv.gsi_indexes g WHERE g.table_name = 'bench_sg' \gexec
