/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The entry points of the stream worker and the GSI worker of a
 *	  database: one main (worker.c), two roles (role.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_WORKER_H
#define PARTKV_STREAM_WORKER_H

#include "postgres.h"

/* fmgr-less bgworker entry points (started by launcher.c) */
extern PGDLLEXPORT void partkv_stream_worker_main(Datum main_arg);
extern PGDLLEXPORT void partkv_gsi_worker_main(Datum main_arg);

#endif							/* PARTKV_STREAM_WORKER_H */
