/* counters.c — opens the planned counter groups on every CPU or thread with perf_event_open,
 * splitting groups the PMU refuses (EINVAL/ENOSPC) and recording events the kernel refuses. */
#include "perfspect/internal.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int ps_sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                           unsigned long flags, void *ctx)
{
    long fd = syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
    return fd < 0 ? -errno : (int)fd;
}

struct opener {
    struct ps_counters *c;
    const struct ps_event_attr *attrs;
    int inherit, enable_on_exec;
    ps_open_fn open_fn;
    void *ctx;
    int *dead; /* [ninst] instances whose thread vanished */
};

static void close_group(struct opener *o, const struct ps_group *g)
{
    for (int k = 0; k < g->n; k++) {
        int *fds = o->c->fd[g->ev[k]];
        if (!fds)
            continue;
        for (int i = 0; i < o->c->ninst; i++)
            if (fds[i] >= 0)
                close(fds[i]);
        free(fds);
        o->c->fd[g->ev[k]] = NULL;
        o->c->leader[g->ev[k]] = 0;
    }
}

/* Tries g on every live instance. Returns 0, or the failing member in *bad and its errno. */
static int try_group(struct opener *o, const struct ps_group *g, int *bad)
{
    struct ps_counters *c = o->c;
    for (int k = 0; k < g->n; k++) {
        c->fd[g->ev[k]] = malloc(sizeof(int) * (size_t)(c->ninst ? c->ninst : 1));
        if (!c->fd[g->ev[k]]) {
            close_group(o, g);
            *bad = k;
            return -ENOMEM;
        }
        for (int i = 0; i < c->ninst; i++)
            c->fd[g->ev[k]][i] = -1;
    }
    for (int i = 0; i < c->ninst; i++) {
        if (o->dead[i])
            continue;
        int leader_fd = -1;
        for (int k = 0; k < g->n; k++) {
            const struct ps_event_attr *a = &o->attrs[g->ev[k]];
            struct perf_event_attr attr;
            memset(&attr, 0, sizeof(attr));
            attr.size = sizeof(attr);
            attr.type = a->type;
            attr.config = a->config;
            attr.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
            attr.disabled = k == 0;
            attr.inherit = o->inherit ? 1 : 0;
            attr.enable_on_exec = k == 0 && o->enable_on_exec;
            int fd = o->open_fn(&attr, c->inst[i].pid, c->inst[i].cpu, leader_fd,
                                PERF_FLAG_FD_CLOEXEC, o->ctx);
            if (fd == -ESRCH && c->inst[i].pid > 0) {
                /* the thread exited between listing and opening: drop it */
                o->dead[i] = 1;
                for (int j = 0; j < k; j++) {
                    close(c->fd[g->ev[j]][i]);
                    c->fd[g->ev[j]][i] = -1;
                }
                break;
            }
            if (fd < 0) {
                close_group(o, g);
                *bad = k;
                return fd;
            }
            c->fd[g->ev[k]][i] = fd;
            if (k == 0)
                leader_fd = fd;
        }
    }
    c->leader[g->ev[0]] = 1;
    return 0;
}

static int distinct_lgroups(const struct ps_group *g)
{
    int seen[16] = {0}, n = 0;
    for (int k = 0; k < g->n; k++) {
        int lg = ps_event_info(g->ev[k])->lgroup & 15;
        if (!seen[lg]++)
            n++;
    }
    return n;
}

static int open_group(struct opener *o, const struct ps_group *g)
{
    if (g->n == 0)
        return 0;
    int bad = 0;
    int rc = try_group(o, g, &bad);
    if (rc == 0) {
        if (o->c->ngroups < PS_EV_COUNT)
            o->c->groups[o->c->ngroups++] = *g;
        return 0;
    }
    if (rc == -ENOMEM)
        return rc;
    int e = -rc;
    if ((e == EINVAL || e == ENOSPC) && g->n > 1) {
        /* Too big for the PMU: split into logical groups, then into single events. */
        int split_lg = distinct_lgroups(g) > 1;
        for (int k = 0; k < g->n;) {
            struct ps_group sub = {0};
            int lg = ps_event_info(g->ev[k])->lgroup;
            do {
                sub.ev[sub.n++] = g->ev[k++];
            } while (split_lg && k < g->n && ps_event_info(g->ev[k])->lgroup == lg);
            rc = open_group(o, &sub);
            if (rc == -ENOMEM)
                return rc;
        }
        return 0;
    }
    /* The kernel refused this event: record it and carry on with the rest. */
    enum ps_ev ev = g->ev[bad];
    if (!o->c->refused_errno[ev])
        o->c->refused_errno[ev] = e;
    if (ev >= PS_EV_FIRST_HW && !o->c->open_errno_hw)
        o->c->open_errno_hw = e;
    struct ps_group rest = {0};
    for (int k = 0; k < g->n; k++)
        if (k != bad)
            rest.ev[rest.n++] = g->ev[k];
    return open_group(o, &rest);
}

int ps_counters_open(struct ps_counters *c, const struct ps_group *groups, int ngroups,
                     const struct ps_event_attr *attrs, const struct ps_instance *inst, int ninst,
                     int inherit, int enable_on_exec, ps_open_fn open_fn, void *open_ctx,
                     struct gp_err *err)
{
    memset(c, 0, sizeof(*c));
    c->inst = calloc((size_t)(ninst ? ninst : 1), sizeof(*c->inst));
    int *dead = calloc((size_t)(ninst ? ninst : 1), sizeof(int));
    if (!c->inst || !dead) {
        free(c->inst);
        free(dead);
        c->inst = NULL;
        return gp_err_set(err, -ENOMEM, "out of memory opening counters");
    }
    memcpy(c->inst, inst, sizeof(*inst) * (size_t)ninst);
    c->ninst = ninst;
    struct opener o = {
            c,        attrs, inherit, enable_on_exec, open_fn ? open_fn : ps_sys_perf_event_open,
            open_ctx, dead};
    for (int i = 0; i < ngroups; i++) {
        int rc = open_group(&o, &groups[i]);
        if (rc) {
            free(dead);
            ps_counters_close(c);
            return gp_err_set(err, rc, "out of memory opening counters");
        }
    }
    free(dead);
    return 0;
}

void ps_counters_close(struct ps_counters *c)
{
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        if (!c->fd[ev])
            continue;
        for (int i = 0; i < c->ninst; i++)
            if (c->fd[ev][i] >= 0)
                close(c->fd[ev][i]);
        free(c->fd[ev]);
        c->fd[ev] = NULL;
    }
    free(c->inst);
    c->inst = NULL;
    c->ninst = 0;
}
