#!/bin/bash
#
# endpoint.sh -- `make bench`'s endpoint workloads (issue 17): GetItem, PutItem
# and a Query of 10 items sent over keep-alive HTTP connections by wrk to
# partkv-server (--auth none), compared in the same run with the same work
# through pgbench -M prepared calling (a) the partkv.* SQL functions and
# (b) partkv.dynamodb() (the wire JSON without HTTP), and with dynalite (npm)
# driven by the same wrk script on the same items.  Prints tps, p50/p99
# latency, the ratios, and partkv-server's RSS during the runs; writes it all
# to test/bench/out/endpoint.txt.  docs/BENCHMARKS.md ("Endpoint") describes it.
#
# Environment:
#   BENCH_ENDPOINT_SECONDS  duration of each run (default 20)
#   BENCH_ROUNDS            rounds of (endpoint, pgbench, pgbench dynamodb(),
#                           dynalite), taken in turn; medians shown (default 1)
#   BENCH_CLIENTS           connections of wrk and pgbench -c (default 4); wrk
#                           and pgbench use BENCH_THREADS threads (default 2);
#                           partkv-server gets as many database connections
#   BENCH_ENDPOINT_ITEMS    items (default 20000; 10 sort keys per partition key)
#   BENCH_ENDPOINT_WORKLOADS  subset of "get_item put_item query"
#   BENCH_DYNALITE          0 to leave dynalite out; BENCH_DYNALITE_DIR where
#                           dynalite@4.0.0 is (default test/bench/.dynalite,
#                           npm-installed there when missing)
#   BENCH_SOAK              seconds of a soak run after the table (get_item and
#                           put_item alternating every 30 s against the
#                           endpoint) reporting partkv-server's RSS every 10 s

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

bench_dir=$PARTKV_ROOT/test/bench
out_dir=$bench_dir/out
seconds=${BENCH_ENDPOINT_SECONDS:-20}
rounds=${BENCH_ROUNDS:-1}
clients=${BENCH_CLIENTS:-4}
threads=${BENCH_THREADS:-2}
items=${BENCH_ENDPOINT_ITEMS:-20000}
soak=${BENCH_SOAK:-0}
sort_keys=10
partition_keys=$((items / sort_keys))
port=${BENCH_PORT:-5433}
http_port=${BENCH_HTTP_PORT:-8433}
dynalite_port=${BENCH_DYNALITE_PORT:-8434}
read -r -a workloads <<<"${BENCH_ENDPOINT_WORKLOADS:-get_item put_item query}"
use_dynalite=${BENCH_DYNALITE:-1}
dynalite_dir=${BENCH_DYNALITE_DIR:-$bench_dir/.dynalite}
mkdir -p "$out_dir"
command -v wrk >/dev/null || die "wrk is missing (make deps installs it)"
[ -x "$PG_BINDIR/partkv-server" ] || die "$PG_BINDIR/partkv-server is missing (make install)"

if [ "$use_dynalite" = 1 ] && [ ! -f "$dynalite_dir/node_modules/dynalite/cli.js" ]; then
	# npm from Debian unless some npm (e.g. NodeSource's nodejs, which
	# conflicts with Debian's npm package) is there already
	if ! command -v npm >/dev/null; then
		PARTKV_EXTRA_PACKAGES=npm "$PARTKV_ROOT/test/install-deps.sh" ||
			die "npm could not be installed: install it, or set BENCH_DYNALITE=0"
	fi
	note "installing dynalite@4.0.0 into $dynalite_dir"
	mkdir -p "$dynalite_dir"
	quietly "$out_dir/npm.log" npm install --prefix "$dynalite_dir" --no-audit --no-fund dynalite@4.0.0 ||
		die "npm install dynalite failed (log: $out_dir/npm.log)"
fi

tmp=$(mktemp -d /tmp/partkv-bench-endpoint.XXXXXX)
data=$tmp/data
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	if [ -f "$tmp/server.pid" ]; then
		kill "$(cat "$tmp/server.pid")" 2>/dev/null || true
	fi
	if [ -f "$data/postmaster.pid" ]; then
		as_server_user pg_ctl -D "$data" -w stop -m immediate >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r "$bench_dir/endpoint" "$bench_dir/workloads" "$tmp/"
if is_root; then
	chown -R postgres:postgres "$tmp"
fi

note "starting a temporary cluster in $tmp"
quietly "$out_dir/initdb.log" as_server_user initdb -D "$data" -E UTF8 --locale=C -A trust ||
	die "initdb failed"
{
	grep -v '^[[:space:]]*#' "$PARTKV_ROOT/test/partkv.conf" | grep -v '^[[:space:]]*$'
	cat <<CONF
listen_addresses = ''
unix_socket_directories = '$tmp'
port = $port
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 30min
synchronous_commit = off
CONF
} | as_server_user tee -a "$data/postgresql.conf" >/dev/null
quietly "$out_dir/pg_ctl.log" as_server_user pg_ctl -D "$data" -l "$tmp/server.log" -w start ||
	{ tail -n 30 "$tmp/server.log" >&2 || true; die "server start failed"; }
psql_b() {
	as_server_user psql -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" "$@"
}
psql_b -d postgres -c 'CREATE DATABASE bench' >/dev/null
note "loading $items items"
quietly "$out_dir/endpoint-setup.log" psql_b -d bench -v partition_keys="$partition_keys" \
	-v sort_keys="$sort_keys" -f "$tmp/endpoint/setup.sql" || die "setup failed"

# wait_port PORT -- until something listens on 127.0.0.1:PORT (10 s at most)
wait_port() {
	local i
	for ((i = 0; i < 100; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "nothing listens on port $1"
}

as_server_user "$PG_BINDIR/partkv-server" -p "$http_port" -h 127.0.0.1 --auth none -j "$clients" \
	--log-level warn --pidfile "$tmp/server.pid" -d "host=$tmp port=$port dbname=bench" \
	>"$out_dir/partkv-server.log" 2>&1 &
pids+=($!)
wait_port "$http_port"
server_pid=$(cat "$tmp/server.pid")

if [ "$use_dynalite" = 1 ]; then
	node "$dynalite_dir/node_modules/dynalite/cli.js" --port "$dynalite_port" --createTableMs 0 \
		>"$out_dir/dynalite.log" 2>&1 &
	pids+=($!)
	wait_port "$dynalite_port"
	note "loading $items items into dynalite"
	python3 "$bench_dir/endpoint/load_dynalite.py" "http://127.0.0.1:$dynalite_port" \
		"$partition_keys" "$sort_keys" || die "loading dynalite failed"
fi

# both hold the same item
get_c1() {
	curl -s -X POST "http://127.0.0.1:$1/" -H 'Content-Type: application/x-amz-json-1.0' \
		-H 'X-Amz-Target: DynamoDB_20120810.GetItem' -H 'X-Amz-Date: 20260101T000000Z' \
		-H 'Authorization: AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00' \
		-d '{"TableName": "bench", "Key": {"pk": {"S": "c1"}, "sk": {"S": "s1"}}}' |
		python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'
}
c1=$(get_c1 "$http_port")
case $c1 in *'"payload": {"S": "'*) ;; *) die "partkv-server's GetItem answered: $c1" ;; esac
if [ "$use_dynalite" = 1 ] && [ "$(get_c1 "$dynalite_port")" != "$c1" ]; then
	die "dynalite and partkv-server hold different items: $(get_c1 "$dynalite_port") / $c1"
fi

# rss_kb -- partkv-server's resident set, kB
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status" 2>/dev/null || echo 0
}

# wrk_run WORKLOAD PORT LOG -- "tps p50 p99" (ms) of one wrk run
wrk_run() {
	local w=$1 log=$3
	BENCH_OP=$w BENCH_PARTITION_KEYS=$partition_keys BENCH_SORT_KEYS=$sort_keys \
		wrk -t "$threads" -c "$clients" -d "${seconds}s" --latency -s "$tmp/endpoint/endpoint.lua" \
		"http://127.0.0.1:$2/" >"$log" 2>&1 || die "wrk failed (log: $log)"
	if grep -q 'Non-2xx or 3xx responses' "$log"; then
		die "wrk: error responses (log: $log)"
	fi
	awk 'function ms(v) {
			if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
			if (v ~ /m$/) return v * 60000; return v * 1000 }
		 /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) } /^Requests\/sec:/ { tps = $2 }
		 END { printf "%.0f %.2f %.2f\n", tps, p50, p99 }' "$log"
}

# pgbench_run SCRIPT LOG -- "tps p50 p99" (ms) of one pgbench run
pgbench_run() {
	local script=$1 log=$2 lat=$tmp/lat
	as_server_user rm -rf "$lat"
	as_server_user mkdir "$lat"
	quietly "$log" as_server_user env -C "$lat" pgbench -h "$tmp" -p "$port" -n -M prepared -c "$clients" \
		-j "$threads" -T "$seconds" -l -D partition_keys="$partition_keys" -D sort_keys="$sort_keys" \
		-f "$script" bench || die "pgbench failed for $script (log: $log)"
	if grep -Eq '^number of failed transactions: [1-9]' "$log"; then
		die "pgbench reported failed transactions for $script (log: $log)"
	fi
	local tps
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log" | head -n 1)
	cat "$lat"/pgbench_log.* | awk '{ print $3 / 1000 }' | sort -g | awk -v tps="$tps" '
		{ v[NR] = $1 }
		END { i = int(NR * 0.99); if (i < 1) i = 1
			  printf "%.0f %.2f %.2f\n", tps, v[int((NR + 1) * 0.5)], v[i] }'
}

# median N... -- the lower middle one
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# rss sampling while the endpoint runs: start, end, max
rss_start=$(rss_kb)
rss_file=$tmp/rss
(while :; do rss_kb; sleep 0.5; done) >"$rss_file" &
sampler=$!
pids+=("$sampler")

rm -f "$out_dir"/endpoint-*.log
results=()
for w in "${workloads[@]}"; do
	note "$w: endpoint, pgbench SQL function, pgbench dynamodb(), dynalite (${seconds}s each, $rounds round(s))"
	e=() s=() d=() y=()
	for ((r = 1; r <= rounds; r++)); do
		e+=("$(wrk_run "$w" "$http_port" "$out_dir/endpoint-wrk-$w-$r.log")")
		s+=("$(pgbench_run "$tmp/workloads/$w/partkv.sql" "$out_dir/endpoint-pgbench-$w-$r.log")")
		d+=("$(pgbench_run "$tmp/endpoint/$w.sql" "$out_dir/endpoint-pgbench-dynamodb-$w-$r.log")")
		if [ "$use_dynalite" = 1 ]; then
			y+=("$(wrk_run "$w" "$dynalite_port" "$out_dir/endpoint-dynalite-$w-$r.log")")
		else
			y+=("0 0 0")
		fi
	done
	# medians of each column, independently
	row=$w
	for set in e s d y; do
		declare -n arr=$set
		for col in 1 2 3; do
			row+=" $(median $(printf '%s\n' "${arr[@]}" | awk -v c=$col '{ print $c }'))"
		done
		unset -n arr
	done
	results+=("$row")
	raw+=("$w: endpoint ${e[*]// /\/} | pgbench ${s[*]// /\/} | dynamodb() ${d[*]// /\/} | dynalite ${y[*]// /\/}")
done
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
rss_end=$(rss_kb)
rss_max=$(sort -g "$rss_file" | tail -n 1)

table=$(
	printf "%-9s %22s %22s %22s %22s %9s %10s\n" workload "endpoint: tps p50 p99" "pgbench SQL function" \
		"pgbench dynamodb()" "dynalite" "e/pgbench" "e/dynalite"
	for r in "${results[@]}"; do
		read -r w et ep50 ep99 st sp50 sp99 dt dp50 dp99 yt yp50 yp99 <<<"$r"
		awk -v w="$w" -v et="$et" -v ep50="$ep50" -v ep99="$ep99" -v st="$st" -v sp50="$sp50" \
			-v sp99="$sp99" -v dt="$dt" -v dp50="$dp50" -v dp99="$dp99" -v yt="$yt" -v yp50="$yp50" \
			-v yp99="$yp99" 'BEGIN {
			vs = "-"
			if (yt > 0) vs = sprintf("%.1f", et / yt)
			printf "%-9s %8.0f %6.2f %6.2f %8.0f %6.2f %6.2f %8.0f %6.2f %6.2f %8.0f %6.2f %6.2f %9.2f %9s\n",
				w, et, ep50, ep99, st, sp50, sp99, dt, dp50, dp99, yt, yp50, yp99, et / st, vs }'
	done
)
header=$(
	echo "partkv endpoint benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
		"$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "postgres: $("$PG_BINDIR/postgres" --version | sed 's/.*) //'); partkv:" \
		"$(git -C "$PARTKV_ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit');" \
		"dynalite: $([ "$use_dynalite" = 1 ] && node -p "require('$dynalite_dir/node_modules/dynalite/package.json').version" || echo 'not run')"
	echo "$clients connections, $threads threads (wrk -c/-t, pgbench -c/-j -M prepared, partkv-server -j), ${seconds}s runs," \
		"median of $rounds round(s); $items items; latency p50/p99 in ms"
)
{
	printf '%s\n\n%s\n\n' "$header" "$table"
	echo "partkv-server RSS during the endpoint runs: start $rss_start kB, end $rss_end kB, max $rss_max kB"
} | tee "$out_dir/endpoint.txt"
if [ "$rounds" -gt 1 ]; then
	printf '\nround by round (tps/p50/p99):\n' >>"$out_dir/endpoint.txt"
	printf '  %s\n' "${raw[@]}" >>"$out_dir/endpoint.txt"
fi

if [ "$soak" -gt 0 ]; then
	note "soak: ${soak}s against the endpoint, get_item and put_item alternating every 30 s; RSS every 10 s"
	soak_log=$out_dir/endpoint-soak.txt
	: >"$soak_log"
	t0=$(date +%s)
	(while :; do
		echo "$(($(date +%s) - t0)) $(rss_kb)" >>"$soak_log"
		sleep 10
	done) &
	sampler=$!
	pids+=("$sampler")
	left=$soak
	op=get_item
	while [ "$left" -gt 0 ]; do
		chunk=$((left < 30 ? left : 30))
		BENCH_OP=$op BENCH_PARTITION_KEYS=$partition_keys BENCH_SORT_KEYS=$sort_keys \
			wrk -t "$threads" -c "$clients" -d "${chunk}s" -s "$tmp/endpoint/endpoint.lua" \
			"http://127.0.0.1:$http_port/" >>"$out_dir/endpoint-soak-wrk.log" 2>&1
		left=$((left - chunk))
		op=$([ "$op" = get_item ] && echo put_item || echo get_item)
	done
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	awk 'NR == 1 { first = $2 } NR == 2 { warm = $2 } { last = $2; if ($2 > max) max = $2 }
		 END { printf "soak %d s: partkv-server RSS first %d kB, after 10 s %d kB, end %d kB, max %d kB (growth after warm-up %+d kB)\n",
			   $1, first, warm, last, max, last - warm }' "$soak_log" | tee -a "$out_dir/endpoint.txt"
	awk '/requests in/ { r += $1 } /Requests\/sec/ { s += $2; n++ } /Non-2xx/ { e += $NF } END {
		printf "soak: %d requests, %d error responses, mean tps over %d wrk runs: %.0f\n", r, e, n, s / n }' \
		"$out_dir/endpoint-soak-wrk.log" | tee -a "$out_dir/endpoint.txt"
fi
