# 075_scan_ring.pl -- a Scan of a table larger than a quarter of
# shared_buffers reads its heap through a bulk-read buffer ring, as a
# sequential scan of it would, instead of filling shared_buffers; a Scan
# stopped by LIMIT reads only the pages of the items it returned; a Query
# reads as an index scan does.  Measured with pg_buffercache on a server with
# 4 MB of shared_buffers (512 buffers) and a 7 MB table, started afresh
# before each read so that nothing is cached.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('scan_ring');
$node->append_conf('postgresql.conf', "shared_buffers = '4MB'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE kv');
$node->safe_psql('kv', 'CREATE EXTENSION partkv');
$node->safe_psql('kv', 'CREATE EXTENSION pg_buffercache');
$node->safe_psql(
	'kv', q{
	SELECT partkv.create_table('big', 'pk', 'S', sort_key => 'sk', sort_key_type => 'N',
							   partitions => 4);
	INSERT INTO big
	SELECT 'p' || (i / 10), i % 10,
		   jsonb_build_object('pk', 'p' || (i / 10), 'sk', i % 10, 'pad', repeat(md5(i::text), 30))
	  FROM generate_series(0, 5999) i;
	VACUUM ANALYZE big;
	CHECKPOINT;
});

my $heap_blocks = $node->safe_psql(
	'kv', q{
	SELECT sum(pg_relation_size(i.inhrelid) / current_setting('block_size')::int)
	  FROM pg_inherits i WHERE i.inhparent = 'big'::regclass});
cmp_ok($heap_blocks, '>', 512, "the table's heap ($heap_blocks blocks) is larger than shared_buffers");

# heap pages of the table's partitions in shared_buffers
my $cached = q{
	SELECT count(*)
	  FROM pg_buffercache b
	  JOIN pg_inherits i ON i.inhparent = 'big'::regclass
	 WHERE b.reldatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
	   AND b.relforknumber = 0
	   AND b.relfilenode = pg_relation_filenode(i.inhrelid)};

# cached_after(SQL) -- the heap pages cached after SQL ran on a fresh server
sub cached_after
{
	my ($sql, $expected, $name) = @_;
	$node->restart;
	is($node->safe_psql('kv', $sql), $expected, "$name: result");
	return $node->safe_psql('kv', $cached);
}

my $n = cached_after(q{SELECT count(*) FROM partkv.scan('big')}, '6000', 'whole scan');
cmp_ok($n, '<=', 40, "a whole scan leaves at most its ring's pages cached ($n)");

my $seg = q{SELECT count(*) FROM partkv.scan('big', segment => 1, total_segments => 2)};
$n = cached_after($seg, $node->safe_psql('kv', $seg), 'one segment of two');
cmp_ok($n, '<=', 40, "so does a segment of a parallel scan ($n)");

$n = cached_after(q{SELECT count(*) FROM (SELECT * FROM partkv.scan('big') LIMIT 10) s},
	'10', 'LIMIT 10');
cmp_ok($n, '<=', 10, "a scan stopped after 10 items read at most 10 heap pages ($n)");

# a Query is an index scan of one item collection: its pages stay cached
$n = cached_after(
	q{SELECT count(*) FROM partkv.query('big', 'pk = :p', '{":p": "p42"}')},
	'10', 'Query');
cmp_ok($n, '>=', 1, "a Query reads through shared_buffers ($n)");

$node->stop;
done_testing();
