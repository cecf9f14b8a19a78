-- A table with a NEW_IMAGE stream and two GSIs whose keys every put moves
-- (CQRS with indexes): how fast its stream is while GSI maintenance runs
-- behind.  The baseline is the same puts on bench_stream (stream, no GSIs).
SET client_min_messages = warning;
SELECT to_regclass('public.bench_sg') IS NULL AS missing \gset
\if :missing
SELECT partkv.create_table('{"TableName": "bench_sg",
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                           {"AttributeName": "g1", "AttributeType": "S"}, {"AttributeName": "g2", "AttributeType": "N"}],
  "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"},
  "GlobalSecondaryIndexes": [
    {"IndexName": "by_g1", "KeySchema": [{"AttributeName": "g1", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
     "Projection": {"ProjectionType": "ALL"}},
    {"IndexName": "by_g2", "KeySchema": [{"AttributeName": "g2", "KeyType": "HASH"}],
     "Projection": {"ProjectionType": "KEYS_ONLY"}}]}') IS NOT NULL;
INSERT INTO public.bench_sg
SELECT pk, sk, item || jsonb_build_object('g1', 'g' || ((item->>'v')::int % 1000), 'g2', (item->>'v')::int % 997)
  FROM public.bench;
\endif
SELECT to_regclass('public.bench_stream') IS NULL AS missing \gset
\if :missing
SELECT partkv.create_table('bench_stream', 'pk', 'S', sort_key => 'sk', sort_key_type => 'S',
						   stream_view_type => 'NEW_IMAGE') IS NOT NULL;
INSERT INTO public.bench_stream SELECT * FROM public.bench;
\endif
SELECT partkv.wait_for_index('bench_sg', 'by_g1', '600s'), partkv.wait_for_index('bench_sg', 'by_g2', '600s');
