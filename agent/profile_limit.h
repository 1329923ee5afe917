/* profile_limit.h — max_processes of an ad hoc whole-host session: keep the processes with the
 * most samples in the finished profile, drop the others and say in the header what was dropped. */
#ifndef GPROF_AGENT_PROFILE_LIMIT_H
#define GPROF_AGENT_PROFILE_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/profile.h"

/* What gp_profile_limit_processes kept and dropped. */
struct gp_profile_limit_stats {
    size_t processes, processes_dropped;
    uint64_t samples, samples_dropped;
};

/* The pure selection: sets keep[i] to 1 for the max entries of samples[0..n) with the most
 * samples and to 0 for the others; ties go to the lower index (the process seen first). All are
 * kept when n <= max. Returns 0, or -ENOMEM. */
int gp_profile_limit_select(const uint64_t *samples, size_t n, size_t max, unsigned char *keep);

/* Limits *p to the max processes with the most samples. A process is what the profile keys
 * stacks by: (application index, container, comm) — the profile keeps no pid, so processes of one
 * name in one container are one process here, as they are one in the flame graph. When some are
 * dropped, *p is replaced by a new profile (the old one is freed) holding only the kept
 * processes' stacks. Either way the header gets "process_limit": {"max_processes", "processes",
 * "processes_dropped", "samples_dropped"} plus, when some were dropped, "largest_dropped":
 * {"container", "comm", "samples"}. st may be NULL. Returns 0 or -ENOMEM (*p unchanged). */
int gp_profile_limit_processes(struct gp_profile **p, size_t max, struct gp_profile_limit_stats *st,
                               struct gp_err *err);

#endif
