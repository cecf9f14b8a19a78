/*
 * pool.c -- the database side: a bounded queue of requests and -j workers,
 * each with one libpq connection and its prepared statements.
 *
 * A request that arrives when the queue is full is refused at once with
 * DynamoDB's ThrottlingException (HTTP 400): every AWS SDK retries it with
 * backoff and counts it as throttling (the adaptive retry mode slows the
 * client down), which is what an overloaded server wants; a 503 would be
 * retried too but reads as an outage.
 *
 * With --auth sigv4 each request runs as its access key's role, in one
 * round trip through libpq's pipeline mode: set_config('role', ..., true)
 * and partkv.dynamodb() are sent together with one Sync, so both run in
 * one implicit transaction, and the role setting ends with it whether the
 * call succeeds or fails (the server's login role must be a member of the
 * key's role, as PostgREST's authenticator is).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "server.h"

#define INTERNAL_ERROR_TYPE "com.amazonaws.dynamodb.v20120810#InternalServerError"
#define UNRECOGNIZED_TYPE "com.amazon.coral.service#UnrecognizedClientException"

typedef struct Worker
{
	pthread_t	thread;
	int			id;
	PGconn	   *conn;
	bool		prepared_dynamodb;
	bool		prepared_lookup;
	double		last_connect_error_ms;
} Worker;

static Worker *workers;
static Request **queue;
static int	queue_head;
static int	queue_len;
static bool stopping;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;

/* set_response: the answer a worker hands back to the polling thread */
static void
set_response(Request *req, int status, char *body)
{
	req->status = status;
	req->response = body;
	req->response_len = strlen(body);
}

static void
internal_error(Request *req)
{
	set_response(req, 500, error_body(INTERNAL_ERROR_TYPE, "Internal server error"));
}

/* ---------------------------------------------------------------------
 * Access key cache: a fixed table of slots, so its memory is bounded
 * whatever keys clients make up.  An entry (found or not) is trusted for
 * --key-cache seconds: a revoked key stops working within that bound.
 * --------------------------------------------------------------------- */
#define KEY_CACHE_SLOTS 1024

typedef struct KeyEntry
{
	char		key_id[129];
	bool		found;
	char		role[64];
	char		secret[128];
	double		fetched_ms;
} KeyEntry;

static KeyEntry *key_cache;
static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;

void
key_cache_init(void)
{
	key_cache = calloc(KEY_CACHE_SLOTS, sizeof(KeyEntry));
}

static unsigned
key_slot(const char *key_id)
{
	unsigned	h = 2166136261u;

	for (const char *p = key_id; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	return h % KEY_CACHE_SLOTS;
}

/* key_cache_get: copy a fresh entry for key_id into *out */
static bool
key_cache_get(const char *key_id, KeyEntry *out)
{
	KeyEntry   *e = &key_cache[key_slot(key_id)];
	bool		hit;

	if (config.key_cache_seconds == 0)
		return false;
	pthread_mutex_lock(&key_lock);
	hit = strcmp(e->key_id, key_id) == 0 &&
		now_ms() - e->fetched_ms < config.key_cache_seconds * 1000.0;
	if (hit)
		*out = *e;
	pthread_mutex_unlock(&key_lock);
	return hit;
}

static void
key_cache_put(const KeyEntry *entry)
{
	pthread_mutex_lock(&key_lock);
	key_cache[key_slot(entry->key_id)] = *entry;
	pthread_mutex_unlock(&key_lock);
}

/* ---------------------------------------------------------------------
 * Connections
 * --------------------------------------------------------------------- */

/*
 * prepare: one statement, once per connection.  partkv.dynamodb() or the
 * lookup function may be missing (an older extension, no grant): then the
 * request fails and the next one tries again.
 */
static bool
prepare(Worker *w, const char *name, const char *sql, int nparams, bool *done)
{
	PGresult   *res;
	bool		ok;

	if (*done)
		return true;
	res = PQprepare(w->conn, name, sql, nparams, NULL);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	if (!ok)
		log_msg(LOG_ERROR, "worker %d: cannot prepare %s: %s", w->id, name,
				PQresultErrorMessage(res));
	PQclear(res);
	*done = ok;
	return ok;
}

/*
 * ensure_connection: a working connection, reconnecting when the database
 * restarted.  A connection the server closed while it was idle (a restart
 * sends a FATAL message and closes the socket) is noticed here by reading
 * what is pending, so that no request is lost on it.
 */
static bool
ensure_connection(Worker *w)
{
	static const char *const keywords[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {config.conninfo, "partkv-server", NULL};

	if (w->conn != NULL && PQstatus(w->conn) == CONNECTION_OK &&
		PQconsumeInput(w->conn) && PQstatus(w->conn) == CONNECTION_OK &&
		PQtransactionStatus(w->conn) == PQTRANS_IDLE)
		return true;
	if (w->conn != NULL)
	{
		log_msg(LOG_WARN, "worker %d: database connection lost, reconnecting", w->id);
		PQfinish(w->conn);
	}
	w->prepared_dynamodb = w->prepared_lookup = false;
	w->conn = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(w->conn) != CONNECTION_OK)
	{
		/* one line per second at most while the database is away */
		if (now_ms() - w->last_connect_error_ms > 1000)
			log_msg(LOG_ERROR, "worker %d: cannot connect to the database: %s", w->id,
					PQerrorMessage(w->conn));
		w->last_connect_error_ms = now_ms();
		PQfinish(w->conn);
		w->conn = NULL;
		return false;
	}
	return true;
}

/* ---------------------------------------------------------------------
 * Requests
 * --------------------------------------------------------------------- */

/*
 * answer_error: the wire error for a failed call.  The dispatcher puts the
 * whole DynamoDB error body in DETAIL (wirecontract.md); anything else is an
 * internal error, whose original stays in this log only.
 */
static void
answer_error(Worker *w, Request *req, const PGresult *res)
{
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	json_t	   *doc = detail ? json_loads(detail, 0, NULL) : NULL;
	json_t	   *type = json_is_object(doc) ? json_object_get(doc, "__type") : NULL;

	if (json_is_string(type))
	{
		const char *t = json_string_value(type);
		const char *name = strchr(t, '#') ? strchr(t, '#') + 1 : t;
		int			status = 400;

		if (strcmp(name, "InternalServerError") == 0)
			status = 500;
		else if (strcmp(name, "ServiceUnavailableException") == 0)
			status = 503;
		set_response(req, status, strdup(detail));
		log_msg(LOG_DEBUG, "request %s: %s", req->request_id, name);
	}
	else
	{
		log_msg(LOG_ERROR, "request %s (%s as %s): database error %s: %s", req->request_id,
				req->target, req->role, sqlstate ? sqlstate : "(none)",
				res ? PQresultErrorMessage(res) : PQerrorMessage(w->conn));
		internal_error(req);
	}
	json_decref(doc);
}

/* run_dynamodb: partkv.dynamodb(target, body), as req->role when set */
static void
run_dynamodb(Worker *w, Request *req, bool set_role)
{
	const char *params[2] = {req->target, req->body_len ? req->body : "{}"};
	PGresult   *res;
	PGresult   *failed = NULL;

	if (!prepare(w, "dynamodb", "SELECT partkv.dynamodb($1::text, $2::jsonb)::text", 2,
				 &w->prepared_dynamodb))
	{
		internal_error(req);
		return;
	}
	if (!set_role)
	{
		res = PQexecPrepared(w->conn, "dynamodb", 2, params, NULL, NULL, 0);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
			set_response(req, 200, strdup(PQgetvalue(res, 0, 0)));
		else
			answer_error(w, req, res);
		PQclear(res);
		return;
	}

	{
		const char *role_param[1] = {req->role};
		bool		sent;
		int			step = 0;

		sent = PQenterPipelineMode(w->conn) &&
			PQsendQueryParams(w->conn, "SELECT pg_catalog.set_config('role', $1, true)",
							  1, NULL, role_param, NULL, NULL, 0) &&
			PQsendQueryPrepared(w->conn, "dynamodb", 2, params, NULL, NULL, 0) &&
			PQpipelineSync(w->conn);
		if (!sent)
		{
			log_msg(LOG_ERROR, "worker %d: cannot send: %s", w->id, PQerrorMessage(w->conn));
			internal_error(req);
			PQfinish(w->conn);
			w->conn = NULL;
			return;
		}
		/* set_config's result, then dynamodb's, then the Sync */
		while (step < 3)
		{
			ExecStatusType st;

			res = PQgetResult(w->conn);
			if (res == NULL)
			{
				if (PQstatus(w->conn) != CONNECTION_OK)
					break;
				continue;		/* the end of one statement's results */
			}
			st = PQresultStatus(res);
			if (st == PGRES_PIPELINE_SYNC)
			{
				PQclear(res);
				step = 3;
				break;
			}
			if (step == 0 && st == PGRES_FATAL_ERROR)
			{
				log_msg(LOG_ERROR, "request %s: cannot run as role \"%s\" (is the server's login role a member? GRANT \"%s\" TO <login role>): %s",
						req->request_id, req->role, req->role, PQresultErrorMessage(res));
				internal_error(req);
			}
			else if (step == 1 && st == PGRES_TUPLES_OK && PQntuples(res) == 1)
				set_response(req, 200, strdup(PQgetvalue(res, 0, 0)));
			else if (step == 1 && st == PGRES_FATAL_ERROR)
			{
				failed = res;
				res = NULL;
			}
			PQclear(res);
			step++;
		}
		if (failed != NULL)
		{
			answer_error(w, req, failed);
			PQclear(failed);
		}
		if (step < 3 || !PQexitPipelineMode(w->conn))
		{
			log_msg(LOG_ERROR, "worker %d: pipeline broken: %s", w->id, PQerrorMessage(w->conn));
			PQfinish(w->conn);
			w->conn = NULL;
		}
		if (req->response == NULL)
			internal_error(req);
	}
}

/*
 * authenticate: the key's role when the request's signature is good; else
 * the request gets its error and false.
 */
static bool
authenticate(Worker *w, Request *req)
{
	KeyEntry	key;
	char	   *err;
	int			status;

	if (!key_cache_get(req->sig.key_id, &key))
	{
		const char *params[1] = {req->sig.key_id};
		PGresult   *res;

		if (!prepare(w, "key_lookup",
					 "SELECT role_name, secret_access_key FROM partkv.access_key_lookup($1)", 1,
					 &w->prepared_lookup))
		{
			internal_error(req);
			return false;
		}
		res = PQexecPrepared(w->conn, "key_lookup", 1, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK)
		{
			log_msg(LOG_ERROR, "access key lookup failed (GRANT EXECUTE ON FUNCTION partkv.access_key_lookup(text) TO <login role>?): %s",
					PQresultErrorMessage(res));
			PQclear(res);
			internal_error(req);
			return false;
		}
		memset(&key, 0, sizeof(key));
		snprintf(key.key_id, sizeof(key.key_id), "%s", req->sig.key_id);
		key.found = PQntuples(res) == 1;
		if (key.found)
		{
			snprintf(key.role, sizeof(key.role), "%s", PQgetvalue(res, 0, 0));
			snprintf(key.secret, sizeof(key.secret), "%s", PQgetvalue(res, 0, 1));
		}
		key.fetched_ms = now_ms();
		PQclear(res);
		key_cache_put(&key);
	}
	if (!key.found)
	{
		set_response(req, 400, error_body(UNRECOGNIZED_TYPE,
										  "The security token included in the request is invalid."));
		return false;
	}
	err = sigv4_verify(&req->sig, key.secret, &status);
	if (err != NULL)
	{
		set_response(req, status, err);
		return false;
	}
	snprintf(req->role, sizeof(req->role), "%s", key.role);
	return true;
}

/* health: does a pool connection answer? */
static void
health(Worker *w, Request *req)
{
	PGresult   *res = PQexec(w->conn, "SELECT 1");

	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		set_response(req, 200, strdup("healthy: partkv-server "));
	else
		set_response(req, 503, error_body("com.amazonaws.dynamodb.v20120810#ServiceUnavailableException",
										  "The database is not available"));
	PQclear(res);
}

static void
process(Worker *w, Request *req)
{
	if (!ensure_connection(w))
	{
		if (req->kind == REQ_HEALTH)
			set_response(req, 503, error_body("com.amazonaws.dynamodb.v20120810#ServiceUnavailableException",
											  "The database is not available"));
		else
			internal_error(req);
		return;
	}
	if (req->kind == REQ_HEALTH)
		health(w, req);
	else if (!config.auth_sigv4)
	{
		snprintf(req->role, sizeof(req->role), "%s", PQuser(w->conn));
		run_dynamodb(w, req, false);
	}
	else if (authenticate(w, req))
		run_dynamodb(w, req, true);
}

static void *
worker_main(void *arg)
{
	Worker	   *w = arg;

	for (;;)
	{
		Request    *req;

		pthread_mutex_lock(&queue_lock);
		while (queue_len == 0 && !stopping)
			pthread_cond_wait(&queue_cond, &queue_lock);
		if (queue_len == 0)
		{
			pthread_mutex_unlock(&queue_lock);
			break;
		}
		req = queue[queue_head];
		queue_head = (queue_head + 1) % config.queue_size;
		queue_len--;
		pthread_mutex_unlock(&queue_lock);

		process(w, req);
		req->done = true;
		MHD_resume_connection(req->connection);
	}
	if (w->conn)
		PQfinish(w->conn);
	return NULL;
}

/* pool_enqueue: false when the queue is full (the caller throttles) */
bool
pool_enqueue(Request *req)
{
	bool		ok;

	pthread_mutex_lock(&queue_lock);
	ok = queue_len < config.queue_size && !stopping;
	if (ok)
	{
		queue[(queue_head + queue_len) % config.queue_size] = req;
		queue_len++;
		pthread_cond_signal(&queue_cond);
	}
	pthread_mutex_unlock(&queue_lock);
	return ok;
}

/* pool_start: the workers; they connect on their first request */
bool
pool_start(void)
{
	PGconn	   *probe;
	static const char *const keywords[] = {"dbname", "fallback_application_name", NULL};
	const char *values[] = {config.conninfo, "partkv-server", NULL};

	/* say at once when the database cannot be reached; serve anyway */
	probe = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(probe) != CONNECTION_OK)
		log_msg(LOG_WARN, "cannot connect to the database yet: %s", PQerrorMessage(probe));
	PQfinish(probe);

	queue = calloc(config.queue_size, sizeof(Request *));
	workers = calloc(config.pool_size, sizeof(Worker));
	if (queue == NULL || workers == NULL)
		return false;
	for (int i = 0; i < config.pool_size; i++)
	{
		workers[i].id = i;
		if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
		{
			log_msg(LOG_ERROR, "cannot start worker thread");
			return false;
		}
	}
	return true;
}

/* pool_stop: after the HTTP side drained; workers finish and disconnect */
void
pool_stop(void)
{
	pthread_mutex_lock(&queue_lock);
	stopping = true;
	pthread_cond_broadcast(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	for (int i = 0; i < config.pool_size; i++)
		pthread_join(workers[i].thread, NULL);
}
