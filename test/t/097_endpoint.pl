# 097_endpoint.pl -- DynamoDB's data operations through partkv-server with
# real clients (issue 17, part 3): boto3 and the AWS CLI, signed with SigV4
# keys of PostgreSQL roles, drive a table with an LSI, a GSI and a stream:
# put/get/update/delete with conditions and every ReturnValues, the failed
# condition's Item, query and scan paging (by hand, boto3's paginators, the
# CLI's own), parallel scan, the GSI once caught up, batch and transaction
# calls with their DynamoDB shapes, TTL, the stream through the Streams API,
# and keys of roles lacking a privilege.  096_server.pl covers the transport
# (signatures, hostile input, limits); this one the data through it.
# The checks live in clients/endpoint.py; each of its lines is a test here.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(sleep);
use PartkvTest;

my $node = partkv_node('endpoint');
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE kv');
$node->safe_psql(
	'kv', q{
	CREATE EXTENSION partkv;
	CREATE ROLE srv LOGIN;
	CREATE ROLE app;
	CREATE ROLE reader;
	CREATE ROLE nobody;
	GRANT app, reader, nobody TO srv;
	GRANT CREATE ON SCHEMA public TO app;
	GRANT EXECUTE ON FUNCTION partkv.access_key_lookup(text) TO srv;
});

# key_of(ROLE) -- a new access key of ROLE: (id, secret)
sub key_of
{
	my ($role) = @_;
	return split /\|/,
	  $node->safe_psql('kv', "SELECT * FROM partkv.create_access_key('$role')");
}
my ($key, $secret) = key_of('app');
@ENV{qw(PARTKV_RO_KEY PARTKV_RO_SECRET)} = key_of('reader');
@ENV{qw(PARTKV_NONE_KEY PARTKV_NONE_SECRET)} = key_of('nobody');

my $bindir = $node->config_data('--bindir');
my $binary = -x "$bindir/partkv-server" ? "$bindir/partkv-server" : "$FindBin::RealBin/../../server/partkv-server";
my $client = "$FindBin::RealBin/clients/endpoint.py";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $tmp = PostgreSQL::Test::Utils::tempdir;
my $server_log = "$tmp/server.log";
$ENV{PARTKV_HTTP_PORT} = $port;
$ENV{PARTKV_KEY} = $key;
$ENV{PARTKV_SECRET} = $secret;
$ENV{TMPDIR} = $tmp;

my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	# not under the asan suites' preloaded runtime (the server is not built with it)
	delete $ENV{$_} for qw(LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS);
	open(STDOUT, '>>', $server_log) or die;
	open(STDERR, '>&', \*STDOUT) or die;
	exec($binary, '-p', $port, '-h', '127.0.0.1', '--auth', 'sigv4', '-j', '4', '--log-level', 'info',
		'-d', sprintf('host=%s port=%d dbname=kv user=srv', $node->host, $node->port))
	  or die "exec: $!";
}
for (1 .. 100)
{
	last if system("python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", $port))' 2>/dev/null") == 0;
	sleep 0.1;
}

# client(COMMAND) -- run clients/endpoint.py COMMAND; each line a test
sub client
{
	my ($command) = @_;
	my $output = `python3 $client $command 2>&1`;
	my $any = 0;
	for my $line (split /\n/, $output)
	{
		if ($line =~ /^ok (.*)$/) { pass($1); $any++; }
		elsif ($line =~ /^not ok (.*)$/) { fail($1); $any++; }
		else { diag($line); }
	}
	fail("client $command reported nothing") unless $any;
	return;
}

client('boto3');
is( $node->safe_psql('kv', q{SELECT tableowner FROM pg_tables WHERE tablename = 'orders'}),
	'app', 'the table belongs to the key\'s role');
$node->safe_psql('kv', 'GRANT SELECT ON public.orders TO reader');
client('roles');
client('cli');

kill 'TERM', $pid;
waitpid($pid, 0);
is($? >> 8, 0, 'partkv-server: SIGTERM, exit status 0');
my $log = slurp_file($server_log);
like($log, qr/\bapp\b.*PutItem/, 'the server log names the role and the operation');
diag("server log:\n" . `tail -n 3 $server_log`);

$node->stop;
done_testing();
