#!/bin/bash
#
# test.sh -- `make test`: install what is missing, build, install, then run
# every suite against temporary instances: pg_regress (REGRESS), isolation
# (ISOLATION), TAP (test/t/*.pl) -- each is PGXS's `make installcheck` with
# the other two switched off, so one failing suite does not hide the others --
# `make fuzz-check` when clang and that target exist, and then the same three
# server suites again against the sanitizer build (asan-regress,
# asan-isolation, asan-tap; mk/sanitize.mk), whose servers run with the ASan
# runtime preloaded.
#
# After each server suite its server logs are searched for crashed server
# processes ("terminated by signal" and the like): each one counts as a
# failure, except in a TAP test that declares the crash it causes on purpose
# with a line
#     # partkv-expected-crash: <the postmaster's report without its PID>
# e.g. `background worker "partkv stream worker" was terminated by signal 9:
# Killed`.  After each asan-* suite, each sanitizer report (one file per
# process that had one) counts as a failure and is printed.
#
# The temporary instances cannot run as root (initdb refuses), so as root the
# suites run as the postgres system user in a copy of the tree under /tmp.
#
# The last line of output is always "N passed, N failed" (N counting
# individual regression/isolation tests, TAP subtests, the fuzz check, crashes
# and sanitizer reports); the exit status is non-zero when anything failed.
#
# Environment: PARTKV_SUITES (the suites to run, default "regress isolation
# tap fuzz asan"; asan = asan-regress asan-isolation asan-tap),
# PARTKV_SUITE_TIMEOUT (seconds per suite, default 1800), PARTKV_KEEP_WORKDIR=1
# (keep the /tmp copies even on success).

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/common.sh"

# We drive make ourselves; do not inherit the calling make's flags/jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

suite_timeout=${PARTKV_SUITE_TIMEOUT:-1800}
suites=" ${PARTKV_SUITES:-regress isolation tap fuzz asan} "
logdir=$PARTKV_ROOT/.run/log
mkdir -p "$logdir"
passed=0
failed=0
any_failed=false
# set while the sanitizer build is the installed one
sanitized_installed=false
# Whatever happens (a failed build, an interrupted run), the plain build is
# what stays installed and the last line says how it went.
summary_done=false
trap 'if $sanitized_installed; then (restore_plain_install) || true; fi
	if ! $summary_done; then echo "$passed passed, $((failed > 0 ? failed : 1)) failed"; fi' EXIT

# wanted SUITE -- true when PARTKV_SUITES selects SUITE ("asan" selects the
# three asan-* suites).
wanted() {
	[[ $suites == *" $1 "* ]] || { [[ $1 == asan-* ]] && [[ $suites == *" asan "* ]]; }
}

# What copies of the tree leave out: git, build output, test output.
tree_excludes=(--exclude=./.git --exclude=./.run --exclude=./results --exclude=./tmp_check
	--exclude=./tmp_check_iso --exclude=./output_iso --exclude=./log --exclude='./regression.*'
	--exclude=./test/bench/out --exclude=./test/fuzz/build --exclude=./test/sanitize/build
	--exclude=./sanitizer)

# copy_tree SRC DEST [TAR-OPTIONS...] -- copy the tree SRC into DEST.
copy_tree() {
	local src=$1 dest=$2
	shift 2
	{
		tar -C "$src" "${tree_excludes[@]}" "$@" -cf - . || [ $? -eq 1 ] # 1: a file changed while read
	} | tar -C "$dest" -xf -
}

# work_copy NAME SRC -- (root) print the path of a new copy of SRC under /tmp,
# owned by postgres, for the suites to run in.
work_copy() {
	local dir
	dir=$(mktemp -d "/tmp/partkv-$1.XXXXXX")
	copy_tree "$2" "$dir" --exclude='*.o' --exclude='*.bc'
	chown -R postgres:postgres "$dir"
	chmod 755 "$dir"
	echo "$dir"
}

# make_in DIR [VAR=VALUE...] -- set the array mk to the command that runs make
# in DIR as the server user, with VAR=VALUE added to its environment.
make_in() {
	local dir=$1
	shift
	if is_root; then
		mk=(runuser -u postgres -- env -C / HOME=/var/lib/postgresql "$@"
			make --no-print-directory -C "$dir")
	else
		mk=(env "$@" make --no-print-directory -C "$dir")
	fi
}

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

# run_suite NAME COUNTER MAKE-ARGS... -- run one suite, count its tests,
# show diagnostics on failure.
run_suite() {
	local name=$1 counter=$2 log=$logdir/test-$1.log rc=0 p f start=$SECONDS
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
		note "$name: $p passed ($((SECONDS - start)) s)"
		return 0
	fi
	[ "$rc" -eq 124 ] && note "$name: timed out after ${suite_timeout}s" >&2
	note "$name: $p passed, $f failed (exit $rc, $((SECONDS - start)) s); output follows (log: $log)" >&2
	tail -n 40 "$log" >&2
	return 1
}

# crash_reports LOG -- print, for every crash in the server log LOG, the
# postmaster's report of the process that crashed.  A crash is what makes the
# postmaster restart every server process ("terminating any other active
# server processes"), and its report is the "<process> (PID n) was terminated
# by signal N" or "... exited with exit code N" line just before (exit code 1
# too: a backend that exits without cleaning up after itself, as a sanitizer
# does, is a crash); a process killed by a signal without that restart (the
# logger) counts too.
crash_reports() {
	awk '
		/\(PID [0-9]+\) (was terminated by|exited with)/ {
			if (last ~ /was terminated by/)
				print last
			last = $0
			next
		}
		/terminating any other active server processes/ {
			print (last != "" ? last : $0)
			last = ""
		}
		END {
			if (last ~ /was terminated by/)
				print last
		}' "$1"
}

# crashes LOG [EXPECTED...] -- print the crash reports of the server log LOG
# that none of the EXPECTED strings describes.  A report is compared without
# its line prefix and PID: `server process was terminated by signal 11:
# Segmentation fault`.
crashes() {
	local log=$1 line what e expected
	shift
	[ -f "$log" ] || return 0
	while IFS= read -r line; do
		what=${line#*LOG:  }
		what=$(sed -E 's/ \(PID [0-9]+\)//' <<<"$what")
		expected=false
		for e in "$@"; do
			[[ $what == *"$e"* ]] && expected=true
		done
		$expected || printf '%s\n' "$line"
	done < <(crash_reports "$log")
}

# check_crashes NAME LOG [EXPECTED...] -- count and show the unexpected
# crashes in the server log LOG of suite NAME.
check_crashes() {
	local name=$1 log=$2 found n
	shift 2
	found=$(crashes "$log" "$@")
	[ -n "$found" ] || return 0
	n=$(wc -l <<<"$found")
	failed=$((failed + n))
	any_failed=true
	note "$name: $n server crash(es) in $log:" >&2
	printf '%s\n' "$found" >&2
}

# expected_crashes TEST-FILE -- print the crashes TEST-FILE declares, one a
# line (its "# partkv-expected-crash: ..." lines).
expected_crashes() {
	sed -nE 's/^#[[:space:]]*partkv-expected-crash:[[:space:]]*(.*[^[:space:]])[[:space:]]*$/\1/p' "$1"
}

# check_tap_crashes NAME DIR -- check_crashes on every TAP test's server
# logs (tmp_check/log/<test>_<node>.log) with the crashes that test declares.
check_tap_crashes() {
	local name=$1 dir=$2 t base log
	local -a expected
	for t in "$dir"/test/t/*.pl; do
		base=$(basename "$t" .pl)
		mapfile -t expected < <(expected_crashes "$t")
		for log in "$dir/tmp_check/log/${base}"_*.log; do
			[ -f "$log" ] || continue
			check_crashes "$name" "$log" "${expected[@]}"
		done
	done
}

# check_sanitizer NAME DIR LOG... -- count and show the sanitizer reports of
# suite NAME: the files that the ASan runtime wrote to DIR (one for each
# process that had one), and the UBSan reports in the server logs LOG...
# (gcc's UBSan runtime, beside ASan's, writes to stderr whatever log_path
# says).
check_sanitizer() {
	local name=$1 dir=$2 f n=0 ub
	shift 2
	for f in "$dir"/*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		print_head "$f" 80
	done
	for f in "$@"; do
		[ -f "$f" ] || continue
		ub=$(grep -c 'runtime error: ' "$f" || true)
		[ "$ub" -gt 0 ] || continue
		n=$((n + ub))
		printf '\n===== UBSan in %s =====\n' "$f" >&2
		awk '/runtime error: / { show = 1; print; next }
			show && /^ +#[0-9]+ / { print; next }
			{ show = 0 }' "$f" | head -n 200 >&2
	done
	[ "$n" -eq 0 ] && return 0
	failed=$((failed + n))
	any_failed=true
	note "$name: $n sanitizer report(s) (files in $dir)" >&2
}

# server_suites PREFIX DIR [VAR=VALUE...] -- run the regression, isolation and
# TAP suites (named PREFIX<suite>) in the tree DIR, with VAR=VALUE in the
# environment of make and so of the servers it starts; then check their
# server logs for crashes and, when a sanitizer runtime is preloaded, the
# reports it wrote to DIR/sanitizer/<suite>.
server_suites() {
	local prefix=$1 dir=$2 regress isolation tap prove_tests
	shift 2
	local -a env=("$@")
	make_in "$dir"
	regress=$("${mk[@]}" -s print-REGRESS)
	isolation=$("${mk[@]}" -s print-ISOLATION)
	tap=$("${mk[@]}" -s print-TAP_TESTS)
	prove_tests=$("${mk[@]}" -s print-PROVE_TESTS)

	if [ -n "$regress" ] && wanted "${prefix}regress"; then
		suite_env "$dir" "${prefix}regress" "${env[@]}"
		if ! run_suite "${prefix}regress" count_pg_regress "${mk[@]}" installcheck ISOLATION= TAP_TESTS=; then
			any_failed=true
			print_head "$dir/regression.diffs"
			print_tail "$dir/log/postmaster.log"
			if is_root && [ -z "$prefix" ] && [ -f "$dir/regression.diffs" ]; then
				cp -f "$dir/regression.diffs" "$PARTKV_ROOT/regression.diffs"
			fi
		fi
		check_crashes "${prefix}regress" "$dir/log/postmaster.log"
		suite_reports "$dir" "${prefix}regress" "$dir/log/postmaster.log"
	fi

	if [ -n "$isolation" ] && wanted "${prefix}isolation"; then
		suite_env "$dir" "${prefix}isolation" "${env[@]}"
		if ! run_suite "${prefix}isolation" count_pg_regress "${mk[@]}" installcheck REGRESS= TAP_TESTS=; then
			any_failed=true
			print_head "$dir/output_iso/regression.diffs"
			print_tail "$dir/output_iso/log/postmaster.log"
			if is_root && [ -z "$prefix" ] && [ -f "$dir/output_iso/regression.diffs" ]; then
				mkdir -p "$PARTKV_ROOT/output_iso"
				cp -f "$dir/output_iso/regression.diffs" "$PARTKV_ROOT/output_iso/"
			fi
		fi
		check_crashes "${prefix}isolation" "$dir/output_iso/log/postmaster.log"
		suite_reports "$dir" "${prefix}isolation" "$dir/output_iso/log/postmaster.log"
	fi

	if [ -n "$tap" ] && [ -n "$prove_tests" ] && wanted "${prefix}tap"; then
		suite_env "$dir" "${prefix}tap" "${env[@]}"
		if ! run_suite "${prefix}tap" count_prove "${mk[@]}" installcheck REGRESS= ISOLATION=; then
			any_failed=true
			for f in "$dir"/tmp_check/log/*; do
				print_tail "$f"
			done
		fi
		check_tap_crashes "${prefix}tap" "$dir"
		suite_reports "$dir" "${prefix}tap" "$dir"/tmp_check/log/*.log
	fi
}

# suite_env DIR SUITE [VAR=VALUE...] -- make_in DIR with VAR=VALUE; when
# there are any (a sanitizer runtime in LD_PRELOAD), add the sanitizer
# options, with the reports going to DIR/sanitizer/SUITE (made empty here):
#   ASan: detect_leaks=0 -- PostgreSQL frees by memory context, and not at
#     exit (backends exit with their contexts allocated; psql, initdb and
#     pg_regress leave their memory to exit too): leak reports would all be
#     noise.  abort_on_error=1 -- a report kills the process with SIGABRT, so
#     the postmaster logs the crash and restarts the server, and the test
#     fails (ASan's default exit code 1 would pass for a backend's ordinary
#     FATAL exit).  allocator_may_return_null=1 -- a failing malloc returns
#     NULL, as PostgreSQL expects ("out of memory"), instead of aborting.
#   UBSan: print_stacktrace=1, and halt_on_error=1 with abort_on_error=1 for
#     the same reason (the build also has -fno-sanitize-recover=all).  Its
#     log_path is ASan's: the two runtimes' report-path setters interpose,
#     and UBSan's start sets ASan's report path from UBSAN_OPTIONS.
suite_env() {
	local dir=$1 san=$1/sanitizer/$2
	shift 2
	if [ $# -eq 0 ]; then
		make_in "$dir"
		return
	fi
	rm -rf "$san"
	mkdir -p "$san"
	if is_root; then
		chown -R postgres:postgres "$dir/sanitizer"
	fi
	make_in "$dir" "$@" \
		"ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:allocator_may_return_null=1:log_path=$san/report" \
		"UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:log_path=$san/report"
}

# suite_reports DIR SUITE LOG... -- check_sanitizer for a suite run with a
# sanitizer.
suite_reports() {
	local dir=$1 suite=$2
	shift 2
	[ -d "$dir/sanitizer/$suite" ] || return 0
	check_sanitizer "$suite" "$dir/sanitizer/$suite" "$@"
}

# restore_plain_install -- install the plain build (the project folder's)
# over the sanitizer build.
restore_plain_install() {
	install_built "$logdir/install.log" "$PARTKV_ROOT"
	sanitized_installed=false
}

# sanitizer_suites -- build the sanitizer build in its own copy of the tree
# (.run/sanitize, which keeps its objects between runs, so that neither
# build's objects overwrite the other's), install it, run the server suites
# against it with the ASan runtime preloaded, and put the plain build back.
sanitizer_suites() {
	local build=$PARTKV_ROOT/.run/sanitize runtime dir preload
	runtime=$(make -s --no-print-directory -C "$PARTKV_ROOT" print-SANITIZE_RUNTIME)
	if [ ! -f "$runtime" ]; then
		note "asan: the ASan runtime was not found ('$runtime'): is gcc installed?" >&2
		failed=$((failed + 1))
		any_failed=true
		return
	fi
	# Sources removed from the tree must not stay in the copy; objects do.
	mkdir -p "$build"
	find "$build" -type f ! -name '*.o' ! -name '*.bc' ! -name '*.so' ! -name .partkv-build -delete
	copy_tree "$PARTKV_ROOT" "$build" --exclude='*.o' --exclude='*.bc' --exclude='*.so' \
		--exclude=./.partkv-build
	sanitized_installed=true
	if ! (build_and_install sanitize "$build" SANITIZE=1 with_llvm=no -j2); then
		note "asan: the sanitizer build failed (log: $logdir/build-sanitize.log)" >&2
		failed=$((failed + 1))
		any_failed=true
		return
	fi
	if is_root; then
		dir=$(work_copy asan "$build")
	else
		dir=$build
	fi
	make_in "$dir"
	if ! quietly "$logdir/build-preload.log" "${mk[@]}" sanitize-preload; then
		failed=$((failed + 1))
		any_failed=true
		return
	fi
	preload=$dir/$(make -s --no-print-directory -C "$PARTKV_ROOT" print-SANITIZE_PRELOAD)
	server_suites asan- "$dir" "LD_PRELOAD=$runtime $preload"
	if ! (restore_plain_install); then
		failed=$((failed + 1))
		any_failed=true
	fi
	sanitized_installed=false
	if [ "$dir" != "$build" ]; then
		if $any_failed || [ -n "${PARTKV_KEEP_WORKDIR:-}" ]; then
			note "sanitizer test tree kept for inspection: $dir" >&2
		else
			rm -rf "$dir"
		fi
	fi
}

"$PARTKV_ROOT/test/install-deps.sh"
build_and_install

# Where the suites run: in place, or (root) in a copy owned by postgres.
if is_root; then
	work=$(work_copy test "$PARTKV_ROOT")
else
	work=$PARTKV_ROOT
fi

# Diffs copied back to the tree by an earlier root run are stale now.
if is_root; then
	rm -f "$PARTKV_ROOT/regression.diffs" "$PARTKV_ROOT/output_iso/regression.diffs"
fi

server_suites "" "$work"

# Fuzzing smoke check (mk/fuzz.mk), when clang is there and the target is.
# (A fresh machine has only clang-14, pulled in by postgresql-server-dev-15,
# without the sanitizer runtimes: PARTKV_EXTRA_PACKAGES="clang
# libclang-rt-14-dev" makes install-deps.sh add them.)
if ! wanted fuzz; then
	:
elif command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1; then
	probe=$(LC_ALL=C make -n -C "$PARTKV_ROOT" fuzz-check 2>&1 || true)
	if [[ $probe == *"No rule to make target 'fuzz-check'"* ]]; then
		note "fuzz: no fuzz-check target yet, skipped"
	elif ! run_suite fuzz count_summary make --no-print-directory -C "$PARTKV_ROOT" fuzz-check; then
		any_failed=true
	fi
else
	note "fuzz: clang not installed, skipped"
fi

if wanted asan-regress || wanted asan-isolation || wanted asan-tap; then
	sanitizer_suites
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
