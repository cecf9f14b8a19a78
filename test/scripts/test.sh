#!/bin/bash
#
# test.sh -- `make test`: install what is missing, build, install, then run
# every suite against temporary instances: pg_regress (REGRESS), isolation
# (ISOLATION), TAP (test/t/*.pl) -- each is PGXS's `make installcheck` with
# the other two switched off, so one failing suite does not hide the others --
# and `make fuzz-check` when clang and that target exist.
#
# The temporary instances cannot run as root (initdb refuses), so as root the
# suites run as the postgres system user in a copy of the tree under /tmp.
#
# The last line of output is always "N passed, N failed" (N counting
# individual regression/isolation tests, TAP subtests and the fuzz check);
# the exit status is non-zero when anything failed.
#
# Environment: PARTKV_SUITE_TIMEOUT (seconds per suite, default 1800),
# PARTKV_KEEP_WORKDIR=1 (keep the /tmp copy even on success).

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/common.sh"

# We drive make ourselves; do not inherit the calling make's flags/jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

suite_timeout=${PARTKV_SUITE_TIMEOUT:-1800}
logdir=$PARTKV_ROOT/.run/log
mkdir -p "$logdir"
passed=0
failed=0
# Whatever happens (a failed build, an interrupted run), the last line says
# how it went.
summary_done=false
trap 'if ! $summary_done; then echo "$passed passed, $((failed > 0 ? failed : 1)) failed"; fi' EXIT

"$PARTKV_ROOT/test/install-deps.sh"
build_and_install

# Where the suites run: in place, or (root) in a copy owned by postgres.
if is_root; then
	work=$(mktemp -d /tmp/partkv-test.XXXXXX)
	{
		tar -C "$PARTKV_ROOT" --exclude=./.git --exclude=./.run --exclude=./results \
			--exclude=./tmp_check --exclude=./tmp_check_iso --exclude=./output_iso \
			--exclude=./log --exclude='./regression.*' --exclude=./test/bench/out \
			--exclude=./test/fuzz/build -cf - . || [ $? -eq 1 ] # 1: a file changed while read
	} | tar -C "$work" -xf -
	chown -R postgres:postgres "$work"
	chmod 755 "$work"
else
	work=$PARTKV_ROOT
fi

# mk ARGS... -- make in the work tree, as the server user (an array, so that
# timeout can run it).
if is_root; then
	mk=(runuser -u postgres -- env -C / HOME=/var/lib/postgresql make --no-print-directory -C "$work")
else
	mk=(make --no-print-directory -C "$work")
fi

# print_head FILE [LINES] -- show a file (its first LINES lines) on stderr.
print_head() {
	local n=${2:-400}
	[ -s "$1" ] || return 0
	printf '\n===== %s =====\n' "$1" >&2
	head -n "$n" "$1" >&2
	if [ "$(wc -l <"$1")" -gt "$n" ]; then
		printf '... (truncated; full file: %s)\n' "$1" >&2
	fi
}

# print_tail FILE -- show the end of a log file on stderr.
print_tail() {
	[ -s "$1" ] || return 0
	printf '\n===== tail of %s =====\n' "$1" >&2
	tail -n 40 "$1" >&2
}

# count_pg_regress LOG -- print "passed failed" from pg_regress output.
count_pg_regress() {
	local p=0 f=0 line n m k
	while IFS= read -r line; do
		if [[ $line =~ All\ ([0-9]+)\ tests?\ passed ]]; then
			p=$((p + BASH_REMATCH[1]))
		elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests?\ failed(,\ ([0-9]+)\ of\ these\ failures\ ignored)? ]]; then
			m=${BASH_REMATCH[1]} n=${BASH_REMATCH[2]} k=${BASH_REMATCH[4]:-0}
			p=$((p + n - m + k))
			f=$((f + m - k))
		elif [[ $line =~ ([0-9]+)\ of\ ([0-9]+)\ tests?\ passed,\ ([0-9]+)\ failed\ test ]]; then
			n=${BASH_REMATCH[2]} m=${BASH_REMATCH[1]}
			p=$((p + m))
			f=$((f + n - m))
		fi
	done <"$1"
	echo "$p $f"
}

# count_prove LOG -- print "passed failed" (subtests) from prove's summary.
count_prove() {
	local total=0 f=0 files_failed=0 result="" line
	while IFS= read -r line; do
		if [[ $line =~ ^Files=[0-9]+,\ Tests=([0-9]+), ]]; then
			total=${BASH_REMATCH[1]}
		elif [[ $line =~ \(Wstat:.*Tests:\ [0-9]+\ Failed:\ ([0-9]+)\) ]]; then
			f=$((f + BASH_REMATCH[1]))
			files_failed=$((files_failed + 1))
		elif [[ $line =~ ^Result:\ (PASS|FAIL) ]]; then
			result=${BASH_REMATCH[1]}
		fi
	done <"$1"
	# A script that died (no plan, bad exit) with no failed subtest still
	# counts as a failure.
	if [ "$result" = FAIL ] && [ "$f" -eq 0 ]; then
		f=$((files_failed > 0 ? files_failed : 1))
		echo "$total $f"
	else
		echo "$((total - f)) $f"
	fi
}

# run_suite NAME COUNTER MAKE-ARGS... -- run one suite, count its tests,
# show diagnostics on failure.
run_suite() {
	local name=$1 counter=$2 log=$logdir/test-$1.log rc=0 p f
	shift 2
	timeout "$suite_timeout" "$@" >"$log" 2>&1 || rc=$?
	read -r p f < <("$counter" "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1 # the suite broke before reporting (build, initdb, timeout...)
	elif [ "$rc" -eq 0 ] && [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		p=1 # passed without a countable report: one suite
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" -eq 0 ] && [ "$f" -eq 0 ]; then
		note "$name: $p passed"
		return 0
	fi
	[ "$rc" -eq 124 ] && note "$name: timed out after ${suite_timeout}s" >&2
	note "$name: $p passed, $f failed (exit $rc); output follows (log: $log)" >&2
	tail -n 40 "$log" >&2
	return 1
}

# count_summary LOG -- print "passed failed" summed over the log's
# "N passed, N failed" lines (fuzz-check's unit tests report that way); a
# suite with no such line counts as one test.
count_summary() {
	local p=0 f=0 line
	while IFS= read -r line; do
		if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
			p=$((p + BASH_REMATCH[1]))
			f=$((f + BASH_REMATCH[2]))
		fi
	done <"$1"
	echo "$p $f"
}

any_failed=false

# Diffs copied back to the tree by an earlier root run are stale now.
if is_root; then
	rm -f "$PARTKV_ROOT/regression.diffs" "$PARTKV_ROOT/output_iso/regression.diffs"
fi

regress=$("${mk[@]}" -s print-REGRESS)
if [ -n "$regress" ]; then
	if ! run_suite regress count_pg_regress "${mk[@]}" installcheck ISOLATION= TAP_TESTS=; then
		any_failed=true
		print_head "$work/regression.diffs"
		print_tail "$work/log/postmaster.log"
		if is_root && [ -f "$work/regression.diffs" ]; then
			cp -f "$work/regression.diffs" "$PARTKV_ROOT/regression.diffs"
		fi
	fi
fi

isolation=$("${mk[@]}" -s print-ISOLATION)
if [ -n "$isolation" ]; then
	if ! run_suite isolation count_pg_regress "${mk[@]}" installcheck REGRESS= TAP_TESTS=; then
		any_failed=true
		print_head "$work/output_iso/regression.diffs"
		print_tail "$work/output_iso/log/postmaster.log"
		if is_root && [ -f "$work/output_iso/regression.diffs" ]; then
			mkdir -p "$PARTKV_ROOT/output_iso"
			cp -f "$work/output_iso/regression.diffs" "$PARTKV_ROOT/output_iso/"
		fi
	fi
fi

tap=$("${mk[@]}" -s print-TAP_TESTS)
prove_tests=$("${mk[@]}" -s print-PROVE_TESTS)
if [ -n "$tap" ] && [ -n "$prove_tests" ]; then
	if ! run_suite tap count_prove "${mk[@]}" installcheck REGRESS= ISOLATION=; then
		any_failed=true
		for f in "$work"/tmp_check/log/*; do
			print_tail "$f"
		done
	fi
fi

# Fuzzing smoke check (mk/fuzz.mk), when clang is there and the target is.
# (A fresh machine has only clang-14, pulled in by postgresql-server-dev-15,
# without the sanitizer runtimes: PARTKV_EXTRA_PACKAGES="clang
# libclang-rt-14-dev" makes install-deps.sh add them.)
if command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	probe=$(LC_ALL=C make -n -C "$PARTKV_ROOT" fuzz-check 2>&1 || true)
	if [[ $probe == *"No rule to make target 'fuzz-check'"* ]]; then
		note "fuzz: no fuzz-check target yet, skipped"
	elif ! run_suite fuzz count_summary make --no-print-directory -C "$PARTKV_ROOT" fuzz-check; then
		any_failed=true
	fi
else
	note "fuzz: clang not installed, skipped"
fi

if $any_failed; then
	[ "$work" != "$PARTKV_ROOT" ] && note "test tree kept for inspection: $work" >&2
	[ "$failed" -eq 0 ] && failed=1
elif [ "$work" != "$PARTKV_ROOT" ] && [ -z "${PARTKV_KEEP_WORKDIR:-}" ]; then
	rm -rf "$work"
fi

summary_done=true
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
