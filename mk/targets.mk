# mk/targets.mk -- developer entry points, included by the Makefile.
#
#   make run        install deps, build, install, start the local cluster in
#                   .run/pg (unix socket only), create database partkv with
#                   the extension and a demo table, open psql there
#   make stop       stop that cluster          make run-reset  stop + delete it
#   make test       install deps, build, install, run every suite
#                   (regress, isolation, TAP, fuzz-check); last line of
#                   output: "N passed, N failed"
#   make bench      pgbench: partkv vs plain PostgreSQL (BENCH_SECONDS=30),
#                   then the endpoint: partkv-server vs pgbench vs dynalite
#                   (BENCH_ENDPOINT_SECONDS=20; BENCH_ENDPOINT=0 skips it);
#                   see docs/BENCHMARKS.md
#   make bench-endpoint  only the endpoint workloads
#   make deps       only install the missing Debian packages
#   make format     reformat src/ C files with clang-format (.clang-format,
#                   pgindent's layout as near as clang-format comes to it);
#                   FORMAT_FILES=... limits it to some files
#   make format-check  list what `make format` would change; fails if any
#   make compile-commands  compile_commands.json (for clangd) through bear
#
# The work is done by scripts under test/ so each can also run on its own.
# They work before PostgreSQL is installed: they install it, then call make
# again, which then finds pg_config and includes PGXS.

PARTKV_SCRIPTS := $(dir $(lastword $(MAKEFILE_LIST)))../test

.PHONY: run stop run-reset test bench bench-endpoint deps format format-check compile-commands

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
	@if [ "$${BENCH_ENDPOINT:-1}" != 0 ]; then $(PARTKV_SCRIPTS)/bench/endpoint.sh; fi

bench-endpoint:
	@$(PARTKV_SCRIPTS)/install-deps.sh
	@bash -c '. $(PARTKV_SCRIPTS)/scripts/common.sh && build_and_install'
	@$(PARTKV_SCRIPTS)/bench/endpoint.sh

deps:
	@$(PARTKV_SCRIPTS)/install-deps.sh

# Developer tools, none of them needed to build or test.  The existing code
# is pgindent's: run format on the files you change, not on the whole tree
# (clang-format cannot place declarations where pgindent does; see
# .clang-format).
PARTKV_TOP := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))))
CLANG_FORMAT ?= $(firstword $(shell command -v clang-format-14 clang-format 2>/dev/null) clang-format)
FORMAT_FILES ?= $(sort $(wildcard $(PARTKV_TOP)/src/*.[ch] $(PARTKV_TOP)/src/*/*.[ch]))

format:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "$(CLANG_FORMAT) not found (apt-get install clang-format)" >&2; exit 1; }
	$(CLANG_FORMAT) -i --style=file $(FORMAT_FILES)

format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "$(CLANG_FORMAT) not found (apt-get install clang-format)" >&2; exit 1; }
	$(CLANG_FORMAT) --dry-run --Werror --style=file $(FORMAT_FILES)

# A rebuild of every object under bear records its compiler call (the
# server's compiler, not the clang of the LLVM bitcode); optional, so a
# machine without bear is told, not failed silently.
compile-commands:
	@command -v bear >/dev/null || { echo "bear not found (apt-get install bear): compile_commands.json is optional" >&2; exit 1; }
	cd $(PARTKV_TOP) && bear --output compile_commands.json -- $(MAKE) -B $(OBJS)

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
