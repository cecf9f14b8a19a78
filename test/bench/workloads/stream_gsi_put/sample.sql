-- GSI lag while the load runs (see gsi_put/sample.sql).
SELECT coalesce((partkv.gsi_backlog()->>'Seconds')::numeric, 0);
