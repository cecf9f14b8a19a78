-- The same create-only write as a plain SQL insert.
\set p random(1, 9000000000000000000)
INSERT INTO plain_kv VALUES ('n' || :p, 's1', jsonb_build_object('pk', 'n' || :p, 'sk', 's1', 'v', 1))
ON CONFLICT (pk, sk) DO NOTHING;
