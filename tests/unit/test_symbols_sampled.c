/* test_symbols_sampled.c — the ≥99% check on real sampled stacks, independent of the sampler:
 * each workload is sampled with a plain perf_event (cpu-clock, PERF_SAMPLE_CALLCHAIN, user
 * stacks) while it runs, and every frame of every sample is named after it exited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/procs/maps.h"
#include "agent/procs/proctable.h"
#include "agent/symbols/symbolizer.h"

#define RING_PAGES 512 /* data pages; plenty for ~2 s at 1 kHz */

static char wldir[4096], srcdir[4096];

static int setup(void **state)
{
    const char *b = getenv("GPROF_BUILD_DIR"), *s = getenv("GPROF_SOURCE_DIR");
    if (!b || !s) {
        fprintf(stderr, "GPROF_BUILD_DIR / GPROF_SOURCE_DIR are not set (run through ctest)\n");
        return -1;
    }
    snprintf(wldir, sizeof(wldir), "%s/tests/workloads", b);
    snprintf(srcdir, sizeof(srcdir), "%s", s);
    return 0;
}

struct run {
    pid_t child;
    FILE *out;
    int in_fd;
    char hot[4][256];
    int nhot;
    struct gp_maps maps; /* all mappings, read once it is ready */
};

static void start(struct run *r, const char *const *argv)
{
    memset(r, 0, sizeof(*r));
    int out[2], in[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(in), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(in[0], 0);
        close(out[0]);
        close(in[1]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    r->child = pid;
    r->in_fd = in[1];
    r->out = fdopen(out[0], "r");
    char line[512], *sp;
    while (fgets(line, sizeof(line), r->out)) {
        if (strncmp(line, "sym ", 4) == 0 && (sp = strrchr(line, ' ')) && r->nhot < 4)
            snprintf(r->hot[r->nhot++], sizeof(r->hot[0]), "%.*s", (int)(sp - line - 4), line + 4);
        else if (strncmp(line, "ready", 5) == 0) {
            struct gp_err err = {0};
            assert_int_equal(gp_maps_read((uint32_t)pid, 0, &r->maps, &err), 0);
            return;
        }
    }
    fail_msg("%s did not report ready", argv[0]);
}

static int perf_open(pid_t pid)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof(a));
    a.size = sizeof(a);
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.sample_period = 1000000; /* 1 ms of CPU time */
    a.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    a.exclude_callchain_kernel = 1;
    a.disabled = 1;
    a.wakeup_events = 1;
    return (int)syscall(SYS_perf_event_open, &a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

struct tally {
    uint64_t samples, frames, named, leaf_hot;
    uint64_t not_code; /* "return addresses" outside executable memory: unwinder artifacts */
    char first_bad[256];
};

static void drain(struct gp_symbolizer *s, void *ring, size_t pagesz, const struct run *r,
                  struct tally *t)
{
    struct perf_event_mmap_page *meta = ring;
    char *data = (char *)ring + pagesz;
    uint64_t size = (uint64_t)RING_PAGES * pagesz;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = meta->data_tail;
    char rec[65536];
    while (tail < head) {
        struct perf_event_header h;
        for (size_t i = 0; i < sizeof(h); i++)
            ((char *)&h)[i] = data[(tail + i) % size];
        assert_true(h.size >= sizeof(h) && h.size <= sizeof(rec));
        for (size_t i = 0; i < h.size; i++)
            rec[i] = data[(tail + i) % size];
        tail += h.size;
        if (h.type != PERF_RECORD_SAMPLE)
            continue;
        uint32_t pid = *(uint32_t *)(rec + 8);
        uint64_t nr = *(uint64_t *)(rec + 16);
        uint64_t *raw = (uint64_t *)(rec + 24), ips[512];
        uint32_t n = 0;
        for (uint64_t i = 0; i < nr && n < 512; i++)
            if (raw[i] < PERF_CONTEXT_MAX) /* drop PERF_CONTEXT_USER markers */
                ips[n++] = raw[i];
        if (!n)
            continue;
        const char *out[512];
        assert_int_equal(gp_symbolize_user(s, pid, ips, n, out), 0);
        t->samples++;
        for (uint32_t i = 0; i < n; i++) {
            int unnamed = strstr(out[i], "+0x") || strcmp(out[i], "[unknown]") == 0;
            const struct gp_map *g = gp_maps_find(&r->maps, ips[i] - (i ? 1 : 0));
            if (unnamed && i > 0 && (!g || g->perms[2] != 'x')) {
                /* The frame-pointer walk went through code built without frame pointers (libc's
                 * __libc_start_call_main) and read a data pointer as a return address: no code
                 * is there, so no symbolizer can name it. Counted, not held against naming. */
                t->not_code++;
                continue;
            }
            t->frames++;
            if (!unnamed)
                t->named++;
            else if (!t->first_bad[0])
                snprintf(t->first_bad, sizeof(t->first_bad), "%s (0x%" PRIx64 ")", out[i], ips[i]);
        }
        for (int k = 0; k < r->nhot; k++)
            if (strcmp(out[0], r->hot[k]) == 0)
                t->leaf_hot++;
    }
    meta->data_tail = tail;
}

/* Samples argv until it exits, names its stacks after the exit, checks the shares. */
static void sample_workload(const char *const *argv, const char *debug_dir, int wait_stdin)
{
    struct run r;
    start(&r, argv);
    int fd = perf_open(r.child);
    if (fd < 0)
        fail_msg("perf_event_open(cpu-clock) for pid %d: %s; run as root", (int)r.child,
                 strerror(errno));
    size_t pagesz = (size_t)sysconf(_SC_PAGESIZE);
    void *ring = mmap(NULL, (RING_PAGES + 1) * pagesz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    assert_true(ring != MAP_FAILED);

    struct gp_symbolizer *s;
    struct gp_err err = {0};
    const char *dirs[] = {debug_dir, "/usr/lib/debug"}; /* libc's own: libc6-dbg */
    struct gp_symbolizer_opts o = {.debug_dirs = debug_dir ? dirs : NULL,
                                   .ndebug_dirs = debug_dir ? 2 : 0,
                                   .no_kernel = 1};
    assert_int_equal(gp_symbolizer_new(&o, &s, &err), 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), (uint32_t)r.child, 0), 0);

    assert_int_equal(ioctl(fd, PERF_EVENT_IOC_ENABLE, 0), 0);
    if (wait_stdin)
        assert_int_equal(write(r.in_fd, "g", 1), 1);
    int st;
    assert_int_equal(waitpid(r.child, &st, 0), r.child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    gp_proctable_exit(gp_symbolizer_procs(s), (uint32_t)r.child);

    struct tally t = {0};
    drain(s, ring, pagesz, &r, &t);
    gp_proctable_gc(gp_symbolizer_procs(s));
    gp_symbolizer_gc(s);
    double named = t.frames ? 100.0 * (double)t.named / (double)t.frames : 0;
    double hot = t.samples ? 100.0 * (double)t.leaf_hot / (double)t.samples : 0;
    printf("%-28s samples %5" PRIu64 "  frames %6" PRIu64 "  named %6.2f%%  leaf in hot fns "
           "%6.2f%%%s%s\n",
           strrchr(argv[1] && strstr(argv[0], ".sh") ? argv[1] : argv[0], '/') + 1, t.samples,
           t.frames, named, hot, t.first_bad[0] ? "  first unnamed: " : "", t.first_bad);
    if (t.not_code)
        printf("%28s %" PRIu64 " frames outside executable memory (frame-pointer walk artifacts)\n",
               "", t.not_code);
    assert_true(t.samples >= 10);
    if (named < 99.0)
        fail_msg("only %.2f%% of sampled frames named (first: %s)", named, t.first_bad);
    if (hot < 50.0)
        fail_msg("only %.2f%% of samples in the hot functions", hot);
    gp_symbolizer_free(s);
    gp_maps_free(&r.maps);
    munmap(ring, (RING_PAGES + 1) * pagesz);
    close(fd);
    fclose(r.out);
    close(r.in_fd);
}

#define WL(var, name)                                                                              \
    char var[4200];                                                                                \
    snprintf(var, sizeof(var), "%s/%s", wldir, name)

static void test_sampled_c(void **state)
{
    WL(b, "wl_c");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_pie(void **state)
{
    WL(b, "wl_pie");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_cpp(void **state)
{
    WL(b, "wl_cpp");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_shlib(void **state)
{
    WL(b, "wl_shlib");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_dynsym(void **state)
{
    WL(b, "wl_dynsym");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_debugid(void **state)
{
    WL(b, "wl_debugid");
    WL(d, "debug");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, d, 0);
}

static void test_sampled_debuglink(void **state)
{
    WL(b, "wl_debuglink");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_minidebug(void **state)
{
    WL(b, "wl_minidebug");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_mntns(void **state)
{
    WL(b, "wl_mntns");
    char script[4200];
    snprintf(script, sizeof(script), "%s/tests/workloads/run-in-mntns.sh", srcdir);
    const char *argv[] = {script, b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_jit(void **state)
{
    WL(b, "wl_jit");
    const char *argv[] = {b, "1", NULL};
    sample_workload(argv, NULL, 0);
}

static void test_sampled_short(void **state)
{
    WL(b, "wl_short");
    const char *argv[] = {b, "300", "--wait", NULL};
    sample_workload(argv, NULL, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sampled_c),         cmocka_unit_test(test_sampled_pie),
            cmocka_unit_test(test_sampled_cpp),       cmocka_unit_test(test_sampled_shlib),
            cmocka_unit_test(test_sampled_dynsym),    cmocka_unit_test(test_sampled_debugid),
            cmocka_unit_test(test_sampled_debuglink), cmocka_unit_test(test_sampled_minidebug),
            cmocka_unit_test(test_sampled_mntns),     cmocka_unit_test(test_sampled_jit),
            cmocka_unit_test(test_sampled_short),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
