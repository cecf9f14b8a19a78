-- setup.sql -- the endpoint benchmark's data: table "bench" (partition key pk,
-- sort key sk, both S) holding partition_keys x sort_keys items
-- {"pk": "c<i>", "sk": "s<j>", "v": <n>, "payload": "<md5>", "tags": ["a", "b", "c"]},
-- the same items load_dynalite.py writes into dynalite.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS partkv;
SELECT partkv.create_table('bench', 'pk', 'S', sort_key => 'sk', sort_key_type => 'S');
INSERT INTO public.bench (pk, sk, item)
SELECT 'c' || i, 's' || j,
	   jsonb_build_object('pk', 'c' || i, 'sk', 's' || j, 'v', i * 10 + j,
						  'payload', md5(i::text || '/' || j::text), 'tags', jsonb_build_array('a', 'b', 'c'))
FROM generate_series(1, :partition_keys) i, generate_series(1, :sort_keys) j;
VACUUM (ANALYZE) public.bench;
CHECKPOINT;
