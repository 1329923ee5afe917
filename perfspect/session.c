/* session.c — a live counter session: picks the events, opens them per CPU or per thread,
 * reads them every interval into the report, and ends on duration, stop or target exit. */
#include "perfspect/internal.h"

#include <dirent.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct ps_session {
    struct ps_options opt;
    pid_t *pids;
    struct ps_report *r;
    struct ps_counters c;
    int stopfd;
    atomic_int stop;
    uint64_t start_ns;
    pthread_t thread;
    int spawned;
    int thread_rc;
    struct gp_err thread_err;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Online CPUs from /sys/devices/system/cpu/online ("0-3,6"). */
static int online_cpus(int **out, int *n)
{
    FILE *f = fopen("/sys/devices/system/cpu/online", "re");
    char buf[1024] = "";
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
    }
    int cap = 64, cnt = 0;
    int *cpus = malloc(sizeof(int) * (size_t)cap);
    if (!cpus)
        return -ENOMEM;
    if (!buf[0]) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof(buf), "0-%ld", nc > 0 ? nc - 1 : 0);
    }
    for (char *p = buf; *p && *p != '\n';) {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            break;
        p = end;
        if (*p == '-') {
            hi = strtol(p + 1, &end, 10);
            p = end;
        }
        for (long c = lo; c <= hi; c++) {
            if (cnt == cap) {
                cap *= 2;
                int *nc = realloc(cpus, sizeof(int) * (size_t)cap);
                if (!nc) {
                    free(cpus);
                    return -ENOMEM;
                }
                cpus = nc;
            }
            cpus[cnt++] = (int)c;
        }
        if (*p == ',')
            p++;
    }
    *out = cpus;
    *n = cnt;
    return 0;
}

/* Every thread of every pid, as (tid, cpu -1) instances. */
static int thread_instances(const pid_t *pids, size_t npids, struct ps_instance **out, int *n,
                            struct gp_err *err)
{
    int cap = 16, cnt = 0;
    struct ps_instance *in = malloc(sizeof(*in) * (size_t)cap);
    if (!in)
        return gp_err_set(err, -ENOMEM, "out of memory listing threads");
    for (size_t i = 0; i < npids; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pids[i]);
        DIR *d = opendir(path);
        if (!d) {
            int e = errno;
            free(in);
            return gp_err_set(err, e == ENOENT ? -ESRCH : -e, "cannot list threads of pid %d: %s",
                              (int)pids[i], e == ENOENT ? "no such process" : strerror(e));
        }
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] < '0' || de->d_name[0] > '9')
                continue;
            pid_t tid = (pid_t)atoi(de->d_name);
            int dup = 0;
            for (int k = 0; k < cnt && !dup; k++)
                dup = in[k].pid == tid;
            if (dup)
                continue;
            if (cnt == cap) {
                cap *= 2;
                struct ps_instance *ni = realloc(in, sizeof(*in) * (size_t)cap);
                if (!ni) {
                    closedir(d);
                    free(in);
                    return gp_err_set(err, -ENOMEM, "out of memory listing threads");
                }
                in = ni;
            }
            in[cnt++] = (struct ps_instance){tid, -1};
        }
        closedir(d);
    }
    *out = in;
    *n = cnt;
    return 0;
}

static void hw_reason(struct ps_report *r, const struct ps_pmu *pmu, int e)
{
    if (!pmu->present)
        snprintf(r->hw_line, sizeof(r->hw_line),
                 "hardware counters not available on this host: the kernel exposes no CPU PMU "
                 "(no /sys/bus/event_source/devices/cpu; perf_event_open(cycles): %s), as is "
                 "usual in virtual machines without PMU passthrough",
                 strerror(e ? e : ENOENT));
    else
        snprintf(r->hw_line, sizeof(r->hw_line),
                 "hardware counters not available on this host: the kernel refused every "
                 "hardware event (%s)%s",
                 strerror(e ? e : ENOENT),
                 e == EACCES || e == EPERM ? "; run as root or lower kernel.perf_event_paranoid"
                                           : "");
}

int ps_session_open(const struct ps_options *o, struct ps_session **out, struct gp_err *err)
{
    *out = NULL;
    struct ps_session *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->opt = *o;
    if (!s->opt.interval_ms)
        s->opt.interval_ms = 1000;
    s->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    s->r = ps_report_new();
    if (s->stopfd < 0 || !s->r) {
        int rc = gp_err_set(err, s->stopfd < 0 ? -errno : -ENOMEM, "cannot create session: %s",
                            strerror(s->stopfd < 0 ? errno : ENOMEM));
        ps_session_free(s);
        return rc;
    }
    struct ps_report *r = s->r;
    r->interval_ms = s->opt.interval_ms;
    r->system_wide = o->npids == 0;
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    r->ncpus = nc > 0 ? (int)nc : 1;
    if (gethostname(r->hostname, sizeof(r->hostname) - 1))
        snprintf(r->hostname, sizeof(r->hostname), "unknown");
    if (o->npids) {
        s->pids = malloc(sizeof(pid_t) * o->npids);
        r->pids = malloc(sizeof(pid_t) * o->npids);
        if (!s->pids || !r->pids) {
            ps_session_free(s);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        memcpy(s->pids, o->pids, sizeof(pid_t) * o->npids);
        memcpy(r->pids, o->pids, sizeof(pid_t) * o->npids);
        r->npids = o->npids;
        s->opt.pids = s->pids;
    }

    struct ps_pmu pmu;
    ps_pmu_probe(o->sysfs_root, &pmu);
    r->topdown = o->no_hardware ? PS_TD_NONE : pmu.topdown;
    r->gp_counters = pmu.present ? pmu.gp_counters : 0;
    int wanted[PS_EV_COUNT] = {0};
    struct ps_event_attr attrs[PS_EV_COUNT];
    memset(attrs, 0, sizeof(attrs));
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        const struct ps_event_info *in = ps_event_info((enum ps_ev)ev);
        attrs[ev] = (struct ps_event_attr){in->type, in->config, 1.0};
        if (in->kind == PS_KIND_SW)
            wanted[ev] = 1;
        else if (in->kind == PS_KIND_HW)
            wanted[ev] = !o->no_hardware;
        else if (!o->no_hardware && pmu.td_listed[ev] &&
                 ((pmu.topdown == PS_TD_PERF_METRICS && in->lgroup == 6) ||
                  (pmu.topdown == PS_TD_LEGACY && in->lgroup == 7))) {
            wanted[ev] = 1;
            attrs[ev] = pmu.td[ev];
            r->ev_scale[ev] = pmu.td[ev].scale;
        }
    }
    r->hw_tried = !o->no_hardware;

    struct ps_instance *inst = NULL;
    int ninst = 0, rc;
    if (o->npids == 0) {
        int *cpus = NULL;
        rc = online_cpus(&cpus, &ninst);
        if (rc) {
            ps_session_free(s);
            return gp_err_set(err, rc, "cannot list online CPUs");
        }
        inst = calloc((size_t)(ninst ? ninst : 1), sizeof(*inst));
        for (int i = 0; inst && i < ninst; i++)
            inst[i] = (struct ps_instance){-1, cpus[i]};
        free(cpus);
        if (!inst) {
            ps_session_free(s);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        r->ncpus = ninst;
    } else if (o->enable_on_exec) {
        inst = calloc(1, sizeof(*inst));
        if (!inst) {
            ps_session_free(s);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        inst[0] = (struct ps_instance){o->pids[0], -1};
        ninst = 1;
    } else {
        rc = thread_instances(o->pids, o->npids, &inst, &ninst, err);
        if (rc) {
            ps_session_free(s);
            return rc;
        }
    }

    struct ps_group groups[PS_EV_COUNT];
    int ng = ps_plan_groups(wanted, pmu.gp_counters, pmu.fixed_counters >= 3, groups, PS_EV_COUNT);
    rc = ps_counters_open(&s->c, groups, ng, attrs, inst, ninst, o->npids > 0, o->enable_on_exec,
                          NULL, NULL, err);
    free(inst);
    if (rc) {
        ps_session_free(s);
        return rc;
    }
    int nsw = 0, sw_errno = 0;
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        r->ev_counted[ev] = s->c.fd[ev] != NULL;
        if (r->ev_counted[ev] && ev < PS_EV_FIRST_HW)
            nsw++;
        if (s->c.refused_errno[ev]) {
            ps_report_refuse(r, (enum ps_ev)ev, s->c.refused_errno[ev], NULL);
            if (ev < PS_EV_FIRST_HW && !sw_errno)
                sw_errno = s->c.refused_errno[ev];
        }
    }
    if (nsw == 0) {
        int e = sw_errno ? sw_errno : ESRCH;
        ps_session_free(s);
        if (e == EACCES || e == EPERM)
            return gp_err_set(err, -e,
                              "cannot open software counters: %s; run as root (or with "
                              "CAP_PERFMON) or lower kernel.perf_event_paranoid",
                              strerror(e));
        return gp_err_set(err, -e, "cannot open software counters: %s",
                          e == ESRCH ? "the target processes are gone" : strerror(e));
    }
    if (o->no_hardware)
        snprintf(r->hw_line, sizeof(r->hw_line),
                 "hardware counters not available on this host: not requested (software "
                 "counters only)");
    else if (!ps_report_hw_available(r))
        hw_reason(r, &pmu, s->c.open_errno_hw);
    *out = s;
    return 0;
}

static int take_snapshot(struct ps_session *s, struct ps_snapshot *snap)
{
    memset(snap, 0, sizeof(*snap));
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        if (!s->c.fd[ev])
            continue;
        snap->reads[ev] = calloc((size_t)s->c.ninst, sizeof(struct ps_read));
        if (!snap->reads[ev]) {
            ps_snapshot_clear(snap);
            return -ENOMEM;
        }
        snap->ninst[ev] = s->c.ninst;
        for (int i = 0; i < s->c.ninst; i++) {
            int fd = s->c.fd[ev][i];
            uint64_t buf[3];
            if (fd >= 0 && read(fd, buf, sizeof(buf)) == (ssize_t)sizeof(buf))
                snap->reads[ev][i] = (struct ps_read){buf[0], buf[1], buf[2]};
            /* else: a vanished thread keeps reading 0/0/0, so its deltas stay 0 */
        }
    }
    snap->t_ns = now_ns();
    snap->have_procstat = ps_read_procstat(&snap->procstat) == 0;
    snap->have_mem = ps_read_meminfo(&snap->mem_used_kb, &snap->mem_total_kb) == 0;
    if (s->opt.npids)
        snap->have_rss = ps_read_rss(s->opt.pids, s->opt.npids, &snap->rss_kb) == 0;
    return 0;
}

static int push_now(struct ps_session *s, struct gp_err *err)
{
    struct ps_snapshot snap;
    if (take_snapshot(s, &snap))
        return gp_err_set(err, -ENOMEM, "out of memory reading counters");
    int rc = ps_report_push(s->r, &snap, err);
    ps_snapshot_clear(&snap);
    return rc;
}

int ps_session_start(struct ps_session *s, struct gp_err *err)
{
    if (!s->opt.enable_on_exec)
        for (int ev = 0; ev < PS_EV_COUNT; ev++)
            if (s->c.fd[ev] && s->c.leader[ev])
                for (int i = 0; i < s->c.ninst; i++)
                    if (s->c.fd[ev][i] >= 0 && ioctl(s->c.fd[ev][i], PERF_EVENT_IOC_ENABLE, 0))
                        return gp_err_set(err, -errno, "cannot enable %s: %s",
                                          ps_event_info((enum ps_ev)ev)->name, strerror(errno));
    s->r->started_unix = (long long)time(NULL);
    s->start_ns = now_ns();
    return push_now(s, err);
}

/* 1 when every target pid has exited (or is a zombie). */
static int targets_gone(const struct ps_session *s)
{
    if (!s->opt.npids)
        return 0;
    for (size_t i = 0; i < s->opt.npids; i++) {
        char path[64], buf[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->opt.pids[i]);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        char *rp = strrchr(buf, ')');
        if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
            continue;
        return 0;
    }
    return 1;
}

int ps_session_run(struct ps_session *s, struct gp_err *err)
{
    uint64_t iv_ns = (uint64_t)s->opt.interval_ms * 1000000ull;
    uint64_t end_ns = s->opt.duration_s > 0
                              ? s->start_ns + (uint64_t)(s->opt.duration_s * 1e9 + 0.5)
                              : UINT64_MAX;
    uint64_t next = s->start_ns + iv_ns;
    for (;;) {
        uint64_t now = now_ns();
        uint64_t wake = next < end_ns ? next : end_ns;
        int stopped = atomic_load(&s->stop);
        /* poll in slices of at most 100 ms so target exit is noticed quickly */
        while (!stopped && now < wake) {
            uint64_t left_ms = (wake - now + 999999) / 1000000;
            struct pollfd pfd = {s->stopfd, POLLIN, 0};
            int prc = poll(&pfd, 1, (int)(left_ms > 100 ? 100 : left_ms));
            if (prc < 0 && errno != EINTR)
                return gp_err_set(err, -errno, "poll: %s", strerror(errno));
            stopped = atomic_load(&s->stop) || (prc > 0);
            now = now_ns();
            if (targets_gone(s))
                stopped = 1;
        }
        /* the last interval may be partial; skip one too short to mean anything */
        if (now >= wake || now - s->r->prev.t_ns >= 10000000ull) {
            int rc = push_now(s, err);
            if (rc)
                return rc;
            if (s->opt.on_interval && s->r->niv)
                s->opt.on_interval(s->r, s->r->niv - 1, s->opt.cb_ctx);
        }
        if (stopped || now >= end_ns)
            return 0;
        next += iv_ns;
        while (next <= now)
            next += iv_ns; /* we overslept: keep the grid */
    }
}

static void *session_thread(void *arg)
{
    struct ps_session *s = arg;
    s->thread_rc = ps_session_start(s, &s->thread_err);
    if (!s->thread_rc)
        s->thread_rc = ps_session_run(s, &s->thread_err);
    return NULL;
}

int ps_session_spawn(struct ps_session *s, struct gp_err *err)
{
    if (s->spawned)
        return gp_err_set(err, -EBUSY, "counter session already running");
    int rc = pthread_create(&s->thread, NULL, session_thread, s);
    if (rc)
        return gp_err_set(err, -rc, "cannot start the counter thread: %s", strerror(rc));
    s->spawned = 1;
    return 0;
}

int ps_session_join(struct ps_session *s, int stop, struct gp_err *err)
{
    if (!s->spawned)
        return gp_err_set(err, -EINVAL, "counter session was not spawned");
    if (stop)
        ps_session_stop(s);
    pthread_join(s->thread, NULL);
    s->spawned = 0;
    if (s->thread_rc && err)
        *err = s->thread_err;
    return s->thread_rc;
}

void ps_session_stop(struct ps_session *s)
{
    atomic_store(&s->stop, 1);
    uint64_t one = 1;
    ssize_t w = write(s->stopfd, &one, sizeof(one));
    (void)w;
}

const struct ps_report *ps_session_report(const struct ps_session *s)
{
    return s->r;
}

struct ps_report *ps_session_take_report(struct ps_session *s)
{
    struct ps_report *r = s->r;
    s->r = NULL;
    return r;
}

void ps_session_free(struct ps_session *s)
{
    if (!s)
        return;
    if (s->spawned) {
        ps_session_stop(s);
        pthread_join(s->thread, NULL);
    }
    ps_counters_close(&s->c);
    if (s->stopfd >= 0)
        close(s->stopfd);
    ps_report_free(s->r);
    free(s->pids);
    free(s);
}
