/*-------------------------------------------------------------------------
 *
 * workerstate.c
 *	  The shared state of partkv's background workers (see workerstate.h):
 *	  its shared memory, and the accessors SQL functions and other modules
 *	  use instead of calling into the workers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "workerstate.h"

int			kv_stream_naptime_ms = 1000;
int			kv_stream_max_workers = 8;

KvStreamShared *kv_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* KvStreamShmemSize is the size of the shared state for max_workers workers. */
static Size
KvStreamShmemSize(void)
{
	return add_size(offsetof(KvStreamShared, slots),
					mul_size(Max(kv_stream_max_workers, 1), sizeof(KvWorkerSlot)));
}

/* KvStreamShmemRequest asks for the shared state (PG 15's request hook). */
static void
KvStreamShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(KvStreamShmemSize());
}

/* KvStreamShmemStartup creates or attaches to the shared state. */
static void
KvStreamShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	kv_shared = ShmemInitStruct("partkv stream", KvStreamShmemSize(), &found);
	if (!found)
	{
		memset(kv_shared, 0, KvStreamShmemSize());
		SpinLockInit(&kv_shared->mutex);
		kv_shared->nslots = Max(kv_stream_max_workers, 1);
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * KvWorkerStateInit installs the shared memory hooks; kv_stream_max_workers
 * must be set already (it sizes the state).
 */
void
KvWorkerStateInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = KvStreamShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = KvStreamShmemStartup;
}

/* KvStreamSlotName names the slot and origin of a database's stream. */
void
KvStreamSlotName(Oid dboid, char *out)
{
	snprintf(out, NAMEDATALEN, "partkv_stream_%u", dboid);
}

/* KvGsiSlotName names the slot and origin of a database's GSI worker. */
void
KvGsiSlotName(Oid dboid, char *out)
{
	snprintf(out, NAMEDATALEN, "partkv_gsi_%u", dboid);
}

/* KvWorkerOf reports on the running process of a role of a database. */
static bool
KvWorkerOf(Oid dboid, KvWorkerRole role, KvStreamWorkerInfo *info)
{
	bool		found = false;

	if (kv_shared == NULL)
		return false;
	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->nslots; i++)
	{
		KvWorkerSlot *w = &kv_shared->slots[i];
		KvWorkerProc *p = &w->procs[role];

		if (w->dboid == dboid && p->pid != 0)
		{
			info->pid = p->pid;
			info->reached = p->caught_up;
			info->last_batch = p->last_batch;
			info->records = p->records;
			info->applied_commit = p->applied_commit;
			info->yielding = p->yielding;
			info->caught_up_at = p->caught_up_at;
			info->last_write = w->last_write;
			found = true;
			break;
		}
	}
	SpinLockRelease(&kv_shared->mutex);
	return found;
}

/* KvStreamWorkerOf reports on the running stream worker of a database. */
bool
KvStreamWorkerOf(Oid dboid, KvStreamWorkerInfo *info)
{
	return KvWorkerOf(dboid, KV_ROLE_STREAM, info);
}

/* KvGsiWorkerOf reports on the running GSI worker of a database. */
bool
KvGsiWorkerOf(Oid dboid, KvStreamWorkerInfo *info)
{
	return KvWorkerOf(dboid, KV_ROLE_GSI, info);
}

/*
 * KvStreamWakeWorker sets the latches of a database's workers; wrote: a
 * transaction that wrote kv rows has just committed (its time tells lag
 * from WAL that holds no change, see partkv_gsi_backlog).
 */
void
KvStreamWakeWorker(Oid dboid, bool wrote)
{
	Latch	   *latches[KV_NROLES] = {0};
	TimestampTz now = wrote ? GetCurrentTimestamp() : 0;

	if (kv_shared == NULL)
		return;
	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->nslots; i++)
	{
		KvWorkerSlot *w = &kv_shared->slots[i];

		if (w->dboid == dboid)
		{
			for (int r = 0; r < KV_NROLES; r++)
				latches[r] = w->procs[r].latch;
			if (wrote)
				w->last_write = now;
		}
	}
	SpinLockRelease(&kv_shared->mutex);
	for (int r = 0; r < KV_NROLES; r++)
		if (latches[r])
			SetLatch(latches[r]);
}

/* KvStreamIsPaused tells whether database commands keep dboid worker-free. */
bool
KvStreamIsPaused(Oid dboid)
{
	bool		paused = false;

	SpinLockAcquire(&kv_shared->mutex);
	for (int i = 0; i < kv_shared->npaused; i++)
		if (kv_shared->paused[i] == dboid)
			paused = true;
	SpinLockRelease(&kv_shared->mutex);
	return paused;
}

/* KvStreamRequestCheck asks the launcher to look at a database again. */
void
KvStreamRequestCheck(Oid dboid)
{
	Latch	   *latch;

	if (kv_shared == NULL)
		return;
	SpinLockAcquire(&kv_shared->mutex);
	if (kv_shared->npending < KV_MAX_PENDING)
		kv_shared->pending[kv_shared->npending++] = dboid;
	else
		kv_shared->pending_overflow = true;
	latch = kv_shared->launcher_latch;
	SpinLockRelease(&kv_shared->mutex);
	if (latch)
		SetLatch(latch);
}
