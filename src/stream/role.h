/*-------------------------------------------------------------------------
 *
 * role.h
 *	  The table of functions that makes one worker main serve two roles.
 *
 * A stream worker and a GSI worker run the same main and loop (worker.c):
 * attach to the database's worker slot, make or find a replication slot
 * and origin, decode batches of WAL, commit each batch with the origin's
 * LSN, nap.  What differs is in a KvWorkerRoleOps: what the role decodes,
 * how it applies a batch, what it does each loop iteration and how it
 * paces itself.  role_stream.c and role_gsi.c each define one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PARTKV_STREAM_ROLE_H
#define PARTKV_STREAM_ROLE_H

#include "postgres.h"
#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "replication/origin.h"

#include "workerstate.h"

struct KvBatch;

typedef struct KvWorkerRoleOps
{
	KvWorkerRole role;
	const char *what;			/* "stream" or "GSI", in messages */
	const char *kind;			/* "stream" or "gsi", in partkv.lost_slots */
	const char *appname;		/* application_name */
	void		(*slot_name) (Oid dboid, char *out);

	/* started by its stream worker, and leaves with it (else: the launcher's) */
	bool		supervised;
	/* decodes stream records (else the decoder is asked for records=off) */
	bool		records;
	/* how many times partkv.stream_batch_size a batch grows to while behind */
	int			batch_growth;

	/* before it connects to its database */
	void		(*process_start) (void);
	/* once connected, before the first transaction */
	void		(*start) (void);
	/* in the first transaction: sets kv_decoder_skip_origin and the like */
	void		(*prepare) (RepOriginId own_origin);
	/* with no slot yet, whether it must wait for the SQL objects to be current */
	bool		new_slot_needs_sql;
	/* just before it creates its slot (lost: replacing an invalidated one) */
	void		(*new_slot) (bool lost);
	/* after the configuration was reloaded */
	void		(*reload) (void);
	/* each loop iteration, before it decodes (slotno: its worker slot) */
	void		(*before_batch) (int slotno, TimestampTz now);

	/* a batch: reset, changes collected besides records, apply, commit time */
	void		(*batch_reset) (void);
	int			(*batch_pending) (void);
	void		(*batch_apply) (struct KvBatch *batch, XLogRecPtr reached);
	TimestampTz (*batch_last_commit) (void);

	/* pacing: before a batch, and after each loop's batch (behind: it was full) */
	void		(*pace_begin) (void);
	void		(*pace_end) (bool behind);
	/* each loop iteration, after the batch: true when more work waits */
	bool		(*after_batch) (void);
	/* when the process leaves (wait: until what it started has gone) */
	void		(*leave) (bool wait);
} KvWorkerRoleOps;

extern const KvWorkerRoleOps kv_stream_role;
extern const KvWorkerRoleOps kv_gsi_role;

#endif							/* PARTKV_STREAM_ROLE_H */
