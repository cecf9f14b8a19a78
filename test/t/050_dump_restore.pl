# 050_dump_restore.pl -- pg_dump and restore are exact.  A database with
# a kv table that has an LSI, a GSI, a stream (NEW_AND_OLD_IMAGES), a stream
# handler keeping a read model and Time to Live, and a second kv table with
# a GSI in a schema that sorts before partkv's, is dumped in the custom and
# the plain format and restored into new databases of the same cluster and
# of a second cluster whose WAL is far behind the first's (and with
# pg_restore --jobs and --single-transaction).  After the
# restore: describe_table, describe_stream, the stream's records, the
# handlers, the read model, TTL and the items are what they were (ARNs
# name the database, and sizes on disk differ: those are left out); every
# GSI is verify_index-clean and a GSI query returns each item once; the
# restore's COPY is not in the stream and the handler does not apply the
# restored items again.  New writes then reach the stream (with sequence
# numbers above every restored one), the GSIs and the handler.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $conf = q{
partkv.naptime = '100ms'
wal_init_zero = off
max_wal_size = '64MB'
min_wal_size = '32MB'
};
my $src = partkv_node('dump_src');
$src->append_conf('postgresql.conf', $conf);
$src->start;
my $other = partkv_node('dump_other');
$other->append_conf('postgresql.conf', $conf);
$other->start;

# The source cluster's WAL runs far ahead of the other cluster's, so that
# sequence numbers made from its LSNs are above any LSN the other one has
# when it restores (16 segments of 16 MB, sparse files).
$src->safe_psql('postgres',
	join('', map { qq{SELECT pg_logical_emit_message(false, 'pad', 'x'); SELECT pg_switch_wal();\n} } 1 .. 16));

for my $node ($src, $other)
{
	$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
}

$src->safe_psql('postgres', 'CREATE DATABASE src');
$src->safe_psql(
	'src', q{
	CREATE EXTENSION partkv;
	SELECT partkv.create_table('{"TableName": "orders",
	  "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
	  "AttributeDefinitions": [{"AttributeName": "customer", "AttributeType": "S"}, {"AttributeName": "id", "AttributeType": "N"},
		 {"AttributeName": "status", "AttributeType": "S"}, {"AttributeName": "total", "AttributeType": "N"}],
	  "LocalSecondaryIndexes": [{"IndexName": "by_total", "Projection": {"ProjectionType": "ALL"},
		 "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "total", "KeyType": "RANGE"}]}],
	  "GlobalSecondaryIndexes": [{"IndexName": "by_status", "Projection": {"ProjectionType": "ALL"},
		 "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}]}],
	  "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
	  "Partitions": 4}');
	SELECT partkv.update_time_to_live('orders', 'expires');
	CREATE SCHEMA aaa;
	SELECT partkv.create_table('{"TableName": "aaa.events",
	  "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
	  "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "kind", "AttributeType": "S"}],
	  "GlobalSecondaryIndexes": [{"IndexName": "by_kind", "Projection": {"ProjectionType": "KEYS_ONLY"},
		 "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"}]}],
	  "Partitions": 2}');
	GRANT SELECT ON orders TO app;
	GRANT CREATE ON SCHEMA public TO app;
	SET ROLE app;
	CREATE TABLE order_counts (customer text PRIMARY KEY, n int NOT NULL);
	CREATE FUNCTION project(records jsonb) RETURNS void LANGUAGE sql AS $$
	  INSERT INTO order_counts
	  SELECT r->'dynamodb'->'Keys'->>'customer', count(*) FROM jsonb_array_elements(records) r GROUP BY 1
	  ON CONFLICT (customer) DO UPDATE SET n = order_counts.n + EXCLUDED.n $$;
	SELECT partkv.add_stream_handler('orders', 'project', batch_size => 7);
	RESET ROLE;
	SELECT count(partkv.put_item('orders', jsonb_build_object('customer', 'c' || (i % 5), 'id', i,
			'status', 's' || (i % 3), 'total', i * 10, 'expires', 4102444800)))
	  FROM generate_series(1, 30) i;
	SELECT count(partkv.update_item('orders', jsonb_build_object('customer', 'c' || (i % 5), 'id', i),
			'SET #s = :s', '{":s": "moved"}', '{"#s": "status"}'))
	  FROM generate_series(1, 30, 4) i;
	SELECT count(partkv.delete_item('orders', jsonb_build_object('customer', 'c' || (i % 5), 'id', i)))
	  FROM generate_series(2, 30, 7) i;
	SELECT count(partkv.put_item('aaa.events', jsonb_build_object('id', 'e' || i, 'kind', 'k' || (i % 4))))
	  FROM generate_series(1, 20) i;
});
is($src->safe_psql('src', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'source: the handler caught up');
for my $gsi (['orders', 'by_status'], ['aaa.events', 'by_kind'])
{
	is($src->safe_psql('src', qq{SELECT partkv.wait_for_index('$gsi->[0]', '$gsi->[1]', '60s')}),
		't', "source: $gsi->[1] caught up");
}

# What a restore must give back, as text: each query's result in the source.
my %checks = (
	'describe_table orders' => q{
		WITH x AS (SELECT partkv.describe_table('orders') AS d)
		SELECT (d - 'TableArn' - 'LatestStreamArn' - 'TableSizeBytes'
				|| jsonb_build_object('GlobalSecondaryIndexes',
					   (SELECT jsonb_agg(g - 'IndexArn' - 'IndexSizeBytes') FROM jsonb_array_elements(d->'GlobalSecondaryIndexes') g),
					   'LocalSecondaryIndexes',
					   (SELECT jsonb_agg(l - 'IndexArn' - 'IndexSizeBytes') FROM jsonb_array_elements(d->'LocalSecondaryIndexes') l)))::text
		  FROM x},
	'describe_table events' => q{
		WITH x AS (SELECT partkv.describe_table('aaa.events') AS d)
		SELECT (d - 'TableArn' - 'TableSizeBytes'
				|| jsonb_build_object('GlobalSecondaryIndexes',
					   (SELECT jsonb_agg(g - 'IndexArn' - 'IndexSizeBytes') FROM jsonb_array_elements(d->'GlobalSecondaryIndexes') g)))::text
		  FROM x},
	'describe_stream' => q{SELECT (partkv.describe_stream('orders') - 'StreamArn')::text},
	'stream records' => q{
		SELECT string_agg(r::text, E'\n' ORDER BY n)
		  FROM partkv.stream_records('orders', item_limit => NULL) WITH ORDINALITY AS x(r, n)},
	'records through a shard iterator' => q{
		SELECT partkv.get_records(partkv.get_shard_iterator('orders', s->>'ShardId', 'TRIM_HORIZON'))->'Records'
		  FROM jsonb_array_elements(partkv.describe_stream('orders')->'Shards') s ORDER BY s->>'ShardId' LIMIT 1},
	'handlers' => q{SELECT string_agg(h::text, E'\n') FROM partkv.list_stream_handlers('orders') h},
	'read model' => q{SELECT string_agg(customer || '=' || n, ',' ORDER BY customer) FROM order_counts},
	'time to live' => q{SELECT partkv.describe_time_to_live('orders')::text},
	'orders items' => q{SELECT string_agg(item::text, E'\n' ORDER BY customer, id) FROM orders},
	'events items' => q{SELECT string_agg(item::text, E'\n' ORDER BY id) FROM aaa.events},
	'GSI query by_status' => q{
		SELECT string_agg(i::text, E'\n' ORDER BY i->>'status', (i->>'id')::int)
		  FROM unnest(ARRAY['s0', 's1', 's2', 'moved']) s,
			   partkv.query('orders', '#s = :s', jsonb_build_object(':s', s), '{"#s": "status"}',
							index_name => 'by_status') i},
	'GSI query by_kind' => q{
		SELECT string_agg(i::text, E'\n' ORDER BY i->>'id')
		  FROM unnest(ARRAY['k0', 'k1', 'k2', 'k3']) k,
			   partkv.query('aaa.events', 'kind = :k', jsonb_build_object(':k', k), index_name => 'by_kind') i},
	'verify_index by_status' => q{SELECT partkv.verify_index('orders', 'by_status')},
	'verify_index by_kind' => q{SELECT partkv.verify_index('aaa.events', 'by_kind')},
	'writes in the statistics' => q{
		SELECT coalesce(sum(writes), 0) FROM partkv.table_stats WHERE table_name IN ('orders', 'events')},);
my %expected = map { $_ => $src->safe_psql('src', $checks{$_}) } keys %checks;
like($expected{'verify_index by_status'}, qr/"extra": 0, "stale": 0, "checked": 25, "missing": 0/,
	'source: by_status is clean');
like($expected{'stream records'}, qr/REMOVE/, 'source: the stream has records');
# the restores do not count as writes; the source's own counters are the
# server's memory (like pg_stat_*), which no dump carries
$expected{'writes in the statistics'} = '0';

my $dir = PostgreSQL::Test::Utils::tempdir;
command_ok(['pg_dump', '-Fc', '-f', "$dir/src.dump", '-h', $src->host, '-p', $src->port, 'src'],
	'pg_dump, custom format');
command_ok(['pg_dump', '-Fp', '-f', "$dir/src.sql", '-h', $src->host, '-p', $src->port, 'src'],
	'pg_dump, plain format');
command_ok(['pg_dump', '-Fd', '-f', "$dir/src.dir", '-h', $src->host, '-p', $src->port, 'src'],
	'pg_dump, directory format');

# restored(NODE, DB, LABEL) -- checks a restored database against the
# source, then writes to it.
sub restored
{
	my ($node, $db, $label) = @_;

	is($node->safe_psql($db, q{SELECT partkv.wait_for_index('orders', 'by_status', '60s')}),
		't', "$label: by_status is rebuilt and caught up");
	is($node->safe_psql($db, q{SELECT partkv.wait_for_index('aaa.events', 'by_kind', '60s')}),
		't', "$label: by_kind is rebuilt and caught up");
	is($node->safe_psql($db, q{SELECT partkv.stream_handlers_wait('60s')}), 't',
		"$label: the stream and its handler are idle");
	for my $check (sort keys %checks)
	{
		is($node->safe_psql($db, $checks{$check}), $expected{$check}, "$label: $check");
	}

	# new writes: into the stream after every restored record, into the
	# GSI, and to the handler
	my $last = $node->safe_psql($db,
		q{SELECT max(r->'dynamodb'->>'SequenceNumber') FROM partkv.stream_records('orders', item_limit => NULL) r});
	is($node->safe_psql($db, qq{SELECT pg_current_wal_insert_lsn() < partkv_internal.sequence_number_lsn('$last')}),
		$node == $other ? 't' : 'f',
		"$label: the cluster's WAL is " . ($node == $other ? 'behind' : 'ahead of') . ' the restored sequence numbers');
	$node->safe_psql(
		$db, q{
		SELECT partkv.put_item('orders', '{"customer": "c9", "id": 100, "status": "s1", "total": 5}');
		SELECT partkv.update_item('orders', '{"customer": "c1", "id": 1}', 'SET #s = :s',
								  '{":s": "s2"}', '{"#s": "status"}');
		SELECT partkv.delete_item('orders', '{"customer": "c3", "id": 3}');
		SELECT partkv.put_item('aaa.events', '{"id": "e99", "kind": "k1"}');
	});
	is($node->safe_psql($db, q{SELECT partkv.stream_handlers_wait('60s')}), 't',
		"$label: the handler took the new records");
	is( $node->safe_psql(
			$db, qq{
		SELECT string_agg(r->>'eventName' || ':' || (r->'dynamodb'->'Keys')::text
						  || ':' || (r->'dynamodb'->>'SequenceNumber' > '$last')::text, ',')
		  FROM partkv.stream_records('orders', '$last', item_limit => NULL) r}),
		'INSERT:{"id": 100, "customer": "c9"}:true,MODIFY:{"id": 1, "customer": "c1"}:true,'
		  . 'REMOVE:{"id": 3, "customer": "c3"}:true',
		"$label: new writes are in the stream after every restored record");
	my %counts = map { split /=/ } split /,/, $expected{'read model'};
	$counts{$_}++ for qw(c9 c1 c3);
	is($node->safe_psql($db, $checks{'read model'}),
		join(',', map { "$_=$counts{$_}" } sort keys %counts),
		"$label: the handler applied the new records, once");
	is($node->safe_psql($db, q{SELECT partkv.wait_for_index('orders', 'by_status', '60s')}),
		't', "$label: by_status caught up after the writes");
	is($node->safe_psql($db, q{SELECT partkv.wait_for_index('aaa.events', 'by_kind', '60s')}),
		't', "$label: by_kind caught up after the writes");
	like($node->safe_psql($db, $checks{'verify_index by_status'}),
		qr/"extra": 0, "stale": 0, "checked": 25, "missing": 0/, "$label: by_status clean after the writes");
	like($node->safe_psql($db, $checks{'verify_index by_kind'}),
		qr/"extra": 0, "stale": 0, "checked": 21, "missing": 0/, "$label: by_kind clean after the writes");
	is( $node->safe_psql(
			$db, q{
		SELECT string_agg(i->>'customer' || '/' || (i->>'id'), ',' ORDER BY (i->>'id')::int)
		  FROM partkv.query('orders', '#s = :s', '{":s": "s1"}', '{"#s": "status"}', index_name => 'by_status') i
		 WHERE (i->>'id')::int IN (4, 100)}),
		'c4/4,c9/100', "$label: the GSI has the new item, once");
	# its replication slots and workers go with it
	$node->safe_psql('postgres', "DROP DATABASE $db");
	return;
}

for my $target ([$src, 'same cluster'], [$other, 'other cluster'])
{
	my ($node, $where) = @$target;

	$node->safe_psql('postgres', 'CREATE DATABASE r_custom');
	command_ok(
		[
			'pg_restore', '--exit-on-error', '-d', 'r_custom', '-h', $node->host,
			'-p', $node->port, "$dir/src.dump"
		],
		"pg_restore of the custom format, $where");
	restored($node, 'r_custom', "custom, $where");

	$node->safe_psql('postgres', 'CREATE DATABASE r_plain');
	command_ok(
		[
			'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/src.sql", '-d', 'r_plain',
			'-h', $node->host, '-p', $node->port
		],
		"psql of the plain format, $where");
	restored($node, 'r_plain', "plain, $where");
}

# pg_restore's other ways: several sessions, whose steps come in any order
# (the catalogs may come after the tables' indexes), and one transaction
$src->safe_psql('postgres', 'CREATE DATABASE r_jobs');
command_ok(
	[
		'pg_restore', '--exit-on-error', '--jobs', '3', '-d', 'r_jobs', '-h', $src->host,
		'-p', $src->port, "$dir/src.dir"
	],
	'pg_restore --jobs 3 of the directory format, same cluster');
restored($src, 'r_jobs', 'jobs, same cluster');
$other->safe_psql('postgres', 'CREATE DATABASE r_single');
command_ok(
	[
		'pg_restore', '--exit-on-error', '--single-transaction', '-d', 'r_single', '-h', $other->host,
		'-p', $other->port, "$dir/src.dump"
	],
	'pg_restore --single-transaction of the custom format, other cluster');
restored($other, 'r_single', 'single transaction, other cluster');

# A database copied from another (CREATE DATABASE ... TEMPLATE) has an
# installation of partkv of its own: a dump of one copy of a template with
# partkv restores into another copy exactly too (pg_dump's CREATE SCHEMA
# partkv fails there, as for any extension a template has), and the
# tables of a copy are its own.
$other->safe_psql('postgres', 'CREATE DATABASE tmpl');
$other->safe_psql('tmpl', 'CREATE EXTENSION partkv');
$other->safe_psql('postgres', 'CREATE DATABASE s2 TEMPLATE tmpl');
$other->safe_psql(
	's2', q{
	SELECT partkv.create_table('{"TableName": "users", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
		"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "team", "AttributeType": "S"}],
		"GlobalSecondaryIndexes": [{"IndexName": "by_team", "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
									"Projection": {"ProjectionType": "ALL"}}],
		"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}');
	SELECT count(partkv.put_item('users', jsonb_build_object('id', 'u' || i, 'team', 't' || (i % 3))))
	  FROM generate_series(1, 12) i;
});
is($other->safe_psql('s2', q{SELECT partkv.wait_for_index('users', 'by_team', '60s')}), 't',
	'copy of a template: the GSI is maintained');
my $s2_records = $other->safe_psql('s2',
	q{SELECT string_agg(r::text, E'
') FROM partkv.stream_records('users', item_limit => NULL) r});
like($s2_records, qr/u12/, 'copy of a template: the table is streamed');
command_ok(['pg_dump', '-Fc', '-f', "$dir/s2.dump", '-h', $other->host, '-p', $other->port, 's2'],
	'pg_dump of a copy of a template');
$other->safe_psql('postgres', 'CREATE DATABASE t2 TEMPLATE tmpl');
$other->command_checks_all(
	[ 'pg_restore', '-d', 't2', '-h', $other->host, '-p', $other->port, "$dir/s2.dump" ],
	1, [qr/^$/], [qr/schema "partkv" already exists/],
	'pg_restore into another copy of the template: only CREATE SCHEMA partkv fails');
is($other->safe_psql('t2', q{SELECT partkv.wait_for_index('users', 'by_team', '60s')}), 't',
	'copy of a template, restored: the GSI is rebuilt');
like($other->safe_psql('t2', q{SELECT partkv.verify_index('users', 'by_team')}),
	qr/"extra": 0, "stale": 0, "checked": 12, "missing": 0/, 'copy of a template, restored: verify_index clean');
is($other->safe_psql('t2', q{SELECT partkv.stream_wait('60s')}), 't', 'copy of a template, restored: stream idle');
is( $other->safe_psql('t2',
		q{SELECT string_agg(r::text, E'
') FROM partkv.stream_records('users', item_limit => NULL) r}),
	$s2_records, 'copy of a template, restored: the stream is what it was');
$other->safe_psql('postgres', 'CREATE DATABASE s3 TEMPLATE s2');
# a copy streams what is written once its worker has made its slot
ok($other->poll_query_until('s3', q{SELECT bool_and(served) FROM partkv.serving_status}),
	'copy of a database: its workers serve it');
$other->safe_psql('s3', q{SELECT partkv.put_item('users', '{"id": "u99", "team": "t1"}')});
is($other->safe_psql('s3', q{SELECT partkv.stream_wait('60s')}), 't', 'copy of a database: stream idle');
like( $other->safe_psql('s3',
		q{SELECT string_agg(r::text, E'
') FROM partkv.stream_records('users', item_limit => NULL) r}),
	qr/u99/, 'copy of a database: its own writes are streamed');
is($other->safe_psql('s3', q{SELECT partkv.wait_for_index('users', 'by_team', '60s')}), 't',
	'copy of a database: the GSI is maintained');
like($other->safe_psql('s3', q{SELECT partkv.verify_index('users', 'by_team')}),
	qr/"extra": 0, "stale": 0, "checked": 13, "missing": 0/, 'copy of a database: verify_index clean');

ok(!$src->log_contains('terminated by signal'), 'no process of the source cluster crashed');
ok(!$other->log_contains('terminated by signal'), 'no process of the other cluster crashed');
$src->stop;
$other->stop;
done_testing();
