-- The table of gsi_put (two GSIs whose keys every put moves), for a
-- sustained load.
\ir ../gsi_put/setup.sql
