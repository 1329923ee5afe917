/* bpf_check.c — loads every BPF program the sampler loads, in each way gprofctl can load them
 * (frame pointers only; unwind tables walked by tail calls; by bpf_loop where the kernel has it),
 * and prints one line per program with the verifier's statistics. Run inside the old-kernel guest
 * by tests/kernels/run_old_kernel.sh, which parses its output:
 *   GPROF-CHECK mode=MODE prog=NAME insns=N states=N peak=N usec=N (verification time, 5.13+)
 *   GPROF-CHECK mode=MODE load=ok | load=FAILED error=...
 *   GPROF-CHECK mode=loop skipped=no-bpf_loop
 * A failed load also prints the verifier's log (stderr) and makes the exit status 1. */
#include "agent/sampler/bpf_features.h"
#include "agent/sampler/sampler.h"
#include "agent/unwind/registry.h"
#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

static const char *mode_name;

/* "processed 1234 insns (limit 1000000) max_states_per_insn 4 total_states 90 peak_states 90
 * mark_read 12" is the kernel's statistics line (BPF_LOG_STATS, 5.2+). */
static void on_stats(void *ctx, const char *prog, const char *log)
{
    (void)ctx;
    const char *p = strstr(log, "processed ");
    unsigned insns = 0, maxst = 0, total = 0, peak = 0;
    if (p)
        sscanf(p,
               "processed %u insns (limit %*u) max_states_per_insn %u total_states %u "
               "peak_states %u",
               &insns, &maxst, &total, &peak);
    /* "verification time 12345 usec" (5.13+): the cost every sampler start pays */
    const char *vt = strstr(log, "verification time ");
    unsigned usec = 0;
    if (vt)
        sscanf(vt, "verification time %u usec", &usec);
    printf("GPROF-CHECK mode=%s prog=%s insns=%u states=%u peak=%u usec=%u\n", mode_name, prog,
           insns, total, peak, usec);
    if (!p && log[0]) /* a refusal: the verifier says why */
        fprintf(stderr, "---- verifier log of %s (%s) ----\n%s\n---- end ----\n", prog, mode_name,
                log);
    fflush(stdout);
}

/* The last 60 lines of a program's whole verifier log (a refusal is at the end). */
static void on_log(void *ctx, const char *prog, const char *log)
{
    (void)ctx;
    size_t n = strlen(log);
    const char *p = log + n;
    for (int lines = 0; p > log && lines < 61; p--)
        if (p[-1] == '\n')
            lines++;
    fprintf(stderr, "---- verifier log of %s (%s), %zu bytes, its end ----\n%s\n---- end ----\n",
            prog, mode_name, n, p);
}

static int try_load(const char *mode, struct gp_uw_registry *reg, int no_loop)
{
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF,
                                .unwind = reg,
                                .uw_no_loop = no_loop,
                                .verifier_stats = on_stats};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    mode_name = mode;
    int rc = gp_sampler_open(&o, &s, &err);
    if (rc) {
        printf("GPROF-CHECK mode=%s load=FAILED error=%s\n", mode, err.msg);
        fflush(stdout);
        /* Again with the verifier's whole log (level 1), whose end says why. */
        o.verifier_stats = on_log;
        o.verifier_log_level = 1;
        if (gp_sampler_open(&o, &s, &err) == 0)
            printf("GPROF-CHECK mode=%s load-with-log=ok\n", mode);
    } else
        printf("GPROF-CHECK mode=%s load=ok\n", mode);
    fflush(stdout);
    gp_sampler_close(s);
    return rc ? 1 : 0;
}

int main(void)
{
    /* Not root (no CAP_BPF): a skip (77) for ctest, except in CI. */
    if (geteuid() != 0) {
        const char *ci = getenv("CI");
        printf("GPROF-CHECK skipped=not-root\n");
        return ci && !strcmp(ci, "true") ? 1 : 77;
    }
    struct utsname u;
    gp_log_set_level(GP_LOG_DEBUG); /* libbpf's warnings (why a load failed) */
    if (uname(&u) == 0)
        printf("GPROF-CHECK kernel=%s\n", u.release);
    const struct gp_bpf_features *ft = gp_bpf_features();
    int loop = ft->loop;
    printf("GPROF-CHECK features noprealloc_hash=%d atomic_fetch=%d task_pt_regs=%d bpf_loop=%d\n",
           ft->noprealloc_hash, ft->atomic_fetch, ft->task_pt_regs, ft->loop);
    int failed = try_load("fp", NULL, 0);
    struct gp_uw_registry *reg = NULL;
    struct gp_err err = {0};
    if (gp_uw_registry_new(NULL, &reg, &err)) {
        printf("GPROF-CHECK mode=tables load=FAILED error=registry: %s\n", err.msg);
        return 1;
    }
    failed |= try_load("tailcall", reg, 1);
    if (loop)
        failed |= try_load("loop", reg, 0);
    else
        printf("GPROF-CHECK mode=loop skipped=no-bpf_loop\n");
    gp_uw_registry_free(reg);
    printf("GPROF-CHECK done failed=%d\n", failed);
    return failed;
}
