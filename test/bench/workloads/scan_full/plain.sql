-- Every item of the table, as plain SQL reads it (a sequential scan).
SELECT count(item) FROM plain_scan;
