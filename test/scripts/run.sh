#!/bin/bash
#
# run.sh -- `make run`: start (or reuse) the local partkv cluster in .run/pg,
# create database partkv with the extension and the demo table, and open psql
# on it.  Dependencies are installed and the extension built and installed by
# the make target before this runs.
#
# The server listens on a unix socket in .run/pg only (no TCP).  As root, it
# runs as the postgres system user (initdb refuses root) and root connects
# with a superuser role of its own.

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/common.sh"

base=$(prepare_run_base)
data=$base/data
conf=$data/partkv-run.conf
log=$base/server.log
role=$(client_role)
logdir=$PARTKV_ROOT/.run/log
mkdir -p "$logdir"

psql_run() {
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 \
		-h "$base" -p "$RUN_PORT" -U "$role" "$@"
}

# 1. Cluster.
if [ ! -f "$data/PG_VERSION" ]; then
	note "creating cluster in $data"
	make_server_dir "$data"
	quietly "$logdir/initdb.log" as_server_user "$PG_BINDIR/initdb" -D "$data" \
		-E UTF8 --locale=C --auth-local=peer --auth-host=scram-sha-256 ||
		die "initdb failed"
	echo "include_if_exists = 'partkv-run.conf'" |
		as_server_user tee -a "$data/postgresql.conf" >/dev/null
fi

# The settings make run manages, rewritten on every run: test/partkv.conf
# (what the test instances use) plus where to listen.
new_conf=$(
	echo "# Written by test/scripts/run.sh (make run); edits are overwritten."
	grep -v '^[[:space:]]*#' "$PARTKV_ROOT/test/partkv.conf" | grep -v '^[[:space:]]*$'
	echo "listen_addresses = ''"
	echo "unix_socket_directories = '$base'"
	echo "port = $RUN_PORT"
)
conf_changed=false
if [ "$(cat "$conf" 2>/dev/null || true)" != "$new_conf" ]; then
	printf '%s\n' "$new_conf" | as_server_user tee "$conf" >/dev/null
	conf_changed=true
fi

# 2. Server: start it, or restart it when its settings or the installed
# library changed since it started (the library is preloaded; make install
# rewrites it every time, so compare contents, not dates).
so_sum=$(cksum <"$("$PG_CONFIG" --pkglibdir)/partkv.so")
so_sum_file=$PARTKV_ROOT/.run/loaded-partkv.so.cksum
if run_is_up; then
	if $conf_changed || [ "$(cat "$so_sum_file" 2>/dev/null || true)" != "$so_sum" ]; then
		note "restarting the server (new settings or a new partkv.so)"
		quietly "$logdir/pg_ctl.log" pg_ctl_run -w -l "$log" restart -m fast ||
			die "server restart failed; see $log"
	fi
else
	quietly "$logdir/pg_ctl.log" pg_ctl_run -w -l "$log" start ||
		{ tail -n 30 "$log" >&2; die "server start failed; see $log"; }
fi
echo "$so_sum" >"$so_sum_file"

# 3. Our role (root only: the bootstrap superuser is postgres), database,
# extension, demo data.
if is_root; then
	as_server_user psql -X -q -v ON_ERROR_STOP=1 -h "$base" -p "$RUN_PORT" -U postgres -d postgres \
		-v role="$role" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I SUPERUSER LOGIN', :'role')
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SQL
fi
psql_run -d postgres >/dev/null <<'SQL'
SELECT 'CREATE DATABASE partkv'
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'partkv') \gexec
SQL
psql_run -d partkv -c 'CREATE EXTENSION IF NOT EXISTS partkv' ||
	die "CREATE EXTENSION partkv failed"
psql_run -d partkv -f "$PARTKV_ROOT/test/run-demo.sql" >/dev/null ||
	die "loading test/run-demo.sql failed"

# 4. partkv-server, the DynamoDB endpoint, on 127.0.0.1:8000 (PARTKV_HTTP_PORT),
# without authentication (local development, as DynamoDB Local); restarted
# on every run so that it is the binary just installed.
http_port=${PARTKV_HTTP_PORT:-8000}
http_pid=$PARTKV_ROOT/.run/partkv-server.pid
if [ -f "$http_pid" ] && kill -0 "$(cat "$http_pid")" 2>/dev/null; then
	kill -TERM "$(cat "$http_pid")"
	for _ in $(seq 50); do kill -0 "$(cat "$http_pid")" 2>/dev/null || break; sleep 0.1; done
fi
nohup "$PG_BINDIR/partkv-server" --auth none -h 127.0.0.1 -p "$http_port" \
	-d "host=$base port=$RUN_PORT dbname=partkv user=$role" --pidfile "$http_pid" \
	>>"$logdir/partkv-server.log" 2>&1 </dev/null &
for _ in $(seq 50); do [ -s "$http_pid" ] && break; sleep 0.1; done
[ -s "$http_pid" ] || { tail -n 5 "$logdir/partkv-server.log" >&2; die "partkv-server did not start; see $logdir/partkv-server.log"; }
note "DynamoDB endpoint: http://127.0.0.1:$http_port (log: $logdir/partkv-server.log); try:"
note "  aws dynamodb list-tables --endpoint-url http://127.0.0.1:$http_port"

# 5. psql, or how to get there when there is no terminal (CI).  .run/env
# lets other tools (psql, pg_dump, pgbench) find the cluster:
# `. .run/env && psql`.
printf 'export PGHOST=%q PGPORT=%q PGDATABASE=partkv\n' "$base" "$RUN_PORT" \
	>"$PARTKV_ROOT/.run/env"
connect="psql -h $base -p $RUN_PORT -d partkv  (or: . .run/env && psql)"
if [ -t 0 ] && [ -t 1 ]; then
	note "server log: $log; stop it with 'make stop'"
	exec psql -h "$base" -p "$RUN_PORT" -U "$role" -d partkv
fi
note "partkv is running; connect with: $connect"
note "try: SELECT partkv.get_item('demo_orders', '{\"customer_id\":\"c1\",\"order_id\":\"o1\"}');"
note "stop it with 'make stop'"
