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

#endif							/* PARTKV_JSONBUILD_H */
