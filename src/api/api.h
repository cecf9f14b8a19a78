/*-------------------------------------------------------------------------
 *
 * api.h
 *	  Argument helpers shared by partkv's SQL entry points.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_API_H
#define PARTKV_API_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/jsonb.h"

extern text *KvRequiredText(FunctionCallInfo fcinfo, int argno, const char *member);
extern Jsonb *KvRequiredJsonb(FunctionCallInfo fcinfo, int argno, const char *member);

#endif							/* PARTKV_API_H */
