/* session.c — sampler → process table + symbolizer → profile, drained about once a second. */
#include "agent/session.h"
#include "agent/frames.h"
#include "agent/header.h"
#include "agent/procs/proctable.h"
#include "agent/procs/running.h"
#include "agent/counters.h"
#include "agent/sampler/perf_event.h"
#include "agent/symbols/kallsyms_cache.h"
#include "agent/unwind/registry.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_FRAMES 256 /* user + kernel frames of one sample */

struct target {
    int pid;
    int alive;
    double exited_after_s;
};

struct container_entry {
    uint32_t tgid;
    uint32_t name_id; /* interned in the profile; GP_NO_ID when the slot is empty */
};

/* A process first seen moments ago may still be inside the dynamic loader: its libraries are
 * not mapped yet. It is snapshotted again a few times while young (and alive). */
#define YOUNG_MAX 256
static const double young_renote_at[] = {0.05, 0.3, 1.0};
struct young {
    uint32_t tgid;
    uint8_t renotes;
    uint8_t exec; /* seen by its exec event */
    double seen_at;
};

/* Unwind-table work handed to the session's unwind threads, each lane in the order it came:
 * noting a process (its tables at note) and forgetting it on the note lane, a walk's miss (a lazy
 * table to build) on the miss lane. A note may build a big binary's table (hundreds of ms, seconds
 * on a loaded host): a miss never waits behind one (issue 13: a running process's library table
 * came seconds late, its samples stopping at the library meanwhile). */
enum uw_job_kind { UW_JOB_NOTE, UW_JOB_REMOVE, UW_JOB_MISS };
struct uw_job {
    enum uw_job_kind kind;
    uint32_t tgid;
    int exec; /* a note from an exec event: a new program, noted as a new process */
    uint64_t addr;
};
#define UW_QUEUE      1024
#define UW_MISS_QUEUE 256 /* the BPF budget sends at most 32 a CPU per 134 ms */
struct uw_lane {
    struct uw_job *q;
    size_t cap, head, n;
    pthread_cond_t cv;
    pthread_t thr;
    int running;
    struct gp_session *s;
};

struct gp_session {
    struct gp_session_opts o;
    struct gp_sampler *sampler;
    struct gp_proctable *procs;    /* fed by the sampler's process events */
    struct gp_symbolizer *sym;     /* listens to procs */
    struct gp_frameset *frames;    /* the stacks of the drain under way, named at its end */
    uint64_t nframes, nunresolved; /* frames of the stacks aggregated, and those unnamed */
    struct gp_uw_registry *uw;     /* unwind tables, or NULL */
    int uw_client;                 /* as which client of uw (0: its own registry) */
    pthread_t uw_scan;             /* host-wide: builds the tables of running processes */
    int uw_scanning;
    int uw_scanned; /* the processes on CPU were noted before sampling (running_first, eager) */
    /* The unwind threads: table builds never wait behind a drain or the symbolizer, and a miss
     * never waits behind a note (one lane each, under one mutex). */
    pthread_mutex_t uw_mu;
    struct uw_lane uw_notes, uw_misses;
    struct uw_job uw_note_q[UW_QUEUE], uw_miss_q[UW_MISS_QUEUE];
    int uw_stop;
    uint64_t uw_start_ticks; /* unwind_running_first: the session's start (gp_boot_ticks_now) */
    struct gp_profile *prof;
    struct target *targets;
    size_t ntargets;
    struct timespec t0;
    time_t start_wall, end_wall;
    double elapsed, finish_s;
    uint64_t samples;
    int running, started;
    /* tgid → container name, open addressing, cleared when it fills up */
    struct container_entry *containers;
    size_t containers_cap, containers_used;
    char hostname[256];
    int drain_failed;
    struct young young[YOUNG_MAX];
    size_t nyoung;
    unsigned drain_calls;
    double last_poll;
};

static double since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A pid is alive while /proc/PID/stat exists and the task is not a zombie. */
static int pid_alive(int pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X';
}

static void *scan_host(void *arg)
{
    struct gp_session *s = arg;
    if (!s->o.unwind_running_first) {
        /* The processes on CPU first, at once: they sample now, and their SEEN notes may wait
         * behind many others on a busy host (issue 13: a running process's table came late). */
        uint32_t *run = NULL;
        size_t nrun = 0;
        if (gp_procs_running(&run, &nrun) == 0)
            gp_uw_registry_scan_c(s->uw, s->uw_client, run, nrun);
        free(run);
        /* Then every process of the host, most of them asleep: at a lower priority than the note
         * and miss threads, which serve the processes sampled now (on a loaded host the scan took
         * the CPU their tables needed). */
        if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
            gp_debug("unwind: lowering the host scan's priority: %s", strerror(errno));
        gp_uw_registry_scan_c(s->uw, s->uw_client, NULL, 0);
        return NULL;
    }
    /* Only what is on CPU now: a sleeper's tables are built at its first sample (its SEEN
     * event), so a host of idle daemons costs nothing. */
    uint32_t *pids = NULL;
    size_t n = 0;
    int rc = gp_procs_running(&pids, &n);
    if (rc)
        gp_debug("unwind: listing the running processes: %s", strerror(-rc));
    else
        gp_uw_registry_scan_c(s->uw, s->uw_client, pids, n);
    free(pids);
    return NULL;
}

/* The unwind tables of the processes sampled now are built before sampling starts, so their
 * first samples unwind (host-wide: see below). */
static int open_unwind(struct gp_session *s, const struct gp_session_opts *o, struct gp_err *err)
{
    int rc = o->shared_uw ? gp_uw_registry_ref(o->shared_uw) : -ENOENT;
    if (rc >= 0) {
        s->uw = o->shared_uw;
        s->uw_client = rc;
    } else {
        if (o->shared_uw)
            gp_warn("unwind: %d sessions share the agent's unwind tables already; this one "
                    "builds its own",
                    GP_UW_CLIENTS);
        struct gp_uw_registry_opts ro = {.max_bytes = o->unwind_tables_max,
                                         .debug_dirs = o->debug_dirs,
                                         .ndebug_dirs = o->ndebug_dirs};
        rc = gp_uw_registry_new(&ro, &s->uw, err);
        if (rc)
            return rc;
        s->uw_client = 0;
    }
    if (!o->sampler.npids && o->unwind_running_first && o->unwind_lazy < 0) {
        /* Eager on what is on CPU now, before sampling starts (as with --pid), so those
         * processes' first samples unwind; the rest at their first sample. */
        uint32_t *pids = NULL;
        size_t n = 0;
        rc = gp_procs_running(&pids, &n);
        if (rc)
            gp_debug("unwind: listing the running processes: %s", strerror(-rc));
        else
            gp_uw_registry_scan_c(s->uw, s->uw_client, pids, n);
        free(pids);
        s->uw_scanned = 1;
        return 0;
    }
    if (!o->sampler.npids)
        return 0; /* host-wide: start_unwind_scan, once the sampler is open */
    uint32_t *pids = calloc(o->sampler.npids, sizeof(*pids));
    if (!pids)
        return gp_err_set(err, -ENOMEM, "out of memory");
    /* A thread id given to --pid stands for its process: tables are per process (tgid), as
     * the samples are keyed. */
    size_t n = 0;
    for (size_t i = 0; i < o->sampler.npids; i++) {
        uint32_t tgid;
        if (gp_sampler_resolve_tgid(o->sampler.pids[i], &tgid, NULL))
            continue; /* gone: the sampler says so */
        size_t k = 0;
        while (k < n && pids[k] != tgid)
            k++;
        if (k == n)
            pids[n++] = tgid;
    }
    gp_uw_registry_scan_c(s->uw, s->uw_client, pids, n);
    free(pids);
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats_c(s->uw, s->uw_client, &st);
    gp_debug("unwind: %" PRIu64 " tables (%" PRIu64 " rows, %" PRIu64 " kernel bytes) for %" PRIu64
             " processes in %.1f ms of CPU",
             st.tables, st.rows, st.kernel_bytes, st.processes, (double)st.build_ns / 1e6);
    return 0;
}

/* Host-wide, the running processes' tables are built beside sampling (a busy host has hundreds
 * of binaries: seconds); a process that samples meanwhile has its own built at once from its
 * SEEN event. With the BPF sampler the tables are lazy (issue 13): at note only the main
 * executable and libc (the first samples unwind), the other binaries when a walk reports a miss
 * in them, so binaries no sample lands in cost nothing. The perf sampler has no miss reports: it
 * builds every mapping's table at note. */
static void *uw_thread(void *arg);

static void start_unwind_scan(struct gp_session *s)
{
    if (!s->uw)
        return;
    if (s->o.unwind_running_first)
        s->uw_start_ticks = gp_boot_ticks_now();
    pthread_mutex_init(&s->uw_mu, NULL);
    s->uw_notes = (struct uw_lane){.q = s->uw_note_q, .cap = UW_QUEUE, .s = s};
    s->uw_misses = (struct uw_lane){.q = s->uw_miss_q, .cap = UW_MISS_QUEUE, .s = s};
    struct uw_lane *lanes[] = {&s->uw_notes, &s->uw_misses};
    for (int i = 0; i < 2; i++) {
        pthread_cond_init(&lanes[i]->cv, NULL);
        if (pthread_create(&lanes[i]->thr, NULL, uw_thread, lanes[i]) == 0)
            lanes[i]->running = 1;
        else
            gp_warn("unwind: no thread for table %s; they run between drains",
                    i ? "builds on a miss" : "builds at note");
    }
    if (s->o.sampler.npids || s->uw_scanned)
        return;
    if (gp_sampler_kind(s->sampler) == GP_SAMPLER_BPF && s->o.unwind_lazy >= 0)
        gp_uw_registry_set_lazy_c(s->uw, s->uw_client, 1);
    if (pthread_create(&s->uw_scan, NULL, scan_host, s) == 0)
        s->uw_scanning = 1;
}

int gp_session_open(const struct gp_session_opts *o, struct gp_session **out, char *notice,
                    size_t notice_len, struct gp_err *err)
{
    struct gp_session *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->o = *o;
    if (!s->o.drain_interval_ms)
        s->o.drain_interval_ms = 1000;
    if (o->hostname)
        snprintf(s->hostname, sizeof(s->hostname), "%s", o->hostname);
    else if (gethostname(s->hostname, sizeof(s->hostname) - 1) != 0)
        snprintf(s->hostname, sizeof(s->hostname), "localhost");
    int rc = -ENOMEM;
    s->prof = gp_profile_new();
    s->containers_cap = 1024;
    s->containers = malloc(s->containers_cap * sizeof(*s->containers));
    if (o->sampler.npids) {
        s->targets = calloc(o->sampler.npids, sizeof(*s->targets));
        if (!s->targets)
            goto fail_oom;
        for (size_t i = 0; i < o->sampler.npids; i++) {
            s->targets[i].pid = o->sampler.pids[i];
            s->targets[i].alive = 1;
        }
        s->ntargets = o->sampler.npids;
    }
    if (!s->prof || !s->containers)
        goto fail_oom;
    for (size_t i = 0; i < s->containers_cap; i++)
        s->containers[i].name_id = GP_NO_ID;

    struct gp_symbolizer_opts so = {.debug_dirs = o->debug_dirs,
                                    .ndebug_dirs = o->ndebug_dirs,
                                    .cache_bytes = o->symbol_cache_bytes,
                                    .kallsyms_cache_dir = GP_KALLSYMS_CACHE_DIR};
    if ((rc = gp_proctable_new(&s->procs)) < 0 || (rc = gp_frameset_new(&s->frames)) < 0)
        goto fail_oom;
    so.procs = s->procs;
    rc = gp_symbolizer_new(&so, &s->sym, err);
    if (rc)
        goto fail;
    if (notice && notice_len)
        notice[0] = '\0';
    struct gp_sampler_opts sopt = o->sampler;
    if (!o->no_unwind_tables) {
        if ((rc = open_unwind(s, o, err)))
            goto fail;
        sopt.unwind = s->uw;
        sopt.unwind_client = s->uw_client;
        sopt.uw_lookup = gp_uw_registry_row;
        sopt.uw_hold = gp_uw_registry_hold;
        sopt.uw_held_row = gp_uw_registry_held_row;
        sopt.uw_release = gp_uw_registry_release;
        sopt.uw_ctx = s->uw;
    }
    if (o->auto_fallback)
        rc = gp_sampler_open_auto(&sopt, &s->sampler, notice, notice_len, err);
    else
        rc = gp_sampler_open(&sopt, &s->sampler, err);
    if (rc)
        goto fail;
    start_unwind_scan(s);
    *out = s;
    return 0;
fail_oom:
    rc = gp_err_set(err, -ENOMEM, "out of memory");
fail:
    gp_session_close(s);
    return rc;
}

static uint32_t container_of(struct gp_session *s, uint32_t tgid)
{
    size_t mask = s->containers_cap - 1, i = (tgid * 2654435761u) & mask;
    for (; s->containers[i].name_id != GP_NO_ID; i = (i + 1) & mask)
        if (s->containers[i].tgid == tgid)
            return s->containers[i].name_id;
    /* The container captured when the process was noted: it is still known after the process
     * exited (until the gc that follows this drain), when /proc/PID/cgroup is gone. */
    const char *label = "";
    const struct gp_proc *p = gp_proctable_find(s->procs, tgid);
    if (!p && gp_proctable_note(s->procs, tgid, 0) == 0) /* no user frame yet */
        p = gp_proctable_find(s->procs, tgid);
    if (p && p->container_id[0])
        label = p->container_name[0] ? p->container_name : p->container_id;
    uint32_t nid = gp_profile_intern(s->prof, label, strlen(label));
    if (nid == GP_NO_ID)
        return nid;
    if (s->containers_used * 2 >= s->containers_cap) { /* forget and start over: a cache */
        for (size_t k = 0; k < s->containers_cap; k++)
            s->containers[k].name_id = GP_NO_ID;
        s->containers_used = 0;
        i = (tgid * 2654435761u) & mask;
    }
    s->containers[i] = (struct container_entry){.tgid = tgid, .name_id = nid};
    s->containers_used++;
    return nid;
}

static void on_event(const struct gp_proc_event *e, void *ctx);

/* A long drain (the first host-wide one reads every running binary) must not starve process
 * events: a process that starts and exits meanwhile would never be snapshotted. The BPF event
 * ring is independent of the count maps, so it is polled from inside the drain. */
static void poll_during_drain(struct gp_session *s)
{
    if (gp_sampler_kind(s->sampler) != GP_SAMPLER_BPF || ++s->drain_calls % 64)
        return;
    double now = since(&s->t0);
    if (now - s->last_poll < 0.01)
        return;
    s->last_poll = now;
    gp_sampler_poll_events(s->sampler, 0, on_event, s);
}

static void on_sample(const struct gp_raw_sample *r, void *ctx)
{
    struct gp_session *s = ctx;
    poll_during_drain(s);
    uint32_t ids[MAX_FRAMES];
    uint32_t nu = r->nuser, nk = r->nkernel, n = 0;
    if (nu > MAX_FRAMES - 1)
        nu = MAX_FRAMES - 1;
    if (nk > MAX_FRAMES - 1 - nu)
        nk = MAX_FRAMES - 1 - nu;
    /* Root first: user frames from main down to the leaf, then kernel entry down to its leaf.
     * Frames stay unnamed until the drain ends (name_frames). Addresses after the leaf are
     * return addresses: one less is inside the call, so a call at a function's end is named
     * by its caller. */
    if (nu) {
        const struct gp_proc *p = gp_proctable_find(s->procs, r->tgid);
        if (!p && gp_proctable_note(s->procs, r->tgid, 0) == 0) /* never announced */
            p = gp_proctable_find(s->procs, r->tgid);
        for (uint32_t k = nu; k-- > 0;)
            ids[n++] = gp_frameset_native(s->frames, r->tgid, p,
                                          k ? r->user_ips[k] - 1 : r->user_ips[k]);
    }
    for (uint32_t k = nk; k-- > 0;)
        ids[n++] = gp_frameset_kernel(s->frames, k ? r->kernel_ips[k] - 1 : r->kernel_ips[k]);
    /* A stack the kernel could not store still counts, visibly (and in the header's drops). */
    if ((r->user_err && !nu) || (r->kernel_err && !nk))
        ids[n++] = gp_frameset_lost(s->frames);
    uint32_t comm = gp_profile_intern(s->prof, r->comm, strnlen(r->comm, sizeof(r->comm)));
    if (gp_frameset_add_stack(s->frames, container_of(s, r->tgid), comm, ids, n, r->count) != 0) {
        s->drain_failed = 1;
        return;
    }
    s->samples += r->count;
}

/* Eager sessions with unwind_running_first (gprofctl record host-wide, BPF sampler): a process
 * that was asleep when the session started and samples now gets lazy tables (the binaries its
 * samples land in), as the agent's do; one started since (it may live a moment: its first samples
 * must unwind) or exec'd, eager ones. 1 lazy, 0 eager, -1 the client's setting. */
static int note_lazily(struct gp_session *s, const struct uw_job *j)
{
    if (s->o.unwind_lazy >= 0 || !s->o.unwind_running_first || !s->uw_start_ticks ||
        s->o.sampler.npids || gp_sampler_kind(s->sampler) != GP_SAMPLER_BPF)
        return -1;
    if (j->exec)
        return 0;
    uint64_t started;
    return gp_proc_start_ticks(j->tgid, &started) == 0 && started < s->uw_start_ticks;
}

static void uw_job_run(struct gp_session *s, const struct uw_job *j)
{
    struct gp_err e = {0};
    switch (j->kind) {
    case UW_JOB_NOTE: {
        int lazy = note_lazily(s, j);
        if ((lazy < 0 ? gp_uw_registry_add_process_c(s->uw, s->uw_client, j->tgid, NULL, &e)
                      : gp_uw_registry_add_process_lazy_c(s->uw, s->uw_client, j->tgid, NULL, lazy,
                                                          &e)))
            gp_debug("%s", e.msg);
    } break;
    case UW_JOB_REMOVE:
        gp_uw_registry_remove_process(s->uw, j->tgid);
        break;
    case UW_JOB_MISS:
        gp_uw_registry_miss_c(s->uw, s->uw_client, j->tgid, j->addr);
        break;
    }
}

/* One lane's thread: its jobs in the order they came. */
static void *uw_thread(void *arg)
{
    struct uw_lane *l = arg;
    struct gp_session *s = l->s;
    pthread_mutex_lock(&s->uw_mu);
    for (;;) {
        while (!l->n && !s->uw_stop)
            pthread_cond_wait(&l->cv, &s->uw_mu);
        if (!l->n)
            break;
        struct uw_job j = l->q[l->head];
        l->head = (l->head + 1) % l->cap;
        l->n--;
        pthread_mutex_unlock(&s->uw_mu);
        uw_job_run(s, &j);
        pthread_mutex_lock(&s->uw_mu);
    }
    pthread_mutex_unlock(&s->uw_mu);
    return NULL;
}

/* Hands the job to its lane: notes and removals in order on one thread, misses in order on the
 * other (a note may build a big binary's table; a miss builds one table, for a process on CPU
 * now, and must not wait for it). Without the thread, or with its queue full, a note or a
 * removal runs here and a miss is dropped (the walk reports it again: see uw_report_miss). */
static void uw_submit(struct gp_session *s, enum uw_job_kind kind, uint32_t tgid, uint64_t addr,
                      int exec)
{
    struct uw_job j = {.kind = kind, .tgid = tgid, .exec = exec, .addr = addr};
    struct uw_lane *l = kind == UW_JOB_MISS ? &s->uw_misses : &s->uw_notes;
    if (l->running) {
        pthread_mutex_lock(&s->uw_mu);
        int queued = l->n < l->cap;
        if (queued) {
            l->q[(l->head + l->n) % l->cap] = j;
            l->n++;
            pthread_cond_signal(&l->cv);
        }
        pthread_mutex_unlock(&s->uw_mu);
        if (queued)
            return;
    }
    if (kind != UW_JOB_MISS)
        uw_job_run(s, &j);
}

/* Builds (or re-syncs) the unwind tables of a process seen, exec'd or still loading, on the
 * unwind thread (from a fresh read of its maps there). */
static void note_unwind(struct gp_session *s, uint32_t tgid, int exec)
{
    uw_submit(s, UW_JOB_NOTE, tgid, 0, exec);
}

static void renote_young(struct gp_session *s)
{
    double now = since(&s->t0);
    for (size_t i = 0; i < s->nyoung;) {
        struct young *y = &s->young[i];
        if (now - y->seen_at >= young_renote_at[y->renotes]) {
            int gone = gp_proctable_note(s->procs, y->tgid, 0) != 0;
            if (!gone && s->uw)
                note_unwind(s, y->tgid, y->exec);
            if (gone || ++y->renotes == sizeof(young_renote_at) / sizeof(young_renote_at[0])) {
                *y = s->young[--s->nyoung];
                continue;
            }
        }
        i++;
    }
}

static void on_event(const struct gp_proc_event *e, void *ctx)
{
    struct gp_session *s = ctx;
    switch (e->type) {
    case GP_PROC_SEEN:
    case GP_PROC_EXEC:
        /* Maps first (cheap, and a short-lived process may be gone soon); then its tables,
         * which may take milliseconds for a binary not seen before. */
        if (gp_proctable_note(s->procs, e->tgid, e->type == GP_PROC_EXEC) != 0)
            gp_debug("process %u exited before its maps could be read", e->tgid);
        else if (s->nyoung < YOUNG_MAX)
            s->young[s->nyoung++] = (struct young){
                    .tgid = e->tgid, .exec = e->type == GP_PROC_EXEC, .seen_at = since(&s->t0)};
        if (s->uw)
            note_unwind(s, e->tgid, e->type == GP_PROC_EXEC);
        break;
    case GP_PROC_EXIT:
        if (s->uw)
            uw_submit(s, UW_JOB_REMOVE, e->tgid, 0, 0);
        gp_proctable_exit(s->procs, e->tgid);
        break;
    case GP_PROC_UW_MISS:
        if (s->uw)
            uw_submit(s, UW_JOB_MISS, e->tgid, e->addr, 0);
        break;
    }
}

static unsigned check_targets(struct gp_session *s)
{
    unsigned alive = 0;
    for (size_t i = 0; i < s->ntargets; i++) {
        struct target *t = &s->targets[i];
        if (t->alive && !pid_alive(t->pid)) {
            t->alive = 0;
            t->exited_after_s = s->elapsed;
        }
        alive += (unsigned)t->alive;
    }
    return alive;
}

/* Names each distinct frame of the drain once, through the namer for its kind, and adds the
 * drain's stacks to the profile. */
static int name_frames(struct gp_session *s)
{
    int rc = 0;
    size_t n = gp_frameset_count(s->frames);
    for (size_t i = 0; i < n; i++) {
        /* The first host-wide drain names every running binary's frames (seconds on a busy
         * host): process events and unwind-table misses are still handled meanwhile. */
        poll_during_drain(s);
        struct gp_frame_entry *e = gp_frameset_entry(s->frames, i);
        const char *name = "[lost stack]";
        e->resolved = 1;
        switch (e->frame.kind) {
        case GP_FRAME_NATIVE:
            gp_symbolize_user_at(s->sym, e->tgid, &e->addr, 1, &name, &e->resolved);
            break;
        case GP_FRAME_KERNEL:
            gp_symbolize_kernel_at(s->sym, &e->addr, 1, &name, &e->resolved);
            break;
        case GP_FRAME_LOST:
            break;
        }
        if ((e->name = gp_profile_intern(s->prof, name, strlen(name))) == GP_NO_ID)
            rc = -ENOMEM;
    }
    int erc = gp_frameset_emit(s->frames, s->prof, &s->nframes, &s->nunresolved);
    return rc ? rc : erc;
}

static int drain(struct gp_session *s, struct gp_err *err)
{
    /* Name every process that announced itself before reading the samples that mention it. */
    gp_sampler_poll_events(s->sampler, 0, on_event, s);
    int rc = gp_sampler_drain(s->sampler, on_sample, s, err);
    if (rc > 0) /* the number of stacks delivered */
        rc = 0;
    if (name_frames(s) < 0)
        s->drain_failed = 1;
    if (!rc && s->drain_failed)
        rc = gp_err_set(err, -ENOMEM, "out of memory while aggregating samples");
    gp_proctable_gc(s->procs);
    gp_symbolizer_gc(s->sym);
    return rc;
}

int gp_session_run(struct gp_session *s, volatile sig_atomic_t *stop, gp_session_progress_cb cb,
                   void *ctx, struct gp_err *err)
{
    int rc = 0;
    if (!s->started) { /* later calls continue the same sampler: sessions stay contiguous */
        if ((rc = gp_sampler_start(s->sampler, err)))
            return rc;
        s->started = 1;
        if (s->o.started_cb)
            s->o.started_cb(s->o.started_ctx);
    }
    clock_gettime(CLOCK_MONOTONIC, &s->t0);
    s->start_wall = time(NULL);
    s->end_wall = 0;
    s->running = 1;
    double interval = s->o.drain_interval_ms / 1000.0, next_drain = interval;
    struct gp_session_progress pr;
    while (!(stop && *stop)) {
        s->elapsed = since(&s->t0);
        if (s->o.duration_s > 0 && s->elapsed >= s->o.duration_s)
            break;
        double wake = next_drain;
        if (s->o.duration_s > 0 && s->o.duration_s < wake)
            wake = s->o.duration_s;
        /* Sleep until the next drain, or the next re-note of a young process: new events wake
         * the poll anyway (each wakeup costs a context switch, so no fixed tick). */
        for (size_t i = 0; i < s->nyoung; i++) {
            double due = s->young[i].seen_at + young_renote_at[s->young[i].renotes];
            if (due < wake)
                wake = due;
        }
        double wait = wake - s->elapsed;
        int timeout_ms = wait <= 0 ? 0 : (int)(wait * 1000) + 1;
        gp_sampler_poll_events(s->sampler, timeout_ms, on_event, s);
        renote_young(s);
        s->elapsed = since(&s->t0);
        if (s->elapsed < next_drain)
            continue;
        next_drain += interval;
        if ((rc = drain(s, err)))
            break;
        unsigned alive = check_targets(s);
        if (cb) {
            gp_session_progress(s, &pr);
            cb(&pr, ctx);
        }
        if (s->ntargets && !alive)
            break;
    }
    /* A continuous session leaves the samples taken since the last flip to the next run; a
     * final one stops the sampler first so the last drain empties everything. */
    double loop_end = since(&s->t0);
    if (!s->o.keep_running || (stop && *stop))
        gp_sampler_stop(s->sampler);
    if (!rc)
        rc = drain(s, err);
    s->elapsed = since(&s->t0);
    s->finish_s = s->elapsed - loop_end;
    s->elapsed = loop_end;
    s->end_wall = time(NULL);
    s->running = 0;
    check_targets(s);
    return rc;
}

int gp_session_add_pid(struct gp_session *s, int pid, struct gp_err *err)
{
    struct target *t = realloc(s->targets, (s->ntargets + 1) * sizeof(*t));
    if (!t)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->targets = t;
    int rc = gp_sampler_add_pid(s->sampler, pid, err);
    if (rc)
        return rc;
    s->targets[s->ntargets++] = (struct target){.pid = pid, .alive = 1};
    return 0;
}

int gp_session_remove_pid(struct gp_session *s, int pid)
{
    for (size_t i = 0; i < s->ntargets; i++) {
        if (s->targets[i].pid == pid) {
            memmove(&s->targets[i], &s->targets[i + 1],
                    (s->ntargets - i - 1) * sizeof(*s->targets));
            s->ntargets--;
            return gp_sampler_remove_pid(s->sampler, pid);
        }
    }
    return -ESRCH;
}

void gp_session_progress(const struct gp_session *s, struct gp_session_progress *out)
{
    struct gp_sampler_stats st;
    gp_sampler_stats(s->sampler, &st);
    unsigned alive = 0;
    for (size_t i = 0; i < s->ntargets; i++)
        alive += (unsigned)s->targets[i].alive;
    *out = (struct gp_session_progress){
            .elapsed_s = s->running ? since(&s->t0) : s->elapsed,
            .duration_s = s->o.duration_s,
            .samples = s->samples,
            .dropped = st.user_stack_errors + st.kernel_stack_errors + st.map_full + st.lost,
            .frames = s->nframes,
            .frames_unresolved = s->nunresolved,
            .targets_alive = alive,
            .finish_s = s->finish_s,
    };
}

void gp_session_snapshot(const struct gp_session *s, struct gp_counter_snap *out)
{
    gp_sampler_stats(s->sampler, &out->st);
    out->frames = s->nframes;
    out->unresolved = s->nunresolved;
}

size_t gp_session_exited_targets(const struct gp_session *s, int *pids, double *after_s, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ntargets && n < max; i++) {
        if (!s->targets[i].alive) {
            pids[n] = s->targets[i].pid;
            after_s[n++] = s->targets[i].exited_after_s;
        }
    }
    return n;
}

enum gp_sampler_kind gp_session_sampler_kind(const struct gp_session *s)
{
    return gp_sampler_kind(s->sampler);
}

struct gp_profile *gp_session_take_profile(struct gp_session *s, const struct gp_header_info *extra)
{
    struct gp_profile *p = s->prof;
    if (!p)
        return NULL;
    struct gp_sampler_stats st;
    struct gp_symbolizer_stats sy;
    struct gp_uw_registry_stats uw = {0};
    gp_sampler_stats(s->sampler, &st);
    gp_symbolizer_stats(s->sym, &sy);
    if (s->uw)
        gp_uw_registry_stats_c(s->uw, s->uw_client, &uw);
    /* frames of the sampled stacks, not the distinct frames the symbolizer named */
    sy.frames = s->nframes;
    sy.unresolved = s->nunresolved;
    sy.resolved = s->nframes - s->nunresolved;
    struct gp_header_info hi = {
            .hostname = s->hostname,
            .run_mode = s->o.run_mode ? s->o.run_mode : "record",
            .sampler = gp_sampler_kind_name(gp_sampler_kind(s->sampler)),
            .event = gp_sample_event_name(s->o.sampler.event),
            .freq_hz = s->o.sampler.freq_hz,
            .start = s->start_wall,
            .end = s->end_wall ? s->end_wall : time(NULL),
            .duration_s = s->elapsed,
            .samples = s->samples,
            .sampler_stats = st,
            .symbol_stats = sy,
            .unwind = s->uw ? &uw : NULL,
            .cpu_avg = extra ? extra->cpu_avg : -1,
            .mem_avg = extra ? extra->mem_avg : -1,
            .service = extra ? extra->service : NULL,
    };
    if (gp_header_fill(p, &hi))
        return NULL;
    /* The next run aggregates into a fresh profile; the container cache held ids of the old. */
    s->prof = gp_profile_new();
    for (size_t i = 0; i < s->containers_cap; i++)
        s->containers[i].name_id = GP_NO_ID;
    s->containers_used = 0;
    s->samples = 0;
    if (!s->prof) {
        gp_profile_free(p);
        return NULL;
    }
    return p;
}

void gp_session_close(struct gp_session *s)
{
    if (!s)
        return;
    if (s->sampler)
        gp_sampler_close(s->sampler);
    if (s->uw_notes.running || s->uw_misses.running) {
        /* after the sampler: no event submits a job any more */
        pthread_mutex_lock(&s->uw_mu);
        s->uw_stop = 1;
        s->uw_notes.n = s->uw_misses.n = 0; /* what is left is moot: the registry goes */
        pthread_cond_signal(&s->uw_notes.cv);
        pthread_cond_signal(&s->uw_misses.cv);
        pthread_mutex_unlock(&s->uw_mu);
        if (s->uw_notes.running)
            pthread_join(s->uw_notes.thr, NULL);
        if (s->uw_misses.running)
            pthread_join(s->uw_misses.thr, NULL);
    }
    if (s->sym)
        gp_symbolizer_free(s->sym);
    gp_proctable_free(s->procs);
    gp_frameset_free(s->frames);
    if (s->uw_scanning) {
        gp_uw_registry_cancel_scan_c(s->uw, s->uw_client);
        pthread_join(s->uw_scan, NULL);
    }
    gp_uw_registry_unref(s->uw, s->uw_client); /* after the sampler, which mirrors it */
    gp_profile_free(s->prof);
    free(s->targets);
    free(s->containers);
    free(s);
}
