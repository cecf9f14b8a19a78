/*-------------------------------------------------------------------------
 *
 * init.c
 *	  The stream subsystem's part of _PG_init: its settings (partkv.stream_*,
 *	  with the deprecated names of 0.4), the workers' shared state and the
 *	  launcher's registration.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "../common/gucalias.h"
#include "chunkstore.h"
#include "decodeloop.h"
#include "init.h"
#include "launcher.h"
#include "slothealth.h"
#include "workerstate.h"

/*
 * KvStreamInit defines the stream's settings, requests the workers' shared
 * state and registers the launcher.  It runs before MarkGUCPrefixReserved,
 * which would otherwise discard partkv.* values read from postgresql.conf.
 */
void
KvStreamInit(void)
{
	DefineCustomIntVariable("partkv.stream_naptime",
							"Time the stream worker sleeps when it has nothing to do.",
							"It also wakes up when partkv.stream_wait() asks it to.",
							&kv_stream_naptime_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	KvDefineGucAlias("partkv.naptime", "partkv.stream_naptime");
	DefineCustomIntVariable("partkv.stream_batch_delay",
							"Shortest time between the starts of two batches of a stream or GSI worker that keeps up.",
							"Changes committed sooner wait for the next batch. Every batch has a fixed cost, so a worker woken by every commit would spend a core on small batches; a longer delay adds that much stream and GSI lag. A worker that is behind does not wait.",
							&kv_stream_batch_delay_ms, 10, 0, 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.stream_batch_size",
							"Stream records the worker materialises per transaction while it keeps up.",
							"While it is behind, batches grow up to 16 times this. A batch always ends after a whole transaction, so a large transaction makes a large batch.",
							&kv_stream_batch_size, 1000, 1, 1000000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.stream_retention",
							"How long stream records are kept.",
							"Records are stored in partitions by write time that are dropped whole once older than this.",
							&kv_stream_retention_s, 86400, 1, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.stream_max_workers",
							"Maximum number of partkv stream workers (one per database); 0 disables them.",
							NULL,
							&kv_stream_max_workers, 8, 0, 1024,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
	KvDefineGucAlias("partkv.max_workers", "partkv.stream_max_workers");
	KvSlotHealthInit();			/* partkv.stream_backlog_warning */

	KvWorkerStateInit();
	KvStreamLauncherRegister();
}
