/*-------------------------------------------------------------------------
 *
 * init.h
 *	  The stream subsystem's part of _PG_init.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_INIT_H
#define PARTKV_STREAM_INIT_H

/* partkv.stream_* settings, the workers' shared state, the launcher */
extern void KvStreamInit(void);

#endif							/* PARTKV_STREAM_INIT_H */
