# 080_sql_fuzz.pl -- SQL-level fuzzing of the code that needs the server:
# the item model, the typed-JSON converters, the expression evaluator and
# the batch/transact request parsers (test/fuzz/SqlFuzz.pm).  For a bounded
# time it replays the kept corpus test/fuzz/sql-corpus/ and then mutated
# inputs against a temporary server, and fails on any crash, hang,
# undocumented SQLSTATE or broken property, naming the files that hold the
# failing inputs.
#
# Environment:
#   PARTKV_SQL_FUZZ_SECONDS   fuzzing time after the corpus replay (45)
#   PARTKV_SQL_FUZZ_SEED      seed; "random" for a new one (default 1)
#   PARTKV_SQL_FUZZ_FINDINGS  where findings go (tmp_check/sqlfuzz-findings)
#   PARTKV_SQL_FUZZ_CORPUS_OUT  when set, inputs with new outcomes go there
#                             (make fuzz-sql copies them into the corpus)
#   PARTKV_SQL_FUZZ_SLOW      a call slower than this many seconds is
#                             reported, without failing (10)
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;
use lib "$FindBin::RealBin/../fuzz";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;
use SqlFuzz;

my $seconds = $ENV{PARTKV_SQL_FUZZ_SECONDS} // 45;
my $seed = $ENV{PARTKV_SQL_FUZZ_SEED} // 1;
$seed = int(rand(2**31)) if $seed eq 'random';
my $findings = $ENV{PARTKV_SQL_FUZZ_FINDINGS}
  // "$PostgreSQL::Test::Utils::tmp_check/sqlfuzz-findings";
diag("SQL fuzz: seed $seed, $seconds s (PARTKV_SQL_FUZZ_SEED=$seed reproduces this run)");

# UTF-8, as DynamoDB's strings are; errors logged with their SQLSTATE and
# code location, but not the (up to 400 KB) statements; after a crash the
# server restarts, so that the run goes on and finds more.
my $node = partkv_node('sqlfuzz', extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', <<'CONF');
restart_after_crash = on
log_error_verbosity = verbose
log_min_error_statement = panic
log_min_messages = warning
log_statement = none
CONF
$node->start;

my $fz = SqlFuzz->new(
	node => $node,
	seed => $seed,
	seconds => $seconds,
	corpus => "$FindBin::RealBin/../fuzz/sql-corpus",
	findings_dir => $findings,
	corpus_out => $ENV{PARTKV_SQL_FUZZ_CORPUS_OUT},
	slow_seconds => $ENV{PARTKV_SQL_FUZZ_SLOW} // 10,
	log => sub { diag(@_) });
$fz->setup;
$fz->run;
diag($_) for $fz->summary;

# one test per kind of finding, each naming the files of its inputs
my %by_kind;
push @{ $by_kind{ $_->{kind} } }, $_ for @{ $fz->{findings} };
for my $kind (qw(crash hang sqlstate property))
{
	my $f = $by_kind{$kind} // [];
	ok(!@$f, "SQL fuzz: no $kind findings")
	  or diag(join("\n", map { "  $_->{file}: $_->{call}: $_->{what}"
			  . ($_->{sqlstate} ? " [$_->{sqlstate}: $_->{message}]" : '')
			  . ($_->{location} ? " at $_->{location}" : '') } @$f));
}
# slow calls are reported, not failed: the machine's load makes them noisy
diag("slow call (not a failure): $_->{file}: $_->{what}") for @{ $by_kind{slow} // [] };
diag("known defect (not a failure): $_->{file}: $_->{what}") for @{ $by_kind{known} // [] };
cmp_ok($fz->{stats}{$_}{execs}, '>', 0, "SQL fuzz: target $_ ran") for qw(items typed expr requests);

# the server log: no backend or worker died, no internal error anywhere
# (the stream worker applies the fuzzed items to GSIs and the stream)
$node->stop;
my $log = slurp_file($node->logfile);
$log =~ s/^.*received (?:fast|smart|immediate) shutdown request.*\z//ms;    # workers exit then
my @bad = grep { /terminated by signal|was terminated|PANIC|TRAP:|exited with exit code|ERROR:\s+(?:XX\w{3}|58\w{3})/ } split /\n/, $log;
ok(!@bad, 'SQL fuzz: the server log shows no crash and no internal error')
  or diag(join("\n", @bad[ 0 .. ($#bad < 20 ? $#bad : 20) ]));

done_testing();
