# SqlFuzz.pm -- the SQL-level fuzzer of partkv: a bounded, randomized driver
# that runs mutated inputs through the partkv functions and plain SQL of a
# running server, for the code that needs the server to run (the item model
# of src/storage/item.c, the typed-JSON converters, the evaluator of
# src/eval/eval.c and the request-body parsers of src/api/batch.c).  The
# expression front end alone is fuzzed by libFuzzer (fuzz_expr.c).
#
# Inputs come from a kept corpus (test/fuzz/sql-corpus/<target>/*.json),
# replayed as they are first, then mutated (SqlFuzzMutate.pm).  Oracles:
#  - the server never crashes or hangs;
#  - every error carries one of the SQLSTATEs partkv documents (DESIGN §2.1,
#    src/common/errors.h; the allowlists below), never XX000 or class 58;
#  - a failed write changes nothing;
#  - an item a write accepted reads back as written (numbers compared as
#    numbers), converts to typed JSON and back unchanged, and has the size
#    item_size gives the input; typed JSON that from_dynamodb_json accepts
#    converts back to itself; every stored item stays valid;
#  - an item of exactly 400 KB is accepted and one byte more is not;
#  - at the end, the GSIs verify clean and every stream record's SizeBytes
#    is the item_size of its Keys and images.
# See test/fuzz/README.md for how to run it and read its findings.
package SqlFuzz;

use strict;
use warnings;
no warnings 'recursion';

use Digest::MD5 qw(md5_hex);
use Encode qw(encode_utf8 decode_utf8);
use File::Path qw(make_path);
use File::Spec;
use Time::HiRes qw(time);

use SqlFuzzJson;
use SqlFuzzMutate;
use SqlFuzzSession;

# SQLSTATEs a partkv function may raise: ValidationException (22023, 42601,
# 54000), ResourceNotFoundException (42P01, 42704), ResourceInUseException
# (42P07), partkv's class KV (KV001-KV006), TransactionConflictException
# (40001), and the PostgreSQL errors partkv raises on purpose: a GSI or
# stream not ready (55000), permission (42501).
my %API_OK = map { $_ => 1 }
  qw(22023 42601 54000 42P01 42704 42P07 KV001 KV002 KV003 KV004 KV005 KV006 40001 55000 42501);

# Plain SQL on a kv table may also meet the table's constraints and the
# key columns' input functions.
my %SQL_OK = (%API_OK, map { $_ => 1 } qw(23505 23502 23514 22P02 22021));

# Errors PostgreSQL raises while it parses an input literal, before partkv
# runs: JSON syntax, \u0000 and other escapes, numbers numeric cannot hold,
# invalid UTF-8, sizes.
my %LITERAL_OK = map { $_ => 1 } qw(22P02 22P05 22003 22021 54000 54001);

# The fuzzed tables: key schema, and the attributes their indexes are keyed
# on (fz_s: LSI by_n on n, GSI by_g on gpk/gsk; fz_n: GSI by_b on gb).
my %TABLES = (
	fz_s => { keys => [ [ 'pk', 'S' ], [ 'sk', 'S' ] ], index_attrs => [ [ 'n', 'N' ], [ 'gpk', 'S' ], [ 'gsk', 'N' ] ] },
	fz_n => { keys => [ [ 'id', 'N' ] ], index_attrs => [ [ 'gb', 'B' ] ] },
	fz_b => { keys => [ [ 'bk', 'B' ], [ 'n', 'N' ] ], index_attrs => [] },
);
my @TABLE_NAMES = sort keys %TABLES;
my @TARGETS = qw(items typed expr requests);

# What the fuzzer creates before it starts (also written beside findings,
# so that each one can be replayed on a fresh database).
our $SETUP_SQL = <<'SQL';
CREATE EXTENSION IF NOT EXISTS partkv;
SELECT partkv.create_table('fz_s', 'pk', 'S', sort_key => 'sk', sort_key_type => 'S', partitions => 4,
  local_indexes => '[{"IndexName": "by_n", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE", "AttributeType": "N"}], "Projection": {"ProjectionType": "ALL"}}]',
  global_indexes => '[{"IndexName": "by_g", "KeySchema": [{"AttributeName": "gpk", "KeyType": "HASH", "AttributeType": "S"}, {"AttributeName": "gsk", "KeyType": "RANGE", "AttributeType": "N"}], "Projection": {"ProjectionType": "ALL"}}]',
  stream_view_type => 'NEW_AND_OLD_IMAGES') IS NOT NULL;
SELECT partkv.create_table('fz_n', 'id', 'N', partitions => 2,
  global_indexes => '[{"IndexName": "by_b", "KeySchema": [{"AttributeName": "gb", "KeyType": "HASH", "AttributeType": "B"}], "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["n", "s"]}}]',
  stream_view_type => 'KEYS_ONLY') IS NOT NULL;
SELECT partkv.create_table('fz_b', 'bk', 'B', sort_key => 'n', sort_key_type => 'N', partitions => 2) IS NOT NULL;
-- a role that may only read the fuzzed tables
DROP ROLE IF EXISTS fz_reader;
CREATE ROLE fz_reader;
GRANT SELECT ON fz_s, fz_n, fz_b TO fz_reader;
-- and one that may only write them
DROP ROLE IF EXISTS fz_writer;
CREATE ROLE fz_writer;
GRANT INSERT, UPDATE, DELETE ON fz_s, fz_n, fz_b TO fz_writer;
-- fz_teq(a, b): typed JSON a and b are equal, numbers compared as numbers
CREATE FUNCTION fz_teq(a jsonb, b jsonb) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
	k text;
	i int;
BEGIN
	IF jsonb_typeof(a) IS DISTINCT FROM jsonb_typeof(b) THEN
		RETURN false;
	ELSIF jsonb_typeof(a) = 'object' THEN
		IF ARRAY(SELECT jsonb_object_keys(a) ORDER BY 1) <> ARRAY(SELECT jsonb_object_keys(b) ORDER BY 1) THEN
			RETURN false;
		END IF;
		FOR k IN SELECT jsonb_object_keys(a) LOOP
			IF k = 'N' AND jsonb_typeof(a->k) = 'string' THEN
				IF jsonb_typeof(b->k) <> 'string' OR (a->>k)::numeric <> (b->>k)::numeric THEN
					RETURN false;
				END IF;
			ELSIF k = 'NS' AND jsonb_typeof(a->k) = 'array' THEN
				IF jsonb_typeof(b->k) <> 'array' OR jsonb_array_length(a->k) <> jsonb_array_length(b->k) THEN
					RETURN false;
				END IF;
				FOR i IN 0 .. jsonb_array_length(a->k) - 1 LOOP
					IF (a->k->>i)::numeric <> (b->k->>i)::numeric THEN
						RETURN false;
					END IF;
				END LOOP;
			ELSIF NOT fz_teq(a->k, b->k) THEN
				RETURN false;
			END IF;
		END LOOP;
		RETURN true;
	ELSIF jsonb_typeof(a) = 'array' THEN
		IF jsonb_array_length(a) <> jsonb_array_length(b) THEN
			RETURN false;
		END IF;
		FOR i IN 0 .. jsonb_array_length(a) - 1 LOOP
			IF NOT fz_teq(a->i, b->i) THEN
				RETURN false;
			END IF;
		END LOOP;
		RETURN true;
	END IF;
	RETURN a = b;
END;
$$;
-- fz_invalid_items(): stored items that are not valid items, or whose key
-- columns do not match them
CREATE FUNCTION fz_invalid_items() RETURNS TABLE (tbl text, item text, err text) LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT 'fz_s' AS t, x.item AS i, x.pk IS NOT DISTINCT FROM x.item->>'pk' AND x.sk IS NOT DISTINCT FROM x.item->>'sk' AS keys_ok FROM fz_s x
			 UNION ALL SELECT 'fz_n', x.item, x.id IS NOT DISTINCT FROM partkv.key_numeric(x.item, 'id') FROM fz_n x
			 UNION ALL SELECT 'fz_b', x.item, x.bk IS NOT DISTINCT FROM partkv.key_bytea(x.item, 'bk') AND x.n IS NOT DISTINCT FROM partkv.key_numeric(x.item, 'n') FROM fz_b x
	LOOP
		BEGIN
			IF NOT r.keys_ok THEN
				tbl := r.t; item := left(r.i::text, 300); err := 'key columns differ from the item';
				RETURN NEXT;
			ELSIF partkv.from_dynamodb_json(partkv.to_dynamodb_json(r.i)) <> r.i THEN
				tbl := r.t; item := left(r.i::text, 300); err := 'typed JSON round trip differs';
				RETURN NEXT;
			ELSIF partkv.item_size(r.i) > 409600 THEN
				tbl := r.t; item := left(r.i::text, 300); err := 'item larger than 400 KB';
				RETURN NEXT;
			END IF;
		EXCEPTION WHEN OTHERS THEN
			tbl := r.t; item := left(r.i::text, 300); err := SQLSTATE || ': ' || SQLERRM;
			RETURN NEXT;
		END;
	END LOOP;
END;
$$;
SQL

# new(%ARGS) -- a fuzzer for a started node.  ARGS: node, seed, seconds,
# corpus (the kept corpus directory), findings_dir (where findings go),
# corpus_out (optional: where new interesting inputs go), db, log (a sub
# taking a progress message).
sub new
{
	my ($class, %a) = @_;
	my $self = bless {
		%a,
		db => $a{db} // 'postgres',
		stats => { map { $_ => { execs => 0, ok => 0, literal => 0, errors => {}, outcomes => 0, new => 0 } } @TARGETS },
		seen => {},
		findings => [],
		finding_sigs => {},
		nfindings => 0,
		recent => [],
		iter => 0,
		pool => {},
		seeds => {},
		added => 0,
	}, $class;
	srand($self->{seed});
	$self->_load_corpus;
	return $self;
}

# note(MESSAGE) -- progress, for the TAP log.
sub note
{
	my ($self, $msg) = @_;
	$self->{log}->($msg) if $self->{log};
	return;
}

# ----------------------------------------------------------------------
# corpus

sub _read_file
{
	my ($path) = @_;
	open(my $fh, '<:raw', $path) or die "cannot read $path: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	return decode_utf8($text);
}

# an expression case {kind, expression, attr_values, attr_names, table,
# index} from its JSON object
sub _expr_case
{
	my ($o) = @_;
	my $s = sub { my $v = jmember($o, $_[0]); $v && $v->{t} eq 's' ? $v->{v} : undef };
	return {
		kind => $s->('kind') // 'condition',
		expression => $s->('expression'),
		attr_values => jmember($o, 'attr_values'),
		attr_names => jmember($o, 'attr_names'),
		table => $s->('table'),
		index => $s->('index'),
	};
}

sub _expr_json
{
	my ($c) = @_;
	return jobj(
		kind => jstr($c->{kind}),
		expression => defined $c->{expression} ? jstr($c->{expression}) : jnull(),
		($c->{attr_values} ? (attr_values => $c->{attr_values}) : ()),
		($c->{attr_names} ? (attr_names => $c->{attr_names}) : ()),
		($c->{table} ? (table => jstr($c->{table})) : ()),
		($c->{index} ? (index => jstr($c->{index})) : ()));
}

sub _load_corpus
{
	my ($self) = @_;
	for my $t (@TARGETS)
	{
		my $dir = File::Spec->catdir($self->{corpus}, $t);
		opendir(my $dh, $dir) or die "cannot open corpus directory $dir: $!";
		my @files = sort grep { /\.json$/ } readdir $dh;
		closedir $dh;
		for my $f (@files)
		{
			my $v = eval { parse_json(_read_file("$dir/$f")) };
			die "corpus file $dir/$f: $@" unless $v;
			my $data = $v;
			$data = _expr_case($v) if $t eq 'expr';
			if ($t eq 'requests')
			{
				my $fn = jmember($v, 'function');
				$data = { function => $fn ? $fn->{v} : 'batch_get_item', request => jmember($v, 'request') // jobj() };
			}
			push @{ $self->{pool}{$t} }, { name => "$t/$f", data => $data };
		}
		$self->{seeds}{$t} = scalar @{ $self->{pool}{$t} // [] };
		die "empty corpus directory $dir" unless $self->{seeds}{$t};
	}
	return;
}

# the entries of a target's pool, for splicing
sub _donors
{
	my ($self, $t) = @_;
	my @d = map { $_->{data} } @{ $self->{pool}{$t} };
	return [ map { $t eq 'requests' ? $_->{request} : $_ } @d ] unless $t eq 'expr';
	return \@d;
}

sub _clone_data
{
	my ($t, $d) = @_;
	return { %$d, attr_values => $d->{attr_values} ? jclone($d->{attr_values}) : undef,
		attr_names => $d->{attr_names} ? jclone($d->{attr_names}) : undef }
	  if $t eq 'expr';
	return { function => $d->{function}, request => jclone($d->{request}) } if $t eq 'requests';
	return jclone($d);
}

sub _data_json
{
	my ($t, $d) = @_;
	return to_json(_expr_json($d)) if $t eq 'expr';
	return to_json(jobj(function => jstr($d->{function}), request => $d->{request}))
	  if $t eq 'requests';
	return to_json($d);
}

# ----------------------------------------------------------------------
# SQL text

# lit(TEXT) -- TEXT as a dollar-quoted SQL literal (NUL, which SQL text
# cannot hold, is dropped).
sub lit
{
	my ($s) = @_;
	return 'NULL' unless defined $s;
	$s =~ s/\0//g;
	my $tag = 'q';
	$tag .= 'x' while index($s . "\$$tag\$", "\$$tag\$") < length($s);
	return "\$$tag\$$s\$$tag\$";
}

# jl(VALUE) -- a JSON value as a jsonb literal; NULL for undef.
sub jl
{
	my ($v) = @_;
	return 'NULL' unless defined $v;
	return lit(to_json($v)) . '::jsonb';
}

# key_value(TYPE) -- a key attribute value: mostly from a small pool (so
# that writes meet existing items), sometimes at an edge.
sub key_value
{
	my ($type) = @_;
	if ($type eq 'S')
	{
		return jstr('p' . int(rand(6))) if chance(0.92);
		return jstr(pick('', "\x{e9}t\x{e9}", "\x{1F600}", 'a b', 'x' x 1024, 'x' x 1025,
				'x' x 2048, 'x' x 2049, "\x{e9}" x 1024, "\x{e9}" x 1025));
	}
	if ($type eq 'N')
	{
		return jnum(int(rand(8))) if chance(0.92);
		return jnum(pick('1.0', '-0', '1e2', '0.5', '-1', '12345678901234567890123456789012345678',
				'1E+125', '1E-130', '2.50'));
	}
	return jobj('$B' => jstr(pick('AA==', 'AAE=', 'AQID', '/w=='))) if chance(0.92);
	return jobj('$B' => jstr(pick('', 'A' x 2732, 'A' x 1368, 'A' x 1364, 'AAE')));
}

# fix_keys(ITEM, TABLE) -- give ITEM the table's key attributes, mostly.
sub fix_keys
{
	my ($item, $table) = @_;
	return unless $item->{t} eq 'o';
	for my $k (@{ $TABLES{$table}{keys} })
	{
		jset_member($item, $k->[0], key_value($k->[1])) if chance(0.93);
	}
	# index keys, so that the LSI and GSIs get entries (of the wrong type,
	# now and then)
	for my $ix (@{ $TABLES{$table}{index_attrs} })
	{
		next unless chance(0.35);
		my $v = chance(0.95) ? key_value($ix->[1]) : key_value(pick('S', 'N', 'B'));
		$v = jstr('g' . int(rand(4))) if $ix->[1] eq 'S' && $v->{t} eq 's' && chance(0.8);
		jset_member($item, $ix->[0], $v);
	}
	return;
}

# random_key(TABLE) -- a key object.
sub random_key
{
	my ($table) = @_;
	return jobj(map { ($_->[0], key_value($_->[1])) } @{ $TABLES{$table}{keys} });
}

# key_of(ITEM, TABLE) -- the key object of an item (undef when a key
# attribute is missing).
sub key_of
{
	my ($item, $table) = @_;
	return undef unless $item->{t} eq 'o';
	my @m;
	for my $k (@{ $TABLES{$table}{keys} })
	{
		my $v = jmember($item, $k->[0]);
		return undef unless $v;
		push @m, $k->[0], jclone($v);
	}
	return jobj(@m);
}

# key_columns(KEY, TABLE) -- [column, SQL expression, COPY text] of each
# key attribute, or undef when a value cannot be a key column value.
sub key_columns
{
	my ($key, $table) = @_;
	return undef unless $key;
	my @cols;
	for my $k (@{ $TABLES{$table}{keys} })
	{
		my ($name, $type) = @$k;
		my $v = jmember($key, $name);
		return undef unless $v;
		if ($type eq 'S' && $v->{t} eq 's')
		{
			return undef if $v->{v} =~ /[\0\x{d800}-\x{dfff}]/;
			push @cols, [ $name, lit($v->{v}), _copy_escape($v->{v}) ];
		}
		elsif ($type eq 'N' && $v->{t} eq 'n')
		{
			push @cols, [ $name, lit($v->{v}) . '::numeric', $v->{v} ];
		}
		elsif ($type eq 'B' && $v->{t} eq 'o' && (my $b = jmember($v, '$B')))
		{
			return undef unless $b->{t} eq 's' && $b->{v} =~ /^[A-Za-z0-9+\/=]*$/;
			push @cols, [ $name, 'decode(' . lit($b->{v}) . q{, 'base64')},
				'\\\\x' . unpack('H*', _b64($b->{v})) ];
		}
		else
		{
			return undef;
		}
	}
	return \@cols;
}

sub _b64
{
	my ($s) = @_;
	require MIME::Base64;
	return MIME::Base64::decode_base64($s);
}

# text as a field of COPY's text format
sub _copy_escape
{
	my ($s) = @_;
	$s =~ s/\\/\\\\/g;
	$s =~ s/\t/\\t/g;
	$s =~ s/\n/\\n/g;
	$s =~ s/\r/\\r/g;
	return $s;
}

# an expression case of KIND from the pool (mutated once, sometimes)
sub _expr_of_kind
{
	my ($self, @kinds) = @_;
	my @c = grep {
		my $k = $_->{data}{kind};
		grep { $_ eq $k } @kinds
	} @{ $self->{pool}{expr} };
	my $c = _clone_data('expr', pick(@c)->{data});
	mutate_expr($c, $self->_donors('expr')) if chance(0.3);
	return $c;
}

# the SQL arguments of an expression case, after the expression itself
sub _expr_args
{
	my ($c, $param) = @_;
	return join('',
		", $param => " . lit($c->{expression}),
		($c->{attr_values} ? ', attr_values => ' . jl($c->{attr_values}) : ''),
		($c->{attr_names} ? ', attr_names => ' . jl($c->{attr_names}) : ''));
}

# add NAME => VALUE to an expression case's map FIELD when it is one
sub _add_to_map
{
	my ($c, $field, $name, $value) = @_;
	$c->{$field} //= jobj();
	return 0 unless $c->{$field}{t} eq 'o';
	push @{ $c->{$field}{v} }, [ $name, $value ];
	return 1;
}

# the optional return_* arguments of a write, sometimes
sub _return_values
{
	my $s = '';
	$s .= ", return_values => '" . pick('NONE', 'ALL_OLD', 'ALL_NEW', 'UPDATED_OLD', 'UPDATED_NEW', 'bogus') . "'"
	  if chance(0.5);
	$s .= ", return_values_on_condition_check_failure => '" . pick('NONE', 'ALL_OLD', 'ALL_NEW') . "'"
	  if chance(0.2);
	$s .= ", return_consumed_capacity => '" . pick('NONE', 'TOTAL', 'INDEXES', 'bogus') . "'"
	  if chance(0.2);
	return $s;
}

# ----------------------------------------------------------------------
# cases: one call and what must hold after it
#
# A case is a hash: target, call (names for statistics and findings), sql,
# input (the data, for the pool and corpus), write (a failed call must
# change nothing), plain (plain SQL: its allowlist), after ({sql, expect,
# what}: run when the call succeeded, and when_out is unset or equals its
# output), and the expectations of special calls: boundary (bytes over
# 400 KB), over_4mb, must_fail, reader_write, writer_read.

# the check after a write that stored X (an SQL expression) under KEY
sub _stored_check
{
	my ($self, $table, $key, $x) = @_;
	return undef unless $key;
	my $sql =
	    "SELECT coalesce((g = $x)::text, 'absent') || '|' || "
	  . "coalesce((partkv.from_dynamodb_json(partkv.to_dynamodb_json(g)) = g)::text, '?') || '|' || "
	  . "coalesce((partkv.item_size(g) = partkv.item_size($x))::text, '?') "
	  . "FROM (SELECT partkv.get_item('$table', " . jl($key) . ', consistent_read => true) AS g) s';
	return { sql => $sql, expect => 'true|true|true',
		what => 'the stored item reads back as written, converts losslessly, has the same size' };
}

# the check after a write that must leave a valid item under KEY
sub _valid_check
{
	my ($self, $table, $key, $may_be_absent) = @_;
	my $sql =
	    "SELECT coalesce((partkv.from_dynamodb_json(partkv.to_dynamodb_json(g)) = g)::text, 'absent') || '|' || "
	  . "coalesce((partkv.item_size(g) <= 409600)::text, '?') "
	  . "FROM (SELECT partkv.get_item('$table', " . jl($key) . ', consistent_read => true) AS g) s';
	return { sql => $sql, expect => $may_be_absent ? qr/^(true\|true|absent\|\?)$/ : 'true|true',
		what => 'the written item is valid and converts losslessly' };
}

sub case_items
{
	my ($self, $it) = @_;
	my $table = pick(@TABLE_NAMES);
	fix_keys($it, $table);
	my $op = pick(qw(put put put put put cond insert insert copy update move size to to boundary));
	my $key = key_of($it, $table);
	my $x = jl($it);
	my %c = (target => 'items', call => $op, input => $it);

	if ($op eq 'put' || $op eq 'cond' || $op eq 'boundary')
	{
		my $cond = '';
		if ($op eq 'cond')
		{
			my $e = $self->_expr_of_kind('condition');
			$cond = _expr_args($e, 'condition');
		}
		if ($op eq 'boundary')
		{
			return undef unless $it->{t} eq 'o';
			jdel_member($it, 'fzpad');
			my $r = $self->aux('SELECT partkv.item_size(' . jl($it) . ')');
			return undef unless $r->{ok} && $r->{out} =~ /^\d+$/;
			my $delta = pick(-1, 0, 0, 1, 2);
			my $pad = 409600 - $r->{out} - length('fzpad') + $delta;
			return undef if $pad < 0;
			push @{ $it->{v} }, [ 'fzpad', jstr('x' x $pad) ];
			$x = jl($it);
			$c{boundary} = $delta;
		}
		$c{sql} = "SELECT partkv.put_item('$table', $x$cond" . _return_values() . ')';
		$c{write} = 1;
		$c{after} = $self->_stored_check($table, $key, $x);
		$c{call} = 'put_item' . ($op eq 'put' ? '' : "/$op");
		return \%c;
	}
	if ($op eq 'insert' || $op eq 'copy' || $op eq 'update' || $op eq 'move')
	{
		my $cols = key_columns($key, $table) // key_columns(random_key($table), $table);
		return undef unless $cols;
		my $old = key_columns(random_key($table), $table);
		my $names = join(', ', map { $_->[0] } @$cols);
		$c{plain} = 1;
		$c{write} = 1;
		$c{call} = "sql-$op";
		if ($op eq 'insert')
		{
			$c{sql} = "INSERT INTO $table ($names, item) VALUES ("
			  . join(', ', map { $_->[1] } @$cols) . ", $x)"
			  . (chance(0.7) ? " ON CONFLICT ($names) DO UPDATE SET item = EXCLUDED.item" : '');
		}
		elsif ($op eq 'copy')
		{
			# (a second row, sometimes: COPY buffers rows for multi-insert)
			my @rows = ([ $cols, $it ]);
			if (chance(0.3))
			{
				my $it2 = $self->_some_item($table);
				my $cols2 = key_columns(key_of($it2, $table), $table);
				unshift @rows, [ $cols2, $it2 ] if $cols2;
			}
			$c{sql} = "COPY $table ($names, item) FROM STDIN;\n"
			  . join('', map { join("\t", (map { $_->[2] } @{ $_->[0] }), _copy_escape(to_json($_->[1]))) . "\n" } @rows)
			  . '\\.';
		}
		elsif ($op eq 'move')
		{
			# a key change moves the row to another partition
			return undef unless $old;
			$c{sql} = "UPDATE $table SET ($names, item) = ("
			  . join(', ', map { $_->[1] } @$cols) . ", $x) WHERE "
			  . join(' AND ', map { "$_->[0] = $_->[1]" } @$old) . ' RETURNING 1';
			$c{when_out} = '1';
		}
		else
		{
			$c{sql} = "UPDATE $table SET item = $x WHERE "
			  . join(' AND ', map { "$_->[0] = $_->[1]" } @$cols) . ' RETURNING 1';
			$c{when_out} = '1';
		}
		$c{after} = $self->_stored_check($table, $key, $x);
		return \%c;
	}
	if ($op eq 'size')
	{
		$c{sql} = "SELECT partkv.item_size($x)";
		$c{call} = 'item_size';
		return \%c;
	}
	$c{call} = 'to_dynamodb_json';
	$c{sql} = "SELECT md5(partkv.to_dynamodb_json($x)::text)";
	$c{after} = { sql => "SELECT (partkv.from_dynamodb_json(partkv.to_dynamodb_json($x)) = $x)::text",
		expect => 'true', what => 'from_dynamodb_json(to_dynamodb_json(x)) = x' };
	return \%c;
}

sub case_typed
{
	my ($self, $t) = @_;
	my $op = pick(qw(from from from from put put to));
	my $x = jl($t);
	my %c = (target => 'typed', input => $t);
	if ($op eq 'from')
	{
		$c{call} = 'from_dynamodb_json';
		$c{sql} = "SELECT md5(partkv.from_dynamodb_json($x)::text)";
		$c{after} = {
			sql => "SELECT fz_teq(partkv.to_dynamodb_json(partkv.from_dynamodb_json($x)), $x)::text || '|' || "
			  . "(partkv.from_dynamodb_json(partkv.to_dynamodb_json(partkv.from_dynamodb_json($x))) = partkv.from_dynamodb_json($x))::text",
			expect => 'true|true',
			what => 'to_dynamodb_json(from_dynamodb_json(t)) = t (numbers as numbers), and back' };
		return \%c;
	}
	if ($op eq 'put')
	{
		my $table = pick(@TABLE_NAMES);
		my $key = random_key($table);
		my $item = "(partkv.from_dynamodb_json($x) || " . jl($key) . ')';
		$c{call} = 'put_item/typed';
		$c{sql} = "SELECT partkv.put_item('$table', $item)";
		$c{write} = 1;
		$c{after} = $self->_stored_check($table, $key, $item);
		return \%c;
	}
	$c{call} = 'to_dynamodb_json/typed';
	$c{sql} = "SELECT md5(partkv.to_dynamodb_json($x)::text)";
	$c{after} = { sql => "SELECT (partkv.from_dynamodb_json(partkv.to_dynamodb_json($x)) = $x)::text",
		expect => 'true', what => 'from_dynamodb_json(to_dynamodb_json(x)) = x' };
	return \%c;
}

# a plain item from the items pool, keyed for TABLE
sub _some_item
{
	my ($self, $table) = @_;
	my $it = jclone(pick(@{ $self->{pool}{items} })->{data});
	$it = jobj() unless $it->{t} eq 'o';
	for my $k (@{ $TABLES{$table}{keys} })
	{
		jset_member($it, $k->[0], key_value($k->[1]));
	}
	return $it;
}

sub case_expr
{
	my ($self, $e) = @_;
	my $kind = $e->{kind};
	my $table = $e->{table} && $TABLES{ $e->{table} } ? $e->{table} : pick(@TABLE_NAMES);
	my %c = (target => 'expr', input => $e);
	my $key = random_key($table);

	if ($kind eq 'condition')
	{
		my $op = pick(qw(put delete update scan));
		if ($op eq 'put')
		{
			my $it = $self->_some_item($table);
			$c{sql} = "SELECT partkv.put_item('$table', " . jl($it) . _expr_args($e, 'condition') . _return_values() . ')';
			$c{after} = $self->_stored_check($table, key_of($it, $table), jl($it));
			$c{write} = 1;
		}
		elsif ($op eq 'delete')
		{
			$c{sql} = "SELECT partkv.delete_item('$table', " . jl($key) . _expr_args($e, 'condition') . _return_values() . ')';
			$c{after} = { sql => "SELECT (partkv.get_item('$table', " . jl($key) . ', consistent_read => true) IS NULL)::text',
				expect => 'true', what => 'a deleted item is gone' };
			$c{write} = 1;
		}
		elsif ($op eq 'update')
		{
			$c{sql} = "SELECT partkv.update_item('$table', " . jl($key) . ", update => 'REMOVE fzgone'" . _expr_args($e, 'condition') . ')';
			# (no item is created by an update that only removes)
			$c{after} = $self->_valid_check($table, $key, 1);
			$c{write} = 1;
		}
		else
		{
			$c{sql} = "SELECT count(*) FROM partkv.scan('$table'" . _expr_args($e, 'filter') . ') x';
		}
		$c{call} = "$op/condition";
		return \%c;
	}
	if ($kind eq 'update')
	{
		my $cond = chance(0.2) ? _expr_args($self->_expr_of_kind('condition'), 'condition') : '';
		# (a second expression's maps would replace the first's: keep one)
		$cond = '' if $cond && ($e->{attr_values} || $e->{attr_names});
		$c{sql} = "SELECT partkv.update_item('$table', " . jl($key) . _expr_args($e, 'update') . $cond . _return_values() . ')';
		# (an update that only removes creates no item)
		$c{after} = $self->_valid_check($table, $key, ($e->{expression} // '') !~ /\b(?:SET|ADD)\b/i);
		$c{write} = 1;
		$c{call} = 'update_item';
		return \%c;
	}
	if ($kind eq 'filter')
	{
		my $pk = $TABLES{$table}{keys}[0];
		if (chance(0.5)
			&& _add_to_map($e, 'attr_values', ':fzk', key_value($pk->[1])))
		{
			$c{sql} = "SELECT count(*) FROM partkv.query('$table', '$pk->[0] = :fzk'"
			  . _expr_args($e, 'filter') . ', scan_forward => ' . pick('true', 'false') . ') x';
			$c{call} = 'query/filter';
		}
		else
		{
			$c{sql} = "SELECT count(*) FROM partkv.scan('$table'" . _expr_args($e, 'filter')
			  . (chance(0.2) ? ', segment => ' . pick(0, 1, 3, -1) . ', total_segments => ' . pick(1, 2, 3, 0, 1000001) : '')
			  . ') x';
			$c{call} = 'scan/filter';
		}
		return \%c;
	}
	if ($kind eq 'keycondition')
	{
		my $index = $e->{index} ? ', index_name => ' . lit($e->{index}) : '';
		my $page = chance(0.3);
		my $fn = $page ? 'query_page' : 'query';
		my $extra = ', scan_forward => ' . pick('true', 'false');
		$extra .= ', item_limit => ' . pick(1, 2, 0, -1, 1000) if chance(0.3);
		if ($page && chance(0.5))
		{
			my $esk = random_key($table);
			mutate_value($esk) if chance(0.3);
			$extra .= ', exclusive_start_key => ' . jl($esk);
		}
		$c{sql} =
		    $page
		  ? "SELECT md5(partkv.query_page('$table'" . _expr_args($e, 'key_condition') . "$index$extra)::text)"
		  : "SELECT count(*) FROM partkv.query('$table'" . _expr_args($e, 'key_condition') . "$index$extra) x";
		$c{call} = $fn;
		return \%c;
	}
	# projection
	my $op = pick(qw(get get scan query));
	my $names = $e->{attr_names} ? ', attr_names => ' . jl($e->{attr_names}) : '';
	if ($op eq 'get')
	{
		$c{sql} = "SELECT md5(partkv.get_item('$table', " . jl($key) . ', projection => ' . lit($e->{expression}) . "$names)::text)";
	}
	elsif ($op eq 'scan')
	{
		$c{sql} = "SELECT count(*) FROM partkv.scan('$table', projection => " . lit($e->{expression}) . "$names) x";
	}
	else
	{
		my $pk = $TABLES{$table}{keys}[0];
		$c{sql} = "SELECT count(*) FROM partkv.query('$table', '$pk->[0] = :k', attr_values => "
		  . jl(jobj(':k' => key_value($pk->[1]))) . ', projection => ' . lit($e->{expression}) . "$names) x";
	}
	$c{call} = "$op/projection";
	return \%c;
}

# a TransactWriteItems of N puts of 390 KB items: over DynamoDB's 4 MB
# from 11 on
sub _big_transaction
{
	my ($self) = @_;
	my $n = pick(10, 11, 12);
	my @puts = map {
		jobj(Put => jobj(TableName => jstr('fz_s'),
				Item => jobj(pk => jstr("big"), sk => jstr("big-$_"), blob => jstr('x' x 390000))))
	} 1 .. $n;
	return {
		target => 'requests',
		call => 'transact_write_items/4MB',
		input => undef,
		sql => 'SELECT md5(partkv.transact_write_items(' . jl(jobj(TransactItems => jarr(@puts))) . ')::text)',
		write => 1,
		over_4mb => ($n * 390000 > 4 * 1024 * 1024 ? 1 : 0),
	};
}

sub case_requests
{
	my ($self, $r) = @_;
	return $self->_big_transaction if chance(0.01);
	my $fn = $r->{function};
	$fn = pick(qw(batch_get_item batch_write_item transact_get_items transact_write_items))
	  if chance(0.03);
	return {
		target => 'requests',
		call => $fn,
		input => $r,
		sql => "SELECT md5(partkv.$fn(" . jl($r->{request}) . ')::text)',
		write => ($fn =~ /write/ ? 1 : 0),
	};
}

sub build_case
{
	my ($self, $t, $data) = @_;
	my $c =
	    $t eq 'items' ? $self->case_items($data)
	  : $t eq 'typed' ? $self->case_typed($data)
	  : $t eq 'expr'  ? $self->case_expr($data)
	  :                 $self->case_requests($data);
	$self->_other_table_name($c) if $c && !$c->{plain} && chance(0.02);
	if ($c && !$c->{plain})
	{
		my $r = rand();
		$self->_as_role($c, 'fz_reader') if $r < 0.04;
		$self->_as_role($c, 'fz_writer') if $r >= 0.04 && $r < 0.07;
	}
	return $c;
}

# _as_role(CASE, ROLE) -- the call runs as fz_reader (SELECT only on the
# fuzzed tables: a write must fail) or fz_writer (INSERT, UPDATE, DELETE
# without SELECT: a call that reads an item, tests a condition on it or
# returns it must fail).
sub _as_role
{
	my ($self, $c, $role) = @_;
	$c->{sql} = "SET ROLE $role;\n$c->{sql}" . ($c->{sql} =~ /\\\.\z/ ? '' : ';') . "\nRESET ROLE";
	$c->{call} .= "/$role";
	$c->{reader_write} = $c->{write} if $role eq 'fz_reader';
	$c->{writer_read} = !_blind_write($c->{sql})
	  if $role eq 'fz_writer' && $c->{sql} =~ /partkv\.(?:\w+_item|query|scan|\w+_items?)(?:_page)?\(/;
	$c->{after} = undef;
	return;
}

# _blind_write(SQL) -- whether a call only writes, without reading: a put
# or delete without a condition or return values, a batch write, or a
# transaction of Puts and Deletes without conditions.
sub _blind_write
{
	my ($sql) = @_;
	return 0 if $sql =~ /condition => (?!NULL)/;
	return 0 if $sql =~ /return_values => '(?!NONE')/;
	return 1 if $sql =~ /partkv\.(?:put_item|delete_item|batch_write_item)\(/;
	return $sql =~ /partkv\.transact_write_items\(/
	  && $sql !~ /"(?:Update|ConditionCheck|ConditionExpression)"/;
}



# _other_table_name(CASE) -- the call names something that is not a kv
# table (a partition, a GSI's storage, a catalog, a missing or malformed
# name), or the same table schema-qualified; only the latter may succeed.
sub _other_table_name
{
	my ($self, $c) = @_;
	my ($table) = $c->{sql} =~ /partkv\.\w+\('(fz_\w)'/ or return;
	my $alias = chance(0.2);
	my $name =
	  $alias
	  ? "public.$table"
	  : pick("${table}_p0", $self->{gsi_storage} // 'fz_s_g', 'partkv.tables', 'partkv.gsi_indexes',
		'pg_class', 'pg_catalog.pg_class', 'nosuch', 'FZ_S', "\"$table\"", "$table.", ".$table",
		"pg_catalog.$table", "$table ", 'x' x 256, 'ab', '', "${table}'; SELECT 1; --");
	$c->{sql} =~ s/'\Q$table\E'/lit($name)/e;
	$c->{after} = undef;
	$c->{call} .= '/table-name';
	$c->{must_fail} = !$alias;
	return;
}

# mutate(TARGET, DATA) -- 1 to 5 mutations of DATA in place; their names.
sub mutate
{
	my ($self, $t, $d) = @_;
	my @ops;
	for (1 .. pick(1, 1, 1, 1, 2, 2, 3, 5))
	{
		my $donors = $self->_donors($t);
		if ($t eq 'items') { push @ops, mutate_value($d, $donors); }
		elsif ($t eq 'typed') { push @ops, mutate_typed($d, $donors); }
		elsif ($t eq 'expr') { push @ops, mutate_expr($d, $donors); }
		else
		{
			push @ops, mutate_request($d->{request}, $donors,
				[ map { $_->{data} } @{ $self->{pool}{expr} } ], \@TABLE_NAMES);
		}
	}
	return \@ops;
}

# ----------------------------------------------------------------------
# running cases and judging results

# session -- the psql session, started on first use.
sub session
{
	my ($self) = @_;
	unless ($self->{session})
	{
		$self->{session} = SqlFuzzSession->new(
			[ $self->{node}->installed_command('psql'), '-d', $self->{node}->connstr($self->{db}) ],
			$self->{hang_seconds} // 120);
		$self->{session}->run("SET statement_timeout = '60s'");
	}
	return $self->{session};
}

# aux(SQL) -- a statement of the driver's own (not counted); a crash or
# hang in it is a finding all the same.
sub aux
{
	my ($self, $sql) = @_;
	my $r = $self->session->run($sql);
	$self->_remember($sql);
	if ($r->{lost} || $r->{hang})
	{
		$self->finding($r->{hang} ? 'hang' : 'crash', { target => 'aux', call => 'check', sql => $sql },
			$r, "the connection was lost: $r->{stderr}");
		$self->recover($r);
	}
	return $r;
}

sub _remember
{
	my ($self, $sql) = @_;
	my $s = length($sql) > 20000 ? substr($sql, 0, 20000) . "\n-- (statement cut at 20000 characters)" : $sql;
	push @{ $self->{recent} }, $s;
	shift @{ $self->{recent} } while @{ $self->{recent} } > 20;
	return;
}

# recover(RESULT) -- after a lost connection or a hang: wait until the
# server accepts connections again, then a new session.
sub recover
{
	my ($self, $r) = @_;
	$self->{fingerprint} = undef;
	if ($r->{hang})
	{
		$self->{node}->psql('postgres',
			q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()});
	}
	my $deadline = time() + 120;
	my $up = 0;
	while (!$up && time() < $deadline)
	{
		$up = $self->{node}->psql('postgres', 'SELECT 1') == 0;
		Time::HiRes::sleep(0.5) unless $up;
	}
	$self->{session}->close if $self->{session};
	$self->{session} = undef;
	# a server that does not come back ends the run
	die "the server did not come back after a lost connection\n" unless $up;
	$self->session;
	return;
}

# fingerprint -- what identifies every row version of the fuzzed tables; a
# failed statement must leave it as it was.
sub fingerprint
{
	my ($self) = @_;
	return $self->{fingerprint} if defined $self->{fingerprint};
	my $r = $self->aux(
		q{SELECT md5(coalesce(string_agg(x, ',' ORDER BY x), '')) FROM (SELECT 's' || ctid::text || xmin::text AS x FROM fz_s UNION ALL SELECT 'n' || ctid::text || xmin::text FROM fz_n UNION ALL SELECT 'b' || ctid::text || xmin::text FROM fz_b) f}
	);
	$self->{fingerprint} = $r->{ok} ? $r->{out} : undef;
	return $self->{fingerprint};
}

# norm(MESSAGE) -- a message with its variable parts blanked, cut short: one
# "kind" of outcome.
sub norm
{
	my ($m) = @_;
	$m //= '';
	$m =~ s/'[^']*'/'*'/g;
	$m =~ s/"[^"]*"/"*"/g;
	$m =~ s/\d+/N/g;
	return substr($m, 0, 70);
}

# execute(CASE, ORIGIN, MUTATIONS) -- run a case and judge it.
sub execute
{
	my ($self, $c, $origin, $mutations) = @_;
	my $st = $self->{stats}{ $c->{target} };
	my $before = $c->{write} ? $self->fingerprint : undef;
	my $r = $self->session->run($c->{sql});
	$self->_remember($c->{sql});
	$st->{execs}++;
	$st->{secs} += $r->{secs} // 0;
	push @{ $self->{slow} }, [ $r->{secs} // 0, "$c->{target}/$c->{call}" ];
	@{ $self->{slow} } = (sort { $b->[0] <=> $a->[0] } @{ $self->{slow} })[ 0 .. 4 ] if @{ $self->{slow} } > 20;
	$c->{origin} = $origin;
	$c->{mutations} = $mutations;
	my $outcome;
	# slow: over the threshold, and over 1 s per MB of statement (PostgreSQL
	# takes its time to parse a 40 MB jsonb literal)
	if (   ($r->{secs} // 0) > ($self->{slow_seconds} // 10)
		&& $r->{secs} > length($c->{sql}) / 1e6
		&& !$r->{hang})
	{
		$self->finding('slow', $c, $r, sprintf('one call took %.1f s', $r->{secs}));
	}

	if ($r->{lost} || $r->{hang})
	{
		my $kind = $r->{hang} ? 'hang' : 'crash';
		$outcome = $kind;
		$self->finding($kind, $c, $r, "the connection was lost: $r->{stderr}");
		$self->recover($r);
	}
	elsif ($r->{error})
	{
		my $code = $r->{error};
		$st->{errors}{$code}++;
		$st->{literal}++ if $r->{literal};
		my $ok =
		    $r->{literal} ? $LITERAL_OK{$code}
		  : $c->{plain}   ? $SQL_OK{$code}
		  :                 $API_OK{$code};
		$self->finding('sqlstate', $c, $r, "SQLSTATE $code is not one partkv documents")
		  unless $ok;
		if (defined $c->{boundary} && $c->{boundary} <= 0 && $code eq '54000')
		{
			$self->finding('property', $c, $r, 'an item of at most 400 KB (by item_size) was refused as too large');
		}
		if (defined $c->{over_4mb} && !$c->{over_4mb} && ($code eq '54000' || $code eq '22023'))
		{
			$self->finding('property', $c, $r, 'a transaction under 4 MB was refused');
		}
		if ($c->{write} && defined $before)
		{
			my $after = $self->fingerprint;
			$self->finding('property', $c, $r, 'a failed write changed the table')
			  if defined $after && $after ne $before;
		}
		$outcome = ($r->{literal} ? 'literal ' : '') . "$code " . norm($r->{message});
	}
	else
	{
		$st->{ok}++;
		$self->{fingerprint} = undef if $c->{write};
		$outcome = 'ok';
		$self->finding('property', $c, $r, 'a call on a name that is no kv table succeeded')
		  if $c->{must_fail};
		$self->finding('property', $c, $r, 'a role with only SELECT on the tables wrote')
		  if $c->{reader_write};
		$self->finding('property', $c, $r, 'a role without SELECT on the tables read an item')
		  if $c->{writer_read};
		if (defined $c->{boundary} && $c->{boundary} > 0)
		{
			$self->finding('property', $c, $r, 'an item over 400 KB (by item_size) was accepted');
		}
		if ($c->{over_4mb})
		{
			$self->finding('property', $c, $r, 'a transaction over 4 MB was accepted');
		}
		my $a = $c->{after};
		if ($a && (!defined $c->{when_out} || $r->{out} eq $c->{when_out}))
		{
			my $ar = $self->aux($a->{sql});
			if ($ar->{lost} || $ar->{hang} || $ar->{error}
				|| (ref $a->{expect} ? $ar->{out} !~ $a->{expect} : $ar->{out} ne $a->{expect}))
			{
				$self->finding('property', $c, $ar,
					"after the call succeeded, expected $a->{what}: "
					  . ($ar->{error} ? "error $ar->{error}: $ar->{message}" : "got '" . ($ar->{out} // '') . "'"),
					$a->{sql});
			}
		}
	}
	$self->_outcome($c, $outcome);
	return $r;
}

# _outcome(CASE, OUTCOME) -- count a (target, call, outcome) triple; a new
# one keeps its input in the pool (and in corpus_out).
sub _outcome
{
	my ($self, $c, $outcome) = @_;
	my $sig = "$c->{target}|$c->{call}|$outcome";
	return if $self->{seen}{$sig}++;
	my $st = $self->{stats}{ $c->{target} };
	$st->{outcomes}++;
	return unless $c->{mutations} && $c->{input};
	$st->{new}++;
	# inputs PostgreSQL's own parsers reject never reach partkv: not kept
	return if $outcome =~ /^literal /;
	my $json = _data_json($c->{target}, $c->{input});
	return if length($json) > 16384;
	my $pool = $self->{pool}{ $c->{target} };
	my $entry = { name => "new:$c->{target}", data => _clone_data($c->{target}, $c->{input}) };
	if (@$pool < $self->{seeds}{ $c->{target} } + 400)
	{
		push @$pool, $entry;
	}
	else
	{
		$pool->[ $self->{seeds}{ $c->{target} } + int(rand(400)) ] = $entry;
	}
	if ($self->{corpus_out} && ($self->{added_by}{ $c->{target} } // 0) < ($self->{corpus_out_max} // 25))
	{
		$self->{added_by}{ $c->{target} }++;
		my $dir = File::Spec->catdir($self->{corpus_out}, $c->{target});
		make_path($dir);
		my $file = File::Spec->catfile($dir, 'fz-' . substr(md5_hex(encode_utf8($json)), 0, 12) . '.json');
		open(my $fh, '>:raw', $file) or die "cannot write $file: $!";
		print $fh encode_utf8($json), "\n";
		close $fh;
		$self->{added}++;
	}
	return;
}

# Defects known and being fixed elsewhere: a finding whose description or
# message matches is of kind "known", reported without failing the test.
# Remove an entry when its fix is merged, so that a regression fails again.
our @KNOWN = (
	# (empty: the 4 MB transaction limit and stale catalog rows are fixed,
	# so their findings fail the test again)
);

# finding(KIND, CASE, RESULT, WHAT, CHECK-SQL) -- record a failure: the
# first three of each kind (same call, SQLSTATE and code location) are
# written to the findings directory.
sub finding
{
	my ($self, $kind, $c, $r, $what, $check) = @_;
	for my $k (@KNOWN)
	{
		next unless $what =~ $k->[0] || ($r->{message} // '') =~ $k->[0];
		$kind = 'known';
		$what .= " (known: $k->[1])";
		last;
	}
	my $where = $r->{location} // norm($r->{message} // $what);
	my $sig = join('|', $kind, $c->{target}, $c->{call}, $r->{error} // '', $where);
	my $n = ++$self->{finding_sigs}{$sig};
	$self->{nfindings}++;
	return if $n > 3;
	my $id = sprintf('%03d', scalar(@{ $self->{findings} }) + 1);
	my $dir = $self->{findings_dir};
	make_path($dir);
	my $file = File::Spec->catfile($dir, "finding-$id-$kind-$c->{target}.sql");
	my $head = join('',
		"-- partkv SQL fuzz finding $id ($kind): $what\n",
		"-- seed $self->{seed}, execution $self->{iter}, target $c->{target}, call $c->{call}\n",
		"-- input: " . ($c->{origin} // '?') . ', mutations: ' . join(' ', @{ $c->{mutations} // ['none'] }) . "\n",
		($r->{error} ? "-- SQLSTATE $r->{error}: $r->{message}\n" : ''),
		($r->{detail} ? "-- DETAIL: $r->{detail}\n" : ''),
		($r->{location} ? "-- LOCATION: $r->{location}\n" : ''),
		"-- setup: setup.sql in this directory; recent.sql: the statements before it\n\n");
	open(my $fh, '>:raw', $file) or die "cannot write $file: $!";
	print $fh encode_utf8($head . $c->{sql} . ($c->{sql} =~ /\\\.\z/ ? "\n" : ";\n")
		  . ($check ? "\n-- the check that failed:\n$check;\n" : ''));
	close $fh;
	if ($kind eq 'crash' || $kind eq 'hang')
	{
		open($fh, '>:raw', File::Spec->catfile($dir, "finding-$id-recent.sql")) or die;
		print $fh encode_utf8(join(";\n\n", @{ $self->{recent} }) . ";\n");
		close $fh;
	}
	unless (-e File::Spec->catfile($dir, 'setup.sql'))
	{
		open($fh, '>', File::Spec->catfile($dir, 'setup.sql')) or die;
		print $fh $SETUP_SQL;
		close $fh;
	}
	push @{ $self->{findings} },
	  { id => $id, kind => $kind, file => $file, what => $what, call => "$c->{target}/$c->{call}",
		sqlstate => $r->{error}, message => $r->{message}, location => $r->{location} };
	$self->note("finding $id ($kind, $c->{target}/$c->{call}): $what"
		  . ($r->{error} ? " [$r->{error}: $r->{message}]" : '') . ($r->{location} ? " at $r->{location}" : ''));
	return;
}

# ----------------------------------------------------------------------
# the run

# setup -- the tables and helper functions.
sub setup
{
	my ($self) = @_;
	$self->{node}->safe_psql($self->{db}, $SETUP_SQL);
	$self->{gsi_storage} = $self->{node}->safe_psql($self->{db},
		q{SELECT storage_name FROM partkv.gsi_indexes WHERE table_name = 'fz_s' LIMIT 1});
	return;
}

# replay_corpus -- every kept input once, as it is.
sub replay_corpus
{
	my ($self) = @_;
	for my $t (@TARGETS)
	{
		for my $e (@{ $self->{pool}{$t} }[ 0 .. $self->{seeds}{$t} - 1 ])
		{
			my $c = $self->build_case($t, _clone_data($t, $e->{data}));
			$self->execute($c, $e->{name}, undef) if $c;
		}
	}
	return;
}

# fuzz_one -- one mutated input of a random target.
sub fuzz_one
{
	my ($self) = @_;
	my $t = pick(qw(items items items typed typed expr expr expr requests requests));
	# half the time a kept input: the inputs found during the run mostly
	# fail early, and their mutations even more so
	my $pool = $self->{pool}{$t};
	my ($e, $d, $ops);
	if ($t eq 'expr' && chance(0.4))
	{
		# a generated, well-formed expression: deeper into the evaluator
		my $kind = pick(qw(condition condition filter update update projection keycondition));
		my $table = pick(@TABLE_NAMES);
		$d = gen_expr($kind, $TABLES{$table}{keys});
		$d->{table} = $table;
		$e = { name => "generated:$kind" };
		$ops = chance(0.2) ? $self->mutate($t, $d) : ['none'];
	}
	else
	{
		$e = chance(0.5) ? $pool->[ int(rand($self->{seeds}{$t})) ] : pick(@$pool);
		$d = _clone_data($t, $e->{data});
		$ops = $self->mutate($t, $d);
	}
	my $c = $self->build_case($t, $d);
	# (repeated copies of big values can make statements of tens of MB:
	# they test PostgreSQL's parser more than partkv)
	$self->execute($c, $e->{name}, $ops) if $c && length($c->{sql}) <= 5_000_000;
	return;
}

# sweep -- every stored item must be valid, its key columns its keys.
sub sweep
{
	my ($self) = @_;
	my $r = $self->aux(q{SELECT count(*) || E'\n' || coalesce(string_agg(tbl || ': ' || err || ': ' || item, E'\n'), '') FROM fz_invalid_items()});
	my $c = { target => 'items', call => 'sweep', sql => 'SELECT * FROM fz_invalid_items()' };
	if (!$r->{ok})
	{
		$self->finding('property', $c, $r, 'the validity sweep of the stored items failed');
	}
	elsif ($r->{out} !~ /^0\n?/)
	{
		my (undef, @bad) = split /\n/, $r->{out};
		$self->finding('property', $c, { message => $bad[0] }, "a stored item is invalid: $_") for @bad[ 0 .. ($#bad < 2 ? $#bad : 2) ];
	}
	return;
}

# run -- replay the corpus, fuzz until the time is up, check the end state.
sub run
{
	my ($self) = @_;
	my $start = time();
	my $deadline = $start + $self->{seconds};
	my $ok = eval {
		$self->replay_corpus;
		$self->{replayed} = 0;
		$self->{replayed} += $self->{stats}{$_}{execs} for @TARGETS;
		while (time() < $deadline)
		{
			$self->{iter}++;
			$self->fuzz_one;
			$self->sweep if $self->{iter} % 400 == 0;
		}
		$self->{elapsed} = time() - $start;
		$self->final_checks;
		1;
	};
	unless ($ok)
	{
		$self->{elapsed} = time() - $start;
		$self->finding('crash', { target => 'aux', call => 'run', sql => '-- (see the findings before this one)' },
			{}, "the run stopped: $@");
	}
	$self->{session}->close if $self->{session};
	return;
}

# final_checks -- the sweep, the stream worker caught up, GSIs that verify
# clean, stream SizeBytes.
sub final_checks
{
	my ($self) = @_;
	$self->sweep;
	my $c = { target => 'items', call => 'final', sql => '' };
	my $r = $self->aux(q{SELECT partkv.stream_wait('180s')});
	if (!$r->{ok} || $r->{out} ne 't')
	{
		$c->{sql} = q{SELECT partkv.stream_wait('180s')};
		$self->finding('property', $c, $r, 'the stream worker did not catch up with the fuzzed writes');
		return;
	}
	for my $g ([ 'fz_s', 'by_g' ], [ 'fz_n', 'by_b' ])
	{
		$c->{sql} = "SELECT partkv.verify_index('$g->[0]', '$g->[1]')";
		$r = $self->aux("SELECT (v->>'missing') || '|' || (v->>'extra') || '|' || (v->>'stale') || '|' || (v->>'checked') FROM partkv.verify_index('$g->[0]', '$g->[1]') v");
		if (!$r->{ok} || $r->{out} !~ /^0\|0\|0\|/)
		{
			$self->finding('property', $c, $r, "GSI $g->[1] does not verify clean (missing|extra|stale|checked): " . ($r->{out} // $r->{message} // ''));
		}
		else
		{
			$self->{gsi_checked}{ $g->[1] } = (split /\|/, $r->{out})[3];
		}
	}
	for my $t ('fz_s', 'fz_n')
	{
		$c->{sql} = "SELECT r FROM partkv.stream_records('$t', item_limit => NULL) r WHERE (r->'dynamodb'->>'SizeBytes')::bigint IS DISTINCT FROM "
		  . q{partkv.item_size(r->'dynamodb'->'Keys') + coalesce(partkv.item_size(r->'dynamodb'->'NewImage'), 0) + coalesce(partkv.item_size(r->'dynamodb'->'OldImage'), 0)};
		$r = $self->aux("SELECT count(*) || '|' || (SELECT count(*) FROM partkv.stream_records('$t', item_limit => NULL)) FROM ($c->{sql}) x");
		if (!$r->{ok} || $r->{out} !~ /^0\|/)
		{
			$self->finding('property', $c, $r, "stream records of $t whose SizeBytes is not the item_size of Keys and images: " . ($r->{out} // $r->{message} // ''));
		}
		else
		{
			$self->{stream_checked}{$t} = (split /\|/, $r->{out})[1];
		}
	}
	return;
}

# summary -- lines describing the run.
sub summary
{
	my ($self) = @_;
	my @l;
	my $total = 0;
	$total += $self->{stats}{$_}{execs} for @TARGETS;
	push @l, sprintf('seed %s: %d executions in %.0f s (%d of them the kept corpus), %d distinct outcomes, %d findings (%d written)',
		$self->{seed}, $total, $self->{elapsed} // 0, $self->{replayed} // 0,
		scalar(keys %{ $self->{seen} }), $self->{nfindings}, scalar @{ $self->{findings} });
	for my $t (@TARGETS)
	{
		my $s = $self->{stats}{$t};
		my $errs = join(' ', map { "$_:$s->{errors}{$_}" } sort { $s->{errors}{$b} <=> $s->{errors}{$a} } keys %{ $s->{errors} });
		push @l, sprintf('  %-8s %6d executions (%.1f ms each), %6d ok, %3d outcomes (%d from mutations), literal-rejected %d, errors %s',
			$t, $s->{execs}, $s->{execs} ? 1000 * ($s->{secs} // 0) / $s->{execs} : 0,
			$s->{ok}, $s->{outcomes}, $s->{new}, $s->{literal}, $errs || '-');
	}
	push @l, '  end state: GSI entries verified ' . join(', ', map { "$_=$self->{gsi_checked}{$_}" } sort keys %{ $self->{gsi_checked} // {} })
	  . '; stream records checked ' . join(', ', map { "$_=$self->{stream_checked}{$_}" } sort keys %{ $self->{stream_checked} // {} });
	push @l, "  new corpus inputs written: $self->{added}" if $self->{corpus_out};
	push @l, '  slowest calls: ' . join(', ', map { sprintf('%s %.2f s', $_->[1], $_->[0]) }
		  grep { defined } (sort { $b->[0] <=> $a->[0] } @{ $self->{slow} // [] })[ 0 .. 4 ]);
	return @l;
}

1;
