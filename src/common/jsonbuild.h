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

#endif							/* PARTKV_JSONBUILD_H */
