/* json.c — the report as JSON: target, hardware availability with refused events, per-event
 * totals with multiplexing, metric summary (value/mean/p95) and every interval; absent = null. */
#include "perfspect/internal.h"

#include <errno.h>
#include <math.h>

static json_object *num_or_null(int present, double v)
{
    return present && isfinite(v) ? json_object_new_double(v) : NULL;
}

static const char *td_name(enum ps_topdown td)
{
    return td == PS_TD_PERF_METRICS ? "perf_metrics" : td == PS_TD_LEGACY ? "legacy" : "none";
}

static json_object *evval_json(const struct ps_evval *e)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "count", num_or_null(e->present, e->scaled));
    json_object_object_add(o, "raw", e->present ? json_object_new_int64((int64_t)e->raw) : NULL);
    json_object_object_add(o, "time_enabled_ns", json_object_new_int64((int64_t)e->enabled));
    json_object_object_add(o, "time_running_ns", json_object_new_int64((int64_t)e->running));
    json_object_object_add(
            o, "running_pct",
            num_or_null(e->present && e->enabled > 0,
                        e->enabled ? 100.0 * (double)e->running / (double)e->enabled : 0));
    return o;
}

int ps_report_json(const struct ps_report *r, json_object **out, struct gp_err *err)
{
    json_object *root = json_object_new_object();
    if (!root)
        return gp_err_set(err, -ENOMEM, "out of memory");
    struct ps_evval tot[PS_EV_COUNT];
    struct ps_procdelta pd;
    double dt;
    ps_report_totals(r, tot, &pd, &dt);

    json_object *tg = json_object_new_object();
    json_object_object_add(tg, "mode", json_object_new_string(r->system_wide ? "system" : "pids"));
    json_object *pids = json_object_new_array();
    for (size_t i = 0; i < r->npids; i++)
        json_object_array_add(pids, json_object_new_int(r->pids[i]));
    json_object_object_add(tg, "pids", pids);
    json_object_object_add(tg, "cpus", json_object_new_int(r->ncpus));
    json_object_object_add(tg, "hostname", json_object_new_string(r->hostname));
    json_object_object_add(root, "target", tg);
    json_object_object_add(root, "started_unix", json_object_new_int64(r->started_unix));
    json_object_object_add(root, "interval_ms", json_object_new_int((int)r->interval_ms));
    json_object_object_add(root, "duration_s", json_object_new_double(dt));

    json_object *hw = json_object_new_object();
    int avail = ps_report_hw_available(r);
    json_object_object_add(hw, "available", json_object_new_boolean(avail));
    json_object_object_add(hw, "message",
                           r->hw_line[0] ? json_object_new_string(r->hw_line) : NULL);
    json_object_object_add(hw, "topdown", json_object_new_string(td_name(r->topdown)));
    json_object_object_add(hw, "gp_counters",
                           r->gp_counters ? json_object_new_int(r->gp_counters) : NULL);
    json_object *ref = json_object_new_array();
    for (size_t i = 0; i < r->nrefused; i++) {
        json_object *e = json_object_new_object();
        json_object_object_add(e, "event",
                               json_object_new_string(ps_event_info(r->refused[i].ev)->name));
        json_object_object_add(e, "reason", json_object_new_string(r->refused[i].reason));
        json_object_array_add(ref, e);
    }
    json_object_object_add(hw, "refused", ref);
    json_object_object_add(root, "hardware", hw);

    json_object *evs = json_object_new_object();
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        if (r->ev_counted[ev])
            json_object_object_add(evs, ps_event_info((enum ps_ev)ev)->name, evval_json(&tot[ev]));
    json_object_object_add(root, "events", evs);

    json_object *sum = json_object_new_object();
    for (int m = 0; m < PS_M_COUNT; m++) {
        const struct ps_metric_info *mi = ps_metric_info((enum ps_metric)m);
        struct ps_stat st;
        ps_report_stat(r, (enum ps_metric)m, &st);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(mi->display));
        json_object_object_add(o, "unit", json_object_new_string(mi->unit));
        json_object_object_add(o, "value", num_or_null(st.has_value, st.value));
        json_object_object_add(o, "mean", num_or_null(st.n > 0, st.mean));
        json_object_object_add(o, "p95", num_or_null(st.n > 0, st.p95));
        json_object_object_add(o, "min", num_or_null(st.n > 0, st.min));
        json_object_object_add(o, "max", num_or_null(st.n > 0, st.max));
        json_object_object_add(o, "intervals", json_object_new_int((int)st.n));
        json_object_object_add(o, "meaning", json_object_new_string(mi->meaning));
        json_object_object_add(sum, mi->key, o);
    }
    json_object_object_add(root, "summary", sum);

    json_object *ivs = json_object_new_array();
    for (size_t i = 0; i < r->niv; i++) {
        const struct ps_interval *iv = &r->iv[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "t", json_object_new_double(iv->t_s));
        json_object_object_add(o, "dt", json_object_new_double(iv->dt_s));
        json_object *ms = json_object_new_object();
        for (int m = 0; m < PS_M_COUNT; m++)
            json_object_object_add(ms, ps_metric_info((enum ps_metric)m)->key,
                                   num_or_null(iv->mp[m], iv->m[m]));
        json_object_object_add(o, "metrics", ms);
        json_object *e = json_object_new_object();
        for (int ev = 0; ev < PS_EV_COUNT; ev++)
            if (r->ev_counted[ev])
                json_object_object_add(e, ps_event_info((enum ps_ev)ev)->name,
                                       evval_json(&iv->ev[ev]));
        json_object_object_add(o, "events", e);
        json_object_array_add(ivs, o);
    }
    json_object_object_add(root, "intervals", ivs);
    *out = root;
    return 0;
}
