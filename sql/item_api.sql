-- put_item, get_item, delete_item: behaviour, return values, keys of each
-- type, privileges and every error path.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT partkv.create_table('music', 'artist', 'S', sort_key => 'song', sort_key_type => 'S') IS NOT NULL;
SELECT partkv.create_table('counters', 'id', 'N') IS NOT NULL;
SELECT partkv.create_table('files', 'digest', 'B', sort_key => 'version', sort_key_type => 'N', partitions => 3) IS NOT NULL;

-- put then get
SELECT partkv.put_item('music', '{"artist": "Acme", "song": "Hello", "year": 2001, "tags": {"$SS": ["pop", "rock"]}}');
SELECT partkv.get_item('music', '{"artist": "Acme", "song": "Hello"}');
SELECT partkv.get_item('music', '{"artist": "Acme", "song": "Nope"}') IS NULL AS missing;
SELECT partkv.get_item('music', '{"artist": "Acme", "song": "Hello"}', consistent_read => true)->'year';
-- a put replaces the whole item (no merge)
SELECT partkv.put_item('music', '{"artist": "Acme", "song": "Hello", "plays": 3}');
SELECT partkv.get_item('music', '{"artist": "Acme", "song": "Hello"}');
-- ALL_OLD returns the previous item, or nothing when there was none
SELECT partkv.put_item('music', '{"artist": "Acme", "song": "Hello", "plays": 4}', return_values => 'ALL_OLD');
SELECT partkv.put_item('music', '{"artist": "Acme", "song": "Bye"}', return_values => 'ALL_OLD');
SELECT partkv.put_item('music', '{"artist": "Acme", "song": "Bye"}', return_values => 'NONE');
-- it is a real table
SELECT artist, song, item FROM music ORDER BY artist, song;

-- delete
SELECT partkv.delete_item('music', '{"artist": "Acme", "song": "Bye"}');
SELECT partkv.delete_item('music', '{"artist": "Acme", "song": "Bye"}');
SELECT partkv.delete_item('music', '{"artist": "Acme", "song": "Hello"}', return_values => 'ALL_OLD');
SELECT partkv.delete_item('music', '{"artist": "Acme", "song": "Hello"}', return_values => 'ALL_OLD');
SELECT count(*) FROM music;

-- number keys are canonical: 1, 1.0 and 1e0 are one item
SELECT partkv.put_item('counters', '{"id": 1e0, "n": 1.50}');
SELECT partkv.put_item('counters', '{"id": 1.0, "n": 2}', return_values => 'ALL_OLD');
SELECT partkv.get_item('counters', '{"id": 1}');
SELECT partkv.get_item('counters', '{"id": 100e-2}');
SELECT id, item FROM counters;
SELECT partkv.put_item('counters', '{"id": -0.5}');
SELECT partkv.get_item('counters', '{"id": -0.50}');

-- binary keys
SELECT partkv.put_item('files', '{"digest": {"$B": "AAECAw=="}, "version": 2, "name": "a.txt"}');
SELECT partkv.get_item('files', '{"digest": {"$B": "AAECAw=="}, "version": 2}');
SELECT digest, version FROM files;
SELECT partkv.delete_item('files', '{"digest": {"$B": "AAECAw=="}, "version": 2}', return_values => 'ALL_OLD');

-- many items, in one statement, then read back
SELECT count(partkv.put_item('music', jsonb_build_object('artist', 'a' || (g % 10), 'song', 's' || g, 'g', g)))
  FROM generate_series(1, 500) g;
SELECT count(*) FROM music;
SELECT sum((partkv.get_item('music', jsonb_build_object('artist', 'a' || (g % 10), 'song', 's' || g))->>'g')::int)
  FROM generate_series(1, 500) g;
-- the same key twice in one statement: the second put sees the first
SELECT partkv.put_item('music', '{"artist": "x", "song": "y", "v": 1}', return_values => 'ALL_OLD'),
	   partkv.put_item('music', '{"artist": "x", "song": "y", "v": 2}', return_values => 'ALL_OLD');

-- an identical put writes nothing (no new row version, hence no change record)
SELECT partkv.put_item('music', '{"artist": "same", "song": "s", "v": 1}');
SELECT xmin::text AS x1 FROM music WHERE artist = 'same' \gset
SELECT partkv.put_item('music', '{"artist": "same", "song": "s", "v": 1.0}', return_values => 'ALL_OLD');
SELECT xmin::text = :'x1' AS unchanged FROM music WHERE artist = 'same';
SELECT partkv.put_item('music', '{"artist": "same", "song": "s", "v": 2}');
SELECT xmin::text <> :'x1' AS changed FROM music WHERE artist = 'same';

-- transactions: a rollback undoes partkv writes
BEGIN;
SELECT partkv.put_item('music', '{"artist": "tx", "song": "1"}');
SELECT partkv.get_item('music', '{"artist": "tx", "song": "1"}') IS NOT NULL AS visible_inside;
ROLLBACK;
SELECT partkv.get_item('music', '{"artist": "tx", "song": "1"}') IS NULL AS gone;

-- Errors: table names
SELECT try($$SELECT partkv.put_item('nosuch', '{"a": 1}')$$);
SELECT try($$SELECT partkv.get_item('nosuch', '{"a": 1}')$$);
SELECT try($$SELECT partkv.get_item('no', '{"a": 1}')$$);
SELECT try($$SELECT partkv.get_item('music''; DROP TABLE music; --', '{"a": 1}')$$);
SELECT try($$SELECT partkv.get_item('pg_class', '{"a": 1}')$$);
SELECT try($$SELECT partkv.get_item(NULL, '{"a": 1}')$$);
-- Errors: items
SELECT try($$SELECT partkv.put_item('music', NULL)$$);
SELECT try($$SELECT partkv.put_item('music', '[]')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": "a"}')$$);
SELECT try($$SELECT partkv.put_item('music', '{"song": "a"}')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": 1, "song": "a"}')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": "", "song": "a"}')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": "a", "song": ""}')$$);
SELECT try($$SELECT partkv.put_item('music', jsonb_build_object('artist', repeat('a', 2049), 'song', 'x'))$$);
SELECT try($$SELECT partkv.put_item('music', jsonb_build_object('artist', repeat('a', 2048), 'song', repeat('b', 1025)))$$);
SELECT try($$SELECT partkv.put_item('music', jsonb_build_object('artist', repeat('a', 2048), 'song', repeat('b', 1024)))$$);
SELECT try($$SELECT partkv.put_item('music', jsonb_build_object('artist', 'a', 'song', 'b', 'big', repeat('x', 409600)))$$);
SELECT try($$SELECT partkv.put_item('counters', '{"id": "1"}')$$);
SELECT try($$SELECT partkv.put_item('counters', '{"id": 1e126}')$$);
SELECT try($$SELECT partkv.put_item('files', '{"digest": {"$B": ""}, "version": 1}')$$);
SELECT try($$SELECT partkv.put_item('files', '{"digest": "AAE=", "version": 1}')$$);
-- Errors: keys of get/delete
SELECT try($$SELECT partkv.get_item('music', '{"artist": "a"}')$$);
SELECT try($$SELECT partkv.get_item('music', '{"artist": "a", "song": "b", "x": 1}')$$);
SELECT try($$SELECT partkv.get_item('music', '{"artist": "a", "song": 1}')$$);
SELECT try($$SELECT partkv.get_item('music', '[]')$$);
SELECT try($$SELECT partkv.get_item('music', NULL)$$);
SELECT try($$SELECT partkv.delete_item('music', '{"artist": "a"}')$$);
SELECT try($$SELECT partkv.get_item('counters', '{"id": "x"}')$$);
-- Errors: return values
SELECT try($$SELECT partkv.put_item('music', '{"artist": "a", "song": "b"}', return_values => 'ALL_NEW')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": "a", "song": "b"}', return_values => 'all_old')$$);
SELECT try($$SELECT partkv.delete_item('music', '{"artist": "a", "song": "b"}', return_values => 'UPDATED_NEW')$$);
-- Errors: expression arguments are validated before anything is written
SELECT try($$SELECT partkv.put_item('music', '{"artist": "a", "song": "b"}', condition => 'attribute_not_exists(artist')$$);
SELECT try($$SELECT partkv.get_item('music', '{"artist": "a", "song": "b"}', projection => 'song, ')$$);
SELECT try($$SELECT partkv.delete_item('music', '{"artist": "a", "song": "b"}', attr_values => '{":v": 1}')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": "a", "song": "b"}', return_values_on_condition_check_failure => 'SOME')$$);
-- failed calls wrote nothing
SELECT count(*) FROM music WHERE artist IN ('a', '');

-- Privileges: reads need SELECT, writes INSERT and UPDATE (put) or DELETE
CREATE ROLE regress_partkv_reader;
CREATE ROLE regress_partkv_writer;
GRANT SELECT ON music TO regress_partkv_reader;
GRANT INSERT, UPDATE, DELETE ON music TO regress_partkv_writer;
SET ROLE regress_partkv_reader;
SELECT partkv.get_item('music', '{"artist": "x", "song": "y"}');
SELECT try($$SELECT partkv.put_item('music', '{"artist": "r", "song": "1"}')$$);
SELECT try($$SELECT partkv.delete_item('music', '{"artist": "x", "song": "y"}')$$);
SELECT try($$SELECT partkv.get_item('counters', '{"id": 1}')$$);
RESET ROLE;
SET ROLE regress_partkv_writer;
SELECT partkv.put_item('music', '{"artist": "w", "song": "1"}');
SELECT try($$SELECT partkv.get_item('music', '{"artist": "w", "song": "1"}')$$);
SELECT try($$SELECT partkv.put_item('music', '{"artist": "w", "song": "1"}', return_values => 'ALL_OLD')$$);
SELECT partkv.delete_item('music', '{"artist": "w", "song": "1"}');
RESET ROLE;
-- row-level security is refused, not bypassed
ALTER TABLE music ENABLE ROW LEVEL SECURITY;
SET ROLE regress_partkv_reader;
SELECT try($$SELECT partkv.get_item('music', '{"artist": "x", "song": "y"}')$$);
RESET ROLE;
ALTER TABLE music DISABLE ROW LEVEL SECURITY;
DROP OWNED BY regress_partkv_reader, regress_partkv_writer;
DROP ROLE regress_partkv_reader, regress_partkv_writer;

-- the cache follows DROP and re-create of a table with the same name
SELECT partkv.delete_table('counters')->>'TableStatus';
SELECT try($$SELECT partkv.get_item('counters', '{"id": 1}')$$);
SELECT partkv.create_table('counters', 'id', 'S', partitions => 2) IS NOT NULL;
SELECT partkv.put_item('counters', '{"id": "one"}');
SELECT partkv.get_item('counters', '{"id": "one"}');
