# 020_gsi.pl -- global secondary indexes under crashes and concurrency: the
# GSI worker applies every change to GSIs exactly once across SIGKILL
# (crash restart) during GSI apply and during a backfill; several clients
# moving items across GSI keys while an index is created and backfilled end
# with every GSI equal to what the table says (partkv.verify_index); a
# worker behind while the CPUs are busy gives way to the writers.
#
# The SIGKILLs below are crashes on purpose (test/scripts/test.sh checks
# the server logs for any other):
# partkv-expected-crash: background worker "partkv GSI worker" was terminated by signal 9: Killed
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use File::Temp qw(tempfile);
use Time::HiRes qw(usleep);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('gsi');
$node->append_conf(
	'postgresql.conf', q{
partkv.naptime = '50ms'
partkv.stream_batch_size = 50
restart_after_crash = on
});
$node->start;
my ($ext_rc, $ext_out, $ext_err) = $node->psql('postgres', 'CREATE EXTENSION partkv');
is($ext_err, '', 'CREATE EXTENSION warns of nothing');
is( $node->safe_psql('postgres',
		q{SELECT string_agg(regexp_replace(slot_name, '_[0-9]+$', ''), ',' ORDER BY slot_name)
			FROM pg_replication_slots WHERE slot_name LIKE 'partkv%'}),
	'partkv_gsi,partkv_stream', 'CREATE EXTENSION makes the slots of the stream and GSI workers');

# wait_up() -- after a crash restart, wait until the server takes queries.
sub wait_up
{
	$node->poll_query_until('postgres', 'SELECT true') or die 'server did not come back';
	return;
}

# worker_pid() -- pid of the GSI worker, once it runs.
sub worker_pid
{
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'partkv GSI worker'})
	  or die 'no GSI worker';
	return $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'partkv GSI worker'});
}

# clean(TABLE, INDEX, NAME) -- once the index is ACTIVE and caught up, it
# holds exactly what the table says.
sub clean
{
	my ($table, $index, $name) = @_;
	is($node->safe_psql('postgres', qq{SELECT partkv.wait_for_index('$table', '$index', '60s')}),
		't', "$name: index active and caught up");
	my $v = $node->safe_psql('postgres', qq{SELECT partkv.verify_index('$table', '$index')});
	like($v, qr/"extra": 0, "stale": 0, "checked": \d+, "missing": 0/, "$name: verify_index clean")
	  or diag($v);
	return;
}

# start_clients(CLIENTS, SECONDS, SCRIPT) -- pgbench running SCRIPT in the
# background; its output goes to $out and $err.
my ($out, $err) = ('', '');
sub start_clients
{
	my ($clients, $seconds, $file) = @_;
	($out, $err) = ('', '');
	return IPC::Run::start(
		[
			'pgbench', '-n', '-c', $clients, '-T', $seconds, '-f', $file,
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
}

$node->safe_psql('postgres', q{
	SELECT partkv.create_table('gsit', 'pk', 'S', 'sk', 'N', partitions => 4,
		global_indexes => '[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
			{"AttributeName": "n", "KeyType": "RANGE", "AttributeType": "N"}], "Projection": {"ProjectionType": "ALL"}}]');
});

# 1. SIGKILL the worker while it applies many small batches
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
		FOR i IN 1 .. 3000 LOOP
			PERFORM partkv.put_item('gsit', jsonb_build_object('pk', 'p' || (i % 97), 'sk', i % 13,
														   'g', 'g' || (i % 7), 'n', i));
			IF i % 10 = 0 THEN COMMIT; END IF;
		END LOOP;
	END;
	$$;
});
kill 'KILL', worker_pid();
wait_up();
clean('gsit', 'by_g', 'SIGKILL during GSI apply');

# 2. SIGKILL the worker during a backfill
$node->safe_psql('postgres', q{
	SELECT count(*) FROM generate_series(1, 6000) i,
		LATERAL partkv.put_item('gsit', jsonb_build_object('pk', 'b' || (i % 211), 'sk', i, 'c', 'c' || (i % 5), 'n', i));
	SELECT partkv.update_table('gsit', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_c",
		"KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}}],
		"AttributeDefinitions": [{"AttributeName": "c", "AttributeType": "S"}]}');
});
$node->poll_query_until('postgres',
	q{SELECT items_done > 0 OR status = 'ACTIVE' FROM partkv.gsi_indexes WHERE index_name = 'by_c'})
  or die 'backfill did not start';
kill 'KILL', worker_pid();
wait_up();
clean('gsit', 'by_c', 'SIGKILL during backfill');
clean('gsit', 'by_g', 'SIGKILL during backfill (other index)');

# 3. several clients move items across GSI keys, update and delete them,
# while a new GSI is created and backfilled
my ($fh, $script) = tempfile(UNLINK => 1);
print $fh q{
\set k random(1, 300)
\set g random(1, 9)
\set op random(1, 10)
SELECT partkv.put_item('gsit', jsonb_build_object('pk', 'r' || :k, 'sk', 1, 'g', 'g' || :g, 'n', :k, 'c', 'c' || :g, 'd', 'd' || (:k % 4))) WHERE :op <= 5;
SELECT partkv.update_item('gsit', jsonb_build_object('pk', 'r' || :k, 'sk', 1), 'REMOVE g SET d = :d', jsonb_build_object(':d', 'd' || :g)) WHERE :op BETWEEN 6 AND 7;
SELECT partkv.update_item('gsit', jsonb_build_object('pk', 'r' || :k, 'sk', 1), 'SET n = n + :one', '{":one": 1}', condition => 'attribute_exists(n)') WHERE :op = 8 AND EXISTS (SELECT 1 FROM gsit WHERE pk = 'r' || :k AND sk = 1 AND item ? 'n');
SELECT partkv.delete_item('gsit', jsonb_build_object('pk', 'r' || :k, 'sk', 1)) WHERE :op >= 9;
};
close $fh;
my $bench = start_clients(4, 8, $script);
sleep 2;
$node->safe_psql('postgres', q{
	SELECT partkv.update_table('gsit', '{"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_d",
		"KeySchema": [{"AttributeName": "d", "KeyType": "HASH"}, {"AttributeName": "pk", "KeyType": "RANGE"}],
		"Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["g"]}}}],
		"AttributeDefinitions": [{"AttributeName": "d", "AttributeType": "S"}]}');
});
$bench->finish;
like($out, qr/number of transactions actually processed: [1-9]/, 'randomized clients ran')
  or diag("$out\n$err");
clean('gsit', 'by_g', 'randomized clients');
clean('gsit', 'by_c', 'randomized clients');
clean('gsit', 'by_d', 'randomized clients with a concurrent backfill');

# the GSI answers what the table says
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM partkv.query('gsit', 'g = :g', '{":g": "g3"}', index_name => 'by_g')}),
	$node->safe_psql('postgres', q{SELECT count(*) FROM gsit WHERE item->>'g' = 'g3' AND item ? 'n'}),
	'query through the GSI matches the table');

# old images always located the entries they replaced: the fallback by
# table key (which repairs an entry found elsewhere, and logs it) never ran
unlike(slurp_file($node->logfile), qr/were not where the old images of their items placed them/,
	'no GSI entry was found away from where its old image placed it');

# 4. a GSI worker whose replication slot is gone (as after an upgrade from
# 0.2, whose stream worker kept the GSIs) backfills every GSI again: the
# writes it cannot decode are read from the table
my $dboid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'postgres'});
my $dropped = 0;
for my $try (1 .. 50)
{
	$node->safe_psql('postgres',
		q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'partkv GSI worker'});
	my ($rc) = $node->psql('postgres', qq{SELECT pg_drop_replication_slot('partkv_gsi_$dboid')});
	if ($rc == 0)
	{
		$dropped = 1;
		last;
	}
	usleep(100_000);
}
ok($dropped, "the GSI worker's slot was dropped");
$node->safe_psql('postgres', q{
	SELECT count(*) FROM generate_series(1, 200) i,
		LATERAL partkv.put_item('gsit', jsonb_build_object('pk', 'z' || i, 'sk', 1, 'g', 'gz', 'n', i, 'c', 'cz', 'd', 'dz'));
});
ok( $node->wait_for_log(qr/partkv GSI worker of database "postgres" has no replication slot yet: its GSIs are backfilled again/),
	'a GSI worker that makes its slot backfills the GSIs again');
clean('gsit', 'by_g', 'backfilled again after a new slot');
clean('gsit', 'by_c', 'backfilled again after a new slot');
clean('gsit', 'by_d', 'backfilled again after a new slot');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM partkv.query('gsit', 'g = :g', '{":g": "gz"}', index_name => 'by_g')}),
	'200', 'writes made while the GSI worker had no slot are in the GSI');

# 5. kv storage rewritten (VACUUM FULL, CLUSTER) while clients write: the
# workers decode WAL written before a rewrite after it committed, with the
# catalogs as they were then -- no change is lost from the stream or a GSI
$node->safe_psql('postgres', q{
	SELECT partkv.create_table('rwt', 'pk', 'S', 'sk', 'N', partitions => 2, stream_view_type => 'NEW_IMAGE',
		global_indexes => '[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
			"Projection": {"ProjectionType": "ALL"}}]');
	CREATE SEQUENCE rwseq;
});
my ($rwfh, $rwscript) = tempfile(UNLINK => 1);
print $rwfh q{
\set k random(1, 200)
\set g random(1, 5)
SELECT partkv.put_item('rwt', jsonb_build_object('pk', 'w' || :k, 'sk', 1, 'g', 'g' || :g, 'n', nextval('rwseq')));
};
close $rwfh;
$bench = start_clients(2, 6, $rwscript);
my $rewrites = 0;
while ($bench->pumpable)
{
	$node->safe_psql('postgres', q{VACUUM FULL rwt});
	$node->safe_psql('postgres', q{CLUSTER rwt_p0 USING rwt_p0_pkey});
	$rewrites++;
	$bench->pump_nb;
	usleep(50_000);
}
$bench->finish;
my ($puts) = $out =~ /number of transactions actually processed: (\d+)/;
ok($puts && $rewrites > 3, "clients wrote ($puts puts) across $rewrites rewrites") or diag("$out\n$err");
clean('rwt', 'by_g', 'writes across rewrites of the storage');
is($node->safe_psql('postgres', q{SELECT partkv.stream_wait('60s')}), 't', 'stream caught up');
is( $node->safe_psql('postgres', q{SELECT count(*) FROM partkv.stream_records('rwt', item_limit => NULL)}),
	$puts, 'the stream holds a record for every put made across rewrites');

# 6. VACUUM of GSI storage and of the stream's chunks while the workers
# write: the workers' running transactions must look running to VACUUM
# (a worker marked as decoding only was left out of every snapshot, and
# VACUUM took its inserts for an aborted transaction's)
my $before = $node->safe_psql('postgres', q{SELECT count(*) FROM partkv.stream_records('rwt', item_limit => NULL)});
my $vacuums = $node->safe_psql('postgres',
	q{SELECT string_agg(format('VACUUM %I.%I;', schema_name, storage_name), ' ') || ' VACUUM partkv_internal.stream_chunks;'
	    FROM partkv.gsi_indexes WHERE table_name IN ('rwt', 'gsit')});
$bench = start_clients(2, 6, $rwscript);
my $vacuumed = 0;
while ($bench->pumpable)
{
	$node->safe_psql('postgres', $vacuums);
	$vacuumed++;
	$bench->pump_nb;
}
$bench->finish;
($puts) = $out =~ /number of transactions actually processed: (\d+)/;
ok($puts && $vacuumed > 3, "clients wrote ($puts puts) across $vacuumed rounds of VACUUM") or diag("$out\n$err");
clean('rwt', 'by_g', 'writes while VACUUM ran on the GSI storage');
is($node->safe_psql('postgres', q{SELECT partkv.stream_wait('60s')}), 't', 'stream caught up after the VACUUMs');
is( $node->safe_psql('postgres', q{SELECT count(*) FROM partkv.stream_records('rwt', item_limit => NULL)}),
	$before + $puts, 'the stream holds a record for every put made while VACUUM ran');
unlike(slurp_file($node->logfile), qr/were not where the old images of their items placed them/,
	'no GSI entry was found away from where its old image placed it, VACUUM or not');

# 7. a GSI worker that falls behind while every CPU is busy gives way to
# the writers (it sleeps after each batch) until it has caught up
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET partkv.gsi_yield_lag = '100ms';
	ALTER SYSTEM SET partkv.stream_batch_size = 10;
	SELECT pg_reload_conf();
});
my $pid = worker_pid();
my $ncpu = () = slurp_file('/proc/cpuinfo') =~ /^processor/mg;
my @hogs;
for (0 .. $ncpu)
{
	push @hogs,
	  IPC::Run::start(
		[
			'psql', '-X', '-h', $node->host, '-p', $node->port, '-c',
			'SELECT count(*) FROM generate_series(1, 2000000000) /* cpu hog */', 'postgres'
		],
		'>', \my $hog_out, '2>', \my $hog_err);
}
kill 'STOP', $pid;
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
		FOR i IN 1 .. 5000 LOOP
			PERFORM partkv.put_item('gsit', jsonb_build_object('pk', 'y' || (i % 89), 'sk', i,
														   'g', 'g' || (i % 11), 'n', i));
			COMMIT;
		END LOOP;
	END;
	$$;
});
usleep(300_000);
kill 'CONT', $pid;
ok( $node->poll_query_until('postgres', q{
		SELECT partkv.gsi_backlog()->>'Yielding' = 'true' AND wait_event = 'Extension'
		  FROM pg_stat_activity WHERE backend_type = 'partkv GSI worker'}),
	'a GSI worker behind while every CPU is busy sleeps between its batches');
$node->safe_psql('postgres',
	q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%cpu hog%' AND pid <> pg_backend_pid()});
$_->finish for @hogs;
clean('gsit', 'by_g', 'changes applied while the worker gave way');
ok( $node->poll_query_until('postgres', q{SELECT partkv.gsi_backlog()->>'Yielding' = 'false'}),
	'once caught up, the GSI worker no longer gives way');

# partkv.gsi_worker_nice: the nice value of the worker's autogroup where
# Linux schedules by autogroup, else of the worker
sub nice_of
{
	my $autogroup = -e '/proc/sys/kernel/sched_autogroup_enabled'
	  && slurp_file('/proc/sys/kernel/sched_autogroup_enabled') =~ /^1/;
	return $1 if $autogroup && slurp_file("/proc/$pid/autogroup") =~ /nice (-?\d+)/;
	my @stat = split / /, (slurp_file("/proc/$pid/stat") =~ s/^.*\) //r);
	return $stat[16];
}
is(nice_of(), 0, 'the GSI worker runs at nice value 0 by default');
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET partkv.gsi_worker_nice = 7;
	SELECT pg_reload_conf();
});
my $tries = 0;
usleep(100_000) while nice_of() != 7 && $tries++ < 100;
is(nice_of(), 7, 'partkv.gsi_worker_nice applies on reload');
$node->safe_psql('postgres', q{
	ALTER SYSTEM RESET partkv.gsi_yield_lag;
	ALTER SYSTEM RESET partkv.gsi_worker_nice;
	ALTER SYSTEM RESET partkv.stream_batch_size;
	SELECT pg_reload_conf();
});

$node->stop;
done_testing();
