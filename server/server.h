/*
 * server.h -- partkv-server: DynamoDB's HTTP protocol in front of
 * partkv.dynamodb().
 *
 * Threads: libmicrohttpd's polling threads parse HTTP and validate each
 * request (JSON, X-Amz-Target, the shape of its signature); a request that
 * passes is queued and its connection suspended.  -j pool workers, each
 * owning one libpq connection, take requests off the queue, check the
 * signature against the access key's secret, run the request in the
 * database and resume the connection, whose polling thread sends the
 * answer.  A watchdog thread cuts connections that trickle a request.
 */
#ifndef PARTKV_SERVER_H
#define PARTKV_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

typedef enum LogLevel
{
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG
} LogLevel;

typedef struct Config
{
	const char *address;
	int			port;
	const char *conninfo;
	bool		auth_sigv4;
	int			pool_size;
	size_t		max_body;
	int			idle_timeout;	/* seconds a keep-alive connection may idle */
	int			request_timeout;	/* seconds to receive a whole request */
	int			max_connections;
	int			queue_size;		/* requests waiting for a database connection */
	int			key_cache_seconds;
	int			http_threads;
	int			drain_timeout;
	LogLevel	log_level;
	const char *tls_cert;
	const char *tls_key;
	const char *pidfile;
} Config;

extern Config config;

/* what a request is, once its headers are in */
typedef enum RequestKind
{
	REQ_DYNAMODB,
	REQ_HEALTH
} RequestKind;

/* the SigV4 facts a polling thread extracts for the pool worker */
typedef struct SigV4Request
{
	char		key_id[129];
	char	   *string_to_sign;
	char	   *canonical_request;
	char		date[9];		/* YYYYMMDD of the credential scope */
	char		region[64];
	char		signature[65];
	bool		has_security_token;
} SigV4Request;

typedef struct Request
{
	struct MHD_Connection *connection;
	struct ConnState *conn_state;
	RequestKind kind;
	int			stage;			/* see http.c */
	double		start_ms;
	char		remote[64];
	char		request_id[53];
	const char *response_type;	/* mirrors the request's content type */

	char	   *body;
	size_t		body_len;
	size_t		body_cap;
	bool		body_too_big;

	char		target[160];	/* X-Amz-Target as sent */
	const char *operation;		/* after the service prefix, inside target */
	SigV4Request sig;

	/* filled by the pool worker */
	char		role[64];		/* the role the request ran as, for the log */
	int			status;
	char	   *response;
	size_t		response_len;
	bool		done;
} Request;

/* log.c */
extern void log_msg(LogLevel level, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern double now_ms(void);

/* pool.c */
extern bool pool_start(void);
extern bool pool_enqueue(Request *req);
extern void pool_stop(void);
extern void key_cache_init(void);

/* sigv4.c */
/* parse and check the Authorization header; NULL, or an error body and status */
extern char *sigv4_prepare(struct MHD_Connection *connection, const char *url,
						   const char *body, size_t body_len, SigV4Request *sig,
						   int *status);
/* compare with the key's secret; NULL when the signature is good */
extern char *sigv4_verify(const SigV4Request *sig, const char *secret, int *status);
extern void sigv4_free(SigV4Request *sig);

/* http.c */
extern char *error_body(const char *type, const char *message);
extern struct MHD_Daemon *http_start(void);
extern void http_drain(struct MHD_Daemon *daemon);

#endif
