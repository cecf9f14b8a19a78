-- partkv.dynamodb(): DynamoDB's wire protocol over the SQL API (issue 17).
-- Typed requests in, typed responses out; every error with its wire body.

-- volatile members (ids, times, sequence numbers, sizes) shown as "*"
CREATE FUNCTION wire_scrub(j jsonb) RETURNS jsonb LANGUAGE sql AS $$
SELECT CASE jsonb_typeof(j)
	WHEN 'object' THEN coalesce((SELECT jsonb_object_agg(k,
			CASE WHEN k IN ('TableId', 'CreationDateTime', 'LatestStreamLabel', 'LatestStreamArn',
							'StreamArn', 'StreamLabel', 'TableSizeBytes', 'IndexSizeBytes',
							'SequenceNumber', 'StartingSequenceNumber', 'EndingSequenceNumber',
							'eventID', 'ApproximateCreationDateTime', 'ShardIterator',
							'NextShardIterator', 'CreationRequestDateTime', 'LastEvaluatedStreamArn')
				 THEN '"*"'::jsonb ELSE wire_scrub(v) END)
		FROM jsonb_each(j) AS e(k, v)), '{}')
	WHEN 'array' THEN coalesce((SELECT jsonb_agg(wire_scrub(v) ORDER BY i)
		FROM jsonb_array_elements(j) WITH ORDINALITY AS a(v, i)), '[]')
	ELSE j END
$$;

-- a call: its response, or its SQLSTATE and wire error body (DETAIL); the
-- error's message must be the body's
CREATE FUNCTION w(op text, req jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	st text;
	msg text;
	d text;
BEGIN
	RETURN wire_scrub(partkv.dynamodb(op, req));
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
	IF d::jsonb->>'message' IS DISTINCT FROM msg THEN
		RAISE EXCEPTION 'message % differs from body %', msg, d;
	END IF;
	RETURN jsonb_build_object('sqlstate', st, 'error', d::jsonb);
END
$$;

\pset format unaligned
\pset tuples_only on

-- tables
SELECT w('CreateTable', '{"TableName": "wire_t", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
	"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"},
		{"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "l", "AttributeType": "N"}],
	"LocalSecondaryIndexes": [{"IndexName": "by_l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
	"GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
	"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
	"BillingMode": "PAY_PER_REQUEST", "Partitions": 1}');
SELECT w('DynamoDB_20120810.DescribeTable', '{"TableName": "wire_t"}');
SELECT w('CreateTable', '{"TableName": "wire_t", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}');
SELECT w('CreateTable', '{"TableName": "wire_u", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}')->'TableDescription'->'TableArn';
SELECT w('CreateTable', '{"TableName": "wire_v", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}]}')->'TableDescription'->'TableStatus';
-- other suites' tables are listed too: only this file's are shown
SELECT jsonb_agg(n) FROM jsonb_array_elements_text(w('ListTables', '{}')->'TableNames') n WHERE n LIKE 'wire%';
SELECT w('ListTables', '{"Limit": 2, "ExclusiveStartTableName": "wire_a"}');
SELECT w('ListTables', '{"Limit": 2, "ExclusiveStartTableName": "wire_u"}');
SELECT w('ListTables', '{"Limit": 0}');
SELECT w('ListTables', '{"Limit": 101}');
SELECT w('ListTables', '{"Limit": "2"}');
SELECT w('DescribeTable', '{"TableName": "wire_none"}');
SELECT w('DescribeTable', '{}');
SELECT w('DescribeTable', '{"TableName": "a!"}');
SELECT w('DescribeTable', '{"TableName": 7}');
SELECT w('UpdateTable', '{"TableName": "wire_v", "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}')->'TableDescription'->'StreamSpecification';
SELECT w('UpdateTable', '{"TableName": "wire_v"}');
SELECT w('UpdateTable', '{"TableName": "wire_v", "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}');
SELECT w('DeleteTable', '{"TableName": "wire_v"}')->'TableDescription'->'TableStatus';
SELECT w('DeleteTable', '{"TableName": "wire_v"}');
SET partkv.region = 'eu-west-3';
SET partkv.account_id = '123456789012';
SELECT partkv.dynamodb('DescribeTable', '{"TableName": "wire_u"}')->'Table'->'TableArn';
RESET partkv.region;
RESET partkv.account_id;

-- TTL
SELECT w('DescribeTimeToLive', '{"TableName": "wire_u"}');
SELECT w('UpdateTimeToLive', '{"TableName": "wire_u", "TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": true}}');
SELECT w('DescribeTimeToLive', '{"TableName": "wire_u"}');
SELECT w('UpdateTimeToLive', '{"TableName": "wire_u", "TimeToLiveSpecification": {"AttributeName": "exp", "Enabled": true}}');
SELECT w('UpdateTimeToLive', '{"TableName": "wire_u"}');

-- single items
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "l": {"N": "5"},
	"x": {"L": [{"N": "1.50"}, {"SS": ["q", "r"]}, {"B": "AAE="}, {"NULL": true}, {"BOOL": false}, {"M": {"m": {"NS": ["2", "1"]}}}]}}}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "x": {"N": "2"}}, "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "TOTAL"}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnValues": "ALL_NEW"}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": 1}}}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {}}}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}}}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": "x"}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "Expected": {"pk": {"Exists": false}}}');
SELECT w('PutItem', '{"TableName": "wire_none", "Item": {"pk": {"S": "a"}}}');
SELECT w('PutItem', '{"TableName": "wire_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists("}');
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnConsumedCapacity": "TOTAL", "ConsistentRead": true}');
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ProjectionExpression": "#x", "ExpressionAttributeNames": {"#x": "x"}}');
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "zz"}, "sk": {"N": "1"}}}');
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "zz"}}}');
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConsistentRead": "yes"}');
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "AttributesToGet": ["x"]}');
SELECT w('UpdateItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET y = :v, l = :l",
	"ExpressionAttributeValues": {":v": {"M": {"q": {"BOOL": true}}}, ":l": {"N": "3"}}, "ReturnValues": "UPDATED_NEW"}');
SELECT w('UpdateItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET y = :v", "ExpressionAttributeValues": {":v": {"Q": "x"}}}');
SELECT w('UpdateItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "UpdateExpression": "SET y = :v"}');
SELECT w('UpdateItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnValues": "EVERYTHING", "UpdateExpression": "SET y = :v", "ExpressionAttributeValues": {":v": {"S": "x"}}}');
SELECT w('UpdateItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "AttributeUpdates": {"y": {"Action": "DELETE"}}}');
SELECT w('DeleteItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "nope"}, "sk": {"N": "1"}}, "ReturnValues": "ALL_OLD"}');
SELECT w('DeleteItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ConditionExpression": "y = :v", "ExpressionAttributeValues": {":v": {"S": "no"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}');
SELECT w('DeleteItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "ReturnValues": "UPDATED_NEW"}');

-- query and scan
SELECT w('BatchWriteItem', '{"RequestItems": {"wire_t": [
	{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"N": "1"}, "g": {"S": "G"}, "l": {"N": "30"}}}},
	{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"N": "2"}, "g": {"S": "G"}, "l": {"N": "20"}}}},
	{"PutRequest": {"Item": {"pk": {"S": "b"}, "sk": {"N": "3"}, "l": {"N": "10"}, "bin": {"BS": ["AAE=", "AQ=="]}}}},
	{"DeleteRequest": {"Key": {"pk": {"S": "c"}, "sk": {"N": "1"}}}}]}, "ReturnConsumedCapacity": "TOTAL"}');
SELECT w('Query', '{"TableName": "wire_t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Limit": 2, "ReturnConsumedCapacity": "TOTAL"}');
SELECT w('Query', '{"TableName": "wire_t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Limit": 2,
	"ExclusiveStartKey": {"pk": {"S": "b"}, "sk": {"N": "2"}}}');
SELECT w('Query', '{"TableName": "wire_t", "IndexName": "by_l", "KeyConditionExpression": "pk = :p AND l > :l", "ExpressionAttributeValues": {":p": {"S": "b"}, ":l": {"N": "15"}},
	"ScanIndexForward": false, "ProjectionExpression": "sk, l"}');
SELECT w('Query', '{"TableName": "wire_t", "IndexName": "by_g", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "G"}}, "ConsistentRead": true}');
SELECT w('Query', '{"TableName": "wire_t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "FilterExpression": "sk > :s"}');
SELECT w('Query', '{"TableName": "wire_t", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}, "Limit": 0}');
SELECT w('Query', '{"TableName": "wire_t", "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "b"}]}}}');
SELECT w('Query', '{"TableName": "wire_t"}');
SELECT w('Query', '{"TableName": "wire_t", "IndexName": "nope", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "b"}}}');
SELECT w('Scan', '{"TableName": "wire_t", "FilterExpression": "l < :l", "ExpressionAttributeValues": {":l": {"N": "25"}}}');
SELECT w('Scan', '{"TableName": "wire_t", "Segment": 0, "TotalSegments": 1, "Limit": 1}');
SELECT w('Scan', '{"TableName": "wire_t", "Segment": 1, "TotalSegments": 1}');
SELECT w('Scan', '{"TableName": "wire_t", "Segment": 1.5, "TotalSegments": 2}');
SELECT w('Scan', '{"TableName": "wire_t", "Select": "COUNT"}');
SELECT w('Scan', '{"TableName": "wire_t", "ScanFilter": {}}');

-- batches and transactions
SELECT w('BatchGetItem', '{"RequestItems": {"wire_t": {"Keys": [{"pk": {"S": "b"}, "sk": {"N": "1"}}, {"pk": {"S": "b"}, "sk": {"N": "9"}}], "ProjectionExpression": "sk, g"}}, "ReturnConsumedCapacity": "TOTAL"}');
SELECT w('BatchGetItem', '{"RequestItems": {"wire_t": {"Keys": [{"pk": {"S": "b"}, "sk": {"N": "1"}}], "AttributesToGet": ["g"]}}}');
SELECT w('BatchGetItem', '{"RequestItems": {}}');
SELECT w('BatchWriteItem', '{"RequestItems": {"wire_none": [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]}}');
SELECT w('TransactWriteItems', '{"TransactItems": [
	{"Put": {"TableName": "wire_t", "Item": {"pk": {"S": "t"}, "sk": {"N": "1"}, "v": {"S": "one"}}}},
	{"Update": {"TableName": "wire_t", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}, "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"N": "7"}}}},
	{"ConditionCheck": {"TableName": "wire_t", "Key": {"pk": {"S": "b"}, "sk": {"N": "2"}}, "ConditionExpression": "attribute_exists(pk)"}}]}');
SELECT w('TransactWriteItems', '{"TransactItems": [
	{"Delete": {"TableName": "wire_t", "Key": {"pk": {"S": "t"}, "sk": {"N": "1"}}}},
	{"Put": {"TableName": "wire_t", "Item": {"pk": {"S": "b"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}]}');
SELECT w('TransactGetItems', '{"TransactItems": [{"Get": {"TableName": "wire_t", "Key": {"pk": {"S": "t"}, "sk": {"N": "1"}}}},
	{"Get": {"TableName": "wire_t", "Key": {"pk": {"S": "nope"}, "sk": {"N": "1"}}}}]}');

-- streams
SELECT partkv.stream_wait();
SELECT jsonb_agg(s) FROM jsonb_array_elements(w('DynamoDBStreams_20120810.ListStreams', '{}')->'Streams') s
 WHERE s->>'TableName' LIKE 'wire%';
SELECT w('ListStreams', '{"TableName": "wire_t", "Limit": 1}');
SELECT w('ListStreams', '{"TableName": "wire_u"}');
SELECT w('ListStreams', '{"Limit": 0}');
SELECT w('DescribeStream', jsonb_build_object('StreamArn', partkv.dynamodb('DescribeTable', '{"TableName": "wire_t"}')->'Table'->>'LatestStreamArn'));
SELECT w('DescribeStream', '{"StreamArn": "arn:aws:dynamodb:us-east-1:000000000000:table/wire_t/stream/2000-01-01T00:00:00.000"}');
SELECT w('DescribeStream', '{}');
CREATE TEMP TABLE it AS
SELECT partkv.dynamodb('GetShardIterator', jsonb_build_object(
	'StreamArn', partkv.dynamodb('DescribeTable', '{"TableName": "wire_t"}')->'Table'->>'LatestStreamArn',
	'ShardId', partkv.dynamodb('DescribeStream', jsonb_build_object('StreamArn',
		partkv.dynamodb('DescribeTable', '{"TableName": "wire_t"}')->'Table'->>'LatestStreamArn'))->'StreamDescription'->'Shards'->0->>'ShardId',
	'ShardIteratorType', 'TRIM_HORIZON'))->>'ShardIterator' AS iterator;
SELECT iterator LIKE 'partkv-iterator:%' FROM it;
SELECT w('GetRecords', jsonb_build_object('ShardIterator', iterator, 'Limit', 3)) FROM it;
SELECT w('GetRecords', jsonb_build_object('ShardIterator', iterator, 'Limit', 0)) FROM it;
SELECT w('GetRecords', '{"ShardIterator": "partkv-iterator:bm9uc2Vuc2U="}');
SELECT w('GetShardIterator', jsonb_build_object(
	'StreamArn', partkv.dynamodb('DescribeTable', '{"TableName": "wire_t"}')->'Table'->>'LatestStreamArn',
	'ShardId', 'shardId-0000000000-9999999999', 'ShardIteratorType', 'TRIM_HORIZON'));
SELECT w('GetShardIterator', jsonb_build_object(
	'StreamArn', partkv.dynamodb('DescribeTable', '{"TableName": "wire_t"}')->'Table'->>'LatestStreamArn',
	'ShardId', 'shardId-0000000000-9999999999'));

-- operations
SELECT w('DescribeLimits', '{}');
SELECT w('DescribeEndpoints', '{}');
SELECT w('Frobnicate', '{}');
SELECT w('DynamoDB_20120810.Frobnicate', '{}');
SELECT w('TagResource', '{}');
SELECT w('ExecuteStatement', '{"Statement": "SELECT * FROM wire_t"}');
SELECT w('ListTables', '[]');
SELECT w('ListTables', NULL) ? 'TableNames';

-- PostgreSQL's own errors: privileges, and anything unmapped
CREATE ROLE wire_nobody;
SET ROLE wire_nobody;
SELECT w('GetItem', '{"TableName": "wire_t", "Key": {"pk": {"S": "b"}, "sk": {"N": "1"}}}');
RESET ROLE;
DROP ROLE wire_nobody;
SELECT w('DeleteTable', '{"TableName": "wire_t"}')->'TableDescription'->'TableStatus';
SELECT w('DeleteTable', '{"TableName": "wire_u"}')->'TableDescription'->'TableStatus';
