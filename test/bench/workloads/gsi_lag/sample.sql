-- GSI lag while the load runs: the age, in seconds, of the last change the
-- worker applied while changes wait (0 when caught up) -- an upper bound of
-- the commit-to-visible delay of the changes then waiting.
SELECT coalesce((partkv.gsi_backlog()->>'Seconds')::numeric, 0);
