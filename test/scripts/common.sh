# shellcheck shell=bash
#
# common.sh -- helpers shared by partkv's developer scripts (make run, make
# test, make bench).  Sourced, never executed.  Callers set -euo pipefail.

PARTKV_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_MAJOR=15
PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=${PG_CONFIG:-$PG_BINDIR/pg_config}
export PG_CONFIG
# Debian's postgresql-common wrappers pick a cluster; call the 15 binaries.
PATH=$PG_BINDIR:$PATH
export PATH

# die MESSAGE... -- print an error on stderr and exit 1.
die() {
	printf 'partkv: error: %s\n' "$*" >&2
	exit 1
}

# note MESSAGE... -- one progress line on stdout.
note() {
	printf 'partkv: %s\n' "$*"
}

# is_root -- true when running as uid 0.
is_root() {
	[ "$(id -u)" -eq 0 ]
}

# server_user -- the OS user that runs servers: postgres when we are root
# (initdb refuses root), else ourselves.
server_user() {
	if is_root; then
		echo postgres
	else
		id -un
	fi
}

# as_server_user CMD... -- run CMD as server_user, keeping the environment
# but pointing HOME somewhere that user can write.
as_server_user() {
	if is_root; then
		id postgres >/dev/null 2>&1 ||
			die "the 'postgres' system user does not exist (is postgresql-$PG_MAJOR installed?)"
		runuser -u postgres -- env -C / HOME=/var/lib/postgresql "$@"
	else
		"$@"
	fi
}

# can_server_user_write DIR -- true when server_user can create files in DIR
# (false e.g. for a clone under /root, which postgres cannot traverse).
can_server_user_write() {
	as_server_user test -w "$1" -a -x "$1" 2>/dev/null
}

# quietly LOG CMD... -- run CMD with its output going to LOG; on failure print
# the log's tail and return CMD's status.
quietly() {
	local log=$1 rc=0
	shift
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		printf 'partkv: command failed (exit %s): %s\n' "$rc" "$*" >&2
		printf 'partkv: last lines of %s:\n' "$log" >&2
		tail -n 60 "$log" >&2
	fi
	return "$rc"
}

# set_root_prefix WHAT -- set ROOT_PREFIX to what runs a command as root:
# nothing when we are root, sudo when available; else fail, saying WHAT
# needed root.  (Not a wrapper function: callers run the command under
# `quietly`, whose output redirection would swallow an error from inside.)
set_root_prefix() {
	if is_root; then
		ROOT_PREFIX=()
	elif command -v sudo >/dev/null 2>&1; then
		ROOT_PREFIX=(sudo)
	else
		die "$1 needs root, and sudo is not available: run this as root"
	fi
}

# build_and_install [NAME DIR MAKE-ARGS...] -- make all (as the caller) and
# make install (as root unless the PostgreSQL library directory is writable)
# in DIR (default: the project folder) with MAKE-ARGS; logs .run/log/build.log
# and install.log, or build-NAME.log and install-NAME.log.  Warnings are
# shown.
build_and_install() {
	local log=$PARTKV_ROOT/.run/log suffix="" dir=$PARTKV_ROOT
	if [ $# -gt 0 ]; then
		suffix=-$1 dir=$2
		shift 2
	fi
	mkdir -p "$log"
	quietly "$log/build$suffix.log" make -C "$dir" "$@" all ||
		die "build failed (full log: $log/build$suffix.log)"
	grep 'warning:' "$log/build$suffix.log" | sort -u >&2 || true
	install_built "$log/install$suffix.log" "$dir" "$@"
}

# install_built LOG DIR MAKE-ARGS... -- make install of what DIR built.
install_built() {
	local log=$1 dir=$2
	shift 2
	if [ -w "$("$PG_CONFIG" --pkglibdir)" ] && [ -w "$("$PG_CONFIG" --sharedir)/extension" ]; then
		quietly "$log" make -C "$dir" "$@" install ||
			die "make install failed (full log: $log)"
	else
		set_root_prefix "make install (into $("$PG_CONFIG" --pkglibdir))"
		quietly "$log" "${ROOT_PREFIX[@]}" make -C "$dir" "$@" install ||
			die "make install failed (full log: $log)"
	fi
}

# ---------------------------------------------------------------------------
# The `make run` cluster: .run/pg/{data,server.log,.s.PGSQL.<port>} in the
# project folder.  When the server user cannot reach the project folder (a
# clone under /root, run as root) or the socket path would be too long, .run/pg
# is a symlink to a directory under /tmp instead.
# ---------------------------------------------------------------------------
RUN_PORT=${PARTKV_PORT:-5432}
RUN_LINK=$PARTKV_ROOT/.run/pg

# run_base -- print the real directory behind .run/pg (may not exist yet).
run_base() {
	if [ -L "$RUN_LINK" ]; then
		readlink "$RUN_LINK"
	else
		echo "$RUN_LINK"
	fi
}

# make_server_dir DIR -- create DIR owned by the server user, mode 0700.
make_server_dir() {
	mkdir -p "$1"
	if is_root; then
		chown postgres:postgres "$1"
	fi
	chmod 700 "$1"
}

# prepare_run_base -- create the cluster's base directory, choosing between
# the project folder and /tmp; print its path.
prepare_run_base() {
	local base fallback sock
	mkdir -p "$PARTKV_ROOT/.run"
	fallback=/tmp/partkv-run-$(id -u)-$(printf '%s' "$PARTKV_ROOT" | cksum | cut -d' ' -f1)
	if [ -L "$RUN_LINK" ]; then
		base=$(readlink "$RUN_LINK")
		make_server_dir "$base"
		echo "$base"
		return
	fi
	base=$RUN_LINK
	sock="$base/.s.PGSQL.$RUN_PORT"
	make_server_dir "$base"
	if [ ${#sock} -ge 100 ] || ! can_server_user_write "$base"; then
		rmdir "$base" 2>/dev/null || true
		make_server_dir "$fallback"
		ln -sfn "$fallback" "$RUN_LINK"
		note "$(server_user) cannot use $RUN_LINK; the cluster lives in $fallback (linked from .run/pg)" >&2
		base=$fallback
	fi
	echo "$base"
}

# client_role -- the role psql connects as: ourselves (root gets a superuser
# role of its own; the server authenticates local connections by peer).
client_role() {
	id -un
}

# pg_ctl_run ARGS... -- pg_ctl on the run cluster, as the server user.
pg_ctl_run() {
	as_server_user "$PG_BINDIR/pg_ctl" -D "$(run_base)/data" "$@"
}

# run_is_up -- true when the run cluster's postmaster is running.
run_is_up() {
	[ -f "$(run_base)/data/PG_VERSION" ] && pg_ctl_run status >/dev/null 2>&1
}
