/* html.c — the self-contained HTML report (gProfiler's htmlblob): summary tables and one inline
 * SVG chart per metric over the intervals; no script, no network (strict CSP). */
#include "perfspect/internal.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

/* 12345.6 -> "12346", 1.23456 -> "1.235": readable without exponents. */
static void num(struct strbuf *sb, double v)
{
    if (fabs(v) >= 1000)
        sb_printf(sb, "%.0f", v);
    else
        sb_printf(sb, "%.4g", v);
}

#define CW   640
#define CH   160
#define PADL 70
#define PADB 24
#define PADT 10

/* One line chart of metric m against interval end time; gaps where the metric was absent. */
static void chart(const struct ps_report *r, enum ps_metric m, struct strbuf *sb)
{
    double lo = INFINITY, hi = -INFINITY, tmax = 0;
    for (size_t i = 0; i < r->niv; i++) {
        if (r->iv[i].t_s > tmax)
            tmax = r->iv[i].t_s;
        if (!r->iv[i].mp[m])
            continue;
        lo = fmin(lo, r->iv[i].m[m]);
        hi = fmax(hi, r->iv[i].m[m]);
    }
    if (!(lo <= hi))
        return;
    if (lo > 0 && lo < hi * 0.5)
        lo = 0;
    if (hi - lo < 1e-3 * fmax(1.0, fabs(hi))) {
        double pad = fabs(hi) > 0 ? fabs(hi) * 0.1 : 1;
        lo -= pad;
        hi += pad;
    }
    if (tmax <= 0)
        tmax = 1;
    const struct ps_metric_info *mi = ps_metric_info(m);
    sb_puts(sb, "<figure><figcaption>");
    sb_html_text(sb, mi->display);
    sb_puts(sb, "</figcaption>");
    sb_printf(sb, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\">", CW, CH, CW,
              CH);
    int pw = CW - PADL - 10, ph = CH - PADB - PADT;
    sb_printf(sb,
              "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" class=\"plot\"/>"
              "<text x=\"%d\" y=\"%d\" class=\"ax\" text-anchor=\"end\">%.4g</text>"
              "<text x=\"%d\" y=\"%d\" class=\"ax\" text-anchor=\"end\">%.4g</text>"
              "<text x=\"%d\" y=\"%d\" class=\"ax\">0 s</text>"
              "<text x=\"%d\" y=\"%d\" class=\"ax\" text-anchor=\"end\">%.1f s</text>",
              PADL, PADT, pw, ph, PADL - 4, PADT + 10, hi, PADL - 4, PADT + ph, lo, PADL, CH - 6,
              PADL + pw, CH - 6, tmax);
    int open = 0;
    for (size_t i = 0; i < r->niv; i++) {
        if (!r->iv[i].mp[m]) {
            if (open)
                sb_puts(sb, "\"/>");
            open = 0;
            continue;
        }
        double x = PADL + pw * (r->iv[i].t_s / tmax);
        double y = PADT + ph * (1.0 - (r->iv[i].m[m] - lo) / (hi - lo));
        if (!open)
            sb_puts(sb, "<polyline class=\"ln\" points=\"");
        sb_printf(sb, "%s%.1f,%.1f", open ? " " : "", x, y);
        open = 1;
    }
    if (open)
        sb_puts(sb, "\"/>");
    for (size_t i = 0; i < r->niv; i++)
        if (r->iv[i].mp[m])
            sb_printf(sb,
                      "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"><title>%.2f s: %.6g"
                      "</title></circle>",
                      PADL + pw * (r->iv[i].t_s / tmax),
                      PADT + ph * (1.0 - (r->iv[i].m[m] - lo) / (hi - lo)), r->iv[i].t_s,
                      r->iv[i].m[m]);
    sb_puts(sb, "</svg></figure>\n");
}

int ps_report_html(const struct ps_report *r, struct strbuf *sb, struct gp_err *err)
{
    struct ps_evval tot[PS_EV_COUNT];
    struct ps_procdelta pd;
    double dt;
    ps_report_totals(r, tot, &pd, &dt);
    sb_puts(sb, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; img-src data:\">"
                "<title>PerfSpect metrics — ");
    sb_html_text(sb, r->hostname);
    sb_puts(sb, "</title><style>"
                "body{font:14px system-ui,sans-serif;margin:24px;color:#222}"
                "table{border-collapse:collapse;margin:8px 0 20px}"
                "td,th{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right}"
                "td:first-child,th:first-child,td.l,th.l{text-align:left}"
                ".warn{background:#fff4d6;border:1px solid #e0b84c;padding:8px 12px}"
                "figure{display:inline-block;margin:8px 16px 8px 0}"
                "figcaption{font-weight:600;margin-bottom:2px}"
                ".plot{fill:#fafafa;stroke:#bbb}.ln{fill:none;stroke:#1f6fb5;stroke-width:1.5}"
                ".pt{fill:#1f6fb5}.ax{font-size:11px;fill:#555}"
                "</style></head><body>\n<h1>PerfSpect metrics</h1>\n<p>host <b>");
    sb_html_text(sb, r->hostname);
    sb_puts(sb, "</b>, ");
    if (r->system_wide) {
        sb_printf(sb, "system-wide on %d CPUs", r->ncpus);
    } else {
        sb_puts(sb, "pids");
        for (size_t i = 0; i < r->npids; i++)
            sb_printf(sb, " %d", (int)r->pids[i]);
    }
    char when[64] = "";
    time_t t = (time_t)r->started_unix;
    struct tm tm;
    if (r->started_unix && gmtime_r(&t, &tm))
        strftime(when, sizeof(when), ", from %Y-%m-%dT%H:%M:%SZ", &tm);
    sb_printf(sb, "%s, %.2f s in %zu intervals of %u ms.</p>\n", when, dt, r->niv, r->interval_ms);
    if (r->hw_line[0]) {
        sb_puts(sb, "<p class=\"warn\">");
        sb_html_text(sb, r->hw_line);
        /* refused events, grouped by reason */
        int done[PS_EV_COUNT] = {0};
        for (size_t i = 0; i < r->nrefused; i++) {
            if (done[i])
                continue;
            sb_puts(sb, "<br>refused: ");
            int first = 1;
            for (size_t k = i; k < r->nrefused; k++) {
                if (done[k] || strcmp(r->refused[k].reason, r->refused[i].reason) != 0)
                    continue;
                done[k] = 1;
                sb_puts(sb, first ? "" : ", ");
                sb_html_text(sb, ps_event_info(r->refused[k].ev)->name);
                first = 0;
            }
            sb_puts(sb, " — ");
            sb_html_text(sb, r->refused[i].reason);
        }
        sb_puts(sb, "</p>\n");
    }
    sb_puts(sb, "<h2>Summary</h2>\n<table><tr><th>metric</th><th>value</th><th>mean</th>"
                "<th>p95</th><th class=\"l\">meaning</th></tr>\n");
    for (int m = 0; m < PS_M_COUNT; m++) {
        struct ps_stat st;
        ps_report_stat(r, (enum ps_metric)m, &st);
        if (!st.n && !st.has_value)
            continue;
        const struct ps_metric_info *mi = ps_metric_info((enum ps_metric)m);
        sb_puts(sb, "<tr><td>");
        sb_html_text(sb, mi->display);
        sb_puts(sb, "</td><td>");
        if (st.has_value)
            num(sb, st.value);
        else
            sb_puts(sb, "—");
        sb_puts(sb, "</td>");
        if (st.n) {
            sb_puts(sb, "<td>");
            num(sb, st.mean);
            sb_puts(sb, "</td><td>");
            num(sb, st.p95);
            sb_puts(sb, "</td>");
        } else
            sb_puts(sb, "<td>—</td><td>—</td>");
        sb_puts(sb, "<td class=\"l\">");
        sb_html_text(sb, mi->meaning);
        sb_puts(sb, "</td></tr>\n");
    }
    sb_puts(sb, "</table>\n<h2>Events</h2>\n<table><tr><th>event</th><th>count</th>"
                "<th>on PMU %</th></tr>\n");
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        if (!r->ev_counted[ev])
            continue;
        sb_puts(sb, "<tr><td>");
        sb_html_text(sb, ps_event_info((enum ps_ev)ev)->name);
        if (tot[ev].present)
            sb_printf(sb, "</td><td>%.0f</td><td>%.2f</td></tr>\n", tot[ev].scaled,
                      tot[ev].enabled ? 100.0 * (double)tot[ev].running / (double)tot[ev].enabled
                                      : 100.0);
        else
            sb_puts(sb, "</td><td>not counted</td><td>—</td></tr>\n");
    }
    sb_puts(sb, "</table>\n<h2>Per interval</h2>\n");
    for (int m = 0; m < PS_M_COUNT; m++)
        chart(r, (enum ps_metric)m, sb);
    sb_puts(sb, "</body></html>\n");
    if (sb->oom)
        return gp_err_set(err, -ENOMEM, "out of memory rendering the HTML report");
    return 0;
}
