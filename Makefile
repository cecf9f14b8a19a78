# partkv — PGXS build.
#
# `make run` and `make test` work on a machine that has nothing installed yet:
# they install the dependencies first (mk/targets.mk), then re-enter this
# Makefile with pg_config available.

EXTENSION = partkv
MODULE_big = partkv
DATA = $(wildcard sql/partkv--*.sql)

# Expression-language sources that build without the server (fuzzed) live in
# src/expr/; the server-side sources everywhere else.
SRCS = $(sort $(wildcard src/*.c src/*/*.c))
OBJS = $(SRCS:.c=.o)

PG_CPPFLAGS = -std=gnu11
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare
# CI builds with WERROR=1 (.ci/run): a new warning fails the build there.
# test/scripts/test.sh runs make without the caller's MAKEFLAGS, so the
# setting travels in the environment.
ifdef WERROR
PG_CFLAGS += -Werror
export WERROR
endif
SHLIB_LINK = -lxxhash

# Regression suites, in order.
REGRESS = init api items tables tableam write_paths dynamodb_json item_api conditions update_item batch stream_decoder query capacity lsi stream stream_handlers ttl gsi integrity_small security_catalogs scan_stream fuzz_findings error_module lost_slot wire install_scripts wire_conform
REGRESS_OPTS = --temp-instance=tmp_check \
	--temp-config=$(srcdir)/test/partkv.conf --load-extension=partkv

ISOLATION = put_race conditional_race
ISOLATION_OPTS = --inputdir=test --outputdir=output_iso --temp-instance=tmp_check_iso \
	--temp-config=$(srcdir)/test/partkv.conf

TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(PGXS),)
include $(PGXS)
# after PGXS, which resets it
PROVE_FLAGS = -I $(srcdir)/test/t
endif

# PGXS tracks no header dependencies: a changed header (a struct that grew)
# must rebuild every object, or old objects corrupt memory.
$(OBJS): $(wildcard src/*.h src/*/*.h)

-include mk/targets.mk
ifneq ($(PGXS),)
include mk/server.mk
endif
-include mk/fuzz.mk
-include mk/sqlfuzz.mk

# Test servers return freed memory of 128 kB and more to the kernel at once
# and fill other freed memory with junk, so that a row still pointing at
# memory partkv freed (a use after free) crashes or shows at once instead of
# passing by luck.  Only the test targets: never the bench or run clusters.
installcheck check: export MALLOC_MMAP_THRESHOLD_ = 131072
installcheck check: export MALLOC_PERTURB_ = 165
-include mk/sanitize.mk
