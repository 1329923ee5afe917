/* command.c — pure control-plane rules (see command.h). */
#include "coordinator/control/command.h"
#include "common/cmd_limits.h"
#include "common/ident.h"

#include <errno.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void cp_config_init(struct cp_config *c)
{
    memset(c, 0, sizeof(*c));
    c->type = CP_START;
    c->duration = 60;
    c->frequency = 11;
    strcpy(c->mode, "cpu");
}

void cp_config_free(struct cp_config *c)
{
    if (!c)
        return;
    free(c->pids);
    if (c->extra)
        json_object_put(c->extra);
    c->pids = NULL;
    c->npids = 0;
    c->extra = NULL;
}

static json_object *json_clone(json_object *o)
{
    if (!o)
        return NULL;
    json_object *copy = NULL;
    if (json_object_deep_copy(o, &copy, NULL) != 0)
        return NULL;
    return copy;
}

int cp_config_copy(struct cp_config *dst, const struct cp_config *src)
{
    *dst = *src;
    dst->pids = NULL;
    dst->extra = NULL;
    if (src->npids) {
        dst->pids = malloc(src->npids * sizeof(int32_t));
        if (!dst->pids)
            return -ENOMEM;
        memcpy(dst->pids, src->pids, src->npids * sizeof(int32_t));
    }
    if (src->extra) {
        dst->extra = json_clone(src->extra);
        if (!dst->extra) {
            free(dst->pids);
            dst->pids = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

void cp_request_free(struct cp_request *r)
{
    if (!r)
        return;
    free(r->service_name);
    for (size_t i = 0; i < r->ntargets; i++) {
        free(r->targets[i].hostname);
        free(r->targets[i].pids);
    }
    free(r->targets);
    if (r->additional_args)
        json_object_put(r->additional_args);
    memset(r, 0, sizeof(*r));
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t sort_unique(int32_t *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof(*v), cmp_i32);
    size_t w = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[w - 1])
            v[w++] = v[i];
    return w;
}

int cp_pids_union(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t **out,
                  size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (na + nb == 0)
        return 0;
    int32_t *v = malloc((na + nb) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    if (na)
        memcpy(v, a, na * sizeof(*v));
    if (nb)
        memcpy(v + na, b, nb * sizeof(*v));
    *nout = sort_unique(v, na + nb);
    *out = v;
    return 0;
}

int cp_pids_minus(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t **out,
                  size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (na == 0)
        return 0;
    int32_t *v = malloc(na * sizeof(*v));
    if (!v)
        return -ENOMEM;
    size_t w = 0;
    for (size_t i = 0; i < na; i++) {
        bool drop = false;
        for (size_t j = 0; j < nb; j++)
            if (a[i] == b[j]) {
                drop = true;
                break;
            }
        if (!drop)
            v[w++] = a[i];
    }
    w = sort_unique(v, w);
    if (w == 0) {
        free(v);
        return 0;
    }
    *out = v;
    *nout = w;
    return 0;
}

/* ---- request parsing ---------------------------------------------------------------- */

static int get_int_field(json_object *body, const char *key, int def, int *out, struct gp_err *err)
{
    json_object *v;
    if (!json_object_object_get_ex(body, key, &v) || json_object_is_type(v, json_type_null)) {
        *out = def;
        return 0;
    }
    if (!json_object_is_type(v, json_type_int))
        return gp_err_set(err, -EINVAL, "field '%s' must be a positive integer", key);
    int64_t x = json_object_get_int64(v);
    if (x <= 0 || x > INT_MAX)
        return gp_err_set(err, -EINVAL, "field '%s' must be a positive integer, got %lld", key,
                          (long long)x);
    *out = (int)x;
    return 0;
}

static int parse_pid_array(json_object *arr, const char *host, int32_t **out, size_t *nout,
                           struct gp_err *err)
{
    *out = NULL;
    *nout = 0;
    if (!arr || json_object_is_type(arr, json_type_null))
        return 0;
    if (!json_object_is_type(arr, json_type_array))
        return gp_err_set(err, -EINVAL, "target_hosts['%s'] must be a list of PIDs or null", host);
    size_t n = json_object_array_length(arr);
    if (n > CP_MAX_PIDS)
        return gp_err_set(err, -E2BIG, "target_hosts['%s'] names %zu PIDs; at most %d allowed",
                          host, n, CP_MAX_PIDS);
    if (n == 0)
        return 0;
    int32_t *v = malloc(n * sizeof(*v));
    if (!v)
        return gp_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *p = json_object_array_get_idx(arr, i);
        int64_t x = json_object_is_type(p, json_type_int) ? json_object_get_int64(p) : -1;
        if (x <= 0 || x > INT32_MAX) {
            free(v);
            return gp_err_set(err, -EINVAL, "target_hosts['%s'][%zu] is not a valid PID", host, i);
        }
        v[i] = (int32_t)x;
    }
    *nout = sort_unique(v, n);
    *out = v;
    return 0;
}

/* A hostname: the shared identifier rule (common/ident.h), and no space or path separator. */
static bool valid_hostname(const char *h, size_t len, char *why, size_t whysz)
{
    if (gp_ident_check(h, len, 255, why, whysz) != 0)
        return false;
    if (strcspn(h, " /\\") != len) {
        snprintf(why, whysz, "contains a space, '/' or '\\'");
        return false;
    }
    return true;
}

int cp_request_parse(json_object *body, struct cp_request *r, struct gp_err *err)
{
    memset(r, 0, sizeof(*r));
    int rc;
    if (!body || !json_object_is_type(body, json_type_object))
        return gp_err_set(err, -EINVAL, "request body must be a JSON object");
    json_object *v;
    if (!json_object_object_get_ex(body, "service_name", &v) ||
        !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0)
        return gp_err_set(err, -EINVAL, "field 'service_name' is required (a non-empty string)");
    char why[128];
    if (gp_ident_check(json_object_get_string(v), (size_t)json_object_get_string_len(v), 255, why,
                       sizeof(why)))
        return gp_err_set(err, -EINVAL, "field 'service_name' %s", why);
    r->service_name = strdup(json_object_get_string(v));
    if (!r->service_name)
        return gp_err_set(err, -ENOMEM, "out of memory");
    if (!json_object_object_get_ex(body, "request_type", &v) ||
        !json_object_is_type(v, json_type_string)) {
        rc = gp_err_set(err, -EINVAL, "field 'request_type' is required: \"start\" or \"stop\"");
        goto fail;
    }
    const char *t = json_object_get_string(v);
    if (strcmp(t, "start") == 0)
        r->type = CP_START;
    else if (strcmp(t, "stop") == 0)
        r->type = CP_STOP;
    else {
        rc = gp_err_set(err, -EINVAL,
                        "field 'request_type' must be \"start\" or \"stop\", got \"%.40s\"", t);
        goto fail;
    }
    if (json_object_object_get_ex(body, "continuous", &v) &&
        !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            rc = gp_err_set(err, -EINVAL, "field 'continuous' must be true or false");
            goto fail;
        }
        r->continuous = json_object_get_boolean(v);
    }
    if ((rc = get_int_field(body, "duration", 60, &r->duration, err)) ||
        (rc = get_int_field(body, "frequency", 11, &r->frequency, err)))
        goto fail;
    /* the agent's own limits (common/cmd_limits.h): a command it would refuse is refused here */
    if (r->duration < GP_CMD_MIN_DURATION || r->duration > GP_CMD_MAX_DURATION) {
        rc = gp_err_set(err, -EINVAL, "field 'duration' must be %d..%d seconds (24 h), got %d",
                        GP_CMD_MIN_DURATION, GP_CMD_MAX_DURATION, r->duration);
        goto fail;
    }
    if (r->frequency < GP_CMD_MIN_FREQ || r->frequency > GP_CMD_MAX_FREQ) {
        rc = gp_err_set(err, -EINVAL, "field 'frequency' must be %d..%d Hz, got %d",
                        GP_CMD_MIN_FREQ, GP_CMD_MAX_FREQ, r->frequency);
        goto fail;
    }
    strcpy(r->mode, "cpu");
    if (json_object_object_get_ex(body, "profiling_mode", &v) &&
        !json_object_is_type(v, json_type_null)) {
        const char *m = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        if (strcmp(m, "cpu") && strcmp(m, "allocation") && strcmp(m, "none")) {
            rc = gp_err_set(err, -EINVAL,
                            "field 'profiling_mode' must be \"cpu\", \"allocation\" or \"none\"");
            goto fail;
        }
        strcpy(r->mode, m);
    }
    r->stop_level = r->type == CP_STOP ? CP_STOP_PROCESS : CP_STOP_NONE;
    if (json_object_object_get_ex(body, "stop_level", &v) &&
        !json_object_is_type(v, json_type_null)) {
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        enum cp_stop_level lvl;
        if (strcmp(s, "process") == 0)
            lvl = CP_STOP_PROCESS;
        else if (strcmp(s, "host") == 0)
            lvl = CP_STOP_HOST;
        else {
            rc = gp_err_set(err, -EINVAL, "field 'stop_level' must be \"process\" or \"host\"");
            goto fail;
        }
        if (r->type == CP_STOP)
            r->stop_level = lvl;
    }
    if (json_object_object_get_ex(body, "additional_args", &v) &&
        !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_object)) {
            rc = gp_err_set(err, -EINVAL, "field 'additional_args' must be a JSON object");
            goto fail;
        }
        r->additional_args = json_clone(v);
        if (!r->additional_args) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (json_object_object_get_ex(body, "dry_run", &v) && json_object_is_type(v, json_type_boolean))
        r->dry_run = json_object_get_boolean(v);
    size_t total_pids = 0;
    if (json_object_object_get_ex(body, "target_hosts", &v) &&
        !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_object)) {
            rc = gp_err_set(err, -EINVAL,
                            "field 'target_hosts' must be an object: hostname -> [pids] or null");
            goto fail;
        }
        size_t n = (size_t)json_object_object_length(v);
        if (n > CP_MAX_HOSTS) {
            rc = gp_err_set(err, -E2BIG, "field 'target_hosts' names too many hosts");
            goto fail;
        }
        r->targets = calloc(n ? n : 1, sizeof(*r->targets));
        if (!r->targets) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
        json_object_object_foreach(v, host, pids)
        {
            char hwhy[128];
            if (!valid_hostname(host, strlen(host), hwhy, sizeof(hwhy))) {
                rc = gp_err_set(err, -EINVAL, "target_hosts: '%.80s' is not a valid hostname: %s",
                                host, hwhy);
                goto fail;
            }
            struct cp_target *tg = &r->targets[r->ntargets];
            tg->hostname = strdup(host);
            if (!tg->hostname) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                goto fail;
            }
            r->ntargets++;
            if ((rc = parse_pid_array(pids, host, &tg->pids, &tg->npids, err)))
                goto fail;
            total_pids += tg->npids;
        }
    }
    if (r->type == CP_STOP) {
        if (r->ntargets == 0) {
            rc = gp_err_set(err, -EINVAL, "Stop commands require specific target hosts");
            goto fail;
        }
        if (r->stop_level == CP_STOP_PROCESS) {
            for (size_t i = 0; i < r->ntargets; i++)
                if (r->targets[i].npids == 0) {
                    rc = gp_err_set(err, -EINVAL,
                                    "process-level stop needs PIDs for every target host "
                                    "('%.80s' has none); use \"stop_level\":\"host\" to stop "
                                    "everything",
                                    r->targets[i].hostname);
                    goto fail;
                }
        } else if (total_pids) {
            rc = gp_err_set(err, -EINVAL,
                            "host-level stop must not name PIDs; use \"stop_level\":\"process\"");
            goto fail;
        }
    }
    return 0;
fail:
    cp_request_free(r);
    return rc;
}

int cp_config_for_target(const struct cp_request *r, const struct cp_target *t,
                         struct cp_config *out, struct gp_err *err)
{
    cp_config_init(out);
    out->type = CP_START;
    out->continuous = r->continuous;
    out->duration = r->duration;
    out->frequency = r->frequency;
    strcpy(out->mode, r->mode);
    if (t && t->npids) {
        out->pids = malloc(t->npids * sizeof(int32_t));
        if (!out->pids)
            return gp_err_set(err, -ENOMEM, "out of memory");
        memcpy(out->pids, t->pids, t->npids * sizeof(int32_t));
        out->npids = t->npids;
    }
    if (r->additional_args) {
        out->extra = json_clone(r->additional_args);
        if (!out->extra) {
            cp_config_free(out);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

/* ---- merge and stop ----------------------------------------------------------------- */

static json_object *merge_objects(json_object *a, json_object *b)
{
    json_object *out = a ? json_clone(a) : json_object_new_object();
    if (!out)
        return NULL;
    if (!b)
        return out;
    json_object_object_foreach(b, k, v)
    {
        json_object *cur;
        if (json_object_object_get_ex(out, k, &cur) && json_object_is_type(cur, json_type_object) &&
            json_object_is_type(v, json_type_object)) {
            json_object *m = merge_objects(cur, v);
            if (!m) {
                json_object_put(out);
                return NULL;
            }
            json_object_object_add(out, k, m);
        } else {
            json_object *c = json_clone(v);
            if (v && !c) {
                json_object_put(out);
                return NULL;
            }
            json_object_object_add(out, k, c);
        }
    }
    return out;
}

int cp_merge(const struct cp_config *cur, const struct cp_config *in, struct cp_config *out,
             struct gp_err *err)
{
    if (cur->type != CP_START || in->type != CP_START)
        return gp_err_set(err, -EINVAL, "only start commands merge");
    cp_config_init(out);
    out->type = CP_START;
    out->continuous = cur->continuous || in->continuous;
    out->duration = cur->duration > in->duration ? cur->duration : in->duration;
    out->frequency = cur->frequency > in->frequency ? cur->frequency : in->frequency;
    strcpy(out->mode, in->mode);
    out->stop_level = in->stop_level;
    /* An empty pid set means "every process", which absorbs any explicit set. */
    if (cur->npids && in->npids) {
        if (cp_pids_union(cur->pids, cur->npids, in->pids, in->npids, &out->pids, &out->npids))
            return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (cur->extra || in->extra) {
        out->extra = merge_objects(cur->extra, in->extra);
        if (!out->extra) {
            cp_config_free(out);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
    }
    return 0;
}

void cp_host_stop(struct cp_config *out)
{
    cp_config_init(out);
    out->type = CP_STOP;
    out->stop_level = CP_STOP_HOST;
}

int cp_process_stop(const struct cp_config *cur, const int32_t *stop, size_t n,
                    struct cp_config *out, struct gp_err *err)
{
    if (n == 0)
        return gp_err_set(err, -EINVAL, "process-level stop needs at least one PID");
    if (cur && cur->type == CP_START && cur->npids) {
        int32_t *rem;
        size_t nrem;
        if (cp_pids_minus(cur->pids, cur->npids, stop, n, &rem, &nrem))
            return gp_err_set(err, -ENOMEM, "out of memory");
        if (nrem == 0) {
            cp_host_stop(out);
            return 0;
        }
        if (cp_config_copy(out, cur)) {
            free(rem);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        free(out->pids);
        out->pids = rem;
        out->npids = nrem;
        out->stop_level = CP_STOP_PROCESS;
        return 0;
    }
    cp_config_init(out);
    out->type = CP_STOP;
    out->stop_level = CP_STOP_PROCESS;
    out->pids = malloc(n * sizeof(int32_t));
    if (!out->pids)
        return gp_err_set(err, -ENOMEM, "out of memory");
    memcpy(out->pids, stop, n * sizeof(int32_t));
    out->npids = sort_unique(out->pids, n);
    return 0;
}

/* ---- JSON ---------------------------------------------------------------------------- */

static const char *stop_level_name(enum cp_stop_level l)
{
    return l == CP_STOP_HOST ? "host" : l == CP_STOP_PROCESS ? "process" : NULL;
}

static json_object *pids_json(const struct cp_config *c)
{
    json_object *a = json_object_new_array_ext((int)c->npids);
    for (size_t i = 0; a && i < c->npids; i++)
        json_object_array_add(a, json_object_new_int(c->pids[i]));
    return a;
}

json_object *cp_config_to_json(const struct cp_config *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (c->type == CP_STOP) {
        json_object_object_add(o, "command_type", json_object_new_string("stop"));
        json_object_object_add(o, "stop_level",
                               json_object_new_string(stop_level_name(c->stop_level)
                                                              ? stop_level_name(c->stop_level)
                                                              : "host"));
        if (c->npids)
            json_object_object_add(o, "pids", pids_json(c));
        return o;
    }
    json_object_object_add(o, "command_type", json_object_new_string("start"));
    json_object_object_add(o, "continuous", json_object_new_boolean(c->continuous));
    json_object_object_add(o, "duration", json_object_new_int(c->duration));
    json_object_object_add(o, "frequency", json_object_new_int(c->frequency));
    json_object_object_add(o, "profiling_mode", json_object_new_string(c->mode));
    if (c->extra) {
        json_object_object_foreach(c->extra, k, v)
        {
            /* the fixed keys win over additional_args of the same name */
            if (json_object_object_get_ex(o, k, NULL) || strcmp(k, "pids") == 0 ||
                strcmp(k, "stop_level") == 0)
                continue;
            json_object_object_add(o, k, json_clone(v));
        }
    }
    if (stop_level_name(c->stop_level))
        json_object_object_add(o, "stop_level",
                               json_object_new_string(stop_level_name(c->stop_level)));
    if (c->npids)
        json_object_object_add(o, "pids", pids_json(c));
    return o;
}

static bool is_fixed_key(const char *k)
{
    static const char *fixed[] = {"command_type",   "continuous", "duration", "frequency",
                                  "profiling_mode", "stop_level", "pids",     NULL};
    for (int i = 0; fixed[i]; i++)
        if (strcmp(k, fixed[i]) == 0)
            return true;
    return false;
}

int cp_config_from_json(json_object *o, struct cp_config *out, struct gp_err *err)
{
    cp_config_init(out);
    if (!o || !json_object_is_type(o, json_type_object))
        return gp_err_set(err, -EINVAL, "combined_config is not a JSON object");
    json_object *v;
    const char *t =
            json_object_object_get_ex(o, "command_type", &v) ? json_object_get_string(v) : "start";
    out->type = t && strcmp(t, "stop") == 0 ? CP_STOP : CP_START;
    if (json_object_object_get_ex(o, "continuous", &v))
        out->continuous = json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "duration", &v) && json_object_get_int(v) > 0)
        out->duration = json_object_get_int(v);
    if (json_object_object_get_ex(o, "frequency", &v) && json_object_get_int(v) > 0)
        out->frequency = json_object_get_int(v);
    if (json_object_object_get_ex(o, "profiling_mode", &v) && json_object_get_string(v) &&
        strlen(json_object_get_string(v)) < sizeof(out->mode))
        strcpy(out->mode, json_object_get_string(v));
    if (json_object_object_get_ex(o, "stop_level", &v) && json_object_get_string(v)) {
        const char *s = json_object_get_string(v);
        out->stop_level = strcmp(s, "host") == 0      ? CP_STOP_HOST
                          : strcmp(s, "process") == 0 ? CP_STOP_PROCESS
                                                      : CP_STOP_NONE;
    } else if (out->type == CP_STOP) {
        out->stop_level = CP_STOP_HOST;
    }
    if (json_object_object_get_ex(o, "pids", &v) && json_object_is_type(v, json_type_array)) {
        int rc = parse_pid_array(v, "(stored)", &out->pids, &out->npids, err);
        if (rc)
            return rc;
    }
    json_object_object_foreach(o, k, val)
    {
        if (is_fixed_key(k))
            continue;
        if (!out->extra && !(out->extra = json_object_new_object()))
            goto oom;
        json_object *c = json_clone(val);
        if (val && !c)
            goto oom;
        json_object_object_add(out->extra, k, c);
    }
    return 0;
oom:
    cp_config_free(out);
    return gp_err_set(err, -ENOMEM, "out of memory");
}

/* ---- statuses ------------------------------------------------------------------------ */

static const char *cmd_names[] = {"pending", "sent", "completed", "failed"};
static const char *req_names[] = {"pending", "assigned", "completed", "failed", "cancelled"};

const char *cp_cmd_status_name(enum cp_cmd_status s)
{
    return (unsigned)s < 4 ? cmd_names[s] : "unknown";
}

int cp_cmd_status_parse(const char *s, enum cp_cmd_status *out)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, cmd_names[i]) == 0) {
            *out = (enum cp_cmd_status)i;
            return 0;
        }
    return -EINVAL;
}

const char *cp_req_status_name(enum cp_req_status s)
{
    return (unsigned)s < 5 ? req_names[s] : "unknown";
}

int cp_req_status_parse(const char *s, enum cp_req_status *out)
{
    for (int i = 0; i < 5; i++)
        if (s && strcmp(s, req_names[i]) == 0) {
            *out = (enum cp_req_status)i;
            return 0;
        }
    return -EINVAL;
}

bool cp_cmd_transition_ok(enum cp_cmd_status from, enum cp_cmd_status to)
{
    if (from == to)
        return true;
    switch (from) {
    case CMD_PENDING:
        return to == CMD_SENT;
    case CMD_SENT:
        return to == CMD_COMPLETED || to == CMD_FAILED;
    default:
        return false;
    }
}

enum cp_req_status cp_request_rollup(const enum cp_req_status *e, size_t n)
{
    size_t pending = 0, assigned = 0, done = 0, failed = 0, cancelled = 0;
    for (size_t i = 0; i < n; i++) {
        switch (e[i]) {
        case REQ_PENDING:
            pending++;
            break;
        case REQ_ASSIGNED:
            assigned++;
            break;
        case REQ_FAILED:
            failed++;
            break;
        case REQ_CANCELLED:
            cancelled++;
            break;
        case REQ_COMPLETED:
            done++;
            break;
        }
    }
    if (n == 0)
        return REQ_PENDING;
    if (cancelled == n)
        return REQ_CANCELLED;
    /* superseded (cancelled) executions don't hold a request open */
    if (assigned || (pending && (done || failed)))
        return REQ_ASSIGNED;
    if (pending)
        return REQ_PENDING;
    return failed ? REQ_FAILED : REQ_COMPLETED;
}

const char *cp_host_liveness(int64_t last, int64_t now, int64_t interval)
{
    if (interval <= 0)
        interval = 30;
    return now - last > 3 * interval ? "offline" : "active";
}

int cp_check_limits(size_t request_hosts, size_t max_hosts, size_t busy_outside,
                    size_t active_hosts, unsigned max_share_pct, struct gp_err *err)
{
    if (max_hosts && request_hosts > max_hosts)
        return gp_err_set(err, -E2BIG,
                          "request targets %zu hosts; at most %zu per request "
                          "(setting max_hosts_per_request)",
                          request_hosts, max_hosts);
    if (max_share_pct && max_share_pct < 100) {
        size_t cap = active_hosts * max_share_pct / 100;
        if (cap < 1)
            cap = 1;
        if (busy_outside + request_hosts > cap)
            return gp_err_set(err, -E2BIG,
                              "%zu hosts would profile at once (%zu already busy + %zu requested) "
                              "but at most %u%% of %zu active hosts = %zu may "
                              "(setting max_profiling_share_pct)",
                              busy_outside + request_hosts, busy_outside, request_hosts,
                              max_share_pct, active_hosts, cap);
    }
    return 0;
}
