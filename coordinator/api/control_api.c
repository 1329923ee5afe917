/* control_api.c — Performance Studio's control endpoints: profile requests (single and bulk),
 * request status and host status; UI credentials required. */
#include "coordinator/api/api.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void plane_answer(struct http_resp *w, int rc, json_object *resp, int status,
                         const struct gp_err *err)
{
    if (rc) {
        json_object_put(resp);
        api_store_error(w, rc, err);
        return;
    }
    http_resp_json(w, status, resp);
}

static bool query_bool(const struct http_req *r, const char *key)
{
    const char *v = http_query(r, key);
    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0);
}

void api_profile_request(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    struct gp_err err = {0};
    json_object *resp = NULL;
    int status = 500;
    int rc = cp_plane_profile_request(api->plane, body, query_bool(r, "dry_run"), coord_now(),
                                      &resp, &status, &err);
    json_object_put(body);
    plane_answer(w, rc, resp, status, &err);
}

void api_profile_request_bulk(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    if (query_bool(r, "dry_run") && json_object_is_type(body, json_type_object))
        json_object_object_add(body, "dry_run", json_object_new_boolean(1));
    struct gp_err err = {0};
    json_object *resp = NULL;
    int status = 500;
    int rc = cp_plane_bulk_request(api->plane, body, coord_now(), &resp, &status, &err);
    json_object_put(body);
    plane_answer(w, rc, resp, status, &err);
}

void api_profile_request_get(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    const char *id = http_query(r, "request_id");
    if (!id || !*id || strlen(id) > 64) {
        http_resp_msg(w, 400, "query parameter request_id is required");
        return;
    }
    struct gp_err err = {0};
    json_object *resp = NULL;
    int status = 500;
    int rc = cp_plane_request_status(api->plane, id, &resp, &status, &err);
    plane_answer(w, rc, resp, status, &err);
}

#define MAX_FILTER_VALUES 64

struct strvec {
    const char *v[MAX_FILTER_VALUES];
    size_t n;
    bool overflow;
};

static void collect(const char *value, void *ctx)
{
    struct strvec *s = ctx;
    if (s->n < MAX_FILTER_VALUES)
        s->v[s->n++] = value;
    else
        s->overflow = true;
}

void api_host_status(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_ok(api, r, w))
        return;
    struct strvec svc = {0}, host = {0}, ip = {0}, pst = {0}, ctype = {0};
    http_query_each(r, "service_name", collect, &svc);
    http_query_each(r, "hostname", collect, &host);
    http_query_each(r, "ip_address", collect, &ip);
    http_query_each(r, "profiling_status", collect, &pst);
    http_query_each(r, "command_type", collect, &ctype);
    if (svc.overflow || host.overflow || ip.overflow || pst.overflow || ctype.overflow) {
        http_resp_msg(w, 400, "at most %d values per filter", MAX_FILTER_VALUES);
        return;
    }
    for (size_t i = 0; i < pst.n; i++) {
        const char *s = pst.v[i];
        if (strcmp(s, "pending") && strcmp(s, "sent") && strcmp(s, "completed") &&
            strcmp(s, "failed") && strcmp(s, "stopped")) {
            http_resp_msg(w, 400,
                          "profiling_status '%.40s' is not one of pending, sent, completed, "
                          "failed, stopped",
                          s);
            return;
        }
    }
    for (size_t i = 0; i < ctype.n; i++)
        if (strcmp(ctype.v[i], "start") && strcmp(ctype.v[i], "stop") &&
            strcmp(ctype.v[i], "N/A")) {
            http_resp_msg(w, 400, "command_type '%.40s' is not one of start, stop, N/A",
                          ctype.v[i]);
            return;
        }
    struct meta_host_filter f = {.services = svc.v,
                                 .nservices = svc.n,
                                 .hostnames = host.v,
                                 .nhostnames = host.n,
                                 .ip_addresses = ip.v,
                                 .nip_addresses = ip.n,
                                 .command_types = ctype.v,
                                 .ncommand_types = ctype.n,
                                 .command_statuses = pst.v,
                                 .ncommand_statuses = pst.n,
                                 .exact_match = query_bool(r, "exact_match")};
    struct gp_err err = {0};
    json_object *resp = NULL;
    int status = 500;
    int rc = cp_plane_host_status(api->plane, &f, coord_now(), &resp, &status, &err);
    /* pids filter: hosts whose current command names one of the pids */
    struct strvec pids = {0};
    http_query_each(r, "pids", collect, &pids);
    if (rc == 0 && pids.n) {
        json_object *kept = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(resp); i++) {
            json_object *h = json_object_array_get_idx(resp, i), *pv;
            bool keep = false;
            if (json_object_object_get_ex(h, "pids", &pv))
                for (size_t k = 0; !keep && k < json_object_array_length(pv); k++)
                    for (size_t j = 0; !keep && j < pids.n; j++)
                        keep = json_object_get_int(json_object_array_get_idx(pv, k)) ==
                               atoi(pids.v[j]);
            if (keep)
                json_object_array_add(kept, json_object_get(h));
        }
        json_object_put(resp);
        resp = kept;
    }
    plane_answer(w, rc, resp, status, &err);
}
