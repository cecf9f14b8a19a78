-- The first 10 items of a sequential scan.
SELECT item FROM plain_scan LIMIT 10;
