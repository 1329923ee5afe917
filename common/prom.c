/* prom.c — Prometheus text exposition (see prom.h). */
#include "common/prom.h"

#include <math.h>
#include <stdio.h>

static void escape(struct strbuf *sb, const char *s, int help)
{
    for (; *s; s++) {
        if (*s == '\\')
            sb_puts(sb, "\\\\");
        else if (*s == '\n')
            sb_puts(sb, "\\n");
        else if (*s == '"' && !help)
            sb_puts(sb, "\\\"");
        else
            sb_putc(sb, *s);
    }
}

void prom_family(struct strbuf *sb, const char *name, const char *type, const char *help)
{
    sb_printf(sb, "# HELP %s ", name);
    escape(sb, help, 1);
    sb_printf(sb, "\n# TYPE %s %s\n", name, type);
}

static void series(struct strbuf *sb, const char *name, const char *suffix,
                   const struct prom_label *labels, size_t n, const char *le)
{
    sb_puts(sb, name);
    sb_puts(sb, suffix);
    if (!n && !le)
        return;
    sb_putc(sb, '{');
    for (size_t i = 0; i < n; i++) {
        sb_printf(sb, "%s%s=\"", i ? "," : "", labels[i].name);
        escape(sb, labels[i].value ? labels[i].value : "", 0);
        sb_putc(sb, '"');
    }
    if (le)
        sb_printf(sb, "%sle=\"%s\"", n ? "," : "", le);
    sb_putc(sb, '}');
}

static void value(struct strbuf *sb, double v)
{
    if (isnan(v))
        sb_puts(sb, " NaN\n");
    else if (isinf(v))
        sb_puts(sb, v > 0 ? " +Inf\n" : " -Inf\n");
    else
        sb_printf(sb, " %.15g\n", v);
}

void prom_u64(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
              uint64_t v)
{
    series(sb, name, "", labels, n, NULL);
    sb_printf(sb, " %llu\n", (unsigned long long)v);
}

void prom_f64(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
              double v)
{
    series(sb, name, "", labels, n, NULL);
    value(sb, v);
}

void prom_histogram(struct strbuf *sb, const char *name, const struct prom_label *labels, size_t n,
                    const double *bounds, size_t nbounds, const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    char le[32];
    for (size_t i = 0; i <= nbounds; i++) {
        cum += counts[i];
        if (i < nbounds)
            snprintf(le, sizeof(le), "%.6g", bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        series(sb, name, "_bucket", labels, n, le);
        sb_printf(sb, " %llu\n", (unsigned long long)cum);
    }
    series(sb, name, "_sum", labels, n, NULL);
    value(sb, sum);
    series(sb, name, "_count", labels, n, NULL);
    sb_printf(sb, " %llu\n", (unsigned long long)cum);
}
