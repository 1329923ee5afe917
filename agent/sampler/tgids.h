/* tgids.h — what both sampler engines keep about processes: sets of tgids, and whether a process
 * whose leader exited has ended (its last thread gone). */
#ifndef GPROF_AGENT_SAMPLER_TGIDS_H
#define GPROF_AGENT_SAMPLER_TGIDS_H

#include <stddef.h>
#include <stdint.h>

/* A set of tgids (0 is never stored): linear probing with backward-shift deletion. add returns
 * 1 when added, 0 when present, -ENOMEM; del returns 1 when removed. */
struct gp_u32set {
    uint32_t *slot; /* 0 = empty */
    uint32_t cap, n;
};
uint32_t gp_u32_hash(uint32_t v);
int gp_u32set_has(const struct gp_u32set *s, uint32_t v);
int gp_u32set_add(struct gp_u32set *s, uint32_t v);
int gp_u32set_del(struct gp_u32set *s, uint32_t v);

/* A process ends with its last thread, and its leader may exit first. Whether a thread other
 * than the leader of tgid is still alive (not a zombie), and whether the leader has exited. */
int gp_sampler_threads_left(uint32_t tgid);
int gp_sampler_leader_dead(uint32_t tgid);
/* Exit records come early in a thread's exit, while /proc may still show it running, so the
 * processes whose leader left are checked again at every poll: writes to out (up to max) those
 * with no thread left and returns how many. */
size_t gp_sampler_ended(const struct gp_u32set *leader_gone, uint32_t *out, size_t max);

#endif
