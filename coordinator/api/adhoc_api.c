/* adhoc_api.c — ad hoc flame graphs (list and content) and PerfSpect reports of a host. */
#include "coordinator/api/query_params.h"
#include "common/timeutil.h"
#include "coordinator/store/ingest.h"
#include "common/ident.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    const char *hosts[64];
    size_t nh = rql_required_eq(p.spec.q, RQL_HOSTNAME, hosts, 64);
    struct adhoc_ctx c = {json_object_new_array(), api};
    struct gp_err err = {0};
    int rc = meta_adhoc_list(api->store->meta, p.service, p.start, p.end, nh ? hosts : NULL, nh,
                             adhoc_cb, &c, &err);
    api_query_free(&p);
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
    if (!api_ui_service(api, r, w, svc))
        return;
    if (!valid_filename(fn)) {
        http_resp_msg(w, 400,
                      "invalid filename '%.80s': use only [A-Za-z0-9._-], no '..' and no "
                      "leading '.'",
                      fn);
        return;
    }
    char clean[META_NAME_MAX];
    if (!api_service_param(api, w, "serviceName", svc, clean))
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
    size_t n = strlen(key);
    if (n > 5 && strcmp(key + n - 5, ".html") == 0 && strcmp(key, best) > 0)
        snprintf(best, 512, "%s", key);
    return 0;
}

/* The key of the newest report under prefix into best (512 bytes; "" = none): the one the
 * "latest" blob names (one small read, no listing), else the largest listed (reports stored
 * before that blob existed). */
static int latest_report(struct coord_api *api, const char *prefix, char *best, struct gp_err *err)
{
    char ptr[512];
    snprintf(ptr, sizeof(ptr), "%s%s", prefix, API_PERFSPECT_LATEST);
    void *v = NULL;
    size_t len = 0;
    uint64_t size;
    struct gp_err e = {0};
    if (blob_get(api->store->blobs, ptr, &v, &len, 511, &e) == 0) {
        memcpy(best, v, len);
        best[len] = '\0';
        free(v);
        if (strncmp(best, prefix, strlen(prefix)) == 0 && blob_key_valid(best) &&
            blob_stat(api->store->blobs, best, &size, &e) == 0)
            return 0;
    }
    best[0] = '\0';
    return blob_list(api->store->blobs, prefix, latest_key_cb, best, err);
}

/* GET /api/metrics/html_metadata?serviceName=S&filter=<RQL with HostName $eq> (or &hostname=H):
 * the newest PerfSpect HTML report of that host, {"content": "<html>", "filename": …}; 404 when
 * it has none (204 with allow_missing=1). */
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
    if (!api_ui_service(api, r, w, svc))
        return;
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
    if (!api_service_param(api, w, "serviceName", svc, clean)) {
        rql_free(q);
        return;
    }
    api_perfspect_prefix(clean, host, prefix, sizeof(prefix));
    char hostname[256];
    snprintf(hostname, sizeof(hostname), "%s", host);
    rql_free(q);
    struct gp_err err = {0};
    int rc = latest_report(api, prefix, best, &err);
    if (rc == 0 && !best[0]) {
        /* the web UI asks with allow_missing=1: no report is an answer, not an error */
        const char *am = http_query(r, "allow_missing");
        if (am && strcmp(am, "1") == 0) {
            http_resp_empty(w, 204);
            return;
        }
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
