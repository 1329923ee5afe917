/* Unit tests of the unwind registry (agent/unwind/registry.c) on real processes: this test and
 * a forked copy of it map the same binaries, so their tables are built once and shared; they
 * are dropped with the last process; a budget too small loads none and counts them; lazy, a
 * library's table waits for a miss in it. The sink records what a BPF sampler would be told. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/unwind/registry.h"

struct rec {
    int added, removed, procs_set, procs_removed;
    size_t last_n;
};

static int rec_table_add(void *ctx, uint32_t id, const struct gp_uw_table *t)
{
    struct rec *r = ctx;
    assert_true(id >= 1);
    assert_true(t->n > 0);
    r->added++;
    return 0;
}

static void rec_table_remove(void *ctx, uint32_t id)
{
    (void)id;
    ((struct rec *)ctx)->removed++;
}

static int rec_proc_set(void *ctx, uint32_t tgid, const struct gp_uw_mapping *m, size_t n)
{
    struct rec *r = ctx;
    (void)tgid;
    for (size_t i = 1; i < n; i++)
        assert_true(m[i - 1].start < m[i].start);
    r->procs_set++;
    r->last_n = n;
    return 0;
}

static void rec_proc_remove(void *ctx, uint32_t tgid)
{
    (void)tgid;
    ((struct rec *)ctx)->procs_removed++;
}

static struct gp_uw_sink rec_sink(struct rec *r)
{
    return (struct gp_uw_sink){.ctx = r,
                               .table_add = rec_table_add,
                               .table_remove = rec_table_remove,
                               .proc_set = rec_proc_set,
                               .proc_remove = rec_proc_remove};
}

static pid_t spawn_copy(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

__attribute__((noinline)) static int some_function(int x)
{
    return x * 3 + 1;
}

/* A table covers this test's own code, and the row of a function's address starts at or before
 * it (through the load bias). */
static void test_lookup_own_code(void **state)
{
    (void)state;
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_uw_registry_new(NULL, &r, &err), 0);
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(), NULL, &err), 0);
    uint64_t bias = 0, addr = (uint64_t)(uintptr_t)&some_function + 1;
    const struct gp_uw_table *t = gp_uw_registry_lookup(r, (uint32_t)getpid(), addr, &bias);
    assert_non_null(t);
    const struct gp_uw_entry *e = gp_uw_table_find(t, addr - bias);
    assert_non_null(e);
    assert_true(e->pc <= addr - bias);
    assert_ptr_equal(gp_uw_registry_row(r, (uint32_t)getpid(), addr), e);
    /* an address in no mapping: frame pointers */
    assert_null(gp_uw_registry_lookup(r, (uint32_t)getpid(), 16, &bias));
    assert_null(gp_uw_registry_lookup(r, 0x7fffffff, addr, &bias));
    assert_int_equal(some_function(1), 4);
    gp_uw_registry_free(r);
}

/* Two processes mapping the same binaries share one table each; the tables go with the last. */
static void test_shared_and_refcounted(void **state)
{
    (void)state;
    struct rec rc = {0};
    struct gp_uw_sink sink = rec_sink(&rc);
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    struct gp_uw_registry_opts o = {.idle_keep_s = -1}; /* dropped with the last process */
    assert_int_equal(gp_uw_registry_new(&o, &r, &err), 0);
    assert_int_equal(gp_uw_registry_set_sink(r, &sink), 0);
    pid_t child = spawn_copy();
    struct gp_uw_registry_stats st1, st2, st3, st4;
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(), NULL, &err), 0);
    gp_uw_registry_stats(r, &st1);
    assert_true(st1.tables >= 2); /* this test and libc at least */
    assert_int_equal(rc.added, (int)st1.tables);
    assert_true(rc.last_n >= 2);
    assert_true(st1.kernel_bytes > 0 && st1.rows > 0);

    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)child, NULL, &err), 0);
    gp_uw_registry_stats(r, &st2);
    assert_int_equal(st2.tables, st1.tables); /* shared: nothing new built */
    assert_int_equal(st2.tables_built, st1.tables_built);
    assert_int_equal(st2.processes, 2);
    assert_int_equal(rc.added, (int)st1.tables);

    /* noting a process again (exec, dlopen) keeps its tables */
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)child, NULL, &err), 0);
    gp_uw_registry_stats(r, &st3);
    assert_int_equal(st3.tables, st1.tables);
    assert_int_equal(rc.removed, 0);

    gp_uw_registry_remove_process(r, (uint32_t)getpid());
    gp_uw_registry_stats(r, &st3);
    assert_int_equal(st3.tables, st1.tables); /* the child still maps them */
    assert_int_equal(rc.removed, 0);
    gp_uw_registry_remove_process(r, (uint32_t)child);
    gp_uw_registry_stats(r, &st4);
    assert_int_equal(st4.tables, 0);
    assert_int_equal(st4.rows, 0);
    assert_int_equal(st4.kernel_bytes, 0);
    assert_int_equal(st4.processes, 0);
    assert_int_equal(rc.removed, rc.added);
    assert_int_equal(rc.procs_removed, 2);
    reap(child);
    /* a process already gone */
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)child, NULL, &err), -ESRCH);
    gp_uw_registry_free(r);
}

/* Tables over the budget are not loaded, counted, and their code walks by frame pointers. */
static void test_budget(void **state)
{
    (void)state;
    struct rec rc = {0};
    struct gp_uw_sink sink = rec_sink(&rc);
    struct gp_uw_registry_opts o = {.max_bytes = 64};
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_uw_registry_new(&o, &r, &err), 0);
    assert_int_equal(gp_uw_registry_set_sink(r, &sink), 0);
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(), NULL, &err), 0);
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats(r, &st);
    assert_int_equal(st.tables, 0);
    assert_true(st.tables_not_fit >= 2);
    assert_int_equal(st.kernel_bytes, 0);
    assert_int_equal(st.max_bytes, 64);
    assert_int_equal(rc.added, 0);
    assert_int_equal(rc.last_n, 0);
    uint64_t bias;
    assert_null(gp_uw_registry_lookup(r, (uint32_t)getpid(), (uint64_t)(uintptr_t)&some_function,
                                      &bias));
    gp_uw_registry_free(r);
}

/* A sink attached after tables were built (the sampler opens after the first scan) hears them
 * all; one whose maps are full turns them into "not fitting". */
static int full_table_add(void *ctx, uint32_t id, const struct gp_uw_table *t)
{
    (void)ctx;
    (void)id;
    (void)t;
    return -ENOSPC;
}

static void test_sink_replay_and_full(void **state)
{
    (void)state;
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_uw_registry_new(NULL, &r, &err), 0);
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(), NULL, &err), 0);
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats(r, &st);
    struct rec rc = {0};
    struct gp_uw_sink sink = rec_sink(&rc);
    assert_int_equal(gp_uw_registry_set_sink(r, &sink), 0);
    assert_int_equal(rc.added, (int)st.tables);
    assert_int_equal(rc.procs_set, 1);
    assert_int_equal(gp_uw_registry_set_sink(r, NULL), 0);

    sink.table_add = full_table_add;
    assert_int_equal(gp_uw_registry_set_sink(r, &sink), 0);
    struct gp_uw_registry_stats full;
    gp_uw_registry_stats(r, &full);
    assert_int_equal(full.tables, 0);
    assert_int_equal(full.tables_not_fit, st.tables);
    assert_int_equal(rc.last_n, 0); /* the process walks by frame pointers */
    gp_uw_registry_free(r);
}

/* A table whose last process went stays built and loaded (idle) and serves the next process
 * mapping the binary without a rebuild (a compiler run again, the next session); it goes once
 * idle longer than idle_keep_s. */
static void test_idle_tables_kept_and_reused(void **state)
{
    (void)state;
    struct rec rc = {0};
    struct gp_uw_sink sink = rec_sink(&rc);
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    struct gp_uw_registry_opts o = {.idle_keep_s = 1};
    assert_int_equal(gp_uw_registry_new(&o, &r, &err), 0);
    assert_int_equal(gp_uw_registry_set_sink(r, &sink), 0);
    pid_t child = spawn_copy();
    struct gp_uw_registry_stats st1, st2, st3, st4;
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)child, NULL, &err), 0);
    gp_uw_registry_stats(r, &st1);
    assert_true(st1.tables >= 2);
    gp_uw_registry_remove_process(r, (uint32_t)child);
    reap(child);
    gp_uw_registry_stats(r, &st2);
    assert_int_equal(st2.processes, 0);
    assert_int_equal(st2.tables, st1.tables);      /* still loaded, */
    assert_int_equal(st2.tables_idle, st1.tables); /* idle */
    assert_int_equal(st2.kernel_bytes, st1.kernel_bytes);
    assert_int_equal(rc.removed, 0);

    /* the same binaries again: nothing rebuilt, nothing reloaded */
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(), NULL, &err), 0);
    gp_uw_registry_stats(r, &st3);
    assert_int_equal(st3.tables_built, st1.tables_built);
    assert_int_equal(st3.tables_idle, 0);
    assert_int_equal(st3.tables_reused, st1.tables);
    assert_int_equal(rc.added, (int)st1.tables);
    uint64_t bias;
    assert_non_null(gp_uw_registry_lookup(r, (uint32_t)getpid(),
                                          (uint64_t)(uintptr_t)&some_function, &bias));

    /* idle past idle_keep_s: dropped when the registry next changes */
    gp_uw_registry_remove_process(r, (uint32_t)getpid());
    usleep(1100 * 1000);
    assert_int_equal(gp_uw_registry_add_process(r, 0x7ffffff0u, &(struct gp_maps){0}, &err), 0);
    gp_uw_registry_stats(r, &st4);
    assert_int_equal(st4.tables, 0);
    assert_int_equal(st4.tables_idle, 0);
    assert_int_equal(st4.kernel_bytes, 0);
    assert_int_equal(rc.removed, rc.added);
    gp_uw_registry_free(r);
}

/* The perf sampler's walk holds a process's tables once and looks rows up without a lock: the
 * same rows as gp_uw_registry_row; processes are found among many (sorted, not scanned). */
static void test_hold_matches_row(void **state)
{
    (void)state;
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_uw_registry_new(NULL, &r, &err), 0);
    for (uint32_t k = 0; k < 300; k++) /* processes without mappings around ours */
        assert_int_equal(gp_uw_registry_add_process(r, 0x40000000u + k * 7919u % 100000u,
                                                    &(struct gp_maps){0}, &err),
                         0);
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(), NULL, &err), 0);
    uint64_t addrs[] = {(uint64_t)(uintptr_t)&some_function, (uint64_t)(uintptr_t)&free,
                        (uint64_t)(uintptr_t)&test_hold_matches_row, 16};
    for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
        const struct gp_uw_entry *want = gp_uw_registry_row(r, (uint32_t)getpid(), addrs[i]);
        const void *h = gp_uw_registry_hold(r, (uint32_t)getpid());
        assert_non_null(h);
        assert_ptr_equal(gp_uw_registry_held_row(h, addrs[i]), want);
        gp_uw_registry_release(r);
        assert_true(i == 3 ? want == NULL : want != NULL);
    }
    assert_null(gp_uw_registry_hold(r, 0x7fffffff));
    gp_uw_registry_release(r);
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats(r, &st);
    assert_int_equal(st.processes, 301);
    for (uint32_t k = 0; k < 300; k++)
        gp_uw_registry_remove_process(r, 0x40000000u + k * 7919u % 100000u);
    gp_uw_registry_stats(r, &st);
    assert_int_equal(st.processes, 1);
    assert_non_null(gp_uw_registry_row(r, (uint32_t)getpid(), addrs[0]));
    gp_uw_registry_free(r);
}

/* More mappings with tables than the kernel's per-process array holds: the rest walk by frame
 * pointers and are counted (the header's gprof.unwind.mappings_over_limit). */
static void test_mappings_over_limit(void **state)
{
    (void)state;
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    struct gp_maps own = {0};
    assert_int_equal(gp_maps_read((uint32_t)getpid(), 1, &own, &err), 0);
    const struct gp_map *mine = NULL; /* this test's own text */
    for (size_t i = 0; i < own.n; i++)
        if ((uint64_t)(uintptr_t)&some_function >= own.v[i].start &&
            (uint64_t)(uintptr_t)&some_function < own.v[i].end)
            mine = &own.v[i];
    assert_non_null(mine);
    enum { N = 200 };
    struct gp_map *v = calloc(N, sizeof(*v));
    assert_non_null(v);
    for (size_t i = 0; i < N; i++) { /* the same file mapped N times */
        v[i] = *mine;
        v[i].start = 0x100000000ull + i * 0x100000ull;
        v[i].end = v[i].start + (mine->end - mine->start);
    }
    assert_int_equal(gp_uw_registry_new(NULL, &r, &err), 0);
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)getpid(),
                                                &(struct gp_maps){.v = v, .n = N}, &err),
                     0);
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats(r, &st);
    assert_int_equal(st.tables, 1);
    assert_int_equal(st.mappings_over_limit, N - 128);
    free(v);
    gp_maps_free(&own);
    gp_uw_registry_free(r);
}

/* The middle of this test's executable mapping of the library whose path holds name. */
static uint64_t addr_in(const char *name)
{
    struct gp_maps own = {0};
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read((uint32_t)getpid(), 1, &own, &err), 0);
    uint64_t a = 0;
    for (size_t i = 0; i < own.n && !a; i++)
        if (own.v[i].path && strstr(own.v[i].path, name))
            a = own.v[i].start + (own.v[i].end - own.v[i].start) / 2;
    gp_maps_free(&own);
    assert_true(a != 0);
    return a;
}

/* Lazy tables: a process noted gets the tables of its executable and libc at once, libcmocka's
 * when a miss is reported there; that table then serves every process mapping the library (one
 * noted before the miss, and one noted after it, without a second build). A miss where a table
 * is, or twice in the same place, builds nothing. */
static void test_lazy_tables(void **state)
{
    (void)state;
    struct rec rc = {0};
    struct gp_uw_sink sink = rec_sink(&rc);
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    struct gp_uw_registry_opts o = {.lazy = 1};
    assert_int_equal(gp_uw_registry_new(&o, &r, &err), 0);
    assert_int_equal(gp_uw_registry_set_sink(r, &sink), 0);
    uint32_t self = (uint32_t)getpid();
    pid_t before = spawn_copy();
    assert_int_equal(gp_uw_registry_add_process(r, self, NULL, &err), 0);
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)before, NULL, &err), 0);
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats(r, &st);
    assert_int_equal(st.tables_built_on_miss, 0);
    assert_int_equal(st.tables_built, st.tables_built_at_note);
    assert_true(st.tables_built >= 2);     /* the executable and libc */
    assert_true(st.mappings_pending >= 2); /* libcmocka (and more) of both processes */
    uint64_t bias, own = (uint64_t)(uintptr_t)&some_function, lib = addr_in("libcmocka");
    assert_non_null(gp_uw_registry_lookup(r, self, own, &bias));
    assert_non_null(gp_uw_registry_lookup(r, self, addr_in("/libc."), &bias));
    assert_null(gp_uw_registry_lookup(r, self, lib, &bias));
    assert_null(gp_uw_registry_lookup(r, (uint32_t)before, lib, &bias));

    int sets = rc.procs_set;
    assert_int_equal(gp_uw_registry_miss(r, self, lib), 1);
    assert_non_null(gp_uw_registry_lookup(r, self, lib, &bias));
    assert_non_null(gp_uw_registry_lookup(r, (uint32_t)before, lib, &bias));
    assert_int_equal(rc.procs_set, sets + 2); /* both republished */
    struct gp_uw_registry_stats st2;
    gp_uw_registry_stats(r, &st2);
    assert_int_equal(st2.tables_built_on_miss, 1);
    assert_int_equal(st2.tables_built, st.tables_built + 1);
    assert_int_equal(st2.mappings_pending, st.mappings_pending - 2);

    assert_int_equal(gp_uw_registry_miss(r, self, lib), 0);       /* has its table now */
    assert_int_equal(gp_uw_registry_miss(r, self, own), 0);       /* always had one */
    assert_int_equal(gp_uw_registry_miss(r, 0x7fffffff, lib), 0); /* no such process */
    gp_uw_registry_stats(r, &st2);
    assert_int_equal(st2.misses, 4);
    assert_int_equal(st2.misses_ignored, 3);

    pid_t after = spawn_copy();
    assert_int_equal(gp_uw_registry_add_process(r, (uint32_t)after, NULL, &err), 0);
    assert_non_null(gp_uw_registry_lookup(r, (uint32_t)after, lib, &bias));
    gp_uw_registry_stats(r, &st2);
    assert_int_equal(st2.tables_built, st.tables_built + 1); /* nothing built again */
    reap(before);
    reap(after);
    gp_uw_registry_free(r);
}

/* One registry shared by two sessions (the agent's continuous and ad hoc profiles, each a
 * client with its own sampler's sink): a process both note has its tables built once (the second
 * client's own build counter stays 0) and loaded into both sinks; a sink gets only what its own
 * client's processes map; a table one sink has no room for still serves the other; a client
 * going away keeps the processes the other still notes, and the registry lives until the last
 * reference. */
static void test_clients_share_tables(void **state)
{
    (void)state;
    struct gp_uw_registry *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_uw_registry_new(NULL, &r, &err), 0);
    int c1 = gp_uw_registry_ref(r), c2 = gp_uw_registry_ref(r);
    assert_true(c1 >= 1 && c2 >= 1 && c1 != c2);
    struct rec ra = {0}, rb = {0}, rfull = {0};
    struct gp_uw_sink sa = rec_sink(&ra), sb = rec_sink(&rb);
    assert_int_equal(gp_uw_registry_set_sink_c(r, c1, &sa), 0);
    assert_int_equal(gp_uw_registry_set_sink_c(r, c2, &sb), 0);
    uint32_t self = (uint32_t)getpid();
    pid_t other = spawn_copy();

    /* c1 notes this process: it builds the tables; only c1's sink hears of them */
    assert_int_equal(gp_uw_registry_add_process_c(r, c1, self, NULL, &err), 0);
    struct gp_uw_registry_stats s1, s2;
    gp_uw_registry_stats_c(r, c1, &s1);
    assert_true(s1.client_tables_built >= 2);
    assert_int_equal(s1.client_tables_built, s1.tables_built);
    assert_int_equal(s1.sessions, 3); /* the creator and both clients */
    assert_int_equal(s1.client_processes, 1);
    assert_int_equal(s1.client_kernel_bytes, s1.kernel_bytes);
    assert_int_equal(ra.added, (int)s1.tables);
    assert_int_equal(rb.added, 0);
    assert_int_equal(rb.procs_set, 0);

    /* c2 notes the same process and a copy of it: nothing is built for it, the tables are
     * loaded into its sink once each */
    assert_int_equal(gp_uw_registry_add_process_c(r, c2, self, NULL, &err), 0);
    assert_int_equal(gp_uw_registry_add_process_c(r, c2, (uint32_t)other, NULL, &err), 0);
    gp_uw_registry_stats_c(r, c2, &s2);
    assert_int_equal(s2.client_tables_built, 0);
    assert_int_equal(s2.client_build_ns, 0);
    assert_int_equal(s2.tables_built, s1.tables_built);
    assert_int_equal(s2.client_processes, 2);
    assert_int_equal(rb.added, (int)s1.tables);
    assert_int_equal(ra.added, (int)s1.tables);
    assert_true(rb.last_n >= 2);
    gp_uw_registry_stats_c(r, c1, &s1);
    assert_int_equal(s1.client_processes, 1); /* the copy is c2's only */

    /* c2 goes: the process c1 notes stays, the copy (c2's only) is forgotten */
    gp_uw_registry_unref(r, c2);
    gp_uw_registry_stats_c(r, c1, &s1);
    assert_int_equal(s1.processes, 1);
    assert_int_equal(s1.sessions, 2);
    assert_int_equal(ra.procs_removed, 0);
    uint64_t bias;
    assert_non_null(gp_uw_registry_lookup(r, self, (uint64_t)(uintptr_t)&some_function, &bias));

    /* a new client whose sink is full: the table stays for c1, the new sink's process walks by
     * frame pointers */
    int c3 = gp_uw_registry_ref(r);
    assert_true(c3 >= 1 && c3 != c1);
    struct gp_uw_sink sf = rec_sink(&rfull);
    sf.table_add = full_table_add;
    assert_int_equal(gp_uw_registry_set_sink_c(r, c3, &sf), 0);
    assert_int_equal(gp_uw_registry_add_process_c(r, c3, self, NULL, &err), 0);
    assert_int_equal(rfull.last_n, 0);
    struct gp_uw_registry_stats s3;
    gp_uw_registry_stats_c(r, c3, &s3);
    assert_int_equal(s3.tables, s1.tables);
    assert_true(s3.tables_not_fit >= 2);
    assert_non_null(gp_uw_registry_lookup(r, self, (uint64_t)(uintptr_t)&some_function, &bias));

    /* at most GP_UW_CLIENTS at once */
    assert_int_equal(gp_uw_registry_ref(r), GP_UW_CLIENTS - 1);
    assert_int_equal(gp_uw_registry_ref(r), -EBUSY);
    gp_uw_registry_unref(r, GP_UW_CLIENTS - 1);
    gp_uw_registry_unref(r, c3);
    gp_uw_registry_unref(r, c1);
    gp_uw_registry_stats(r, &s1);
    assert_int_equal(s1.processes, 0);           /* no client notes it now */
    assert_int_equal(s1.tables_idle, s1.tables); /* kept for the next session */
    /* the creator may go first: the registry lives until the last reference */
    int c4 = gp_uw_registry_ref(r);
    assert_true(c4 >= 1);
    gp_uw_registry_free(r);
    assert_int_equal(gp_uw_registry_add_process_c(r, c4, self, NULL, &err), 0);
    gp_uw_registry_stats_c(r, c4, &s1);
    assert_int_equal(s1.client_tables_built, 0); /* the idle tables served it */
    assert_int_equal(s1.sessions, 1);
    gp_uw_registry_unref(r, c4);
    reap(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lookup_own_code),
            cmocka_unit_test(test_shared_and_refcounted),
            cmocka_unit_test(test_budget),
            cmocka_unit_test(test_sink_replay_and_full),
            cmocka_unit_test(test_idle_tables_kept_and_reused),
            cmocka_unit_test(test_hold_matches_row),
            cmocka_unit_test(test_mappings_over_limit),
            cmocka_unit_test(test_lazy_tables),
            cmocka_unit_test(test_clients_share_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
