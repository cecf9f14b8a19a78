-- partkv.dynamodb(): cases found by running the conformance suite
-- nubo-db/dynamodb-conformance through partkv-server (docs/CONFORMANCE.md),
-- each with DynamoDB's documented behaviour as the expected answer.

-- a call: its response, or its SQLSTATE and wire error body (DETAIL)
CREATE FUNCTION wc(op text, req jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	st text;
	d text;
BEGIN
	RETURN partkv.dynamodb(op, req);
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, d = PG_EXCEPTION_DETAIL;
	RETURN jsonb_build_object('sqlstate', st, 'error', d::jsonb);
END
$$;

\pset format unaligned
\pset tuples_only on

SELECT wc('CreateTable', '{"TableName": "wc_t", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
	"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]}')->'TableDescription'->'TableStatus';

-- legacy (non-expression) members beside expression members: DynamoDB's
-- ValidationException naming both, in its order, before other checks
SELECT wc('PutItem', '{"TableName": "wc_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
	"Expected": {"pk": {"Exists": false}}, "ConditionExpression": "attribute_not_exists(pk)"}');
SELECT wc('DeleteItem', '{"TableName": "wc_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
	"ConditionalOperator": "AND", "Expected": {"pk": {"Exists": true}}, "ConditionExpression": "attribute_exists(pk)"}');
SELECT wc('UpdateItem', '{"TableName": "wc_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
	"Expected": {"pk": {"Exists": true}}, "AttributeUpdates": {"x": {"Action": "PUT", "Value": {"S": "y"}}},
	"UpdateExpression": "SET x = :y", "ConditionExpression": "attribute_exists(pk)", "ExpressionAttributeValues": {":y": {"S": "y"}}}');
SELECT wc('GetItem', '{"TableName": "wc_t", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}},
	"AttributesToGet": ["x"], "ProjectionExpression": "x"}');
SELECT wc('Query', '{"TableName": "wc_t", "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
	"KeyConditionExpression": "pk = :p", "QueryFilter": {"x": {"ComparisonOperator": "NOT_NULL"}},
	"FilterExpression": "attribute_exists(x)", "ExpressionAttributeValues": {":p": {"S": "a"}}}');
SELECT wc('Scan', '{"TableName": "wc_t", "ConditionalOperator": "AND", "FilterExpression": "attribute_exists(x)"}');
SELECT wc('BatchGetItem', '{"RequestItems": {"wc_t": {"Keys": [{"pk": {"S": "a"}, "sk": {"N": "1"}}],
	"AttributesToGet": ["x"], "ProjectionExpression": "x"}}}');
-- KeyConditions counts as non-expression only beside a KeyConditionExpression
SELECT wc('Query', '{"TableName": "wc_t", "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}},
	"FilterExpression": "attribute_exists(x)"}');
-- a TableName shape error wins over the mixing error
SELECT wc('PutItem', '{"TableName": "w", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}},
	"Expected": {"pk": {"Exists": false}}, "ConditionExpression": "attribute_not_exists(pk)"}');
-- legacy members alone are not implemented yet
SELECT wc('PutItem', '{"TableName": "wc_t", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}}, "Expected": {"pk": {"Exists": false}}}');

SELECT wc('DeleteTable', '{"TableName": "wc_t"}')->'TableDescription'->'TableName';
DROP FUNCTION wc(text, jsonb);
