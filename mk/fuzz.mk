# mk/fuzz.mk -- fuzzing and standalone tests of the expression front end
# (src/expr/), which builds without the PostgreSQL server headers.
#
# Works included from the top Makefile or on its own:
#   make -f mk/fuzz.mk fuzz-check     # unit test under ASan+UBSan, 20 s fuzz run
#   make -f mk/fuzz.mk fuzz           # libFuzzer run, FUZZ_SECONDS (default 60)
#   make -f mk/fuzz.mk expr-test      # unit test only (any C compiler)
#   make -f mk/fuzz.mk fuzz-merge     # minimise the corpus into test/fuzz/corpus
#   make -f mk/fuzz.mk fuzz-clean
#
# Everything is built in test/fuzz/build/ (git-ignored).  The committed corpus
# test/fuzz/corpus/ is only read by fuzz runs; new inputs go to
# test/fuzz/build/corpus/, crashes to test/fuzz/build/.

FUZZ_TOP := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))))

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_CHECK_SECONDS ?= 20
FUZZ_JOBS ?= 1
FUZZ_BUILD := $(FUZZ_TOP)/test/fuzz/build
FUZZ_CORPUS := $(FUZZ_TOP)/test/fuzz/corpus
FUZZ_DICT := $(FUZZ_TOP)/test/fuzz/expr.dict
FUZZ_EXPR_SRCS := $(sort $(wildcard $(FUZZ_TOP)/src/expr/*.c))
FUZZ_EXPR_HDRS := $(wildcard $(FUZZ_TOP)/src/expr/*.h)
FUZZ_COMMON_CFLAGS := -std=c11 -g -O1 -Wall -Wextra -Werror -I$(FUZZ_TOP)/src \
	-fno-omit-frame-pointer
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_OPTS := -max_len=4400 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-dict=$(FUZZ_DICT) -artifact_prefix=$(FUZZ_BUILD)/

.PHONY: fuzz fuzz-check fuzz-build expr-test expr-test-plain fuzz-merge fuzz-clean

$(FUZZ_BUILD):
	mkdir -p $@ $@/corpus

# Unit test under AddressSanitizer and UBSan (LeakSanitizer is part of ASan).
$(FUZZ_BUILD)/expr_test: $(FUZZ_TOP)/test/fuzz/expr_test.c $(FUZZ_EXPR_SRCS) $(FUZZ_EXPR_HDRS) | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_COMMON_CFLAGS) $(FUZZ_SAN) -o $@ $(FUZZ_TOP)/test/fuzz/expr_test.c $(FUZZ_EXPR_SRCS)

expr-test: $(FUZZ_BUILD)/expr_test
	$(FUZZ_BUILD)/expr_test

# Same test without sanitizers, with the default C compiler (no clang needed).
expr-test-plain: | $(FUZZ_BUILD)
	$(or $(CC),cc) -std=c11 -O2 -Wall -Wextra -I$(FUZZ_TOP)/src -o $(FUZZ_BUILD)/expr_test_plain \
		$(FUZZ_TOP)/test/fuzz/expr_test.c $(FUZZ_EXPR_SRCS)
	$(FUZZ_BUILD)/expr_test_plain

$(FUZZ_BUILD)/fuzz_expr: $(FUZZ_TOP)/test/fuzz/fuzz_expr.c $(FUZZ_EXPR_SRCS) $(FUZZ_EXPR_HDRS) | $(FUZZ_BUILD)
	$(FUZZ_CC) $(FUZZ_COMMON_CFLAGS) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ $(FUZZ_TOP)/test/fuzz/fuzz_expr.c $(FUZZ_EXPR_SRCS)

fuzz-build: $(FUZZ_BUILD)/fuzz_expr

# (run from the build directory: with -jobs libFuzzer writes fuzz-N.log to
# the current directory)
fuzz: $(FUZZ_BUILD)/fuzz_expr
	cd $(FUZZ_BUILD) && ./fuzz_expr $(FUZZ_OPTS) -max_total_time=$(FUZZ_SECONDS) \
		-jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS) \
		$(FUZZ_BUILD)/corpus $(FUZZ_CORPUS)

fuzz-check: expr-test $(FUZZ_BUILD)/fuzz_expr
	cd $(FUZZ_BUILD) && ./fuzz_expr $(FUZZ_OPTS) -max_total_time=$(FUZZ_CHECK_SECONDS) \
		$(FUZZ_BUILD)/corpus $(FUZZ_CORPUS)

# Add to the committed corpus only the inputs of past runs that bring new
# coverage (libFuzzer's merge keeps the existing, named seeds as they are).
fuzz-merge: $(FUZZ_BUILD)/fuzz_expr
	$(FUZZ_BUILD)/fuzz_expr -merge=1 -max_len=4400 $(FUZZ_CORPUS) $(FUZZ_BUILD)/corpus

fuzz-clean:
	rm -rf $(FUZZ_BUILD)
