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
            {"GET", "/api/v1/health_check", 0, 0, api_health, api},
            {"GET", "/api/v2/health_check", 0, 0, api_health, api},
            {"GET", "/api/v1/health_check/webapp", 0, 0, api_health, api},
            {"GET", "/api/v2/health_check/webapp", 0, 0, api_health, api},
            {"POST", "/api/v2/profiles", HTTP_R_NEED_LENGTH | HTTP_R_OFFLOAD, api->max_upload,
             api_profiles, api},
            {"POST", "/api/v1/profiles", HTTP_R_NEED_LENGTH | HTTP_R_OFFLOAD, api->max_upload,
             api_profiles, api},
            {"POST", "/api/metrics/heartbeat", 0, api->max_request, api_heartbeat, api},
            {"POST", "/api/metrics/command_completion", 0, api->max_request, api_command_completion,
             api},
            {"POST", "/api/metrics/profile_request", 0, api->max_request, api_profile_request, api},
            {"GET", "/api/metrics/profile_request", 0, 0, api_profile_request_get, api},
            {"POST", "/api/metrics/profile_request/bulk", 0, api->max_request * 8,
             api_profile_request_bulk, api},
            {"GET", "/api/metrics/profiling/host_status", 0, 0, api_host_status, api},
            {"GET", "/api/services", 0, 0, api_services, api},
            {"GET", "/api/flamegraph", HTTP_R_OFFLOAD, 0, api_flamegraph, api},
            {"GET", "/api/flamegraph/diff", HTTP_R_OFFLOAD, 0, api_flamegraph_diff, api},
            {"GET", "/api/flamegraph/datetime_with_data", 0, 0, api_datetime_with_data, api},
            {"GET", "/api/metrics/summary", HTTP_R_OFFLOAD, 0, api_metrics_summary, api},
            {"GET", "/api/metrics/graph", HTTP_R_OFFLOAD, 0, api_metrics_graph, api},
            {"GET", "/api/metrics/adhoc_flamegraphs", 0, 0, api_adhoc_list, api},
            {"GET", "/api/metrics/adhoc_flamegraph_content", 0, 0, api_adhoc_content, api},
            {"GET", "/api/metrics/html_metadata", 0, 0, api_html_metadata, api},
            {"GET", "/api/settings", 0, 0, api_settings_get, api},
            {"PUT", "/api/settings", 0, api->max_request, api_settings_put, api},
            {"POST", "/api/settings", 0, api->max_request, api_settings_put, api},
            {"GET", "/api/v1/filters/tags/", HTTP_R_PREFIX, 0, api_filter_values, api},
            {"GET", "/", 0, 0, api_ui_static, api},
            {"GET", "/ui/", HTTP_R_PREFIX, 0, api_ui_static, api},
            {"GET", "/favicon.ico", 0, 0, api_ui_static, api},
    };
    size_t n = sizeof(all) / sizeof(all[0]);
    if (n > max)
        n = max;
    memcpy(rt, all, n * sizeof(*rt));
    return n;
}
