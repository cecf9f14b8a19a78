--
-- items: the item model (SPEC-dynamodb.md §1): validation and its exact
-- errors, canonical numbers, DynamoDB item sizes, DynamoDB JSON both ways.
--
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Runs a query returning one value; prints the value, or the error's
-- SQLSTATE and message.
CREATE FUNCTION items_try(query text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	EXECUTE query INTO result;
	RETURN result;
EXCEPTION WHEN OTHERS THEN
	RETURN 'ERROR ' || SQLSTATE || ': ' || SQLERRM;
END;
$$;
CREATE FUNCTION size_of(item text) RETURNS text LANGUAGE sql AS
$$ SELECT items_try(format('SELECT partkv.item_size(%L::jsonb)', item)) $$;
CREATE FUNCTION to_ddb(item text) RETURNS text LANGUAGE sql AS
$$ SELECT items_try(format('SELECT partkv.to_dynamodb_json(%L::jsonb)', item)) $$;
CREATE FUNCTION from_ddb(item text) RETURNS text LANGUAGE sql AS
$$ SELECT items_try(format('SELECT partkv.from_dynamodb_json(%L::jsonb)', item)) $$;

--
-- Every type, to DynamoDB JSON and back, losslessly
--
CREATE TABLE items_rt (id int, item jsonb);
INSERT INTO items_rt VALUES
	(1, '{"s": "hello", "e": "", "u": "naïve ☃"}'),
	(2, '{"n": 42, "f": -3.25, "z": 0, "big": 1e125, "tiny": 1e-130}'),
	(3, '{"b": {"$B": "AAE="}, "b0": {"$B": ""}, "b1": {"$B": "/w=="}}'),
	(4, '{"t": true, "f": false, "z": null}'),
	(5, '{"m": {"a": 1, "b": {"c": "d"}}, "em": {}}'),
	(6, '{"l": [1, "two", true, null, [], {}], "el": []}'),
	(7, '{"ss": {"$SS": ["a", "", "b"]}, "ns": {"$NS": [1, 2.5, -7]}, "bs": {"$BS": ["AAE=", "Ag=="]}}'),
	(8, '{"deep": {"l": [{"m": {"ss": {"$SS": ["x"]}, "b": {"$B": "AA=="}}}, [{"$NS": [0]}]]}}'),
	(9, '{"maplike": {"$X": 1}, "two": {"$B": "AAE=", "a": 1}, "name with $": {"$ss": ["lower"]}}'),
	(10, '{"p": "k", "$B": "top-level names are just names"}');
SELECT id, partkv.to_dynamodb_json(item) FROM items_rt ORDER BY id;
-- from(to(x)) gives x back, textually (numbers included)
SELECT id, partkv.from_dynamodb_json(partkv.to_dynamodb_json(item))::text = item::text AS lossless
  FROM items_rt ORDER BY id;
-- and to(from(y)) gives y back for DynamoDB JSON
SELECT id, partkv.to_dynamodb_json(partkv.from_dynamodb_json(partkv.to_dynamodb_json(item)))::text
		= partkv.to_dynamodb_json(item)::text AS lossless
  FROM items_rt ORDER BY id;
DROP TABLE items_rt;

--
-- Canonical numbers (SPEC §1.2): trailing zeros trimmed, never an exponent
--
SELECT n, to_ddb(format('{"a": %s}', n)) AS canonical
  FROM (VALUES ('1.0'), ('1.10'), ('1e3'), ('1E+2'), ('1.23e-1'), ('1e-20'),
			   ('-0'), ('-0.0'), ('0e5'), ('0.000'), ('100'), ('-17e5'),
			   ('-17.4E37'), ('1e125'), ('1e-130'), ('0.1e126'),
			   ('9.9999999999999999999999999999999999999e125'),
			   ('1.234567890123456789012345678901234567e50')) v(n);
-- numbers inside $NS are canonicalised too, and so is a whole item
SELECT to_ddb('{"ns": {"$NS": [1.50, 2e2]}, "m": {"x": [1.000]}}');
SELECT partkv.from_dynamodb_json(partkv.to_dynamodb_json('{"a": 2.50, "b": "2.50"}'));
-- DynamoDB number text (N strings) accepts what DynamoDB accepts
SELECT n, from_ddb(format('{"a": {"N": "%s"}}', n)) AS item
  FROM (VALUES ('3'), ('-7.1234'), ('-17e5'), ('-17.4E37'), ('+3'), ('.123'),
			   ('0001.23'), ('1e+5'), ('007'), ('.5'), ('-0'), ('0e5'),
			   ('1.10'), ('5.'), ('1e125'), ('1e-130'), ('0.1e126'),
			   ('0e126')) v(n);
-- ... and rejects the rest, in DynamoDB's words
SELECT n, from_ddb(format('{"a": {"N": "%s"}}', n)) AS error
  FROM (VALUES (''), ('dog'), ('NaN'), ('Infinity'), ('-Infinity'), (' 1'),
			   ('1 '), ('1e'), ('e5'), ('.'), ('-'), ('1.2.3'), ('0x10'),
			   ('1,5'), ('++1')) v(n);
-- range and precision
SELECT n, size_of(format('{"a": %s}', n)) AS result
  FROM (VALUES ('1e125'), ('1e126'), ('11e125'), ('-1e126'), ('1e-130'),
			   ('1e-131'), ('0.9e-130'), ('-1e-131'),
			   ('12345678901234567890123456789012345678'),
			   ('123456789012345678901234567890123456789'),
			   ('1.2345678901234567890123456789012345678'),
			   ('1234567890123456789012345678901234567800000'),
			   ('1e50'),
			   ('1.234567890123456789012345678901234567e50'),
			   ('100000000000000000000000000000000000000000000000001')) v(n);
SELECT from_ddb('{"a": {"N": "1e126"}}'), from_ddb('{"a": {"N": "1e-131"}}'),
	   from_ddb('{"a": {"N": "1234567890123456789012345678901234567890"}}');
SELECT from_ddb('{"a": {"N": "1e1000000000000"}}'), from_ddb('{"a": {"N": "1e-99999999999"}}');

--
-- Item sizes (SPEC §1.8)
--
SELECT size_of('{"shirt-color": "R", "shirt-size": "M"}') AS dg_example;
SELECT item, size_of(item) AS size
  FROM (VALUES ('{}'),
			   ('{"é": "ü"}'),
			   ('{"s": ""}'),
			   ('{"n": 0}'),
			   ('{"n": 1}'),
			   ('{"n": 10}'),
			   ('{"n": 12}'),
			   ('{"n": 1.2}'),
			   ('{"n": 123}'),
			   ('{"n": 1234}'),
			   ('{"n": -1}'),
			   ('{"n": -1.2}'),
			   ('{"n": 0.01}'),
			   ('{"n": 0.12}'),
			   ('{"n": 0.012}'),
			   ('{"n": 1e125}'),
			   ('{"n": 12345678901234567890123456789012345678}'),
			   ('{"n": 1.2345678901234567890123456789012345678}'),
			   ('{"t": true, "f": false, "z": null}'),
			   ('{"b": {"$B": ""}}'),
			   ('{"b": {"$B": "AAE="}}'),
			   ('{"b": {"$B": "AA=="}}'),
			   ('{"b": {"$B": "AAAA"}}'),
			   ('{"m": {}}'),
			   ('{"m": {"a": 1}}'),
			   ('{"m": {"": 1}}'),
			   ('{"l": []}'),
			   ('{"l": [1, "ab"]}'),
			   ('{"l": [[]]}'),
			   ('{"ss": {"$SS": ["a", "bc"]}}'),
			   ('{"ns": {"$NS": [1, 10, -1.5]}}'),
			   ('{"bs": {"$BS": ["AAE=", "AA=="]}}'),
			   ('{"m": {"$X": 1}}'),
			   ('{"m": {"$B": "AAE=", "a": 1}}')) v(item);

-- the 400 KB limit: 409600 bytes accepted, 409601 rejected
SELECT size_of(format('{"a": "%s"}', repeat('x', 409599))) AS exactly_400kb;
SELECT size_of(format('{"a": "%s"}', repeat('x', 409600))) AS one_byte_more;
SELECT size_of(format('{"a": "%s", "b": {"$B": "%s"}}', repeat('x', 409598 - 3 * 1000),
					  repeat('AAAA', 1000))) AS binary_counts_decoded;
SELECT size_of(format('{"a": "%s", "b": {"$B": "%s"}}', repeat('x', 409599 - 3 * 1000),
					  repeat('AAAA', 1000))) AS binary_counts_decoded;
-- the same limit in psql's words
SELECT partkv.item_size(format('{"a": "%s"}', repeat('x', 409600))::jsonb);
-- conversions do not enforce the size limit (writes do)
SELECT length(partkv.to_dynamodb_json(format('{"a": "%s"}', repeat('x', 409600))::jsonb)::text);

--
-- Nesting: 32 levels of maps/lists accepted, 33 rejected
--
SELECT size_of('{"a": ' || repeat('[', 32) || '1' || repeat(']', 32) || '}') AS lists_32;
SELECT size_of('{"a": ' || repeat('[', 33) || '1' || repeat(']', 33) || '}') AS lists_33;
SELECT size_of('{"a": ' || repeat('[', 33) || repeat(']', 33) || '}') AS empty_list_33;
SELECT size_of('{"a": ' || repeat('{"m": ', 32) || '1' || repeat('}', 32) || '}') AS maps_32;
SELECT size_of('{"a": ' || repeat('{"m": ', 33) || '1' || repeat('}', 33) || '}') AS maps_33;
SELECT size_of('{"a": ' || repeat('[{"m": ', 16) || '{"$SS": ["x"]}' || repeat('}]', 16) || '}') AS mixed_32;
SELECT size_of('{"a": ' || repeat('[{"m": ', 16) || '[]' || repeat('}]', 16) || '}') AS mixed_33;
SELECT from_ddb('{"a": ' || repeat('{"L": [', 32) || '{"N": "1"}' || repeat(']}', 32) || '}') IS NOT NULL AS ddb_32;
SELECT from_ddb('{"a": ' || repeat('{"L": [', 33) || '{"N": "1"}' || repeat(']}', 33) || '}') AS ddb_33;
SELECT from_ddb('{"a": ' || repeat('{"M": {"m": ', 33) || '{"N": "1"}' || repeat('}}', 33) || '}') AS ddb_33;
-- very deep input is refused cleanly
SELECT size_of('{"a": ' || repeat('[', 5000) || repeat(']', 5000) || '}') AS deep;
SELECT from_ddb('{"a": ' || repeat('{"L": [', 3000) || repeat(']}', 3000) || '}') AS deep;

--
-- Validation errors of plain-JSON items
--
SELECT item, size_of(item) AS result
  FROM (VALUES ('[1]'),
			   ('"x"'),
			   ('1'),
			   ('null'),
			   ('{"": 1}'),
			   ('{"b": {"$B": 5}}'),
			   ('{"b": {"$B": null}}'),
			   ('{"b": {"$B": ["AAE="]}}'),
			   ('{"b": {"$B": "AAE"}}'),
			   ('{"b": {"$B": "A"}}'),
			   ('{"b": {"$B": "AAF="}}'),
			   ('{"b": {"$B": "AB=="}}'),
			   ('{"b": {"$B": "A!A="}}'),
			   ('{"b": {"$B": "AA=A"}}'),
			   ('{"b": {"$B": "A==="}}'),
			   ('{"b": {"$B": "AAE=AAE="}}'),
			   ('{"b": {"$B": "AAE-"}}'),
			   ('{"ss": {"$SS": "x"}}'),
			   ('{"ss": {"$SS": {"a": 1}}}'),
			   ('{"ss": {"$SS": []}}'),
			   ('{"ss": {"$SS": [1]}}'),
			   ('{"ss": {"$SS": ["a", ["b"]]}}'),
			   ('{"ss": {"$SS": ["a", "a"]}}'),
			   ('{"ss": {"$SS": ["b", "a", "c", "a"]}}'),
			   ('{"ns": {"$NS": 1}}'),
			   ('{"ns": {"$NS": []}}'),
			   ('{"ns": {"$NS": ["1"]}}'),
			   ('{"ns": {"$NS": [1, 1.0]}}'),
			   ('{"ns": {"$NS": [1e2, 100]}}'),
			   ('{"ns": {"$NS": [1, 1e126]}}'),
			   ('{"bs": {"$BS": "AAE="}}'),
			   ('{"bs": {"$BS": []}}'),
			   ('{"bs": {"$BS": [1]}}'),
			   ('{"bs": {"$BS": ["AAE="," AAE="]}}'),
			   ('{"bs": {"$BS": ["AAE=", "AAE="]}}'),
			   ('{"bs": {"$BS": ["AAE"]}}'),
			   ('{"l": [{"$SS": []}]}'),
			   ('{"m": {"x": {"$B": "?"}}}')) v(item);
-- attribute names: 1 to 65535 bytes
SELECT size_of(format('{"%s": 1}', repeat('n', 65535))) AS name_65535;
SELECT size_of(format('{"%s": 1}', repeat('n', 65536))) AS name_65536;
SELECT size_of(format('{"m": {"%s": 1}}', repeat('n', 65536))) AS member_name_65536;
SELECT size_of(format('{"%s": 1}', repeat('é', 32768))) AS name_65536_bytes;
-- the messages as psql shows them
SELECT partkv.item_size('{"": 1}');
SELECT partkv.item_size('{"ns": {"$NS": []}}');
SELECT partkv.item_size('{"a": 1e126}');

--
-- Validation errors of DynamoDB JSON
--
SELECT item, from_ddb(item) AS result
  FROM (VALUES ('[]'),
			   ('"x"'),
			   ('{"a": "x"}'),
			   ('{"a": 1}'),
			   ('{"a": ["S", "x"]}'),
			   ('{"a": {}}'),
			   ('{"a": {"S": "x", "N": "1"}}'),
			   ('{"a": {"X": 1}}'),
			   ('{"a": {"s": "x"}}'),
			   ('{"a": {"S": 1}}'),
			   ('{"a": {"N": 123}}'),
			   ('{"a": {"N": null}}'),
			   ('{"a": {"B": 1}}'),
			   ('{"a": {"B": "AAE"}}'),
			   ('{"a": {"B": "AAF="}}'),
			   ('{"a": {"BOOL": "true"}}'),
			   ('{"a": {"NULL": false}}'),
			   ('{"a": {"NULL": "x"}}'),
			   ('{"a": {"M": []}}'),
			   ('{"a": {"L": {}}}'),
			   ('{"a": {"M": {"x": "y"}}}'),
			   ('{"a": {"L": [1]}}'),
			   ('{"a": {"SS": []}}'),
			   ('{"a": {"NS": []}}'),
			   ('{"a": {"BS": []}}'),
			   ('{"a": {"SS": "a"}}'),
			   ('{"a": {"SS": [1]}}'),
			   ('{"a": {"NS": [1]}}'),
			   ('{"a": {"NS": ["x"]}}'),
			   ('{"a": {"BS": ["AAE"]}}'),
			   ('{"a": {"SS": ["a", "a"]}}'),
			   ('{"a": {"NS": ["1", "1.0"]}}'),
			   ('{"a": {"NS": ["1e3", "1000"]}}'),
			   ('{"a": {"BS": ["AAE=", "AAE="]}}'),
			   ('{"a": {"M": {"$B": {"S": "AAE="}}}}'),
			   ('{"a": {"M": {"$SS": {"SS": ["x"]}}}}'),
			   ('{"": {"S": "x"}}'),
			   ('{"a": {"L": [{"M": {"x": {}}}]}}')) v(item);
-- what a map with a "$B" member next to others becomes, and back
SELECT from_ddb('{"a": {"M": {"$B": {"S": "x"}, "c": {"N": "1"}}}}');
SELECT from_ddb('{"a": {"M": {"$b": {"S": "x"}}}}');
-- the JSON-number hint
SELECT partkv.from_dynamodb_json('{"a": {"N": 123}}');

DROP FUNCTION size_of(text), to_ddb(text), from_ddb(text), items_try(text);
