-- A whole Scan: every item, streamed (each partition in primary key order).
SELECT count(*) FROM partkv.scan('bench_scan');
