/* common.c — helpers shared by the API handlers and the routing table. */
#include "coordinator/api/api.h"
#include "coordinator/api/envelope.h"
#include "common/log.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int64_t coord_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
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

bool api_ui_ok(struct coord_api *api, const struct http_req *r, struct http_resp *w)
{
    struct gp_err err = {0};
    if (auth_check_ui(api->auth, r, &err) == 0)
        return true;
    http_resp_msg(w, 401, "%s", err.msg);
    return false;
}

bool api_pre_agent(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct gp_err err = {0};
    /* any valid token here; the handler checks it against the service the body names */
    if (auth_check_agent(api->auth, r, NULL, NULL, 0, coord_now(), &err) == 0)
        return true;
    http_resp_msg(w, err.code == -EACCES ? 401 : 500, "%s", err.msg);
    return false;
}

bool api_pre_ui(const struct http_req *r, struct http_resp *w, void *ctx)
{
    return api_ui_ok(ctx, r, w);
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
            {"POST", "/api/metrics/profile_request", 0, api->max_request, api_profile_request, api,
             api_pre_ui},
            {"GET", "/api/metrics/profile_request", 0, 0, api_profile_request_get, api, NULL},
            {"POST", "/api/metrics/profile_request/bulk", 0, api->max_request * 8,
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
            {"PUT", "/api/settings", 0, api->max_request, api_settings_put, api, api_pre_ui},
            {"POST", "/api/settings", 0, api->max_request, api_settings_put, api, api_pre_ui},
            {"GET", "/api/v1/filters/tags/", HTTP_R_PREFIX, 0, api_filter_values, api, NULL},
            {"GET", "/metrics", 0, 0, api_prom_metrics, api, api_pre_metrics},
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
