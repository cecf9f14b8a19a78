-- Control plane: create_table (both forms), describe_table, list_tables,
-- delete_table, and their errors.
\set VERBOSITY default
\set SHOW_CONTEXT never

-- Function form, partition key only
SELECT jsonb_pretty(partkv.create_table('users', 'user_id') - 'TableId' - 'CreationDateTime' - 'TableSizeBytes') AS d;
-- sort key, number partition key, custom partition count
SELECT jsonb_pretty(partkv.create_table('orders', 'customer_id', 'N', sort_key => 'order_id', partitions => 4)
	   - 'TableId' - 'CreationDateTime' - 'TableSizeBytes') AS d;
-- request-body form, binary keys, indexes and stream stored and shown
SELECT jsonb_pretty(partkv.create_table('{
  "TableName": "blobs",
  "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
  "AttributeDefinitions": [{"AttributeName": "h", "AttributeType": "B"},
                           {"AttributeName": "r", "AttributeType": "S"},
                           {"AttributeName": "l", "AttributeType": "N"},
                           {"AttributeName": "g", "AttributeType": "S"}],
  "LocalSecondaryIndexes": [{"IndexName": "by_l", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
  "GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["x"]}}],
  "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
  "Partitions": 2
}') - 'TableId' - 'CreationDateTime' - 'TableSizeBytes' - 'LatestStreamArn' - 'LatestStreamLabel') AS d;
-- a table with a stream names its latest stream
SELECT d->>'LatestStreamArn' LIKE 'arn:partkv:%:public:table/blobs/stream/' || (d->>'LatestStreamLabel') AS stream_arn
  FROM partkv.describe_table('blobs') d;

-- The tables are real partitioned tables, hashed with partkv's opclasses
\d+ orders
SELECT c.relname, am.amname, pg_get_expr(c.relpartbound, c.oid) AS bound
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  LEFT JOIN pg_am am ON am.oid = c.relam
 WHERE i.inhparent = 'orders'::regclass ORDER BY c.relname;
SELECT pg_get_partkeydef('users'::regclass), pg_get_partkeydef('orders'::regclass),
	   pg_get_partkeydef('blobs'::regclass);
SELECT attname, format_type(atttypid, atttypmod), attnotnull,
	   (SELECT collname FROM pg_collation WHERE oid = attcollation) AS coll
  FROM pg_attribute WHERE attrelid = 'users'::regclass AND attnum > 0 ORDER BY attnum;

SELECT * FROM partkv.list_tables();
SELECT partkv.describe_table('users')->'KeySchema', partkv.describe_table('users')->>'TableStatus',
	   partkv.describe_table('users')->>'ItemCount';

-- Schema-qualified names, and another schema's table of the same name
CREATE SCHEMA app;
SELECT partkv.create_table('app.users', 'id')->>'SchemaName';
SELECT * FROM partkv.list_tables();
SELECT partkv.describe_table('app.users')->'KeySchema';
SET search_path = app, public;
SELECT * FROM partkv.list_tables();
SELECT partkv.describe_table('users')->'KeySchema';
RESET search_path;

-- Errors
SELECT try($$SELECT partkv.create_table('users', 'user_id')$$);
SELECT try($$SELECT partkv.describe_table('nosuch')$$);
SELECT try($$SELECT partkv.delete_table('nosuch')$$);
SELECT try($$SELECT partkv.describe_table('a')$$);
SELECT try($$SELECT partkv.create_table('bad name!', 'k')$$);
SELECT try($$SELECT partkv.create_table('t"; DROP TABLE users; --', 'k')$$);
SELECT try($$SELECT partkv.create_table('okname', NULL)$$);
SELECT try($$SELECT partkv.create_table('okname', 'k', 'X')$$);
SELECT try($$SELECT partkv.create_table('okname', 'k', 'S', 'k')$$);
SELECT try($$SELECT partkv.create_table('okname', 'k', partitions => 0)$$);
SELECT try($$SELECT partkv.create_table('okname', 'k', partitions => 1025)$$);
SELECT try($$SELECT partkv.create_table('okname', 'item')$$);
SELECT try($$SELECT partkv.create_table(repeat('x', 57), 'k')$$);
SELECT try($$SELECT partkv.create_table('okname', 'k', stream_view_type => 'SOMETIMES')$$);
SELECT try($$SELECT partkv.create_table('okname', 'k', local_indexes => '[{"IndexName": "l1", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}]')$$);
SELECT try($$SELECT partkv.create_table('{"TableName": "okname", "KeySchema": [{"AttributeName": "k", "KeyType": "RANGE"}], "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]}')$$);
SELECT try($$SELECT partkv.create_table('{"TableName": "okname", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}, {"AttributeName": "z", "AttributeType": "S"}]}')$$);
SELECT try($$SELECT partkv.create_table('{"TableName": "okname", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "AttributeDefinitions": []}')$$);
SELECT try($$SELECT partkv.create_table('{"TableName": "okname", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}], "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}, {"AttributeName": "s", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}], "GlobalSecondaryIndexes": [{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["a"]}}]}')$$);
SELECT try($$SELECT partkv.create_table('{"TableName": "okname", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}, {"AttributeName": "s", "KeyType": "RANGE"}], "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}, {"AttributeName": "s", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}], "GlobalSecondaryIndexes": [{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}, {"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}]}')$$);
SELECT try($$SELECT partkv.create_table('{"TableName": "okname", "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}], "GlobalSecondaryIndexes": [{"IndexName": "gsi1", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}]}]}')$$);
SELECT try($$SELECT partkv.create_table('[]')$$);
-- nothing was left behind by the failures
SELECT count(*) FROM pg_class WHERE relname LIKE 'okname%';

-- delete_table returns the description with DELETING and drops everything
SELECT partkv.delete_table('app.users')->>'TableStatus';
SELECT to_regclass('app.users'), to_regclass('app.users_p0');
SELECT * FROM partkv.list_tables();
SELECT try($$SELECT partkv.describe_table('app.users')$$);

-- Only the owner can delete; others cannot touch the catalog either
CREATE ROLE regress_partkv_other;

SET ROLE regress_partkv_other;
SELECT try($$SELECT partkv.delete_table('users')$$);
SELECT try($$DELETE FROM partkv.tables$$);
SELECT try($$UPDATE partkv.tables SET partitions = 1$$);
RESET ROLE;
SELECT count(*) FROM partkv.tables;
DROP ROLE regress_partkv_other;
