/*-------------------------------------------------------------------------
 *
 * hashops.h
 *	  xxHash of key values, shared by the operator classes and by the code
 *	  that routes an item to its partition without the executor.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_HASHOPS_H
#define PARTKV_HASHOPS_H

#include "postgres.h"
#include "catalog/pg_type.h"

extern uint64 KvHashBytes(const char *data, Size len, uint64 seed);
extern uint64 KvHashKeyDatum(Datum value, Oid typid, uint64 seed);

#endif							/* PARTKV_HASHOPS_H */
