/*-------------------------------------------------------------------------
 *
 * role_gsi.c
 *	  The GSI worker's role (role.h): what one worker main does as the GSI
 *	  worker of its database, and how it paces itself.
 *
 * It decodes no stream records: the decoder hands it each change of a
 * table with GSIs (kv_gsi_change_hook), and it applies each batch's changes
 * to GSI storage in the transaction that sets its origin's LSN
 * (src/index/gsi.c); each loop iteration it backfills new GSIs.  Apart,
 * the stream never waits for GSI maintenance, which costs about as much as
 * the writes themselves, and the two use both CPUs of a small machine.  A
 * GSI worker that falls behind while the CPUs are busy gives way to the
 * writers until it has caught up (KvGsiWorkerYield); its nice value is
 * partkv.gsi_worker_nice.
 *
 * Its batches do not grow while it is behind.  Its batch transaction has
 * an xid from its first entry written to its commit, and while it runs no
 * backend may prune the row versions that the writers' updates leave
 * behind: the chains of versions every put walks and adds to grow for as
 * long as it runs.  Batches of 16,000 changes held the horizon for a
 * second or more at a time, and writers saturating two cores ran at 0.64
 * of their speed without GSIs; with batches of 1,000 changes (about
 * 100 ms each), at 0.74-0.78 (docs/BENCHMARKS.md), for no more of the
 * worker's CPU.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "../index/gsi.h"
#include "decodeloop.h"
#include "decoder.h"
#include "role.h"
#include "role_gsi.h"
#include "workerproc.h"
#include "workerstate.h"

int			kv_gsi_worker_nice = 0;
static int	kv_gsi_yield_lag_ms = 1000; /* see KvGsiWorkerYield */
static int	kv_gsi_yield_cpu = 10;

/* the longest sleep of a GSI worker giving way, so that it notices a change of load */
#define KV_GSI_MAX_YIELD_MS 1000

/*
 * GSI worker priority.  partkv.gsi_worker_nice is the GSI worker's nice
 * value.  Every postmaster child leads a session of its own (setsid()), and
 * with Linux's autogroup scheduling each session is a scheduling group
 * whose CPU share does not depend on its processes' nice values: there the
 * nice value of the worker's group is set instead -- which, unlike a
 * process's, an unprivileged process may also lower again.
 */
static int	kv_gsi_nice_now = 0;	/* the nice value in effect */
static bool kv_gsi_nice_failed = false; /* reported; not retried until SIGHUP */

/* KvAutogroupOwn tells whether the worker is alone in a Linux autogroup. */
static bool
KvAutogroupOwn(void)
{
#ifdef __linux__
	int			fd;
	char		c = '0';

	if (getsid(0) != getpid())
		return false;
	fd = OpenTransientFile("/proc/sys/kernel/sched_autogroup_enabled", O_RDONLY | PG_BINARY);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = '0';
	CloseTransientFile(fd);
	return c == '1';
#else
	return false;
#endif
}

/* KvGsiWorkerSetNice sets partkv.gsi_worker_nice (see above). */
static void
KvGsiWorkerSetNice(void)
{
	int			nice = kv_gsi_worker_nice;
	int			rc;

	if (nice == kv_gsi_nice_now || kv_gsi_nice_failed)
		return;
	if (KvAutogroupOwn())
	{
		char		buf[16];
		int			len = snprintf(buf, sizeof(buf), "%d", nice);
		int			fd = OpenTransientFile("/proc/self/autogroup", O_WRONLY | PG_BINARY);

		rc = -1;
		if (fd >= 0)
		{
			rc = (write(fd, buf, len) == len) ? 0 : -1;
			CloseTransientFile(fd);
		}
		/* the kernel takes a new autogroup nice value every 100 ms at most */
		if (rc != 0 && errno == EAGAIN)
			return;
	}
	else
		rc = setpriority(PRIO_PROCESS, 0, nice);
	if (rc != 0)
	{
		ereport(LOG,
				(errmsg("partkv GSI worker could not set its nice value to %d: %m", nice),
				 errdetail("It keeps nice value %d.", kv_gsi_nice_now)));
		kv_gsi_nice_failed = true;
		return;
	}
	kv_gsi_nice_now = nice;
}

/*
 * Giving way.  A GSI worker more than partkv.gsi_yield_lag behind whose
 * batches wait for a CPU (run-queue delay) for more than half the time
 * they run is outpaced by foreground work that keeps every CPU busy: after
 * each such batch it sleeps, so that it takes no more than
 * partkv.gsi_yield_cpu percent of a CPU until it has caught up.  The
 * writers keep their throughput, and the backlog is worked off when the
 * load eases -- batches that find a CPU free do not sleep -- as
 * autovacuum's cost delay keeps maintenance from competing with queries.
 * A lower CPU priority would not do: a starved batch holds its
 * transaction open for seconds, and with it the horizon below which the
 * writers' HOT updates may prune the versions they leave behind.
 */
typedef struct KvSchedTimes
{
	int64		run_ns;			/* time on a CPU */
	int64		delay_ns;		/* time runnable, waiting for one */
} KvSchedTimes;

static bool kv_gsi_yielding = false;

/*
 * KvSchedSample reads the worker's scheduler times: Linux's
 * /proc/self/schedstat, else CPU time and, as delay, the rest of the time
 * elapsed (which counts I/O waits too).
 */
static void
KvSchedSample(KvSchedTimes *t)
{
	struct rusage ru;

#ifdef __linux__
	int			fd = OpenTransientFile("/proc/self/schedstat", O_RDONLY | PG_BINARY);

	if (fd >= 0)
	{
		char		buf[128];
		int			len = read(fd, buf, sizeof(buf) - 1);
		long long	run;
		long long	delay;

		CloseTransientFile(fd);
		if (len > 0)
		{
			buf[len] = '\0';
			if (sscanf(buf, "%lld %lld", &run, &delay) == 2)
			{
				t->run_ns = run;
				t->delay_ns = delay;
				return;
			}
		}
	}
#endif
	getrusage(RUSAGE_SELF, &ru);
	t->run_ns = ((int64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
				 ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
	t->delay_ns = (int64) GetCurrentTimestamp() * 1000 - t->run_ns;
}

/*
 * KvGsiWorkerYield gives way after a loop (see above): behind tells whether
 * its batch stopped short of the end of WAL, before holds the scheduler
 * times sampled when the batch started.
 */
static void
KvGsiWorkerYield(bool behind, const KvSchedTimes *before)
{
	KvSchedTimes after;
	int64		run_ns;
	long		sleep_ms = 0;

	if (!behind)
		kv_gsi_yielding = false;
	else if (!kv_gsi_yielding && kv_gsi_yield_cpu < 100)
	{
		TimestampTz applied;

		SpinLockAcquire(&kv_shared->mutex);
		applied = kv_me->applied_commit;
		SpinLockRelease(&kv_shared->mutex);
		kv_gsi_yielding = applied != 0 &&
			TimestampDifferenceExceeds(applied, GetCurrentTimestamp(), kv_gsi_yield_lag_ms);
	}
	if (kv_gsi_yielding)
	{
		KvSchedSample(&after);
		run_ns = after.run_ns - before->run_ns;
		if (after.delay_ns - before->delay_ns > run_ns / 2)
			sleep_ms = Min(run_ns * (100 - kv_gsi_yield_cpu) / kv_gsi_yield_cpu / 1000000,
						   KV_GSI_MAX_YIELD_MS);
	}
	SpinLockAcquire(&kv_shared->mutex);
	kv_me->yielding = kv_gsi_yielding;
	SpinLockRelease(&kv_shared->mutex);
	/* the latch is not watched: every commit sets it */
	if (sleep_ms > 0)
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, sleep_ms,
						 PG_WAIT_EXTENSION);
}

/* scheduler times when the current batch started */
static KvSchedTimes kv_sched_before;

/* KvGsiRoleStart lets the decoder hand this worker every change to a table with GSIs. */
static void
KvGsiRoleStart(void)
{
	KvGsiWorkerInit();			/* global secondary indexes (src/index/gsi.c) */
	kv_gsi_change_hook = KvGsiCollectChange;
}

/* KvGsiRolePrepare: the decoder skips the worker's own writes. */
static void
KvGsiRolePrepare(RepOriginId own_origin)
{
	kv_decoder_skip_origin = own_origin;
}

/*
 * KvGsiRoleNewSlot: a slot made now misses what was written before, so
 * every GSI is backfilled again.
 */
static void
KvGsiRoleNewSlot(bool lost)
{
	/* (a lost slot's rebuild is reported once the new slot exists) */
	if (KvGsiRebuildAll() > 0 && !lost)
		ereport(LOG,
				(errmsg("partkv GSI worker of database \"%s\" has no replication slot yet: its GSIs are backfilled again",
						kv_my_dbname)));
}

/* KvGsiRoleReload applies a new partkv.gsi_worker_nice. */
static void
KvGsiRoleReload(void)
{
	kv_gsi_nice_failed = false;
	KvGsiWorkerSetNice();
}

/* KvGsiRoleApply applies the batch's changes to the GSIs (src/index/gsi.c). */
static void
KvGsiRoleApply(KvBatch *batch, XLogRecPtr reached)
{
	KvGsiApplyBatch();
}

/* KvGsiRolePaceBegin samples the scheduler times as a batch starts. */
static void
KvGsiRolePaceBegin(void)
{
	KvSchedSample(&kv_sched_before);
}

/* KvGsiRolePaceEnd gives way to the writers when need be (see above). */
static void
KvGsiRolePaceEnd(bool behind)
{
	KvGsiWorkerYield(behind, &kv_sched_before);
}

/* KvGsiRoleAfterBatch runs one GSI backfill batch in its own transaction. */
static bool
KvGsiRoleAfterBatch(void)
{
	return KvGsiBackfillStep(kv_stream_naptime_ms, kv_stream_batch_size);
}

const KvWorkerRoleOps kv_gsi_role = {
	.role = KV_ROLE_GSI,
	.what = "GSI",
	.kind = "gsi",
	.appname = "partkv GSI worker",
	.slot_name = KvGsiSlotName,
	.supervised = true,
	.records = false,
	.batch_growth = 1,
	.process_start = KvGsiWorkerSetNice,
	.start = KvGsiRoleStart,
	.prepare = KvGsiRolePrepare,
	.new_slot_needs_sql = true,
	.new_slot = KvGsiRoleNewSlot,
	.reload = KvGsiRoleReload,
	.batch_reset = KvGsiBatchReset,
	.batch_pending = KvGsiPendingChanges,
	.batch_apply = KvGsiRoleApply,
	.batch_last_commit = KvGsiLastCommitTime,
	.pace_begin = KvGsiRolePaceBegin,
	.pace_end = KvGsiRolePaceEnd,
	.after_batch = KvGsiRoleAfterBatch,
};

/*
 * KvGsiPacingInit is _PG_init's part for the GSI worker: its settings
 * (partkv.gsi_*).
 */
void
KvGsiPacingInit(void)
{
	DefineCustomIntVariable("partkv.gsi_worker_nice",
							"Nice value (CPU priority) of the GSI workers.",
							"On Linux with autogroup scheduling, the nice value of the worker's autogroup.",
							&kv_gsi_worker_nice, 0, 0, 19,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.gsi_yield_lag",
							"GSI lag beyond which a GSI worker that waits for busy CPUs gives way to the writers.",
							"See partkv.gsi_yield_cpu.",
							&kv_gsi_yield_lag_ms, 1000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("partkv.gsi_yield_cpu",
							"Percentage of a CPU a GSI worker giving way to the writers takes.",
							"After each batch that waited for busy CPUs it sleeps, until it has caught up. 100: it never gives way.",
							&kv_gsi_yield_cpu, 10, 1, 100,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
}
