/*-------------------------------------------------------------------------
 *
 * launcher.h
 *	  Starting and restarting the per-database workers: the launcher keeps
 *	  one stream worker per database, each stream worker its GSI worker.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_LAUNCHER_H
#define PARTKV_STREAM_LAUNCHER_H

#include "postgres.h"

/* _PG_init's part: registers the launcher unless partkv.stream_max_workers is 0 */
extern void KvStreamLauncherRegister(void);

/* the launcher's entry point (fmgr-less bgworker) */
extern PGDLLEXPORT void partkv_stream_launcher_main(Datum main_arg);

/* in a stream worker: start its GSI worker, again with back-off when it exited */
extern void KvSuperviseGsiWorker(int slotno);

/* in a stream worker: stop its GSI worker (wait: until it has gone) */
extern void KvGsiWorkerStop(bool wait);

#endif							/* PARTKV_STREAM_LAUNCHER_H */
