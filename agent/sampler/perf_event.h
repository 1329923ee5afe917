/* perf_event.h — the perf_event helpers both sampler engines share: online CPUs, the sampling
 * event's attributes, perf_event_open with actionable errors, sysctls, pid → tgid. */
#ifndef GPROF_AGENT_SAMPLER_PERF_EVENT_H
#define GPROF_AGENT_SAMPLER_PERF_EVENT_H

#include <linux/perf_event.h>
#include <stdint.h>

#include "agent/sampler/sampler.h"

#define GP_SAMPLER_DEFAULT_HZ 99 /* samples per second per CPU when the options say 0 */

/* Online CPUs from /sys/devices/system/cpu/online; *cpus is malloc'ed. */
int gp_sampler_online_cpus(int **cpus, int *ncpus, struct gp_err *err);
/* Fills type/config/frequency of the sampling event the options ask for (disabled=1). */
void gp_sampler_event_attr(const struct gp_sampler_opts *o, struct perf_event_attr *attr);
/* perf_event_open(attr, pid -1, cpu); returns the fd, or a negative errno with a message that
 * says what to do (permissions, paranoid level, missing PMU, frequency limit). */
int gp_sampler_open_cpu_event(struct perf_event_attr *attr, int cpu, struct gp_err *err);
/* The process (thread group) a pid or thread id belongs to; -ESRCH with a message if none. */
int gp_sampler_resolve_tgid(int pid, uint32_t *tgid, struct gp_err *err);
/* Reads an integer sysctl from /proc/sys (path relative to it); def when unreadable. */
int gp_sampler_read_sysctl(const char *name, int def);

#endif
