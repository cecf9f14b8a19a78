-- GetItem of a random existing item through partkv.dynamodb() (wire JSON in and out).
\set p random(1, :partition_keys)
\set s random(1, :sort_keys)
SELECT partkv.dynamodb('GetItem', jsonb_build_object('TableName', 'bench', 'Key',
	jsonb_build_object('pk', jsonb_build_object('S', 'c' || :p), 'sk', jsonb_build_object('S', 's' || :s))));
