/* sampler_ops.h — what the two sampler engines (sampler_bpf.c, sampler_perf.c) implement and the
 * helpers they share (perf_event opening with actionable errors, CPU list, pid resolution). */
#ifndef GPROF_AGENT_SAMPLER_OPS_H
#define GPROF_AGENT_SAMPLER_OPS_H

#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/sampler.h"

struct gp_sampler_ops {
    enum gp_sampler_kind kind;
    int (*start)(struct gp_sampler *s, struct gp_err *err);
    void (*stop)(struct gp_sampler *s);
    int (*poll_events)(struct gp_sampler *s, int timeout_ms,
                       void (*cb)(const struct gp_proc_event *, void *), void *ctx);
    int (*drain)(struct gp_sampler *s, void (*cb)(const struct gp_raw_sample *, void *), void *ctx,
                 struct gp_err *err);
    int (*add_tgid)(struct gp_sampler *s, uint32_t tgid, struct gp_err *err);
    int (*remove_tgid)(struct gp_sampler *s, uint32_t tgid);
    void (*stats)(const struct gp_sampler *s, struct gp_sampler_stats *out);
    int (*bpf_runtime)(const struct gp_sampler *s, uint64_t *run_time_ns, uint64_t *run_cnt);
    void (*close)(struct gp_sampler *s);
};

/* Every engine's instance starts with this. */
struct gp_sampler {
    const struct gp_sampler_ops *ops;
};

/* *bpf_failed (optional) is set when the failure came from BPF itself (load, maps, attach), so
 * the perf engine may still work. */
int gp_sampler_bpf_open(const struct gp_sampler_opts *o, struct gp_sampler **out, int *bpf_failed,
                        struct gp_err *err);
int gp_sampler_perf_open(const struct gp_sampler_opts *o, struct gp_sampler **out,
                         struct gp_err *err);

#define GP_SAMPLER_DEFAULT_HZ 99

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
