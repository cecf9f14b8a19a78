-- The GSI backlog of the partkv run is worked off before the baseline runs.
SELECT partkv.wait_for_index('bench_sg', 'by_g1', '600s'), partkv.wait_for_index('bench_sg', 'by_g2', '600s');
