/* test_sampler.c — the sampler against the real kernel: BPF and perf engines sample the burn
 * workload (tests/workloads/burn.c); user and kernel stacks, 70/30 attribution, no-loss
 * accounting across drains, runtime pid filter, process events, two instances at once, errors
 * and the automatic fallback when CAP_BPF is missing. Skips without BPF unless
 * GPROF_REQUIRE_BPF=1, which turns a skip into a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "agent/sampler/sampler.h"
#include "agent/unwind/registry.h"
#include "agent/unwind/unwind_user.h"

/* ---- the workload ---- */

struct burn {
    pid_t pid;
    uint64_t a_lo, a_hi, b_lo, b_hi; /* runtime address ranges of hot_a / hot_b */
    uint64_t loop_lo, loop_hi;       /* and of burn_loop, their caller */
};

static const char *burn_path(void)
{
    static char path[4096];
    const char *bd = getenv("GPROF_BUILD_DIR");
    snprintf(path, sizeof(path), "%s/tests/workloads/burn", bd ? bd : ".");
    return path;
}

/* value and size of the symbols tests locate, from one `nm -S` of burn (cached: every burn_start
 * needs them, and nm under load would eat into the workload's run time) */
enum { SYM_HOT_A, SYM_HOT_B, SYM_BURN_LOOP, NSYMS };
static const char *const sym_names[NSYMS] = {"hot_a", "hot_b", "burn_loop"};

static int burn_symbols(uint64_t value[NSYMS], uint64_t size[NSYMS])
{
    static uint64_t v[NSYMS], sz[NSYMS];
    static int found;
    if (found != (1 << NSYMS) - 1) {
        char cmd[4200];
        snprintf(cmd, sizeof(cmd), "nm -S --defined-only '%s'", burn_path());
        FILE *f = popen(cmd, "r");
        if (!f)
            return -1;
        char line[512];
        while (fgets(line, sizeof(line), f)) {
            unsigned long long lv, ls;
            char type, sym[256];
            if (sscanf(line, "%llx %llx %c %255s", &lv, &ls, &type, sym) != 4)
                continue;
            for (int i = 0; i < NSYMS; i++)
                if (!strcmp(sym, sym_names[i])) {
                    v[i] = lv;
                    sz[i] = ls;
                    found |= 1 << i;
                }
        }
        pclose(f);
        if (found != (1 << NSYMS) - 1)
            return -1;
    }
    memcpy(value, v, sizeof(v));
    memcpy(size, sz, sizeof(sz));
    return 0;
}

/* depth: frames added between the worker and the hot functions (burn -r) */
static void burn_start_depth(struct burn *b, const char *mode, int threads, const char *dur,
                             int depth)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    char tstr[16], rstr[16];
    snprintf(tstr, sizeof(tstr), "%d", threads);
    snprintf(rstr, sizeof(rstr), "%d", depth);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(burn_path(), "burn", "-p", "-m", mode, "-t", tstr, "-d", dur, "-r", rstr,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    assert_non_null(f);
    unsigned long long a = 0, bb = 0;
    int ok = fscanf(f, "hot_a %llx hot_b %llx", &a, &bb);
    fclose(f);
    if (ok != 2)
        fail_msg("cannot start %s (build the 'burn' target; GPROF_BUILD_DIR set?)", burn_path());
    uint64_t v[NSYMS], sz[NSYMS];
    assert_int_equal(burn_symbols(v, sz), 0);
    b->pid = pid;
    b->a_lo = a;
    b->a_hi = a + sz[SYM_HOT_A];
    b->b_lo = bb;
    b->b_hi = bb + sz[SYM_HOT_B];
    /* burn_loop, under hot_a/hot_b in every stack: at the same distance as in the file */
    b->loop_lo = a + (v[SYM_BURN_LOOP] - v[SYM_HOT_A]);
    b->loop_hi = b->loop_lo + sz[SYM_BURN_LOOP];
}

static void burn_start(struct burn *b, const char *mode, int threads, const char *dur)
{
    burn_start_depth(b, mode, threads, dur, 0);
}

static void burn_stop(struct burn *b)
{
    if (b->pid > 0) {
        kill(b->pid, SIGKILL);
        waitpid(b->pid, NULL, 0);
        b->pid = 0;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

/* ---- collecting drained samples and events ---- */

struct collect {
    const struct burn *b;
    uint32_t want;  /* tgid of interest */
    uint32_t other; /* a tgid that must not appear (0 = none) */
    uint64_t total, mine, foreign, user_stacks, kernel_stacks, kernel_bad, in_a, in_b;
    uint64_t both; /* samples with kernel stack and a user stack through hot_a/hot_b */
    uint64_t other_seen;
    uint64_t in_loop, frames; /* samples whose user stack reaches burn_loop; user frames */
};

static void on_sample(const struct gp_raw_sample *s, void *ctx)
{
    struct collect *c = ctx;
    c->total += s->count;
    if (c->other && s->tgid == c->other)
        c->other_seen += s->count;
    if (s->tgid != c->want) {
        c->foreign += s->count;
        return;
    }
    c->mine += s->count;
    if (s->nuser)
        c->user_stacks += s->count;
    if (s->nkernel) {
        c->kernel_stacks += s->count;
        if (s->kernel_ips[0] < 0xffff800000000000ULL)
            c->kernel_bad += s->count;
    }
    if (!c->b)
        return;
    c->frames += s->nuser * s->count;
    for (uint32_t i = 0; i < s->nuser; i++)
        if (s->user_ips[i] >= c->b->loop_lo && s->user_ips[i] < c->b->loop_hi) {
            c->in_loop += s->count;
            break;
        }
    for (uint32_t i = 0; i < s->nuser; i++) {
        uint64_t ip = s->user_ips[i];
        if (ip >= c->b->a_lo && ip < c->b->a_hi) {
            c->in_a += s->count;
            if (s->nkernel)
                c->both += s->count;
            break;
        }
        if (ip >= c->b->b_lo && ip < c->b->b_hi) {
            c->in_b += s->count;
            if (s->nkernel)
                c->both += s->count;
            break;
        }
    }
}

struct evlog {
    int n;
    struct gp_proc_event ev[4096];
};

static void on_event(const struct gp_proc_event *e, void *ctx)
{
    struct evlog *l = ctx;
    if (l->n < 4096)
        l->ev[l->n++] = *e;
}

static int has_event(const struct evlog *l, enum gp_proc_event_type t, uint32_t tgid)
{
    for (int i = 0; i < l->n; i++)
        if (l->ev[i].type == t && l->ev[i].tgid == tgid)
            return i + 1;
    return 0;
}

/* Samples for about ms milliseconds, polling events every 50 ms and draining every drain_ms. */
static void run_for(struct gp_sampler *s, int ms, int drain_ms, struct collect *c, struct evlog *l)
{
    struct gp_err err = {0};
    int since = 0;
    for (int t = 0; t < ms; t += 50) {
        assert_true(gp_sampler_poll_events(s, 50, on_event, l) >= 0);
        since += 50;
        if (since >= drain_ms) {
            since = 0;
            int rc = gp_sampler_drain(s, on_sample, c, &err);
            if (rc < 0)
                fail_msg("drain: %s", err.msg);
        }
    }
}

/* stop, final drain (complete after stop), last events */
static void finish(struct gp_sampler *s, struct collect *c, struct evlog *l)
{
    struct gp_err err = {0};
    gp_sampler_stop(s);
    if (gp_sampler_drain(s, on_sample, c, &err) < 0)
        fail_msg("drain: %s", err.msg);
    gp_sampler_poll_events(s, 0, on_event, l);
}

/* ---- availability: skip, or fail in CI ---- */

static int require_bpf_env(void)
{
    const char *v = getenv("GPROF_REQUIRE_BPF");
    return v && !strcmp(v, "1");
}

static int engine_usable(enum gp_sampler_kind kind)
{
    struct gp_sampler_opts o = {.kind = kind, .freq_hz = 99};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    int rc = gp_sampler_open(&o, &s, &err);
    if (rc == 0) {
        gp_sampler_close(s);
        return 1;
    }
    if (require_bpf_env())
        fail_msg("%s sampler unavailable but GPROF_REQUIRE_BPF=1: %s", gp_sampler_kind_name(kind),
                 err.msg);
    print_message("skipping: %s sampler unavailable: %s\n", gp_sampler_kind_name(kind), err.msg);
    return 0;
}

#define REQUIRE(kind)                                                                              \
    do {                                                                                           \
        if (!engine_usable(kind)) {                                                                \
            skip();                                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)

static struct gp_sampler *open_or_fail(struct gp_sampler_opts *o)
{
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    if (gp_sampler_open(o, &s, &err))
        fail_msg("open %s sampler: %s", gp_sampler_kind_name(o->kind), err.msg);
    assert_int_equal(gp_sampler_kind(s), o->kind);
    if (gp_sampler_start(s, &err))
        fail_msg("start: %s", err.msg);
    return s;
}

static void check_accounting(struct gp_sampler *s, const char *what)
{
    struct gp_sampler_stats st;
    gp_sampler_stats(s, &st);
    print_message("%s: samples=%llu drained=%llu map_full=%llu ustack_err=%llu kstack_err=%llu "
                  "lost=%llu filtered=%llu drains=%llu\n",
                  what, (unsigned long long)st.samples, (unsigned long long)st.drained,
                  (unsigned long long)st.map_full, (unsigned long long)st.user_stack_errors,
                  (unsigned long long)st.kernel_stack_errors, (unsigned long long)st.lost,
                  (unsigned long long)st.filtered, (unsigned long long)st.drains);
    assert_true(st.samples > 0);
    /* every sample counted by the separate per-CPU total was handed out or reported dropped */
    assert_int_equal(st.samples, st.drained + st.map_full);
}

/* ---- tests shared by both engines ---- */

/* front_slots (BPF): 0 = the default front tables; 1 sends every key but one per CPU through
 * the count map, so both paths must add up to the same shares. */
static void user_stacks_and_shares(enum gp_sampler_kind kind, uint32_t front_slots)
{
    struct burn b = {0};
    burn_start(&b, "user", 1, "10");
    int stats_fd = kind == GP_SAMPLER_BPF ? gp_sampler_enable_bpf_stats() : -1;
    int pids[] = {b.pid};
    struct gp_sampler_opts o = {
            .kind = kind, .freq_hz = 997, .pids = pids, .npids = 1, .front_slots = front_slots};
    struct gp_sampler *s = open_or_fail(&o);
    struct collect c = {.b = &b, .want = (uint32_t)b.pid};
    static struct evlog l;
    l.n = 0;
    run_for(s, 2500, 400, &c, &l);
    finish(s, &c, &l);
    burn_stop(&b);

    print_message("%s user: %llu samples of burn, hot_a %llu, hot_b %llu (hot_a share %.1f%%)\n",
                  gp_sampler_kind_name(kind), (unsigned long long)c.mine,
                  (unsigned long long)c.in_a, (unsigned long long)c.in_b,
                  c.in_a + c.in_b ? 100.0 * c.in_a / (c.in_a + c.in_b) : 0.0);
    if (stats_fd >= 0) {
        uint64_t ns = 0, cnt = 0;
        if (gp_sampler_bpf_runtime(s, &ns, &cnt) == 0 && cnt)
            print_message("bpf: program run time %.0f ns per sample (%llu runs)\n",
                          (double)ns / cnt, (unsigned long long)cnt);
        close(stats_fd);
    }
    check_accounting(s, gp_sampler_kind_name(kind));
    assert_true(c.mine >= 100);
    assert_int_equal(c.foreign, 0); /* pid filter */
    assert_true(c.user_stacks * 10 >= c.mine * 9);
    assert_true((c.in_a + c.in_b) * 10 >= c.mine * 9);
    /* 70/30 by construction; wide bounds, this is not a timing test */
    assert_true(c.in_a * 100 >= (c.in_a + c.in_b) * 55);
    assert_true(c.in_a * 100 <= (c.in_a + c.in_b) * 85);
    assert_true(has_event(&l, GP_PROC_SEEN, c.want));
    gp_sampler_close(s);
}

static void kernel_stacks(enum gp_sampler_kind kind)
{
    struct burn b = {0};
    burn_start(&b, "kernel", 1, "10");
    int pids[] = {b.pid};
    struct gp_sampler_opts o = {.kind = kind, .freq_hz = 997, .pids = pids, .npids = 1};
    struct gp_sampler *s = open_or_fail(&o);
    struct collect c = {.b = &b, .want = (uint32_t)b.pid};
    static struct evlog l;
    l.n = 0;
    run_for(s, 1500, 500, &c, &l);
    finish(s, &c, &l);
    burn_stop(&b);
    print_message(
            "%s kernel: %llu samples, %llu with kernel stacks, %llu kernel+user via hot_a/b\n",
            gp_sampler_kind_name(kind), (unsigned long long)c.mine,
            (unsigned long long)c.kernel_stacks, (unsigned long long)c.both);
    check_accounting(s, gp_sampler_kind_name(kind));
    assert_true(c.mine >= 50);
    assert_true(c.kernel_stacks * 4 >= c.mine); /* syscall-heavy: many samples in the kernel */
    assert_int_equal(c.kernel_bad, 0);          /* kernel frames are kernel addresses */
    assert_true(c.both > 0);                    /* and they carry the user stack below them */
    gp_sampler_close(s);
}

static void pid_filter_runtime(enum gp_sampler_kind kind)
{
    struct burn a = {0}, b = {0};
    burn_start(&a, "user", 1, "10");
    burn_start(&b, "user", 1, "10");
    int pids[] = {a.pid};
    struct gp_sampler_opts o = {.kind = kind, .freq_hz = 499, .pids = pids, .npids = 1};
    struct gp_sampler *s = open_or_fail(&o);
    struct gp_err err = {0};
    static struct evlog l;
    l.n = 0;

    struct collect c1 = {.want = (uint32_t)a.pid, .other = (uint32_t)b.pid};
    run_for(s, 700, 300, &c1, &l);
    assert_true(gp_sampler_drain(s, on_sample, &c1, &err) >= 0);
    assert_true(c1.mine > 0);
    assert_int_equal(c1.other_seen, 0); /* b filtered out */
    assert_int_equal(c1.foreign, 0);

    /* add b while running */
    if (gp_sampler_add_pid(s, b.pid, &err))
        fail_msg("add_pid: %s", err.msg);
    struct collect c2 = {.want = (uint32_t)b.pid, .other = (uint32_t)a.pid};
    run_for(s, 700, 300, &c2, &l);
    assert_true(gp_sampler_drain(s, on_sample, &c2, &err) >= 0);
    assert_true(c2.mine > 0);       /* b now sampled */
    assert_true(c2.other_seen > 0); /* a still sampled */

    /* remove a: after one drain (which may still hold a's earlier samples), a is gone */
    assert_int_equal(gp_sampler_remove_pid(s, a.pid), 0);
    assert_true(gp_sampler_drain(s, NULL, NULL, &err) >= 0);
    struct collect c3 = {.want = (uint32_t)b.pid, .other = (uint32_t)a.pid};
    run_for(s, 700, 300, &c3, &l);
    finish(s, &c3, &l);
    assert_true(c3.mine > 0);
    assert_int_equal(c3.other_seen, 0);
    assert_int_equal(c3.foreign, 0);

    struct gp_sampler_stats st;
    gp_sampler_stats(s, &st);
    assert_true(st.filtered > 0);
    assert_int_equal(gp_sampler_add_pid(s, 0x3fffffff, &err), -ESRCH);
    assert_non_null(strstr(err.msg, "no such process"));
    burn_stop(&a);
    burn_stop(&b);
    gp_sampler_close(s);
}

/* exec and exit of a filtered process are reported */
static void proc_events(enum gp_sampler_kind kind)
{
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char x;
        close(go[1]);
        if (read(go[0], &x, 1) != 1)
            _exit(1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execl(burn_path(), "burn", "-d", "0.6", (char *)NULL);
        _exit(127);
    }
    close(go[0]);
    int pids[] = {pid};
    struct gp_sampler_opts o = {.kind = kind, .freq_hz = 997, .pids = pids, .npids = 1};
    struct gp_sampler *s = open_or_fail(&o);
    static struct evlog l;
    l.n = 0;
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    struct collect c = {.want = (uint32_t)pid};
    for (int t = 0; t < 100 && !has_event(&l, GP_PROC_EXIT, (uint32_t)pid); t++)
        gp_sampler_poll_events(s, 100, on_event, &l);
    waitpid(pid, NULL, 0);
    finish(s, &c, &l);
    int exec = has_event(&l, GP_PROC_EXEC, (uint32_t)pid);
    int seen = has_event(&l, GP_PROC_SEEN, (uint32_t)pid);
    int exit_ = has_event(&l, GP_PROC_EXIT, (uint32_t)pid);
    print_message("%s events: exec #%d seen #%d exit #%d of %d\n", gp_sampler_kind_name(kind), exec,
                  seen, exit_, l.n);
    assert_true(exec);
    assert_true(seen);
    assert_true(exit_);
    assert_string_equal(l.ev[exec - 1].comm, "burn");
    assert_true(exit_ > seen);
    assert_true(c.mine > 0); /* its samples survive its exit */
    check_accounting(s, "events");
    gp_sampler_close(s);
}

/* The main thread exits first; the process lives on in its worker: EXIT comes when the process
 * really ends, so after it the process runs no user code any more (its last thread may still be
 * sampled finishing its exit in the kernel, without a user stack: its mm is gone). */
static void exit_when_last_thread_ends(enum gp_sampler_kind kind)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(burn_path(), "burn", "-p", "-L", "-t", "1", "-d", "1.5", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char line[64];
    assert_true(read(fds[0], line, sizeof(line)) > 0); /* started */
    close(fds[0]);
    int pids[] = {pid};
    struct gp_sampler_opts o = {.kind = kind, .freq_hz = 997, .pids = pids, .npids = 1};
    struct gp_sampler *s = open_or_fail(&o);
    static struct evlog l;
    l.n = 0;
    struct collect before = {.want = (uint32_t)pid}, after = {.want = (uint32_t)pid};
    struct gp_err err = {0};
    /* burn -d counts wall time, but under load its start can lag: wait up to 20 s */
    for (int t = 0; t < 400 && !has_event(&l, GP_PROC_EXIT, (uint32_t)pid); t++) {
        gp_sampler_poll_events(s, 50, on_event, &l);
        assert_true(gp_sampler_drain(s, on_sample, &before, &err) >= 0);
    }
    assert_true(has_event(&l, GP_PROC_EXIT, (uint32_t)pid));
    assert_true(gp_sampler_drain(s, on_sample, &before, &err) >= 0); /* may hold its last ones */
    sleep_ms(300);
    finish(s, &after, &l);
    waitpid(pid, NULL, 0);
    print_message("%s: %llu samples before the exit event, %llu after (%llu with user stacks)\n",
                  gp_sampler_kind_name(kind), (unsigned long long)before.mine,
                  (unsigned long long)after.mine, (unsigned long long)after.user_stacks);
    assert_true(before.mine > 0);
    assert_int_equal(after.user_stacks, 0);
    gp_sampler_close(s);
}

/* ---- BPF ---- */

static void test_bpf_exit_when_last_thread_ends(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    exit_when_last_thread_ends(GP_SAMPLER_BPF);
}

static void test_bpf_user_stacks_and_shares(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    user_stacks_and_shares(GP_SAMPLER_BPF, 0);
}

static void test_bpf_shares_through_count_map(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    user_stacks_and_shares(GP_SAMPLER_BPF, 1);
}

static void test_bpf_kernel_stacks(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    kernel_stacks(GP_SAMPLER_BPF);
}

static void test_bpf_pid_filter_runtime(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    pid_filter_runtime(GP_SAMPLER_BPF);
}

static void test_bpf_proc_events(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    proc_events(GP_SAMPLER_BPF);
}

/* Whole host at a high rate with a drain every ~10 ms: buffers flip while every CPU samples,
 * and still every sample is accounted for. */
static void test_bpf_no_loss_across_drains(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct burn b = {0};
    burn_start(&b, "user", 2, "10");
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF, .freq_hz = 2000};
    struct gp_sampler *s = open_or_fail(&o);
    struct collect c = {.b = &b, .want = (uint32_t)b.pid};
    struct gp_err err = {0};
    for (int i = 0; i < 150; i++) {
        sleep_ms(10);
        if (gp_sampler_drain(s, on_sample, &c, &err) < 0)
            fail_msg("drain: %s", err.msg);
    }
    static struct evlog l;
    l.n = 0;
    finish(s, &c, &l);
    burn_stop(&b);
    check_accounting(s, "bpf whole host");
    struct gp_sampler_stats st;
    gp_sampler_stats(s, &st);
    assert_true(st.drains >= 150);
    assert_true(c.mine > 0);
    assert_true(c.foreign > 0 || c.total == c.mine);
    gp_sampler_close(s);
}

/* Two instances in one process at different frequencies, side by side. */
static void test_bpf_two_instances(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct burn b = {0};
    burn_start(&b, "user", 1, "10");
    int pids[] = {b.pid};
    struct gp_sampler_opts o1 = {.kind = GP_SAMPLER_BPF, .freq_hz = 99, .pids = pids, .npids = 1};
    struct gp_sampler_opts o2 = {.kind = GP_SAMPLER_BPF, .freq_hz = 999};
    struct gp_sampler *s1 = open_or_fail(&o1), *s2 = open_or_fail(&o2);
    struct collect c1 = {.want = (uint32_t)b.pid}, c2 = {.want = (uint32_t)b.pid};
    struct gp_err err = {0};
    for (int i = 0; i < 4; i++) {
        sleep_ms(300);
        assert_true(gp_sampler_drain(s1, on_sample, &c1, &err) >= 0);
        assert_true(gp_sampler_drain(s2, on_sample, &c2, &err) >= 0);
    }
    static struct evlog l;
    finish(s1, &c1, &l);
    finish(s2, &c2, &l);
    burn_stop(&b);
    print_message("two instances: 99 Hz filtered %llu samples, 999 Hz host-wide %llu of burn\n",
                  (unsigned long long)c1.mine, (unsigned long long)c2.mine);
    assert_true(c1.mine > 0);
    assert_int_equal(c1.foreign, 0);
    assert_true(c2.mine > c1.mine); /* ten times the rate, same process */
    check_accounting(s1, "instance 1");
    check_accounting(s2, "instance 2");
    gp_sampler_close(s1);
    gp_sampler_close(s2);
}

struct errcount {
    uint64_t user_err, total;
};

static void on_sample_err(const struct gp_raw_sample *s, void *ctx)
{
    struct errcount *e = ctx;
    e->total += s->count;
    if (s->user_err == -ENOSPC && s->nuser == 0)
        e->user_err += s->count;
}

/* Samples burn for half a second with the given map sizes (and one front slot per CPU, so
 * keys reach the count map); returns the drained error counts. */
static struct gp_sampler *sample_tiny(pid_t pid, uint32_t counts, uint32_t stacks,
                                      struct errcount *e, const char *label)
{
    int pids[] = {pid}; /* only burn: other processes must not take the few entries first */
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF,
                                .freq_hz = 2000,
                                .pids = pids,
                                .npids = 1,
                                .count_entries = counts,
                                .stack_entries = stacks,
                                .front_slots = 1};
    struct gp_sampler *s = open_or_fail(&o);
    struct gp_err err = {0};
    for (int i = 0; i < 5; i++) {
        sleep_ms(100);
        assert_true(gp_sampler_drain(s, on_sample_err, e, &err) >= 0);
    }
    gp_sampler_stop(s);
    assert_true(gp_sampler_drain(s, on_sample_err, e, &err) >= 0);
    check_accounting(s, label);
    return s;
}

/* Tiny maps: drops happen, are counted, and the accounting still balances. A full count map
 * drops the sample (counted); a full stack map keeps the sample without its stack, marked
 * -ENOSPC. Each is provoked on its own: with both maps tiny, the stack-less samples would find
 * the count map full as well. */
static void test_bpf_drops_reported(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct burn b = {0};
    burn_start(&b, "user", 2, "10");
    struct gp_sampler_stats st;
    struct errcount e = {0};
    struct gp_sampler *s = sample_tiny(b.pid, 1, 4096, &e, "bpf tiny count map");
    gp_sampler_stats(s, &st);
    assert_true(st.map_full > 0); /* count map full: dropped, counted */
    assert_int_equal(e.total, st.drained);
    gp_sampler_close(s);

    e = (struct errcount){0};
    s = sample_tiny(b.pid, 4096, 2, &e, "bpf tiny stack map");
    gp_sampler_stats(s, &st);
    burn_stop(&b);
    assert_true(st.user_stack_errors > 0); /* stack map full: counted... */
    assert_true(e.user_err > 0);           /* ...and the sample kept, marked -ENOSPC */
    assert_int_equal(e.total, st.drained);
    gp_sampler_close(s);
}

/* The instructions the verifier checked for the newest loaded program called name (0: none). */
static uint32_t verified_insns(const char *name)
{
    uint32_t id = 0, newest = 0, verified = 0;
    while (bpf_prog_get_next_id(id, &id) == 0) {
        int fd = bpf_prog_get_fd_by_id(id);
        if (fd < 0)
            continue;
        struct bpf_prog_info info;
        memset(&info, 0, sizeof(info));
        uint32_t len = sizeof(info);
        if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && !strcmp(info.name, name) &&
            id > newest) {
            newest = id;
            verified = info.verified_insns;
        }
        close(fd);
    }
    return verified;
}

/* The verifier's work is most of what loading costs (every `gprofctl record` pays it): a branch
 * on the walk's depth after the loop once made it check 262,000 instructions (100 ms of CPU),
 * and a key on the BPF stack 20,000, where 7,700 do. The newest gp_sample loaded is this
 * instance's. With unwind tables, gp_sample gains the tail call into gp_unwind, whose searches
 * launder their indexes through memory so their steps are not checked per combination. */
static void test_bpf_verifier_budget(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    if (gp_sampler_open(&o, &s, &err))
        fail_msg("open: %s", err.msg);
    uint32_t verified = verified_insns("gp_sample");
    gp_sampler_close(s);
    print_message("gp_sample: the verifier checked %u instructions\n", verified);
    assert_true(verified > 0);
    assert_true(verified <= 15000);

    struct gp_uw_registry *reg = NULL;
    assert_int_equal(gp_uw_registry_new(NULL, &reg, &err), 0);
    o.unwind = reg;
    /* Where the kernel has bpf_loop the walk runs in gp_unwind_loop; the tail-call walker (what
     * 5.15 and 5.16 load) is checked on every kernel. */
    int loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL) == 1;
    if (gp_sampler_open(&o, &s, &err))
        fail_msg("open with unwind tables: %s", err.msg);
    verified = verified_insns("gp_sample");
    uint32_t unwind = verified_insns(loop ? "gp_unwind_loop" : "gp_unwind");
    gp_sampler_close(s);
    print_message("with tables: gp_sample %u, %s %u instructions\n", verified,
                  loop ? "gp_unwind_loop" : "gp_unwind", unwind);
    assert_true(verified > 0 && verified <= 16000);
    assert_true(unwind > 0 && unwind <= 100000);

    o.uw_no_loop = 1;
    if (gp_sampler_open(&o, &s, &err))
        fail_msg("open with unwind tables by tail calls: %s", err.msg);
    unwind = verified_insns("gp_unwind");
    gp_sampler_close(s);
    gp_uw_registry_free(reg);
    print_message("by tail calls: gp_unwind %u instructions\n", unwind);
    assert_true(unwind > 0 && unwind <= 100000);
}

static void test_bpf_front_slots_checked(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF, .front_slots = 3};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_sampler_open(&o, &s, &err), -EINVAL);
    assert_null(s);
    assert_non_null(strstr(err.msg, "power of two"));
}

/* ---- perf fallback ---- */

static void test_perf_exit_when_last_thread_ends(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    exit_when_last_thread_ends(GP_SAMPLER_PERF);
}

/* A one-page ring that nobody reads for a while overflows: the kernel's lost records are
 * counted, and what was read still balances. */
static void test_perf_lost_records_counted(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    struct burn b = {0};
    burn_start(&b, "user", 2, "10");
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_PERF, .freq_hz = 4000, .perf_ring_pages = 1};
    struct gp_sampler *s = open_or_fail(&o);
    struct gp_err err = {0};
    sleep_ms(400);
    assert_true(gp_sampler_drain(s, NULL, NULL, &err) >= 0);
    sleep_ms(100);
    gp_sampler_stop(s);
    assert_true(gp_sampler_drain(s, NULL, NULL, &err) >= 0);
    burn_stop(&b);
    check_accounting(s, "perf one-page ring");
    struct gp_sampler_stats st;
    gp_sampler_stats(s, &st);
    assert_true(st.lost > 0);
    gp_sampler_close(s);
}

static void test_perf_user_stacks_and_shares(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    user_stacks_and_shares(GP_SAMPLER_PERF, 0);
}

static void test_perf_kernel_stacks(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    kernel_stacks(GP_SAMPLER_PERF);
}

static void test_perf_pid_filter_runtime(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    pid_filter_runtime(GP_SAMPLER_PERF);
}

static void test_perf_proc_events(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    proc_events(GP_SAMPLER_PERF);
}

/* ---- perf: user stacks unwound in user space ---- */

static struct gp_uw_registry *new_registry(void)
{
    struct gp_uw_registry_opts ro = {0};
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    if (gp_uw_registry_new(&ro, &r, &err))
        fail_msg("registry: %s", err.msg);
    return r;
}

struct poller {
    struct gp_sampler *s;
    int stop;
    uint64_t cpu_ns; /* the thread's CPU time when it stopped: what reading the ring costs */
};

static void *poll_loop(void *arg)
{
    struct poller *pl = arg;
    while (!__atomic_load_n(&pl->stop, __ATOMIC_ACQUIRE))
        gp_sampler_poll_events(pl->s, 20, NULL, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    pl->cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    return NULL;
}

static uint64_t unwind_walks(const struct gp_sampler_stats *st)
{
    uint64_t n = 0;
    for (int i = 0; i < GP_UW_STOP_N; i++)
        n += st->unwind_stops[i];
    return n;
}

/* Two perf samplers at once on burn, 23 frames deep: one with the kernel's frame-pointer
 * callchain, one unwinding in user space with the registry r. Both must find the caller of the
 * hot functions in nearly every sample, as many frames, the same shares. */
static void unwind_as_kernel(struct gp_uw_registry *r, struct burn *b, struct gp_sampler_stats *st)
{
    int pids[] = {b->pid};
    struct gp_sampler_opts ok = {.kind = GP_SAMPLER_PERF, .freq_hz = 997, .pids = pids, .npids = 1};
    struct gp_sampler_opts ou = ok;
    ou.uw_lookup = gp_uw_registry_row;
    ou.uw_ctx = r;
    struct gp_sampler *sk = open_or_fail(&ok), *su = open_or_fail(&ou);
    struct collect ck = {.b = b, .want = (uint32_t)b->pid}, cu = ck;
    static struct evlog l;
    l.n = 0;
    /* the perf engine samples the whole host and filters in user space: each ring is read
     * continuously by a poller thread of its own, whose CPU time is what reading costs */
    struct poller pk = {.s = sk}, pu = {.s = su};
    pthread_t tk, tu;
    assert_int_equal(pthread_create(&tk, NULL, poll_loop, &pk), 0);
    assert_int_equal(pthread_create(&tu, NULL, poll_loop, &pu), 0);
    sleep_ms(2500);
    __atomic_store_n(&pk.stop, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&pu.stop, 1, __ATOMIC_RELEASE);
    pthread_join(tk, NULL);
    pthread_join(tu, NULL);
    finish(sk, &ck, &l);
    finish(su, &cu, &l);
    struct gp_sampler_stats stk;
    gp_sampler_stats(sk, &stk);
    gp_sampler_stats(su, st);
    /* a measurement, not asserted: both read the same host-wide stream of records */
    print_message("reading the ring: %.0f ns per record with the kernel's callchain, %.0f ns "
                  "with the user stack copied and walked (%llu / %llu records, %.1f frames per "
                  "walk): %.0f ns more per walked sample\n",
                  (double)pk.cpu_ns / (double)(stk.samples + stk.filtered),
                  (double)pu.cpu_ns / (double)(st->samples + st->filtered),
                  (unsigned long long)(stk.samples + stk.filtered),
                  (unsigned long long)(st->samples + st->filtered),
                  st->samples ? (double)st->unwind_frames / (double)st->samples : 0.0,
                  st->samples ? ((double)pu.cpu_ns - (double)pk.cpu_ns *
                                                             (double)(st->samples + st->filtered) /
                                                             (double)(stk.samples + stk.filtered)) /
                                        (double)st->samples
                              : 0.0);
    print_message("perf kernel callchain: %llu samples, %.1f user frames, %llu reach burn_loop\n"
                  "perf user-space walk:  %llu samples, %.1f user frames, %llu reach burn_loop; "
                  "stops: end %llu no_table %llu unknown %llu read_error %llu depth %llu\n",
                  (unsigned long long)ck.mine, ck.mine ? (double)ck.frames / ck.mine : 0.0,
                  (unsigned long long)ck.in_loop, (unsigned long long)cu.mine,
                  cu.mine ? (double)cu.frames / cu.mine : 0.0, (unsigned long long)cu.in_loop,
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_END],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_NO_TABLE],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_UNKNOWN],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_READ_ERROR],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_DEPTH]);
    check_accounting(su, "perf unwinding");
    assert_true(ck.mine >= 100 && cu.mine >= 100);
    assert_int_equal(st->malformed, 0);
    assert_int_equal(unwind_walks(st), st->samples); /* every sample walked once */
    assert_int_equal(st->unwind_frames, cu.frames);
    assert_true(ck.in_loop * 10 >= ck.mine * 9);
    assert_true(cu.in_loop * 10 >= cu.mine * 9);
    /* ~23 frames each way (the outermost frames may differ by one or two) */
    assert_true(cu.frames >= cu.mine * 20);
    assert_true(cu.frames * ck.mine * 10 >= ck.frames * cu.mine * 9);
    assert_true(cu.frames * ck.mine * 10 <= ck.frames * cu.mine * 11);
    assert_true(cu.in_a * 100 >= (cu.in_a + cu.in_b) * 55);
    assert_true(cu.in_a * 100 <= (cu.in_a + cu.in_b) * 85);
    gp_sampler_close(sk);
    gp_sampler_close(su);
}

/* burn, depth frames deep and noted in a registry, sampled by the BPF table walker (by tail calls
 * when no_loop): fills c and st. */
static void bpf_table_walk(int depth, int no_loop, struct collect *c, struct gp_sampler_stats *st)
{
    struct burn b = {0};
    burn_start_depth(&b, "user", 1, "10", depth);
    struct gp_uw_registry *r = new_registry();
    struct gp_err err = {0};
    if (gp_uw_registry_add_process(r, (uint32_t)b.pid, NULL, &err))
        fail_msg("registry: %s", err.msg);
    int pids[] = {b.pid};
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF,
                                .freq_hz = 997,
                                .pids = pids,
                                .npids = 1,
                                .unwind = r,
                                .uw_no_loop = no_loop};
    struct gp_sampler *s = open_or_fail(&o);
    *c = (struct collect){.b = &b, .want = (uint32_t)b.pid};
    static struct evlog l;
    l.n = 0;
    run_for(s, 1500, 500, c, &l);
    finish(s, c, &l);
    burn_stop(&b);
    gp_sampler_stats(s, st);
    print_message("bpf %s, depth %d: %llu samples, %.1f user frames, %llu reach burn_loop; "
                  "stops: end %llu no_table %llu unknown %llu read_error %llu depth %llu\n",
                  no_loop ? "tail calls" : "default walker", depth, (unsigned long long)c->mine,
                  c->mine ? (double)c->frames / (double)c->mine : 0.0,
                  (unsigned long long)c->in_loop,
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_END],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_NO_TABLE],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_UNKNOWN],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_READ_ERROR],
                  (unsigned long long)st->unwind_stops[GP_UW_STOP_DEPTH]);
    check_accounting(s, "bpf unwinding");
    gp_sampler_close(s);
    gp_uw_registry_free(r);
    assert_true(c->mine >= 100);
    assert_int_equal(unwind_walks(st), st->samples); /* every sample walked once */
    assert_int_equal(st->unwind_frames, c->frames);
}

/* Both BPF walkers (bpf_loop where the kernel has it, and the tail calls of 5.15) follow burn's
 * tables through ~23 frames to the end of the stack and find the same frames; 140 frames deep
 * both stop at GP_MAX_STACK_DEPTH frames and count the stop as depth_limit. */
static void test_bpf_unwind_walkers_agree(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct collect c[2];
    struct gp_sampler_stats st[2];
    for (int no_loop = 0; no_loop < 2; no_loop++) {
        bpf_table_walk(18, no_loop, &c[no_loop], &st[no_loop]);
        assert_true(st[no_loop].unwind_stops[GP_UW_STOP_END] * 10 >= st[no_loop].samples * 9);
        assert_true(c[no_loop].in_loop * 10 >= c[no_loop].mine * 9);
        assert_true(c[no_loop].frames >= c[no_loop].mine * 20);
    }
    assert_true(c[0].frames * c[1].mine * 100 >= c[1].frames * c[0].mine * 98);
    assert_true(c[0].frames * c[1].mine * 100 <= c[1].frames * c[0].mine * 102);
    for (int no_loop = 0; no_loop < 2; no_loop++) {
        bpf_table_walk(140, no_loop, &c[no_loop], &st[no_loop]);
        assert_true(st[no_loop].unwind_stops[GP_UW_STOP_DEPTH] * 10 >= st[no_loop].samples * 9);
        assert_true(c[no_loop].frames * 10 >= c[no_loop].mine * 127 * 9);
    }
}

/* Where no table covers an address the user-space walk takes frame-pointer steps: on the
 * frame-pointer workload it finds what the kernel's callchain finds. */
static void test_perf_unwind_fp_as_kernel(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    struct burn b = {0};
    burn_start_depth(&b, "user", 1, "10", 18);
    struct gp_uw_registry *r = new_registry(); /* burn not noted: no tables */
    struct gp_sampler_stats st;
    unwind_as_kernel(r, &b, &st);
    burn_stop(&b);
    /* FP steps up to libc's start_thread; a sample inside libc (built without frame pointers)
     * may find RBP holding data, and a step through it leaves the stack copy: read_error. */
    gp_uw_registry_free(r);
    assert_int_equal(st.unwind_stops[GP_UW_STOP_NO_TABLE] + st.unwind_stops[GP_UW_STOP_READ_ERROR],
                     st.samples);
    assert_true(st.unwind_stops[GP_UW_STOP_READ_ERROR] * 100 <= st.samples);
}

/* With burn's tables (.eh_frame of burn and libc) the walk follows the CFI to the end of the
 * stack (clone3's outermost frame) and finds the same frames. */
static void test_perf_unwind_tables_as_kernel(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    struct burn b = {0};
    burn_start_depth(&b, "user", 1, "10", 18);
    struct gp_uw_registry *r = new_registry();
    struct gp_err err = {0};
    if (gp_uw_registry_add_process(r, (uint32_t)b.pid, NULL, &err))
        fail_msg("registry: %s", err.msg);
    struct gp_uw_registry_stats rs;
    gp_uw_registry_stats(r, &rs);
    print_message("registry: %llu tables, %llu rows\n", (unsigned long long)rs.tables,
                  (unsigned long long)rs.rows);
    assert_true(rs.tables >= 2); /* burn and libc */
    struct gp_sampler_stats st;
    unwind_as_kernel(r, &b, &st);
    burn_stop(&b);
    assert_true(st.unwind_stops[GP_UW_STOP_END] * 10 >= st.samples * 9);
    gp_uw_registry_free(r);
}

/* Kernel-mode samples keep the kernel's stack, and the user stack is still walked. */
static void test_perf_unwind_kernel_mode(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    struct burn b = {0};
    burn_start(&b, "kernel", 1, "10");
    struct gp_uw_registry *r = new_registry();
    struct gp_err err = {0};
    if (gp_uw_registry_add_process(r, (uint32_t)b.pid, NULL, &err))
        fail_msg("registry: %s", err.msg);
    int pids[] = {b.pid};
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_PERF,
                                .freq_hz = 997,
                                .pids = pids,
                                .npids = 1,
                                .uw_lookup = gp_uw_registry_row,
                                .uw_ctx = r,
                                .perf_stack_bytes = 4096};
    struct gp_sampler *s = open_or_fail(&o);
    struct collect c = {.b = &b, .want = (uint32_t)b.pid};
    static struct evlog l;
    l.n = 0;
    run_for(s, 1500, 500, &c, &l);
    finish(s, &c, &l);
    burn_stop(&b);
    print_message("perf unwinding, kernel mode: %llu samples, %llu with kernel stacks, %llu "
                  "kernel+user via hot_a/b, %llu reach burn_loop\n",
                  (unsigned long long)c.mine, (unsigned long long)c.kernel_stacks,
                  (unsigned long long)c.both, (unsigned long long)c.in_loop);
    check_accounting(s, "perf unwinding");
    assert_true(c.mine >= 50);
    assert_true(c.kernel_stacks * 4 >= c.mine);
    assert_int_equal(c.kernel_bad, 0);
    assert_true(c.both > 0);
    assert_true(c.in_loop * 10 >= c.mine * 9);
    gp_sampler_close(s);
    gp_uw_registry_free(r);
}

/* A stack size the kernel would refuse, or a ring too small for one sample: a clear error. */
static void test_perf_unwind_bad_sizes(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    struct gp_uw_registry *r = new_registry();
    struct gp_sampler_opts o = {
            .kind = GP_SAMPLER_PERF, .uw_lookup = gp_uw_registry_row, .uw_ctx = r};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    const uint32_t bad[] = {12, 70000};
    for (int i = 0; i < 2; i++) {
        o.perf_stack_bytes = bad[i];
        assert_int_equal(gp_sampler_open(&o, &s, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "stack size"));
    }
    o.perf_stack_bytes = 0;
    o.perf_ring_pages = 2;
    assert_int_equal(gp_sampler_open(&o, &s, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "too small"));
    gp_uw_registry_free(r);
}

/* ---- errors and the automatic choice ---- */

static void test_cycles_clear_error(void **state)
{
    REQUIRE(GP_SAMPLER_PERF);
    for (int k = 0; k < 2; k++) {
        struct gp_sampler_opts o = {.kind = k ? GP_SAMPLER_PERF : GP_SAMPLER_BPF,
                                    .event = GP_EVENT_CYCLES};
        struct gp_sampler *s = NULL;
        struct gp_err err = {0};
        int rc = gp_sampler_open(&o, &s, &err);
        if (rc == 0) { /* a host with a hardware PMU */
            print_message("cycles is supported here\n");
            gp_sampler_close(s);
            continue;
        }
        print_message("cycles: %s\n", err.msg);
        assert_int_equal(rc, -EOPNOTSUPP);
        assert_non_null(strstr(err.msg, "use --event cpu-clock"));
    }
}

static void test_open_auto_prefers_bpf(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    char notice[512];
    assert_int_equal(gp_sampler_open_auto(&o, &s, notice, sizeof(notice), &err), 0);
    assert_int_equal(gp_sampler_kind(s), GP_SAMPLER_BPF);
    assert_string_equal(notice, "");
    gp_sampler_close(s);
    o.kind = GP_SAMPLER_PERF; /* an explicit choice is honoured */
    assert_int_equal(gp_sampler_open_auto(&o, &s, notice, sizeof(notice), &err), 0);
    assert_int_equal(gp_sampler_kind(s), GP_SAMPLER_PERF);
    gp_sampler_close(s);
}

/* Removes capabilities from this (child) process: bits in the 64-bit capability set. */
static int drop_caps(uint64_t mask)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &hdr, data))
        return -1;
    for (int i = 0; i < 2; i++) {
        uint32_t m = (uint32_t)(mask >> (32 * i));
        data[i].effective &= ~m;
        data[i].permitted &= ~m;
        data[i].inheritable &= ~m;
    }
    return (int)syscall(SYS_capset, &hdr, data);
}

#define CAPBIT(c) (1ULL << (c))
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

/* Runs fn in a child without the given capabilities; returns its exit status. */
static int in_child_without(uint64_t caps, int (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (drop_caps(caps))
            _exit(100);
        int rc = fn();
        fflush(NULL);
        _exit(rc);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200;
}

static int child_auto_falls_back(void)
{
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF, .freq_hz = 99};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    char notice[1024];
    if (gp_sampler_open(&o, &s, &err) == 0)
        return 10; /* BPF must not load without CAP_BPF */
    printf("  without CAP_BPF, bpf: %s\n", err.msg);
    if (!strstr(err.msg, "CAP_BPF"))
        return 11;
    if (gp_sampler_open_auto(&o, &s, notice, sizeof(notice), &err)) {
        printf("  auto failed: %s\n", err.msg);
        return 12;
    }
    printf("  notice: %s\n", notice);
    if (gp_sampler_kind(s) != GP_SAMPLER_PERF || !strstr(notice, "using the perf_event sampler") ||
        strchr(notice, '\n'))
        return 13;
    if (gp_sampler_start(s, &err))
        return 14;
    sleep_ms(200);
    gp_sampler_stop(s);
    gp_sampler_drain(s, NULL, NULL, &err);
    struct gp_sampler_stats st;
    gp_sampler_stats(s, &st);
    gp_sampler_close(s);
    return 0;
}

static int child_no_caps_errors(void)
{
    struct gp_sampler_opts o = {.kind = GP_SAMPLER_BPF, .freq_hz = 99};
    struct gp_sampler *s = NULL;
    struct gp_err err = {0};
    char notice[1024];
    if (gp_sampler_open_auto(&o, &s, notice, sizeof(notice), &err) == 0)
        return 20;
    printf("  without CAP_PERFMON/CAP_BPF: %s\n", err.msg);
    if (!strstr(err.msg, "CAP_PERFMON") || !strstr(err.msg, "perf_event_paranoid"))
        return 21;
    o.kind = GP_SAMPLER_PERF;
    if (gp_sampler_open(&o, &s, &err) == 0)
        return 22;
    if (!strstr(err.msg, "run as root"))
        return 23;
    return 0;
}

static void test_auto_fallback_without_cap_bpf(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    int rc = in_child_without(CAPBIT(CAP_BPF) | CAPBIT(CAP_SYS_ADMIN), child_auto_falls_back);
    assert_int_equal(rc, 0);
}

static int read_paranoid(void)
{
    FILE *f = fopen("/proc/sys/kernel/perf_event_paranoid", "r");
    int v = 2;
    if (f) {
        if (fscanf(f, "%d", &v) != 1)
            v = 2;
        fclose(f);
    }
    return v;
}

static void test_errors_without_capabilities(void **state)
{
    REQUIRE(GP_SAMPLER_BPF);
    if (read_paranoid() < 1) {
        print_message("skipping: kernel.perf_event_paranoid < 1 allows unprivileged sampling\n");
        skip();
        return;
    }
    int rc = in_child_without(CAPBIT(CAP_BPF) | CAPBIT(CAP_SYS_ADMIN) | CAPBIT(CAP_PERFMON),
                              child_no_caps_errors);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_bpf_user_stacks_and_shares),
            cmocka_unit_test(test_bpf_shares_through_count_map),
            cmocka_unit_test(test_bpf_kernel_stacks),
            cmocka_unit_test(test_bpf_pid_filter_runtime),
            cmocka_unit_test(test_bpf_proc_events),
            cmocka_unit_test(test_bpf_exit_when_last_thread_ends),
            cmocka_unit_test(test_bpf_no_loss_across_drains),
            cmocka_unit_test(test_bpf_two_instances),
            cmocka_unit_test(test_bpf_drops_reported),
            cmocka_unit_test(test_bpf_front_slots_checked),
            cmocka_unit_test(test_bpf_verifier_budget),
            cmocka_unit_test(test_perf_user_stacks_and_shares),
            cmocka_unit_test(test_perf_kernel_stacks),
            cmocka_unit_test(test_perf_pid_filter_runtime),
            cmocka_unit_test(test_perf_proc_events),
            cmocka_unit_test(test_perf_exit_when_last_thread_ends),
            cmocka_unit_test(test_perf_lost_records_counted),
            cmocka_unit_test(test_bpf_unwind_walkers_agree),
            cmocka_unit_test(test_perf_unwind_fp_as_kernel),
            cmocka_unit_test(test_perf_unwind_tables_as_kernel),
            cmocka_unit_test(test_perf_unwind_kernel_mode),
            cmocka_unit_test(test_perf_unwind_bad_sizes),
            cmocka_unit_test(test_cycles_clear_error),
            cmocka_unit_test(test_open_auto_prefers_bpf),
            cmocka_unit_test(test_auto_fallback_without_cap_bpf),
            cmocka_unit_test(test_errors_without_capabilities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
