# SqlFuzzJson.pm -- the JSON model of the SQL-level fuzzer (SqlFuzz.pm).
#
# A JSON value is a hash {t => TYPE, v => VALUE} so that the fuzzer can keep
# what a Perl hash or JSON::PP would lose: member order, duplicate member
# names, and the exact text of numbers ("2.50", "1E+126", 39 digits).
#   t  v
#   o  array of [name, value] pairs (names are character strings)
#   a  array of values
#   s  character string (may hold NUL and lone surrogates: they are written
#      as \u escapes)
#   n  the number's JSON text
#   b  1 or 0
#   z  (null)
#   r  raw text written as is (to inject text that is not JSON)
package SqlFuzzJson;

use strict;
use warnings;
no warnings 'recursion';

use Exporter 'import';

our @EXPORT = qw(jstr jnum jbool jnull jarr jobj jraw parse_json to_json
  jclone jnodes jmember jset_member jdel_member);

sub jstr { return { t => 's', v => $_[0] }; }
sub jnum { return { t => 'n', v => "$_[0]" }; }
sub jbool { return { t => 'b', v => $_[0] ? 1 : 0 }; }
sub jnull { return { t => 'z' }; }
sub jarr { return { t => 'a', v => [@_] }; }
sub jraw { return { t => 'r', v => $_[0] }; }

# jobj(NAME => VALUE, ...) -- an object with these members, in this order.
sub jobj
{
	my @m;
	while (@_)
	{
		my $k = shift;
		push @m, [ $k, shift ];
	}
	return { t => 'o', v => \@m };
}

# parse_json(TEXT) -- the value of a JSON text (characters, not bytes); dies
# on a syntax error.
sub parse_json
{
	my ($text) = @_;
	my $s = $text;
	pos($s) = 0;
	my $v = _value(\$s);
	$s =~ /\G\s*/gc;
	die 'trailing data at offset ' . pos($s) . "\n" if pos($s) < length($s);
	return $v;
}

sub _fail
{
	my ($r, $what) = @_;
	die "expected $what at offset " . (pos($$r) // 0) . "\n";
}

sub _value
{
	my ($r) = @_;
	$$r =~ /\G\s*/gc;
	if ($$r =~ /\G\{/gc)
	{
		my @m;
		$$r =~ /\G\s*/gc;
		return { t => 'o', v => \@m } if $$r =~ /\G\}/gc;
		while (1)
		{
			$$r =~ /\G\s*"/gc or _fail($r, 'a member name');
			my $k = _string($r);
			$$r =~ /\G\s*:/gc or _fail($r, ':');
			push @m, [ $k, _value($r) ];
			$$r =~ /\G\s*/gc;
			next if $$r =~ /\G,/gc;
			last if $$r =~ /\G\}/gc;
			_fail($r, ', or }');
		}
		return { t => 'o', v => \@m };
	}
	if ($$r =~ /\G\[/gc)
	{
		my @a;
		$$r =~ /\G\s*/gc;
		return { t => 'a', v => \@a } if $$r =~ /\G\]/gc;
		while (1)
		{
			push @a, _value($r);
			$$r =~ /\G\s*/gc;
			next if $$r =~ /\G,/gc;
			last if $$r =~ /\G\]/gc;
			_fail($r, ', or ]');
		}
		return { t => 'a', v => \@a };
	}
	return jstr(_string($r)) if $$r =~ /\G"/gc;
	return jnum($1)
	  if $$r =~ /\G(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)/gc;
	return jbool(1) if $$r =~ /\Gtrue/gc;
	return jbool(0) if $$r =~ /\Gfalse/gc;
	return jnull() if $$r =~ /\Gnull/gc;
	_fail($r, 'a value');
}

my %UNESCAPE = ('"' => '"', '\\' => '\\', '/' => '/', b => "\b", f => "\f",
	n => "\n", r => "\r", t => "\t");

# the rest of a string whose opening quote was read
sub _string
{
	my ($r) = @_;
	my $out = '';
	while (1)
	{
		if ($$r =~ /\G([^"\\]+)/gc)
		{
			$out .= $1;
		}
		elsif ($$r =~ /\G"/gc)
		{
			return $out;
		}
		elsif ($$r =~ /\G\\u([0-9a-fA-F]{4})/gc)
		{
			my $c = hex($1);
			if (   $c >= 0xD800
				&& $c <= 0xDBFF
				&& $$r =~ /\G\\u([dD][c-fC-F][0-9a-fA-F]{2})/gc)
			{
				$c = 0x10000 + (($c - 0xD800) << 10) + (hex($1) - 0xDC00);
			}
			$out .= chr($c);
		}
		elsif ($$r =~ /\G\\(["\\\/bfnrt])/gc)
		{
			$out .= $UNESCAPE{$1};
		}
		else
		{
			_fail($r, 'a string character');
		}
	}
}

# to_json(VALUE) -- JSON text (characters) of a value.
sub to_json
{
	my ($n) = @_;
	my $t = $n->{t};
	return _quote($n->{v}) if $t eq 's';
	return $n->{v} if $t eq 'n' || $t eq 'r';
	return $n->{v} ? 'true' : 'false' if $t eq 'b';
	return 'null' if $t eq 'z';
	return '[' . join(', ', map { to_json($_) } @{ $n->{v} }) . ']' if $t eq 'a';
	return '{'
	  . join(', ', map { _quote($_->[0]) . ': ' . to_json($_->[1]) } @{ $n->{v} })
	  . '}';
}

sub _quote
{
	my ($s) = @_;
	$s =~ s/(["\\])/\\$1/g;
	$s =~ s/([\x00-\x1f\x7f\x{d800}-\x{dfff}])/sprintf('\\u%04x', ord($1))/ge;
	return "\"$s\"";
}

# jclone(VALUE) -- a deep copy.
sub jclone
{
	my ($n) = @_;
	my $t = $n->{t};
	return { t => 'o', v => [ map { [ $_->[0], jclone($_->[1]) ] } @{ $n->{v} } ] }
	  if $t eq 'o';
	return { t => 'a', v => [ map { jclone($_) } @{ $n->{v} } ] } if $t eq 'a';
	return {%$n};
}

# jnodes(VALUE) -- every value inside VALUE (itself first) as [value, depth].
sub jnodes
{
	my ($n, $depth, $acc) = @_;
	$depth //= 0;
	$acc //= [];
	push @$acc, [ $n, $depth ];
	if ($n->{t} eq 'o')
	{
		jnodes($_->[1], $depth + 1, $acc) for @{ $n->{v} };
	}
	elsif ($n->{t} eq 'a')
	{
		jnodes($_, $depth + 1, $acc) for @{ $n->{v} };
	}
	return $acc;
}

# jmember(OBJECT, NAME) -- the value of the last member NAME (the one jsonb
# keeps), or undef.
sub jmember
{
	my ($o, $name) = @_;
	return undef unless $o && $o->{t} eq 'o';
	my $found;
	for my $m (@{ $o->{v} })
	{
		$found = $m->[1] if $m->[0] eq $name;
	}
	return $found;
}

# jset_member(OBJECT, NAME, VALUE) -- replace every member NAME by one, last.
sub jset_member
{
	my ($o, $name, $value) = @_;
	jdel_member($o, $name);
	push @{ $o->{v} }, [ $name, $value ];
	return;
}

# jdel_member(OBJECT, NAME) -- remove every member NAME.
sub jdel_member
{
	my ($o, $name) = @_;
	@{ $o->{v} } = grep { $_->[0] ne $name } @{ $o->{v} };
	return;
}

1;
