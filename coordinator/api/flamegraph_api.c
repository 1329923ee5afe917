/* flamegraph_api.c — flame graphs from the query engine: Performance Studio's tree JSON and
 * exports (html, collapsed, pprof), diffs, and the time range that has data. */
#include "coordinator/api/query_params.h"
#include "common/timeutil.h"
#include "common/collapsed.h"
#include "common/flametree.h"
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
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, true))
        return;
    struct gp_err err = {0};
    struct gp_profile *prof = NULL;
    int rc = query_profile(api->store->index, p.service, p.start, p.end, &p.spec, &prof, &err);
    if (rc) {
        api_query_free(&p);
        api_store_error(w, rc, &err);
        return;
    }
    send_profile(r, w, p.service, p.start, p.end, prof);
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
    struct gp_err err = {0};
    struct gp_profile *before = NULL, *after = NULL;
    int rc = query_profile(api->store->index, before_svc, bs, be, &p.spec, &before, &err);
    if (rc == 0)
        rc = query_profile(api->store->index, p.service, p.start, p.end, &p.spec, &after, &err);
    api_query_free(&p);
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
