# 040_upgrade.pl -- ALTER EXTENSION partkv UPDATE from 0.1 (a record per
# row in partkv.stream_log) to the current version through 0.2 (chunks),
# 0.3 (GSI entries written without SQL), 0.4 (a hash index finds GSI
# entries by table key) and 0.5 (catalog rows name their installation; the
# stream's partitions are dumped): while a database is still at
# 0.1 its stream worker waits and says so; the update turns 0.1's records
# into chunks; once it commits the worker materialises what was written
# meanwhile, after the old records and in order, with nothing lost.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('upgrade');
$node->append_conf('postgresql.conf', "partkv.naptime = '100ms'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE kv');
my $log_offset = -s $node->logfile;
$node->safe_psql('kv', q{CREATE EXTENSION partkv VERSION '0.1'});
is($node->safe_psql('kv', q{SELECT extversion FROM pg_extension WHERE extname = 'partkv'}),
	'0.1', 'the extension is created at 0.1');
ok( $node->wait_for_log(
		qr/partkv stream worker for database "kv" is waiting for ALTER EXTENSION partkv UPDATE/,
		$log_offset),
	'the worker of a 0.1 database waits and says why');

$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('orders', 'customer', sort_key => 'id', sort_key_type => 'N',
							   partitions => 2, stream_view_type => 'NEW_IMAGE');
});

# A table with a GSI made under 0.1 (its storage has 0.1's table-key index).
$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('{"TableName": "users", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
		"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "team", "AttributeType": "S"}],
		"GlobalSecondaryIndexes": [{"IndexName": "by_team", "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
									"Projection": {"ProjectionType": "ALL"}}]}');
});

# A record as the 0.1 worker stored it, older than anything written next.
$node->safe_psql(
	'kv', q{
	SELECT partkv.stream_ensure_partition(now(), '1 hour');
	INSERT INTO partkv.stream_log
	SELECT s.stream_id, 'shardId-0000000002-0000000000',
		   partkv.lsn_sequence_number(s.created_lsn), 'INSERT', 10,
		   jsonb_build_object('eventName', 'INSERT', 'tableName', 'orders',
							  'dynamodb', jsonb_build_object('Keys', '{"customer": "old", "id": 0}'::jsonb,
															 'SequenceNumber', partkv.lsn_sequence_number(s.created_lsn))),
		   now()
	  FROM partkv.streams s;
});

# 0.1 let any role write the catalogs: a role forges a catalog row for a
# table of its own carrying the table_id of "orders" (its stream records).
$node->safe_psql(
	'kv', q{
	CREATE ROLE forger;
	GRANT CREATE ON SCHEMA public TO forger;
	SET ROLE forger;
	CREATE TABLE public.forged (customer text COLLATE "C" NOT NULL, id numeric NOT NULL, item jsonb NOT NULL)
		PARTITION BY HASH (customer);
	INSERT INTO partkv.tables (schema_name, table_name, partition_key, partition_key_type, sort_key, sort_key_type,
							   partitions, attribute_definitions, table_id, created_at)
	SELECT 'public', 'forged', partition_key, partition_key_type, sort_key, sort_key_type, 1,
		   attribute_definitions, table_id, created_at + interval '1 second'
	  FROM partkv.tables WHERE table_name = 'orders';
	RESET ROLE;
});

# Writes made while the worker waits stay in its slot.
$node->safe_psql('kv',
	q{SELECT partkv.put_item('orders', jsonb_build_object('customer', 'c' || (i % 3), 'id', i)) FROM generate_series(1, 20) i}
);
sleep(1);
is($node->safe_psql('kv', 'SELECT count(*) FROM partkv.stream_log'),
	'1', 'nothing is materialised while the database is at 0.1');

my ($rc, $out, $err) = $node->psql('kv', 'ALTER EXTENSION partkv UPDATE');
is($rc, 0, 'the update succeeds');
like($err, qr/removing the catalog row of public\.forged, which repeats the table_id of an older table/,
	'the update removes the forged row and says so');
is( $node->safe_psql(
		'kv', q{
	SELECT string_agg(c || ':' || p, ',' ORDER BY c, p)
	  FROM unnest(ARRAY['tables', 'streams', 'stream_handlers', 'dead_letters', 'gsi_indexes']) c,
		   unnest(ARRAY['INSERT', 'UPDATE', 'DELETE']) p
	 WHERE has_table_privilege('forger', 'partkv.' || c, p)}),
	'', 'after the update no role but the owner may write the catalogs');
is($node->safe_psql('kv', q{SELECT string_agg(table_name, ',' ORDER BY table_name) FROM partkv.tables}),
	'orders,users', 'the forged catalog row is gone');
$node->safe_psql('kv', 'DROP TABLE public.forged; REVOKE CREATE ON SCHEMA public FROM forger; DROP ROLE forger');
is($node->safe_psql('kv', q{SELECT extversion FROM pg_extension WHERE extname = 'partkv'}),
	'0.5', 'the extension is at 0.5');
is($node->safe_psql('kv', q{SELECT to_regprocedure('partkv.gsi_apply_sql(name, text, text)') IS NULL}),
	't', '0.3 no longer builds SQL to apply GSI changes');
is( $node->safe_psql(
		'kv', q{
	SELECT bool_and(t.installation_id = partkv_internal.installation_id())
		   AND (SELECT bool_and(g.installation_id = partkv_internal.installation_id()) FROM partkv.gsi_indexes g)
	  FROM partkv.tables t}),
	't', '0.5 stamps the catalog rows made before with the installation of the database');
is( $node->safe_psql(
		'kv', q{
	SELECT count(*) FILTER (WHERE d.objid IS NOT NULL) || '/' || (count(*) > 0)
		   || '/' || bool_and((SELECT count(*) FROM pg_index x WHERE x.indrelid = i.inhrelid) = 2)
	  FROM pg_inherits i
	  LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = i.inhrelid AND d.deptype = 'e'
	 WHERE i.inhparent = 'partkv_internal.stream_chunks'::regclass}),
	'0/true/true', "0.5 leaves the stream's partitions to pg_dump (not extension members), each with its indexes");
is($node->safe_psql('kv', q{SELECT to_regclass('partkv.stream_log_0_1') IS NULL AND
	(SELECT relkind FROM pg_class WHERE oid = 'partkv.stream_log'::regclass) = 'v'}),
	't', 'partkv.stream_log is a view over the chunks');
is( $node->safe_psql(
		'kv', q{
	SELECT count(*) FROM partkv_internal.stream_chunks c
	 WHERE 'old' IN (SELECT r->'dynamodb'->'Keys'->>'customer' FROM unnest(c.records) r)}),
	'1', "0.1's record became a chunk");

ok($node->safe_psql('kv', q{SELECT partkv.stream_wait('60s')}) eq 't',
	'the worker catches up after the update');
is( $node->safe_psql(
		'kv', q{
	SELECT string_agg(coalesce(r->'dynamodb'->'NewImage'->>'customer', r->'dynamodb'->'Keys'->>'customer')
					  || '/' || (r->'dynamodb'->'Keys'->>'id'), ',')
	  FROM partkv.stream_records('orders', item_limit => NULL) r}),
	'old/0,'
	  . join(',', map { 'c' . ($_ % 3) . "/$_" } 1 .. 20),
	'the old record, then every write in commit order');
is( $node->safe_psql(
		'kv', q{
	SELECT bool_and(x.seq < x.next)
	  FROM (SELECT r->'dynamodb'->>'SequenceNumber' AS seq,
				   lead(r->'dynamodb'->>'SequenceNumber') OVER () AS next
			  FROM partkv.stream_records('orders', item_limit => NULL) r) x
	 WHERE x.next IS NOT NULL}),
	't', 'sequence numbers increase');

# get_records reads the converted record through its shard
is( $node->safe_psql(
		'kv', q{
	SELECT partkv.get_records(partkv.get_shard_iterator('orders', 'shardId-0000000002-0000000000',
														'TRIM_HORIZON'))->'Records'->0->'dynamodb'->'Keys'->>'customer'}),
	'old', 'the converted record is read through its shard');

# the GSI made under 0.1: old rows in WAL, the hashed table-key index, and
# it follows moves made after the update
is( $node->safe_psql(
		'kv', q{
	SELECT string_agg(DISTINCT c.relreplident::text, ',')
	  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'users'::regclass}),
	'f', 'a table with GSIs logs whole old rows after the update');
like( $node->safe_psql(
		'kv', q{
	SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN partkv.gsi_indexes g
		ON i.indrelid = format('%I.%I', g.schema_name, g.storage_name)::regclass
	 WHERE g.index_name = 'by_team' AND pg_get_indexdef(i.indexrelid) LIKE '%xxhash%'}),
	qr/USING hash \(+partkv_internal\.xxhash_text_extended\(base_pk/,
	"the GSI's table-key index is a hash index on the key's hash");
$node->safe_psql('kv',
	q{SELECT partkv.put_item('users', jsonb_build_object('id', 'u' || i, 'team', 't' || (i % 4))) FROM generate_series(1, 40) i});
$node->safe_psql('kv',
	q{SELECT partkv.put_item('users', jsonb_build_object('id', 'u' || i, 'team', 'x' || (i % 3))) FROM generate_series(1, 40, 2) i});
$node->safe_psql('kv', q{SELECT partkv.stream_wait('60s')});
is($node->safe_psql('kv', q{SELECT partkv.verify_index('users', 'by_team')}),
	'{"extra": 0, "stale": 0, "checked": 40, "missing": 0}', 'the GSI follows moves after the update');

# the upgraded extension drops cleanly, stream and all
$node->safe_psql('kv', 'DROP EXTENSION partkv CASCADE');
is($node->safe_psql('kv', q{SELECT count(*) FROM pg_class WHERE relname LIKE 'stream_chunks%'}),
	'0', 'DROP EXTENSION removes the chunks and their partitions');

$node->stop;
done_testing();
