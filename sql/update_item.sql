-- update_item: SET (with + and -, if_not_exists, list_append), REMOVE,
-- ADD, DELETE, upsert rules, ReturnValues, runtime errors (SPEC §3.4, §3.6, §4.9).
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT partkv.create_table('upd', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N', partitions => 2) IS NOT NULL;
CREATE FUNCTION pg_temp.reset() RETURNS void LANGUAGE sql AS $$
	SELECT partkv.put_item('upd', '{"pk": "a", "sk": 1, "n": 5, "s": "x", "l": [2, 3, 4, 5, 6, 7],
		"m": {"a": {"b": 1}}, "ss": {"$SS": ["a", "b"]}, "ns": {"$NS": [1, 2]}, "bs": {"$BS": ["AA=="]}}');
$$;
-- u(update, values, names): ALL_NEW after the update, or the error
CREATE FUNCTION pg_temp.u(upd text, vals jsonb DEFAULT NULL, names jsonb DEFAULT NULL, rv text DEFAULT 'ALL_NEW') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_temp.reset();
	RETURN partkv.update_item('upd', '{"pk": "a", "sk": 1}', upd, attr_values => vals, attr_names => names,
							  return_values => rv)::text;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END;
$$;

-- SET
SELECT pg_temp.u('SET n = :v', '{":v": 10}');
SELECT pg_temp.u('SET n = n + :v, x = n - :v', '{":v": 1.5}');
SELECT pg_temp.u('SET newattr = :v, m.a.c = :v, m.z = :v', '{":v": "new"}');
SELECT pg_temp.u('SET l[0] = :v, l[10] = :w, l[11] = :w2', '{":v": 0, ":w": "end", ":w2": "end2"}');
SELECT pg_temp.u('SET c = if_not_exists(c, :zero) + :one, n = if_not_exists(n, :zero)', '{":zero": 0, ":one": 1}');
SELECT pg_temp.u('SET l = list_append(l, :more), e = list_append(if_not_exists(e, :empty), :more)', '{":more": [8], ":empty": []}');
SELECT pg_temp.u('SET #n = :v, #m.#a = :v', '{":v": 1}', '{"#n": "name", "#m": "m", "#a": "a"}');
SELECT pg_temp.u('SET y = s, s = :v', '{":v": "changed"}');
-- REMOVE: attributes, map members, list elements (positions before the update)
SELECT pg_temp.u('REMOVE n, m.a.b, l[1], l[3], nothere, l[100]');
SELECT pg_temp.u('REMOVE l[1] SET l[3] = :v', '{":v": 17}');
-- ADD: numbers and sets; DELETE: sets
SELECT pg_temp.u('ADD n :v, newn :v', '{":v": 2}');
SELECT pg_temp.u('ADD ss :s, newss :s', '{":s": {"$SS": ["b", "c"]}}');
SELECT pg_temp.u('ADD ns :s', '{":s": {"$NS": [2, 3.0]}}');
SELECT pg_temp.u('DELETE ss :s, nothere :s', '{":s": {"$SS": ["a", "zz"]}}');
SELECT pg_temp.u('DELETE ss :s', '{":s": {"$SS": ["a", "b"]}}');
SELECT pg_temp.u('DELETE bs :s', '{":s": {"$BS": ["AA=="]}}');
-- several clauses in any order
SELECT pg_temp.u('REMOVE s ADD n :one SET t = :t DELETE ss :a', '{":one": 1, ":t": true, ":a": {"$SS": ["a"]}}');

-- ReturnValues
SELECT pg_temp.u('SET n = n + :one, newattr = :one REMOVE s', '{":one": 1}', NULL, 'NONE');
SELECT pg_temp.u('SET n = n + :one, newattr = :one REMOVE s', '{":one": 1}', NULL, 'ALL_OLD');
SELECT pg_temp.u('SET n = n + :one, newattr = :one REMOVE s', '{":one": 1}', NULL, 'UPDATED_OLD');
SELECT pg_temp.u('SET n = n + :one, newattr = :one REMOVE s', '{":one": 1}', NULL, 'UPDATED_NEW');
SELECT pg_temp.u('SET m.a.b = :one, l[1] = :one', '{":one": 100}', NULL, 'UPDATED_NEW');
SELECT pg_temp.u('SET m.a.b = :one, l[1] = :one', '{":one": 100}', NULL, 'UPDATED_OLD');
SELECT pg_temp.u('SET n = :v', '{":v": 1}', NULL, 'BAD');

-- upserts: a missing item is created, unless the update only removes
SELECT partkv.update_item('upd', '{"pk": "new", "sk": 1}', 'SET v = :v', attr_values => '{":v": 1}', return_values => 'ALL_NEW');
SELECT partkv.update_item('upd', '{"pk": "new", "sk": 2}', 'ADD c :v', attr_values => '{":v": 1}', return_values => 'UPDATED_NEW');
SELECT partkv.update_item('upd', '{"pk": "new", "sk": 3}', 'REMOVE v, x.y', return_values => 'ALL_NEW');
SELECT partkv.update_item('upd', '{"pk": "new", "sk": 4}', 'DELETE s :s', attr_values => '{":s": {"$SS": ["a"]}}');
SELECT partkv.update_item('upd', '{"pk": "new", "sk": 5}', return_values => 'ALL_NEW');
SELECT pk, sk, item FROM upd WHERE pk = 'new' ORDER BY sk;
SELECT try($$SELECT partkv.update_item('upd', '{"pk": "new", "sk": 6}', 'SET v = w')$$);

-- conditions on update
SELECT partkv.update_item('upd', '{"pk": "new", "sk": 1}', 'SET v = v + :one', attr_values => '{":one": 1, ":max": 1}',
						  condition => 'v <= :max', return_values => 'UPDATED_NEW');
SELECT try($$SELECT partkv.update_item('upd', '{"pk": "new", "sk": 1}', 'SET v = v + :one', attr_values => '{":one": 1, ":max": 1}', condition => 'v <= :max')$$);
SELECT try($$SELECT partkv.update_item('upd', '{"pk": "ghost", "sk": 1}', 'SET v = :one', attr_values => '{":one": 1}', condition => 'attribute_exists(pk)')$$);
SELECT partkv.get_item('upd', '{"pk": "ghost", "sk": 1}') IS NULL AS not_created;

-- runtime and validation errors (nothing is written)
SELECT pg_temp.u('SET pk = :v', '{":v": "x"}');
SELECT pg_temp.u('REMOVE sk');
SELECT pg_temp.u('SET nothere.x = :v', '{":v": 1}');
SELECT pg_temp.u('SET s.x = :v', '{":v": 1}');
SELECT pg_temp.u('SET l[0].x = :v', '{":v": 1}');
SELECT pg_temp.u('SET n = s + :v', '{":v": 1}');
SELECT pg_temp.u('SET n = nothere + :v', '{":v": 1}');
SELECT pg_temp.u('SET n = list_append(s, :l)', '{":l": [1]}');
SELECT pg_temp.u('ADD s :v', '{":v": 1}');
SELECT pg_temp.u('ADD ss :v', '{":v": {"$NS": [1]}}');
SELECT pg_temp.u('ADD n :v', '{":v": "str"}');
SELECT pg_temp.u('DELETE n :v', '{":v": {"$NS": [1]}}');
SELECT pg_temp.u('SET n = :big + :big', '{":big": 9e125}');
SELECT pg_temp.u('SET n = :a + :b', '{":a": 1e50, ":b": 1}');
SELECT pg_temp.u('SET n = :v, n = :v', '{":v": 1}');
SELECT pg_temp.u('SET m.a = :v REMOVE m.a.b', '{":v": 1}');
SELECT pg_temp.u('SET l[1] = :v, l.x = :v', '{":v": 1}');
SELECT pg_temp.u('SET n = :v SET s = :v', '{":v": 1}');
SELECT pg_temp.u('SET n = :v + :v + :v', '{":v": 1}');
SELECT pg_temp.u('');
SELECT pg_temp.u('SET big = :v', jsonb_build_object(':v', repeat('x', 409600)));
SELECT pg_temp.u('SET n = :v', '{":v": 1}') IS NOT NULL AS sane;
-- update_item needs SELECT, INSERT and UPDATE
CREATE ROLE regress_partkv_upd;
GRANT INSERT, UPDATE ON upd TO regress_partkv_upd;
SET ROLE regress_partkv_upd;
SELECT try($$SELECT partkv.update_item('upd', '{"pk": "r", "sk": 1}', 'SET v = :v', attr_values => '{":v": 1}')$$);
RESET ROLE;
-- each privilege is required, not any one of them: INSERT alone cannot put
REVOKE UPDATE ON upd FROM regress_partkv_upd;
SET ROLE regress_partkv_upd;
SELECT try($$SELECT partkv.put_item('upd', '{"pk": "r", "sk": 1}')$$);
RESET ROLE;
GRANT SELECT, UPDATE ON upd TO regress_partkv_upd;
SET ROLE regress_partkv_upd;
SELECT partkv.update_item('upd', '{"pk": "r", "sk": 1}', 'SET v = :v', attr_values => '{":v": 1}', return_values => 'ALL_NEW');
RESET ROLE;
DROP OWNED BY regress_partkv_upd;
DROP ROLE regress_partkv_upd;
