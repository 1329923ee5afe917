/* query_params.c — parsing the query endpoints' shared parameters (see query_params.h). */
#include "coordinator/api/query_params.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void api_query_free(struct api_query *p)
{
    query_spec_free(&p->spec);
}

static bool service_exists(struct coord_api *api, const char *name, struct http_resp *w)
{
    struct gp_err err = {0};
    int rc = meta_service_get(api->store->meta, name, NULL, &err);
    if (rc == -ENOENT) {
        http_resp_msg(w, 406, "service %s doesn't exist", name);
        return false;
    }
    if (rc) {
        api_store_error(w, rc, &err);
        return false;
    }
    return true;
}

bool api_service_param(struct coord_api *api, struct http_resp *w, const char *param,
                       const char *svc, char clean[META_NAME_MAX])
{
    if (meta_service_sanitize(svc, clean, META_NAME_MAX) == 0 || strcmp(clean, svc) != 0) {
        http_resp_msg(w, 400, "invalid %s '%.80s': use only [A-Za-z0-9_.-]", param, svc);
        return false;
    }
    return service_exists(api, clean, w);
}

bool api_time_param(const struct http_req *r, struct http_resp *w, const char *key, bool required,
                    int64_t *out)
{
    const char *v = http_query(r, key);
    if (!v || !*v) {
        if (required)
            http_resp_msg(w, 400, "query parameter %s is required (ISO 8601 time)", key);
        return !required;
    }
    if (tu_parse(v, out) != 0) {
        http_resp_msg(w, 400, "query parameter %s: '%.60s' is not an ISO 8601 time", key, v);
        return false;
    }
    return true;
}

bool api_query_parse(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                     struct api_query *p, bool need_times)
{
    memset(p, 0, sizeof(*p));
    struct auth_ident id;
    if (!api_ui_need(api, r, w, META_ROLE_VIEWER, &id))
        return false;
    const char *svc = http_query(r, "serviceName");
    if (!svc || !*svc)
        svc = http_query(r, "service_name");
    if (!svc || !*svc) {
        http_resp_msg(w, 400, "query parameter serviceName is required");
        return false;
    }
    if (meta_service_sanitize(svc, p->service, sizeof(p->service)) == 0 ||
        strcmp(p->service, svc) != 0) {
        http_resp_msg(w, 406, "service %.80s doesn't exist", svc);
        return false;
    }
    if (!api_service_ok(api, r, w, &id, p->service))
        return false;
    if (!service_exists(api, p->service, w))
        return false;
    int64_t now = coord_now();
    p->end = now + 60;
    p->start = now - 24 * 3600;
    if (!api_time_param(r, w, "startTime", need_times, &p->start) ||
        !api_time_param(r, w, "endTime", need_times, &p->end))
        return false;
    if (p->end <= p->start) {
        http_resp_msg(w, 400, "endTime must be after startTime");
        return false;
    }
    const char *f = http_query(r, "filter");
    if (f && *f) {
        struct gp_err err = {0};
        if (rql_parse(f, strlen(f), &p->spec.q, &err) != 0) {
            http_resp_msg(w, 400, "%s", err.msg);
            return false;
        }
    }
    query_spec_prepare(&p->spec);
    p->spec.stacks = api->default_stacks;
    const char *sc = http_query(r, "stacksCount");
    if (!sc)
        sc = http_query(r, "stacks_num");
    if (sc && *sc) {
        char *end;
        long long n = strtoll(sc, &end, 10);
        if (*end || n <= 0) {
            api_query_free(p);
            http_resp_msg(w, 400, "stacksCount must be a positive integer, got '%.40s'", sc);
            return false;
        }
        p->spec.stacks = (size_t)n;
        if (api->max_stacks && p->spec.stacks > api->max_stacks)
            p->spec.stacks = api->max_stacks;
    }
    return true;
}
