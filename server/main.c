/*
 * main.c -- partkv-server's options, start and orderly stop.
 *
 * partkv-server [-p PORT] [-h ADDRESS] [-d CONNINFO] [--auth sigv4|none]
 *               [-j CONNECTIONS] [options]   (DESIGN.md §4; --help lists all)
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "server.h"

Config		config = {
	.address = "127.0.0.1",
	.port = 8000,
	.conninfo = "",
	.auth_sigv4 = true,
	.pool_size = 8,
	.max_body = 16 * 1024 * 1024,
	.idle_timeout = 60,
	.request_timeout = 30,
	.max_connections = 10000,
	.queue_size = 4096,
	.key_cache_seconds = 5,
	.http_threads = 2,
	.drain_timeout = 30,
	.log_level = LOG_INFO,
};

static void
usage(FILE *out)
{
	fprintf(out,
			"partkv-server serves DynamoDB's HTTP API (JSON 1.0/1.1) from partkv.dynamodb().\n\n"
			"Usage: partkv-server [OPTION]...\n\n"
			"  -p, --port=PORT            TCP port (default 8000)\n"
			"  -h, --host=ADDRESS         address to listen on (default 127.0.0.1)\n"
			"  -d, --dbname=CONNINFO      database connection string (default: libpq's\n"
			"                             PGHOST, PGPORT, PGDATABASE, PGUSER, ...)\n"
			"      --auth=sigv4|none      sigv4 (default): AWS Signature Version 4 with\n"
			"                             partkv's access keys; none: any or no key, every\n"
			"                             request runs as the connecting role (development)\n"
			"  -j, --jobs=CONNECTIONS     database connections (default 8)\n"
			"      --max-body=BYTES       largest request body (default 16777216)\n"
			"      --idle-timeout=SECS    close a keep-alive connection idle this long (60)\n"
			"      --request-timeout=SECS cut a client that takes longer to send a request (30)\n"
			"      --max-connections=N    open HTTP connections at most (10000)\n"
			"      --queue=N              requests waiting for a database connection at\n"
			"                             most; more get ThrottlingException (4096)\n"
			"      --key-cache=SECS       how long a looked-up access key is trusted (5)\n"
			"      --http-threads=N       HTTP polling threads (2)\n"
			"      --drain-timeout=SECS   on SIGTERM, wait this long for requests (30)\n"
			"      --log-level=LEVEL      error, warn, info (one line per request) or debug\n"
			"      --tls-cert=FILE        serve HTTPS with this PEM certificate ...\n"
			"      --tls-key=FILE         ... and this PEM private key\n"
			"      --pidfile=FILE         write the process id here\n"
			"      --help                 show this help and exit\n");
}

/* parse_int: an integer option within [min, max], or exit with a message */
static long
parse_int(const char *name, const char *value, long min, long max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
	{
		fprintf(stderr, "partkv-server: invalid value for %s: \"%s\" (%ld..%ld)\n", name, value, min, max);
		exit(2);
	}
	return v;
}

static void
parse_options(int argc, char **argv)
{
	enum
	{
		OPT_AUTH = 256, OPT_MAX_BODY, OPT_IDLE, OPT_REQUEST, OPT_MAXCONN, OPT_QUEUE,
		OPT_KEYCACHE, OPT_THREADS, OPT_DRAIN, OPT_LOGLEVEL, OPT_CERT, OPT_KEY, OPT_PIDFILE,
		OPT_HELP
	};
	static const struct option options[] = {
		{"port", required_argument, NULL, 'p'},
		{"host", required_argument, NULL, 'h'},
		{"dbname", required_argument, NULL, 'd'},
		{"jobs", required_argument, NULL, 'j'},
		{"auth", required_argument, NULL, OPT_AUTH},
		{"max-body", required_argument, NULL, OPT_MAX_BODY},
		{"idle-timeout", required_argument, NULL, OPT_IDLE},
		{"request-timeout", required_argument, NULL, OPT_REQUEST},
		{"max-connections", required_argument, NULL, OPT_MAXCONN},
		{"queue", required_argument, NULL, OPT_QUEUE},
		{"key-cache", required_argument, NULL, OPT_KEYCACHE},
		{"http-threads", required_argument, NULL, OPT_THREADS},
		{"drain-timeout", required_argument, NULL, OPT_DRAIN},
		{"log-level", required_argument, NULL, OPT_LOGLEVEL},
		{"tls-cert", required_argument, NULL, OPT_CERT},
		{"tls-key", required_argument, NULL, OPT_KEY},
		{"pidfile", required_argument, NULL, OPT_PIDFILE},
		{"help", no_argument, NULL, OPT_HELP},
		{NULL, 0, NULL, 0}
	};
	int			c;

	while ((c = getopt_long(argc, argv, "p:h:d:j:", options, NULL)) != -1)
	{
		switch (c)
		{
			case 'p':
				config.port = parse_int("--port", optarg, 0, 65535);
				break;
			case 'h':
				config.address = optarg;
				break;
			case 'd':
				config.conninfo = optarg;
				break;
			case 'j':
				config.pool_size = parse_int("--jobs", optarg, 1, 1000);
				break;
			case OPT_AUTH:
				if (strcmp(optarg, "sigv4") == 0)
					config.auth_sigv4 = true;
				else if (strcmp(optarg, "none") == 0)
					config.auth_sigv4 = false;
				else
				{
					fprintf(stderr, "partkv-server: --auth must be sigv4 or none\n");
					exit(2);
				}
				break;
			case OPT_MAX_BODY:
				config.max_body = parse_int("--max-body", optarg, 1, 1L << 30);
				break;
			case OPT_IDLE:
				config.idle_timeout = parse_int("--idle-timeout", optarg, 1, 86400);
				break;
			case OPT_REQUEST:
				config.request_timeout = parse_int("--request-timeout", optarg, 1, 86400);
				break;
			case OPT_MAXCONN:
				config.max_connections = parse_int("--max-connections", optarg, 1, 1000000);
				break;
			case OPT_QUEUE:
				config.queue_size = parse_int("--queue", optarg, 1, 1000000);
				break;
			case OPT_KEYCACHE:
				config.key_cache_seconds = parse_int("--key-cache", optarg, 0, 3600);
				break;
			case OPT_THREADS:
				config.http_threads = parse_int("--http-threads", optarg, 1, 256);
				break;
			case OPT_DRAIN:
				config.drain_timeout = parse_int("--drain-timeout", optarg, 0, 86400);
				break;
			case OPT_LOGLEVEL:
				if (strcmp(optarg, "error") == 0)
					config.log_level = LOG_ERROR;
				else if (strcmp(optarg, "warn") == 0)
					config.log_level = LOG_WARN;
				else if (strcmp(optarg, "info") == 0)
					config.log_level = LOG_INFO;
				else if (strcmp(optarg, "debug") == 0)
					config.log_level = LOG_DEBUG;
				else
				{
					fprintf(stderr, "partkv-server: --log-level must be error, warn, info or debug\n");
					exit(2);
				}
				break;
			case OPT_CERT:
				config.tls_cert = optarg;
				break;
			case OPT_KEY:
				config.tls_key = optarg;
				break;
			case OPT_PIDFILE:
				config.pidfile = optarg;
				break;
			case OPT_HELP:
				usage(stdout);
				exit(0);
			default:
				usage(stderr);
				exit(2);
		}
	}
	if (optind < argc)
	{
		fprintf(stderr, "partkv-server: unexpected argument \"%s\"\n", argv[optind]);
		exit(2);
	}
	if ((config.tls_cert == NULL) != (config.tls_key == NULL))
	{
		fprintf(stderr, "partkv-server: --tls-cert and --tls-key go together\n");
		exit(2);
	}
}

/*
 * raise_fd_limit: thousands of idle clients each hold a descriptor; the soft
 * limit (often 1024) would refuse them long before --max-connections.
 */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max)
	{
		rl.rlim_cur = rl.rlim_max;
		(void) setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	sigset_t	signals;
	int			sig;
	struct MHD_Daemon *daemon;

	parse_options(argc, argv);
	raise_fd_limit();

	/* every thread inherits this mask: only sigwait below sees the signals */
	sigemptyset(&signals);
	sigaddset(&signals, SIGTERM);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &signals, NULL);
	signal(SIGPIPE, SIG_IGN);

	key_cache_init();
	if (!pool_start())
		return 1;
	daemon = http_start();
	if (daemon == NULL)
		return 1;
	if (config.pidfile != NULL)
	{
		FILE	   *f = fopen(config.pidfile, "w");

		if (f == NULL || fprintf(f, "%d\n", (int) getpid()) < 0 || fclose(f) != 0)
		{
			log_msg(LOG_ERROR, "could not write pid file %s: %m", config.pidfile);
			return 1;
		}
	}
	log_msg(LOG_INFO, "partkv-server listening on %s:%d (%s, auth %s, %d database connections)",
			config.address, config.port, config.tls_cert ? "https" : "http",
			config.auth_sigv4 ? "sigv4" : "none", config.pool_size);

	do
	{
		if (sigwait(&signals, &sig) != 0)
			sig = SIGTERM;
		if (sig == SIGHUP)
			log_msg(LOG_INFO, "SIGHUP ignored (restart to change options)");
	} while (sig == SIGHUP);

	log_msg(LOG_INFO, "signal %d: draining in-flight requests", sig);
	http_drain(daemon);
	pool_stop();
	if (config.pidfile != NULL)
		unlink(config.pidfile);
	log_msg(LOG_INFO, "partkv-server stopped");
	return 0;
}
