/* table.c — the `perf stat`-like text output: event counts with multiplexing, the hardware
 * availability line, derived metrics with their meaning, and `-I` per-interval lines. */
#include "perfspect/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* 1234567.8 -> "1,234,568" (or with decimals). */
static const char *fmt_num(double v, int decimals, char *buf, size_t size)
{
    char raw[64];
    snprintf(raw, sizeof(raw), "%.*f", decimals, fabs(v));
    char *dot = strchr(raw, '.');
    size_t intlen = dot ? (size_t)(dot - raw) : strlen(raw);
    size_t o = 0;
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (size_t i = 0; i < intlen && o + 2 < size; i++) {
        buf[o++] = raw[i];
        size_t left = intlen - i - 1;
        if (left && left % 3 == 0)
            buf[o++] = ',';
    }
    if (dot)
        for (const char *p = dot; *p && o + 1 < size; p++)
            buf[o++] = *p;
    buf[o] = '\0';
    return buf;
}

static void target_desc(const struct ps_report *r, char *buf, size_t size)
{
    if (r->system_wide) {
        snprintf(buf, size, "system-wide (%d CPUs)", r->ncpus);
        return;
    }
    size_t o = (size_t)snprintf(buf, size, "pid");
    for (size_t i = 0; i < r->npids && o < size; i++)
        o += (size_t)snprintf(buf + o, size - o, "%s%d", i ? "," : " ", (int)r->pids[i]);
}

static void print_event(const struct ps_report *r, const struct ps_evval *tot, int ev, double dt,
                        FILE *f)
{
    char num[64];
    const char *name = ps_event_info((enum ps_ev)ev)->name;
    if (!r->ev_counted[ev]) {
        for (size_t i = 0; i < r->nrefused; i++)
            if ((int)r->refused[i].ev == ev)
                fprintf(f, "   %18s      %-26s\n", "<not supported>", name);
        return;
    }
    if (!tot[ev].present) {
        fprintf(f, "   %18s      %-26s\n", "<not counted>", name);
        return;
    }
    double v = tot[ev].scaled;
    double pct = tot[ev].enabled ? 100.0 * (double)tot[ev].running / (double)tot[ev].enabled : 100;
    if (ev == PS_EV_TASK_CLOCK) {
        fprintf(f, "   %18s msec %-26s", fmt_num(v / 1e6, 2, num, sizeof(num)), name);
        if (dt > 0)
            fprintf(f, " # %8.3f CPUs utilized", v / 1e9 / dt);
    } else {
        fprintf(f, "   %18s      %-26s", fmt_num(v, 0, num, sizeof(num)), name);
        if (ev < PS_EV_FIRST_HW && dt > 0)
            fprintf(f, " # %10.1f /sec", v / dt);
    }
    if (ev >= PS_EV_FIRST_HW && pct < 99.995)
        fprintf(f, "  (%.2f%% of the time on the PMU; scaled)", pct);
    fputc('\n', f);
}

int ps_report_print_table(const struct ps_report *r, FILE *f)
{
    struct ps_evval tot[PS_EV_COUNT];
    struct ps_procdelta pd;
    double dt;
    char tgt[256], num[64];
    ps_report_totals(r, tot, &pd, &dt);
    target_desc(r, tgt, sizeof(tgt));
    fprintf(f, "\n Performance counter stats for %s, %.2f s in %zu interval%s of %u ms:\n\n", tgt,
            dt, r->niv, r->niv == 1 ? "" : "s", r->interval_ms);
    for (int ev = 0; ev < PS_EV_COUNT; ev++)
        print_event(r, tot, ev, dt, f);
    fputc('\n', f);
    if (r->hw_line[0]) {
        fprintf(f, " %s\n", r->hw_line);
        int same = 1;
        for (size_t i = 1; i < r->nrefused; i++)
            same &= !strcmp(r->refused[i].reason, r->refused[0].reason);
        if (r->nrefused && same) {
            fprintf(f, " refused events (%zu):", r->nrefused);
            for (size_t i = 0; i < r->nrefused; i++)
                fprintf(f, "%s %s", i ? "," : "", ps_event_info(r->refused[i].ev)->name);
            fprintf(f, "\n   reason: %s\n", r->refused[0].reason);
        } else if (r->nrefused) {
            fprintf(f, " refused events (%zu):\n", r->nrefused);
            for (size_t i = 0; i < r->nrefused; i++)
                fprintf(f, "   %-26s %s\n", ps_event_info(r->refused[i].ev)->name,
                        r->refused[i].reason);
        }
        fputc('\n', f);
    } else if (r->nrefused) {
        fprintf(f, " refused events:\n");
        for (size_t i = 0; i < r->nrefused; i++)
            fprintf(f, "   %-26s %s\n", ps_event_info(r->refused[i].ev)->name,
                    r->refused[i].reason);
        fputc('\n', f);
    }
    fprintf(f, " %-34s %12s %12s %12s   %s\n", "Derived metric", "value", "mean", "p95", "meaning");
    char absent[1024] = "";
    size_t ao = 0;
    for (int m = 0; m < PS_M_COUNT; m++) {
        const struct ps_metric_info *mi = ps_metric_info((enum ps_metric)m);
        struct ps_stat st;
        ps_report_stat(r, (enum ps_metric)m, &st);
        if (!st.n && !st.has_value) {
            if (ao < sizeof(absent))
                ao += (size_t)snprintf(absent + ao, sizeof(absent) - ao, "%s%s", ao ? ", " : "",
                                       mi->key);
            continue;
        }
        char v[32] = "-", mean[32] = "-", p95[32] = "-";
        if (st.has_value)
            snprintf(v, sizeof(v), "%s", fmt_num(st.value, 2, num, sizeof(num)));
        if (st.n) {
            snprintf(mean, sizeof(mean), "%s", fmt_num(st.mean, 2, num, sizeof(num)));
            snprintf(p95, sizeof(p95), "%s", fmt_num(st.p95, 2, num, sizeof(num)));
        }
        fprintf(f, "   %-32s %12s %12s %12s   %s\n", mi->display, v, mean, p95, mi->meaning);
    }
    if (absent[0])
        fprintf(f, "\n not measured (absent, not zero): %s\n", absent);
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}

int ps_report_print_interval(const struct ps_report *r, size_t idx, FILE *f)
{
    if (idx >= r->niv)
        return -1;
    const struct ps_interval *iv = &r->iv[idx];
    char num[64];
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        if (!r->ev_counted[ev])
            continue;
        const char *name = ps_event_info((enum ps_ev)ev)->name;
        if (!iv->ev[ev].present)
            fprintf(f, "%14.6f %18s      %s\n", iv->t_s, "<not counted>", name);
        else if (ev == PS_EV_TASK_CLOCK)
            fprintf(f, "%14.6f %18s msec %s\n", iv->t_s,
                    fmt_num(iv->ev[ev].scaled / 1e6, 2, num, sizeof(num)), name);
        else
            fprintf(f, "%14.6f %18s      %s\n", iv->t_s,
                    fmt_num(iv->ev[ev].scaled, 0, num, sizeof(num)), name);
    }
    for (int m = 0; m < PS_M_COUNT; m++)
        if (iv->mp[m])
            fprintf(f, "%14.6f %18s      %s\n", iv->t_s, fmt_num(iv->m[m], 2, num, sizeof(num)),
                    ps_metric_info((enum ps_metric)m)->display);
    return ferror(f) ? -1 : 0;
}
