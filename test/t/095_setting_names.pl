# 095_setting_names.pl -- the settings of 0.4 renamed by subsystem keep
# working under their old names: an old name in postgresql.conf or set by
# ALTER SYSTEM takes effect on the new one (what the code reads), and when
# both names are set the new one wins, whichever comes first; once the new
# name is removed the old one takes over again.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('names');
$node->append_conf(
	'postgresql.conf', q{
partkv.naptime = '250ms'
partkv.max_workers = 0
partkv.track_stats = off
partkv.backlog_warning = '1MB'
partkv.max_handler_workers = 2
});
$node->start;

# reload -- reloads the configuration and waits until new sessions have it
sub reload
{
	my $before = $node->safe_psql('postgres', 'SELECT pg_conf_load_time()');
	$node->reload;
	$node->poll_query_until('postgres',
		"SELECT pg_conf_load_time() > '$before'::timestamptz")
	  or die 'the configuration was not reloaded';
	return;
}

sub show
{
	my ($name) = @_;
	return $node->safe_psql('postgres', "SHOW $name");
}

# old names only: each takes effect under its new name
is(show('partkv.stream_naptime'),          '250ms', 'partkv.naptime sets partkv.stream_naptime');
is(show('partkv.stream_max_workers'),      '0',     'partkv.max_workers sets partkv.stream_max_workers');
is(show('partkv.stats_track'),             'off',   'partkv.track_stats sets partkv.stats_track');
is(show('partkv.stream_backlog_warning'),  '1MB',   'partkv.backlog_warning sets partkv.stream_backlog_warning');
is(show('partkv.handler_max_workers'),     '2',     'partkv.max_handler_workers sets partkv.handler_max_workers');
is( $node->safe_psql(
		'postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'partkv stream launcher'"),
	'0',
	'partkv.max_workers = 0 (old name) starts no launcher');

# a session setting under the old name, where the new name is not set
is( $node->safe_psql(
		'postgres', "SET partkv.track_stats = on; SHOW partkv.stats_track"),
	'on', 'SET partkv.track_stats sets partkv.stats_track');

# both in the file, the new name after the old one: the new one wins
$node->append_conf('postgresql.conf', "partkv.stream_naptime = '300ms'\n");
reload();
is(show('partkv.stream_naptime'), '300ms', 'new name after the old one wins');

# the old name again after the new one: the new one still wins
$node->append_conf('postgresql.conf', "partkv.naptime = '400ms'\n");
reload();
is(show('partkv.stream_naptime'), '300ms', 'new name before the old one wins');

# ALTER SYSTEM under the old name
$node->safe_psql('postgres', 'ALTER SYSTEM SET partkv.max_handler_workers = 3');
reload();
is(show('partkv.handler_max_workers'), '3', 'ALTER SYSTEM SET partkv.max_handler_workers takes effect');

# the new name set by ALTER SYSTEM wins over the old one in the file; reset,
# the old one takes over again
$node->safe_psql('postgres', "ALTER SYSTEM SET partkv.stream_backlog_warning = '2MB'");
reload();
is(show('partkv.stream_backlog_warning'), '2MB', 'new name by ALTER SYSTEM wins over the old one');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET partkv.stream_backlog_warning');
reload();
is(show('partkv.stream_backlog_warning'), '1MB', 'once the new name is removed, the old one takes over');

# a server setting: the new name wins at start too
$node->append_conf('postgresql.conf', "partkv.stream_max_workers = 2\n");
$node->restart;
is(show('partkv.stream_max_workers'), '2', 'new name wins at server start');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'partkv stream launcher'"),
	'the launcher runs');

$node->stop;
done_testing();
