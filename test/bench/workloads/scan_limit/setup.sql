-- the same tables as scan_full
\ir ../scan_full/setup.sql
