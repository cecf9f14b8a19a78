-- Helpers shared by the regression tests (this file runs first).

-- try(sql) runs a statement and shows how it ended: 'ok', or its
-- SQLSTATE and message.
CREATE FUNCTION try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

-- tryd(sql) is try() that also shows the error's DETAIL.
CREATE FUNCTION tryd(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	d text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ': ' || SQLERRM || ' DETAIL: ' || coalesce(d, '');
END;
$$;
