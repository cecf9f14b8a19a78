# 041_upgrade_compare.pl -- a database brought from 0.1 to the current
# version by ALTER EXTENSION partkv UPDATE, one version at a time, holds the
# same extension as a fresh CREATE EXTENSION partkv (which runs the one full
# script, sql/partkv--0.5.sql): every member (pg_depend deptype 'e') is
# described -- function definitions, columns, constraints, indexes,
# triggers, policies, views, sequences, types, operator classes, event
# triggers, owners, grants, initial privileges, comments, schemas -- and
# the two descriptions must be equal.  The kv tables made at 0.1 still
# serve items, queries, their GSI and their stream after the update.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

# One line per property of each member of the extension, sorted.
my $describe = <<'SQL';
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'partkv'),
m AS (SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS obj
		FROM pg_depend d, ext WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
lines AS (
	SELECT obj, 'member' AS what, '' AS val FROM m
	UNION ALL
	SELECT obj, 'comment', obj_description(objid, classid::regclass::text) FROM m
	UNION ALL
	SELECT m.obj, 'initprivs', i.initprivs::text FROM m JOIN pg_init_privs i ON i.classoid = m.classid AND i.objoid = m.objid AND i.objsubid = 0
	UNION ALL
	SELECT obj, 'definition', pg_get_functiondef(p.oid) FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	UNION ALL
	SELECT obj, 'function', concat_ws(' ', p.pronamespace::regnamespace, pg_get_userbyid(p.proowner), p.proacl, p.prosecdef, p.provolatile::text,
		p.proparallel::text, p.proisstrict, p.procost, p.prorows, p.prosupport, p.proconfig, p.prokind::text)
	  FROM m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
	UNION ALL
	SELECT obj, 'relation', concat_ws(' ', c.relnamespace::regnamespace, c.relkind::text, pg_get_userbyid(c.relowner), c.relacl, c.reloptions,
		c.relrowsecurity, c.relforcerowsecurity, c.relreplident::text, c.relpersistence::text, c.relispartition, pg_get_partkeydef(c.oid),
		(SELECT amname FROM pg_am WHERE oid = c.relam))
	  FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
	UNION ALL
	SELECT obj, 'column ' || a.attnum, concat_ws(' ', a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attstorage::text,
		a.attidentity::text, a.attgenerated::text, (SELECT collname FROM pg_collation WHERE oid = a.attcollation AND a.attcollation <> 100),
		pg_get_expr(ad.adbin, ad.adrelid), col_description(a.attrelid, a.attnum), a.attacl)
	  FROM m JOIN pg_attribute a ON m.classid = 'pg_class'::regclass AND a.attrelid = m.objid AND a.attnum > 0 AND NOT a.attisdropped
	  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	UNION ALL
	SELECT obj, 'constraint ' || co.conname, pg_get_constraintdef(co.oid)
	  FROM m JOIN pg_constraint co ON m.classid = 'pg_class'::regclass AND co.conrelid = m.objid
	UNION ALL
	SELECT obj, 'index ' || ic.relname, pg_get_indexdef(i.indexrelid) || ' ' || coalesce(ic.reloptions::text, '')
	  FROM m JOIN pg_index i ON m.classid = 'pg_class'::regclass AND i.indrelid = m.objid JOIN pg_class ic ON ic.oid = i.indexrelid
	UNION ALL
	SELECT obj, 'trigger ' || t.tgname, pg_get_triggerdef(t.oid) || ' ' || t.tgenabled::text
	  FROM m JOIN pg_trigger t ON m.classid = 'pg_class'::regclass AND t.tgrelid = m.objid AND NOT t.tgisinternal
	UNION ALL
	SELECT obj, 'policy ' || p.polname, concat_ws(' ', p.polcmd::text, p.polpermissive, p.polroles, pg_get_expr(p.polqual, p.polrelid),
		pg_get_expr(p.polwithcheck, p.polrelid))
	  FROM m JOIN pg_policy p ON m.classid = 'pg_class'::regclass AND p.polrelid = m.objid
	UNION ALL
	SELECT obj, 'view', pg_get_viewdef(m.objid) FROM m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid AND c.relkind = 'v'
	UNION ALL
	SELECT obj, 'sequence', concat_ws(' ', s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
		(SELECT pg_describe_object(dd.refclassid, dd.refobjid, dd.refobjsubid) FROM pg_depend dd
		  WHERE dd.classid = 'pg_class'::regclass AND dd.objid = s.seqrelid AND dd.deptype IN ('a', 'i')))
	  FROM m JOIN pg_sequence s ON m.classid = 'pg_class'::regclass AND s.seqrelid = m.objid
	UNION ALL
	SELECT obj, 'type', concat_ws(' ', t.typnamespace::regnamespace, pg_get_userbyid(t.typowner), t.typtype::text, format_type(t.typbasetype, t.typtypmod),
		t.typnotnull, t.typcollation, t.typacl, (SELECT string_agg(pg_get_constraintdef(c.oid), ', ' ORDER BY c.conname)
											   FROM pg_constraint c WHERE c.contypid = t.oid))
	  FROM m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
	UNION ALL
	SELECT obj, 'opclass', concat_ws(' ', o.opcnamespace::regnamespace, pg_get_userbyid(o.opcowner), o.opcintype::regtype, o.opcdefault,
		(SELECT string_agg(ap.amprocnum || ':' || ap.amproc::regprocedure, ' ' ORDER BY ap.amprocnum) FROM pg_amproc ap WHERE ap.amprocfamily = o.opcfamily),
		(SELECT string_agg(ao.amopstrategy || ':' || ao.amopopr::regoperator, ' ' ORDER BY ao.amopstrategy) FROM pg_amop ao WHERE ao.amopfamily = o.opcfamily))
	  FROM m JOIN pg_opclass o ON m.classid = 'pg_opclass'::regclass AND o.oid = m.objid
	UNION ALL
	SELECT obj, 'opfamily', concat_ws(' ', f.opfnamespace::regnamespace, pg_get_userbyid(f.opfowner))
	  FROM m JOIN pg_opfamily f ON m.classid = 'pg_opfamily'::regclass AND f.oid = m.objid
	UNION ALL
	SELECT obj, 'access method', concat_ws(' ', a.amtype::text, a.amhandler::regprocedure)
	  FROM m JOIN pg_am a ON m.classid = 'pg_am'::regclass AND a.oid = m.objid
	UNION ALL
	SELECT obj, 'event trigger', concat_ws(' ', e.evtevent, e.evtfoid::regprocedure, e.evtenabled::text, e.evttags, pg_get_userbyid(e.evtowner))
	  FROM m JOIN pg_event_trigger e ON m.classid = 'pg_event_trigger'::regclass AND e.oid = m.objid
	UNION ALL
	SELECT obj, 'schema', concat_ws(' ', pg_get_userbyid(n.nspowner), n.nspacl)
	  FROM m JOIN pg_namespace n ON m.classid = 'pg_namespace'::regclass AND n.oid = m.objid
	UNION ALL
	SELECT 'extension partkv', 'config ' || c.cfg::regclass, c.cond
	  FROM pg_extension e, unnest(e.extconfig, e.extcondition) c(cfg, cond) WHERE e.extname = 'partkv'
	UNION ALL
	SELECT 'extension partkv', 'schema partkv', concat_ws(' ', pg_get_userbyid(n.nspowner), n.nspacl, obj_description(n.oid, 'pg_namespace'))
	  FROM pg_namespace n WHERE n.nspname = 'partkv'
	UNION ALL
	SELECT 'extension partkv', 'rows of installation', (SELECT count(*) FROM partkv_internal.installation i
		WHERE i.database_oid = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database()))::text
)
SELECT obj || ' | ' || what || ' | ' || coalesce(val, '<NULL>') FROM lines ORDER BY obj, what, val
SQL

my $node = partkv_node('upgrade_compare');
$node->append_conf('postgresql.conf', "partkv.naptime = '100ms'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

# 0.1, with what it had: a table with a sort key, an LSI and a stream, and
# a table with a GSI.
$node->safe_psql('upgraded', q{CREATE EXTENSION partkv VERSION '0.1'});
$node->safe_psql(
	'upgraded', q{
	SELECT partkv.create_table('orders', 'customer', sort_key => 'id', sort_key_type => 'N', partitions => 2,
							   local_indexes => '[{"IndexName": "by_total", "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "total", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}]',
							   stream_view_type => 'NEW_IMAGE');
	SELECT partkv.create_table('{"TableName": "users", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
		"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "team", "AttributeType": "S"}],
		"GlobalSecondaryIndexes": [{"IndexName": "by_team", "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}],
									"Projection": {"ProjectionType": "ALL"}}]}');
	SELECT partkv.put_item('orders', jsonb_build_object('customer', 'c' || (i % 2), 'id', i, 'total', lpad((i * 10)::text, 3, '0')))
	  FROM generate_series(1, 6) i;
	SELECT partkv.put_item('users', jsonb_build_object('id', 'u' || i, 'team', 't' || (i % 2)))
	  FROM generate_series(1, 4) i;
});

my @versions = ('0.2', '0.3', '0.4', '0.5');
for my $v (@versions)
{
	my ($rc, $out, $err) = $node->psql('upgraded', "ALTER EXTENSION partkv UPDATE TO '$v'");
	is($rc, 0, "ALTER EXTENSION partkv UPDATE TO '$v'") or diag($err);
}
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'partkv'}),
	$versions[-1], 'the updated database is at the current version');

$node->safe_psql('fresh', 'CREATE EXTENSION partkv');
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'partkv'}),
	$versions[-1], 'a fresh install is at the current version');

my @upgraded = split /\n/, $node->safe_psql('upgraded', $describe);
my @fresh = split /\n/, $node->safe_psql('fresh', $describe);
ok(@fresh > 1000, 'the description covers the members (' . scalar(@fresh) . ' lines)');

# lines only one side has (a multi-line value counts line by line)
my (%u, %f);
$u{$_}++ for @upgraded;
$f{$_}++ for @fresh;
my @only_upgraded = grep { ($u{$_} // 0) > ($f{$_} // 0) } sort keys %u;
my @only_fresh = grep { ($f{$_} // 0) > ($u{$_} // 0) } sort keys %f;
ok(!@only_upgraded && !@only_fresh, 'the updated extension equals a fresh install')
  or diag(join("\n", (map { "- upgraded: $_" } @only_upgraded), (map { "+ fresh:    $_" } @only_fresh)));

# what 0.1 stored still serves
item_is($node, 'upgraded', 'orders', '{"customer": "c1", "id": 3}', '{"customer": "c1", "id": 3, "total": "030"}',
	'an item written at 0.1 is read after the update');
$node->safe_psql('upgraded',
	q{SELECT partkv.put_item('orders', '{"customer": "c1", "id": 7, "total": "070"}')});
is( $node->safe_psql(
		'upgraded', q{
	SELECT string_agg(q->>'id', ',') FROM partkv.query('orders', 'customer = :c', '{":c": "c1"}',
													   index_name => 'by_total', scan_forward => false) q}),
	'7,5,3,1', 'a query through the LSI made at 0.1 sees old and new items');
is($node->safe_psql('upgraded', q{SELECT partkv.stream_wait('60s')}), 't', 'the stream worker catches up');
is( $node->safe_psql(
		'upgraded', q{
	SELECT string_agg(r->'dynamodb'->'Keys'->>'id', ',')
	  FROM partkv.stream_records('orders', item_limit => NULL) r
	 WHERE r->'dynamodb'->'Keys'->>'customer' = 'c1'}),
	'1,3,5,7', 'the stream carries the writes made at 0.1 and after the update, in order');
$node->safe_psql('upgraded',
	q{SELECT partkv.put_item('users', '{"id": "u9", "team": "t1"}')});
is($node->safe_psql('upgraded', q{SELECT partkv.wait_for_index('users', 'by_team', '60s')}), 't',
	'the GSI made at 0.1 is active');
is($node->safe_psql('upgraded', q{SELECT partkv.stream_wait('60s')}), 't', 'the GSI worker catches up');
is( $node->safe_psql(
		'upgraded', q{
	SELECT string_agg(q->>'id', ',' ORDER BY q->>'id')
	  FROM partkv.query('users', 'team = :t', '{":t": "t1"}', index_name => 'by_team') q}),
	'u1,u3,u9', 'a query through the GSI made at 0.1 sees old and new items');

$node->stop;
done_testing();
