-- The first 10 items of a Scan: reading stops with the LIMIT.
SELECT * FROM partkv.scan('bench_scan') LIMIT 10;
