# 090_search_path_attack.pl -- nothing partkv runs with a superuser's rights
# reaches a user's object (issue 15, item 2).
#
# An unprivileged role that may CREATE in public (the default before
# PostgreSQL 15, kept by pg_upgrade) plants functions, an aggregate and an
# operator that better match the calls partkv's workers make, and a
# non-superuser database owner puts public before pg_catalog with ALTER
# DATABASE ... SET search_path and plants exact look-alikes of pg_catalog's.
# Each trap logs who ran it, and makes its planter a superuser when run by
# one.  The planters then use every worker: a stream with a handler that
# fails and is retried (back-off) into a dead letter, TTL, a GSI whose
# storage carries their trigger and index expression, maintained by the GSI
# worker and backfilled.  Passes when neither became a superuser, no trap
# ran as a superuser, the search_path traps never ran in a partkv worker,
# and the planters' own objects on their tables ran there only with their
# owner's rights.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('search_path');
$node->append_conf(
	'postgresql.conf', q{
partkv.naptime = '100ms'
partkv.ttl_interval = '1s'
});
$node->start;

# as(DB, ROLE, SQL) -- SQL in a session of ROLE
sub as
{
	my ($db, $role, $sql) = @_;
	return $node->safe_psql($db, $sql, extra_params => [ '-U', $role ]);
}

# The traps, in schema public.  trap(what) logs a call and, when the caller
# is a superuser, makes the planter ($1 of plant_traps) one.
sub plant_traps
{
	my ($db, $role, $exact) = @_;
	my $sql = qq{
	-- who: the current user; session: the session's user (a worker's is a
	-- superuser); backend: hidden (NULL) from a user in another's session
	CREATE TABLE public.attack_log (at timestamptz DEFAULT pg_catalog.clock_timestamp(), what text,
									who name, su boolean, session name, session_su boolean, backend text);
	GRANT INSERT ON public.attack_log TO PUBLIC;
	CREATE FUNCTION public.trap(what text) RETURNS void LANGUAGE plpgsql AS \$t\$
	DECLARE
		su boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user);
	BEGIN
		INSERT INTO public.attack_log (what, who, su, session, session_su, backend)
		VALUES (what, current_user, su, session_user,
				(SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) session_user),
				(SELECT a.backend_type FROM pg_catalog.pg_stat_activity a
				  WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()));
		IF su THEN
			EXECUTE 'ALTER ROLE $role SUPERUSER';
		END IF;
	END;
	\$t\$;
	GRANT EXECUTE ON FUNCTION public.trap(text) TO PUBLIC;

	-- better matches than pg_catalog's (variadic, polymorphic, casts needed)
	CREATE FUNCTION public.format(f text, a name, b text) RETURNS text LANGUAGE plpgsql AS
		\$t\$ BEGIN PERFORM public.trap('format'); RETURN pg_catalog.format(f, a, b); END \$t\$;
	CREATE FUNCTION public.make_interval(secs integer) RETURNS interval LANGUAGE plpgsql AS
		\$t\$ BEGIN PERFORM public.trap('make_interval'); RETURN pg_catalog.make_interval(secs => secs); END \$t\$;
	CREATE FUNCTION public.trap_agg(s jsonb, v jsonb) RETURNS jsonb LANGUAGE plpgsql AS
		\$t\$ BEGIN PERFORM public.trap('jsonb_agg'); RETURN COALESCE(s, '[]') OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(v); END \$t\$;
	CREATE AGGREGATE public.jsonb_agg(jsonb) (SFUNC = public.trap_agg, STYPE = jsonb);
	CREATE FUNCTION public.trap_pow(a integer, b integer) RETURNS double precision LANGUAGE plpgsql AS
		\$t\$ BEGIN PERFORM public.trap('^'); RETURN pg_catalog.power(a, b); END \$t\$;
	CREATE OPERATOR public.^ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = public.trap_pow);
	};
	$sql .= q{
	-- the same signatures as pg_catalog's: found first only when public
	-- comes first in search_path
	CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.trap('now'); RETURN pg_catalog.now(); END $t$;
	CREATE FUNCTION public.to_regclass(t text) RETURNS regclass LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.trap('to_regclass'); RETURN pg_catalog.to_regclass(t); END $t$;
	CREATE FUNCTION public.trap_max(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.trap('max'); RETURN pg_catalog.greatest(s, v); END $t$;
	CREATE AGGREGATE public.max(bigint) (SFUNC = public.trap_max, STYPE = bigint);
	CREATE FUNCTION public.trap_contains(a jsonb, b jsonb) RETURNS boolean LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.trap('@>'); RETURN a OPERATOR(pg_catalog.@>) b; END $t$;
	CREATE OPERATOR public.@> (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = public.trap_contains);
	} if $exact;
	as($db, $role, $sql);
	return;
}

# use_workers(DB, ROLE, TABLE) -- ROLE makes TABLE (stream, handler, TTL,
# two GSIs whose storage has ROLE's trigger and index expression: one kept
# by the stream, one backfilled) and writes to it until each worker has
# done its part.
sub use_workers
{
	my ($db, $role, $table) = @_;
	as(
		$db, $role, qq{
	CREATE TABLE public.${table}_seen (n int);
	CREATE FUNCTION public.${table}_handle(records jsonb) RETURNS void LANGUAGE plpgsql AS \$h\$
	BEGIN
		IF pg_catalog.jsonb_path_exists(records, '\$[*].dynamodb.NewImage.boom') THEN
			RAISE EXCEPTION 'boom';
		END IF;
		INSERT INTO public.${table}_seen SELECT pg_catalog.jsonb_array_length(records);
	END;
	\$h\$;
	-- the owner's own code on the GSI storage
	CREATE FUNCTION public.${table}_gsi_row() RETURNS trigger LANGUAGE plpgsql AS
		\$t\$ BEGIN PERFORM public.trap('gsi trigger'); RETURN NEW; END \$t\$;
	CREATE FUNCTION public.${table}_gsi_key(item jsonb) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
		\$t\$ BEGIN PERFORM public.trap('gsi index expression'); RETURN item OPERATOR(pg_catalog.->>) 'g'; END \$t\$;
	SELECT partkv.create_table('{"TableName": "$table", "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
		"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
		"GlobalSecondaryIndexes": [{"IndexName": "by_g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
									"Projection": {"ProjectionType": "ALL"}}],
		"StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_IMAGE"}}') IS NOT NULL;
	SELECT partkv.update_time_to_live('$table', 'exp') IS NOT NULL;
	SELECT partkv.add_stream_handler('$table', 'public.${table}_handle', batch_size => 5, max_attempts => 2) IS NOT NULL;
	CREATE TRIGGER gsi_row BEFORE INSERT ON public.${\ storage($table, 'by_g')}
		FOR EACH ROW EXECUTE FUNCTION public.${table}_gsi_row();
	CREATE INDEX ON public.${\ storage($table, 'by_g')} (public.${table}_gsi_key(item));
	});
	as(
		$db, $role, qq{
	SELECT pg_catalog.count(partkv.put_item('$table',
		pg_catalog.jsonb_build_object('id', 'i' OPERATOR(pg_catalog.||) i, 'g', 'g' OPERATOR(pg_catalog.||) (i OPERATOR(pg_catalog.%) 3))))
	  FROM pg_catalog.generate_series(1, 12) i;
	SELECT partkv.put_item('$table', '{"id": "bomb", "boom": true}');
	SELECT partkv.put_item('$table', pg_catalog.jsonb_build_object('id', 'old', 'exp',
		pg_catalog.date_part('epoch', pg_catalog.now())::bigint OPERATOR(pg_catalog.-) 60));
	});
	# a GSI added to a table with items is backfilled, through storage that
	# already has its owner's trigger
	as(
		$db, $role, qq{
	BEGIN;
	SELECT partkv.update_table('$table', '{"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"},
		{"AttributeName": "g", "AttributeType": "S"}],
		"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_g2",
		"KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "id", "KeyType": "RANGE"}],
		"Projection": {"ProjectionType": "KEYS_ONLY"}}}]}') IS NOT NULL;
	CREATE TRIGGER gsi_row BEFORE INSERT ON public.${\ storage($table, 'by_g2')}
		FOR EACH ROW EXECUTE FUNCTION public.${table}_gsi_row();
	COMMIT;
	});
	is(as($db, $role, qq{SELECT partkv.wait_for_index('$table', 'by_g2', '60s')}),
		't', "$db: the GSI is backfilled");
	is(as($db, $role, qq{SELECT partkv.stream_handlers_wait('60s')}),
		't', "$db: the handler caught up");
	ok( $node->poll_query_until(
			$db, qq{SELECT pg_catalog.count(*) FROM partkv.dead_letters d
					 WHERE d.handler OPERATOR(pg_catalog.=) 'public.${table}_handle'::pg_catalog.regproc},
			'1'),
		"$db: the failing batch was retried into a dead letter");
	ok( $node->poll_query_until(
			$db, qq{SELECT partkv.get_item('$table', '{"id": "old"}') IS NULL}),
		"$db: TTL deleted the expired item");
	is( as(
			$db, $role,
			qq{SELECT pg_catalog.count(*) FROM partkv.query('$table', 'g = :g', '{":g": "g1"}', index_name => 'by_g')}
		),
		'4',
		"$db: the GSI is maintained");
	return;
}

# storage(TABLE, INDEX) -- the name of a GSI's storage table
sub storage
{
	my ($table, $index) = @_;
	return $node->safe_psql('postgres', qq{SELECT partkv_storage_name('$table', '$index')});
}

# check_traps(DB, ROLE) -- what a superuser worker or session must never
# have run
sub check_traps
{
	my ($db, $role) = @_;
	is($node->safe_psql('postgres', qq{SELECT rolsuper FROM pg_roles WHERE rolname = '$role'}),
		'f', "$db: $role did not become a superuser");
	my $log = as($db, $role,
		q{SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', a.what, 'as', a.who, 'in a session of', a.session,
															a.backend), E'\n')
			FROM public.attack_log a});
	note("$db: traps run:\n$log");
	is( as(
			$db, $role,
			q{SELECT pg_catalog.count(*) FROM public.attack_log a WHERE a.su OR a.who OPERATOR(pg_catalog.<>) current_user}),
		'0',
		"$db: no trap ran as a superuser or as any role but its planter");
	is( as(
			$db, $role,
			q{SELECT pg_catalog.count(*) FROM public.attack_log a
			   WHERE (a.session OPERATOR(pg_catalog.<>) current_user
					  OR a.backend IS DISTINCT FROM 'client backend')
				 AND a.what OPERATOR(pg_catalog.<>) ALL (ARRAY['gsi trigger', 'gsi index expression'])}),
		'0',
		"$db: search_path traps ran in ${role}'s own sessions only, never in a partkv worker");
	is( as(
			$db, $role,
			q{SELECT pg_catalog.string_agg(DISTINCT pg_catalog.concat_ws(' ', a.what, 'as', a.who), ', ')
				FROM public.attack_log a WHERE a.session_su}),
		"gsi index expression as $role, gsi trigger as $role",
		"$db: the owner's trigger and index expression on GSI storage ran in a worker, with the owner's rights");
	return;
}

# a helper for storage() that needs no extension in database postgres
$node->safe_psql(
	'postgres', q{
	CREATE FUNCTION partkv_storage_name(table_name text, index_name text) RETURNS text
	LANGUAGE sql IMMUTABLE AS $$ SELECT left(table_name, 46) || '_g' || left(md5(index_name), 8) $$;
});

# 1. a role that may create in public
$node->safe_psql('postgres', q{CREATE DATABASE pub});
$node->safe_psql(
	'pub', q{
	CREATE EXTENSION partkv;
	CREATE ROLE mallory LOGIN;
	GRANT CREATE ON SCHEMA public TO mallory;
});
plant_traps('pub', 'mallory', 0);
use_workers('pub', 'mallory', 'mtab');
check_traps('pub', 'mallory');

# 2. a database owner who is no superuser puts public first for every
# session of the database (the workers connect again at the restart)
$node->safe_psql(
	'postgres', q{
	CREATE ROLE dbo LOGIN;
	CREATE DATABASE own OWNER dbo;
});
$node->safe_psql('own', q{CREATE EXTENSION partkv});
plant_traps('own', 'dbo', 1);
as('own', 'dbo', q{ALTER DATABASE own SET search_path = public, pg_catalog});
$node->restart;
is(as('own', 'dbo', 'SHOW search_path'), 'public, pg_catalog', 'own: the database puts public first');
use_workers('own', 'dbo', 'otab');
check_traps('own', 'dbo');

$node->stop;
done_testing();
