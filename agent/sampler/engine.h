/* engine.h — what a sampler engine (bpf.c, perf.c) implements: the ops vtable every instance
 * starts with, and each engine's open function, which only the factory (sampler.c) calls. */
#ifndef GPROF_AGENT_SAMPLER_ENGINE_H
#define GPROF_AGENT_SAMPLER_ENGINE_H

#include <stdint.h>

#include "agent/sampler/sampler.h"

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

#endif
