/*-------------------------------------------------------------------------
 *
 * projection.h
 *	  Projections of local and global secondary indexes (DESIGN §1.3).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_PROJECTION_H
#define PARTKV_PROJECTION_H

#include "postgres.h"
#include "utils/jsonb.h"

#include "../catalog/tablecache.h"

/*
 * The item restricted to the given top-level attributes (a projection of
 * an index: KEYS_ONLY or INCLUDE), in CurrentMemoryContext.
 */
extern Jsonb *KvProjectAttributes(Jsonb *item, char *const *names, int nnames);

/*
 * Whether an index entry's projected non-key attributes are the same in
 * both items (its keys are compared apart): always for KEYS_ONLY, the
 * whole items for ALL, the NonKeyAttributes for INCLUDE.
 */
extern bool KvIndexProjectionSame(Jsonb *old, Jsonb *written, KvProjectionType projection,
								  int ninclude, char *const *include);

#endif							/* PARTKV_PROJECTION_H */
