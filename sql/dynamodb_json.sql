--
-- DynamoDB typed JSON: every type at every nesting depth converts both ways
-- losslessly (binary, sets and null inside lists and maps included)
--

-- each type's typed form (canonical, as to_dynamodb_json writes it)
CREATE TEMP TABLE leaf (name text, typed jsonb);
INSERT INTO leaf VALUES
	('S', '{"S": "x"}'), ('N', '{"N": "2.5"}'), ('B', '{"B": "AAE="}'),
	('BOOL', '{"BOOL": false}'), ('NULL', '{"NULL": true}'),
	('M', '{"M": {"k": {"S": "v"}}}'), ('M0', '{"M": {}}'),
	('L', '{"L": [{"N": "1"}, {"B": "AQI="}]}'), ('L0', '{"L": []}'),
	('SS', '{"SS": ["a", "b"]}'), ('NS', '{"NS": ["-1", "3.25"]}'),
	('BS', '{"BS": ["AAE=", "AQI="]}');

-- every chain of up to four L/M wrappers around every leaf
CREATE TEMP TABLE nested AS
WITH RECURSIVE w(path, typed, depth) AS (
	SELECT name, typed, 0 FROM leaf
	UNION ALL
	SELECT path || '<' || k, CASE k WHEN 'L' THEN jsonb_build_object('L', jsonb_build_array(typed, typed))
							 ELSE jsonb_build_object('M', jsonb_build_object('a', typed, 'b', typed)) END,
		   depth + 1
	  FROM w, (VALUES ('L'), ('M')) AS k(k)
	 WHERE depth < 4
)
SELECT path, jsonb_build_object('pk', '{"S": "p"}'::jsonb, 'v', typed) AS typed FROM w;

SELECT count(*) AS cases FROM nested;

-- typed -> plain -> typed gives back the same typed JSON
SELECT path, typed, partkv.to_dynamodb_json(partkv.from_dynamodb_json(typed)) AS back
  FROM nested
 WHERE partkv.to_dynamodb_json(partkv.from_dynamodb_json(typed)) IS DISTINCT FROM typed;

-- plain -> typed -> plain too
SELECT path
  FROM nested, LATERAL partkv.from_dynamodb_json(typed) AS p(plain)
 WHERE partkv.from_dynamodb_json(partkv.to_dynamodb_json(plain)) IS DISTINCT FROM plain;

-- what binary, sets and null look like as plain JSON inside a list
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"B": "AAE="}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"L": [{"B": "AAE="}, {"NULL": true}]}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"M": {"b": {"B": "AAE="}, "s": {"SS": ["x"]}}}, {"NS": ["01.50"]}]}}');

-- every converted item is a valid item: it can be stored and read back
SELECT partkv.create_table('conv', 'pk') IS NOT NULL AS created;
SELECT count(*) AS stored
  FROM nested, LATERAL partkv.put_item('conv', partkv.from_dynamodb_json(typed) || jsonb_build_object('pk', path)) AS r;
SELECT count(*) AS equal
  FROM nested
 WHERE partkv.get_item('conv', jsonb_build_object('pk', path)) = partkv.from_dynamodb_json(typed) || jsonb_build_object('pk', path);

-- malformed typed JSON at depth is DynamoDB's ValidationException, never an internal error
\set VERBOSITY sqlstate
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"B": 1}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"L": [{"B": "not base64!"}]}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"M": {"x": {"SS": [1]}}}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"BS": ["AAE=", "AAE="]}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"NULL": false}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{"Q": "x"}]}}');
SELECT partkv.from_dynamodb_json('{"a": {"L": [{}]}}');
\set VERBOSITY default

-- many conversions in a row by an unprivileged role leave the backend sound
CREATE ROLE conv_nobody;
GRANT SELECT ON nested TO conv_nobody;
SET ROLE conv_nobody;
SELECT count(*) AS converted
  FROM generate_series(1, 200) i, nested
 WHERE i % 50 = 0 AND partkv.from_dynamodb_json(typed) IS NOT NULL;
RESET ROLE;
REVOKE SELECT ON nested FROM conv_nobody;
DROP ROLE conv_nobody;
SELECT partkv.delete_table('conv') IS NOT NULL AS deleted;
