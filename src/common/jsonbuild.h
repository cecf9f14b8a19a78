/*-------------------------------------------------------------------------
 *
 * jsonbuild.h
 *	  Small helpers for building jsonb responses with pushJsonbValue.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_JSONBUILD_H
#define PARTKV_JSONBUILD_H

#include "postgres.h"
#include "utils/jsonb.h"

/* push an object key */
extern void KvPushKey(JsonbParseState **state, const char *name);

/* push "name": n, a number member */
extern void KvPushInt64(JsonbParseState **state, const char *name, int64 n);

/* push "name": "str", a string member */
extern void KvPushString(JsonbParseState **state, const char *name, const char *str);

/* push "name": true/false */
extern void KvPushBool(JsonbParseState **state, const char *name, bool b);

/* push "name": null */
extern void KvPushNull(JsonbParseState **state, const char *name);

/* push "name": n, a number member written as text (e.g. "%.3f") */
extern void KvPushNumberText(JsonbParseState **state, const char *name, const char *n);

#endif							/* PARTKV_JSONBUILD_H */
