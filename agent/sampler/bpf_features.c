/* bpf_features.c — probes of the running kernel's BPF (see bpf_features.h): each loads a tiny
 * program, so the answer is the verifier's own, not a guess from the kernel version. */
#include "agent/sampler/bpf_features.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define INSN(c, d, s, o, i)                                                                        \
    ((struct bpf_insn){.code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i)})
#define MOV64_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define EXIT()          INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

static struct gp_bpf_features features;
static pthread_once_t features_once = PTHREAD_ONCE_INIT;

/* 1 when a perf_event program made of insns loads. */
static int loads(const struct bpf_insn *insns, size_t n)
{
    int fd = bpf_prog_load(BPF_PROG_TYPE_PERF_EVENT, NULL, "GPL", insns, n, NULL);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* A perf_event program that names a BPF_F_NO_PREALLOC hash map (the refusal is at the name). */
static int probe_noprealloc(void)
{
    LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_NO_PREALLOC);
    int mfd = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 4, 4, 1, &mo);
    if (mfd < 0)
        return 0;
    struct bpf_insn insns[] = {
            INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, mfd),
            INSN(0, 0, 0, 0, 0),
            MOV64_IMM(BPF_REG_0, 0),
            EXIT(),
    };
    int ok = loads(insns, sizeof(insns) / sizeof(insns[0]));
    close(mfd);
    return ok;
}

/* r1 = atomic_fetch_add(*(u64 *)(r10 - 8), r1) on a stack slot */
static int probe_atomic_fetch(void)
{
    struct bpf_insn insns[] = {
            MOV64_IMM(BPF_REG_1, 0),
            INSN(BPF_STX | BPF_DW | BPF_MEM, BPF_REG_10, BPF_REG_1, -8, 0),
            MOV64_IMM(BPF_REG_1, 1),
            INSN(BPF_STX | BPF_DW | BPF_ATOMIC, BPF_REG_10, BPF_REG_1, -8, BPF_ADD | BPF_FETCH),
            MOV64_IMM(BPF_REG_0, 0),
            EXIT(),
    };
    return loads(insns, sizeof(insns) / sizeof(insns[0]));
}

static int helper(enum bpf_func_id id)
{
    return libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, id, NULL) == 1;
}

static void probe_all(void)
{
    /* Tests: GPROF_BPF_FEATURES=5.10 takes what a 5.10 kernel lacks away on any kernel, so the
     * fallbacks run (and are verified) on the test host too. */
    const char *as = getenv("GPROF_BPF_FEATURES");
    if (as && !strcmp(as, "5.10")) {
        gp_info("BPF features: as on a 5.10 kernel (GPROF_BPF_FEATURES=5.10)");
        return; /* all 0 */
    }
    features.noprealloc_hash = probe_noprealloc();
    features.atomic_fetch = probe_atomic_fetch();
    features.task_pt_regs = helper(BPF_FUNC_get_current_task_btf) && helper(BPF_FUNC_task_pt_regs);
    features.loop = helper(BPF_FUNC_loop);
    gp_debug("BPF features: run-time allocated hash maps in perf_event programs %d (6.1+), "
             "atomic fetch %d (5.12+), bpf_task_pt_regs %d (5.15+), bpf_loop %d (5.17+)",
             features.noprealloc_hash, features.atomic_fetch, features.task_pt_regs, features.loop);
}

const struct gp_bpf_features *gp_bpf_features(void)
{
    pthread_once(&features_once, probe_all);
    return &features;
}
