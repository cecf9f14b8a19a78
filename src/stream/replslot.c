/*-------------------------------------------------------------------------
 *
 * replslot.c
 *	  Making a database's replication slots and origins (partkv_stream_<db
 *	  oid> and partkv_gsi_<db oid>): CREATE EXTENSION partkv makes them
 *	  before the extension exists, a worker that finds its own missing
 *	  makes it when it starts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlogutils.h"
#include "replication/logical.h"
#include "replication/origin.h"
#include "replication/slot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/varlena.h"

#include "replslot.h"

/*
 * Version differences: PG 17 gave ReplicationSlotCreate a failover argument
 * (upstream c393308b69d2).  Only PG 15 is built and tested.
 */
#if PG_VERSION_NUM >= 170000
#define KvSlotCreate(name) ReplicationSlotCreate((name), true, RS_EPHEMERAL, false, false, false)
#else
#define KvSlotCreate(name) ReplicationSlotCreate((name), true, RS_EPHEMERAL, false)
#endif

/*
 * KvStreamTrustPlugin lets this process use the partkv output plugin when
 * the server restricts output plugins (output_plugin_libraries, a setting
 * of some builds that guards which libraries REPLICATION users may name).
 * The stream's own processes load partkv anyway (shared_preload_libraries);
 * the setting changes only in this process, with the given GUC action.
 */
void
KvStreamTrustPlugin(GucAction action)
{
	const char *cur = GetConfigOption("output_plugin_libraries", true, false);
	char	   *copy;
	List	   *names;
	ListCell   *lc;

	if (cur == NULL)
		return;
	copy = pstrdup(cur);
	if (SplitIdentifierString(copy, ',', &names))
	{
		foreach(lc, names)
		{
			if (strcmp((char *) lfirst(lc), "partkv") == 0)
				return;
		}
	}
	(void) set_config_option("output_plugin_libraries",
							 cur[0] != '\0' ? psprintf("%s, partkv", cur) : "partkv",
							 PGC_SUSET, PGC_S_SESSION, action, true, 0, false);
}

/*
 * KvStreamCreateSlot creates a database's logical slot, as
 * pg_create_logical_replication_slot() does: ephemeral until its start
 * point is found, so an error leaves nothing behind.  Must run where no
 * transaction id has been assigned.  Waits for transactions running
 * anywhere in the cluster to end.
 */
void
KvStreamCreateSlot(const char *name)
{
	LogicalDecodingContext *ctx;

	CheckLogicalDecodingRequirements();
	KvSlotCreate(name);
	ctx = CreateInitDecodingContext("partkv", NIL, false, InvalidXLogRecPtr,
									XL_ROUTINE(.page_read = read_local_xlog_page,
											   .segment_open = wal_segment_open,
											   .segment_close = wal_segment_close),
									NULL, NULL, NULL);
	DecodingContextFindStartpoint(ctx);
	FreeDecodingContext(ctx);
	ReplicationSlotPersist();
	ReplicationSlotRelease();
}

/*
 * KvPrepareSlot (re)creates replication slot name for CREATE EXTENSION
 * partkv.  Failing to (no free replication slot, say) must not fail CREATE
 * EXTENSION: it warns, and the worker creates the slot when it starts.
 */
void
KvPrepareSlot(const char *name, bool gsi)
{
	int			save_nestlevel;
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		if (SearchNamedReplicationSlot(name, true) != NULL)
			ReplicationSlotDrop(name, true);
		save_nestlevel = NewGUCNestLevel();
		KvStreamTrustPlugin(GUC_ACTION_SAVE);
		KvStreamCreateSlot(name);
		AtEOXact_GUC(true, save_nestlevel);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		/* an ephemeral slot being created goes away on release */
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		if (gsi)
			ereport(WARNING,
					(errmsg("could not create the replication slot of the partkv GSI worker: %s",
							edata->message),
					 errdetail("The GSI worker will create it when it starts.")));
		else
			ereport(WARNING,
					(errmsg("could not create the replication slot of the partkv change stream: %s",
							edata->message),
					 errdetail("The stream worker will create it when it starts; changes made before are not in the stream.")));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * KvEnsureOrigin returns the replication origin of that name, created if
 * missing.  CREATE EXTENSION creates both of a database, and a stream worker
 * its GSI worker's before starting it: creating one while another process
 * of the database runs DDL was seen to leave that DDL's catalog rows
 * unreadable (a partition without its pg_inherits and pg_constraint rows).
 */
RepOriginId
KvEnsureOrigin(const char *name)
{
	RepOriginId id = replorigin_by_name(name, true);

	if (id == InvalidRepOriginId)
		id = replorigin_create(name);
	return id;
}
