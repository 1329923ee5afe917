/* running.h — the processes on CPU now: the tgids with a thread in state R (running or runnable)
 * in /proc, so a host-wide record can prepare them first and leave sleepers to their first sample.
 */
#ifndef GPROF_AGENT_PROCS_RUNNING_H
#define GPROF_AGENT_PROCS_RUNNING_H

#include <stddef.h>
#include <stdint.h>

/* The tgids (other than the caller's) with at least one thread in state R, in *out (malloc'ed,
 * the caller frees it; NULL when none), their count in *n. Processes that exit meanwhile are
 * skipped. Returns 0 or -errno (/proc unreadable, out of memory). */
int gp_procs_running(uint32_t **out, size_t *n);

/* Now, in clock ticks since boot (CLOCK_BOOTTIME, _SC_CLK_TCK): the unit of gp_proc_start_ticks. */
uint64_t gp_boot_ticks_now(void);

/* When process pid started, in clock ticks since boot (/proc/PID/stat starttime). 0 or -errno
 * (-ENOENT: gone). */
int gp_proc_start_ticks(uint32_t pid, uint64_t *ticks);

#endif
