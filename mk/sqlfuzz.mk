# mk/sqlfuzz.mk -- the SQL-level fuzzer (test/fuzz/SqlFuzz.pm) of the code
# that needs the server: item model, typed-JSON converters, evaluator,
# batch/transact request parsers.
#
#   make fuzz-sql                       install deps, build, install, fuzz for
#                                       FUZZ_SQL_SECONDS (600) with a random
#                                       seed (FUZZ_SQL_SEED to repeat a run)
#   make fuzz-sql FUZZ_SQL_ADD=0        do not add new inputs to the corpus
#
# `make test` runs the same driver for 45 s with seed 1, as TAP test
# test/t/080_sql_fuzz.pl (PARTKV_SQL_FUZZ_SECONDS changes that time).
# Findings go to test/fuzz/build/sql-findings/; inputs with new outcomes are
# added to test/fuzz/sql-corpus/ for review.  See test/fuzz/README.md.

SQLFUZZ_DIR := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))))/test/fuzz

FUZZ_SQL_SECONDS ?= 600
FUZZ_SQL_SEED ?= random
FUZZ_SQL_ADD ?= 1

.PHONY: fuzz-sql

fuzz-sql:
	@FUZZ_SQL_SECONDS=$(FUZZ_SQL_SECONDS) FUZZ_SQL_SEED=$(FUZZ_SQL_SEED) \
		FUZZ_SQL_ADD=$(FUZZ_SQL_ADD) $(SQLFUZZ_DIR)/sql-fuzz.sh
