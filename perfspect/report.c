/* report.c — the engine: turns cumulative snapshots into intervals (deltas, multiplexing
 * scaling, derived metrics) and answers questions about the report (totals, mean, p95). */
#include "perfspect/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ps_report *ps_report_new(void)
{
    struct ps_report *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        r->ev_scale[ev] = 1.0;
    r->interval_ms = 1000;
    return r;
}

void ps_report_free(struct ps_report *r)
{
    if (!r)
        return;
    ps_snapshot_clear(&r->prev);
    free(r->iv);
    free(r->pids);
    free(r);
}

static uint64_t sub(uint64_t a, uint64_t b)
{
    return a >= b ? a - b : 0; /* counters only grow; a wrap would be a kernel bug */
}

int ps_report_push(struct ps_report *r, struct ps_snapshot *s, struct gp_err *err)
{
    if (!r->have_prev) {
        r->prev = *s;
        memset(s->reads, 0, sizeof(s->reads));
        r->t0_ns = s->t_ns;
        r->have_prev = 1;
        return 0;
    }
    if (r->niv == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct ps_interval *iv = realloc(r->iv, cap * sizeof(*iv));
        if (!iv)
            return gp_err_set(err, -ENOMEM, "out of memory storing interval %zu", r->niv);
        r->iv = iv;
        r->cap = cap;
    }
    struct ps_interval *iv = &r->iv[r->niv];
    memset(iv, 0, sizeof(*iv));
    const struct ps_snapshot *p = &r->prev;
    iv->t_s = (double)sub(s->t_ns, r->t0_ns) / 1e9;
    iv->dt_s = (double)sub(s->t_ns, p->t_ns) / 1e9;
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        struct ps_evval *e = &iv->ev[ev];
        if (!s->ninst[ev] || s->ninst[ev] != p->ninst[ev] || !s->reads[ev] || !p->reads[ev])
            continue;
        e->present = 1;
        double scaled = 0;
        for (int i = 0; i < s->ninst[ev]; i++) {
            uint64_t dv = sub(s->reads[ev][i].value, p->reads[ev][i].value);
            uint64_t de = sub(s->reads[ev][i].enabled, p->reads[ev][i].enabled);
            uint64_t dr = sub(s->reads[ev][i].running, p->reads[ev][i].running);
            e->raw += dv;
            e->enabled += de;
            e->running += dr;
            if (dr > 0)
                scaled += (double)dv * ((double)de / (double)dr);
            else if (de == 0)
                scaled += (double)dv; /* nothing ran there: a real 0 */
            else
                e->present = 0; /* enabled but never scheduled on the PMU: not counted */
        }
        e->scaled = e->present ? scaled * r->ev_scale[ev] : 0;
    }
    if (s->have_procstat && p->have_procstat) {
        iv->pd.have_procstat = 1;
        const struct ps_procstat *a = &s->procstat, *b = &p->procstat;
        iv->pd.d = (struct ps_procstat){sub(a->user, b->user),       sub(a->nice, b->nice),
                                        sub(a->system, b->system),   sub(a->idle, b->idle),
                                        sub(a->iowait, b->iowait),   sub(a->irq, b->irq),
                                        sub(a->softirq, b->softirq), sub(a->steal, b->steal)};
    }
    if (s->have_mem) {
        iv->pd.have_mem = 1;
        iv->pd.mem_used_kb = (double)s->mem_used_kb;
    }
    if (s->have_rss) {
        iv->pd.have_rss = 1;
        iv->pd.rss_kb = (double)s->rss_kb;
    }
    ps_metrics_compute(iv->ev, &iv->pd, iv->dt_s, r->topdown, iv->m, iv->mp);
    r->niv++;
    ps_snapshot_clear(&r->prev);
    r->prev = *s;
    memset(s->reads, 0, sizeof(s->reads));
    return 0;
}

void ps_report_totals(const struct ps_report *r, struct ps_evval *tot, struct ps_procdelta *pd,
                      double *dt_s)
{
    memset(tot, 0, sizeof(*tot) * PS_EV_COUNT);
    memset(pd, 0, sizeof(*pd));
    double dt = 0;
    size_t nmem = 0, nrss = 0;
    int all_ps = r->niv > 0;
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        tot[ev].present = r->niv > 0;
    for (size_t i = 0; i < r->niv; i++) {
        const struct ps_interval *iv = &r->iv[i];
        dt += iv->dt_s;
        for (int ev = 0; ev < PS_EV_COUNT; ev++) {
            if (!iv->ev[ev].present) {
                tot[ev].present = 0;
                continue;
            }
            tot[ev].scaled += iv->ev[ev].scaled;
            tot[ev].raw += iv->ev[ev].raw;
            tot[ev].enabled += iv->ev[ev].enabled;
            tot[ev].running += iv->ev[ev].running;
        }
        if (iv->pd.have_procstat) {
            const struct ps_procstat *d = &iv->pd.d;
            pd->d.user += d->user;
            pd->d.nice += d->nice;
            pd->d.system += d->system;
            pd->d.idle += d->idle;
            pd->d.iowait += d->iowait;
            pd->d.irq += d->irq;
            pd->d.softirq += d->softirq;
            pd->d.steal += d->steal;
        } else {
            all_ps = 0;
        }
        if (iv->pd.have_mem) {
            pd->mem_used_kb += iv->pd.mem_used_kb;
            nmem++;
        }
        if (iv->pd.have_rss) {
            pd->rss_kb += iv->pd.rss_kb;
            nrss++;
        }
    }
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        if (!tot[ev].present)
            memset(&tot[ev], 0, sizeof(tot[ev]));
    pd->have_procstat = all_ps;
    pd->have_mem = nmem > 0;
    pd->mem_used_kb = nmem ? pd->mem_used_kb / (double)nmem : 0;
    pd->have_rss = nrss > 0;
    pd->rss_kb = nrss ? pd->rss_kb / (double)nrss : 0;
    *dt_s = dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void ps_report_stat(const struct ps_report *r, enum ps_metric m, struct ps_stat *out)
{
    memset(out, 0, sizeof(*out));
    double *v = r->niv ? malloc(sizeof(double) * r->niv) : NULL;
    size_t n = 0;
    double sum = 0;
    for (size_t i = 0; i < r->niv; i++)
        if (r->iv[i].mp[m]) {
            if (v)
                v[n] = r->iv[i].m[m];
            sum += r->iv[i].m[m];
            n++;
        }
    out->n = n;
    if (n && v) {
        qsort(v, n, sizeof(double), cmp_double);
        out->mean = sum / (double)n;
        out->min = v[0];
        out->max = v[n - 1];
        size_t rank = (size_t)ceil(0.95 * (double)n); /* nearest-rank p95 */
        out->p95 = v[rank ? rank - 1 : 0];
    }
    free(v);
    if (ps_metric_info(m)->kind == PS_MK_GAUGE) {
        out->has_value = n > 0;
        out->value = out->mean;
        return;
    }
    struct ps_evval tot[PS_EV_COUNT];
    struct ps_procdelta pd;
    double dt, val[PS_M_COUNT];
    int present[PS_M_COUNT];
    ps_report_totals(r, tot, &pd, &dt);
    ps_metrics_compute(tot, &pd, dt, r->topdown, val, present);
    out->has_value = present[m];
    out->value = present[m] ? val[m] : 0;
}

void ps_report_refuse(struct ps_report *r, enum ps_ev ev, int errnum, const char *reason)
{
    for (size_t i = 0; i < r->nrefused; i++)
        if (r->refused[i].ev == ev)
            return;
    if (r->nrefused >= PS_EV_COUNT)
        return;
    struct ps_refusal *f = &r->refused[r->nrefused++];
    f->ev = ev;
    if (reason)
        snprintf(f->reason, sizeof(f->reason), "%s", reason);
    else if (errnum == ENOENT || errnum == EOPNOTSUPP)
        snprintf(f->reason, sizeof(f->reason), "not supported (%s)", strerror(errnum));
    else if (errnum == EMFILE || errnum == ENFILE)
        snprintf(f->reason, sizeof(f->reason),
                 "%s; raise the open-file limit (ulimit -n) or count fewer threads",
                 strerror(errnum));
    else if (errnum == EACCES || errnum == EPERM)
        snprintf(f->reason, sizeof(f->reason),
                 "%s; run as root or lower kernel.perf_event_paranoid", strerror(errnum));
    else
        snprintf(f->reason, sizeof(f->reason), "%s", strerror(errnum));
}

/* --- public accessors --- */

int ps_report_metric(const struct ps_report *r, const char *key, struct ps_stat *out)
{
    int m = ps_metric_by_key(key);
    if (m < 0)
        return -ENOENT;
    ps_report_stat(r, (enum ps_metric)m, out);
    return out->n || out->has_value ? 0 : -ENOENT;
}

int ps_report_interval_metric(const struct ps_report *r, size_t idx, const char *key, double *v)
{
    int m = ps_metric_by_key(key);
    if (m < 0 || idx >= r->niv || !r->iv[idx].mp[m])
        return -ENOENT;
    *v = r->iv[idx].m[m];
    return 0;
}

int ps_report_event_total(const struct ps_report *r, const char *event, double *count,
                          double *running_pct)
{
    int ev = ps_event_by_name(event);
    if (ev < 0)
        return -ENOENT;
    struct ps_evval tot[PS_EV_COUNT];
    struct ps_procdelta pd;
    double dt;
    ps_report_totals(r, tot, &pd, &dt);
    if (!tot[ev].present)
        return -ENOENT;
    *count = tot[ev].scaled;
    if (running_pct)
        *running_pct =
                tot[ev].enabled ? 100.0 * (double)tot[ev].running / (double)tot[ev].enabled : 100.0;
    return 0;
}

size_t ps_report_ninterval(const struct ps_report *r)
{
    return r->niv;
}

int ps_report_hw_available(const struct ps_report *r)
{
    for (int ev = PS_EV_FIRST_HW; ev < PS_EV_COUNT; ev++)
        if (r->ev_counted[ev])
            return 1;
    return 0;
}

const char *ps_report_hw_line(const struct ps_report *r)
{
    return r->hw_line[0] ? r->hw_line : NULL;
}

size_t ps_report_nrefused(const struct ps_report *r)
{
    return r->nrefused;
}

const char *ps_report_refused(const struct ps_report *r, size_t i, const char **reason)
{
    if (i >= r->nrefused)
        return NULL;
    if (reason)
        *reason = r->refused[i].reason;
    return ps_event_info(r->refused[i].ev)->name;
}
