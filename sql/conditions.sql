-- Condition expressions on put_item and delete_item: every comparator,
-- function and logical operator with DynamoDB's semantics (SPEC §4.5-4.7),
-- ReturnValuesOnConditionCheckFailure, and the validation errors.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- cond(expr, values, names): does the condition hold on the test item?
-- Evaluated by a conditional no-op put of the item onto itself.
SELECT partkv.create_table('cond', 'pk', 'S', partitions => 2) IS NOT NULL;
SELECT partkv.put_item('cond', '{"pk": "i", "n": 5, "neg": -2.5, "s": "abc", "u": "¿é", "e": "", "b": {"$B": "AAGA"},
	"t": true, "z": null, "l": [1, "x", {"k": 1}], "m": {"a": {"b": [10, 20]}, "n": 1},
	"ss": {"$SS": ["a", "b"]}, "ns": {"$NS": [1, 2.5]}, "bs": {"$BS": ["AA==", "AQ=="]}, "dot.ted": 1}');
-- Only the placeholders the expression uses are passed: DynamoDB rejects unused ones.
CREATE FUNCTION pg_temp.cond(expr text, vals jsonb DEFAULT NULL, names jsonb DEFAULT NULL,
							  only_used boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	IF only_used AND jsonb_typeof(vals) = 'object' AND vals <> '{}' THEN
		vals := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(vals)
				  WHERE expr ~ (key || '(?![A-Za-z0-9_])'));
	END IF;
	IF only_used AND jsonb_typeof(names) = 'object' AND names <> '{}' THEN
		names := (SELECT jsonb_object_agg(key, value) FROM jsonb_each(names)
				   WHERE expr ~ (key || '(?![A-Za-z0-9_])'));
	END IF;
	PERFORM partkv.put_item('cond', partkv.get_item('cond', '{"pk": "i"}'), condition => expr,
							attr_values => vals, attr_names => names);
	RETURN 'true';
EXCEPTION WHEN SQLSTATE 'KV001' THEN
	RETURN 'false';
WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

-- comparators on numbers, strings (UTF-8 byte order) and binary (unsigned bytes)
SELECT e, pg_temp.cond(e, '{":five": 5, ":six": 6.0, ":s": "abd", ":big": "¿", ":z": "z", ":b": {"$B": "AAF/"}, ":b2": {"$B": "AAGA"}}') AS result
  FROM unnest(ARRAY['n = :five', 'n <> :five', 'n < :six', 'n <= :five', 'n > :five', 'n >= :five',
					's < :s', 'u > :z', 'u >= :big', 'b > :b', 'b = :b2', 'b <= :b2',
					'n = :s', 'n <> :s', 'n < :s', 'nope = :five', 'nope <> :five',
					'nope < :five', 'n <> neg', 'nope <> nope', 'neg < n']) e;
-- BETWEEN and IN
SELECT e, pg_temp.cond(e, '{":one": 1, ":ten": 10, ":five": 5, ":a": "a", ":c": "c", ":x": "x"}') AS result
  FROM unnest(ARRAY['n BETWEEN :one AND :ten', 'n BETWEEN :five AND :five', 'n BETWEEN neg AND :ten',
					's BETWEEN :a AND :c', 'nope BETWEEN :one AND :ten', 's BETWEEN :one AND :ten',
					'n IN (:one, :five)', 'n IN (:one, :ten)', 's IN (:x, :a)', 'nope IN (:one)']) e;
-- deep equality: maps, lists, sets (unordered), numbers by value
SELECT e, pg_temp.cond(e, '{":m": {"n": 1, "a": {"b": [10, 20]}}, ":l": [1, "x", {"k": 1}], ":l2": ["x", 1, {"k": 1}],
	":ss": {"$SS": ["b", "a"]}, ":ns": {"$NS": [2.50, 1]}, ":ss2": {"$SS": ["a"]}, ":nul": null, ":t": true, ":e": ""}') AS result
  FROM unnest(ARRAY['m = :m', 'l = :l', 'l = :l2', 'ss = :ss', 'ns = :ns', 'ss = :ss2', 'z = :nul', 't = :t',
					'e = :e', 'm.a.b[1] > m.a.b[0]']) e;
-- logical operators and precedence: NOT > AND > OR
SELECT e, pg_temp.cond(e, '{":five": 5, ":one": 1}') AS result
  FROM unnest(ARRAY['n = :five AND n = :one', 'n = :five OR n = :one', 'NOT n = :one',
					'n = :one AND n = :one OR n = :five', 'n = :one AND (n = :one OR n = :five)',
					'NOT n = :five OR n = :five', 'NOT (n = :five OR n = :five)',
					'(n = :five)', 'NOT NOT n = :five']) e;
-- functions
SELECT e, pg_temp.cond(e, '{":S": "S", ":N": "N", ":M": "M", ":L": "L", ":BOOL": "BOOL", ":NULL": "NULL", ":SS": "SS",
	":NS": "NS", ":BS": "BS", ":B": "B", ":ab": "ab", ":bc": "bc", ":a": "a", ":x": "x", ":k": {"k": 1}, ":one": 1, ":two": 2, ":twoh": 2.5,
	":three": 3, ":bin": {"$B": "AAE="}, ":bin0": {"$B": "AA=="}, ":zero": 0}', '{"#d": "dot.ted", "#m": "m"}') AS result
  FROM unnest(ARRAY['attribute_exists(n)', 'attribute_exists(nope)', 'attribute_not_exists(nope)',
					'attribute_exists(z)', 'attribute_exists(m.a.b[1])', 'attribute_exists(m.a.b[2])',
					'attribute_exists(#d)', 'attribute_exists(dot.ted)', 'attribute_exists(#m.n)',
					'attribute_type(s, :S)', 'attribute_type(n, :N)', 'attribute_type(m, :M)', 'attribute_type(l, :L)',
					'attribute_type(t, :BOOL)', 'attribute_type(z, :NULL)', 'attribute_type(ss, :SS)',
					'attribute_type(ns, :NS)', 'attribute_type(bs, :BS)', 'attribute_type(b, :B)', 'attribute_type(s, :N)',
					'begins_with(s, :ab)', 'begins_with(s, :bc)', 'begins_with(n, :ab)', 'begins_with(b, :bin)',
					'contains(s, :bc)', 'contains(s, :x)', 'contains(ss, :a)', 'contains(ss, :x)', 'contains(ns, :twoh)',
					'contains(ns, :three)', 'contains(bs, :bin0)', 'contains(l, :x)', 'contains(l, :k)', 'contains(l, :one)',
					'contains(m, :a)', 'contains(b, :bin)',
					'size(s) = :three', 'size(u) = :three', 'size(e) = :zero', 'size(l) = :three', 'size(m) = :two',
					'size(ss) = :two', 'size(b) = :three', 'size(n) = :one', 'size(nope) = :zero', 'size(l) > size(ss)']) e;
-- an absent item: attribute_not_exists(pk) is the insert-only idiom
SELECT partkv.put_item('cond', '{"pk": "new"}', condition => 'attribute_not_exists(pk)');
SELECT try($$SELECT partkv.put_item('cond', '{"pk": "new", "v": 2}', condition => 'attribute_not_exists(pk)')$$);
SELECT partkv.get_item('cond', '{"pk": "new"}');
SELECT try($$SELECT partkv.put_item('cond', '{"pk": "nope"}', condition => 'attribute_exists(pk)')$$);
SELECT partkv.get_item('cond', '{"pk": "nope"}') IS NULL AS not_written;

-- optimistic locking on a version attribute
SELECT partkv.put_item('cond', '{"pk": "v", "version": 1, "data": "a"}');
SELECT partkv.put_item('cond', '{"pk": "v", "version": 2, "data": "b"}', condition => 'version = :expected',
					   attr_values => '{":expected": 1}', return_values => 'ALL_OLD');
SELECT try($$SELECT partkv.put_item('cond', '{"pk": "v", "version": 2, "data": "c"}', condition => 'version = :expected', attr_values => '{":expected": 1}')$$);
SELECT partkv.get_item('cond', '{"pk": "v"}');

-- conditional delete, and ReturnValuesOnConditionCheckFailure
SELECT try($$SELECT partkv.delete_item('cond', '{"pk": "v"}', condition => 'version = :v', attr_values => '{":v": 1}')$$);
DO $$
BEGIN
	PERFORM partkv.delete_item('cond', '{"pk": "v"}', condition => 'version = :v', attr_values => '{":v": 1}',
							   return_values_on_condition_check_failure => 'ALL_OLD');
EXCEPTION WHEN SQLSTATE 'KV001' THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RAISE NOTICE 'detail: %', d;
	END;
END;
$$;
DO $$
BEGIN
	PERFORM partkv.delete_item('cond', '{"pk": "absent"}', condition => 'attribute_exists(pk)',
							   return_values_on_condition_check_failure => 'ALL_OLD');
EXCEPTION WHEN SQLSTATE 'KV001' THEN
	DECLARE d text;
	BEGIN
		GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
		RAISE NOTICE 'detail: [%]', d;
	END;
END;
$$;
SELECT partkv.delete_item('cond', '{"pk": "v"}', condition => 'version = :v', attr_values => '{":v": 2}', return_values => 'ALL_OLD');
SELECT partkv.delete_item('cond', '{"pk": "v"}', condition => 'attribute_not_exists(pk)');

-- Validation errors: syntax (42601) and others (22023), nothing written
SELECT e, pg_temp.cond(e, v::jsonb, nm::jsonb, false) AS result FROM (VALUES
	('n = ', '{}', NULL),
	('n = :v', NULL, NULL),
	('n = :v', '{":v": 1, ":w": 2}', NULL),
	('#x = :v', '{":v": 1}', NULL),
	('n = :v', '{":v": 1}', '{"#unused": "n"}'),
	('name = :v', '{":v": 1}', NULL),
	('n BETWEEN :b AND :a', '{":a": 1, ":b": 2}', NULL),
	('n BETWEEN :a AND :s', '{":a": 1, ":s": "x"}', NULL),
	('n < :l', '{":l": [1]}', NULL),
	('begins_with(s, :n)', '{":n": 1}', NULL),
	('attribute_type(s, :t)', '{":t": "X"}', NULL),
	('size(n)', NULL, NULL),
	('nosuchfunction(n)', NULL, NULL),
	('n = :v', '{}', NULL),
	('attribute_exists(:v)', '{":v": 1}', NULL),
	('', NULL, NULL),
	('n = :v', '{":v": {"$SS": []}}', NULL),
	('n = :v', '[1]', NULL),
	('n = :v', '{":v": 1}', '[]')
) AS t(e, v, nm);
SELECT partkv.get_item('cond', '{"pk": "i"}')->'n' AS unchanged;
SELECT try($$SELECT partkv.put_item('cond', '{"pk": "x"}', condition => repeat('n = n AND ', 500) || 'n = n')$$);
SELECT try($$SELECT partkv.put_item('cond', '{"pk": "x"}', condition => 'n IN (' || (SELECT string_agg(':v', ', ') FROM generate_series(1, 101)) || ')', attr_values => '{":v": 1}')$$);
