# SqlFuzzMutate.pm -- generators and structure-aware mutations of the SQL
# fuzzer's inputs: plain partkv items, DynamoDB typed JSON, expressions with
# their attr_values / attr_names, and batch/transact request bodies.
#
# Every choice goes through Perl's rand(), seeded once by the driver, so a
# run is reproducible from its seed.  The mutations aim at the edges that
# DynamoDB's rules define (SPEC-dynamodb.md §1 and §4): types, nesting
# around the 32-level limit, number precision and range, base64, sets,
# name and key sizes, the 400 KB item size, reserved words and expression
# limits.
package SqlFuzzMutate;

use strict;
use warnings;
no warnings 'recursion';

use Exporter 'import';
use SqlFuzzJson;

our @EXPORT = qw(pick chance gen_plain gen_typed gen_expr mutate_value mutate_typed
  mutate_expr mutate_request @NUMBERS @NUMBER_TEXTS @STRINGS @BASE64);

# pick(LIST) -- one element at random; chance(P) -- true with probability P.
sub pick { return $_[ int(rand(scalar @_)) ]; }
sub chance { return rand() < $_[0]; }

# Numbers as JSON number text: precision (38 digits), range (1E-130 ..
# < 1E126), non-canonical forms, and values numeric's input rejects.
our @NUMBERS = qw(0 -0 1 -1 7 0.5 2.50 100e-2 1e0 0e5 -0.0 3.14159
  1E+125 -1E+125 1E+126 -1E+126 9.9999999999999999999999999999999999999E+125
  1E-130 -1E-130 1e-131 1e-999999999 1e999999999 1e400 1e-400
  12345678901234567890123456789012345678 123456789012345678901234567890123456789
  99999999999999999999999999999999999999 0.12345678901234567890123456789012345678
  1.000000000000000000000000000000000000000001 100000000000000000000000000000000000000000
  0.0000000000000000000000000000000000000001 1e-16000 -1e-16000 1e16000 1e-16383 1e131071
  1.5e-130 1.00000000000000000000000000000000000000E+125);

# Number text in typed JSON ("N": "...") and in sets: the above and what is
# not a number at all.
our @NUMBER_TEXTS = (@NUMBERS, 'NaN', 'nan', 'Infinity', '-Infinity', 'inf', '1e', '+3',
	'.5', '5.', '0x10', '1_0', ' 1', '1 ', '', '-', '--1', '1e+', 'e5', "\x{661}", '1,5',
	'1e-2147483648', '1e2147483648', '0.' . ('0' x 200) . '1');

# Strings: empty, type tags, expression syntax, escapes, unicode, sizes.
our @STRINGS = ('', 'a', ' ', 'x', 'name', 'size', 'status', 'VALUE', 'Year', '$B', '$SS',
	'$NS', '$BS', 'S', 'N', 'B', 'NULL', 'BOOL', 'M', 'L', 'SS', 'NS', 'BS', '#n', ':v',
	'a.b', 'a[0]', '"', '\\', "\n", "\t", "\0", "a\0b", "\x{e9}", "\x{1F600}",
	"\x{202E}abc", "e\x{301}", "\x{d800}", "\x{fffe}", "\x{10ffff}", 'pk', 'sk', 'id', 'bk',
	'gpk', 'gsk', 'gb', 'n');

# Base64: valid (empty included), then what DynamoDB rejects.
our @BASE64 = ('', 'AA==', 'AAE=', 'AQID', '/w==', '+/+/', 'aGVsbG8=', 'AAAA' x 64,
	'A', 'AA', 'AAE', 'A===', '====', 'AA=A', '!!!!', 'AAE=AAE=', "AAE=\n", ' AAE=',
	'aGVsbG8', 'AA==AA==', '-_-_', 'AB==', 'AAB=', "\x{e9}AAA", 'AA=');

# a long string: sizes at DynamoDB's limits (key 2048/1024 bytes, names
# 255/65535 bytes, item 400 KB)
sub long_string
{
	my $n = pick(255, 256, 1024, 1025, 2048, 2049, 65535, 65536, 100000, 409600, 409601);
	return pick('x', "\x{e9}", "\x{1F600}") x ($n / 4) if chance(0.2);
	return 'x' x $n;
}

sub any_string
{
	return long_string() if chance(0.04);
	return pick(@STRINGS) if chance(0.7);
	return join('', map { chr(32 + int(rand(95))) } 1 .. int(rand(12)));
}

sub attr_name
{
	return pick('a', 'b', 'n', 's', 'l', 'm', 'x', 'str', 'num', 'ns', 'ss', 'bs', 'gpk', 'gsk',
		'gb', 'pk', 'sk', 'id', 'bk')
	  if chance(0.8);
	return any_string();
}

# gen_set(KIND) -- a plain-model set, often at an edge.
sub gen_set
{
	my $kind = shift // pick('$SS', '$NS', '$BS');
	my $n = pick(0, 1, 1, 2, 3, 5);
	my @m;
	for (1 .. $n)
	{
		push @m,
			$kind eq '$SS' ? jstr(any_string())
		  : $kind eq '$NS' ? jnum(pick(@NUMBERS))
		  :                  jstr(pick(@BASE64));
	}
	push @m, jclone($m[0]) if @m && chance(0.2);    # a duplicate
	push @m, gen_plain(3) if chance(0.1);           # a member of another type
	return jobj($kind => (chance(0.05) ? gen_plain(3) : jarr(@m)));
}

# gen_plain(DEPTH) -- a random value of partkv's plain model.
sub gen_plain
{
	my ($d) = @_;
	$d //= 0;
	my $k = int(rand($d >= 3 ? 8 : 11));
	return jstr(any_string()) if $k == 0;
	return jnum(pick(@NUMBERS)) if $k == 1;
	return jbool(rand(2) >= 1) if $k == 2;
	return jnull() if $k == 3;
	return jobj('$B' => jstr(pick(@BASE64))) if $k == 4;
	return gen_set() if $k == 5;
	return jstr(pick('p0', 's1', 'x')) if $k == 6;
	return jnum(int(rand(10))) if $k == 7;
	return jarr(map { gen_plain($d + 1) } 1 .. pick(0, 1, 2, 3)) if $k == 8;
	return jobj(map { (attr_name(), gen_plain($d + 1)) } 1 .. pick(0, 1, 2, 3));
}

# gen_typed(DEPTH) -- a random DynamoDB typed AttributeValue.
sub gen_typed
{
	my ($d) = @_;
	$d //= 0;
	my $k = int(rand($d >= 3 ? 8 : 10));
	my @n = (1 .. pick(0, 1, 2, 3));
	return jobj(S => jstr(any_string())) if $k == 0;
	return jobj(N => jstr(pick(@NUMBER_TEXTS))) if $k == 1;
	return jobj(B => jstr(pick(@BASE64))) if $k == 2;
	return jobj(BOOL => jbool(rand(2) >= 1)) if $k == 3;
	return jobj(NULL => jbool(1)) if $k == 4;
	return jobj(SS => jarr(map { jstr(any_string()) } @n)) if $k == 5;
	return jobj(NS => jarr(map { jstr(pick(@NUMBER_TEXTS)) } @n)) if $k == 6;
	return jobj(BS => jarr(map { jstr(pick(@BASE64)) } @n)) if $k == 7;
	return jobj(L => jarr(map { gen_typed($d + 1) } @n)) if $k == 8;
	return jobj(M => jobj(map { (attr_name(), gen_typed($d + 1)) } @n));
}

# wrong_type(VALUE) -- a value of another JSON type than VALUE's.
sub wrong_type
{
	my ($v) = @_;
	my @c = grep { $_ ne $v->{t} } qw(s n b z a o);
	my $t = pick(@c);
	return jstr($v->{t} eq 'n' ? $v->{v} : 'x') if $t eq 's';
	return jnum(pick(@NUMBERS)) if $t eq 'n';
	return jbool(1) if $t eq 'b';
	return jnull() if $t eq 'z';
	return jarr(jclone($v)) if $t eq 'a';
	return jobj();
}

# wrap(VALUE, LEVELS, TYPED) -- VALUE nested LEVELS deeper (list and map
# levels alternating), in typed JSON when TYPED.
sub wrap
{
	my ($v, $levels, $typed) = @_;
	for my $i (1 .. $levels)
	{
		if ($typed)
		{
			$v = $i % 2 ? jobj(L => jarr($v)) : jobj(M => jobj(d => $v));
		}
		else
		{
			$v = $i % 2 ? jarr($v) : jobj(d => $v);
		}
	}
	return $v;
}

sub depth_levels { return pick(1, 2, 5, 29, 30, 31, 32, 33, 34, 40, 64, 200); }

# replace(NODE, NEW) -- NODE becomes NEW in place (so its parent sees it).
sub replace
{
	my ($node, $new) = @_;
	%$node = %{ jclone($new) };
	return;
}

# the shared tree mutations; $typed says which model generates new values,
# $donors are other inputs to splice from
sub mutate_tree
{
	my ($root, $typed, $donors) = @_;
	my $nodes = jnodes($root);
	my ($node, $depth) = @{ pick(@$nodes) };
	my @objects = grep { $_->[0]{t} eq 'o' && @{ $_->[0]{v} } } @$nodes;
	my @arrays = grep { $_->[0]{t} eq 'a' } @$nodes;
	my $op = int(rand(18));

	if ($op == 0 || $op == 1)
	{
		replace($node, $typed ? gen_typed(int($depth / 2)) : gen_plain($depth));
		return 'replace';
	}
	if ($op == 2)
	{
		replace($node, wrong_type($node));
		return 'wrong-type';
	}
	if ($op == 3)
	{
		my $levels = depth_levels();
		my $copy = {%$node};
		%$node = %{ wrap($copy, $levels, $typed) };
		return "nest+$levels";
	}
	if ($op == 4)
	{
		replace($node,
			$typed ? jobj(N => jstr(pick(@NUMBER_TEXTS))) : jnum(pick(@NUMBERS)));
		return 'number';
	}
	if ($op == 5)
	{
		replace($node, jstr(any_string()));
		return 'string';
	}
	if ($op == 6)
	{
		replace($node,
			$typed ? jobj(B => jstr(pick(@BASE64))) : jobj('$B' => jstr(pick(@BASE64))));
		return 'binary';
	}
	if ($op == 7)
	{
		if ($typed)
		{
			my $tag = pick('SS', 'NS', 'BS');
			my @m = map {
				jstr($tag eq 'NS' ? pick(@NUMBER_TEXTS) : $tag eq 'BS' ? pick(@BASE64) : any_string())
			} 1 .. pick(0, 1, 2);
			push @m, jclone($m[0]) if @m && chance(0.3);
			replace($node, jobj($tag => jarr(@m)));
		}
		else
		{
			replace($node, gen_set());
		}
		return 'set';
	}
	if ($op == 8 && @objects)
	{
		my $o = pick(@objects)->[0];
		my $m = pick(@{ $o->{v} });
		push @{ $o->{v} },
		  [ $m->[0], $typed ? gen_typed(2) : gen_plain(2) ];    # duplicate name
		return 'duplicate-name';
	}
	if ($op == 9 && @objects)
	{
		my $o = pick(@objects)->[0];
		splice(@{ $o->{v} }, int(rand(scalar @{ $o->{v} })), 1);
		return 'delete-member';
	}
	if ($op == 10)
	{
		my @o = grep { $_->[0]{t} eq 'o' } @$nodes;
		return 'none' unless @o;
		my $o = pick(@o)->[0];
		push @{ $o->{v} }, [ attr_name(), $typed ? gen_typed(2) : gen_plain(2) ];
		return 'add-member';
	}
	if ($op == 11 && @objects)
	{
		my $o = pick(@objects)->[0];
		my $m = pick(@{ $o->{v} });
		$m->[0] =
		  chance(0.5)
		  ? pick('$B', '$SS', '$NS', '$BS', 'S', 'N', 'B', 'BOOL', 'NULL', 'M', 'L', 'SS', 'NS', 'BS', '$b', 's')
		  : any_string();
		return 'rename-member';
	}
	if ($op == 12 && @arrays)
	{
		my $a = pick(@arrays)->[0];
		my $n = pick(2, 10, 26, 101);
		my $e = @{ $a->{v} } ? $a->{v}[0] : ($typed ? gen_typed(3) : gen_plain(3));
		push @{ $a->{v} }, map { jclone($e) } 1 .. $n;
		return "repeat+$n";
	}
	if ($op == 13 && @arrays)
	{
		my $a = pick(@arrays)->[0];
		if (@{ $a->{v} })
		{
			splice(@{ $a->{v} }, int(rand(scalar @{ $a->{v} })), 1);
		}
		else
		{
			push @{ $a->{v} }, $typed ? gen_typed(2) : gen_plain(2);
		}
		return 'array-edit';
	}
	if ($op == 14 && $donors && @$donors)
	{
		my $donor = pick(@$donors);
		my $dn = jnodes($donor);
		replace($node, pick(@$dn)->[0]);
		return 'splice';
	}
	if ($op == 15)
	{
		my @s = grep { $_->[0]{t} eq 's' } @$nodes;
		return 'none' unless @s;
		my $s = pick(@s)->[0];
		my $pos = int(rand(length($s->{v}) + 1));
		substr($s->{v}, $pos, 0) = pick("\0", "\x{d800}", "\x{1F600}", '"', '\\', "\x{7f}", "\x{200b}");
		return 'string-insert';
	}
	if ($op == 16)
	{
		my @o = grep { $_->[0]{t} eq 'o' } @$nodes;
		return 'none' unless @o;
		my $o = pick(@o)->[0];
		push @{ $o->{v} }, [ long_string(), jnum(1) ];
		return 'long-name';
	}
	if ($typed && @objects)
	{
		# a typed value with a second type tag, or a tag of the wrong case
		my $o = pick(@objects)->[0];
		push @{ $o->{v} }, [ pick('S', 'N', 'NULL', 'M', 's', 'n'), jstr('1') ];
		return 'second-tag';
	}
	replace($node, jnull());
	return 'null';
}

# mutate_value(ITEM, DONORS) -- one structure-aware mutation of a plain
# value in place; returns the mutation's name.
sub mutate_value
{
	my ($root, $donors) = @_;
	if (chance(0.05))
	{
		# a big attribute, towards and past 400 KB
		return 'none' unless $root->{t} eq 'o';
		my $n = pick(1000, 100000, 300000, 409000, 409600, 500000);
		push @{ $root->{v} }, [ 'big', jstr('x' x $n) ];
		return "big+$n";
	}
	return mutate_tree($root, 0, $donors);
}

# mutate_typed(TYPED, DONORS) -- one mutation of DynamoDB typed JSON in
# place; returns the mutation's name.
sub mutate_typed
{
	my ($root, $donors) = @_;
	if (chance(0.15))
	{
		# a type tag changed, or given a value of the wrong JSON type
		my @tagged = grep { $_->[0]{t} eq 'o' && @{ $_->[0]{v} } == 1 } @{ jnodes($root) };
		if (@tagged)
		{
			my $m = pick(@tagged)->[0]{v}[0];
			if (chance(0.5))
			{
				$m->[0] = pick(qw(S N B BOOL NULL M L SS NS BS s Bool null), '');
				return 'retag';
			}
			$m->[1] = wrong_type($m->[1]);
			return 'tag-wrong-type';
		}
	}
	return mutate_tree($root, 1, $donors);
}

# Tokens an expression mutation inserts.
my @EXPR_TOKENS = ('=', '<>', '<', '<=', '>', '>=', 'AND', 'OR', 'NOT', 'BETWEEN', 'IN', '(',
	')', ',', '.', '[', ']', '[0]', '[-1]', '[4294967296]', '[99999999999999999999]', 'SET',
	'REMOVE', 'ADD', 'DELETE', 'attribute_exists', 'attribute_not_exists', 'attribute_type',
	'begins_with', 'contains', 'size', 'if_not_exists', 'list_append', '+', '-', ':v', ':w',
	':missing', '#n', '#missing', 'name', 'status', 'SIZE', 'Year', 'DATA', 'a', 'b.c', 'l[0]',
	'ns', 'ss', 'n', 'str', 'm.x', '#', ':', '$', '`', "'", '"', ';', '--', '/*', "\x{e9}",
	'ABORT', 'TTL', 'COMMENT', 'by', 'pk', 'sk');

sub tokens
{
	my ($e) = @_;
	return grep { length }
	  ($e =~ /(\s+|#\w+|:\w+|[A-Za-z_]\w*|\d+|<>|<=|>=|[=<>(),.\[\]]|.)/gs);
}

# mutate_expr(CASE, DONORS) -- one mutation of an expression case
# {kind, expression, attr_values, attr_names} in place; returns its name.
sub mutate_expr
{
	my ($c, $donors) = @_;
	my $op = int(rand(16));
	my $e = $c->{expression} // '';
	my @t = tokens($e);

	if ($op <= 3 && @t)
	{
		my $i = int(rand(scalar @t));
		my $what = pick('delete', 'duplicate', 'replace', 'insert', 'swap');
		if ($what eq 'delete') { splice(@t, $i, 1); }
		elsif ($what eq 'duplicate') { splice(@t, $i, 0, $t[$i], ' '); }
		elsif ($what eq 'replace') { $t[$i] = pick(@EXPR_TOKENS); }
		elsif ($what eq 'insert') { splice(@t, $i, 0, ' ', pick(@EXPR_TOKENS), ' '); }
		else
		{
			my $j = int(rand(scalar @t));
			@t[ $i, $j ] = @t[ $j, $i ];
		}
		$c->{expression} = join('', @t);
		return "token-$what";
	}
	if ($op == 4)
	{
		my $k = pick(1, 2, 10, 50, 200, 2000);
		$c->{expression} = ('(' x $k) . $e . (')' x $k);
		return "parens+$k";
	}
	if ($op == 5)
	{
		my $k = pick(1, 2, 3, 50, 300);
		$c->{expression} = ('NOT ' x $k) . $e;
		return "not+$k";
	}
	if ($op == 6 && $donors && @$donors)
	{
		my $d = pick(@$donors);
		my $sep = $c->{kind} eq 'update' ? ' ' : pick(' AND ', ' OR ', ', ');
		$c->{expression} = $e . $sep . ($d->{expression} // '');
		_merge_object($c, 'attr_values', $d->{attr_values});
		_merge_object($c, 'attr_names', $d->{attr_names});
		return 'join';
	}
	if ($op == 7)
	{
		# a path deeper, or a long name, in place of an identifier
		my @ids = grep { $t[$_] =~ /^[A-Za-z_]\w*$/ } 0 .. $#t;
		return 'none' unless @ids;
		my $i = pick(@ids);
		my $k = pick(1, 31, 32, 33, 100, 1000);
		$t[$i] =
			chance(0.3) ? 'x' x pick(255, 256, 65535, 65536)
		  : chance(0.5) ? join('.', ($t[$i]) x $k)
		  :               $t[$i] . ('[0]' x $k);
		$c->{expression} = join('', @t);
		return 'deep-path';
	}
	if ($op == 8)
	{
		my $n = pick(2, 99, 100, 101, 300);
		$c->{expression} =
			$c->{kind} eq 'update'
		  ? 'SET ' . join(', ', map { "a$_ = :v" } 1 .. $n)
		  : 'a IN (' . join(', ', (':v') x $n) . ')';
		return "many+$n";
	}
	if ($op == 9)
	{
		my $k = pick(2, 10, 100);
		$c->{expression} = ('size(' x $k) . 'a' . (')' x $k) . ' > :v';
		return "nested-functions+$k";
	}
	if ($op == 10 || $op == 11)
	{
		my $v = $c->{attr_values} //= jobj(':v' => jnum(1));
		my $r = mutate_value($v, [ map { $_->{attr_values} // () } @{ $donors // [] } ]);
		return "values-$r";
	}
	if ($op == 12)
	{
		my $names = $c->{attr_names} //= jobj();
		if ($names->{t} ne 'o' || chance(0.2))
		{
			$c->{attr_names} = wrong_type($names);
			return 'names-wrong-type';
		}
		push @{ $names->{v} },
		  [ pick('#n', '#x', '#unused', '#', 'n', ':v', '#' . ('n' x 300)), jstr(any_string()) ];
		return 'names-add';
	}
	if ($op == 13 && chance(0.3))
	{
		# a big value under an existing placeholder: updates that grow the
		# item towards and past 400 KB, conditions on big operands
		my $v = $c->{attr_values};
		return 'none' unless $v && $v->{t} eq 'o' && @{ $v->{v} };
		my $n = pick(1000, 100000, 200000, 409000, 500000);
		pick(@{ $v->{v} })->[1] =
		  chance(0.7) ? jstr('x' x $n) : jarr(map { jstr('x' x 1000) } 1 .. $n / 1000);
		return "big-value+$n";
	}
	if ($op == 13)
	{
		my $v = $c->{attr_values} //= jobj();
		if ($v->{t} eq 'o')
		{
			push @{ $v->{v} },
			  [ pick(':v', ':unused', ':', 'v', ':' . ('v' x 300), ":\x{e9}"), gen_plain(1) ];
		}
		return 'values-add';
	}
	if ($op == 14)
	{
		$c->{expression} = pick('', ' ', 'SET', 'SET a', 'REMOVE', 'a', '()', ':v', '#n', ',', 'a =',
			'SET a = :v SET b = :v', 'REMOVE a, a', 'SET a = :v REMOVE a', 'ADD a :v, a :v',
			'SET a.b = :v REMOVE a', 'SET l[0] = :v, l[0].x = :v', 'a BETWEEN :v', 'size(a)',
			'attribute_exists(a, b)', 'begins_with(a)', 'list_append(a, :v)');
		return 'fixed';
	}
	$c->{attr_values} = undef if chance(0.5);
	$c->{attr_names} = undef if chance(0.5);
	return 'drop-maps';
}

# Paths that exist in the corpus items (and some that do not), for
# generated expressions: they reach the evaluator's type rules on stored
# items instead of stopping at the parser.
my @PATHS = qw(str num neg t f nul m m.x m.x[0] m.x[1] m.x[1].y m.x[1].l[0] m.k m.k.deep
  l l[0] l[1] l[3].four l[4] l[10] ll ll[1][1][0] lm[1].b[0].c lm[0].a ss ns bs b e counter
  n gsk gpk s big deep deep[0].d a03[0] a14[1][1][0] a15.fifteen.x missing missing.x missing[0]);

# gen_expr(KIND, KEYS) -- a syntactically valid expression case of KIND
# (condition, filter, update, projection, keycondition) with the
# attr_values and attr_names it uses; KEYS are the key attribute names and
# types of a table, for key conditions.
sub gen_expr
{
	my ($kind, $keys) = @_;
	my (@vals, @names);
	my $val = sub {
		my ($v) = @_;
		my $k = ':v' . scalar(@vals);
		push @vals, [ $k, $v // gen_plain(1) ];
		return $k;
	};
	my $path = sub {
		my $p = pick(@PATHS);
		return $p unless chance(0.15);
		my ($first, $rest) = $p =~ /^([^.\[]+)(.*)$/;
		my $n = '#n' . scalar(@names);
		push @names, [ $n, jstr($first) ];
		return $n . $rest;
	};
	my $num = sub { $val->(chance(0.8) ? jnum(pick(0, 1, 2, -1, 0.5, pick(@NUMBERS))) : undef) };
	my $operand = sub {
		return $path->() if chance(0.45);
		return 'size(' . $path->() . ')' if chance(0.15);
		return $val->();
	};
	my $cond;
	$cond = sub {
		my ($d) = @_;
		my $k = int(rand($d > 2 ? 6 : 10));
		return $operand->() . ' ' . pick('=', '<>', '<', '<=', '>', '>=') . ' ' . $operand->() if $k == 0;
		return $operand->() . ' BETWEEN ' . $operand->() . ' AND ' . $operand->() if $k == 1;
		return $operand->() . ' IN (' . join(', ', map { $operand->() } 1 .. pick(1, 2, 3)) . ')' if $k == 2;
		return pick('attribute_exists', 'attribute_not_exists') . '(' . $path->() . ')' if $k == 3;
		return 'attribute_type(' . $path->() . ', '
		  . $val->(jstr(pick(qw(S N B BOOL NULL M L SS NS BS x)))) . ')'
		  if $k == 4;
		return pick('begins_with', 'contains') . '(' . $path->() . ', ' . $operand->() . ')' if $k == 5;
		return $cond->($d + 1) . ' AND ' . $cond->($d + 1) if $k == 6;
		return $cond->($d + 1) . ' OR ' . $cond->($d + 1) if $k == 7;
		return 'NOT ' . $cond->($d + 1) if $k == 8;
		return '(' . $cond->($d + 1) . ')';
	};
	my $expr;
	if ($kind eq 'condition' || $kind eq 'filter')
	{
		$expr = $cond->(0);
	}
	elsif ($kind eq 'update')
	{
		my @clauses;
		for my $c (grep { chance(0.5) } qw(SET REMOVE ADD DELETE))
		{
			my @a;
			for (1 .. pick(1, 1, 2, 3))
			{
				if ($c eq 'SET')
				{
					my $k = int(rand(6));
					my $rhs =
						$k == 0 ? $operand->()
					  : $k == 1 ? $operand->() . ' + ' . $num->()
					  : $k == 2 ? $path->() . ' - ' . $operand->()
					  : $k == 3 ? 'list_append(' . $operand->() . ', ' . $operand->() . ')'
					  : $k == 4 ? 'if_not_exists(' . $path->() . ', ' . $operand->() . ')'
					  :           $val->();
					push @a, $path->() . " = $rhs";
				}
				elsif ($c eq 'REMOVE')
				{
					push @a, $path->();
				}
				elsif ($c eq 'ADD')
				{
					push @a, $path->() . ' ' . (chance(0.5) ? $num->() : $val->(gen_set(pick('$SS', '$NS', '$BS'))));
				}
				else
				{
					push @a, $path->() . ' ' . $val->(chance(0.8) ? gen_set() : undef);
				}
			}
			push @clauses, "$c " . join(', ', @a);
		}
		@clauses = ('SET ' . $path->() . ' = ' . $val->()) unless @clauses;
		$expr = join(' ', chance(0.8) ? @clauses : reverse @clauses);
	}
	elsif ($kind eq 'projection')
	{
		$expr = join(', ', map { $path->() } 1 .. pick(1, 2, 3, 5));
	}
	else
	{
		my ($pk, $sk) = @{ $keys // [] };
		$expr = ($pk ? $pk->[0] : 'pk') . ' = ' . $val->(_key_like($pk));
		if ($sk && chance(0.7))
		{
			my $k = int(rand(3));
			$expr .= ' AND '
			  . (
				  $k == 0 ? "$sk->[0] " . pick('=', '<', '<=', '>', '>=') . ' ' . $val->(_key_like($sk))
				: $k == 1 ? "$sk->[0] BETWEEN " . $val->(_key_like($sk)) . ' AND ' . $val->(_key_like($sk))
				:           "begins_with($sk->[0], " . $val->(_key_like($sk)) . ')');
		}
	}
	return {
		kind => $kind,
		expression => $expr,
		attr_values => @vals ? { t => 'o', v => \@vals } : undef,
		attr_names => @names ? { t => 'o', v => \@names } : undef,
	};
}

# a value for a key attribute [name, type] (usually of its type)
sub _key_like
{
	my ($k) = @_;
	my $type = $k ? $k->[1] : 'S';
	return gen_plain(1) if chance(0.1);
	return jstr(pick('p0', 'p1', 'p2', 's', 'p', '')) if $type eq 'S';
	return jnum(pick(0, 1, 2, 3, -1, 0.5)) if $type eq 'N';
	return jobj('$B' => jstr(pick('AA==', 'AAE=', 'AQID', 'AQ==')));
}

sub _merge_object
{
	my ($c, $field, $from) = @_;
	return unless $from && $from->{t} eq 'o';
	$c->{$field} //= jobj();
	return unless $c->{$field}{t} eq 'o';
	push @{ $c->{$field}{v} }, map { [ $_->[0], jclone($_->[1]) ] } @{ $from->{v} };
	return;
}

# mutate_request(REQUEST, DONORS, EXPRS, TABLES) -- one mutation of a
# batch/transact request body in place; EXPRS are expression cases to put
# into *Expression members, TABLES the names of existing tables.
sub mutate_request
{
	my ($root, $donors, $exprs, $tables) = @_;
	my $nodes = jnodes($root);
	my $op = int(rand(8));
	if ($op == 0)
	{
		# a table name: another table, a missing or invalid one
		my @names = grep {
			my $n = $_->[0];
			($n->{t} eq 's' && grep { $_ eq $n->{v} } @$tables)
		} @$nodes;
		my $new = pick(@$tables, 'nosuch', 'ab', 'x' x 256, '', 'partkv.tables', 'pg_class',
			'public.fz_s', '"fz_s"', 'FZ_S', "fz_s\0");
		if (@names)
		{
			pick(@names)->[0]{v} = $new;
			return 'table-name';
		}
		# RequestItems maps: rename a table member
		my @maps = grep { $_->[0]{t} eq 'o' && grep { my $k = $_->[0]; grep { $_ eq $k } @$tables } @{ $_->[0]{v} } } @$nodes;
		return 'none' unless @maps;
		my $m = pick(@maps)->[0];
		pick(@{ $m->{v} })->[0] = $new;
		return 'table-member';
	}
	if ($op == 1 && $exprs && @$exprs)
	{
		# an expression member takes another expression and its maps
		my @holders = grep {
			$_->[0]{t} eq 'o' && grep { $_->[0] =~ /Expression$/ } @{ $_->[0]{v} }
		} @$nodes;
		return 'none' unless @holders;
		my $h = pick(@holders)->[0];
		my $x = pick(@$exprs);
		for my $m (@{ $h->{v} })
		{
			$m->[1] = jstr($x->{expression} // '') if $m->[0] =~ /Expression$/ && chance(0.7);
		}
		jset_member($h, 'ExpressionAttributeValues', jclone($x->{attr_values}))
		  if $x->{attr_values};
		jset_member($h, 'ExpressionAttributeNames', jclone($x->{attr_names}))
		  if $x->{attr_names};
		return 'expression';
	}
	if ($op == 2)
	{
		# every member in turn can get a value of the wrong JSON type
		my @members = map { @{ $_->[0]{v} } } grep { $_->[0]{t} eq 'o' } @$nodes;
		return 'none' unless @members;
		my $m = pick(@members);
		$m->[1] = wrong_type($m->[1]);
		return "wrong-type:$m->[0]";
	}
	if ($op == 3)
	{
		my @holders = grep { $_->[0]{t} eq 'o' && @{ $_->[0]{v} } } @$nodes;
		return 'none' unless @holders;
		my $h = pick(@holders)->[0];
		my $m = pick(@{ $h->{v} });
		if (chance(0.5))
		{
			$m->[1] = jstr(pick('NONE', 'ALL_OLD', 'ALL_NEW', 'UPDATED_OLD', 'UPDATED_NEW', 'TOTAL',
					'INDEXES', 'bogus', ''))
			  if $m->[0] =~ /^Return/;
			push @{ $h->{v} },
			  [ pick('ReturnValues', 'ReturnValuesOnConditionCheckFailure', 'ConsistentRead',
					'ProjectionExpression', 'ClientRequestToken', 'ReturnConsumedCapacity',
					'ReturnItemCollectionMetrics', 'AttributesToGet', 'Expected', 'Bogus'),
				jstr(pick('ALL_OLD', 'TOTAL', 'x', 'tok-' . int(rand(4)))) ];
			return 'member-add';
		}
		return 'none';
	}
	return mutate_tree($root, 0, $donors);
}

1;
