# 070_unserved.pl -- no silent failure when a database's stream, GSIs or TTL
# cannot be served: each state in which no worker serves them is an error
# where the user acts (CREATE EXTENSION, a stream, a GSI or TTL enabled, a
# GSI read, a wait) or a clear status where status is shown
# (partkv.serving_status, index_status, gsi_backlog, table_stats,
# describe_table/describe_stream/describe_time_to_live), and comes right by
# itself once the cause is gone:
#  (a) no free replication slot: CREATE EXTENSION fails; a copied database
#      whose GSI worker finds no slot waits and says so, then catches up;
#  (b) no background worker process left (max_worker_processes), and
#      partkv.max_workers workers all serving other databases;
#  (c) a database whose extension is older than the library;
#  (d) wal_level = replica (and partkv.ttl_interval = 0 for TTL);
#  (e) partkv not in shared_preload_libraries;
#  (f) a worker that keeps failing.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $gsi_table = q{'{"TableName": "users", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
	"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "team", "AttributeType": "S"}],
	"GlobalSecondaryIndexes": [{"IndexName": "by_team", "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
								"Projection": {"ProjectionType": "ALL"}}]}'};
my $add_gsi = q{'{"AttributeDefinitions": [{"AttributeName": "n", "AttributeType": "N"}],
	"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_n",
		"KeySchema": [{"AttributeName": "n", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}}]}'};

# fails_like(NODE, DB, SQL, SQLSTATE, MESSAGE-RE, NAME) -- SQL fails with
# that SQLSTATE and a message (with its DETAIL and HINT) matching.
sub fails_like
{
	my ($node, $db, $sql, $state, $re, $name) = @_;
	my ($rc, $out, $err) =
	  $node->psql($db, "\\set VERBOSITY verbose\n$sql", on_error_stop => 1);
	ok($rc != 0 && $err =~ /ERROR:  $state: / && $err =~ $re, $name)
	  or diag("exit $rc; stdout: $out\nstderr: $err");
	return;
}

# not_served(NODE, DB, FEATURE) -- poll until the feature is known to stay
# unserved (not transient); returns its reason and hint.
sub not_served
{
	my ($node, $db, $feature) = @_;
	$node->poll_query_until($db,
		qq{SELECT NOT served AND NOT transient FROM partkv.serving_status WHERE feature = '$feature'})
	  or diag("$feature never became lastingly unserved: "
		  . $node->safe_psql($db, 'SELECT * FROM partkv.serving_status'));
	return split /\|/,
	  $node->safe_psql($db,
		qq{SELECT reason || '|' || coalesce(hint, '') FROM partkv.serving_status WHERE feature = '$feature'});
}

# ---------------------------------------------------------------------------
# (a) replication slots: three in all, the first database takes two
# ---------------------------------------------------------------------------
my $node = partkv_node('slots');
$node->append_conf('postgresql.conf', "max_replication_slots = 3\npartkv.naptime = '100ms'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE one');
$node->safe_psql('one', 'CREATE EXTENSION partkv');
$node->safe_psql('one', "SELECT partkv.create_table($gsi_table) IS NOT NULL");
$node->safe_psql('one', q{SELECT partkv.put_item('users', '{"id": "u1", "team": "red"}')});
is($node->safe_psql('one', q{SELECT partkv.wait_for_index('users', 'by_team', '30s')}),
	't', 'with slots to spare, the GSI is maintained');

# A copy of the database has the extension but no slot: its stream worker
# takes the last free one, its GSI worker finds none.
$node->safe_psql('postgres', 'CREATE DATABASE two TEMPLATE one');
my ($reason, $hint) = not_served($node, 'two', 'gsi');
like($reason, qr/GSI worker of database "two" cannot create its replication slot "partkv_gsi_\d+": all 3 replication slots are in use/,
	'serving_status: why the GSIs of the copy are not maintained');
like($hint, qr/Raise max_replication_slots/, 'serving_status: what to change');
is($node->safe_psql('two', q{SELECT served FROM partkv.serving_status WHERE feature = 'stream'}),
	't', 'the stream of the copy is served: it got the last slot');
is( $node->safe_psql(
		'two', q{SELECT status || ' ' || served || ' ' || (not_served_reason LIKE '%all 3 replication slots are in use%')
				   FROM partkv.index_status WHERE index_name = 'by_team'}),
	'ACTIVE false true', 'index_status: ACTIVE, but not served, and why');
is( $node->safe_psql(
		'two', q{SELECT (g->>'IndexStatus') || ' ' || (g->'partkv'->>'Served') || ' ' || (g->'partkv' ? 'Hint')
				   FROM jsonb_array_elements(partkv.describe_table('users')->'GlobalSecondaryIndexes') g}),
	'ACTIVE false true',
	'describe_table: IndexStatus keeps a DynamoDB value, the "partkv" member says it is not maintained');
is($node->safe_psql('two', q{SELECT partkv.describe_table('users')->'partkv'->'Features'}),
	'["GlobalSecondaryIndexes"]', 'describe_table: the table says which of its features are not served');
is($node->safe_psql('two', q{SELECT served || ' ' || (not_served_reason LIKE '%replication slot%') FROM partkv.table_stats WHERE table_name = 'users'}),
	'false true', 'table_stats: not served, and why');
is($node->safe_psql('two', q{SELECT partkv.gsi_backlog()->>'Served'}), 'false', 'gsi_backlog: not served');
fails_like($node, 'two',
	q{SELECT * FROM partkv.query('users', 'team = :t', '{":t": "red"}', index_name => 'by_team')},
	'53400', qr/global secondary index "by_team" of table "users" is not being maintained.*DETAIL:.*replication slot.*HINT:  Raise max_replication_slots/s,
	'a GSI query fails instead of answering from an index nobody maintains');
fails_like($node, 'two', q{SELECT partkv.wait_for_index('users', 'by_team', '2s')},
	'53400', qr/partkv cannot maintain global secondary index "by_team" of table "users"/,
	'wait_for_index fails, saying why, instead of timing out');
fails_like($node, 'two', q{SELECT partkv.stream_wait('2s')},
	'53400', qr/global secondary indexes of this database are not maintained/,
	'stream_wait fails, saying why, instead of timing out');
fails_like($node, 'two', q{SELECT partkv.update_table('users', } . $add_gsi . ')',
	'53400', qr/partkv cannot maintain global secondary index "by_n" of table "users".*DETAIL:.*all 3 replication slots are in use/s,
	'update_table adding a GSI fails');
fails_like($node, 'two', qq{SELECT partkv.create_table(replace($gsi_table, 'users', 'users2')::jsonb)},
	'53400', qr/partkv cannot maintain global secondary index "by_team" of table "users2"/,
	'create_table with a GSI fails');
is($node->safe_psql('two', q{SELECT count(*) FROM partkv.tables WHERE table_name = 'users2'}),
	'0', 'and creates nothing');
$node->safe_psql('two',
	q{SELECT partkv.create_table('events', 'id', stream_view_type => 'NEW_IMAGE') IS NOT NULL});
is($node->safe_psql('two', q{SELECT partkv.describe_table('events') ? 'partkv'}),
	'f', 'a table with a stream only is served');

# A third database cannot have partkv at all: no slot is left.
$node->safe_psql('postgres', 'CREATE DATABASE three');
fails_like($node, 'three', 'CREATE EXTENSION partkv',
	'53400', qr/partkv needs 2 free replication slots in database "three", 0 are free.*HINT:  Raise max_replication_slots/s,
	'CREATE EXTENSION fails when the slots of its workers cannot be made');

# Once a slot is free, the GSI worker of the copy takes it and catches up.
$node->safe_psql('postgres', 'DROP DATABASE one');
is($node->safe_psql('two', q{SELECT partkv.wait_for_index('users', 'by_team', '60s')}),
	't', 'a slot freed: the GSI worker of the copy makes its slot and catches up');
is($node->safe_psql('two', q{SELECT served FROM partkv.serving_status WHERE feature = 'gsi'}),
	't', 'serving_status: served');
is( $node->safe_psql(
		'two', q{SELECT string_agg(i->>'id', ',') FROM partkv.query('users', 'team = :t', '{":t": "red"}', index_name => 'by_team') i}),
	'u1', 'the GSI of the copy answers');
ok($node->log_contains(qr/partkv GSI worker of database "two" cannot create its replication slot/),
	'the server log said why meanwhile');
$node->stop;

# ---------------------------------------------------------------------------
# (b) background workers: max_worker_processes leaves no room for the GSI
# worker; partkv.max_workers = 1 leaves none for a second database
# ---------------------------------------------------------------------------
$node = partkv_node('procs');
$node->append_conf(
	'postgresql.conf', q{
max_worker_processes = 3	# logical replication launcher, partkv launcher, one stream worker
max_parallel_workers_per_gather = 0
partkv.max_workers = 1
partkv.naptime = '100ms'
partkv.ttl_interval = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE a');
$node->safe_psql('postgres', 'CREATE DATABASE b');
$node->safe_psql('a', 'CREATE EXTENSION partkv');
($reason, $hint) = not_served($node, 'a', 'gsi');
like($reason, qr/GSI worker of database "a" cannot be started: all 3 background worker processes are in use/,
	'serving_status: the GSI worker cannot be started');
like($hint, qr/Raise max_worker_processes/, 'serving_status: what to change');
fails_like($node, 'a', "SELECT partkv.create_table($gsi_table)",
	'53400', qr/partkv cannot maintain global secondary index "by_team".*background worker processes.*HINT:  Raise max_worker_processes/s,
	'create_table with a GSI fails when its worker cannot be started');
$node->safe_psql('a', q{SELECT partkv.create_table('sessions', 'id', stream_view_type => 'KEYS_ONLY') IS NOT NULL});
ok($node->poll_query_until('a', q{SELECT served FROM partkv.serving_status WHERE feature = 'stream'}),
	'the stream worker of "a" runs');

# TTL with partkv.ttl_interval = 0 is a choice (partkv.run_ttl_sweep() only): no
# error, a status.
$node->safe_psql('a', q{SELECT partkv.update_time_to_live('sessions', 'exp') IS NOT NULL});
like($node->safe_psql('a', q{SELECT partkv.describe_time_to_live('sessions')->'TimeToLiveDescription'->'partkv'->>'Reason'}),
	qr/partkv\.ttl_interval is 0/, 'describe_time_to_live: TTL has no sweeper, and why');
is($node->safe_psql('a', q{SELECT partkv.describe_time_to_live('sessions')->'TimeToLiveDescription'->>'TimeToLiveStatus'}),
	'ENABLED', 'TimeToLiveStatus keeps a DynamoDB value');

# The one worker partkv.max_workers allows serves "a": "b" gets none.
$node->safe_psql('b', 'CREATE EXTENSION partkv');
($reason, $hint) = not_served($node, 'b', 'stream');
like($reason, qr/No partkv worker can be started for database "b": all 1 workers that partkv\.max_workers allows serve other databases/,
	'serving_status: partkv.max_workers serve other databases');
like($hint, qr/Raise partkv\.max_workers/, 'serving_status: what to change');
fails_like($node, 'b', q{SELECT partkv.create_table('orders', 'id', stream_view_type => 'NEW_IMAGE')},
	'53400', qr/partkv cannot serve the stream of table "orders".*HINT:  Raise partkv\.max_workers/s,
	'create_table with a stream fails');
$node->safe_psql('b', q{SELECT partkv.create_table('plain', 'id') IS NOT NULL});
fails_like($node, 'b', q{SELECT partkv.update_table('plain', '{"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "KEYS_ONLY"}}')},
	'53400', qr/partkv cannot serve the stream of table "plain"/, 'update_table enabling a stream fails');
fails_like($node, 'b', q{SELECT partkv.update_time_to_live('plain', 'exp')},
	'53400', qr/partkv cannot delete the expired items of table "plain"/, 'update_time_to_live fails');
$node->stop;

# ---------------------------------------------------------------------------
# (c) the database's extension is older than the library
# ---------------------------------------------------------------------------
$node = partkv_node('old');
$node->append_conf('postgresql.conf', "partkv.naptime = '100ms'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE kv');
$node->safe_psql('kv', q{CREATE EXTENSION partkv VERSION '0.4'});
$node->safe_psql('kv', "SELECT partkv.create_table($gsi_table) IS NOT NULL");
$node->safe_psql('kv', q{SELECT partkv.put_item('users', '{"id": "u1", "team": "red"}')});
$node->poll_query_until('kv', q{SELECT partkv.gsi_backlog()->>'Transient' = 'false'})
  or diag('gsi_backlog: ' . $node->safe_psql('kv', 'SELECT partkv.gsi_backlog()'));
like($node->safe_psql('kv', q{SELECT partkv.gsi_backlog()->>'Reason'}),
	qr/Database "kv" has partkv 0\.4 and the server's library needs 0\.5: the partkv stream worker waits for ALTER EXTENSION partkv UPDATE/,
	'gsi_backlog (the 0.4 SQL reads it from the library) says why nothing is maintained');
fails_like($node, 'kv', q{SELECT partkv.wait_for_index('users', 'by_team', '2s')},
	'55000', qr/stream_wait\(\) would wait forever.*HINT:  Run ALTER EXTENSION partkv UPDATE in database "kv"/s,
	'wait_for_index of 0.4 fails, saying why, instead of timing out');
fails_like($node, 'kv',
	q{SELECT * FROM partkv.query('users', 'team = :t', '{":t": "red"}', index_name => 'by_team')},
	'55000', qr/is not being maintained.*ALTER EXTENSION partkv UPDATE/s, 'a GSI query fails');
$node->safe_psql('kv', 'ALTER EXTENSION partkv UPDATE');
is($node->safe_psql('kv', q{SELECT partkv.wait_for_index('users', 'by_team', '60s')}),
	't', 'once updated, the worker catches up');
is( $node->safe_psql(
		'kv', q{SELECT string_agg(i->>'id', ',') FROM partkv.query('users', 'team = :t', '{":t": "red"}', index_name => 'by_team') i}),
	'u1', 'with what was written meanwhile');
is($node->safe_psql('kv', q{SELECT bool_and(served) FROM partkv.serving_status}), 't', 'all served');

# (f) A worker that keeps failing (here: a function it calls is gone) is
# restarted with back-off; after three failures in a row it is not served
# until someone looks, and its last error says why.
$node->safe_psql('kv',
	'ALTER FUNCTION partkv_internal.stream_maintain(interval, interval) RENAME TO stream_maintain_gone');
# a worker calls it when it starts
$node->safe_psql('kv',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'partkv stream worker'});
($reason, $hint) = not_served($node, 'kv', 'stream');
like($reason, qr/The partkv stream worker of database "kv" failed \d+ times in a row and is restarted with back-off; its last error: function partkv_internal\.stream_maintain\(interval, interval\) does not exist/,
	'serving_status: a worker that keeps failing, and its last error');
fails_like($node, 'kv', q{SELECT partkv.stream_wait('2s')},
	'55000', qr/stream_wait\(\) would wait forever.*its last error/s, 'stream_wait fails, saying why');
$node->safe_psql('kv',
	'ALTER FUNCTION partkv_internal.stream_maintain_gone(interval, interval) RENAME TO stream_maintain');
ok($node->poll_query_until('kv', q{SELECT bool_and(served) FROM partkv.serving_status}),
	'once the cause is gone, the restarted worker serves again');
$node->stop;

# ---------------------------------------------------------------------------
# (d) wal_level = replica; (e) partkv not preloaded
# ---------------------------------------------------------------------------
$node = partkv_node('replica');
$node->append_conf('postgresql.conf', "wal_level = replica\nmax_wal_senders = 10\n");
$node->start;
my ($rc, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION partkv');
is($rc, 0, 'CREATE EXTENSION succeeds with wal_level = replica: tables work');
like($err, qr/WARNING:  partkv will not serve change streams, global secondary indexes or time to live in database "postgres".*DETAIL:  wal_level is "replica".*HINT:  Set wal_level = logical/s,
	'and warns that streams, GSIs and TTL will not be served');
fails_like($node, 'postgres', q{SELECT partkv.create_table('orders', 'id', stream_view_type => 'NEW_IMAGE')},
	'55000', qr/partkv cannot serve the stream of table "orders".*wal_level is "replica"/s,
	'create_table with a stream fails');
fails_like($node, 'postgres', "SELECT partkv.create_table($gsi_table)",
	'55000', qr/partkv cannot maintain global secondary index "by_team"/, 'create_table with a GSI fails');
$node->safe_psql('postgres', q{SELECT partkv.create_table('plain', 'id') IS NOT NULL});
$node->safe_psql('postgres', q{SELECT partkv.put_item('plain', '{"id": "x"}')});
item_is($node, 'postgres', 'plain', '{"id": "x"}', '{"id": "x"}', 'a plain table works');
fails_like($node, 'postgres', q{SELECT partkv.update_time_to_live('plain', 'exp')},
	'55000', qr/partkv cannot delete the expired items of table "plain"/, 'update_time_to_live fails');
is($node->safe_psql('postgres', q{SELECT string_agg(feature, ',') FROM partkv.serving_status WHERE NOT served AND NOT transient}),
	'stream,gsi,ttl', 'serving_status: nothing is served');

$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->restart;
fails_like($node, 'postgres', q{SELECT partkv.describe_table('plain')},
	'55000', qr/partkv must be loaded via shared_preload_libraries/, 'without preloading, partkv fails loudly');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
fails_like($node, 'fresh', 'CREATE EXTENSION partkv',
	'55000', qr/partkv must be loaded via shared_preload_libraries/, 'and cannot be created');
$node->stop;

done_testing();
