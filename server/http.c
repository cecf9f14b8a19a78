/*
 * http.c -- the HTTP side of partkv-server, on libmicrohttpd.
 *
 * Why libmicrohttpd: it is maintained (GNU), packaged by Debian
 * (libmicrohttpd-dev), small, and does what a hand-written server would get
 * wrong: HTTP/1.1 parsing, keep-alive, chunked bodies, connection limits,
 * per-connection inactivity timeouts and TLS through GnuTLS; epoll with a
 * pool of polling threads; and suspend/resume, so that a request waiting
 * for the database holds no thread.
 *
 * A request goes through these stages (Request.stage):
 *   STAGE_HEADERS  headers in: method, Content-Length checked
 *   STAGE_BODY     body arriving (at most --max-body bytes kept)
 *   STAGE_WAITING  checked and queued for a pool worker; connection suspended
 * Everything the transport refuses (content type, JSON, target, signature
 * shape) is refused here, before any database work (wirecontract.md).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/rand.h>
#include <zlib.h>

#include "server.h"

#define STAGE_HEADERS 0
#define STAGE_BODY 1
#define STAGE_WAITING 2

#define SERIALIZATION_TYPE "com.amazon.coral.service#SerializationException"
#define UNKNOWN_OPERATION_TYPE "com.amazon.coral.service#UnknownOperationException"

/*
 * Per connection: the watchdog's deadline.  MHD's own timeout measures
 * inactivity only, so a client that sends one byte a second would keep a
 * connection forever; the watchdog shuts down (shutdown(2), not close: the
 * descriptor stays MHD's) any connection whose request is not in by its
 * deadline: --request-timeout after the request line, or --idle-timeout
 * plus --request-timeout after the previous answer.
 */
typedef struct ConnState
{
	int			fd;
	double		deadline_ms;	/* 0: none (the request is the server's) */
	bool		cut;
	struct ConnState *prev,
			   *next;
} ConnState;

static ConnState *connections;
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static int	in_flight;			/* requests begun and not yet completed */
static volatile bool draining;
static bool watchdog_stop;
static pthread_t watchdog_thread;

static void
set_deadline(ConnState *cs, double deadline_ms)
{
	if (cs == NULL)
		return;
	pthread_mutex_lock(&conn_lock);
	cs->deadline_ms = deadline_ms;
	pthread_mutex_unlock(&conn_lock);
}

static void *
watchdog_main(void *arg)
{
	(void) arg;
	while (!watchdog_stop)
	{
		double		now = now_ms();

		pthread_mutex_lock(&conn_lock);
		for (ConnState *cs = connections; cs; cs = cs->next)
			if (!cs->cut && cs->deadline_ms > 0 && now > cs->deadline_ms)
			{
				cs->cut = true;
				shutdown(cs->fd, SHUT_RDWR);
				log_msg(LOG_INFO, "cut a connection that did not send its request in time");
			}
		pthread_mutex_unlock(&conn_lock);
		usleep(200 * 1000);
	}
	return NULL;
}

static void
notify_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
				  enum MHD_ConnectionNotificationCode code)
{
	ConnState  *cs;

	(void) cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *info =
			MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);

		cs = calloc(1, sizeof(ConnState));
		if (cs == NULL)
			return;
		cs->fd = info ? info->connect_fd : -1;
		cs->deadline_ms = now_ms() + (config.idle_timeout + config.request_timeout) * 1000.0;
		pthread_mutex_lock(&conn_lock);
		cs->next = connections;
		if (connections)
			connections->prev = cs;
		connections = cs;
		pthread_mutex_unlock(&conn_lock);
		*socket_context = cs;
	}
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && (cs = *socket_context) != NULL)
	{
		pthread_mutex_lock(&conn_lock);
		if (cs->prev)
			cs->prev->next = cs->next;
		else
			connections = cs->next;
		if (cs->next)
			cs->next->prev = cs->prev;
		pthread_mutex_unlock(&conn_lock);
		free(cs);
		*socket_context = NULL;
	}
}

/* a request id as DynamoDB's: 52 characters of [A-Z0-9] */
static void
new_request_id(char *out)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char bytes[52];

	if (RAND_bytes(bytes, sizeof(bytes)) != 1)
		abort();
	for (int i = 0; i < 52; i++)
		out[i] = alphabet[bytes[i] % 36];
	out[52] = '\0';
}

/*
 * uri_log: the request line is in; the request begins here (MHD passes the
 * returned pointer to the handler as its *con_cls).
 */
static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *connection)
{
	Request    *req = calloc(1, sizeof(Request));
	const union MHD_ConnectionInfo *info;

	(void) cls;
	(void) uri;
	if (req == NULL)
		return NULL;
	req->connection = connection;
	req->start_ms = now_ms();
	new_request_id(req->request_id);
	strcpy(req->role, "-");
	strcpy(req->target, "-");
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	req->conn_state = info ? info->socket_context : NULL;
	set_deadline(req->conn_state, req->start_ms + config.request_timeout * 1000.0);
	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (info && info->client_addr)
	{
		const struct sockaddr *sa = info->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *) sa)->sin_addr, req->remote, sizeof(req->remote));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) sa)->sin6_addr, req->remote, sizeof(req->remote));
	}
	if (!req->remote[0])
		strcpy(req->remote, "-");
	pthread_mutex_lock(&conn_lock);
	in_flight++;
	pthread_mutex_unlock(&conn_lock);
	return req;
}

/* request_completed: the answer is sent (or the connection died) */
static void
request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
				  enum MHD_RequestTerminationCode toe)
{
	Request    *req = *con_cls;

	(void) cls;
	(void) connection;
	if (req == NULL)
		return;
	if (req->status == 0)
		log_msg(LOG_INFO, "%s %s %s - closed before an answer (%d)", req->remote, req->request_id,
				req->target, (int) toe);
	else
		log_msg(LOG_INFO, "%s %s %s %s %d %zuB %.1fms", req->remote, req->sig.key_id[0] ? req->sig.key_id : "-",
				req->role, req->operation ? req->operation : req->target, req->status,
				req->response_len, now_ms() - req->start_ms);
	set_deadline(req->conn_state, now_ms() + (config.idle_timeout + config.request_timeout) * 1000.0);
	sigv4_free(&req->sig);
	free(req->body);
	free(req->response);
	free(req);
	*con_cls = NULL;
	pthread_mutex_lock(&conn_lock);
	in_flight--;
	pthread_mutex_unlock(&conn_lock);
}

/* respond: send the request's answer (status, body) with DynamoDB's headers */
static enum MHD_Result
respond(Request *req, int status, char *body, const char *content_type)
{
	struct MHD_Response *response;
	enum MHD_Result ret;
	char		crc[16];
	size_t		len = strlen(body);

	if (req->response != body)
		free(req->response);
	req->status = status;
	req->response = NULL;
	req->response_len = len;
	response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	snprintf(crc, sizeof(crc), "%lu", crc32(0L, (const Bytef *) body, (uInt) len));
	MHD_add_response_header(response, "x-amzn-RequestId", req->request_id);
	MHD_add_response_header(response, "x-amz-crc32", crc);
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (draining)
		MHD_add_response_header(response, MHD_HTTP_HEADER_CONNECTION, "close");
	set_deadline(req->conn_state, now_ms() + config.request_timeout * 1000.0);
	ret = MHD_queue_response(req->connection, status, response);
	MHD_destroy_response(response);
	return ret;
}

static enum MHD_Result
respond_error(Request *req, int status, const char *type, const char *message)
{
	return respond(req, status, error_body(type, message), req->response_type);
}

/* content types DynamoDB takes (application/json too, as it does) */
static const char *
accepted_content_type(const char *header)
{
	static const char *const types[] = {"application/x-amz-json-1.0", "application/x-amz-json-1.1",
	"application/json"};
	size_t		len;

	if (header == NULL)
		return NULL;
	while (*header == ' ')
		header++;
	len = strcspn(header, ";");
	while (len > 0 && header[len - 1] == ' ')
		len--;
	for (int i = 0; i < 3; i++)
		if (strlen(types[i]) == len && strncasecmp(header, types[i], len) == 0)
			return types[i];
	return NULL;
}

/* valid_target: SERVICE.Operation with one of DynamoDB's two services */
static bool
valid_target(Request *req, const char *target)
{
	static const char *const services[] = {"DynamoDB_20120810.", "DynamoDBStreams_20120810."};

	if (target == NULL || strlen(target) >= sizeof(req->target))
		return false;
	for (int i = 0; i < 2; i++)
	{
		size_t		n = strlen(services[i]);
		const char *op = target + n;

		if (strncmp(target, services[i], n) != 0 || *op == '\0')
			continue;
		for (const char *p = op; *p; p++)
			if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')))
				return false;
		strcpy(req->target, target);
		req->operation = req->target + n;
		return true;
	}
	return false;
}

/* valid_json: a JSON object, valid UTF-8, no NUL (jansson refuses \u0000) */
static bool
valid_json(const char *body, size_t len)
{
	json_error_t error;
	json_t	   *doc;
	bool		ok;

	if (memchr(body, '\0', len) != NULL)
		return false;
	doc = json_loadb(body, len, 0, &error);
	ok = json_is_object(doc);
	if (!ok)
		log_msg(LOG_DEBUG, "malformed JSON body: %s at byte %d", doc ? "not an object" : error.text,
				error.position);
	json_decref(doc);
	return ok;
}

/* start: the whole body is in; refuse it here or queue it */
static enum MHD_Result
start(Request *req, const char *url)
{
	struct MHD_Connection *c = req->connection;
	const char *content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	const char *accepted = accepted_content_type(content_type);

	req->response_type = accepted ? accepted : "application/x-amz-json-1.0";
	if (req->body_too_big)
		return respond_error(req, 413, SERIALIZATION_TYPE, "Request body is larger than the server accepts");

	/* DynamoDB's order: content type, JSON, target, signature, empty body */
	if (req->body_len > 0 && accepted == NULL)
		return respond(req, 404, strdup("<UnknownOperationException/>\n"), "text/xml");
	if (req->body_len > 0 && !valid_json(req->body, req->body_len))
		return respond_error(req, 400, SERIALIZATION_TYPE, NULL);
	if (!valid_target(req, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target")))
		return respond_error(req, 400, UNKNOWN_OPERATION_TYPE, NULL);
	if (config.auth_sigv4)
	{
		int			status;
		char	   *err = sigv4_prepare(c, url, req->body, req->body_len, &req->sig, &status);

		if (err != NULL)
			return respond(req, status, err, req->response_type);
	}
	if (req->body_len == 0)
		return respond_error(req, 400, SERIALIZATION_TYPE, NULL);
	return MHD_YES;
}

/* enqueue: hand the request to the pool and suspend its connection */
static enum MHD_Result
enqueue(Request *req)
{
	req->stage = STAGE_WAITING;
	set_deadline(req->conn_state, 0);
	MHD_suspend_connection(req->connection);
	if (!pool_enqueue(req))
	{
		MHD_resume_connection(req->connection);
		return respond_error(req, 400, "com.amazonaws.dynamodb.v20120810#ThrottlingException",
							 "Rate of requests exceeds the allowed throughput.");
	}
	return MHD_YES;
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
	   const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	Request    *req = *con_cls;

	(void) cls;
	(void) version;
	if (req == NULL)
		return MHD_NO;			/* out of memory in uri_log */

	if (req->stage == STAGE_HEADERS)
	{
		const char *length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
														 MHD_HTTP_HEADER_CONTENT_LENGTH);

		req->response_type = "application/x-amz-json-1.0";
		if (draining)
			return respond_error(req, 503, "com.amazonaws.dynamodb.v20120810#ServiceUnavailableException",
								 "The server is shutting down");
		if (strcmp(method, "GET") == 0)
		{
			req->kind = REQ_HEALTH;
			strcpy(req->target, "health");
			return enqueue(req);
		}
		if (strcmp(method, "POST") != 0)
			return respond(req, 404, strdup("<UnknownOperationException/>\n"), "text/xml");
		if (length != NULL && strtoull(length, NULL, 10) > config.max_body)
		{
			req->body_too_big = true;
			return start(req, url);
		}
		req->stage = STAGE_BODY;
		return MHD_YES;
	}
	if (req->stage == STAGE_BODY)
	{
		size_t		n = *upload_data_size;

		if (n > 0)
		{
			*upload_data_size = 0;
			if (req->body_len + n > config.max_body)
			{
				/* a chunked body that outgrew the limit: drop the connection */
				log_msg(LOG_INFO, "%s: request body over %zu bytes, connection closed", req->remote,
						config.max_body);
				return MHD_NO;
			}
			if (req->body_len + n + 1 > req->body_cap)
			{
				size_t		cap = req->body_cap ? req->body_cap : 4096;

				while (cap < req->body_len + n + 1)
					cap *= 2;
				if (cap > config.max_body + 1)
					cap = config.max_body + 1;
				req->body = realloc(req->body, cap);
				if (req->body == NULL)
					return MHD_NO;
				req->body_cap = cap;
			}
			memcpy(req->body + req->body_len, upload_data, n);
			req->body_len += n;
			req->body[req->body_len] = '\0';
			return MHD_YES;
		}
		{
			enum MHD_Result ret = start(req, url);

			if (req->status != 0 || ret != MHD_YES)
				return ret;
		}
		req->kind = REQ_DYNAMODB;
		return enqueue(req);
	}
	/* STAGE_WAITING: resumed by the worker */
	if (!req->done)
		return MHD_YES;
	{
		char	   *body = req->response;

		req->response = NULL;
		return respond(req, req->status, body,
					   req->kind == REQ_HEALTH && req->status == 200 ? "text/plain" : req->response_type);
	}
}

/* http_start: listen; NULL (after logging why) when it cannot */
struct MHD_Daemon *
http_start(void)
{
	struct addrinfo hints = {.ai_flags = AI_NUMERICSERV | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
	struct addrinfo *ai;
	char		port[16];
	unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC;
	struct MHD_Daemon *daemon;
	char	   *cert = NULL,
			   *key = NULL;
	int			rc;

	snprintf(port, sizeof(port), "%d", config.port);
	rc = getaddrinfo(config.address, port, &hints, &ai);
	if (rc != 0)
	{
		log_msg(LOG_ERROR, "cannot resolve %s: %s", config.address, gai_strerror(rc));
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (config.tls_cert)
	{
		FILE	   *f;
		size_t		n;

		cert = calloc(1, 1 << 20);
		key = calloc(1, 1 << 20);
		if ((f = fopen(config.tls_cert, "r")) == NULL || (n = fread(cert, 1, (1 << 20) - 1, f)) == 0)
		{
			log_msg(LOG_ERROR, "cannot read %s", config.tls_cert);
			return NULL;
		}
		fclose(f);
		if ((f = fopen(config.tls_key, "r")) == NULL || (n = fread(key, 1, (1 << 20) - 1, f)) == 0)
		{
			log_msg(LOG_ERROR, "cannot read %s", config.tls_key);
			return NULL;
		}
		fclose(f);
		flags |= MHD_USE_TLS;
	}
	if (config.log_level >= LOG_DEBUG)
		flags |= MHD_USE_ERROR_LOG;

	daemon = MHD_start_daemon(flags, 0, NULL, NULL, handle, NULL,
							  MHD_OPTION_SOCK_ADDR, ai->ai_addr,
							  MHD_OPTION_THREAD_POOL_SIZE, (unsigned int) config.http_threads,
							  MHD_OPTION_CONNECTION_LIMIT, (unsigned int) config.max_connections,
							  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) config.idle_timeout,
							  MHD_OPTION_URI_LOG_CALLBACK, uri_log, NULL,
							  MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
							  MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
							  MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
							  cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert,
							  MHD_OPTION_HTTPS_MEM_KEY, key,
							  MHD_OPTION_END);
	freeaddrinfo(ai);
	if (daemon == NULL)
	{
		log_msg(LOG_ERROR, "cannot listen on %s:%d (address in use, or TLS files invalid?)",
				config.address, config.port);
		return NULL;
	}
	pthread_create(&watchdog_thread, NULL, watchdog_main, NULL);
	return daemon;
}

/*
 * http_drain: stop accepting, let the requests already begun finish (new
 * requests on kept-alive connections get 503 and Connection: close), for
 * --drain-timeout seconds at most, then close everything.
 */
void
http_drain(struct MHD_Daemon *daemon)
{
	double		deadline = now_ms() + config.drain_timeout * 1000.0;
	int			left;
	int			listen_fd;

	draining = true;
	listen_fd = MHD_quiesce_daemon(daemon);
	if (listen_fd >= 0)
		close(listen_fd);
	for (;;)
	{
		pthread_mutex_lock(&conn_lock);
		left = in_flight;
		pthread_mutex_unlock(&conn_lock);
		if (left == 0 || now_ms() > deadline)
			break;
		usleep(20 * 1000);
	}
	if (left > 0)
		log_msg(LOG_WARN, "%d requests still in flight after %d s; closing", left, config.drain_timeout);
	watchdog_stop = true;
	pthread_join(watchdog_thread, NULL);
	if (left == 0)
		MHD_stop_daemon(daemon);
}
