/*
 * wireerror.c -- the body of a DynamoDB error as the transport sends it when
 * it answers by itself (protocol and authentication errors, a lost
 * database): the HTTP layer, the pool and SigV4 all answer with it.
 */
#include "server.h"

#include <jansson.h>
#include <stdlib.h>

/* error_body: {"__type": TYPE, "message": MESSAGE} (no message when NULL) */
char *
error_body(const char *type, const char *message)
{
	json_t	   *o = json_object();
	char	   *s;

	json_object_set_new(o, "__type", json_string(type));
	if (message != NULL)
		json_object_set_new(o, "message", json_string(message));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}
