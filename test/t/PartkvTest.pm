# PartkvTest.pm -- helpers shared by partkv's TAP tests.
#
# Tests find this module with `use FindBin; use lib $FindBin::RealBin;` (the
# Makefile's PROVE_FLAGS = -I test/t is not enough on its own: PGXS's
# Makefile.global resets PROVE_FLAGS after the Makefile sets it).
package PartkvTest;

use strict;
use warnings;

use Exporter 'import';
use File::Basename qw(dirname);
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(partkv_node item_is item_absent);

# The configuration every test instance uses (also pg_regress's temp-config).
my $partkv_conf =
  File::Spec->catfile(dirname(File::Spec->rel2abs(__FILE__)), '..', 'partkv.conf');

# partkv_node(NAME, INIT-PARAMS...) -- an initialised (not started) node
# configured like the regression instances: partkv preloaded, wal_level
# logical, enough slots and workers.
sub partkv_node
{
	my ($name, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%params);
	$node->append_conf('postgresql.conf', slurp_file($partkv_conf));
	return $node;
}

# item_is(NODE, DB, TABLE, KEY-JSON, EXPECTED-JSON, TEST-NAME) -- passes when
# partkv.get_item(TABLE, KEY) equals EXPECTED as jsonb; shows what it got.
sub item_is
{
	my ($node, $db, $table, $key, $expected, $name) = @_;
	my $res = $node->safe_psql(
		$db, sprintf(
			'SELECT coalesce((g = e)::text, \'false\') || \'|\' || coalesce(g::text, \'NULL\')
			   FROM (SELECT partkv.get_item(%s, $k$%s$k$::jsonb) AS g,
							$e$%s$e$::jsonb AS e) s',
			quote_literal($table), $key, $expected));
	my ($eq, $got) = split /\|/, $res, 2;
	is($eq, 'true', $name) or diag("get_item returned: $got\nexpected: $expected");
	return;
}

# item_absent(NODE, DB, TABLE, KEY-JSON, TEST-NAME) -- passes when
# partkv.get_item returns NULL.
sub item_absent
{
	my ($node, $db, $table, $key, $name) = @_;
	my $got = $node->safe_psql($db,
		sprintf('SELECT coalesce(partkv.get_item(%s, $k$%s$k$::jsonb)::text, \'NULL\')',
			quote_literal($table), $key));
	is($got, 'NULL', $name);
	return;
}

# quote_literal(STR) -- STR as an SQL string literal.
sub quote_literal
{
	my ($s) = @_;
	$s =~ s/'/''/g;
	return "'$s'";
}

1;
