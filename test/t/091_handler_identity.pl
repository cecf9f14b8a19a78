# 091_handler_identity.pl -- a stream handler runs with exactly its role's
# identity (issue 15, item 5).
#
# A handler records, from inside a call: session_user, current_user,
# is_superuser and its process; every way out it tries -- SET ROLE and SET
# SESSION AUTHORIZATION to a superuser, COPY to a program or a file,
# pg_read_file, pg_ls_dir, lo_import, ALTER ROLE itself SUPERUSER,
# pg_reload_conf, a superuser-only setting, a C function, a temporary table,
# terminating the superuser stream worker, dblink to a superuser (when
# dblink is installed) -- with the error it got.  It then plants functions
# in public that would make it a superuser if partkv's bookkeeping called
# them, and puts public first with SET and with ALTER ROLE ... SET: none of
# them runs, the SET does not outlive the call.  Finally, roles that lose
# what a handler needs (EXECUTE, SELECT, LOGIN, are made superusers,
# dropped) have their handlers disabled with the reason, and never run.
use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PartkvTest;

my $node = partkv_node('handler_identity');
$node->append_conf('postgresql.conf', "partkv.naptime = '100ms'\n");
$node->start;

# as(ROLE, SQL) -- SQL in a session of ROLE in database kv
sub as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('kv', $sql, extra_params => [ '-U', $role ]);
}

my $superuser = $node->safe_psql('postgres', 'SELECT current_user');
$node->safe_psql('postgres', 'CREATE DATABASE kv');
my $dblink = $node->safe_psql('kv',
	q{SELECT count(*) FROM pg_available_extensions WHERE name = 'dblink'}) eq '1';
$node->safe_psql(
	'kv', q{
	CREATE EXTENSION partkv;
	CREATE ROLE hs_app LOGIN;
	CREATE ROLE hs_super SUPERUSER;
	CREATE ROLE hs_nologin;
	GRANT CREATE ON SCHEMA public TO hs_app;
	SELECT partkv.create_table('hs_events', 'id', partitions => 2, stream_view_type => 'NEW_IMAGE') IS NOT NULL;
	GRANT SELECT ON hs_events TO PUBLIC, hs_app;
});
$node->safe_psql('kv', 'CREATE EXTENSION dblink') if $dblink;

# the handler and its traps, all hs_app's
as(
	'hs_app', q{
	CREATE TABLE public.hs_seen (n serial, batch text, what text, result text);
	CREATE TABLE public.hs_traps (what text, who name, su boolean, backend text);
	GRANT INSERT ON public.hs_traps TO PUBLIC;
	CREATE FUNCTION public.hs_trap(what text) RETURNS void LANGUAGE plpgsql AS $t$
	DECLARE
		su boolean := (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user);
	BEGIN
		INSERT INTO public.hs_traps VALUES (what, current_user, su,
			(SELECT a.backend_type FROM pg_catalog.pg_stat_activity a
			  WHERE a.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()));
		IF su THEN
			EXECUTE 'ALTER ROLE hs_app SUPERUSER';
		END IF;
	END;
	$t$;
	CREATE FUNCTION public.hs_try(batch text, what text, sql text) RETURNS void LANGUAGE plpgsql AS $t$
	BEGIN
		EXECUTE sql;
		INSERT INTO public.hs_seen (batch, what, result) VALUES (batch, what, 'allowed');
	EXCEPTION WHEN OTHERS THEN
		INSERT INTO public.hs_seen (batch, what, result) VALUES (batch, what, SQLSTATE || ': ' || SQLERRM);
	END;
	$t$;
	CREATE FUNCTION public.hs_probe(records jsonb) RETURNS void LANGUAGE plpgsql AS $p$
	DECLARE
		r jsonb := records->0->'dynamodb'->'NewImage';
		b text := r->>'id';
	BEGIN
		INSERT INTO public.hs_seen (batch, what, result) VALUES
			(b, 'session_user', session_user),
			(b, 'current_user', current_user),
			(b, 'is_superuser', current_setting('is_superuser')),
			(b, 'backend_type', (SELECT a.backend_type FROM pg_stat_activity a WHERE a.pid = pg_backend_pid())),
			(b, 'search_path', current_setting('search_path'));
		IF r->>'escape' IS NULL THEN
			RETURN;
		END IF;
		PERFORM public.hs_try(b, 'SET ROLE', format('SET ROLE %I', r->>'escape'));
		PERFORM public.hs_try(b, 'SET SESSION AUTHORIZATION', format('SET SESSION AUTHORIZATION %I', r->>'escape'));
		PERFORM public.hs_try(b, 'COPY TO PROGRAM', $$COPY (SELECT 1) TO PROGRAM 'id'$$);
		PERFORM public.hs_try(b, 'COPY TO file', $$COPY (SELECT 1) TO '/tmp/partkv_hs_copy'$$);
		PERFORM public.hs_try(b, 'pg_read_file', $$SELECT pg_read_file('/etc/passwd')$$);
		PERFORM public.hs_try(b, 'pg_ls_dir', $$SELECT pg_ls_dir('/')$$);
		PERFORM public.hs_try(b, 'lo_import', $$SELECT lo_import('/etc/passwd')$$);
		PERFORM public.hs_try(b, 'ALTER ROLE SUPERUSER', 'ALTER ROLE hs_app SUPERUSER');
		PERFORM public.hs_try(b, 'pg_reload_conf', 'SELECT pg_reload_conf()');
		PERFORM public.hs_try(b, 'session_replication_role', 'SET session_replication_role = replica');
		PERFORM public.hs_try(b, 'LANGUAGE c', $$CREATE FUNCTION public.hs_c() RETURNS int LANGUAGE c AS 'libc.so.6', 'getpid'$$);
		PERFORM public.hs_try(b, 'temporary table', 'CREATE TEMP TABLE hs_tmp (x int)');
		PERFORM public.hs_try(b, 'terminate the stream worker', format('SELECT pg_terminate_backend(%s)', r->>'worker'));
		IF r ? 'dblink' THEN
			PERFORM public.hs_try(b, 'dblink', format('SELECT * FROM public.dblink(%L, ''SELECT 1'') AS t(x int)',
													  format('dbname=kv user=%s', r->>'dblink')));
		END IF;
		-- search_path tricks: what partkv runs next in this session must not
		-- find these
		PERFORM public.hs_try(b, 'SET search_path', 'SET search_path = public, pg_catalog');
		PERFORM public.hs_try(b, 'ALTER ROLE SET search_path', 'ALTER ROLE hs_app SET search_path = public, pg_catalog');
	END;
	$p$;

	CREATE FUNCTION public.format(f text, a name, b text) RETURNS text LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('format'); RETURN pg_catalog.format(f, a, b); END $t$;
	CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('now'); RETURN pg_catalog.now(); END $t$;
	CREATE FUNCTION public.to_regclass(t text) RETURNS regclass LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('to_regclass'); RETURN pg_catalog.to_regclass(t); END $t$;
	CREATE FUNCTION public.jsonb_array_length(j jsonb) RETURNS int LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('jsonb_array_length'); RETURN pg_catalog.jsonb_array_length(j); END $t$;
	CREATE FUNCTION public.hs_agg(s jsonb, v jsonb) RETURNS jsonb LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('jsonb_agg'); RETURN COALESCE(s, '[]') OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(v); END $t$;
	CREATE AGGREGATE public.jsonb_agg(jsonb) (SFUNC = public.hs_agg, STYPE = jsonb);
	CREATE FUNCTION public.hs_max(s text, v text) RETURNS text LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('max'); RETURN pg_catalog.greatest(s, v); END $t$;
	CREATE AGGREGATE public.max(text) (SFUNC = public.hs_max, STYPE = text);
	CREATE FUNCTION public.hs_eq(a bigint, b bigint) RETURNS boolean LANGUAGE plpgsql AS
		$t$ BEGIN PERFORM public.hs_trap('='); RETURN a OPERATOR(pg_catalog.=) b; END $t$;
	CREATE OPERATOR public.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.hs_eq);
	SELECT partkv.add_stream_handler('hs_events', 'public.hs_probe', batch_size => 1) IS NOT NULL;
});

my $worker = $node->safe_psql('kv',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'partkv stream worker'});
my $escape = $dblink ? qq{, "dblink": "$superuser"} : '';
$node->safe_psql('kv',
	qq{SELECT partkv.put_item('hs_events', '{"id": "1", "escape": "$superuser", "worker": $worker$escape}')});
$node->safe_psql('kv', q{SELECT partkv.put_item('hs_events', '{"id": "2"}')});
is($node->safe_psql('kv', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'the handler ran');

# seen(BATCH, WHAT) -- what the handler recorded
sub seen
{
	my ($batch, $what) = @_;
	return $node->safe_psql('kv',
		qq{SELECT string_agg(result, '; ') FROM public.hs_seen WHERE batch = '$batch' AND what = '$what'});
}

# 1. identity
is(seen('1', 'session_user'), 'hs_app', 'session_user is the registering role');
is(seen('1', 'current_user'), 'hs_app', 'current_user is the registering role');
is(seen('1', 'is_superuser'), 'off', 'is_superuser is off');
is(seen('1', 'backend_type'), 'partkv stream handler worker',
	'the handler runs in a handler worker of its own');

# 2. every way out is refused
for my $what (
	'SET ROLE', 'SET SESSION AUTHORIZATION', 'COPY TO PROGRAM', 'COPY TO file',
	'pg_read_file', 'pg_ls_dir', 'lo_import', 'ALTER ROLE SUPERUSER',
	'pg_reload_conf', 'session_replication_role', 'LANGUAGE c', 'temporary table',
	'terminate the stream worker')
{
	like(seen('1', $what), qr/^42501: /, "refused: $what");
}
SKIP:
{
	skip 'dblink is not installed', 1 unless $dblink;
	like(seen('1', 'dblink'), qr/password is required/, 'refused: dblink to a superuser');
}
isnt($node->safe_psql('kv', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'partkv stream worker'}),
	'0', 'the stream worker is still there');

# 3. search_path tricks: the SET lasts for the call only; partkv's own SQL in
# the handler worker never finds the traps, not even in a session whose
# role puts public first
is(seen('1', 'SET search_path'), 'allowed', 'a handler may SET search_path ...');
is(seen('2', 'search_path'), '"$user", public', '... for its call only');
is(seen('1', 'ALTER ROLE SET search_path'), 'allowed', 'a handler may change its role\'s settings');
$node->safe_psql('kv',
	q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'partkv stream handler worker'});
$node->safe_psql('kv', q{SELECT partkv.put_item('hs_events', '{"id": "3"}')});
is($node->safe_psql('kv', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'the handler ran again');
is(seen('3', 'search_path'), 'public, pg_catalog', 'in a new session of its role, public first');
is($node->safe_psql('kv', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'hs_app'}),
	'f', 'hs_app did not become a superuser');
is( $node->safe_psql(
		'kv', q{SELECT count(*) FROM public.hs_traps WHERE su OR backend = 'partkv stream handler worker'}),
	'0',
	'no trap ran as a superuser, nor in the handler worker');

# 4. a role that lost what a handler needs has its handlers disabled, with
# the reason, and they do not run
as(
	'hs_app', q{
	CREATE TABLE public.hs_counts (who name);
	GRANT INSERT ON public.hs_counts TO PUBLIC;
	CREATE FUNCTION public.hs_count(records jsonb) RETURNS void LANGUAGE sql
		AS $$ INSERT INTO public.hs_counts VALUES (current_user) $$;
});
my ($rc, $out, $err) = $node->psql('kv',
	q{SET ROLE hs_nologin; SELECT partkv.add_stream_handler('hs_events', 'public.hs_count')});
like($err, qr/role "hs_nologin" cannot log in to this database/,
	'a role that cannot log in cannot register a handler');

my %cases = (
	hs_exec => [
		q{REVOKE EXECUTE ON FUNCTION public.hs_count_hs_exec(jsonb) FROM PUBLIC},
		qr/^disabled: role "hs_exec" may not execute stream handler/
	],
	hs_select => [
		q{REVOKE SELECT ON hs_events FROM PUBLIC, hs_select},
		qr/^disabled: role "hs_select" may not read the table of stream handler/
	],
	hs_login => [
		q{ALTER ROLE hs_login NOLOGIN},
		qr/^disabled: role "hs_login" cannot log in/
	],
	hs_su => [
		q{ALTER ROLE hs_su SUPERUSER},
		qr/^disabled: stream handlers do not run as a superuser \(role "hs_su"\)/
	],
	hs_gone => [
		q{DROP OWNED BY hs_gone; DROP ROLE hs_gone},
		qr/^disabled: role "hs_gone" does not exist/
	],);
for my $role (sort keys %cases)
{
	$node->safe_psql(
		'kv', qq{
		CREATE ROLE $role LOGIN;
		GRANT SELECT ON hs_events TO $role;
		SET ROLE hs_app;
		CREATE FUNCTION public.hs_count_$role(records jsonb) RETURNS void LANGUAGE sql
			AS \$\$ SELECT public.hs_count(records) \$\$;
	});
	as($role, qq{SELECT partkv.add_stream_handler('hs_events', 'public.hs_count_$role')});
}
$node->safe_psql('kv', q{SELECT partkv.put_item('hs_events', '{"id": "4"}')});
is($node->safe_psql('kv', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'the handlers ran');
for my $role (sort keys %cases)
{
	$node->safe_psql('kv', $cases{$role}[0]);
}
$node->safe_psql('kv', q{SELECT partkv.put_item('hs_events', '{"id": "5"}')});
for my $role (sort keys %cases)
{
	ok( $node->poll_query_until(
			'kv', qq{SELECT NOT enabled FROM partkv.stream_handlers WHERE handler = 'public.hs_count_$role'::regproc}),
		"$role: the handler is disabled");
	like(
		$node->safe_psql('kv',
			qq{SELECT last_error FROM partkv.stream_handlers WHERE handler = 'public.hs_count_$role'::regproc}),
		$cases{$role}[1],
		"$role: and says why");
}
is($node->safe_psql('kv', q{SELECT partkv.stream_handlers_wait('60s')}), 't', 'the other handlers ran');
is( $node->safe_psql(
		'kv', q{SELECT string_agg(who || ':' || n, ', ' ORDER BY who)
				 FROM (SELECT who, count(*) n FROM public.hs_counts GROUP BY who) c}),
	'hs_exec:1, hs_gone:1, hs_login:1, hs_select:1, hs_su:1',
	'none of them ran after losing what it needs');
is($node->safe_psql('kv', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'hs_app'}),
	'f', 'hs_app is still no superuser');

$node->stop;
done_testing();
