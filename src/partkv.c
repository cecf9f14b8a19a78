/*-------------------------------------------------------------------------
 *
 * partkv.c
 *	  Module entry point: refuses to load unless preloaded, defines the
 *	  partkv.* GUCs and hands out shared memory requests.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "common/serving.h"
#include "stats/stats.h"
#include "stream/worker.h"
#include "stream/workerstate.h"
#include "wire/wire.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * _PG_init registers partkv's settings.  The library must come from
 * shared_preload_libraries: the table access method, the output plugin and
 * the background workers all need it loaded in every backend from the start.
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

	KvStatsInit();				/* GUCs and shared memory too */
	KvStreamInit();				/* before the prefix is reserved: it defines GUCs */
	KvServingInit(kv_stream_max_workers);	/* what the workers say of themselves */
	KvWireInit();				/* partkv.region, partkv.account_id */
	MarkGUCPrefixReserved("partkv");
}
