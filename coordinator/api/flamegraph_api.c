/* flamegraph_api.c — flame graphs from the query engine: Performance Studio's tree JSON and
 * exports (html, collapsed, pprof), diffs, and the time range that has data. */
#include "coordinator/api/query_params.h"
#include "coordinator/query/answer_cache.h"
#include "coordinator/query/merge_flight.h"
#include "common/timeutil.h"
#include "common/collapsed.h"
#include "common/flametree.h"
#include "common/gzip.h"
#include "common/html.h"
#include "common/pprof.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void attachment(struct http_resp *w, const char *service, const char *ext)
{
    snprintf(w->disposition, sizeof(w->disposition),
             "attachment; filename=\"%.150s_flamegraph.%.16s\"", service, ext);
}

/* True when the client takes a gzip'd body (Accept-Encoding lists gzip without q=0). */
static bool accepts_gzip(const struct http_req *r)
{
    const char *ae = http_header(r, "Accept-Encoding");
    if (!ae)
        return false;
    for (const char *s = ae; (s = strstr(s, "gzip")) != NULL; s += 4) {
        if (s != ae && s[-1] != ' ' && s[-1] != ',')
            continue;
        const char *e = s + 4;
        while (*e == ' ')
            e++;
        if (*e == ',' || *e == '\0')
            return true;
        if (*e == ';') {
            const char *q = strstr(e, "q=");
            const char *comma = strchr(e, ',');
            if (q && (!comma || q < comma) && strtod(q + 2, NULL) == 0)
                return false;
            return true;
        }
    }
    return false;
}

/* Where a finished answer may be kept: the request's key and the index generation read before
 * the query (0 = do not keep). */
struct keep_ctx {
    struct coord_api *api;
    const char *key;
    uint64_t gen;
};

/* Sends body (malloc'd, taken) as meta says, and keeps a copy when the index did not change
 * while it was computed. */
static void respond(struct http_resp *w, char *body, size_t len, const struct answer_meta *meta,
                    const struct keep_ctx *keep)
{
    if (keep && keep->gen && index_generation(keep->api->store->index) == keep->gen)
        answer_cache_put(keep->api->answers, keep->key, keep->gen, body, len, meta);
    if (meta->gzip) {
        w->headers[0][0] = "Content-Encoding";
        w->headers[0][1] = "gzip";
        w->headers[1][0] = "Vary";
        w->headers[1][1] = "Accept-Encoding";
    } else if (strcmp(meta->ctype, "application/json") == 0) {
        w->headers[0][0] = "Vary";
        w->headers[0][1] = "Accept-Encoding";
    }
    if (meta->disposition[0])
        snprintf(w->disposition, sizeof(w->disposition), "%s", meta->disposition);
    http_resp_raw(w, 200, meta->ctype, body, len);
}

/* Sends a JSON body, gzip'd (libdeflate level 1: the tree of a big profile is tens of MB) when
 * the client accepts it. Takes sb's buffer. */
static void send_json(const struct http_req *r, struct http_resp *w, struct strbuf *sb,
                      const struct keep_ctx *keep)
{
    size_t len;
    struct answer_meta meta = {.ctype = "application/json"};
    if (accepts_gzip(r) && sb->len >= 256) {
        struct strbuf gz = STRBUF_INIT;
        struct gp_err err = {0};
        if (gp_gzip_compress_fast(sb->buf, sb->len, 1, &gz, &err) == 0 && !gz.oom) {
            sb_free(sb);
            char *body = sb_detach(&gz, &len);
            meta.gzip = 1;
            respond(w, body, len, &meta, keep);
            return;
        }
        sb_free(&gz); /* send it plain */
    }
    char *body = sb_detach(sb, &len);
    respond(w, body, len, &meta, keep);
}

/* minFraction=F (a decimal such as 0.00025, or a ratio such as 1/4000, in (0, 1]): the tree
 * formats keep only nodes of at least that share of all samples (README "Progressive first
 * paint"). 1 and *f = 0 when absent; 0 after a 400 answer. */
static int min_fraction_param(const struct http_req *r, struct http_resp *w, double *f)
{
    *f = 0;
    const char *v = http_query(r, "minFraction");
    if (!v || !*v)
        return 1;
    char *end;
    double x = strtod(v, &end);
    if (end != v && *end == '/') {
        const char *d = end + 1;
        double y = strtod(d, &end);
        x = end != d && y > 0 ? x / y : -1;
    }
    if (end == v || *end || !(x > 0 && x <= 1)) {
        http_resp_msg(w, 400,
                      "minFraction must be a share of all samples in (0, 1], as 0.00025 or "
                      "1/4000, got '%.40s'",
                      v);
        return 0;
    }
    *f = x;
    return 1;
}

/* Sends ref's profile in the requested format (tree JSON by default). Releases ref. */
static void send_profile(const struct http_req *r, struct http_resp *w, struct coord_api *api,
                         const char *service, int64_t start, int64_t end, struct merge_ref *ref,
                         const struct keep_ctx *keep)
{
    struct gp_profile *prof = merge_ref_profile(ref);
    struct gp_err err = {0};
    struct strbuf sb = STRBUF_INIT;
    const char *fmt = http_query(r, "format");
    if (!fmt || !*fmt)
        fmt = "flamegraph";
    if (gp_profile_total(prof) == 0) {
        merge_flight_release(api->merges, ref);
        http_resp_empty(w, 204);
        return;
    }
    int rc;
    const char *ctype = "application/json";
    bool json = false;
    struct gp_flametree_opts topts = {0};
    if (!min_fraction_param(r, w, &topts.min_fraction)) {
        merge_flight_release(api->merges, ref);
        return;
    }
    if (strcmp(fmt, "flamegraph") == 0 || strcmp(fmt, "json") == 0) {
        rc = gp_flametree_json(prof, &topts, &sb, &err);
        json = true;
    } else if (strcmp(fmt, "compact") == 0) {
        rc = gp_flametree_compact(prof, &topts, &sb, &err);
        json = true;
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
        merge_flight_release(api->merges, ref);
        http_resp_msg(w, 400,
                      "format must be flamegraph, compact, html, collapsed or pprof, got '%.40s'",
                      fmt);
        return;
    }
    merge_flight_release(api->merges, ref);
    if (rc || sb.oom) {
        sb_free(&sb);
        http_resp_msg(w, 500, "rendering failed: %s", err.msg[0] ? err.msg : "out of memory");
        return;
    }
    if (json) {
        send_json(r, w, &sb, keep);
        return;
    }
    size_t len;
    struct answer_meta meta = {.ctype = ctype};
    snprintf(meta.disposition, sizeof(meta.disposition), "%s", w->disposition);
    char *body = sb_detach(&sb, &len);
    respond(w, body, len, &meta, keep);
}

/* Whether fmt's renderer only reads the profile, so that concurrent requests may share it (the
 * HTML export and pprof read the header through calls that may write to it: json_object_get's
 * reference count is not atomic in json-c). */
static bool shares_profile(const char *fmt)
{
    return !fmt || !*fmt || strcmp(fmt, "flamegraph") == 0 || strcmp(fmt, "json") == 0 ||
           strcmp(fmt, "compact") == 0 || strcmp(fmt, "collapsed") == 0 ||
           strcmp(fmt, "collapsed_file") == 0;
}

struct merge_args {
    struct coord_api *api;
    const char *service;
    int64_t start, end;
    const struct query_spec *spec;
};

static int run_merge(void *ctx, struct gp_profile **out, struct gp_err *err)
{
    const struct merge_args *a = ctx;
    return query_profile(a->api->store->index, a->service, a->start, a->end, a->spec, out, err);
}

/* The merged profile of service over [start, end) with the request's filter and spec's stack
 * cap, in *ref: one merge for the requests that ask for it at once (a pruned first paint and the
 * full tree; merge_flight.h) when share, else a merge of its own. 0 or a negative errno. */
static int merged_profile(const struct http_req *r, struct coord_api *api, const char *service,
                          int64_t start, int64_t end, const struct query_spec *spec, bool share,
                          struct merge_ref **ref, struct gp_err *err)
{
    struct merge_args a = {
            .api = api, .service = service, .start = start, .end = end, .spec = spec};
    struct strbuf key = STRBUF_INIT;
    const char *f = http_query(r, "filter");
    sb_printf(&key, "%s\n%lld\n%lld\n%zu\n%s", service, (long long)start, (long long)end,
              spec->stacks, f ? f : "");
    uint64_t gen = share && !key.oom ? index_generation(api->store->index) : 0;
    int rc = merge_flight_get(api->merges, key.oom ? "" : sb_str(&key), gen, run_merge, &a, ref,
                              err);
    sb_free(&key);
    return rc;
}

/* The cache key of a flame-graph request: everything its answer depends on besides the index
 * (the service and range as parsed, the filter text, the stack cap, format, frequency, gzip,
 * minFraction). */
static void answer_key(const struct http_req *r, const char *endpoint, const char *service,
                       int64_t start, int64_t end, size_t stacks, struct strbuf *key)
{
    static const char *const params[] = {
            "filter",           "format",         "frequency",  "compareServiceName",
            "compareStartTime", "compareEndTime", "minFraction"};
    sb_printf(key, "%s\n%s\n%lld\n%lld\n%zu\n%d", endpoint, service, (long long)start,
              (long long)end, stacks, accepts_gzip(r) ? 1 : 0);
    for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
        const char *v = http_query(r, params[i]);
        if (v) /* length-prefixed: no value can pass for another's end */
            sb_printf(key, "\n%zu:%s", strlen(v), v);
        else
            sb_puts(key, "\n-");
    }
}

/* Serves the request from the answer cache when it can (1); else sets keep up for respond(). */
static int from_cache(const struct http_req *r, struct http_resp *w, struct coord_api *api,
                      const char *endpoint, const struct api_query *p, struct strbuf *key,
                      struct keep_ctx *keep)
{
    *keep = (struct keep_ctx){.api = api};
    if (!api->answers)
        return 0;
    answer_key(r, endpoint, p->service, p->start, p->end, p->spec.stacks, key);
    if (key->oom)
        return 0;
    keep->key = sb_str(key);
    keep->gen = index_generation(api->store->index);
    char *body;
    size_t len;
    struct answer_meta meta;
    if (!answer_cache_get(api->answers, keep->key, keep->gen, &body, &len, &meta))
        return 0;
    w->headers[2][0] = "X-Gprof-Answer"; /* says where it came from (tests, curious users) */
    w->headers[2][1] = "cached";
    respond(w, body, len, &meta, NULL);
    return 1;
}

void api_flamegraph(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    struct strbuf key = STRBUF_INIT;
    struct keep_ctx keep;
    if (from_cache(r, w, api, "flamegraph", &p, &key, &keep)) {
        sb_free(&key);
        api_query_free(&p);
        return;
    }
    struct gp_err err = {0};
    struct merge_ref *ref = NULL;
    int rc = merged_profile(r, api, p.service, p.start, p.end, &p.spec,
                            shares_profile(http_query(r, "format")), &ref, &err);
    if (rc) {
        sb_free(&key);
        api_query_free(&p);
        api_store_error(w, rc, &err);
        return;
    }
    send_profile(r, w, api, p.service, p.start, p.end, ref, &keep);
    sb_free(&key);
    api_query_free(&p);
}

void api_flamegraph_diff(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    char before_svc[META_NAME_MAX];
    snprintf(before_svc, sizeof(before_svc), "%s", p.service);
    const char *cs = http_query(r, "compareServiceName");
    if (cs && *cs) {
        if (!api_service_param(api, w, "compareServiceName", cs, before_svc) ||
            !api_ui_service(api, r, w, before_svc)) {
            api_query_free(&p);
            return;
        }
    }
    const char *dfmt = http_query(r, "format");
    bool compact = dfmt && strcmp(dfmt, "compact") == 0;
    if (dfmt && *dfmt && !compact && strcmp(dfmt, "flamegraph") && strcmp(dfmt, "json")) {
        api_query_free(&p);
        http_resp_msg(w, 400, "format must be flamegraph or compact, got '%.40s'", dfmt);
        return;
    }
    int64_t bs = p.start, be = p.end;
    if (!api_time_param(r, w, "compareStartTime", false, &bs) ||
        !api_time_param(r, w, "compareEndTime", false, &be)) {
        api_query_free(&p);
        return;
    }
    if ((!cs || !*cs) && bs == p.start && be == p.end) {
        api_query_free(&p);
        http_resp_msg(w, 400,
                      "a diff needs compareStartTime/compareEndTime (another range) or "
                      "compareServiceName (another service)");
        return;
    }
    if (be <= bs) {
        api_query_free(&p);
        http_resp_msg(w, 400, "compareEndTime must be after compareStartTime");
        return;
    }
    struct gp_flametree_opts topts = {0}; /* minFraction as on /api/flamegraph */
    if (!min_fraction_param(r, w, &topts.min_fraction)) {
        api_query_free(&p);
        return;
    }
    struct strbuf key = STRBUF_INIT;
    struct keep_ctx keep;
    if (from_cache(r, w, api, "diff", &p, &key, &keep)) {
        sb_free(&key);
        api_query_free(&p);
        return;
    }
    struct gp_err err = {0};
    struct merge_ref *bref = NULL, *aref = NULL;
    int rc = merged_profile(r, api, before_svc, bs, be, &p.spec, true, &bref, &err);
    if (rc == 0)
        rc = merged_profile(r, api, p.service, p.start, p.end, &p.spec, true, &aref, &err);
    api_query_free(&p);
    if (rc) {
        sb_free(&key);
        merge_flight_release(api->merges, bref);
        api_store_error(w, rc, &err);
        return;
    }
    struct gp_profile *before = merge_ref_profile(bref), *after = merge_ref_profile(aref);
    if (gp_profile_total(before) == 0 && gp_profile_total(after) == 0) {
        sb_free(&key);
        merge_flight_release(api->merges, bref);
        merge_flight_release(api->merges, aref);
        http_resp_empty(w, 204);
        return;
    }
    struct strbuf sb = STRBUF_INIT;
    rc = compact ? gp_flametree_diff_compact(before, after, &topts, &sb, &err)
                 : gp_flametree_diff_json(before, after, &topts, &sb, &err);
    merge_flight_release(api->merges, bref);
    merge_flight_release(api->merges, aref);
    if (rc || sb.oom) {
        sb_free(&key);
        sb_free(&sb);
        http_resp_msg(w, 500, "rendering failed: %s", err.msg);
        return;
    }
    send_json(r, w, &sb, &keep);
    sb_free(&key);
}

void api_datetime_with_data(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, false))
        return;
    struct gp_err err = {0};
    int64_t first = 0, last = 0;
    int rc = index_time_range(api->store->index, p.service, &p.spec.host_f, &first, &last, &err);
    api_query_free(&p);
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
