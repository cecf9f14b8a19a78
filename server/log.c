/*
 * log.c -- partkv-server's log: one line per event on stderr (systemd's
 * journal or the file the caller redirects it to), at or above --log-level.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "server.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* now_ms: a monotonic clock in milliseconds, for durations and deadlines */
double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

/* log_msg: a time-stamped line, written whole (one fprintf holds the lock) */
void
log_msg(LogLevel level, const char *fmt,...)
{
	char		line[2048];
	char		stamp[32];
	struct timespec ts;
	struct tm	tm;
	va_list		ap;

	if (level > config.log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ %s %s\n", stamp, ts.tv_nsec / 1000000, level_names[level], line);
}
