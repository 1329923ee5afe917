/* bpf_features.h — what the running kernel's BPF offers that the sampler's programs use where
 * they can and work around where they cannot (kernels 5.10 to 6.0); probed once per process. */
#ifndef GPROF_AGENT_SAMPLER_BPF_FEATURES_H
#define GPROF_AGENT_SAMPLER_BPF_FEATURES_H

struct gp_bpf_features {
    /* perf_event programs may use hash maps allocated at run time (BPF_F_NO_PREALLOC): 6.1+.
     * Before, the verifier refuses them ("perf_event programs can only use preallocated hash
     * map"), so the maps the programs name directly are preallocated instead. */
    int noprealloc_hash;
    /* atomic read-modify-write that returns the old value (BPF_ATOMIC | BPF_FETCH): 5.12+ */
    int atomic_fetch;
    /* bpf_get_current_task_btf (5.11+) and bpf_task_pt_regs (5.15+) in perf_event programs: the
     * user registers of a sample taken in kernel mode. Without them the user stack of such a
     * sample is walked by the kernel's frame-pointer walker (bpf_get_stack, BPF_F_USER_STACK). */
    int task_pt_regs;
    /* bpf_loop (5.17+): the unwinder walks a stack in one run instead of by tail calls */
    int loop;
};

/* The probed features (probed on the first call; later calls return the same answers). With
 * GPROF_BPF_FEATURES=5.10 in the environment (tests) every feature is reported absent. */
const struct gp_bpf_features *gp_bpf_features(void);

#endif
