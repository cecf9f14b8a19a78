-- batch_get_item, batch_write_item, transact_write_items, transact_get_items
-- (SPEC §6): request and response shapes, limits, duplicates,
-- all-or-nothing transactions with CancellationReasons, idempotency tokens.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT partkv.create_table('bta', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N', partitions => 2) IS NOT NULL;
SELECT partkv.create_table('btb', 'id', 'N', partitions => 2) IS NOT NULL;

-- BatchWriteItem: puts and deletes across tables
SELECT partkv.batch_write_item('{"RequestItems": {
	"bta": [{"PutRequest": {"Item": {"pk": "a", "sk": 1, "v": 1}}},
		   {"PutRequest": {"Item": {"pk": "a", "sk": 2, "v": 2}}},
		   {"PutRequest": {"Item": {"pk": "b", "sk": 1, "v": 3}}}],
	"btb": [{"PutRequest": {"Item": {"id": 1, "name": "one"}}},
		   {"PutRequest": {"Item": {"id": 2, "name": "two"}}},
		   {"DeleteRequest": {"Key": {"id": 99}}}]}}');
SELECT pk, sk, item FROM bta ORDER BY pk, sk;
SELECT id, item FROM btb ORDER BY id;
SELECT partkv.batch_write_item('{"RequestItems": {"bta": [{"DeleteRequest": {"Key": {"pk": "b", "sk": 1}}},
	{"PutRequest": {"Item": {"pk": "a", "sk": 2, "v": 20}}}]}}');
SELECT pk, sk, item FROM bta ORDER BY pk, sk;
-- BatchWriteItem errors: nothing is written
SELECT e, try(format('SELECT partkv.batch_write_item(%L)', e)) FROM unnest(ARRAY[
	'{}',
	'{"RequestItems": {}}',
	'{"RequestItems": {"bta": []}}',
	'{"RequestItems": {"nosuch": [{"PutRequest": {"Item": {"pk": "z"}}}]}}',
	'{"RequestItems": {"bta": [{"PutRequest": {"Item": {"pk": "z", "sk": 1}}}, {"PutRequest": {"Item": {"pk": "z", "sk": 1.0}}}]}}',
	'{"RequestItems": {"bta": [{"PutRequest": {"Item": {"pk": "z", "sk": 1}}}, {"DeleteRequest": {"Key": {"pk": "z", "sk": 1}}}]}}',
	'{"RequestItems": {"bta": [{"PutRequest": {"Item": {"pk": "z", "sk": 1}}}, {"PutRequest": {"Item": {"pk": "z"}}}]}}',
	'{"RequestItems": {"bta": [{"PutRequest": {"Item": {"pk": "z", "sk": 1}}, "DeleteRequest": {"Key": {"pk": "z", "sk": 1}}}]}}',
	'{"RequestItems": {"bta": [{"DeleteRequest": {"Key": {"pk": "z"}}}]}}'
]) e;
SELECT try(format('SELECT partkv.batch_write_item(%L)',
	jsonb_build_object('RequestItems', jsonb_build_object('bta',
		(SELECT jsonb_agg(jsonb_build_object('PutRequest', jsonb_build_object('Item', jsonb_build_object('pk', 'n', 'sk', g)))) FROM generate_series(1, 26) g)))));
SELECT count(*) FROM bta WHERE pk IN ('z', 'n');

-- BatchGetItem: found items, missing keys omitted, projections
SELECT jsonb_pretty(partkv.batch_get_item('{"RequestItems": {
	"bta": {"Keys": [{"pk": "a", "sk": 1}, {"pk": "a", "sk": 2}, {"pk": "nope", "sk": 1}], "ProjectionExpression": "sk, #v", "ExpressionAttributeNames": {"#v": "v"}},
	"btb": {"Keys": [{"id": 1}, {"id": 3}], "ConsistentRead": true}}}'));
SELECT partkv.batch_get_item('{"RequestItems": {"btb": {"Keys": [{"id": 42}]}}}');
SELECT e, try(format('SELECT partkv.batch_get_item(%L)', e)) FROM unnest(ARRAY[
	'{"RequestItems": {}}',
	'{"RequestItems": {"btb": {"Keys": []}}}',
	'{"RequestItems": {"btb": {"Keys": [{"id": 1}, {"id": 1.0}]}}}',
	'{"RequestItems": {"btb": {"Keys": [{"id": "1"}]}}}',
	'{"RequestItems": {"nosuch": {"Keys": [{"id": 1}]}}}',
	'{"RequestItems": {"btb": {"Keys": [{"id": 1}], "ProjectionExpression": "name"}}}'
]) e;
SELECT try(format('SELECT partkv.batch_get_item(%L)',
	jsonb_build_object('RequestItems', jsonb_build_object('btb', jsonb_build_object('Keys',
		(SELECT jsonb_agg(jsonb_build_object('id', g)) FROM generate_series(1, 101) g))))));
-- past 16 MB the rest is returned in UnprocessedKeys
SELECT count(partkv.put_item('bta', jsonb_build_object('pk', 'big', 'sk', g, 'blob', repeat('x', 390000))))
  FROM generate_series(1, 50) g;
WITH r AS (SELECT partkv.batch_get_item(jsonb_build_object('RequestItems', jsonb_build_object('bta', jsonb_build_object('Keys',
	(SELECT jsonb_agg(jsonb_build_object('pk', 'big', 'sk', g)) FROM generate_series(1, 50) g))))) AS r)
SELECT jsonb_array_length(r->'Responses'->'bta') AS returned,
	   jsonb_array_length(r->'UnprocessedKeys'->'bta'->'Keys') AS unprocessed FROM r;

-- TransactWriteItems: all four actions succeed together
SELECT partkv.transact_write_items('{"TransactItems": [
	{"Put": {"TableName": "bta", "Item": {"pk": "t", "sk": 1, "v": 1}, "ConditionExpression": "attribute_not_exists(pk)"}},
	{"Update": {"TableName": "btb", "Key": {"id": 1}, "UpdateExpression": "SET hits = if_not_exists(hits, :z) + :one", "ExpressionAttributeValues": {":z": 0, ":one": 1}}},
	{"Delete": {"TableName": "btb", "Key": {"id": 2}}},
	{"ConditionCheck": {"TableName": "bta", "Key": {"pk": "a", "sk": 1}, "ConditionExpression": "v = :one", "ExpressionAttributeValues": {":one": 1}}}]}');
SELECT partkv.get_item('bta', '{"pk": "t", "sk": 1}'), partkv.get_item('btb', '{"id": 1}'), partkv.get_item('btb', '{"id": 2}');
-- a failed condition cancels everything, with one reason per action, all conditions reported
SELECT tryd($$SELECT partkv.transact_write_items('{"TransactItems": [
	{"Put": {"TableName": "bta", "Item": {"pk": "t2", "sk": 1}}},
	{"Update": {"TableName": "btb", "Key": {"id": 1}, "UpdateExpression": "SET hits = hits + :one", "ConditionExpression": "hits > :ten", "ExpressionAttributeValues": {":one": 1, ":ten": 10}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
	{"ConditionCheck": {"TableName": "bta", "Key": {"pk": "a", "sk": 1}, "ConditionExpression": "attribute_not_exists(pk)"}},
	{"Delete": {"TableName": "bta", "Key": {"pk": "a", "sk": 2}}}]}')$$);
SELECT partkv.get_item('bta', '{"pk": "t2", "sk": 1}') IS NULL AS not_written,
	   partkv.get_item('btb', '{"id": 1}')->'hits' AS hits_unchanged,
	   partkv.get_item('bta', '{"pk": "a", "sk": 2}') IS NOT NULL AS not_deleted;
-- validation errors of the request
SELECT e, try(format('SELECT partkv.transact_write_items(%L)', e)) FROM unnest(ARRAY[
	'{}',
	'{"TransactItems": []}',
	'{"TransactItems": [{"Put": {"TableName": "bta", "Item": {"pk": "x", "sk": 1}}}, {"Delete": {"TableName": "bta", "Key": {"pk": "x", "sk": 1.0}}}]}',
	'{"TransactItems": [{"Put": {"TableName": "bta", "Item": {"pk": "x", "sk": 1}}, "Delete": {"TableName": "bta", "Key": {"pk": "x", "sk": 1}}}]}',
	'{"TransactItems": [{"ConditionCheck": {"TableName": "bta", "Key": {"pk": "x", "sk": 1}}}]}',
	'{"TransactItems": [{"Update": {"TableName": "bta", "Key": {"pk": "x", "sk": 1}}}]}',
	'{"TransactItems": [{"Put": {"TableName": "nosuch", "Item": {"pk": "x"}}}]}',
	'{"TransactItems": [{"Put": {"TableName": "bta", "Item": {"pk": "x", "sk": 1}, "ConditionExpression": "#a = :b"}}]}',
	'{"TransactItems": [{"Get": {"TableName": "bta", "Key": {"pk": "x", "sk": 1}}}]}'
]) e;
SELECT try(format('SELECT partkv.transact_write_items(%L)', jsonb_build_object('TransactItems',
	(SELECT jsonb_agg(jsonb_build_object('Put', jsonb_build_object('TableName', 'bta', 'Item', jsonb_build_object('pk', 'm', 'sk', g)))) FROM generate_series(1, 101) g))));
-- 100 distinct items in one transaction is fine
SELECT partkv.transact_write_items(jsonb_build_object('TransactItems',
	(SELECT jsonb_agg(jsonb_build_object('Put', jsonb_build_object('TableName', 'bta', 'Item', jsonb_build_object('pk', 'm', 'sk', g)))) FROM generate_series(1, 100) g)));
SELECT count(*) FROM bta WHERE pk = 'm';

-- ClientRequestToken: a repeat within 10 minutes is not applied again
SELECT partkv.transact_write_items('{"ClientRequestToken": "tok-1", "TransactItems": [
	{"Update": {"TableName": "btb", "Key": {"id": 7}, "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": 1}}}]}');
SELECT partkv.transact_write_items('{"ClientRequestToken": "tok-1", "TransactItems": [
	{"Update": {"TableName": "btb", "Key": {"id": 7}, "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": 1}}}]}');
SELECT partkv.get_item('btb', '{"id": 7}');
SELECT try($$SELECT partkv.transact_write_items('{"ClientRequestToken": "tok-1", "TransactItems": [
	{"Update": {"TableName": "btb", "Key": {"id": 7}, "UpdateExpression": "ADD n :two", "ExpressionAttributeValues": {":two": 2}}}]}')$$);
-- only the transaction that claimed a token records its response
SELECT partkv_internal.record_request_token('tok-1', '{"forged": true}');
SELECT partkv.transact_write_items('{"ClientRequestToken": "tok-1", "TransactItems": [
	{"Update": {"TableName": "btb", "Key": {"id": 7}, "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": 1}}}]}');
-- a cancelled transaction does not keep its token
SELECT try($$SELECT partkv.transact_write_items('{"ClientRequestToken": "tok-2", "TransactItems": [
	{"ConditionCheck": {"TableName": "btb", "Key": {"id": 7}, "ConditionExpression": "n > :five", "ExpressionAttributeValues": {":five": 5}}}]}')$$);
SELECT partkv.transact_write_items('{"ClientRequestToken": "tok-2", "TransactItems": [
	{"ConditionCheck": {"TableName": "btb", "Key": {"id": 7}, "ConditionExpression": "n < :five", "ExpressionAttributeValues": {":five": 5}}}]}');
SELECT count(*) FROM partkv_internal.client_request_tokens;

-- TransactGetItems: aligned responses, {} for missing items
SELECT partkv.transact_get_items('{"TransactItems": [
	{"Get": {"TableName": "bta", "Key": {"pk": "a", "sk": 1}, "ProjectionExpression": "v"}},
	{"Get": {"TableName": "btb", "Key": {"id": 404}}},
	{"Get": {"TableName": "btb", "Key": {"id": 1}}}]}');
SELECT try($$SELECT partkv.transact_get_items('{"TransactItems": [{"Put": {"TableName": "bta"}}]}')$$);
SELECT try($$SELECT partkv.transact_get_items('{"TransactItems": [{"Get": {"TableName": "nosuch", "Key": {"id": 1}}}]}')$$);

-- inside an explicit transaction, a rollback undoes a batch
BEGIN;
SELECT partkv.batch_write_item('{"RequestItems": {"btb": [{"PutRequest": {"Item": {"id": 500}}}]}}');
ROLLBACK;
SELECT partkv.get_item('btb', '{"id": 500}') IS NULL AS rolled_back;
