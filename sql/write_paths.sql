--
-- Every write path of the table access method (INSERT, multi-row INSERT,
-- INSERT ... ON CONFLICT, UPDATE, COPY) stores the canonical row of items
-- large enough to be TOASTed that hold non-canonical numbers: the row
-- handed to heap must outlive the validation that built it.
--
SELECT partkv.create_table('wp_amt', 'pk', 'S', sort_key => 'n', sort_key_type => 'N') IS NOT NULL AS created;

-- one row
INSERT INTO wp_amt VALUES ('f', 1, ('{"pk":"f","n":1,"x":2.50,"big":"' || repeat('x', 300000) || '"}')::jsonb);
-- several rows in one statement, non-canonical key columns too
INSERT INTO wp_amt
SELECT 'g', i * 1.0, ('{"pk":"g","n":' || i || '.00,"x":' || i || '.50,"big":"' || repeat(chr(97 + i), 200000 + i) || '"}')::jsonb
  FROM generate_series(1, 5) i;
-- ON CONFLICT
INSERT INTO wp_amt VALUES ('f', 1, ('{"pk":"f","n":1.0,"x":3.50,"big":"' || repeat('y', 300000) || '"}')::jsonb)
	ON CONFLICT (pk, n) DO UPDATE SET item = excluded.item;
INSERT INTO wp_amt VALUES ('h', 2, ('{"pk":"h","n":2.000,"x":4.50,"big":"' || repeat('z', 300000) || '"}')::jsonb)
	ON CONFLICT (pk, n) DO NOTHING;
-- UPDATE
UPDATE wp_amt SET item = item || ('{"x": 5.50, "big2": "' || repeat('w', 150000) || '"}')::jsonb WHERE pk = 'g' AND n = 2;
-- COPY: several rows buffered before they reach heap
COPY wp_amt FROM STDIN;
c	1	{"pk": "c", "n": 1.0, "x": 6.50, "y": 1E+1}
c	2	{"pk": "c", "n": 2, "x": 7.50}
\.
-- COPY of large rows, through a file in the data directory
COPY (SELECT 'd', i, '{"pk":"d","n":' || i || '.0,"x":' || i || '.250,"big":"' || repeat(chr(107 + i), 180000) || '"}'
		FROM generate_series(1, 4) i) TO PROGRAM 'cat > partkv_write_paths.copy';
COPY wp_amt FROM 'partkv_write_paths.copy';

SELECT pk, n, item->'n' AS item_n, item->'x' AS x, item->'y' AS y,
	   length(item->>'big') AS big, length(item->>'big2') AS big2,
	   left(item->>'big', 3) AS head
  FROM wp_amt ORDER BY pk, n;

-- the stored rows are what the item API reads back
SELECT partkv.get_item('wp_amt', '{"pk": "f", "n": 1}')->'x' AS f_x,
	   partkv.get_item('wp_amt', '{"pk": "g", "n": 2}')->'x' AS g2_x;

SELECT partkv.delete_table('wp_amt') IS NOT NULL AS deleted;
