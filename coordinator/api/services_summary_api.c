/* services_summary_api.c — GET /api/services/summary: every service at a glance for the web
 * UI's Services page (hosts seen, samples per bucket, last data, CPU and memory averages). */
#include "coordinator/api/query_params.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Buckets of the sparkline over the range. */
#define SPARK_BUCKETS 24
/* A host whose newest data is at most this old (seconds) counts as active. */
#define ACTIVE_WINDOW 600

struct name_list {
    char (*v)[META_NAME_MAX];
    size_t n, cap;
    bool oom;
};

static int name_cb(const struct meta_service *s, void *ctx)
{
    struct name_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *v = realloc(l->v, cap * sizeof(*l->v));
        if (!v) {
            l->oom = true;
            return -ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    snprintf(l->v[l->n++], META_NAME_MAX, "%s", s->name);
    return 0;
}

struct last_ctx {
    const char *name;
    int64_t last;
    bool found;
};

static int last_cb(const struct index_service_info *s, void *ctx)
{
    struct last_ctx *c = ctx;
    if (strcmp(s->service, c->name) == 0) {
        c->found = true;
        c->last = s->last;
        return 1;
    }
    return 0;
}

/* The hosts of the series with the end of their newest bucket: {"name", "last", "active"}. */
static json_object *hosts_json(const struct query_series *s, int64_t bucket, int64_t now)
{
    json_object *arr = json_object_new_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        const char *h = s->v[i].host ? s->v[i].host : "";
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = s->v[k].host && strcmp(s->v[k].host, h) == 0;
        if (seen)
            continue;
        int64_t last = s->v[i].bucket;
        uint64_t samples = 0;
        for (size_t k = i; k < s->n; k++) {
            if (!s->v[k].host || strcmp(s->v[k].host, h) != 0)
                continue;
            samples += s->v[k].samples;
            if (s->v[k].bucket > last)
                last = s->v[k].bucket;
        }
        int64_t end = last + bucket;
        char ts[32];
        tu_format(end < now ? end : now, ts, sizeof(ts));
        json_object *o = json_object_new_object();
        if (!o)
            continue;
        json_object_object_add(o, "name", json_object_new_string(h));
        json_object_object_add(o, "samples", json_object_new_int64((int64_t)samples));
        json_object_object_add(o, "lastSeen", json_object_new_string(ts));
        json_object_object_add(o, "active", json_object_new_boolean(end >= now - ACTIVE_WINDOW));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* Samples per bucket over [start, end), SPARK_BUCKETS values, zero where there is no data. */
static json_object *spark_json(const struct query_series *s, int64_t start, int64_t bucket)
{
    uint64_t v[SPARK_BUCKETS] = {0};
    for (size_t i = 0; i < s->n; i++) {
        int64_t k = (s->v[i].bucket - start) / bucket;
        if (k < 0)
            k = 0;
        if (k >= SPARK_BUCKETS)
            k = SPARK_BUCKETS - 1;
        v[k] += s->v[i].samples;
    }
    json_object *arr = json_object_new_array();
    for (size_t k = 0; arr && k < SPARK_BUCKETS; k++)
        json_object_array_add(arr, json_object_new_int64((int64_t)v[k]));
    return arr;
}

static int service_json(struct coord_api *api, const char *name, int64_t start, int64_t end,
                        int64_t bucket, int64_t now, json_object *out, struct gp_err *err)
{
    struct query_spec spec = {0};
    query_spec_prepare(&spec);
    struct query_series s = {0};
    int rc = query_series_load(api->store->index, name, start, end, bucket, &spec, &s, err);
    query_spec_free(&spec);
    if (rc == -ENOENT)
        rc = 0;
    if (rc)
        return rc;
    struct last_ctx lc = {.name = name};
    rc = index_services(api->store->index, last_cb, &lc, err);
    if (rc < 0 && rc != -ENOENT) {
        query_series_free(&s);
        return rc;
    }
    struct query_summary sum;
    query_summarize(s.v, s.n, &sum);
    json_object *o = json_object_new_object();
    json_object *hosts = hosts_json(&s, bucket, now), *spark = spark_json(&s, start, bucket);
    if (!o || !hosts || !spark) {
        json_object_put(o);
        json_object_put(hosts);
        json_object_put(spark);
        query_series_free(&s);
        return gp_err_set(err, -ENOMEM, "out of memory building the services summary");
    }
    int64_t active = 0;
    for (size_t i = 0; i < json_object_array_length(hosts); i++) {
        json_object *a;
        if (json_object_object_get_ex(json_object_array_get_idx(hosts, i), "active", &a) &&
            json_object_get_boolean(a))
            active++;
    }
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "samples", json_object_new_int64((int64_t)sum.samples));
    json_object_object_add(o, "hosts", hosts);
    json_object_object_add(o, "activeHosts", json_object_new_int64(active));
    json_object_object_add(o, "spark", spark);
    if (lc.found) {
        char ts[32];
        tu_format(lc.last, ts, sizeof(ts));
        json_object_object_add(o, "lastData", json_object_new_string(ts));
    } else {
        json_object_object_add(o, "lastData", NULL);
    }
    json_object_object_add(o, "avgCpu", sum.has_cpu ? json_object_new_double(sum.avg_cpu) : NULL);
    json_object_object_add(o, "avgMemory",
                           sum.has_mem ? json_object_new_double(sum.avg_mem) : NULL);
    json_object_array_add(out, o);
    query_series_free(&s);
    return 0;
}

void api_services_summary(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    int64_t now = coord_now();
    int64_t start = now - 24 * 3600, end = now + 60;
    if (!api_time_param(r, w, "startTime", false, &start) ||
        !api_time_param(r, w, "endTime", false, &end))
        return;
    if (end <= start) {
        http_resp_msg(w, 400, "endTime must be after startTime");
        return;
    }
    int64_t bucket = (end - start + SPARK_BUCKETS - 1) / SPARK_BUCKETS;
    bucket = bucket < 60 ? 60 : (bucket + 59) / 60 * 60;
    struct name_list names = {0};
    struct gp_err err = {0};
    int rc = meta_service_list(api->store->meta, name_cb, &names, &err);
    if (names.oom) {
        free(names.v);
        http_resp_msg(w, 500, "out of memory listing the services");
        return;
    }
    json_object *arr = rc ? NULL : json_object_new_array();
    if (!rc && !arr)
        rc = gp_err_set(&err, -ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < names.n; i++)
        rc = service_json(api, names.v[i], start, end, bucket, now, arr, &err);
    free(names.v);
    if (rc) {
        json_object_put(arr);
        api_store_error(w, rc, &err);
        return;
    }
    char a[32], b[32];
    tu_format(start, a, sizeof(a));
    tu_format(end, b, sizeof(b));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "startTime", json_object_new_string(a));
    json_object_object_add(o, "endTime", json_object_new_string(b));
    json_object_object_add(o, "bucketSeconds", json_object_new_int64(bucket));
    json_object_object_add(o, "services", arr);
    http_resp_json(w, 200, o);
}
