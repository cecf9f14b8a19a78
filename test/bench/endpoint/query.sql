-- Query of one partition key (10 items) through partkv.dynamodb().
\set p random(1, :partition_keys)
SELECT partkv.dynamodb('Query', jsonb_build_object('TableName', 'bench',
	'KeyConditionExpression', 'pk = ' || chr(58) || 'p',
	'ExpressionAttributeValues', jsonb_build_object(chr(58) || 'p', jsonb_build_object('S', 'c' || :p))));
