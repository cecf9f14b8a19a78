# 001_basic.pl -- a kv table survives a server restart and a pg_dump round
# trip (custom format through pg_restore, plain format through psql): the
# restored table has its items, its description and working write paths.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('main');
$node->start;

is($node->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'partkv', 'partkv is preloaded');
is($node->safe_psql('postgres', 'SHOW wal_level'), 'logical', 'wal_level is logical');

$node->safe_psql('postgres', 'CREATE DATABASE kv');
$node->safe_psql('kv', 'CREATE EXTENSION partkv');

$node->safe_psql('kv',
	q{SELECT partkv.create_table('orders', 'customer_id', 'S', sort_key => 'order_id', sort_key_type => 'S')}
);

my %items = (
	'c1/o1' => '{"customer_id": "c1", "order_id": "o1", "total": 12.5}',
	'c1/o2' =>
	  '{"customer_id": "c1", "order_id": "o2", "total": 7, "lines": [{"sku": "A-1", "qty": 2}], "gift": true}',
	'c2/o1' =>
	  '{"customer_id": "c2", "order_id": "o1", "total": 3, "address": {"city": "Lyon", "zip": null}}',
);
for my $k (sort keys %items)
{
	$node->safe_psql('kv', "SELECT partkv.put_item('orders', \$i\$$items{$k}\$i\$)");
}

# key('c1/o1') -- the key of an item, as JSON.
sub key
{
	my ($pk, $sk) = split m{/}, shift;
	return qq({"customer_id": "$pk", "order_id": "$sk"});
}

item_is($node, 'kv', 'orders', key($_), $items{$_}, "get_item $_ after put_item")
  for sort keys %items;
item_absent($node, 'kv', 'orders', key('c9/o1'), 'get_item of a missing key is NULL');

$node->safe_psql('kv', sprintf(q{SELECT partkv.delete_item('orders', '%s')}, key('c2/o1')));
item_absent($node, 'kv', 'orders', key('c2/o1'), 'delete_item removes the item');
delete $items{'c2/o1'};

$node->restart;

item_is($node, 'kv', 'orders', key($_), $items{$_}, "get_item $_ after restart")
  for sort keys %items;
item_absent($node, 'kv', 'orders', key('c2/o1'), 'deleted item still gone after restart');

# checks(DB, WHAT) -- what a restored database must give back.
sub checks
{
	my ($db, $what) = @_;

	item_is($node, $db, 'orders', key($_), $items{$_}, "$what: get_item $_")
	  for sort keys %items;
	item_absent($node, $db, 'orders', key('c2/o1'), "$what: deleted item absent");
	is($node->safe_psql($db, 'SELECT count(*) FROM orders'),
		scalar(keys %items), "$what: SQL sees the items");
	is( $node->safe_psql(
			$db,
			q{SELECT coalesce(d->'Table', d)->>'TableName' FROM partkv.describe_table('orders') d}),
		'orders',
		"$what: describe_table");
	is($node->safe_psql($db, q{SELECT count(*) FROM partkv.list_tables() t WHERE t = 'orders'}),
		'1', "$what: list_tables");
	is( $node->safe_psql(
			$db, q{SELECT count(*) FROM pg_inherits i
				 JOIN pg_class c ON c.oid = i.inhrelid
				 JOIN pg_am a ON a.oid = c.relam
				 WHERE i.inhparent = 'orders'::regclass AND a.amname = 'partkv'}),
		'8',
		"$what: 8 partitions using the partkv access method");

	# The restored table takes writes (routing, validation, catalog link).
	my $new = '{"customer_id": "c3", "order_id": "o1", "total": 1}';
	$node->safe_psql($db, "SELECT partkv.put_item('orders', \$i\$$new\$i\$)");
	item_is($node, $db, 'orders', key('c3/o1'), $new, "$what: put_item after restore");
	$node->safe_psql($db, sprintf(q{SELECT partkv.delete_item('orders', '%s')}, key('c1/o1')));
	item_absent($node, $db, 'orders', key('c1/o1'), "$what: delete_item after restore");
	return;
}

my $tmp = PostgreSQL::Test::Utils::tempdir;

# Custom format, pg_restore.
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$tmp/kv.dump", '-d', $node->connstr('kv') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE kv_custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('kv_custom'), "$tmp/kv.dump" ],
	'pg_restore');
checks('kv_custom', 'pg_restore');

# Plain format, psql.
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$tmp/kv.sql", '-d', $node->connstr('kv') ],
	'pg_dump -Fp');
$node->safe_psql('postgres', 'CREATE DATABASE kv_plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('kv_plain'), '-f', "$tmp/kv.sql" ],
	'psql restores the plain dump');
checks('kv_plain', 'psql restore');

# The source database is untouched by all this.
item_is($node, 'kv', 'orders', key($_), $items{$_}, "source db: get_item $_")
  for sort keys %items;

$node->stop;
done_testing();
