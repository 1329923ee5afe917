/* query_api.c — flame graphs and metrics from the sample index: Performance Studio's tree JSON,
 * RQL filters, exports (html, collapsed, pprof), diffs, services, ad hoc results, settings. */
#include "coordinator/api/api.h"
#include "coordinator/api/rql.h"
#include "common/timeutil.h"
#include "coordinator/store/ingest.h"
#include "common/collapsed.h"
#include "common/flametree.h"
#include "common/html.h"
#include "common/ident.h"
#include "common/pprof.h"
#include "common/strbuf.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TERMS 32

struct fg_params {
    char service[META_NAME_MAX];
    int64_t start, end;
    struct rql *q;
    size_t stacks;
    /* a plain conjunction converted for the index (when possible) */
    bool simple;
    struct index_filter f;
    const char *lists[6][MAX_TERMS * 4];
};

static void fg_free(struct fg_params *p)
{
    rql_free(p->q);
    p->q = NULL;
}

static bool service_exists(struct coord_api *api, const char *name, struct http_resp *w)
{
    struct gp_err err = {0};
    int rc = meta_service_get(api->store->meta, name, NULL, &err);
    if (rc == -ENOENT) {
        http_resp_msg(w, 406, "service %s doesn't exist", name);
        return false;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return false;
    }
    return true;
}

/* The service named by query parameter `param`: its cleaned name in clean when it is valid and
 * exists. Returns false when it is not, and then the response is always set: 400 for a name
 * with characters outside [A-Za-z0-9_.-], 406 for an unknown service, 5xx for a store error. */
static bool service_param(struct coord_api *api, struct http_resp *w, const char *param,
                          const char *svc, char clean[META_NAME_MAX])
{
    if (meta_service_sanitize(svc, clean, META_NAME_MAX) == 0 || strcmp(clean, svc) != 0) {
        http_resp_msg(w, 400, "invalid %s '%.80s': use only [A-Za-z0-9_.-]", param, svc);
        return false;
    }
    return service_exists(api, clean, w);
}

static bool parse_time_param(const struct http_req *r, struct http_resp *w, const char *key,
                             bool required, int64_t *out)
{
    const char *v = http_query(r, key);
    if (!v || !*v) {
        if (required)
            http_resp_msg(w, 400, "query parameter %s is required (ISO 8601 time)", key);
        return !required;
    }
    if (tu_parse(v, out) != 0) {
        http_resp_msg(w, 400, "query parameter %s: '%.60s' is not an ISO 8601 time", key, v);
        return false;
    }
    return true;
}

/* Converts the RQL conjunction into index filter lists. */
static void to_index_filter(struct fg_params *p)
{
    struct rql_term t[MAX_TERMS];
    int n = rql_conjunction(p->q, t, MAX_TERMS);
    p->simple = n >= 0;
    memset(&p->f, 0, sizeof(p->f));
    if (n <= 0)
        return;
    struct index_strlist *lists[3][2] = {{&p->f.host_in, &p->f.host_out},
                                         {&p->f.container_in, &p->f.container_out},
                                         {&p->f.comm_in, &p->f.comm_out}};
    size_t used[6] = {0};
    for (int i = 0; i < n; i++) {
        int dim = t[i].field == RQL_HOSTNAME    ? 0
                  : t[i].field == RQL_CONTAINER ? 1
                  : t[i].field == RQL_PROCESS   ? 2
                                                : -1;
        if (dim < 0) {
            p->simple = false; /* the index does not know that field */
            return;
        }
        int slot = dim * 2 + (t[i].negate ? 1 : 0);
        if (!t[i].negate && used[slot]) {
            p->simple = false; /* two positive lists on one field: intersect in memory */
            return;
        }
        for (size_t k = 0; k < t[i].nvals; k++) {
            if (used[slot] >= MAX_TERMS * 4) {
                p->simple = false;
                return;
            }
            p->lists[slot][used[slot]++] = t[i].vals[k];
        }
        if (!t[i].negate && t[i].nvals == 0) {
            p->simple = false; /* "$in": [] matches nothing */
            return;
        }
    }
    for (int s = 0; s < 6; s++) {
        lists[s / 2][s % 2]->v = p->lists[s];
        lists[s / 2][s % 2]->n = used[s];
    }
}

/* Common query parameters; answers the error and returns false when they're bad. */
static bool parse_base(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                       struct fg_params *p, bool need_times)
{
    memset(p, 0, sizeof(*p));
    if (!api_ui_ok(api, r, w))
        return false;
    const char *svc = http_query(r, "serviceName");
    if (!svc || !*svc)
        svc = http_query(r, "service_name");
    if (!svc || !*svc) {
        http_resp_msg(w, 400, "query parameter serviceName is required");
        return false;
    }
    if (meta_service_sanitize(svc, p->service, sizeof(p->service)) == 0 ||
        strcmp(p->service, svc) != 0) {
        http_resp_msg(w, 406, "service %.80s doesn't exist", svc);
        return false;
    }
    if (!service_exists(api, p->service, w))
        return false;
    int64_t now = coord_now();
    p->end = now + 60;
    p->start = now - 24 * 3600;
    if (!parse_time_param(r, w, "startTime", need_times, &p->start) ||
        !parse_time_param(r, w, "endTime", need_times, &p->end))
        return false;
    if (p->end <= p->start) {
        http_resp_msg(w, 400, "endTime must be after startTime");
        return false;
    }
    const char *f = http_query(r, "filter");
    if (f && *f) {
        struct gp_err err = {0};
        if (rql_parse(f, strlen(f), &p->q, &err) != 0) {
            http_resp_msg(w, 400, "%s", err.msg);
            return false;
        }
    }
    to_index_filter(p);
    p->stacks = api->default_stacks;
    const char *sc = http_query(r, "stacksCount");
    if (!sc)
        sc = http_query(r, "stacks_num");
    if (sc && *sc) {
        char *end;
        long long n = strtoll(sc, &end, 10);
        if (*end || n <= 0) {
            fg_free(p);
            http_resp_msg(w, 400, "stacksCount must be a positive integer, got '%.40s'", sc);
            return false;
        }
        p->stacks = (size_t)n;
        if (api->max_stacks && p->stacks > api->max_stacks)
            p->stacks = api->max_stacks;
    }
    return true;
}

struct rql_add_ctx {
    struct gp_profile *out;
    const struct rql *q;
    const char *host;
    int rc;
};

static int rql_add_cb(const struct gp_stack_view *s, void *ctx)
{
    struct rql_add_ctx *c = ctx;
    struct rql_attrs a = {.v = {c->host, s->container, s->comm, NULL, NULL}};
    if (!rql_match(c->q, &a))
        return 0;
    int rc = gp_profile_add(c->out, 0, s->container, s->comm, s->frames, s->nframes, s->count);
    if (rc)
        c->rc = rc;
    return rc;
}

struct host_acc {
    char **v;
    size_t n, cap;
};

static int host_value_cb(const char *value, uint64_t samples, void *ctx)
{
    struct host_acc *h = ctx;
    (void)samples;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        char **nv = realloc(h->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        h->v = nv;
        h->cap = cap;
    }
    if (!(h->v[h->n] = strdup(value)))
        return -ENOMEM;
    h->n++;
    return 0;
}

struct trunc_ctx {
    struct gp_profile *out;
    size_t left;
};

static int trunc_cb(const struct gp_stack_view *s, void *ctx)
{
    struct trunc_ctx *t = ctx;
    if (t->left == 0)
        return 1;
    t->left--;
    return gp_profile_add(t->out, s->app_idx, s->container, s->comm, s->frames, s->nframes,
                          s->count);
}

/* The merged, filtered, truncated profile of a service over [start, end). */
static int run_query(struct coord_api *api, const char *service, int64_t start, int64_t end,
                     struct fg_params *p, struct gp_profile **out, struct gp_err *err)
{
    struct gp_profile *prof = gp_profile_new();
    if (!prof)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc;
    if (p->simple) {
        struct index_query q = {.service = service,
                                .start = start,
                                .end = end,
                                .filter = &p->f,
                                .max_stacks = p->stacks};
        rc = index_query(api->store->index, &q, prof, NULL, err);
    } else {
        /* general RQL: per host, evaluate the filter on every stack */
        struct host_acc hosts = {0};
        rc = index_values(api->store->index, service, start, end, INDEX_DIM_HOST, host_value_cb,
                          &hosts, err);
        for (size_t i = 0; rc == 0 && i < hosts.n; i++) {
            const char *hv[1] = {hosts.v[i]};
            struct index_filter hf = {.host_in = {hv, 1}};
            struct index_query q = {.service = service, .start = start, .end = end, .filter = &hf};
            struct gp_profile *hp = gp_profile_new();
            if (!hp) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            rc = index_query(api->store->index, &q, hp, NULL, err);
            if (rc == 0) {
                struct rql_add_ctx c = {prof, p->q, hosts.v[i], 0};
                gp_profile_foreach(hp, rql_add_cb, &c);
                if (c.rc)
                    rc = gp_err_set(err, c.rc, "out of memory");
            }
            gp_profile_free(hp);
        }
        for (size_t i = 0; i < hosts.n; i++)
            free(hosts.v[i]);
        free(hosts.v);
        if (rc == 0 && p->stacks && gp_profile_nstacks(prof) > p->stacks) {
            struct gp_profile *t = gp_profile_new();
            struct trunc_ctx tc = {t, p->stacks};
            if (!t || gp_profile_foreach_sorted(prof, trunc_cb, &tc) < 0) {
                gp_profile_free(t);
                rc = gp_err_set(err, -ENOMEM, "out of memory");
            } else {
                gp_profile_free(prof);
                prof = t;
            }
        }
    }
    if (rc == -ENOENT)
        rc = 0;
    if (rc) {
        gp_profile_free(prof);
        return rc;
    }
    *out = prof;
    return 0;
}

static void attachment(struct http_resp *w, const char *service, const char *ext)
{
    snprintf(w->disposition, sizeof(w->disposition),
             "attachment; filename=\"%.150s_flamegraph.%.16s\"", service, ext);
}

/* Sends prof in the requested format (tree JSON by default). Takes prof. */
static void send_profile(const struct http_req *r, struct http_resp *w, const char *service,
                         int64_t start, int64_t end, struct gp_profile *prof)
{
    struct gp_err err = {0};
    struct strbuf sb = STRBUF_INIT;
    const char *fmt = http_query(r, "format");
    if (!fmt || !*fmt)
        fmt = "flamegraph";
    if (gp_profile_total(prof) == 0) {
        gp_profile_free(prof);
        http_resp_empty(w, 204);
        return;
    }
    int rc;
    const char *ctype = "application/json";
    if (strcmp(fmt, "flamegraph") == 0 || strcmp(fmt, "json") == 0) {
        rc = gp_flametree_json(prof, NULL, &sb, &err);
    } else if (strcmp(fmt, "collapsed") == 0 || strcmp(fmt, "collapsed_file") == 0) {
        rc = gp_collapsed_write_ex(prof,
                                   GP_COLLAPSED_NO_HEADER | GP_COLLAPSED_NO_PREFIX |
                                           GP_COLLAPSED_SORTED | GP_COLLAPSED_TRAILING_NL,
                                   &sb, &err);
        ctype = "text/plain; charset=utf-8";
        attachment(w, service, "collapsed");
    } else if (strcmp(fmt, "html") == 0) {
        char title[512], a[32], b[32];
        tu_format_z(start, a, sizeof(a));
        tu_format_z(end, b, sizeof(b));
        snprintf(title, sizeof(title), "%s %s .. %s", service, a, b);
        rc = gp_html_write(prof, title, &sb, &err);
        ctype = "text/html; charset=utf-8";
        attachment(w, service, "html");
    } else if (strcmp(fmt, "pprof") == 0) {
        unsigned freq = 0;
        const char *fq = http_query(r, "frequency");
        if (fq)
            freq = (unsigned)strtoul(fq, NULL, 10);
        rc = gp_pprof_write(prof, freq, &sb, &err);
        ctype = "application/octet-stream";
        attachment(w, service, "pb.gz");
    } else {
        gp_profile_free(prof);
        http_resp_msg(w, 400, "format must be flamegraph, html, collapsed or pprof, got '%.40s'",
                      fmt);
        return;
    }
    gp_profile_free(prof);
    if (rc || sb.oom) {
        sb_free(&sb);
        http_resp_msg(w, 500, "rendering failed: %s", err.msg[0] ? err.msg : "out of memory");
        return;
    }
    size_t len;
    char *body = sb_detach(&sb, &len);
    http_resp_raw(w, 200, ctype, body, len);
}

void api_flamegraph(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct fg_params p;
    if (!parse_base(api, r, w, &p, true))
        return;
    struct gp_err err = {0};
    struct gp_profile *prof = NULL;
    int rc = run_query(api, p.service, p.start, p.end, &p, &prof, &err);
    if (rc) {
        fg_free(&p);
        api_store_error(w, rc, &err);
        return;
    }
    send_profile(r, w, p.service, p.start, p.end, prof);
    fg_free(&p);
}

void api_flamegraph_diff(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct fg_params p;
    if (!parse_base(api, r, w, &p, true))
        return;
    char before_svc[META_NAME_MAX];
    snprintf(before_svc, sizeof(before_svc), "%s", p.service);
    const char *cs = http_query(r, "compareServiceName");
    if (cs && *cs) {
        if (!service_param(api, w, "compareServiceName", cs, before_svc)) {
            fg_free(&p);
            return;
        }
    }
    int64_t bs = p.start, be = p.end;
    if (!parse_time_param(r, w, "compareStartTime", false, &bs) ||
        !parse_time_param(r, w, "compareEndTime", false, &be)) {
        fg_free(&p);
        return;
    }
    if ((!cs || !*cs) && bs == p.start && be == p.end) {
        fg_free(&p);
        http_resp_msg(w, 400,
                      "a diff needs compareStartTime/compareEndTime (another range) or "
                      "compareServiceName (another service)");
        return;
    }
    if (be <= bs) {
        fg_free(&p);
        http_resp_msg(w, 400, "compareEndTime must be after compareStartTime");
        return;
    }
    struct gp_err err = {0};
    struct gp_profile *before = NULL, *after = NULL;
    int rc = run_query(api, before_svc, bs, be, &p, &before, &err);
    if (rc == 0)
        rc = run_query(api, p.service, p.start, p.end, &p, &after, &err);
    fg_free(&p);
    if (rc) {
        gp_profile_free(before);
        api_store_error(w, rc, &err);
        return;
    }
    if (gp_profile_total(before) == 0 && gp_profile_total(after) == 0) {
        gp_profile_free(before);
        gp_profile_free(after);
        http_resp_empty(w, 204);
        return;
    }
    struct strbuf sb = STRBUF_INIT;
    rc = gp_flametree_diff_json(before, after, NULL, &sb, &err);
    gp_profile_free(before);
    gp_profile_free(after);
    if (rc || sb.oom) {
        sb_free(&sb);
        http_resp_msg(w, 500, "rendering failed: %s", err.msg);
        return;
    }
    size_t len;
    char *body = sb_detach(&sb, &len);
    http_resp_raw(w, 200, "application/json", body, len);
}

void api_datetime_with_data(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct fg_params p;
    if (!parse_base(api, r, w, &p, false))
        return;
    struct gp_err err = {0};
    int64_t first = 0, last = 0;
    int rc = index_time_range(api->store->index, p.service, p.simple ? &p.f : NULL, &first, &last,
                              &err);
    fg_free(&p);
    if (rc == -ENOENT) {
        http_resp_empty(w, 204);
        return;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    char a[32], b[32];
    tu_format(first, a, sizeof(a));
    tu_format(last, b, sizeof(b));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "firstDateTime", json_object_new_string(a));
    json_object_object_add(o, "lastDateTime", json_object_new_string(b));
    http_resp_json(w, 200, o);
}

/* ---- metrics ------------------------------------------------------------------------- */

struct pt {
    int64_t bucket;
    char *host;
    uint64_t samples;
    double cpu_avg, cpu_max, mem_avg, mem_max;
};

struct pts {
    struct pt *v;
    size_t n, cap;
};

static int series_cb(const struct index_series_point *x, void *ctx)
{
    struct pts *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct pt *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    struct pt *p = &s->v[s->n];
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

static void pts_free(struct pts *s)
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

/* Aggregates points [from, to) into a Performance Studio summary object. */
static json_object *summarize(const struct pt *v, size_t n)
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
    json_object *o = json_object_new_object();
    if (ncpu) {
        json_object_object_add(o, "avg_cpu", json_object_new_double(cpu_sum / (double)ncpu));
        json_object_object_add(o, "max_cpu", json_object_new_double(cpu_max));
    }
    if (nmem) {
        json_object_object_add(o, "avg_memory", json_object_new_double(mem_sum / (double)nmem));
        json_object_object_add(o, "max_memory", json_object_new_double(mem_max));
        if (mems) {
            qsort(mems, nmem, sizeof(double), cmp_double);
            size_t idx = (size_t)ceil(0.9 * (double)nmem) - 1;
            json_object_object_add(o, "percentile_memory", json_object_new_double(mems[idx]));
        }
    }
    free(mems);
    json_object_object_add(o, "uniq_hostnames", json_object_new_int64((int64_t)uniq));
    json_object_object_add(o, "samples", json_object_new_int64((int64_t)samples));
    return o;
}

static int load_series(struct coord_api *api, struct fg_params *p, int64_t bucket, struct pts *s,
                       struct gp_err *err)
{
    struct index_filter hf = {0};
    if (p->simple) {
        hf.host_in = p->f.host_in;
        hf.host_out = p->f.host_out;
    }
    int rc = index_series(api->store->index, p->service, p->start, p->end, bucket, &hf, series_cb,
                          s, err);
    return rc == -ENOENT ? 0 : rc;
}

/* Loads the series and frees p; on an error or no data answers (500/503 or 204) and returns
 * false. */
static bool load_series_or_answer(struct coord_api *api, struct fg_params *p, int64_t bucket,
                                  struct pts *s, struct http_resp *w)
{
    struct gp_err err = {0};
    int rc = load_series(api, p, bucket, s, &err);
    fg_free(p);
    if (rc)
        api_store_error(w, rc, &err);
    else if (s->n == 0)
        http_resp_empty(w, 204);
    else
        return true;
    pts_free(s);
    return false;
}

void api_metrics_summary(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct fg_params p;
    if (!parse_base(api, r, w, &p, true))
        return;
    struct pts s = {0};
    int64_t bucket = p.end - p.start;
    if (bucket < 60)
        bucket = 60;
    bucket = (bucket + 59) / 60 * 60;
    if (!load_series_or_answer(api, &p, bucket, &s, w))
        return;
    json_object *o = summarize(s.v, s.n);
    pts_free(&s);
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
    struct fg_params p;
    if (!parse_base(api, r, w, &p, true))
        return;
    int64_t bucket = auto_interval(p.end - p.start);
    const char *ri = http_query(r, "requested_interval");
    if (!ri)
        ri = http_query(r, "interval");
    if (ri && *ri && (bucket = parse_interval(ri)) < 0) {
        fg_free(&p);
        http_resp_msg(w, 400,
                      "requested_interval must be like '5 minutes', '1 hours' or seconds >= 60");
        return;
    }
    struct pts s = {0};
    if (!load_series_or_answer(api, &p, bucket, &s, w))
        return;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < s.n;) {
        size_t j = i;
        while (j < s.n && s.v[j].bucket == s.v[i].bucket)
            j++;
        json_object *o = summarize(s.v + i, j - i);
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
    pts_free(&s);
    http_resp_json(w, 200, arr);
}

/* ---- services ------------------------------------------------------------------------ */

struct svc_ctx {
    json_object *arr;
    struct coord_api *api;
    int64_t now;
};

struct svc_data {
    char name[META_NAME_MAX];
    int64_t last;
    bool found;
};

static int svc_data_cb(const struct index_service_info *s, void *ctx)
{
    struct svc_data *d = ctx;
    if (strcmp(s->service, d->name) == 0) {
        d->found = true;
        d->last = s->last;
        return 1;
    }
    return 0;
}

static int svc_cb(const struct meta_service *s, void *ctx)
{
    struct svc_ctx *c = ctx;
    struct svc_data d = {.found = false};
    snprintf(d.name, sizeof(d.name), "%s", s->name);
    struct gp_err err = {0};
    int rc = index_services(c->api->store->index, svc_data_cb, &d, &err);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    char ts[32];
    tu_format(s->created_at, ts, sizeof(ts));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "createDate", json_object_new_string(ts));
    json_object_object_add(o, "hasData",
                           json_object_new_boolean(d.found && d.last >= c->now - 7 * 86400));
    json_object_object_add(o, "name", json_object_new_string(s->name));
    json_object_object_add(o, "envType", json_object_new_string("instances"));
    json_object_object_add(o, "serviceId", json_object_new_int64(s->id));
    json_object_object_add(o, "sampleThreshold", json_object_new_double(s->sample_threshold));
    json_object_array_add(c->arr, o);
    return 0;
}

void api_services(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    struct svc_ctx c = {json_object_new_array(), api, coord_now()};
    struct gp_err err = {0};
    int rc = meta_service_list(api->store->meta, svc_cb, &c, &err);
    if (rc) {
        json_object_put(c.arr);
        api_store_error(w, rc, &err);
        return;
    }
    if (json_object_array_length(c.arr) == 0) {
        json_object_put(c.arr);
        http_resp_empty(w, 204);
        return;
    }
    http_resp_json(w, 200, c.arr);
}

/* ---- filter values (hosts, containers, processes of a service) ----------------------- */

static int value_json_cb(const char *value, uint64_t samples, void *ctx)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(value));
    json_object_object_add(o, "samples", json_object_new_int64((int64_t)samples));
    json_object_array_add(ctx, o);
    return 0;
}

void api_filter_values(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    const char *kind = r->path + strlen("/api/v1/filters/tags/");
    enum index_dimension dim;
    if (strcmp(kind, "HostName") == 0)
        dim = INDEX_DIM_HOST;
    else if (strcmp(kind, "ContainerName") == 0)
        dim = INDEX_DIM_CONTAINER;
    else if (strcmp(kind, "ProcessName") == 0)
        dim = INDEX_DIM_COMM;
    else {
        http_resp_msg(w, 404, "unknown filter type '%.40s' (HostName, ContainerName, ProcessName)",
                      kind);
        return;
    }
    struct fg_params p;
    if (!parse_base(api, r, w, &p, false))
        return;
    json_object *arr = json_object_new_array();
    struct gp_err err = {0};
    int rc = index_values(api->store->index, p.service, p.start, p.end, dim, value_json_cb, arr,
                          &err);
    fg_free(&p);
    if (rc && rc != -ENOENT) {
        json_object_put(arr);
        api_store_error(w, rc, &err);
        return;
    }
    http_resp_json(w, 200, arr);
}

/* ---- ad hoc flame graphs ------------------------------------------------------------- */

struct adhoc_ctx {
    json_object *arr;
    struct coord_api *api;
};

static int adhoc_cb(const struct meta_adhoc *a, void *ctx)
{
    struct adhoc_ctx *c = ctx;
    json_object *o = json_object_new_object();
    char ts[32];
    tu_format(a->start_time, ts, sizeof(ts));
    json_object_object_add(o, "filename", json_object_new_string(a->filename));
    json_object_object_add(o, "timestamp", json_object_new_string(ts));
    json_object_object_add(o, "hostname", json_object_new_string(a->hostname));
    json_object_object_add(o, "size", json_object_new_int64(a->size));
    json_object_object_add(o, "s3_path", json_object_new_string(a->blob_key));
    json_object *ev = a->perf_events ? json_tokener_parse(a->perf_events) : NULL;
    json_object_object_add(o, "perf_events", ev ? ev : json_object_new_array());
    uint64_t sz;
    struct gp_err err = {0};
    bool removed = blob_stat(c->api->store->blobs, a->blob_key, &sz, &err) != 0;
    json_object_object_add(o, "removed", json_object_new_boolean(removed));
    json_object_array_add(c->arr, o);
    return 0;
}

void api_adhoc_list(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct fg_params p;
    if (!parse_base(api, r, w, &p, true))
        return;
    const char *hosts[64];
    size_t nh = rql_required_eq(p.q, RQL_HOSTNAME, hosts, 64);
    struct adhoc_ctx c = {json_object_new_array(), api};
    struct gp_err err = {0};
    int rc = meta_adhoc_list(api->store->meta, p.service, p.start, p.end, nh ? hosts : NULL, nh,
                             adhoc_cb, &c, &err);
    fg_free(&p);
    if (rc) {
        json_object_put(c.arr);
        api_store_error(w, rc, &err);
        return;
    }
    http_resp_json(w, 200, c.arr);
}

static bool valid_filename(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200 || s[0] == '.' || strstr(s, ".."))
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

void api_adhoc_content(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    const char *fn = http_query(r, "filename");
    const char *svc = http_query(r, "serviceName");
    if (!fn || !*fn || !svc || !*svc) {
        http_resp_msg(w, 400, "query parameters filename and serviceName are required");
        return;
    }
    if (!valid_filename(fn)) {
        http_resp_msg(w, 400,
                      "invalid filename '%.80s': use only [A-Za-z0-9._-], no '..' and no "
                      "leading '.'",
                      fn);
        return;
    }
    char clean[META_NAME_MAX];
    if (!service_param(api, w, "serviceName", svc, clean))
        return;
    void *html = NULL;
    size_t len = 0;
    struct gp_err err = {0};
    int rc = coord_adhoc_read(api->store, clean, fn, &html, &len, &err);
    if (rc == -ENOENT || rc == -EINVAL) {
        http_resp_msg(w, 404, "no ad hoc flame graph '%s' for service %s", fn, clean);
        return;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    const char *raw = http_query(r, "raw");
    if (raw && strcmp(raw, "1") == 0) {
        /* the HTML came from an agent: never run it with the coordinator's origin (every
         * response already carries X-Content-Type-Options: nosniff) */
        http_resp_raw(w, 200, "text/html; charset=utf-8", html, len);
        w->headers[0][0] = "Content-Security-Policy";
        w->headers[0][1] = "sandbox";
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "content", json_object_new_string_len(html, (int)len));
    json_object_object_add(o, "filename", json_object_new_string(fn));
    free(html);
    http_resp_json(w, 200, o);
}

/* ---- PerfSpect reports ----------------------------------------------------------------- */

static int latest_key_cb(const char *key, uint64_t size, void *ctx)
{
    char *best = ctx; /* keys start with the report's end time: the largest is the newest */
    if (strcmp(key, best) > 0)
        snprintf(best, 512, "%s", key);
    return 0;
}

/* GET /api/metrics/html_metadata?serviceName=S&filter=<RQL with HostName $eq> (or &hostname=H):
 * the newest PerfSpect HTML report of that host, {"content": "<html>", "filename": …}. */
void api_html_metadata(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    const char *svc = http_query(r, "serviceName");
    const char *host = http_query(r, "hostname");
    const char *filter = http_query(r, "filter");
    struct rql *q = NULL;
    if (!svc || !*svc) {
        http_resp_msg(w, 400, "query parameter serviceName is required");
        return;
    }
    if ((!host || !*host) && filter && *filter) {
        struct gp_err err = {0};
        if (rql_parse(filter, strlen(filter), &q, &err) != 0) {
            http_resp_msg(w, 400, "filter: %s", err.msg);
            return;
        }
        const char *vals[2];
        if (rql_required_eq(q, RQL_HOSTNAME, vals, 2) == 1)
            host = vals[0];
    }
    if (!host || !*host) {
        rql_free(q);
        http_resp_msg(w, 400,
                      "html_metadata needs one host: hostname=H or a filter with "
                      "{\"HostName\":{\"$eq\":\"H\"}}");
        return;
    }
    char clean[META_NAME_MAX], prefix[400], best[512] = "";
    char why[128] = "";
    bool bad_host = gp_ident_check(host, strlen(host), 255, why, sizeof(why)) != 0;
    if (!bad_host && (strchr(host, '/') || strstr(host, ".."))) {
        bad_host = true;
        snprintf(why, sizeof(why), "contains '/' or '..'");
    }
    if (bad_host) {
        http_resp_msg(w, 400, "invalid hostname '%.80s': %s", host, why);
        rql_free(q);
        return;
    }
    if (!service_param(api, w, "serviceName", svc, clean)) {
        rql_free(q);
        return;
    }
    api_perfspect_prefix(clean, host, prefix, sizeof(prefix));
    char hostname[256];
    snprintf(hostname, sizeof(hostname), "%s", host);
    rql_free(q);
    struct gp_err err = {0};
    int rc = blob_list(api->store->blobs, prefix, latest_key_cb, best, &err);
    if (rc == 0 && !best[0]) {
        http_resp_msg(w, 404, "no PerfSpect report for host %s of service %s", hostname, clean);
        return;
    }
    void *html = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = blob_get(api->store->blobs, best, &html, &len, 64u << 20, &err);
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "content", json_object_new_string_len(html, (int)len));
    json_object_object_add(o, "filename", json_object_new_string(strrchr(best, '/') + 1));
    json_object_object_add(o, "hostname", json_object_new_string(hostname));
    free(html);
    http_resp_json(w, 200, o);
}

/* ---- settings ------------------------------------------------------------------------ */

static int thr_cb(const struct meta_service *s, void *ctx)
{
    json_object_object_add(ctx, s->name, json_object_new_double(s->sample_threshold));
    return 0;
}

void api_settings_get(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    struct gp_err err = {0};
    int64_t days = 0;
    int rc = coord_store_retention_days(api->store, &days, &err);
    json_object *thr = json_object_new_object();
    if (rc == 0)
        rc = meta_service_list(api->store->meta, thr_cb, thr, &err);
    if (rc) {
        json_object_put(thr);
        api_store_error(w, rc, &err);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "retention_days", json_object_new_int64(days));
    json_object_object_add(o, "sample_thresholds", thr);
    http_resp_json(w, 200, o);
}

void api_settings_put(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    json_object *body = api_json_body(r, w), *v;
    if (!body)
        return;
    struct gp_err err = {0};
    int rc = 0;
    if (!json_object_is_type(body, json_type_object)) {
        json_object_put(body);
        http_resp_msg(w, 400, "body must be {\"retention_days\": N, \"sample_thresholds\": {...}}");
        return;
    }
    json_object_object_foreach(body, key, val)
    {
        (void)val;
        if (strcmp(key, "retention_days") && strcmp(key, "sample_thresholds")) {
            http_resp_msg(w, 400, "unknown setting '%.60s' (retention_days, sample_thresholds)",
                          key);
            json_object_put(body);
            return;
        }
    }
    if (json_object_object_get_ex(body, "retention_days", &v)) {
        if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < -1 ||
            json_object_get_int64(v) > 36500 || json_object_get_int64(v) == 0) {
            json_object_put(body);
            http_resp_msg(w, 400,
                          "retention_days must be an integer 1..36500 (or -1 = keep forever)");
            return;
        }
        char buf[32];
        snprintf(buf, sizeof(buf), "%lld", (long long)json_object_get_int64(v));
        rc = meta_setting_set(api->store->meta, META_SETTING_RETENTION_DAYS, buf, &err);
    }
    if (rc == 0 && json_object_object_get_ex(body, "sample_thresholds", &v)) {
        if (!json_object_is_type(v, json_type_object)) {
            json_object_put(body);
            http_resp_msg(w, 400, "sample_thresholds must be an object: service -> 0..1");
            return;
        }
        json_object_object_foreach(v, svc, t)
        {
            if (!(json_object_is_type(t, json_type_double) ||
                  json_object_is_type(t, json_type_int)) ||
                json_object_get_double(t) < 0 || json_object_get_double(t) > 1) {
                http_resp_msg(w, 400, "sample_thresholds['%.60s'] must be a number in 0..1", svc);
                json_object_put(body);
                return;
            }
            rc = meta_service_set_sample_threshold(api->store->meta, svc, json_object_get_double(t),
                                                   &err);
            if (rc == -ENOENT) {
                http_resp_msg(w, 404, "unknown service '%.80s'", svc);
                json_object_put(body);
                return;
            }
            if (rc)
                break;
        }
    }
    json_object_put(body);
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    api_settings_get(r, w, ctx);
}
