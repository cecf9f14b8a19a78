/*
 * preload.c -- a helper library preloaded after the ASan runtime into the
 * servers (and every other program) of the sanitizer test run
 * (mk/sanitize.mk, test/scripts/test.sh).  It works around two problems of a
 * sanitizer runtime preloaded into PostgreSQL, which is not built for it.
 *
 * 1. Preloaded, the ASan runtime starts lazily, at the first malloc() of the
 * process.  On Debian 12 that malloc comes from a library constructor
 * (libgpg-error's or libp11-kit's, which postgres, psql and initdb pull in)
 * inside glibc's bindtextdomain() or newlocale(), which hold a locale rwlock
 * for writing.  ASan's start calls dlerror(), which translates its message
 * and so takes the same rwlock for reading: glibc refuses (EDEADLK), gettext
 * unlocks anyway, the lock's reader count goes negative, and the process hangs
 * at its next bindtextdomain() (`postgres -V` never returns).  The ASan
 * runtime calls dlerror() only to discard the error of a failed dlsym(), so
 * answering those calls here, without the translation, loses nothing.  Every
 * other caller gets glibc's dlerror().
 *
 * 2. The UBSan runtime (libubsan, loaded with partkv.so) starts at its first
 * report, in a backend, and reads UBSAN_OPTIONS from /proc/self/environ,
 * which the postmaster overwrote with its process title long before: it
 * would report without a stack and exit with status 1.  It asks
 * __ubsan_default_options() first, so this library answers with the
 * UBSAN_OPTIONS it saw when the process started.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

char	   *dlerror(void);
const char *__ubsan_default_options(void);

static char ubsan_options[4096];

/* dlerror -- glibc's, except for calls from the ASan runtime. */
char *
dlerror(void)
{
	static char *(*real_dlerror) (void);
	Dl_info		caller;

	if (dladdr(__builtin_return_address(0), &caller) != 0 &&
		caller.dli_fname != NULL && strstr(caller.dli_fname, "/libasan.so") != NULL)
		return NULL;
	if (real_dlerror == NULL)
		real_dlerror = (char *(*) (void)) dlsym(RTLD_NEXT, "dlerror");
	return real_dlerror();
}

/* __ubsan_default_options -- UBSAN_OPTIONS as the process started with. */
const char *
__ubsan_default_options(void)
{
	return ubsan_options;
}

/* SaveUbsanOptions -- keep UBSAN_OPTIONS while the environment is intact. */
__attribute__((constructor))
static void
SaveUbsanOptions(void)
{
	const char *options = getenv("UBSAN_OPTIONS");

	if (options != NULL && strlen(options) < sizeof(ubsan_options))
		strcpy(ubsan_options, options);
}
