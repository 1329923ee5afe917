/* sampler.c — the sampler interface: the factory (engine choice with a fallback notice), the
 * dispatch through the engines' ops vtable, and the names of kinds and events. */
#include "agent/sampler/sampler.h"
#include "agent/sampler/engine.h"
#include "agent/sampler/perf_event.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

const char *gp_sampler_kind_name(enum gp_sampler_kind k)
{
    return k == GP_SAMPLER_PERF ? "perf" : "bpf";
}

const char *gp_sample_event_name(enum gp_sample_event e)
{
    return e == GP_EVENT_CYCLES ? "cycles" : "cpu-clock";
}

int gp_sampler_parse_kind(const char *s, enum gp_sampler_kind *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "bpf"))
        *out = GP_SAMPLER_BPF;
    else if (!strcmp(s, "perf"))
        *out = GP_SAMPLER_PERF;
    else
        return -EINVAL;
    return 0;
}

int gp_sample_event_parse(const char *s, enum gp_sample_event *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "cpu-clock"))
        *out = GP_EVENT_CPU_CLOCK;
    else if (!strcmp(s, "cycles"))
        *out = GP_EVENT_CYCLES;
    else
        return -EINVAL;
    return 0;
}

int gp_sampler_open(const struct gp_sampler_opts *o, struct gp_sampler **out, struct gp_err *err)
{
    *out = NULL;
    if (!o)
        return gp_err_set(err, -EINVAL, "sampler options missing");
    if (o->npids && !o->pids)
        return gp_err_set(err, -EINVAL, "sampler options: npids without pids");
    if (o->kind == GP_SAMPLER_PERF)
        return gp_sampler_perf_open(o, out, err);
    return gp_sampler_bpf_open(o, out, NULL, err);
}

int gp_sampler_open_auto(const struct gp_sampler_opts *o, struct gp_sampler **out, char *notice,
                         size_t notice_len, struct gp_err *err)
{
    if (notice && notice_len)
        notice[0] = '\0';
    if (o && o->kind == GP_SAMPLER_PERF)
        return gp_sampler_open(o, out, err);
    if (!o)
        return gp_sampler_open(o, out, err);
    struct gp_err berr = {0};
    int bpf_failed = 0;
    int rc = gp_sampler_bpf_open(o, out, &bpf_failed, &berr);
    if (rc == 0)
        return 0;
    /* Errors before the BPF stage (no such pid, perf_event_open refused, no PMU) would hit the
     * perf engine the same way: report them as they are. */
    if (!bpf_failed) {
        if (err)
            *err = berr;
        return rc;
    }
    struct gp_sampler_opts po = *o;
    po.kind = GP_SAMPLER_PERF;
    struct gp_err perr = {0};
    int prc = gp_sampler_perf_open(&po, out, &perr);
    if (prc) {
        return gp_err_set(err, prc, "BPF sampler unavailable (%s); perf_event sampler too: %s",
                          berr.msg, perr.msg);
    }
    if (notice && notice_len)
        snprintf(notice, notice_len, "BPF sampler unavailable (%s); using the perf_event sampler",
                 berr.msg);
    return 0;
}

enum gp_sampler_kind gp_sampler_kind(const struct gp_sampler *s)
{
    return s->ops->kind;
}

int gp_sampler_start(struct gp_sampler *s, struct gp_err *err)
{
    return s->ops->start(s, err);
}

void gp_sampler_stop(struct gp_sampler *s)
{
    s->ops->stop(s);
}

int gp_sampler_poll_events(struct gp_sampler *s, int timeout_ms,
                           void (*cb)(const struct gp_proc_event *, void *), void *ctx)
{
    return s->ops->poll_events(s, timeout_ms, cb, ctx);
}

int gp_sampler_drain(struct gp_sampler *s, void (*cb)(const struct gp_raw_sample *, void *),
                     void *ctx, struct gp_err *err)
{
    return s->ops->drain(s, cb, ctx, err);
}

int gp_sampler_add_pid(struct gp_sampler *s, int pid, struct gp_err *err)
{
    uint32_t tgid;
    int rc = gp_sampler_resolve_tgid(pid, &tgid, err);
    if (rc)
        return rc;
    return s->ops->add_tgid(s, tgid, err);
}

int gp_sampler_remove_pid(struct gp_sampler *s, int pid)
{
    if (pid <= 0)
        return -EINVAL;
    int rc = s->ops->remove_tgid(s, (uint32_t)pid);
    if (rc == -ENOENT) { /* maybe a thread id of a filtered process */
        uint32_t tgid;
        if (gp_sampler_resolve_tgid(pid, &tgid, NULL) == 0 && tgid != (uint32_t)pid)
            rc = s->ops->remove_tgid(s, tgid);
    }
    return rc;
}

void gp_sampler_stats(const struct gp_sampler *s, struct gp_sampler_stats *out)
{
    memset(out, 0, sizeof(*out));
    s->ops->stats(s, out);
}

int gp_sampler_bpf_runtime(const struct gp_sampler *s, uint64_t *run_time_ns, uint64_t *run_cnt)
{
    if (!s->ops->bpf_runtime)
        return -EOPNOTSUPP;
    return s->ops->bpf_runtime(s, run_time_ns, run_cnt);
}

void gp_sampler_close(struct gp_sampler *s)
{
    if (s)
        s->ops->close(s);
}
