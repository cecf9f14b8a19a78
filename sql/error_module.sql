-- The error module: each SQLSTATE partkv raises names a DynamoDB error, as
-- a wire endpoint reports it.
SELECT s AS sqlstate, e.*
  FROM unnest(ARRAY['22023', '42601', '54000', '42P01', '42704', '42P07',
					'KV001', 'KV002', 'KV003', 'KV004', 'KV005', 'KV006',
					'40001', 'XX000', '2202', 'kv001', '']) AS s,
	   LATERAL partkv.error_type(s) AS e;

-- An error partkv raises is reported as the table says.
DO $$
BEGIN
	PERFORM partkv.put_item(NULL, '{}');
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE '% %: %', SQLSTATE, (partkv.error_type(SQLSTATE)).wire_type, SQLERRM;
END
$$;
DO $$
BEGIN
	PERFORM partkv.get_item('no_such_table', '{"k": "x"}');
EXCEPTION WHEN OTHERS THEN
	RAISE NOTICE '% %: %', SQLSTATE, (partkv.error_type(SQLSTATE)).wire_type, SQLERRM;
END
$$;
