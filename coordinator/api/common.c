/* common.c — helpers shared by the API handlers and the routing table. */
#include "coordinator/api/api.h"
#include "coordinator/api/envelope.h"
#include "common/log.h"

#include <stdio.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t coord_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}

json_object *api_services_json(const char *list)
{
    json_object *a = json_object_new_array();
    for (const char *p = list; a && p && *p;) {
        size_t n = strcspn(p, ",");
        if (n)
            json_object_array_add(a, json_object_new_string_len(p, (int)n));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

json_object *api_json_body(const struct http_req *r, struct http_resp *w)
{
    struct gp_err err = {0};
    json_object *o = json_parse_strict(r->body, r->body_len, 64, &err);
    if (!o) {
        http_resp_msg(w, err.code == -ENOMEM ? 500 : 400, "%s", err.msg);
        return NULL;
    }
    return o;
}

void api_audit(struct coord_api *api, const struct http_req *r, const struct auth_ident *id,
               const char *action, const char *target, const char *result, int status,
               const char *detail)
{
    char act[200];
    if (!action) {
        snprintf(act, sizeof(act), "%s %.150s", r->method, r->path);
        action = act;
    }
    struct meta_audit a = {.who = (char *)id->who,
                           .address = (char *)id->ip,
                           .action = (char *)action,
                           .target = (char *)target,
                           .result = (char *)result,
                           .status = status,
                           .detail = (char *)detail};
    struct gp_err err = {0};
    if (meta_audit_append(api->store->meta, &a, &err) != 0)
        gp_error("audit log: cannot record '%s' by %s from %s: %s", action, id->who, id->ip,
                 err.msg);
}

bool api_ui_need(struct coord_api *api, const struct http_req *r, struct http_resp *w, int role,
                 struct auth_ident *id)
{
    struct auth_ident local;
    if (!id)
        id = &local;
    struct gp_err err = {0};
    int rc = auth_identify(api->auth, r, coord_now(), id, &err);
    if (rc == -EACCES || rc == -EPERM) {
        int status = rc == -EACCES ? 401 : 403;
        http_resp_msg(w, status, "%s", err.msg);
        api_audit(api, r, id, NULL, "", "denied", status, err.msg);
        return false;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return false;
    }
    if (id->role < role) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s is %s; this needs the %s role", id->who,
                 meta_role_name(id->role), meta_role_name(role));
        http_resp_msg(w, 403, "%s", msg);
        api_audit(api, r, id, NULL, "", "denied", 403, msg);
        return false;
    }
    return true;
}

bool api_service_ok(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                    const struct auth_ident *id, const char *service)
{
    if (auth_service_allowed(id, service))
        return true;
    char msg[400];
    snprintf(msg, sizeof(msg), "%s may not see or act on service '%.200s'", id->who,
             service ? service : "");
    http_resp_msg(w, 403, "%s", msg);
    api_audit(api, r, id, NULL, service ? service : "", "denied", 403, msg);
    return false;
}

bool api_ui_service(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                    const char *service)
{
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &id))
        return false;
    char clean[META_NAME_MAX] = "";
    if (service)
        meta_service_sanitize(service, clean, sizeof(clean));
    return api_service_ok(api, r, w, &id, clean);
}

bool api_ui_ok(struct coord_api *api, const struct http_req *r, struct http_resp *w)
{
    return api_ui_need(api, r, w, META_ROLE_VIEWER, NULL);
}

bool api_pre_agent(const struct http_req *r, struct http_resp *w, char *who, size_t whosz,
                   void *ctx)
{
    (void)who;
    (void)whosz;
    struct coord_api *api = ctx;
    struct gp_err err = {0};
    /* any valid token here; the handler checks it against the service the body names */
    if (auth_check_agent(api->auth, r, NULL, NULL, 0, coord_now(), &err) == 0)
        return true;
    http_resp_msg(w, err.code == -EACCES ? 401 : 500, "%s", err.msg);
    return false;
}

bool api_pre_ui(const struct http_req *r, struct http_resp *w, char *who, size_t whosz, void *ctx)
{
    /* only a credential auth_identify accepted names a caller (a refused one never gets here):
     * an unchecked header would let anyone mint a fresh bucket per request */
    struct auth_ident id;
    if (!api_ui_need(ctx, r, w, META_ROLE_VIEWER, &id))
        return false;
    snprintf(who, whosz, "%s", id.key);
    return true;
}

void api_store_error(struct http_resp *w, int rc, const struct gp_err *err)
{
    if (rc == -EBUSY) {
        http_resp_msg(w, 503, "storage is busy, retry: %s", err->msg);
        return;
    }
    gp_error("api: storage error: %s", err->msg);
    http_resp_msg(w, 500, "internal error: %s", err->msg);
}

size_t coord_api_routes(struct coord_api *api, struct http_route *rt, size_t max)
{
    const struct http_route all[] = {
            {"GET", "/api/v1/health_check", 0, 0, api_health, api, NULL},
            {"GET", "/api/v2/health_check", 0, 0, api_health, api, NULL},
            {"GET", "/api/v1/health_check/webapp", 0, 0, api_health, api, NULL},
            {"GET", "/api/v2/health_check/webapp", 0, 0, api_health, api, NULL},
            {"POST", "/api/v2/profiles", HTTP_R_NEED_LENGTH | HTTP_R_OFFLOAD | HTTP_R_LARGE_INFLATE,
             api->max_upload, api_profiles, api, api_pre_agent},
            {"POST", "/api/v1/profiles", HTTP_R_NEED_LENGTH | HTTP_R_OFFLOAD | HTTP_R_LARGE_INFLATE,
             api->max_upload, api_profiles, api, api_pre_agent},
            {"POST", "/api/metrics/heartbeat", 0, API_AGENT_MSG_MAX, api_heartbeat, api,
             api_pre_agent},
            {"POST", "/api/metrics/command_completion", 0, API_AGENT_MSG_MAX,
             api_command_completion, api, api_pre_agent},
            {"POST", "/api/metrics/profile_request", HTTP_R_RATE_LIMITED, api->max_request,
             api_profile_request, api, api_pre_ui},
            {"GET", "/api/metrics/profile_request", 0, 0, api_profile_request_get, api, NULL},
            {"POST", "/api/metrics/profile_request/bulk", HTTP_R_RATE_LIMITED, api->max_request * 8,
             api_profile_request_bulk, api, api_pre_ui},
            {"GET", "/api/metrics/profiling/host_status", 0, 0, api_host_status, api, NULL},
            {"GET", "/api/services", 0, 0, api_services, api, NULL},
            {"GET", "/api/services/summary", HTTP_R_OFFLOAD, 0, api_services_summary, api, NULL},
            {"GET", "/api/flamegraph", HTTP_R_OFFLOAD, 0, api_flamegraph, api, NULL},
            {"GET", "/api/flamegraph/diff", HTTP_R_OFFLOAD, 0, api_flamegraph_diff, api, NULL},
            {"GET", "/api/flamegraph/sandwich", HTTP_R_OFFLOAD, 0, api_flamegraph_sandwich, api,
             NULL},
            {"GET", "/api/flamegraph/datetime_with_data", 0, 0, api_datetime_with_data, api, NULL},
            {"GET", "/api/metrics/summary", HTTP_R_OFFLOAD, 0, api_metrics_summary, api, NULL},
            {"GET", "/api/metrics/graph", HTTP_R_OFFLOAD, 0, api_metrics_graph, api, NULL},
            {"GET", "/api/metrics/adhoc_flamegraphs", 0, 0, api_adhoc_list, api, NULL},
            {"GET", "/api/metrics/adhoc_flamegraph_content", 0, 0, api_adhoc_content, api, NULL},
            {"GET", "/api/metrics/html_metadata", 0, 0, api_html_metadata, api, NULL},
            {"GET", "/api/settings", 0, 0, api_settings_get, api, NULL},
            {"PUT", "/api/settings", HTTP_R_RATE_LIMITED, api->max_request, api_settings_put, api,
             api_pre_ui},
            {"POST", "/api/settings", HTTP_R_RATE_LIMITED, api->max_request, api_settings_put, api,
             api_pre_ui},
            {"GET", "/api/v1/filters/tags/", HTTP_R_PREFIX, 0, api_filter_values, api, NULL},
            {"GET", "/metrics", 0, 0, api_prom_metrics, api, api_pre_metrics},
            {"POST", "/api/login", 0, 16384, api_login, api, NULL},
            {"POST", "/api/logout", 0, 16384, api_logout, api, NULL},
            {"GET", "/api/me", 0, 0, api_me, api, NULL},
            {"GET", "/api/audit", 0, 0, api_audit_list, api, NULL},
            {"GET", "/api/users", 0, 0, api_users_list, api, NULL},
            {"POST", "/api/users", HTTP_R_RATE_LIMITED, 16384, api_users_add, api, api_pre_ui},
            {"PUT", "/api/users/", HTTP_R_PREFIX | HTTP_R_RATE_LIMITED, 16384, api_users_change,
             api, api_pre_ui},
            {"DELETE", "/api/users/", HTTP_R_PREFIX | HTTP_R_RATE_LIMITED, 0, api_users_change, api,
             api_pre_ui},
            {"POST", "/api/users/", HTTP_R_PREFIX | HTTP_R_RATE_LIMITED, 16384, api_users_change,
             api, api_pre_ui},
            {"GET", "/", 0, 0, api_ui_static, api, NULL},
            {"GET", "/ui/", HTTP_R_PREFIX, 0, api_ui_static, api, NULL},
            {"GET", "/favicon.ico", 0, 0, api_ui_static, api, NULL},
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    if (n > max)
        n = max;
    memcpy(rt, all, n * sizeof(*rt));
    return n;
}
