# mk/sanitize.mk -- the sanitizer build of the extension, included by the
# Makefile.
#
#   make SANITIZE=1 [install]   partkv.so built with AddressSanitizer and
#                               UndefinedBehaviorSanitizer (gcc's runtimes)
#   make test-sanitize          build, install and run the regression,
#                               isolation and TAP suites against servers that
#                               load it (test/scripts/test.sh, suites asan-*)
#   make sanitize-preload       test/sanitize/build/preload.so (below)
#
# Only partkv.so is instrumented; the server is Debian's.  An instrumented
# library can only be loaded into a process that has the ASan runtime first in
# its library list, so the server is started with
#     LD_PRELOAD="$(SANITIZE_RUNTIME) <tree>/$(SANITIZE_PRELOAD)"
# (test.sh does it; a plain server refuses a sanitizer build at
# shared_preload_libraries, so a run without the runtime cannot pass
# unnoticed).  The second library keeps the preloaded runtime's lazy start
# from deadlocking glibc's locale locks and hands UBSAN_OPTIONS to the UBSan
# runtime: see test/sanitize/preload.c.
# Objects remember which build made them (.partkv-build): switching between
# the two rebuilds everything.

SANITIZE ?=
SANITIZE_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
SANITIZE_RUNTIME := $(shell $(or $(CC),gcc) -print-file-name=libasan.so 2>/dev/null)
SANITIZE_PRELOAD := test/sanitize/build/preload.so

PARTKV_BUILD_KIND := $(if $(filter-out 0,$(SANITIZE)),sanitize,plain)
PARTKV_BUILD_STAMP := .partkv-build

ifeq ($(PARTKV_BUILD_KIND),sanitize)
# (after PGXS, which fixes CFLAGS with :=; compiling and linking the module
# both use CFLAGS, so the link pulls in the runtimes too)
override CFLAGS += $(SANITIZE_FLAGS)
endif

# The stamp is remade (and every object with it) only when objects are built
# and it names the other kind; other goals (installcheck) leave it alone.
ifneq ($(shell cat $(PARTKV_BUILD_STAMP) 2>/dev/null),$(PARTKV_BUILD_KIND))
.PHONY: $(PARTKV_BUILD_STAMP)
endif
$(PARTKV_BUILD_STAMP):
	echo $(PARTKV_BUILD_KIND) >$@
$(OBJS): $(PARTKV_BUILD_STAMP)

.PHONY: test-sanitize sanitize-preload
sanitize-preload: $(SANITIZE_PRELOAD)
$(SANITIZE_PRELOAD): test/sanitize/preload.c
	@mkdir -p $(@D)
	$(or $(CC),gcc) -shared -fPIC -O2 -Wall -Wextra -o $@ $< -ldl

test-sanitize:
	@PARTKV_SUITES="$(or $(PARTKV_SUITES),asan)" $(PARTKV_SCRIPTS)/scripts/test.sh
