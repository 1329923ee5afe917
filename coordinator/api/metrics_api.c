/* metrics_api.c — CPU and memory metrics from the query engine: a range's summary and its
 * graph in time buckets, as Performance Studio answers them. */
#include "coordinator/api/query_params.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A Performance Studio summary object of points. */
static json_object *summary_json(const struct query_point *v, size_t n)
{
    struct query_summary s;
    query_summarize(v, n, &s);
    json_object *o = json_object_new_object();
    if (s.has_cpu) {
        json_object_object_add(o, "avg_cpu", json_object_new_double(s.avg_cpu));
        json_object_object_add(o, "max_cpu", json_object_new_double(s.max_cpu));
    }
    if (s.has_mem) {
        json_object_object_add(o, "avg_memory", json_object_new_double(s.avg_mem));
        json_object_object_add(o, "max_memory", json_object_new_double(s.max_mem));
        if (s.has_mem_pct)
            json_object_object_add(o, "percentile_memory", json_object_new_double(s.pct_mem));
    }
    json_object_object_add(o, "uniq_hostnames", json_object_new_int64(s.uniq_hosts));
    json_object_object_add(o, "samples", json_object_new_int64((int64_t)s.samples));
    return o;
}

/* Loads the series and frees p; on an error or no data answers (500/503 or 204) and returns
 * false. */
static bool load_series_or_answer(struct coord_api *api, struct api_query *p, int64_t bucket,
                                  struct query_series *s, struct http_resp *w)
{
    struct gp_err err = {0};
    int rc = query_series_load(api->store->index, p->service, p->start, p->end, bucket, &p->spec, s,
                               &err);
    api_query_free(p);
    if (rc)
        api_store_error(w, rc, &err);
    else if (s->n == 0)
        http_resp_empty(w, 204);
    else
        return true;
    query_series_free(s);
    return false;
}

void api_metrics_summary(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    struct query_series s = {0};
    int64_t bucket = p.end - p.start;
    if (bucket < 60)
        bucket = 60;
    bucket = (bucket + 59) / 60 * 60;
    if (!load_series_or_answer(api, &p, bucket, &s, w))
        return;
    json_object *o = summary_json(s.v, s.n);
    query_series_free(&s);
    http_resp_json(w, 200, o);
}

static int64_t parse_interval(const char *s)
{
    static const struct {
        const char *name;
        int64_t secs;
    } iv[] = {{"15 seconds", 60}, {"30 seconds", 60},  {"1 minutes", 60},
              {"5 minutes", 300}, {"15 minutes", 900}, {"1 hours", 3600},
              {"2 hours", 7200},  {"6 hours", 21600},  {"24 hours", 86400}};
    for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++)
        if (strcmp(s, iv[i].name) == 0)
            return iv[i].secs;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end == '\0' && v >= 60 && v <= 366 * 86400LL)
        return (v + 59) / 60 * 60;
    return -1;
}

static int64_t auto_interval(int64_t range)
{
    if (range <= 3600)
        return 60;
    if (range <= 86400)
        return 900;
    if (range <= 7 * 86400)
        return 7200;
    if (range <= 14 * 86400)
        return 21600;
    return 86400;
}

void api_metrics_graph(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    int64_t bucket = auto_interval(p.end - p.start);
    const char *ri = http_query(r, "requested_interval");
    if (!ri)
        ri = http_query(r, "interval");
    if (ri && *ri && (bucket = parse_interval(ri)) < 0) {
        api_query_free(&p);
        http_resp_msg(w, 400,
                      "requested_interval must be like '5 minutes', '1 hours' or seconds >= 60");
        return;
    }
    struct query_series s = {0};
    if (!load_series_or_answer(api, &p, bucket, &s, w))
        return;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < s.n;) {
        size_t j = i;
        while (j < s.n && s.v[j].bucket == s.v[i].bucket)
            j++;
        json_object *o = summary_json(s.v + i, j - i);
        char ts[32];
        tu_format(s.v[i].bucket, ts, sizeof(ts));
        json_object_object_add(o, "time", json_object_new_string(ts));
        json_object *hosts = json_object_new_array();
        for (size_t k = i; k < j; k++) {
            json_object *h = json_object_new_object();
            json_object_object_add(h, "hostname", json_object_new_string(s.v[k].host));
            json_object_object_add(h, "samples", json_object_new_int64((int64_t)s.v[k].samples));
            json_object_object_add(h, "cpu_avg",
                                   s.v[k].cpu_avg >= 0 ? json_object_new_double(s.v[k].cpu_avg)
                                                       : NULL);
            json_object_object_add(h, "mem_avg",
                                   s.v[k].mem_avg >= 0 ? json_object_new_double(s.v[k].mem_avg)
                                                       : NULL);
            json_object_array_add(hosts, h);
        }
        json_object_object_add(o, "hosts", hosts);
        json_object_array_add(arr, o);
        i = j;
    }
    query_series_free(&s);
    http_resp_json(w, 200, arr);
}
