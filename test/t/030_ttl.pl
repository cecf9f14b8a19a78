# 030_ttl.pl -- Time to Live run by the stream worker: with
# partkv.ttl_interval = '1s' expired items disappear by themselves (and
# only they), an item locked by a writer is skipped and one renewed
# meanwhile is kept, a sweep cut short by a crash resumes after the
# restart with every TTL delete in the stream exactly once, and a skewed
# workload shows one hot partition in partkv.partition_stats.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('ttl');
$node->append_conf(
	'postgresql.conf', q{
partkv.naptime = '100ms'
partkv.ttl_interval = '1s'
restart_after_crash = on
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE kv');
$node->safe_psql('kv', 'CREATE EXTENSION partkv');
$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('sessions', 'id', partitions => 4,
							   stream_view_type => 'NEW_AND_OLD_IMAGES');
	SELECT partkv.update_time_to_live('sessions', 'exp');
});

# count(SQL-CONDITION) -- items of sessions satisfying a condition on item
sub count_items
{
	my ($cond) = @_;
	return $node->safe_psql('kv', "SELECT count(*) FROM sessions WHERE $cond");
}

# put(PREFIX, N, OFFSET) -- N items PREFIX<i> whose exp is now + OFFSET seconds
sub put
{
	my ($prefix, $n, $offset) = @_;
	$node->safe_psql(
		'kv', qq{
		SELECT count(partkv.put_item('sessions',
				jsonb_build_object('id', '$prefix' || i,
								   'exp', floor(extract(epoch FROM now())) + ($offset))))
		  FROM generate_series(1, $n) i});
	return;
}

# 1. the worker deletes expired items by itself, and only those
put('gone', 50, -30);
put('stays', 50, 3600);
$node->safe_psql('kv',
	q{SELECT partkv.put_item('sessions', jsonb_build_object('id', 'text', 'exp', '1'))});
ok( $node->poll_query_until(
		'kv', q{SELECT count(*) = 0 FROM sessions WHERE id LIKE 'gone%'}),
	'the worker deletes expired items');
is(count_items(q{id LIKE 'stays%' OR id = 'text'}), '51', 'items not expired stay');
$node->safe_psql('kv', 'SELECT partkv.stream_wait()');
is( $node->safe_psql(
		'kv', q{
	SELECT count(*) FILTER (WHERE r->'userIdentity' = '{"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}'),
		   count(*)
	  FROM partkv.stream_records('sessions', item_limit => NULL) r
	 WHERE r->>'eventName' = 'REMOVE'}),
	'50|50',
	'every TTL delete is a REMOVE record by the service');
is( $node->safe_psql(
		'kv', q{SELECT sum(ttl_deletes) FROM partkv.table_stats WHERE table_name = 'sessions'}),
	'50', 'TTL deletes are counted');

# 2. a writer holding an expired item's lock makes the sweep skip it; the
# writer renews it, so it is kept.  TTL is enabled only once the lock is
# held, so no sweep can come first.
$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('locks', 'id', partitions => 2);
	SELECT partkv.put_item('locks', jsonb_build_object('id', x, 'exp', floor(extract(epoch FROM now())) - 30))
	  FROM unnest(ARRAY['locked', 'mark']) x;
});
my $bg = $node->background_psql('kv');
$bg->query_safe('BEGIN');
$bg->query_safe(q{SELECT 1 FROM locks WHERE id = 'locked' FOR UPDATE});
$node->safe_psql('kv', q{SELECT partkv.update_time_to_live('locks', 'exp')});
ok($node->poll_query_until('kv', q{SELECT count(*) = 0 FROM locks WHERE id = 'mark'}),
	'a sweep ran while the item was locked');
is($node->safe_psql('kv', q{SELECT partkv.run_ttl_sweep('locks')}),
	'0', 'run_ttl_sweep skips a locked item without waiting');
$bg->query_safe(q{SELECT partkv.update_item('locks', '{"id": "locked"}', 'SET #e = #e + :d',
											'{":d": 7200}', '{"#e": "exp"}')});
$bg->query_safe('COMMIT');
$bg->quit;
is($node->safe_psql('kv', q{SELECT partkv.run_ttl_sweep('locks')}),
	'0', 'the renewed item is no longer expired');
is($node->safe_psql('kv', q{SELECT count(*) FROM locks WHERE id = 'locked'}),
	'1', 'the renewed item is kept');

# 3. a crash in the middle of a long sweep (batches of 10 items): the sweep
# resumes after the restart and the stream has each TTL delete exactly once
$node->safe_psql('kv', q{ALTER SYSTEM SET partkv.ttl_batch_size = 10});
$node->reload;
$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('bulk', 'id', partitions => 4,
							   stream_view_type => 'KEYS_ONLY');
	SELECT count(partkv.put_item('bulk', jsonb_build_object('id', 'crash' || i,
								 'exp', floor(extract(epoch FROM now())) - 60)))
	  FROM generate_series(1, 20000) i;
	SELECT count(partkv.put_item('bulk', jsonb_build_object('id', 'keep' || i,
								 'exp', floor(extract(epoch FROM now())) + 3600)))
	  FROM generate_series(1, 200) i;
});
$node->safe_psql('kv', q{SELECT partkv.update_time_to_live('bulk', 'exp')});
ok( $node->poll_query_until(
		'kv', q{SELECT count(*) < 20000 FROM bulk WHERE id LIKE 'crash%'}),
	'the sweep started');
$node->stop('immediate');
$node->start;
my $left = $node->safe_psql('kv', q{SELECT count(*) FROM bulk WHERE id LIKE 'crash%'});
note("expired items left at the restart: $left");
ok( $node->poll_query_until(
		'kv', q{SELECT count(*) = 0 FROM bulk WHERE id LIKE 'crash%'}),
	'the sweep resumes after the restart');
is($node->safe_psql('kv', q{SELECT count(*) FROM bulk WHERE id LIKE 'keep%'}),
	'200', 'no item that had not expired was deleted');
$node->safe_psql('kv', 'SELECT partkv.stream_wait()');
is( $node->safe_psql(
		'kv', q{
	SELECT count(*), count(DISTINCT r->'dynamodb'->'Keys'->>'id'),
		   bool_and(r ? 'userIdentity')
	  FROM partkv.stream_records('bulk', item_limit => NULL) r
	 WHERE r->>'eventName' = 'REMOVE'}),
	'20000|20000|t',
	'each TTL delete is in the stream exactly once, across the crash');

# 4. a skewed workload: one partition key takes most writes and reads, and
# its partition stands out in partkv.partition_stats
$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('events', 'device', sort_key => 'at', sort_key_type => 'N',
							   partitions => 8);
	SELECT count(partkv.put_item('events', jsonb_build_object('device', 'hot', 'at', i)))
	  FROM generate_series(1, 400) i;
	SELECT count(partkv.put_item('events', jsonb_build_object('device', 'd' || i, 'at', 0)))
	  FROM generate_series(1, 40) i;
	SELECT count(*) FROM partkv.query('events', 'device = :d', '{":d": "hot"}');
});
my $hot = $node->safe_psql('kv',
	q{SELECT DISTINCT tableoid::regclass FROM events WHERE device = 'hot'});
is( $node->safe_psql(
		'kv', q{
	SELECT partition, traffic_share > 0.5
	  FROM partkv.partition_stats WHERE table_name = 'events'
	 ORDER BY traffic_share DESC LIMIT 1}),
	"$hot|t",
	'the partition of the hot key has most of the traffic');

done_testing();
