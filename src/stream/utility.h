/*-------------------------------------------------------------------------
 *
 * utility.h
 *	  The stream's hooks in every backend: database commands that need
 *	  their database free of workers, CREATE/DROP EXTENSION partkv, and
 *	  the wake-up of a commit that wrote kv rows.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_UTILITY_H
#define PARTKV_STREAM_UTILITY_H

/* _PG_init's part: the utility hook, the transaction callback, the commit hook */
extern void KvStreamHooksInit(void);

#endif							/* PARTKV_STREAM_UTILITY_H */
