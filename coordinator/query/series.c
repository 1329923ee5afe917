/* series.c — the query engine's metric series: per-host points in time buckets and their
 * Performance Studio summary (averages, maxima, 90th percentile of memory). */
#include "coordinator/query/query.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int series_cb(const struct index_series_point *x, void *ctx)
{
    struct query_series *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct query_point *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    struct query_point *p = &s->v[s->n];
    p->bucket = x->bucket;
    p->host = strdup(x->hostname ? x->hostname : "");
    if (!p->host)
        return -ENOMEM;
    p->samples = x->samples;
    p->cpu_avg = x->cpu_avg;
    p->cpu_max = x->cpu_max;
    p->mem_avg = x->mem_avg;
    p->mem_max = x->mem_max;
    s->n++;
    return 0;
}

void query_series_free(struct query_series *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].host);
    free(s->v);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int query_series_load(struct sample_index *si, const char *service, int64_t start, int64_t end,
                      int64_t bucket, const struct query_spec *s, struct query_series *out,
                      struct gp_err *err)
{
    int rc = index_series(si, service, start, end, bucket, &s->host_f, series_cb, out, err);
    return rc == -ENOENT ? 0 : rc;
}

void query_summarize(const struct query_point *v, size_t n, struct query_summary *out)
{
    double cpu_sum = 0, mem_sum = 0, cpu_max = -1, mem_max = -1;
    size_t ncpu = 0, nmem = 0;
    uint64_t samples = 0;
    double *mems = malloc((n ? n : 1) * sizeof(double));
    size_t uniq = 0;
    for (size_t i = 0; i < n; i++) {
        samples += v[i].samples;
        if (v[i].cpu_avg >= 0) {
            cpu_sum += v[i].cpu_avg;
            ncpu++;
        }
        if (v[i].cpu_max > cpu_max)
            cpu_max = v[i].cpu_max;
        if (v[i].mem_avg >= 0) {
            mem_sum += v[i].mem_avg;
            if (mems)
                mems[nmem] = v[i].mem_avg;
            nmem++;
        }
        if (v[i].mem_max > mem_max)
            mem_max = v[i].mem_max;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(v[j].host, v[i].host) == 0;
        uniq += !seen;
    }
    memset(out, 0, sizeof(*out));
    if (ncpu) {
        out->has_cpu = true;
        out->avg_cpu = cpu_sum / (double)ncpu;
        out->max_cpu = cpu_max;
    }
    if (nmem) {
        out->has_mem = true;
        out->avg_mem = mem_sum / (double)nmem;
        out->max_mem = mem_max;
        if (mems) {
            qsort(mems, nmem, sizeof(double), cmp_double);
            out->has_mem_pct = true;
            out->pct_mem = mems[(size_t)ceil(0.9 * (double)nmem) - 1];
        }
    }
    free(mems);
    out->uniq_hosts = (int64_t)uniq;
    out->samples = samples;
}
