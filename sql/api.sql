-- The public API of DESIGN §2, as callers outside the project see it: names,
-- parameters, defaults and result types.  A change here is a change of the
-- contract.
SELECT p.proname, pg_get_function_arguments(p.oid) AS arguments,
	   pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.pronamespace = 'partkv'::regnamespace
   AND p.proname IN ('create_table', 'describe_table', 'list_tables', 'delete_table', 'update_table',
					 'update_time_to_live', 'put_item', 'get_item', 'update_item', 'delete_item',
					 'query', 'query_page', 'scan', 'scan_page', 'batch_get_item', 'batch_write_item',
					 'transact_get_items', 'transact_write_items', 'describe_stream', 'get_shard_iterator',
					 'get_records', 'stream_records', 'add_stream_handler', 'to_dynamodb_json',
					 'from_dynamodb_json')
 ORDER BY 1, 2;
