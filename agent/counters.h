/* counters.h — the agent's process-wide profiling counters (samples, drops by reason, frames
 * and how many were symbolized), added once per finished session; relaxed atomics, no lock. */
#ifndef GPROF_AGENT_COUNTERS_H
#define GPROF_AGENT_COUNTERS_H

#include <stdint.h>

#include "agent/sampler/sampler.h"

/* Why samples or stacks were lost; the order of gp_counter_drop_names. */
enum gp_drop_reason {
    GP_DROP_USER_STACK,   /* user stack not stored (stack map full) */
    GP_DROP_KERNEL_STACK, /* kernel stack not walked or stored */
    GP_DROP_MAP_FULL,     /* aggregation table full */
    GP_DROP_RING_LOST,    /* perf ring full: records lost by the kernel */
    GP_DROP_EVENTS_LOST,  /* process events lost (event ring full) */
    GP_DROP_MALFORMED,    /* perf records too short for what they announce */
    GP_DROP_N
};
extern const char *const gp_counter_drop_names[GP_DROP_N];

/* A session's figures at one point: sampler stats and frame counts are cumulative over the
 * session object's life, so each finished run adds what changed since the last snapshot. */
struct gp_counter_snap {
    struct gp_sampler_stats st;
    uint64_t frames, unresolved;
};

struct gp_counters_view {
    uint64_t sessions, samples, frames, unresolved;
    uint64_t drops[GP_DROP_N];
};

/* Adds one finished run: its samples, and the difference between now and *last (then *last =
 * now; pass a zeroed *last for a fresh session). */
void gp_counters_add_run(uint64_t samples, const struct gp_counter_snap *now,
                         struct gp_counter_snap *last);
void gp_counters_read(struct gp_counters_view *out);

#endif
