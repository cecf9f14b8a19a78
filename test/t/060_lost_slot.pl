# 060_lost_slot.pl -- a replication slot PostgreSQL invalidates
# (max_slot_wal_keep_size) while the workers are stalled: the backlog is
# visible (partkv.stream_backlog) and warned about (partkv.backlog_warning)
# while it builds up; once the slots are lost the workers recover by
# themselves -- no crash loop; the stream gap is recorded, shown by
# describe_stream and partkv.stream_backlog, and refused to readers with
# TrimmedDataAccessException (KV005); TRIM_HORIZON starts after it; a
# stream handler records it as a dead letter and goes on after it; every
# GSI is backfilled again and ends verify_index-clean.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

# 1 MB WAL segments, so that a few MB of writes outgrow what the slots may
# keep; checkpoints only when the test asks for one
my $node = partkv_node('lost', extra => ['--wal-segsize=1']);
$node->append_conf(
	'postgresql.conf', q{
partkv.naptime = '50ms'
max_slot_wal_keep_size = '4MB'
max_wal_size = '64MB'
checkpoint_timeout = '1h'
partkv.backlog_warning = '512kB'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION partkv;
	SELECT partkv.create_table('lost', 'pk', 'S', partitions => 4, stream_view_type => 'NEW_IMAGE',
		global_indexes => '[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
			"Projection": {"ProjectionType": "ALL"}}]');
	CREATE ROLE app LOGIN;
	CREATE SCHEMA app AUTHORIZATION app;
	GRANT SELECT ON lost TO app;
	SET ROLE app;
	CREATE TABLE app.seen (pk text, seq text);
	CREATE FUNCTION app.handle(records jsonb) RETURNS void LANGUAGE sql AS
	  $$ INSERT INTO app.seen SELECT r->'dynamodb'->'Keys'->>'pk', r->'dynamodb'->>'SequenceNumber'
		   FROM jsonb_array_elements(records) r $$;
	SELECT partkv.add_stream_handler('lost', 'app.handle', batch_size => 50);
});

# puts(FROM, TO, TAG) -- items pk TAG<n> with a GSI key and 1 kB of payload,
# one transaction per 500.
sub puts
{
	my ($from, $to, $tag) = @_;
	for (my $lo = $from; $lo <= $to; $lo += 500)
	{
		my $hi = $lo + 499 < $to ? $lo + 499 : $to;
		$node->safe_psql('postgres', qq{
			INSERT INTO lost SELECT '$tag' || n, jsonb_build_object('pk', '$tag' || n, 'g', 'g' || n % 5,
															  'pad', repeat('x', 1000))
			  FROM generate_series($lo, $hi) n});
	}
	return;
}

puts(1, 100, 'before');
is($node->safe_psql('postgres', q{SELECT partkv.stream_wait('60s') AND partkv.wait_for_index('lost', 'by_g', '60s')}),
	't', 'the workers are caught up before the stall');
is($node->safe_psql('postgres', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'the handler is caught up');
my $shard = $node->safe_psql('postgres',
	q{SELECT partkv.describe_stream('lost')->'Shards'->0->>'ShardId'});
my $latest = $node->safe_psql('postgres',
	qq{SELECT partkv.get_shard_iterator('lost', '$shard', 'LATEST')});
my $view = $node->safe_psql('postgres',
	q{SELECT string_agg(worker || ':' || (wal_status <> 'lost') || ':' || (worker_pid IS NOT NULL) || ':' ||
						(backlog_bytes < 524288), ',' ORDER BY worker)
		FROM partkv.stream_backlog});
is($view, 'gsi:true:true:true,stream:true:true:true',
	'partkv.stream_backlog: both slots reserved, workers running, no backlog');

# Stall both workers: each waits for a lock on the table it writes (the
# stream's chunks, the GSI's storage) while its slot keeps the WAL.
my $storage = $node->safe_psql('postgres',
	q{SELECT format('%I.%I', schema_name, storage_name) FROM partkv.gsi_indexes WHERE index_name = 'by_g'});
my $staller = $node->background_psql('postgres');
$staller->query_safe(qq{BEGIN; LOCK TABLE partkv_internal.stream_chunks, $storage IN EXCLUSIVE MODE});
my $log_offset = -s $node->logfile;

puts(1, 6000, 'stalled');

# the backlog is visible while it builds up, and warned about once
$node->poll_query_until('postgres',
	q{SELECT count(*) = 2 FROM partkv.stream_backlog WHERE backlog_bytes > 1048576 AND lag > interval '0'})
  or die 'the backlog does not show';
pass('partkv.stream_backlog shows both stalled workers behind, with their lag');
ok($node->wait_for_log(qr/WARNING:  partkv stream worker of database "postgres" is [0-9.]+ [kMG]B behind/, $log_offset),
	'a WARNING says the stream worker is behind (partkv.backlog_warning)');
ok($node->wait_for_log(qr/WARNING:  partkv GSI worker of database "postgres" is [0-9.]+ [kMG]B behind/, $log_offset),
	'a WARNING says the GSI worker is behind');

# checkpoints remove the WAL the slots still need: PostgreSQL invalidates them
$node->safe_psql('postgres', q{SELECT pg_switch_wal(); CHECKPOINT; SELECT pg_switch_wal(); CHECKPOINT;});
ok($node->wait_for_log(qr/invalidating slot "partkv_stream_[0-9]+"/, $log_offset),
	'PostgreSQL invalidates the stream slot');
ok($node->wait_for_log(qr/invalidating slot "partkv_gsi_[0-9]+"/, $log_offset),
	'PostgreSQL invalidates the GSI slot');

# let the workers go
$staller->query_safe('COMMIT');
$staller->quit;

ok($node->wait_for_log(qr/WARNING:  partkv stream of database "postgres" lost changes/, $log_offset),
	'the stream worker says loudly that changes are lost');
ok($node->wait_for_log(qr/WARNING:  partkv GSI worker of database "postgres" lost its replication slot/, $log_offset),
	'the GSI worker says loudly that its slot was lost');

puts(1, 50, 'after');
is($node->safe_psql('postgres', q{SELECT partkv.stream_wait('60s')}), 't',
	'the workers run again and catch up');
my $log = slurp_file($node->logfile, $log_offset);
my $removed = () = $log =~ /has already been removed/g;
is($removed, 0, 'no worker failed on removed WAL (no crash loop)');

# the gap: recorded, shown, refused to readers
my ($from_lsn, $to_lsn) = split /\|/, $node->safe_psql('postgres',
	q{SELECT from_lsn, to_lsn FROM partkv.lost_slots WHERE worker = 'stream'});
ok($to_lsn, "the gap is recorded ($from_lsn .. $to_lsn)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM partkv.lost_slots WHERE to_lsn IS NOT NULL}),
	'2', 'both lost slots are recorded');
is( $node->safe_psql('postgres',
		q{SELECT string_agg(worker || ':' || (wal_status <> 'lost') || ':' || slot_losses || ':' ||
							(last_slot_loss_at IS NOT NULL), ',' ORDER BY worker)
			FROM partkv.stream_backlog}),
	'gsi:true:1:true,stream:true:1:true',
	'partkv.stream_backlog: new slots, and the loss of the old ones');
my $gaps = $node->safe_psql('postgres', q{SELECT partkv.describe_stream('lost')->'StreamGaps'});
like($gaps, qr/"StartingSequenceNumber"/, 'describe_stream shows the gap') or diag($gaps);

my $inside = $node->safe_psql('postgres',
	qq{SELECT partkv_internal.lsn_sequence_number('$from_lsn'::pg_lsn + 100)});
my ($rc, $out, $err) = $node->psql('postgres',
	qq{SELECT partkv.get_shard_iterator('lost', '$shard', 'AT_SEQUENCE_NUMBER', '$inside')},
	extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/ERROR:  KV005: The data you are trying to access has been trimmed/,
	'get_shard_iterator inside the gap: TrimmedDataAccessException');
($rc, $out, $err) = $node->psql('postgres', qq{SELECT partkv.get_records('$latest')},
	extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/ERROR:  KV005: The data you are trying to access has been trimmed/,
	'get_records with an iterator from before the gap: TrimmedDataAccessException');
($rc, $out, $err) = $node->psql('postgres',
	qq{SELECT count(*) FROM partkv.stream_records('lost', '$inside')},
	extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/ERROR:  KV005: The data you are trying to access has been trimmed/,
	'stream_records inside the gap: TrimmedDataAccessException');

# TRIM_HORIZON and stream_records from the start begin after the gap
is( $node->safe_psql('postgres', qq{
		SELECT count(*) FILTER (WHERE r->'dynamodb'->'Keys'->>'pk' LIKE 'after%') || '/' || count(*)
		  FROM jsonb_array_elements(partkv.get_records(
				partkv.get_shard_iterator('lost', '$shard', 'TRIM_HORIZON'))->'Records') r}),
	$node->safe_psql('postgres', qq{
		SELECT count(*) || '/' || count(*) FROM lost l
		 WHERE l.pk LIKE 'after%'
		   AND partkv_internal.stream_shard_id(l.tableoid) = '$shard'}),
	'TRIM_HORIZON starts after the gap');
is( $node->safe_psql('postgres', qq{
		SELECT partkv.get_records(partkv.get_shard_iterator('lost', '$shard', 'LATEST'))->'Records'}),
	'[]', 'LATEST lies after the gap too');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE r->'dynamodb'->'Keys'->>'pk' LIKE 'after%') || '/' || count(*)
		  FROM partkv.stream_records('lost', item_limit => NULL) r}),
	'50/50', 'stream_records from the start: the records after the gap');
is( $node->safe_psql('postgres', q{
		SELECT count(*) FROM partkv.stream_records('lost', '00000000000000000000000000000', item_limit => NULL)}),
	'100', 'stream_records before the gap: the records before it, then nothing');

# the handler: the gap is a dead letter; it goes on after it
is($node->safe_psql('postgres', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'the handler catches up');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FILTER (WHERE pk LIKE 'before%') || '/' || count(*) FILTER (WHERE pk LIKE 'after%') || '/' ||
				 count(*) FROM app.seen}),
	'100/50/150', 'the handler saw the records before and after the gap, once');
like( $node->safe_psql('postgres', q{SELECT error FROM partkv.dead_letters}),
	qr/^TrimmedDataAccessException: /, 'the gap is the handler\'s dead letter');

# the GSI is backfilled again and matches the table
is($node->safe_psql('postgres', q{SELECT partkv.wait_for_index('lost', 'by_g', '120s')}), 't',
	'the GSI is ACTIVE again');
my $v = $node->safe_psql('postgres', q{SELECT partkv.verify_index('lost', 'by_g')});
like($v, qr/"extra": 0, "stale": 0, "checked": 6150, "missing": 0/, 'verify_index: clean, every item')
  or diag($v);

# the warning is said again once the stall recurs, not while nothing changes
$log = slurp_file($node->logfile, $log_offset);
my $warnings = () = $log =~ /WARNING:  partkv stream worker of database "postgres" is /g;
is($warnings, 1, 'the backlog WARNING is rate-limited');

$node->stop;
done_testing();
