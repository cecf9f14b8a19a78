/*-------------------------------------------------------------------------
 *
 * streamapi.h
 *	  Helpers of the stream's SQL functions that the stream worker shares.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAMAPI_H
#define PARTKV_STREAMAPI_H

#include "postgres.h"
#include "access/xlogdefs.h"

/* the NOTIFY channel of a table's stream (palloc'd) */
extern char *KvStreamChannelName(const char *table_name);

/* where the last WAL record inserted ends (what XLogFlush may be asked for) */
extern XLogRecPtr KvLastRecordEnd(void);

#endif							/* PARTKV_STREAMAPI_H */
