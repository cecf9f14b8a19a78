--
-- fuzz_findings: defects found by the SQL fuzzer (test/fuzz/SqlFuzz.pm),
-- one case each, as the fuzzer's finding file gave it.
--
\set VERBOSITY terse

SELECT partkv.create_table('ff_tokens', 'k', 'N', partitions => 1) IS NOT NULL AS created;
CREATE ROLE regress_partkv_ff_reader;
GRANT SELECT ON ff_tokens TO regress_partkv_ff_reader;

-- TransactWriteItems with a ClientRequestToken: a repeat by a role that
-- may only read the table is refused (42501), as the same request without
-- a token is; it does not get the first call's response.
SELECT partkv.transact_write_items('{"ClientRequestToken": "ff-1", "TransactItems": [{"Update": {"TableName": "ff_tokens", "Key": {"k": 1}, "UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": 1}}}]}');
SET ROLE regress_partkv_ff_reader;
SELECT partkv.transact_write_items('{"TransactItems": [{"Update": {"TableName": "ff_tokens", "Key": {"k": 1}, "UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": 1}}}]}');
SELECT partkv.transact_write_items('{"ClientRequestToken": "ff-1", "TransactItems": [{"Update": {"TableName": "ff_tokens", "Key": {"k": 1}, "UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": 1}}}]}');
RESET ROLE;
-- the first caller's repeat still returns the response without applying again
SELECT partkv.transact_write_items('{"ClientRequestToken": "ff-1", "TransactItems": [{"Update": {"TableName": "ff_tokens", "Key": {"k": 1}, "UpdateExpression": "ADD c :one", "ExpressionAttributeValues": {":one": 1}}}]}');
SELECT partkv.get_item('ff_tokens', '{"k": 1}');

-- (tokens are global: leave none behind)
DELETE FROM partkv_internal.client_request_tokens WHERE token = 'ff-1';
SELECT partkv.delete_table('ff_tokens') IS NOT NULL AS deleted;
DROP ROLE regress_partkv_ff_reader;
