-- A copy of bench with two GSIs whose keys every put changes: write throughput
-- with GSIs against the same puts on bench (no GSIs), and the worker's
-- backlog when the load stops.
SET client_min_messages = warning;
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
SELECT partkv.wait_for_index('bench_gsi', 'by_g1', '600s'), partkv.wait_for_index('bench_gsi', 'by_g2', '600s');
