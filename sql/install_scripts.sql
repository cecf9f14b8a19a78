-- The schemas of the install scripts: partkv shows the API and what users
-- read; everything else is partkv_internal's.
SELECT p.proname, count(*) AS overloads
  FROM pg_proc p
 WHERE p.pronamespace = 'partkv'::regnamespace
 GROUP BY p.proname
 ORDER BY 1;
SELECT c.relname, c.relkind
  FROM pg_class c
 WHERE c.relnamespace = 'partkv'::regnamespace AND c.relkind IN ('r', 'p', 'v')
 ORDER BY 1;
SELECT count(*) > 80 AS internal_functions
  FROM pg_proc p WHERE p.pronamespace = 'partkv_internal'::regnamespace;

-- One way to raise a DynamoDB error from SQL: no function raises one with
-- RAISE ... USING ERRCODE, none calls raise_validation.
SELECT p.oid::regprocedure AS raises_by_hand
  FROM pg_proc p
 WHERE p.pronamespace IN ('partkv'::regnamespace, 'partkv_internal'::regnamespace)
   AND (p.prosrc ~ 'ERRCODE\s*=\s*''(invalid_parameter_value|syntax_error|program_limit_exceeded|undefined_table|undefined_object|duplicate_table|serialization_failure|22023|42601|54000|42P01|42704|42P07|40001|KV0\d\d)'''
		OR p.prosrc LIKE '%raise_validation%');

-- raise_error raises each type with the error module's SQLSTATE.
CREATE FUNCTION pg_temp.raised(error_type text, sqlstate text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM partkv_internal.raise_error(error_type, 'message of ' || error_type, 'a detail', 'a hint', sqlstate);
	RETURN 'not raised';
EXCEPTION WHEN OTHERS THEN
	DECLARE
		d text;
		h text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
		RETURN SQLSTATE || ' ' || (partkv.error_type(SQLSTATE)).type_name || ': ' || SQLERRM || ' / ' || d || ' / ' || h;
	END;
END
$$;
SELECT t, pg_temp.raised(t)
  FROM unnest(ARRAY['ValidationException', 'ResourceNotFoundException', 'ResourceInUseException',
					'ConditionalCheckFailedException', 'TransactionCanceledException',
					'ProvisionedThroughputExceededException', 'ItemCollectionSizeLimitExceededException',
					'TrimmedDataAccessException', 'ExpiredIteratorException', 'TransactionConflictException']) t;
SELECT pg_temp.raised('ResourceNotFoundException', '42704') AS index_not_found;
SELECT pg_temp.raised('ValidationException', '54000') AS size_limit;
-- a SQLSTATE of another type, and a type partkv does not raise, are bugs
SELECT partkv_internal.raise_error('ValidationException', 'x', sqlstate => '42P01');
SELECT partkv_internal.raise_error('NoSuchException', 'x');
SELECT partkv_internal.raise_error('ValidationException', NULL);
-- as the API raises them
SELECT partkv.describe_table('no_such_table');
SELECT partkv.create_table('x', 'k');
