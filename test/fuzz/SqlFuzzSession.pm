# SqlFuzzSession.pm -- one long-lived psql process that runs statements for
# the SQL fuzzer and reports each one's output or error (SQLSTATE, message,
# detail, location), and whether the connection was lost (a crashed
# backend) or the statement hung.
#
# psql runs with VERBOSITY=verbose, so an error reads
#   ERROR:  22023: message / DETAIL: ... / LOCATION:  function, file.c:NN
# and an error raised while the input literals are parsed, before any
# partkv code runs, carries a "LINE n:" cursor.  After each statement psql
# echoes a marker on stdout and on stderr; the statement's output is what
# came before the markers.
package SqlFuzzSession;

use strict;
use warnings;

use Encode qw(encode_utf8 decode_utf8);
use IPC::Run;
use Time::HiRes ();

# _is_literal_error(STDERR) -- whether an error was raised by PostgreSQL
# while it read the statement's input values (a literal's cursor position,
# or a COPY column's input function), before partkv saw them.
sub _is_literal_error
{
	my ($err) = @_;
	return 1 if $err =~ /^LINE \d+:/m;
	return 1 if $err =~ /^(?:CONTEXT:)?\s*COPY \S+, line \d+, column /m;
	return 0;
}

# new(PSQL-ARGV, HANG-SECONDS) -- start psql.
sub new
{
	my ($class, $argv, $hang_seconds) = @_;
	my $self = bless { argv => $argv, hang => $hang_seconds, n => 0 }, $class;
	$self->_start;
	return $self;
}

sub _start
{
	my ($self) = @_;
	$self->{in} = $self->{out} = $self->{err} = '';
	$self->{timer} = IPC::Run::timer($self->{hang});
	$self->{h} = IPC::Run::start(
		[ @{ $self->{argv} }, '-XAtq', '-v', 'VERBOSITY=verbose', '-v', 'ON_ERROR_STOP=0', '-f', '-' ],
		'<', \$self->{in}, '>', \$self->{out}, '2>', \$self->{err}, $self->{timer});
	return;
}

# restart -- a new psql (after a lost connection or a hang).
sub restart
{
	my ($self) = @_;
	$self->close;
	$self->_start;
	return;
}

# close -- end psql.
sub close
{
	my ($self) = @_;
	return unless $self->{h};
	eval {
		$self->{h}->kill_kill(grace => 2);
		1;
	};
	eval { $self->{h}->finish; 1 };
	delete $self->{h};
	return;
}

# run(SQL) -- run SQL (one statement, or COPY ... FROM STDIN with its data
# and \.) and return {ok, out} or {error => SQLSTATE, message, detail,
# location, literal, stderr}, or {lost => 1} or {hang => 1} (then the
# caller restarts the session once the server is back), with the seconds it
# took in {secs}.
sub run
{
	my ($self, $sql) = @_;
	my $mark = '@@sqlfuzz-' . (++$self->{n}) . '@@';
	$self->{out} = $self->{err} = '';
	$sql .= ';' unless $sql =~ /(;|\\\.)\s*\z/;
	$self->{in} .= encode_utf8($sql) . "\n\\echo $mark\n\\warn $mark\n";
	$self->{timer}->start($self->{hang});
	my $t0 = Time::HiRes::time();
	my $hung = 0;
	while (!($self->{out} =~ /\Q$mark\E\n/ && $self->{err} =~ /\Q$mark\E\n/))
	{
		last unless $self->{h}->pumpable;
		eval { $self->{h}->pump; 1 } or do
		{
			$hung = 1 if $@ =~ /timer expired|timeout/i;
			last;
		};
	}
	my $secs = Time::HiRes::time() - $t0;
	my $done = $self->{out} =~ /\Q$mark\E\n/ && $self->{err} =~ /\Q$mark\E\n/;
	my $out = decode_utf8($self->{out}, Encode::FB_DEFAULT);
	my $err = decode_utf8($self->{err}, Encode::FB_DEFAULT);
	$out =~ s/\Q$mark\E\n//;
	$err =~ s/\Q$mark\E\n//;
	unless ($done)
	{
		my %r = (secs => $secs, stderr => $err);
		$hung ? ($r{hang} = 1) : ($r{lost} = 1);
		return \%r;
	}
	if ($err =~ /server closed the connection|connection to server was lost|terminating connection because of crash|no connection to the server/)
	{
		return { lost => 1, stderr => $err, secs => $secs };
	}
	if ($err =~ /^(?:psql:[^\n]*?)?(ERROR|FATAL|PANIC):\s+([0-9A-Z]{5}):\s*(.*)$/m)
	{
		my ($severity, $code, $message) = ($1, $2, $3);
		my %r = (
			severity => $severity,
			error => $code,
			message => $message,
			stderr => $err,
			secs => $secs,
			literal => _is_literal_error($err));
		$r{detail} = $1 if $err =~ /^DETAIL:\s+(.*)$/m;
		$r{location} = $1 if $err =~ /^LOCATION:\s+(.*)$/m;
		return \%r;
	}
	chomp $out;
	return { ok => 1, out => $out, stderr => $err, secs => $secs };
}

1;
