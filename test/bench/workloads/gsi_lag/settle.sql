-- The same table as gsi_put: its backlog is worked off and the dead row
-- versions of the run vacuumed, so that neither runs into the next runs.
\ir ../gsi_put/settle.sql
