# 010_stream_crash.pl -- the change stream's background workers: every
# committed item change is materialised exactly once across worker crashes
# (SIGKILL: crash restart of the server), immediate shutdowns, worker
# termination and restarts; NOTIFY on commit; retention trimming; the worker
# follows CREATE/DROP EXTENSION, CREATE DATABASE ... TEMPLATE, ALTER
# DATABASE ... RENAME and DROP DATABASE; pg_recvlogical reads the plugin.
#
# The SIGKILLs below are crashes on purpose (test/scripts/test.sh checks
# the server logs for any other):
# partkv-expected-crash: background worker "partkv stream worker" was terminated by signal 9: Killed
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('stream');
$node->append_conf(
	'postgresql.conf', q{
partkv.naptime = '50ms'
partkv.stream_batch_size = 7
restart_after_crash = on
});
$node->start;

# kill_worker(DB) -- SIGKILL the stream worker of DB and wait until the
# server has restarted after the crash and takes queries again (a query that
# answers before the postmaster has noticed the dead worker proves nothing).
sub kill_worker
{
	my ($db) = @_;
	my $offset = -s $node->logfile;
	kill 'KILL', worker_pid($db);
	$node->wait_for_log(qr/database system is ready to accept connections/, $offset)
	  or die 'server did not restart';
	$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
	return;
}

# worker_pid(DB) -- pid of the stream worker of DB, once it runs.
sub worker_pid
{
	my ($db) = @_;
	$node->poll_query_until($db,
		q{SELECT partkv.stream_worker_status() IS NOT NULL})
	  or die "no stream worker in $db";
	return $node->safe_psql($db, q{SELECT partkv.stream_worker_status()->>'pid'});
}

# slot_exists(DB) -- whether DB's stream slot exists.
sub slot_count
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'partkv_stream_' ||
		   (SELECT oid FROM pg_database WHERE datname = '$db')});
}

$node->safe_psql('postgres', 'CREATE DATABASE kv');
$node->safe_psql('kv', 'CREATE EXTENSION partkv');
is(slot_count('kv'), '1', 'CREATE EXTENSION creates the stream slot at once');
worker_pid('kv');

$node->safe_psql('kv', q{
	SELECT partkv.create_table('counters', 'k', 'S', partitions => 4,
							   stream_view_type => 'NEW_AND_OLD_IMAGES');
	CREATE TABLE changes (n int PRIMARY KEY);
});

# writes(FROM, TO) -- one transaction per change: item k<n % 10> gets
# n, and the change is logged in the same transaction.
sub writes
{
	my ($from, $to) = @_;
	$node->safe_psql('kv', qq{
		DO \$\$
		BEGIN
			FOR n IN $from .. $to LOOP
				PERFORM partkv.put_item('counters', jsonb_build_object('k', 'k' || n % 10, 'n', n));
				INSERT INTO changes VALUES (n);
				COMMIT;
			END LOOP;
		END;
		\$\$;
	});
	return;
}

# exactly_once(NAME) -- the stream holds one record per logged change.
sub exactly_once
{
	my ($name) = @_;
	is($node->safe_psql('kv', q{SELECT partkv.stream_wait('60s')}), 't', "$name: worker caught up");
	my $res = $node->safe_psql('kv', q{
		WITH s AS (SELECT (r->'dynamodb'->'NewImage'->>'n')::int AS n
					 FROM partkv.stream_records('counters', item_limit => NULL) r)
		SELECT (SELECT count(*) FROM s) || '/' || (SELECT count(DISTINCT n) FROM s) || '/' ||
			   (SELECT count(*) FROM changes) || '/' ||
			   (SELECT count(*) FROM changes c WHERE NOT EXISTS (SELECT 1 FROM s WHERE s.n = c.n))
	});
	my ($records, $distinct, $changes, $missing) = split m{/}, $res;
	is($records, $changes, "$name: one record per change ($records records, $changes changes)");
	is($distinct, $records, "$name: no change delivered twice");
	is($missing, '0', "$name: no change lost");
	return;
}

# 1. SIGKILL of the worker while it works through a backlog: the server
# restarts after a crash, the worker resumes from its replication origin.
writes(1, 300);
kill_worker('kv');
writes(301, 400);
exactly_once('worker killed with SIGKILL');

# 2. immediate shutdown in the middle of a backlog
writes(401, 700);
$node->stop('immediate');
$node->start;
writes(701, 750);
exactly_once('immediate shutdown');

# 3. the worker is terminated: the launcher starts it again
writes(751, 1000);
my $pid = worker_pid('kv');
$node->safe_psql('kv', "SELECT pg_terminate_backend($pid)");
$node->poll_query_until('kv',
	qq{SELECT coalesce((partkv.stream_worker_status()->>'pid')::int, $pid) <> $pid})
  or die 'worker not restarted';
exactly_once('worker terminated and restarted');

# 4. clean restart
writes(1001, 1100);
$node->restart;
exactly_once('server restart');

# sequence numbers increase in commit order, and per item in change order
is( $node->safe_psql(
		'kv', q{
	SELECT bool_and(seq > prev)
	  FROM (SELECT r->'dynamodb'->>'SequenceNumber' AS seq,
				   lag(r->'dynamodb'->>'SequenceNumber') OVER (ORDER BY (r->'dynamodb'->'NewImage'->>'n')::int) AS prev
			  FROM partkv.stream_records('counters', item_limit => NULL) r) x
	 WHERE prev IS NOT NULL}), 't', 'sequence numbers follow commit order');

# NOTIFY on the table's channel when records are committed
my $out = $node->safe_psql('kv', q{
	LISTEN partkv_stream_counters;
	SELECT partkv.put_item('counters', '{"k": "notify", "n": 0}');
	SELECT partkv.stream_wait();
});
like($out, qr/Asynchronous notification "partkv_stream_counters" with payload "\{[^"]*"TableName" : "counters"/,
	'NOTIFY announces new records');

# a stream handler sees every change exactly once across a crash too: its
# writes and its position commit together
$node->safe_psql('kv', q{
	CREATE ROLE app LOGIN;
	CREATE SCHEMA app AUTHORIZATION app;
	GRANT SELECT ON counters TO app;
	SET ROLE app;
	CREATE TABLE app.handled (n int);
	CREATE FUNCTION app.handle(records jsonb) RETURNS void LANGUAGE sql AS
	  $$ INSERT INTO app.handled SELECT (r->'dynamodb'->'NewImage'->>'n')::int FROM jsonb_array_elements(records) r $$;
	SELECT partkv.add_stream_handler('counters', 'app.handle', batch_size => 5);
});
writes(2001, 2200);
kill_worker('kv');
is($node->safe_psql('kv', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'handler caught up');
is($node->safe_psql('kv', q{SELECT count(*) || '/' || count(DISTINCT n) || '/' || min(n) || '/' || max(n) FROM app.handled}),
	'200/200/2001/2200', 'the handler saw each change once across a crash');
$node->safe_psql('kv', q{SELECT partkv.remove_stream_handler('counters', 'app.handle')});

# concurrent transactions: commit order, not start order
my $bg = $node->background_psql('kv');
$bg->query_safe(q{BEGIN});
$bg->query_safe(q{SELECT partkv.put_item('counters', '{"k": "early", "n": -1}')});
$node->safe_psql('kv', q{SELECT partkv.put_item('counters', '{"k": "late", "n": -2}')});
$bg->query_safe(q{COMMIT});
$bg->quit;
$node->safe_psql('kv', q{SELECT partkv.stream_wait()});
is( $node->safe_psql(
		'kv', q{
	SELECT string_agg(r->'dynamodb'->'Keys'->>'k', ',' ORDER BY r->'dynamodb'->>'SequenceNumber')
	  FROM partkv.stream_records('counters', item_limit => NULL) r
	 WHERE r->'dynamodb'->'Keys'->>'k' IN ('early', 'late')}),
	'late,early', 'the transaction that commits first comes first');

# any logical decoding client can read the plugin
$node->safe_psql('kv', q{
	SET output_plugin_libraries = pgoutput, test_decoding, partkv;
	SELECT pg_create_logical_replication_slot('recv', 'partkv');
});
$node->safe_psql('kv', q{SELECT partkv.put_item('counters', '{"k": "recv", "n": 42}')});
my $endpos = $node->safe_psql('kv', 'SELECT pg_current_wal_lsn()');
$node->append_conf('postgresql.conf', "output_plugin_libraries = 'pgoutput, test_decoding, partkv'");
$node->reload;
my $recv = $node->pg_recvlogical_upto('kv', 'recv', $endpos, $PostgreSQL::Test::Utils::timeout_default);
like($recv, qr/"eventName": "INSERT".*"NewImage": \{"k": "recv", "n": 42\}/s, 'pg_recvlogical reads stream records');
$node->safe_psql('kv', q{SELECT pg_drop_replication_slot('recv')});

# CREATE DATABASE ... TEMPLATE a database with a worker, and the copy gets its own
$node->safe_psql('postgres', 'CREATE DATABASE kv_copy TEMPLATE kv');
worker_pid('kv_copy');
is(slot_count('kv_copy'), '1', 'the copied database has its own stream slot');

# ALTER DATABASE ... RENAME while its worker runs
$node->safe_psql('postgres', 'ALTER DATABASE kv_copy RENAME TO kv_copy2');
worker_pid('kv_copy2');
pass('a database with a worker can be renamed');

# DROP DATABASE while its worker runs: slot and origin go with it
my $copy_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'kv_copy2'});
$node->safe_psql('postgres', 'DROP DATABASE kv_copy2');
is( $node->safe_psql(
		'postgres', qq{
	SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('partkv_stream_$copy_oid', 'partkv_gsi_$copy_oid')) +
		   (SELECT count(*) FROM pg_replication_origin WHERE roname IN ('partkv_stream_$copy_oid', 'partkv_gsi_$copy_oid'))}),
	'0', 'DROP DATABASE drops the slots and origins of the stream and GSI workers');

# DROP EXTENSION: the worker drops its slot and origin and goes away
my $kv_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'kv'});
$node->safe_psql('kv', 'DROP EXTENSION partkv CASCADE');
$node->poll_query_until(
	'postgres', qq{
	SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name IN ('partkv_stream_$kv_oid', 'partkv_gsi_$kv_oid')) +
		   (SELECT count(*) FROM pg_replication_origin WHERE roname IN ('partkv_stream_$kv_oid', 'partkv_gsi_$kv_oid')) = 0})
  or die 'slots not dropped';
pass('DROP EXTENSION drops the slots and origins of the stream and GSI workers');

# CREATE EXTENSION again: a fresh stream
$node->safe_psql('kv', 'CREATE EXTENSION partkv');
is(slot_count('kv'), '1', 'CREATE EXTENSION again creates the slot');
worker_pid('kv');
$node->safe_psql('kv', q{
	SELECT partkv.create_table('again', 'k', 'S', stream_view_type => 'KEYS_ONLY');
	SELECT partkv.put_item('again', '{"k": "a"}');
});
is($node->safe_psql('kv', q{SELECT partkv.stream_wait()}), 't', 'worker caught up after re-creation');
is($node->safe_psql('kv', q{SELECT count(*) FROM partkv.stream_records('again')}),
	'1', 'the re-created extension streams again');

# the worker never busy-loops: idle, it is asleep on its latch
ok( $node->poll_query_until(
		'kv', q{
	SELECT wait_event = 'Extension' FROM pg_stat_activity WHERE backend_type = 'partkv stream worker'}),
	'an idle worker waits on its latch');

ok(!$node->log_contains('terminated by signal 11'), 'no worker crashed');
$node->stop;

# retention, on a node keeping records 2 s (partitions 1 s wide):
# partitions past partkv.stream_retention are dropped whole, and positions
# before the trim point are refused
my $short = partkv_node('retention');
$short->append_conf(
	'postgresql.conf', q{
partkv.naptime = '50ms'
partkv.stream_retention = '2s'
});
$short->start;
$short->safe_psql('postgres', q{
	CREATE EXTENSION partkv;
	SELECT partkv.create_table('brief', 'k', 'S', partitions => 2, stream_view_type => 'KEYS_ONLY');
	SELECT partkv.put_item('brief', jsonb_build_object('k', 'k' || g)) FROM generate_series(1, 20) g;
	SELECT partkv.stream_wait();
});
my ($seq, $shard) = split /\|/, $short->safe_psql('postgres',
	q{SELECT r->'dynamodb'->>'SequenceNumber', r->>'shardId' FROM partkv.stream_records('brief') r LIMIT 1});
ok($seq, 'records were written');
ok( $short->poll_query_until(
		'postgres', q{SELECT count(*) = 0 FROM partkv.stream_records('brief', item_limit => NULL)}),
	'records older than partkv.stream_retention are trimmed');
my ($ret, $stdout, $stderr) = $short->psql('postgres',
	qq{SELECT partkv.get_shard_iterator('brief', '$shard', 'AT_SEQUENCE_NUMBER', '$seq')});
like($stderr, qr/read past the oldest stream record/, 'trimmed positions are refused (TrimmedDataAccessException)');
is($short->safe_psql('postgres', q{SELECT count(*) BETWEEN 1 AND 5 FROM partkv_internal.stream_partitions}),
	't', 'only recent partitions are kept');
$short->stop;
done_testing();
