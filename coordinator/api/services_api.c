/* services_api.c — the service list, a service's filter values (hosts, containers,
 * processes) and the settings (retention, sample thresholds). */
#include "coordinator/api/query_params.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- services ------------------------------------------------------------------------ */

struct svc_ctx {
    json_object *arr;
    struct coord_api *api;
    int64_t now;
    const struct auth_ident *id; /* lists only the services it may see */
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
    if (!auth_service_allowed(c->id, s->name))
        return 0;
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
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &id))
        return;
    struct svc_ctx c = {json_object_new_array(), api, coord_now(), &id};
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
    struct api_query p;
    if (!api_query_parse(api, r, w, &p, false))
        return;
    json_object *arr = json_object_new_array();
    struct gp_err err = {0};
    int rc = index_values(api->store->index, p.service, p.start, p.end, dim, value_json_cb, arr,
                          &err);
    api_query_free(&p);
    if (rc && rc != -ENOENT) {
        json_object_put(arr);
        api_store_error(w, rc, &err);
        return;
    }
    http_resp_json(w, 200, arr);
}

/* ---- settings ------------------------------------------------------------------------ */

struct thr_ctx {
    json_object *o;
    const struct auth_ident *id; /* only the services it may see */
};

static int thr_cb(const struct meta_service *s, void *ctx)
{
    struct thr_ctx *t = ctx;
    if (auth_service_allowed(t->id, s->name))
        json_object_object_add(t->o, s->name, json_object_new_double(s->sample_threshold));
    return 0;
}

void api_settings_get(const struct http_req *r, struct http_resp *w, void *ctx)
{
    struct coord_api *api = ctx;
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &id))
        return;
    struct gp_err err = {0};
    int64_t days = 0;
    int rc = coord_store_retention_days(api->store, &days, &err);
    json_object *thr = json_object_new_object();
    if (rc == 0)
        rc = meta_service_list(api->store->meta, thr_cb, &(struct thr_ctx){thr, &id}, &err);
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
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_ADMIN, &id))
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
                !(json_object_get_double(t) >= 0 &&
                  json_object_get_double(t) <= 1)) { /* and not NaN */
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
    const char *what = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN);
    api_audit(api, r, &id, "settings", what, rc ? "failed" : "ok", rc ? 500 : 200,
              rc ? err.msg : "");
    json_object_put(body);
    if (rc) {
        api_store_error(w, rc, &err);
        return;
    }
    api_settings_get(r, w, ctx);
}
