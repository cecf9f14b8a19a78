#!/bin/bash
#
# stop.sh -- `make stop`: stop the `make run` cluster if it is running.
# With --reset (make run-reset), also delete it.

set -euo pipefail

# shellcheck source=test/scripts/common.sh
. "$(dirname "$0")/common.sh"

http_pid=$PARTKV_ROOT/.run/partkv-server.pid
if [ -f "$http_pid" ]; then
	pid=$(cat "$http_pid")
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		note "partkv-server stopped"
	fi
	rm -f "$http_pid"
fi
if run_is_up; then
	mkdir -p "$PARTKV_ROOT/.run/log"
	quietly "$PARTKV_ROOT/.run/log/pg_ctl.log" pg_ctl_run -w stop -m fast ||
		die "could not stop the server in $(run_base)/data"
	note "server stopped"
fi
if [ "${1:-}" = --reset ]; then
	base=$(run_base)
	rm -rf "$base"
	[ -L "$RUN_LINK" ] && rm -f "$RUN_LINK"
	rm -f "$PARTKV_ROOT/.run/env" "$PARTKV_ROOT/.run/loaded-partkv.so.cksum"
	note "removed the make run cluster ($base)"
fi
