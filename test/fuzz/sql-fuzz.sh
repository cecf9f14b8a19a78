#!/bin/bash
#
# sql-fuzz.sh -- `make fuzz-sql`: install what is missing, build, install,
# then run the SQL-level fuzzer (test/t/080_sql_fuzz.pl, test/fuzz/SqlFuzz.pm)
# against a temporary server for longer than `make test` does.
#
# Environment:
#   FUZZ_SQL_SECONDS  fuzzing time (default 600)
#   FUZZ_SQL_SEED     seed (default: a new random one, printed)
#   FUZZ_SQL_ADD      1 (default): inputs that gave an outcome the run had
#                     not seen are added to test/fuzz/sql-corpus/ (at most 25
#                     per target); 0: only reported in build/sql-new/
#   FUZZ_SQL_SLOW     a call slower than this is reported (default 10 s)
#
# Findings (the failing inputs as SQL, with setup.sql to replay them) go to
# test/fuzz/build/sql-findings/; the TAP log to test/fuzz/build/sql-fuzz.log.
# The last line is "N passed, N failed" (the TAP test's subtests).

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/../scripts/common.sh"

unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

seconds=${FUZZ_SQL_SECONDS:-600}
seed=${FUZZ_SQL_SEED:-random}
add=${FUZZ_SQL_ADD:-1}
out=$PARTKV_ROOT/test/fuzz/build
corpus=$PARTKV_ROOT/test/fuzz/sql-corpus

"$PARTKV_ROOT/test/install-deps.sh"
build_and_install

# (build/corpus too: mk/fuzz.mk creates it only together with build/)
mkdir -p "$out" "$out/corpus"
rm -rf "$out/sql-findings" "$out/sql-new"

# The temporary server cannot run as root: as root, run in a copy owned by
# the server user (as test.sh does).
if is_root; then
	work=$(mktemp -d /tmp/partkv-sqlfuzz.XXXXXX)
	{
		tar -C "$PARTKV_ROOT" --exclude=./.git --exclude=./.run --exclude=./tmp_check \
			--exclude=./tmp_check_iso --exclude=./test/fuzz/build --exclude=./test/bench/out \
			-cf - . || [ $? -eq 1 ]
	} | tar -C "$work" -xf -
	chown -R postgres:postgres "$work"
	mk=(runuser -u postgres -- env -C / HOME=/var/lib/postgresql)
else
	work=$PARTKV_ROOT
	mk=(env)
fi

rc=0
"${mk[@]}" PARTKV_SQL_FUZZ_SECONDS="$seconds" PARTKV_SQL_FUZZ_SEED="$seed" \
	PARTKV_SQL_FUZZ_SLOW="${FUZZ_SQL_SLOW:-10}" \
	PARTKV_SQL_FUZZ_FINDINGS="$work/test/fuzz/build/sql-findings" \
	PARTKV_SQL_FUZZ_CORPUS_OUT="$work/test/fuzz/build/sql-new" \
	make --no-print-directory -C "$work" installcheck REGRESS= ISOLATION= \
	PROVE_TESTS=test/t/080_sql_fuzz.pl >"$out/sql-fuzz.log" 2>&1 || rc=$?

if [ "$work" != "$PARTKV_ROOT" ]; then
	for d in sql-findings sql-new; do
		if [ -d "$work/test/fuzz/build/$d" ]; then
			cp -r "$work/test/fuzz/build/$d" "$out/"
		fi
	done
	if [ "$rc" -eq 0 ]; then
		rm -rf "$work"
	else
		note "work tree kept for inspection: $work"
	fi
fi

grep -E '^# (seed|  |finding|slow)' "$out/sql-fuzz.log" | sed 's/^# //' || true

added=0
if [ "$add" = 1 ] && [ -d "$out/sql-new" ]; then
	for f in "$out"/sql-new/*/*.json; do
		[ -e "$f" ] || continue
		target=$(basename "$(dirname "$f")")
		if [ ! -e "$corpus/$target/$(basename "$f")" ]; then
			cp "$f" "$corpus/$target/"
			added=$((added + 1))
		fi
	done
	note "added $added new inputs to test/fuzz/sql-corpus/ (review them, then commit)"
fi
[ -d "$out/sql-findings" ] && note "findings: $out/sql-findings/"
note "TAP log: $out/sql-fuzz.log"

read -r total failed < <(awk '/^Files=[0-9]+, Tests=/ { sub(/,$/, "", $2); split($2, a, "="); t = a[2] }
	/Failed [0-9]+\/[0-9]+ subtests/ { split($2, b, "/"); f = b[1] }
	END { print (t == "" ? 0 : t), (f == "" ? 0 : f) }' "$out/sql-fuzz.log")
if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
	failed=1
fi
echo "$((total - failed)) passed, $failed failed"
exit "$rc"
