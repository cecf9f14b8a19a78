/* partkv--0.4--0.5.sql: integrity (issue 14) */

\echo Use "ALTER EXTENSION partkv UPDATE TO '0.5'" to load this file. \quit

-------------------------------------------------------------------------------
-- Query and Scan stream their items (issue 14, defect 6).
--
-- A set-returning C function called in FROM runs as a Function Scan, which
-- stores the whole result in a tuplestore before the first row goes up:
-- `SELECT * FROM partkv.scan('t') LIMIT 10` read every item and spilled
-- them to a temporary file.  A SQL function whose body is one SELECT is
-- inlined by the planner instead, and the set-returning call in its select
-- list then runs under a ProjectSet node, which asks for one item at a time
-- and stops asking when the caller stops.  So partkv.query and partkv.scan
-- become such SQL functions over C functions that return one item per
-- call.  They are STABLE because the planner inlines only functions that
-- are not VOLATILE; the C functions they call stay VOLATILE, and take their
-- own snapshot as before.  A call that cannot be inlined (WITH ORDINALITY,
-- ROWS FROM with several functions, an argument that is volatile or a
-- subquery) runs the SQL function as before, materialised.  A call in a
-- select list would run through the SQL function executor, which plans the
-- body at every execution: the support function partkv.read_support
-- replaces such calls by the C function's at plan time.
-------------------------------------------------------------------------------

CREATE FUNCTION partkv.read_support(internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'partkv_read_support'
LANGUAGE C STRICT;
COMMENT ON FUNCTION partkv.read_support(internal) IS
'internal: planner support of partkv.query and partkv.scan (outside FROM, call the C function directly)';

CREATE FUNCTION partkv.query_items(table_name text, key_condition text,
								   attr_values jsonb, attr_names jsonb,
								   filter text, projection text, index_name text,
								   scan_forward boolean, item_limit int,
								   exclusive_start_key jsonb, consistent_read boolean)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'partkv_query'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.query_items(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean) IS
'internal: the items of a Query, one per call (partkv.query is inlined into a call of it)';

CREATE FUNCTION partkv.scan_items(table_name text, filter text,
								  attr_values jsonb, attr_names jsonb,
								  projection text, index_name text,
								  segment int, total_segments int, item_limit int,
								  exclusive_start_key jsonb)
RETURNS SETOF jsonb
AS 'MODULE_PATHNAME', 'partkv_scan'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION partkv.scan_items(text, text, jsonb, jsonb, text, text, int, int, int, jsonb) IS
'internal: the items of a Scan, one per call (partkv.scan is inlined into a call of it)';

CREATE OR REPLACE FUNCTION partkv.query(table_name text, key_condition text,
										attr_values jsonb DEFAULT NULL,
										attr_names jsonb DEFAULT NULL,
										filter text DEFAULT NULL,
										projection text DEFAULT NULL,
										index_name text DEFAULT NULL,
										scan_forward boolean DEFAULT true,
										item_limit int DEFAULT NULL,
										exclusive_start_key jsonb DEFAULT NULL,
										consistent_read boolean DEFAULT false)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SUPPORT partkv.read_support
AS $$ SELECT partkv.query_items($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) $$;
COMMENT ON FUNCTION partkv.query(text, text, jsonb, jsonb, text, text, text, boolean, int, jsonb, boolean) IS
'Query: every item of one partition key matching the key condition and filter, in sort-key order (item_limit caps the items read); streamed, one snapshot';

CREATE OR REPLACE FUNCTION partkv.scan(table_name text,
									   filter text DEFAULT NULL,
									   attr_values jsonb DEFAULT NULL,
									   attr_names jsonb DEFAULT NULL,
									   projection text DEFAULT NULL,
									   index_name text DEFAULT NULL,
									   segment int DEFAULT NULL,
									   total_segments int DEFAULT NULL,
									   item_limit int DEFAULT NULL,
									   exclusive_start_key jsonb DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SUPPORT partkv.read_support
AS $$ SELECT partkv.scan_items($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) $$;
COMMENT ON FUNCTION partkv.scan(text, text, jsonb, jsonb, text, text, int, int, int, jsonb) IS
'Scan: every item of the table (or of one parallel-scan segment) matching the filter (item_limit caps the items read); streamed, one snapshot';
