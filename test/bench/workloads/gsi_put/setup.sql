-- A copy of bench with two GSIs whose keys every put changes: write throughput
-- with GSIs against the same puts on bench (no GSIs), and the worker's
-- backlog when the load stops.  Also gsi_lag's table: made once.
SET client_min_messages = warning;
SELECT to_regclass('public.bench_gsi') IS NULL AS missing \gset
\if :missing
SELECT partkv.create_table('{"TableName": "bench_gsi",
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                           {"AttributeName": "g1", "AttributeType": "S"}, {"AttributeName": "g2", "AttributeType": "N"}],
  "GlobalSecondaryIndexes": [
    {"IndexName": "by_g1", "KeySchema": [{"AttributeName": "g1", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
     "Projection": {"ProjectionType": "ALL"}},
    {"IndexName": "by_g2", "KeySchema": [{"AttributeName": "g2", "KeyType": "HASH"}],
     "Projection": {"ProjectionType": "KEYS_ONLY"}}]}') IS NOT NULL;
INSERT INTO public.bench_gsi
SELECT pk, sk, item || jsonb_build_object('g1', 'g' || ((item->>'v')::int % 1000), 'g2', (item->>'v')::int % 997)
  FROM public.bench;
\endif
SELECT partkv.wait_for_index('bench_gsi', 'by_g1', '600s'), partkv.wait_for_index('bench_gsi', 'by_g2', '600s');
