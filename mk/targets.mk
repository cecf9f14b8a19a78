# mk/targets.mk -- developer entry points, included by the Makefile.
#
#   make run        install deps, build, install, start the local cluster in
#                   .run/pg (unix socket only), create database partkv with
#                   the extension and a demo table, open psql there
#   make stop       stop that cluster          make run-reset  stop + delete it
#   make test       install deps, build, install, run every suite
#                   (regress, isolation, TAP, fuzz-check); last line of
#                   output: "N passed, N failed"
#   make bench      pgbench: partkv vs plain PostgreSQL (BENCH_SECONDS=30);
#                   see docs/BENCHMARKS.md
#   make deps       only install the missing Debian packages
#
# The work is done by scripts under test/ so each can also run on its own.
# They work before PostgreSQL is installed: they install it, then call make
# again, which then finds pg_config and includes PGXS.

PARTKV_SCRIPTS := $(dir $(lastword $(MAKEFILE_LIST)))../test

.PHONY: run stop run-reset test bench deps

run:
	@$(PARTKV_SCRIPTS)/install-deps.sh
	@bash -c '. $(PARTKV_SCRIPTS)/scripts/common.sh && build_and_install'
	@$(PARTKV_SCRIPTS)/scripts/run.sh

stop:
	@$(PARTKV_SCRIPTS)/scripts/stop.sh

run-reset:
	@$(PARTKV_SCRIPTS)/scripts/stop.sh --reset

test:
	@$(PARTKV_SCRIPTS)/scripts/test.sh

bench:
	@$(PARTKV_SCRIPTS)/install-deps.sh
	@bash -c '. $(PARTKV_SCRIPTS)/scripts/common.sh && build_and_install'
	@$(PARTKV_SCRIPTS)/bench/bench.sh

deps:
	@$(PARTKV_SCRIPTS)/install-deps.sh

# make print-VAR: the value of a make variable (the test runner asks which
# suites are defined).
print-%:
	@echo '$($*)'

# Without pg_config there is no PGXS, hence no default goal: say what to do.
ifeq ($(PGXS),)
.DEFAULT_GOAL := partkv-no-pgxs
.PHONY: partkv-no-pgxs
partkv-no-pgxs:
	@echo "PostgreSQL $(or $(PG_MAJOR),15) development files not found (no pg_config)." >&2
	@echo "Run 'make deps' to install them, or 'make run' / 'make test', which do it first." >&2
	@exit 1
endif
