#!/bin/bash
#
# bench.sh -- `make bench`: pgbench workloads, each run against partkv and
# against plain PostgreSQL doing the same work, in the same run, on a
# temporary cluster this script starts and removes.  Prints a table of tps
# and ratios, and writes it to test/bench/out/results.txt.  The workloads and
# the figures of past runs are described in docs/BENCHMARKS.md.
#
# A workload is a directory test/bench/workloads/<name>/ holding
#   partkv.sql   the pgbench script for partkv       (table "bench")
#   plain.sql    the same work in plain SQL          (table "plain_kv")
#   setup.sql    optional, run once before the workload (psql)
#   report.sql   optional, run after it; its result (column names, then one
#                row) is printed below the table (e.g. stream delay)
#   pgbench.opts optional, more pgbench options for both runs (e.g. --rate
#                for a sustained rather than saturating load)
#   settle.sql   optional, run after each partkv run, before the plain ones
#                (e.g. wait until the GSIs have caught up); how long it took
#                is reported
#   sample.sql   optional, run every 200 ms during the partkv runs; the
#                median, 99th percentile and maximum of the number it prints
#                are reported (e.g. GSI lag)
# plain.sql runs twice: against a non-partitioned table (schema plain) and a
# hash-partitioned one (schema plain_part).  The data is test/bench/setup.sql.
# Scripts can use :partition_keys and :sort_keys.
#
# Environment:
#   BENCH_SECONDS    duration of each pgbench run (default 30)
#   BENCH_ROUNDS     runs of each (partkv, plain, plain-part) triple, taken
#                    in turn; the table shows the median tps (default 1)
#   BENCH_CLIENTS    pgbench -c (default 4);  BENCH_THREADS  -j (default 2)
#   BENCH_WORKLOADS  space-separated subset of workloads (default: all)
#   BENCH_ITEMS      number of items (default 200000, 10 sort keys per
#                    partition key)

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

bench_dir=$PARTKV_ROOT/test/bench
out_dir=$bench_dir/out
seconds=${BENCH_SECONDS:-30}
rounds=${BENCH_ROUNDS:-1}
clients=${BENCH_CLIENTS:-4}
threads=${BENCH_THREADS:-2}
items=${BENCH_ITEMS:-200000}
sort_keys=10
partition_keys=$((items / sort_keys))
port=${BENCH_PORT:-5433}
mkdir -p "$out_dir"

if [ -n "${BENCH_WORKLOADS:-}" ]; then
	read -r -a workloads <<<"$BENCH_WORKLOADS"
else
	workloads=()
	for d in "$bench_dir"/workloads/*/; do
		workloads+=("$(basename "$d")")
	done
fi
for w in "${workloads[@]}"; do
	if [ ! -f "$bench_dir/workloads/$w/partkv.sql" ] || [ ! -f "$bench_dir/workloads/$w/plain.sql" ]; then
		die "workload $w: test/bench/workloads/$w/{partkv,plain}.sql missing"
	fi
done

# The cluster lives in /tmp (reachable by postgres whatever the clone's
# location), with a copy of the scripts; both go away at exit.
tmp=$(mktemp -d /tmp/partkv-bench.XXXXXX)
data=$tmp/data
cleanup() {
	if [ -f "$data/postmaster.pid" ]; then
		as_server_user pg_ctl -D "$data" -w stop -m immediate >/dev/null 2>&1 || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
cp -r "$bench_dir/setup.sql" "$bench_dir/workloads" "$tmp/"
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
# Measure the extension's CPU cost, not the disk's flush latency (which
# would make every write workload look alike).
synchronous_commit = off
CONF
} | as_server_user tee -a "$data/postgresql.conf" >/dev/null
quietly "$out_dir/pg_ctl.log" as_server_user pg_ctl -D "$data" -l "$tmp/server.log" -w start ||
	{ tail -n 30 "$tmp/server.log" >&2 || true; die "server start failed"; }

psql_b() {
	as_server_user psql -X -q -v ON_ERROR_STOP=1 -h "$tmp" -p "$port" "$@"
}

psql_b -d postgres -c 'CREATE DATABASE bench' >/dev/null
note "loading $items items into each table"
quietly "$out_dir/setup.log" psql_b -d bench -v partition_keys="$partition_keys" \
	-v sort_keys="$sort_keys" -f "$tmp/setup.sql" ||
	die "setup failed (log: $out_dir/setup.log)"

# tps WORKLOAD SCRIPT SEARCH_PATH ROUND -- run pgbench, print its tps.
tps() {
	local w=$1 script=$2 path=$3 log=$out_dir/pgbench-$1-$3-$4.log
	local -a opts=()
	if [ -f "$tmp/workloads/$w/pgbench.opts" ]; then
		read -r -a opts <"$tmp/workloads/$w/pgbench.opts"
	fi
	psql_b -d bench -c 'CHECKPOINT' >/dev/null
	quietly "$log" as_server_user env PGOPTIONS="-c search_path=$path" \
		pgbench -h "$tmp" -p "$port" -n -M prepared -c "$clients" -j "$threads" "${opts[@]}" \
		-T "$seconds" -D partition_keys="$partition_keys" -D sort_keys="$sort_keys" \
		-f "$tmp/workloads/$w/$script" bench ||
		die "pgbench failed for $w/$script (log: $log)"
	if grep -Eq '^number of failed transactions: [1-9]' "$log"; then
		die "pgbench reported failed transactions for $w/$script (log: $log)"
	fi
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log" | head -n 1
}

# median N... -- the median of numbers (the lower middle one for an even count).
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

results=()
raw=()
reports=()
rm -f "$out_dir"/pgbench-*.log "$out_dir"/samples-*.txt
for w in "${workloads[@]}"; do
	if [ -f "$tmp/workloads/$w/setup.sql" ]; then
		quietly "$out_dir/setup-$w.log" psql_b -d bench -v partition_keys="$partition_keys" \
			-v sort_keys="$sort_keys" -f "$tmp/workloads/$w/setup.sql" ||
			die "setup of $w failed"
	fi
	note "$w: partkv, plain, plain hash-partitioned (${seconds}s each, $rounds round(s))"
	k=() p=() pp=() settled=()
	for ((r = 1; r <= rounds; r++)); do
		# sample.sql: a figure sampled every 200 ms while partkv's run lasts
		sampler=
		if [ -f "$tmp/workloads/$w/sample.sql" ]; then
			(while :; do
				psql_b -d bench -X -q -A -t -f "$tmp/workloads/$w/sample.sql" 2>/dev/null || true
				sleep 0.2
			done) >>"$out_dir/samples-$w.txt" &
			sampler=$!
		fi
		k+=("$(tps "$w" partkv.sql public "$r")")
		if [ -n "$sampler" ]; then
			kill "$sampler" 2>/dev/null || true
			wait "$sampler" 2>/dev/null || true
		fi
		# settle.sql: let background work of the partkv run finish first, so
		# that it does not slow the plain runs (or the next round) down
		if [ -f "$tmp/workloads/$w/settle.sql" ]; then
			t_settle=$(date +%s.%N)
			quietly "$out_dir/settle-$w.log" psql_b -d bench -f "$tmp/workloads/$w/settle.sql" ||
				die "settle of $w failed"
			settled+=("$(awk -v t="$t_settle" -v n="$(date +%s.%N)" 'BEGIN { printf "%.1f", n - t }')")
		fi
		p+=("$(tps "$w" plain.sql plain "$r")")
		pp+=("$(tps "$w" plain.sql plain_part "$r")")
	done
	results+=("$w $(median "${k[@]}") $(median "${p[@]}") $(median "${pp[@]}")")
	if [ -s "$out_dir/samples-$w.txt" ]; then
		reports+=("$w: sampled during the partkv runs: $(sort -g "$out_dir/samples-$w.txt" | awk '
			{ v[NR] = $1 }
			END { i = int(NR * 0.99); if (i < 1) i = 1
				  printf "n %d p50 %s p99 %s max %s", NR, v[int((NR + 1) * 0.5)], v[i], v[NR] }')")
	fi
	if [ ${#settled[@]} -gt 0 ]; then
		reports+=("$w: settle.sql took (s, each round): ${settled[*]}")
	fi
	# report.sql: figures a workload measures besides tps (printed after the table)
	if [ -f "$tmp/workloads/$w/report.sql" ]; then
		reports+=("$w: $(psql_b -d bench -X -q -A -F ' ' -P footer=off -P tuples_only=off \
			-f "$tmp/workloads/$w/report.sql" 2>&1 | tail -n 2 | paste -sd ' ' - || true)")
	fi
	raw+=("$w: partkv $(printf '%.0f ' "${k[@]}")| plain $(printf '%.0f ' "${p[@]}")| plain-part $(printf '%.0f ' "${pp[@]}")")
done

table=$(
	printf '%-10s %12s %12s %8s %16s %8s\n' workload "partkv tps" "plain tps" ratio \
		"plain-part tps" ratio
	for r in "${results[@]}"; do
		read -r w k p pp <<<"$r"
		awk -v w="$w" -v k="$k" -v p="$p" -v pp="$pp" 'BEGIN {
			printf "%-10s %12.0f %12.0f %8.2f %16.0f %8.2f\n", w, k, p, k / p, pp, k / pp }'
	done
)
header=$(
	echo "partkv benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'),"\
		"$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "postgres: $("$PG_BINDIR/postgres" --version | sed 's/.*) //'); partkv:" \
		"$(git -C "$PARTKV_ROOT" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
	echo "pgbench -M prepared -c $clients -j $threads -T $seconds, median of $rounds round(s); $items items" \
		"($partition_keys partition keys x $sort_keys sort keys); ratio = partkv / plain"
)
printf '%s\n\n%s\n' "$header" "$table" | tee "$out_dir/results.txt"
if [ ${#reports[@]} -gt 0 ]; then
	printf '\n%s\n' "${reports[@]}" | tee -a "$out_dir/results.txt"
fi
if [ "$rounds" -gt 1 ]; then
	printf '\ntps of each round:\n' >>"$out_dir/results.txt"
	printf '  %s\n' "${raw[@]}" >>"$out_dir/results.txt"
fi
