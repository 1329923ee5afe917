/* test_symbols_workloads.c — runs every workload of tests/workloads for real, takes the
 * addresses of its hot functions from the running process, and checks the symbolizer names them
 * (symtab, PIE, C++ demangling, shared library, .dynsym only, build-id and debuglink debug files,
 * MiniDebugInfo, another mount + pid namespace, JIT perf map, an exited process, kallsyms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/procs/maps.h"
#include "agent/procs/procinfo.h"
#include "agent/procs/proctable.h"
#include "agent/symbols/symbolizer.h"

#define MAXSYM 8

struct wl {
    pid_t child;   /* what we forked */
    uint32_t tgid; /* the workload's host pid */
    FILE *out;
    int in_fd;
    int nsyms;
    char name[MAXSYM][256];
    uint64_t addr[MAXSYM];
    uint64_t unnamed, unnamed_fn;
    uint32_t other; /* a child it reported */
};

static char wldir[4096];

static int setup(void **state)
{
    const char *b = getenv("GPROF_BUILD_DIR");
    if (!b) {
        fprintf(stderr, "GPROF_BUILD_DIR is not set (run through ctest)\n");
        return -1;
    }
    snprintf(wldir, sizeof(wldir), "%s/tests/workloads", b);
    return 0;
}

static uint32_t only_child(pid_t pid)
{
    char path[128];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    for (int i = 0; i < 500; i++) {
        FILE *f = fopen(path, "r");
        unsigned c = 0;
        if (f) {
            int n = fscanf(f, "%u", &c);
            fclose(f);
            if (n == 1)
                return c;
        }
        usleep(10000);
    }
    return 0;
}

/* Starts argv (relative names are taken from the workloads directory) and reads its report. */
static void wl_start(struct wl *w, int pidns, const char *const *argv)
{
    memset(w, 0, sizeof(*w));
    int out[2], in[2];
    assert_int_equal(pipe(out), 0);
    assert_int_equal(pipe(in), 0);
    char prog[4200];
    snprintf(prog, sizeof(prog), "%s/%s", argv[0][0] == '/' ? "" : wldir, argv[0]);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        dup2(in[0], 0);
        close(out[0]);
        close(in[1]);
        if (pidns)
            setenv("GPROF_WL_PIDNS", "1", 1);
        execv(prog, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    w->child = pid;
    w->in_fd = in[1];
    w->out = fdopen(out[0], "r");
    assert_non_null(w->out);
    char line[512];
    int ready = 0;
    while (fgets(line, sizeof(line), w->out)) {
        unsigned p;
        char *sp;
        if (sscanf(line, "pid %u", &p) == 1) {
            w->tgid = p;
        } else if (strncmp(line, "sym ", 4) == 0 && (sp = strrchr(line, ' ')) != NULL) {
            assert_true(w->nsyms < MAXSYM);
            snprintf(w->name[w->nsyms], sizeof(w->name[0]), "%.*s", (int)(sp - line - 4), line + 4);
            w->addr[w->nsyms++] = strtoull(sp + 1, NULL, 16);
        } else if (sscanf(line, "child %u", &p) == 1) {
            w->other = p;
        } else if (sscanf(line, "unnamed %" SCNx64, &w->unnamed) == 1) {
        } else if (sscanf(line, "unnamed_fn %" SCNx64, &w->unnamed_fn) == 1) {
        } else if (strncmp(line, "ready", 5) == 0) {
            ready = 1;
            break;
        }
    }
    assert_true(ready);
    assert_true(w->nsyms > 0);
    if (pidns)
        w->tgid = only_child(pid); /* the workload printed its namespace pid */
    else
        assert_int_equal(w->tgid, (uint32_t)pid); /* exec chain keeps the pid */
    assert_true(w->tgid > 0);
}

static void wl_stop(struct wl *w)
{
    kill(w->child, SIGKILL);
    if (w->tgid != (uint32_t)w->child)
        kill((pid_t)w->tgid, SIGKILL);
    int st;
    waitpid(w->child, &st, 0);
    char map[64]; /* a killed wl_jit leaves its perf map behind */
    snprintf(map, sizeof(map), "/tmp/perf-%u.map", w->tgid);
    unlink(map);
    fclose(w->out);
    close(w->in_fd);
}

static struct gp_symbolizer *new_sym_k(const char *debug_dir, size_t cache, int kernel)
{
    struct gp_symbolizer *s;
    struct gp_err err = {0};
    const char *dirs[] = {debug_dir};
    struct gp_symbolizer_opts o = {.debug_dirs = debug_dir ? dirs : NULL,
                                   .ndebug_dirs = debug_dir ? 1 : 0,
                                   .cache_bytes = cache,
                                   .no_kernel = !kernel};
    assert_int_equal(gp_symbolizer_new(&o, &s, &err), 0);
    return s;
}

/* User stacks only: no kallsyms read in the background. */
static struct gp_symbolizer *new_sym(const char *debug_dir, size_t cache)
{
    return new_sym_k(debug_dir, cache, 0);
}

/* Every reported address names its function, as a leaf and as a return address. */
static void assert_names(struct gp_symbolizer *s, const struct wl *w)
{
    for (int i = 0; i < w->nsyms; i++) {
        uint64_t ips[2] = {w->addr[i], w->addr[i]};
        const char *out[2] = {0};
        assert_int_equal(gp_symbolize_user(s, w->tgid, ips, 2, out), 0);
        if (strcmp(out[0], w->name[i]) != 0 || strcmp(out[1], w->name[i]) != 0)
            fail_msg("0x%" PRIx64 ": expected \"%s\", got \"%s\" / \"%s\"", w->addr[i], w->name[i],
                     out[0], out[1]);
    }
}

static void run_simple(const char *const *argv, const char *debug_dir, int pidns)
{
    struct wl w;
    wl_start(&w, pidns, argv);
    struct gp_symbolizer *s = new_sym(debug_dir, 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.tgid, 0), 0);
    assert_names(s, &w);
    struct gp_symbolizer_stats st;
    gp_symbolizer_stats(s, &st);
    assert_int_equal(st.unresolved, 0);
    assert_int_equal(st.resolved, st.frames);
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_c_symtab(void **state)
{
    const char *argv[] = {"wl_c", "60", NULL};
    run_simple(argv, NULL, 0);
}

static void test_pie(void **state)
{
    const char *argv[] = {"wl_pie", "60", NULL};
    run_simple(argv, NULL, 0);
}

static void test_cpp_demangled(void **state)
{
    const char *argv[] = {"wl_cpp", "60", NULL};
    run_simple(argv, NULL, 0);
}

static void test_shared_library(void **state)
{
    const char *argv[] = {"wl_shlib", "60", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    /* the address really is inside libwlhot.so */
    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read(w.tgid, 1, &m, &err), 0);
    const struct gp_map *g = gp_maps_find(&m, w.addr[0]);
    assert_non_null(g);
    assert_string_equal(gp_map_module_name(g), "libwlhot.so");
    gp_maps_free(&m);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_names(s, &w);
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_dynsym_only_and_unnamed(void **state)
{
    const char *argv[] = {"wl_dynsym", "60", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.tgid, 0), 0);
    assert_names(s, &w);
    /* a static function in a stripped binary: module + file offset of its start (its FDE's),
     * not dropped, and the same for every address in it */
    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read(w.tgid, 1, &m, &err), 0);
    const struct gp_map *g = gp_maps_find(&m, w.unnamed);
    assert_non_null(g);
    char want[128];
    snprintf(want, sizeof(want), "wl_dynsym+0x%" PRIx64, w.unnamed_fn - g->start + g->offset);
    gp_maps_free(&m);
    const char *out[2];
    uint64_t ips[2] = {w.unnamed, 0x10 /* outside every mapping */};
    assert_int_equal(gp_symbolize_user(s, w.tgid, ips, 1, out), 0);
    assert_string_equal(out[0], want);
    ips[0] = 0x10;
    assert_int_equal(gp_symbolize_user(s, w.tgid, ips, 1, out), 0);
    assert_string_equal(out[0], "[unknown]");
    struct gp_symbolizer_stats st;
    gp_symbolizer_stats(s, &st);
    assert_int_equal(st.unresolved, 2);
    assert_int_equal(st.resolved, 2);
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_build_id_debug_file(void **state)
{
    const char *argv[] = {"wl_debugid", "60", NULL};
    char dbg[4200];
    snprintf(dbg, sizeof(dbg), "%s/debug", wldir);
    run_simple(argv, dbg, 0);
    /* without the debug directory the static hot function has no name: the test can fail */
    struct wl w;
    wl_start(&w, 0, argv);
    struct gp_symbolizer *s = new_sym("/nonexistent-debug-dir", 0);
    const char *out[1];
    assert_int_equal(gp_symbolize_user(s, w.tgid, w.addr, 1, out), 0);
    assert_true(strncmp(out[0], "wl_debugid+0x", 13) == 0);
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_debuglink(void **state)
{
    const char *argv[] = {"wl_debuglink", "60", NULL};
    run_simple(argv, "/nonexistent-debug-dir", 0);
}

static void test_minidebuginfo(void **state)
{
    const char *argv[] = {"wl_minidebug", "60", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    struct gp_symbolizer *s = new_sym("/nonexistent-debug-dir", 0);
    assert_names(s, &w);
    const char *out[1];
    assert_int_equal(gp_symbolize_user(s, w.tgid, &w.unnamed, 1, out), 0);
    assert_string_equal(out[0], "variant_cold_helper");
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_other_mount_namespace(void **state)
{
    if (geteuid() != 0)
        skip(); /* unshare -m needs root; CI runs as root */
    char script[4200];
    snprintf(script, sizeof(script), "%s/tests/workloads/run-in-mntns.sh",
             getenv("GPROF_SOURCE_DIR") ? getenv("GPROF_SOURCE_DIR") : "..");
    char bin[4200];
    snprintf(bin, sizeof(bin), "%s/wl_mntns", wldir);
    const char *argv[] = {script, bin, "60", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    /* the binary's path exists only inside the namespace */
    char exe[4096];
    char link[64];
    snprintf(link, sizeof(link), "/proc/%u/exe", w.tgid);
    ssize_t n = readlink(link, exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    assert_string_equal(exe, "/tmp/gprof-nsonly/wl_mntns");
    assert_int_equal(access("/tmp/gprof-nsonly/wl_mntns", F_OK), -1);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.tgid, 0), 0);
    assert_names(s, &w);
    const char *out[1];
    assert_int_equal(gp_symbolize_user(s, w.tgid, &w.unnamed, 1, out), 0);
    assert_string_equal(out[0], "variant_cold_helper");
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_jit_perf_map(void **state)
{
    const char *argv[] = {"wl_jit", "60", NULL};
    run_simple(argv, NULL, 0);
}

static void test_jit_memfd(void **state)
{
    const char *argv[] = {"wl_jit", "60", "--memfd", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    struct gp_maps m;
    struct gp_err err = {0};
    assert_int_equal(gp_maps_read(w.tgid, 1, &m, &err), 0);
    const struct gp_map *g = gp_maps_find(&m, w.addr[0]);
    assert_non_null(g);
    assert_int_equal(g->kind, GP_MAP_FILE); /* "/memfd:gprof-jit (deleted)" */
    assert_non_null(strstr(g->path, "memfd:"));
    gp_maps_free(&m);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_names(s, &w);
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_jit_in_pid_and_mount_namespace(void **state)
{
    if (geteuid() != 0)
        skip();
    char script[4200], bin[4200];
    snprintf(script, sizeof(script), "%s/tests/workloads/run-in-mntns.sh",
             getenv("GPROF_SOURCE_DIR") ? getenv("GPROF_SOURCE_DIR") : "..");
    snprintf(bin, sizeof(bin), "%s/wl_jit", wldir);
    const char *argv[] = {script, bin, "60", NULL};
    struct wl w;
    wl_start(&w, 1, argv);
    /* its map is /tmp/perf-1.map inside its own /tmp: nothing on the host names it */
    char hostmap[64];
    snprintf(hostmap, sizeof(hostmap), "/tmp/perf-%u.map", w.tgid);
    assert_int_equal(access(hostmap, F_OK), -1);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_names(s, &w);
    const struct gp_proc *pf = gp_proctable_find(gp_symbolizer_procs(s), w.tgid);
    assert_non_null(pf);
    assert_int_equal(pf->nspid, 1); /* its map is named by the namespace pid */
    assert_string_equal(pf->comm, "wl_jit");
    gp_symbolizer_free(s);
    wl_stop(&w);
}

static void test_exited_short_process(void **state)
{
    const char *argv[] = {"wl_short", "200", "--wait", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    struct gp_symbolizer *s = new_sym(NULL, 1 /* tiny budget: the pin must hold */);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.tgid, 0), 0);
    assert_int_equal(write(w.in_fd, "g", 1), 1);
    int st;
    assert_int_equal(waitpid(w.child, &st, 0), w.child);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    /* gone: a late note cannot see it any more */
    struct gp_symbolizer *late = new_sym(NULL, 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(late), w.tgid, 0), -ESRCH);
    const char *out[2];
    assert_int_equal(gp_symbolize_user(late, w.tgid, w.addr, 1, out), 0);
    assert_string_equal(out[0], "[unknown]");
    gp_symbolizer_free(late);

    gp_proctable_exit(gp_symbolizer_procs(s), w.tgid);
    const struct gp_proc *pf = gp_proctable_find(gp_symbolizer_procs(s), w.tgid);
    assert_non_null(pf);
    assert_string_equal(pf->comm, "wl_short");
    assert_true(pf->exited);
    assert_int_equal(pf->nspid, w.tgid);
    uint64_t ips[2] = {w.addr[0], w.addr[0]};
    assert_int_equal(gp_symbolize_user(s, w.tgid, ips, 2, out), 0);
    assert_string_equal(out[0], "short_hot_loop");
    assert_string_equal(out[1], "short_hot_loop");
    struct gp_symbolizer_stats ss;
    gp_symbolizer_stats(s, &ss);
    assert_int_equal(ss.processes_exited, 1);
    assert_true(ss.cache_bytes > 1); /* pinned beyond the budget while needed */
    gp_proctable_gc(gp_symbolizer_procs(s));
    gp_symbolizer_gc(s);
    gp_symbolizer_stats(s, &ss);
    assert_int_equal(ss.processes, 0);
    assert_int_equal(ss.cache_bytes, 0); /* released and trimmed to the budget */
    gp_symbolizer_free(s);
    fclose(w.out);
    close(w.in_fd);
}

#define ID64 "4f3c2b1a0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a"

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    int ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A process moved into a cgroup named like docker's systemd scope is seen as that container. */
static void test_container_of_process(void **state)
{
    if (geteuid() != 0)
        skip();
    const char *bases[] = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup", "/sys/fs/cgroup/pids"};
    char parent[256] = "", dir[512] = "", procs[600];
    for (size_t i = 0; i < 3 && !dir[0]; i++) {
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", bases[i]);
        if (access(procs, W_OK) != 0)
            continue;
        snprintf(parent, sizeof(parent), "%s/gprof-test-%d", bases[i], (int)getpid());
        snprintf(dir, sizeof(dir), "%s/docker-" ID64 ".scope", parent);
        if (mkdir(parent, 0755) != 0 || mkdir(dir, 0755) != 0) {
            rmdir(parent);
            dir[0] = '\0';
        }
    }
    if (!dir[0])
        fail_msg("no writable cgroup hierarchy to place a test process in");
    const char *argv[] = {"wl_c", "60", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    char pid[32];
    snprintf(pid, sizeof(pid), "%u\n", w.tgid);
    snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
    assert_int_equal(write_text(procs, pid), 0);

    char root[] = "/tmp/gprof-cstate-XXXXXX", path[512], cmd[700];
    assert_non_null(mkdtemp(root));
    snprintf(path, sizeof(path), "%s/var/lib/docker/containers/" ID64, root);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    strcat(path, "/config.v2.json");
    assert_int_equal(write_text(path, "{\"Name\":\"/gprof-wl\"}"), 0);

    char id[80], name[80];
    assert_int_equal(gp_proc_container_at(w.tgid, root, id, sizeof(id), name, sizeof(name)), 0);
    assert_string_equal(id, ID64);
    assert_string_equal(name, "gprof-wl");
    assert_int_equal(gp_proc_container(w.tgid, id, sizeof(id), name, sizeof(name)), 0);
    assert_string_equal(id, ID64);
    assert_string_equal(name, "4f3c2b1a0d9e"); /* no docker state on this host: short id */
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.tgid, 0), 0);
    const struct gp_proc *pf = gp_proctable_find(gp_symbolizer_procs(s), w.tgid);
    assert_non_null(pf);
    assert_string_equal(pf->container_id, ID64);
    assert_string_equal(pf->container_name, "4f3c2b1a0d9e");
    gp_symbolizer_free(s);
    /* and this test process is not in that container */
    assert_int_equal(gp_proc_container((uint32_t)getpid(), id, sizeof(id), name, sizeof(name)), 0);
    assert_string_not_equal(id, ID64);

    wl_stop(&w);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
    for (int i = 0; i < 100 && rmdir(dir) != 0; i++)
        usleep(10000); /* the killed process leaves the cgroup asynchronously */
    assert_int_equal(rmdir(parent), 0);
}

/* Samples a child took between fork and exec point into the parent's image. */
static void test_fork_before_exec(void **state)
{
    const char *argv[] = {"wl_forkexec", "60", NULL};
    struct wl w;
    wl_start(&w, 0, argv);
    assert_true(w.other > 0);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.tgid, 0), 0); /* the parent */
    char link[64], exe[4096] = "";
    snprintf(link, sizeof(link), "/proc/%u/exe", w.other);
    for (int i = 0; i < 500 && !strstr(exe, "sleep"); i++) {
        ssize_t n = readlink(link, exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        usleep(10000);
    }
    assert_non_null(strstr(exe, "sleep")); /* the child has exec'd: noted only now */
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), w.other, 0), 0);
    uint64_t ips[2] = {w.addr[0], w.addr[0]};
    const char *out[2];
    assert_int_equal(gp_symbolize_user(s, w.other, ips, 2, out), 0);
    assert_string_equal(out[0], "fork_child_hot");
    assert_string_equal(out[1], "fork_child_hot");
    gp_symbolizer_free(s);
    kill((pid_t)w.other, SIGKILL);
    wl_stop(&w);
}

static void test_kallsyms(void **state)
{
    FILE *f = fopen("/proc/kallsyms", "r");
    assert_non_null(f);
    char line[512];
    uint64_t addr = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long a;
        char t, name[256];
        if (sscanf(line, "%llx %c %255s", &a, &t, name) == 3 && strcmp(name, "vfs_read") == 0 &&
            (t == 'T' || t == 't')) {
            addr = a;
            break;
        }
    }
    fclose(f);
    if (!addr)
        fail_msg("vfs_read not in /proc/kallsyms (or addresses hidden: run as root)");
    struct gp_symbolizer *s = new_sym_k(NULL, 0, 1);
    uint64_t ips[2] = {addr + 1, addr + 8};
    const char *out[2];
    assert_int_equal(gp_symbolize_kernel(s, ips, 2, out), 0);
    assert_string_equal(out[0], "vfs_read_[k]");
    assert_string_equal(out[1], "vfs_read_[k]");
    ips[0] = 0x1000; /* not kernel text */
    assert_int_equal(gp_symbolize_kernel(s, ips, 1, out), 0);
    assert_string_equal(out[0], "[unknown]_[k]");
    gp_symbolizer_free(s);
}

/* One ELF load per binary, not per process; the cache honours its budget after gc and
 * reloads on demand while processes live. */
static void test_cache_shared_and_bounded(void **state)
{
    const char *argv[] = {"wl_c", "60", NULL};
    struct wl a, b;
    wl_start(&a, 0, argv);
    wl_start(&b, 0, argv);
    struct gp_symbolizer *s = new_sym(NULL, 0);
    struct gp_symbolizer_stats st1, st2;
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), a.tgid, 0), 0);
    gp_symbolizer_stats(s, &st1);
    assert_int_equal(st1.elf_loaded, 0); /* noting only opens the files */
    assert_true(st1.elf_pending >= 2);   /* wl_c and libc at least */
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), b.tgid, 0), 0);
    gp_symbolizer_stats(s, &st2);
    assert_int_equal(st2.elf_pending, st1.elf_pending); /* same binaries: one fd each */
    assert_int_equal(gp_symbolizer_load_pending(s, 10000), (int)st1.elf_pending);
    gp_symbolizer_stats(s, &st1);
    assert_int_equal(st1.elf_pending, 0);
    assert_true(st1.elf_loaded >= 2);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), b.tgid, 0), 0);
    gp_symbolizer_stats(s, &st2);
    assert_int_equal(st2.elf_loaded, st1.elf_loaded); /* loaded once per binary */
    assert_int_equal(st2.elf_pending, 0);
    assert_names(s, &a);
    assert_names(s, &b);
    gp_symbolizer_free(s);

    s = new_sym(NULL, 4096);
    assert_int_equal(gp_proctable_note(gp_symbolizer_procs(s), a.tgid, 0), 0);
    gp_symbolizer_load_pending(s, 10000);
    gp_symbolizer_stats(s, &st1);
    assert_true(st1.cache_bytes > 4096); /* libc alone is bigger */
    gp_proctable_gc(gp_symbolizer_procs(s));
    gp_symbolizer_gc(s);
    gp_symbolizer_stats(s, &st2);
    assert_true(st2.cache_bytes <= 4096);
    assert_true(st2.elf_evictions > 0);
    assert_names(s, &a); /* reloaded through /proc while alive */
    gp_symbolizer_free(s);
    wl_stop(&a);
    wl_stop(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_c_symtab),
            cmocka_unit_test(test_pie),
            cmocka_unit_test(test_cpp_demangled),
            cmocka_unit_test(test_shared_library),
            cmocka_unit_test(test_dynsym_only_and_unnamed),
            cmocka_unit_test(test_build_id_debug_file),
            cmocka_unit_test(test_debuglink),
            cmocka_unit_test(test_minidebuginfo),
            cmocka_unit_test(test_other_mount_namespace),
            cmocka_unit_test(test_jit_perf_map),
            cmocka_unit_test(test_jit_memfd),
            cmocka_unit_test(test_jit_in_pid_and_mount_namespace),
            cmocka_unit_test(test_exited_short_process),
            cmocka_unit_test(test_container_of_process),
            cmocka_unit_test(test_fork_before_exec),
            cmocka_unit_test(test_kallsyms),
            cmocka_unit_test(test_cache_shared_and_bounded),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
