/* control_api.c — Performance Studio's control endpoints: profile requests (single and bulk),
 * request status and host status; UI credentials required. */
#include "coordinator/api/api.h"
#include "coordinator/api/control_json.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
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

/* "start"/"stop" and "service: host,host" of one request body, for the audit log. */
static void describe(json_object *req, char *type, size_t tsz, char *target, size_t gsz)
{
    json_object *v;
    const char *svc = "", *t = "";
    if (json_object_object_get_ex(req, "service_name", &v) &&
        json_object_is_type(v, json_type_string))
        svc = json_object_get_string(v);
    if (json_object_object_get_ex(req, "request_type", &v) &&
        json_object_is_type(v, json_type_string))
        t = json_object_get_string(v);
    snprintf(type, tsz, "%.20s", t);
    int n = snprintf(target, gsz, "%.200s", svc);
    if (json_object_object_get_ex(req, "target_hosts", &v) &&
        json_object_is_type(v, json_type_object)) {
        const char *sep = ": ";
        json_object_object_foreach(v, host, pids)
        {
            (void)pids;
            if (n < 0 || (size_t)n >= gsz)
                break;
            n += snprintf(target + n, gsz - (size_t)n, "%s%s", sep, host);
            sep = ",";
        }
    }
}

/* Operator role and every named service allowed; answers and audits a refusal. */
static bool may_control(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                        struct auth_ident *id, json_object *const *reqs, size_t n)
{
    if (!api_ui_need(api, r, w, META_ROLE_OPERATOR, id))
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *v;
        const char *svc = NULL;
        if (json_object_is_type(reqs[i], json_type_object) &&
            json_object_object_get_ex(reqs[i], "service_name", &v) &&
            json_object_is_type(v, json_type_string))
            svc = json_object_get_string(v);
        char clean[META_NAME_MAX] = "";
        if (svc)
            meta_service_sanitize(svc, clean, sizeof(clean));
        if (id->services[0] && !api_service_ok(api, r, w, id, clean))
            return false;
    }
    return true;
}

static void audit_result(struct coord_api *api, const struct http_req *r,
                         const struct auth_ident *id, json_object *req, int rc, int status,
                         bool dry, const struct gp_err *err)
{
    char type[32], target[600], action[64];
    describe(req, type, sizeof(type), target, sizeof(target));
    snprintf(action, sizeof(action), "profile_request %s%s", type, dry ? " (dry run)" : "");
    bool ok = rc == 0 && status < 300;
    api_audit(api, r, id, action, target, ok ? "ok" : "failed", rc ? 500 : status,
              rc ? err->msg : "");
}

void api_profile_request(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id; /* authenticated by the route's pre hook; role checked below */
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    if (!may_control(api, r, w, &id, &body, 1)) {
        json_object_put(body);
        return;
    }
    struct gp_err err = {0};
    json_object *resp = NULL;
    int status = 500;
    bool dry = query_bool(r, "dry_run");
    int rc = cj_profile_request(api->plane, body, dry, coord_now(), &resp, &status, &err);
    audit_result(api, r, &id, body, rc, status, dry, &err);
    json_object_put(body);
    plane_answer(w, rc, resp, status, &err);
}

void api_profile_request_bulk(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id; /* authenticated by the route's pre hook; role checked below */
    json_object *body = api_json_body(r, w);
    if (!body)
        return;
    json_object *reqs = NULL;
    size_t n = 0;
    if (json_object_is_type(body, json_type_object) &&
        json_object_object_get_ex(body, "requests", &reqs) &&
        json_object_is_type(reqs, json_type_array))
        n = json_object_array_length(reqs);
    json_object **items = calloc(n ? n : 1, sizeof(*items));
    if (!items) {
        json_object_put(body);
        http_resp_msg(w, 500, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++)
        items[i] = json_object_array_get_idx(reqs, i);
    bool ok = may_control(api, r, w, &id, items, n);
    if (!ok) {
        free(items);
        json_object_put(body);
        return;
    }
    if (query_bool(r, "dry_run") && json_object_is_type(body, json_type_object))
        json_object_object_add(body, "dry_run", json_object_new_boolean(1));
    json_object *dv;
    bool dry = json_object_is_type(body, json_type_object) &&
               json_object_object_get_ex(body, "dry_run", &dv) && json_object_get_boolean(dv);
    struct gp_err err = {0};
    json_object *resp = NULL;
    int status = 500;
    int rc = cj_bulk_request(api->plane, body, coord_now(), &resp, &status, &err);
    for (size_t i = 0; i < n; i++)
        audit_result(api, r, &id, items[i], rc, status, dry, &err);
    free(items);
    json_object_put(body);
    plane_answer(w, rc, resp, status, &err);
}

static int execution_json_cb(const struct meta_execution *e, void *ctx)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "command_id", json_object_new_string(e->command_id));
    json_object_object_add(o, "hostname", json_object_new_string(e->hostname));
    json_object_object_add(o, "status", json_object_new_string(e->status));
    json_object_object_add(o, "execution_time",
                           e->execution_time < 0 ? NULL : json_object_new_int64(e->execution_time));
    json_object_object_add(o, "error_message",
                           e->error_message ? json_object_new_string(e->error_message) : NULL);
    json_object_object_add(o, "results_path",
                           e->results_path ? json_object_new_string(e->results_path) : NULL);
    json_object_array_add(ctx, o);
    return 0;
}

void api_profile_request_get(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident who;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &who))
        return;
    const char *id = http_query(r, "request_id");
    if (!id || !*id || strlen(id) > 64) {
        http_resp_msg(w, 400, "query parameter request_id is required");
        return;
    }
    struct gp_err err = {0};
    struct meta_request rq = {0};
    int rc = cp_plane_request(api->plane, id, &rq, &err);
    if (rc == -ENOENT) {
        json_object *o = json_object_new_object();
        char msg[128];
        snprintf(msg, sizeof(msg), "no profiling request %s", id);
        json_object_object_add(o, "success", json_object_new_boolean(0));
        json_object_object_add(o, "message", json_object_new_string(msg));
        http_resp_json(w, 404, o);
        return;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    if (!api_service_ok(api, r, w, &who, rq.service_name)) {
        meta_request_clear(&rq);
        return;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "request_id", json_object_new_string(rq.request_id));
    json_object_object_add(o, "service_name", json_object_new_string(rq.service_name));
    json_object_object_add(o, "request_type", json_object_new_string(rq.request_type));
    json_object_object_add(o, "status", json_object_new_string(rq.status));
    json_object *ex = json_object_new_array();
    rc = cp_plane_request_executions(api->plane, id, execution_json_cb, ex, &err);
    json_object_object_add(o, "executions", ex);
    meta_request_clear(&rq);
    plane_answer(w, rc, o, 200, &err);
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

static int host_json_cb(const struct cp_host_view *v, void *ctx)
{
    const struct meta_heartbeat *h = v->host;
    json_object *o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    json_object_object_add(o, "id", json_object_new_int64(h->id));
    json_object_object_add(o, "service_name", json_object_new_string(h->service_name));
    json_object_object_add(o, "hostname", json_object_new_string(h->hostname));
    json_object_object_add(o, "ip_address",
                           json_object_new_string(h->ip_address ? h->ip_address : ""));
    json_object_object_add(o, "agent_version",
                           h->agent_version ? json_object_new_string(h->agent_version) : NULL);
    json_object *pids = json_object_new_array();
    const char *ctype = "N/A", *pstatus = "stopped";
    if (v->command) {
        ctype = v->command->command_type;
        pstatus = v->command->status;
        json_object *cfg = v->command->combined_config
                                   ? json_tokener_parse(v->command->combined_config)
                                   : NULL;
        json_object *pv;
        if (cfg && json_object_object_get_ex(cfg, "pids", &pv) &&
            json_object_is_type(pv, json_type_array))
            for (size_t i = 0; i < json_object_array_length(pv); i++)
                json_object_array_add(pids, json_object_get(json_object_array_get_idx(pv, i)));
        json_object_put(cfg);
        json_object_object_add(o, "command_id", json_object_new_string(v->command->command_id));
    } else {
        json_object_object_add(o, "command_id", NULL);
    }
    json_object_object_add(o, "pids", pids);
    json_object_object_add(o, "command_type", json_object_new_string(ctype));
    json_object_object_add(o, "profiling_status", json_object_new_string(pstatus));
    json_object_object_add(o, "status", json_object_new_string(v->liveness));
    char ts[32];
    tu_format(h->heartbeat_timestamp, ts, sizeof(ts));
    json_object_object_add(o, "heartbeat_timestamp", json_object_new_string(ts));
    json_object_array_add(ctx, o);
    return 0;
}

/* What only the plane's cache knows, per host: running_sessions and heartbeat_interval_s. */
static int add_cached(struct cp_plane *plane, json_object *arr, struct gp_err *err)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i), *hv = NULL, *sv = NULL;
        json_object_object_get_ex(o, "hostname", &hv);
        json_object_object_get_ex(o, "service_name", &sv);
        const char *host = json_object_get_string(hv), *service = json_object_get_string(sv);
        char *sessions = NULL;
        int64_t interval = 0;
        if (!host || !service)
            continue;
        if (cp_plane_host_cached(plane, host, service, &sessions, &interval))
            return gp_err_set(err, -ENOMEM, "out of memory");
        json_object_object_add(o, "running_sessions",
                               sessions ? json_tokener_parse(sessions) : NULL);
        json_object_object_add(o, "heartbeat_interval_s", json_object_new_int64(interval));
        free(sessions);
    }
    return 0;
}

/* Keeps the hosts of the services id may see. */
static json_object *filter_hosts(json_object *resp, const struct auth_ident *id)
{
    if (!id->services[0])
        return resp;
    json_object *kept = json_object_new_array();
    for (size_t i = 0; kept && i < json_object_array_length(resp); i++) {
        json_object *h = json_object_array_get_idx(resp, i), *sv;
        if (json_object_object_get_ex(h, "service_name", &sv) &&
            auth_service_allowed(id, json_object_get_string(sv)))
            json_object_array_add(kept, json_object_get(h));
    }
    json_object_put(resp);
    return kept;
}

void api_host_status(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &id))
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
    json_object *resp = json_object_new_array();
    if (!resp) {
        http_resp_msg(w, 500, "out of memory");
        return;
    }
    int rc = cp_plane_hosts(api->plane, &f, coord_now(), host_json_cb, resp, &err);
    if (rc == 0)
        rc = add_cached(api->plane, resp, &err);
    int status = 200;
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
    if (rc == 0)
        resp = filter_hosts(resp, &id);
    plane_answer(w, rc, resp, status, &err);
}
