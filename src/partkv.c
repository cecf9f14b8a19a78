/*-------------------------------------------------------------------------
 *
 * partkv.c
 *	  Module entry point: refuses to load unless preloaded, and has each
 *	  subsystem define its settings, request its shared memory and install
 *	  its hooks.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "catalog/tablecache.h"
#include "common/serving.h"
#include "stats/stats.h"
#include "stream/handlers.h"
#include "stream/init.h"
#include "stream/role_gsi.h"
#include "stream/utility.h"
#include "stream/workerstate.h"
#include "wire/wire.h"
#include "ttl/ttl.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init is partkv's table of contents: one line per subsystem.  The
 * library must come from shared_preload_libraries: the table access
 * method, the output plugin and the background workers all need it loaded
 * in every backend from the start.  Each subsystem defines its settings
 * (partkv.<subsystem>_*, with the deprecated names of 0.4 forwarded to
 * them) before the prefix is reserved, which would otherwise discard the
 * partkv.* values read from postgresql.conf.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partkv must be loaded via shared_preload_libraries"),
				 errhint("Add partkv to shared_preload_libraries in postgresql.conf and restart the server.")));

	if (IsBinaryUpgrade)
		return;

	KvTableCacheInit();			/* the table AM reads declared index keys */
	KvStatsInit();				/* partkv.stats_*: partition counters in shared memory */
	KvStreamInit();				/* partkv.stream_*: workers' shared state, launcher */
	KvGsiPacingInit();			/* partkv.gsi_*: the GSI worker's pacing */
	KvTtlInit();				/* partkv.ttl_*: TTL sweeps in the stream worker */
	KvHandlersInit();			/* partkv.handler_*: stream handler workers */
	KvServingInit(kv_stream_max_workers);	/* what the workers say of themselves */
	KvWireInit();				/* partkv.region, partkv.account_id */
	KvStreamHooksInit();		/* database commands, CREATE EXTENSION, commits */
	MarkGUCPrefixReserved("partkv");
}
