/* audit_api.c — GET /api/audit (admin): the audit log newest first, `since` (ISO 8601 or Unix
 * seconds) and `limit` (default 100, at most 1000). */
#include "coordinator/api/api.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_LIMIT_MAX 1000

static int audit_cb(const struct meta_audit *a, void *ctx)
{
    json_object *o = json_object_new_object();
    char t[40];
    tu_format_z(a->at, t, sizeof(t));
    json_object_object_add(o, "id", json_object_new_int64(a->id));
    json_object_object_add(o, "time", json_object_new_string(t));
    json_object_object_add(o, "who", json_object_new_string(a->who));
    json_object_object_add(o, "address", json_object_new_string(a->address));
    json_object_object_add(o, "action", json_object_new_string(a->action));
    json_object_object_add(o, "target", json_object_new_string(a->target));
    json_object_object_add(o, "result", json_object_new_string(a->result));
    json_object_object_add(o, "status", json_object_new_int(a->status));
    json_object_object_add(o, "detail", json_object_new_string(a->detail));
    json_object_array_add(ctx, o);
    return 0;
}

void api_audit_list(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    if (!api_ui_need(api, r, w, META_ROLE_ADMIN, NULL))
        return;
    int64_t since = 0;
    const char *s = http_query(r, "since");
    if (s && *s) {
        char *end;
        long long n = strtoll(s, &end, 10);
        if (*end == '\0' && n >= 0)
            since = n;
        else if (tu_parse(s, &since) != 0) {
            http_resp_msg(w, 400, "since: '%.60s' is neither an ISO 8601 time nor Unix seconds", s);
            return;
        }
    }
    size_t limit = 100;
    const char *l = http_query(r, "limit");
    if (l && *l) {
        char *end;
        long n = strtol(l, &end, 10);
        if (*end || n < 1 || n > AUDIT_LIMIT_MAX) {
            http_resp_msg(w, 400, "limit must be 1..%d", AUDIT_LIMIT_MAX);
            return;
        }
        limit = (size_t)n;
    }
    json_object *arr = json_object_new_array();
    struct gp_err err = {0};
    int rc = meta_audit_list(api->store->meta, since, limit, audit_cb, arr, &err);
    if (rc) {
        json_object_put(arr);
        api_store_error(w, rc, &err);
        return;
    }
    http_resp_json(w, 200, arr);
}
