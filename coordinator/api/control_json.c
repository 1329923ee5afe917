/* control_json.c — the JSON of the control plane's data: profile requests in, combined_config
 * both ways, additional_args as a cp_args tree, and cj_codec, the encodings of what the control
 * plane stores and sends (see control_json.h). */
#include "coordinator/api/control_json.h"
#include "common/cmd_limits.h"
#include "common/ident.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const int TEXT_FLAGS = JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE;

/* o as compact text (malloc'd), NULL when o is NULL or out of memory. */
static char *json_text(json_object *o)
{
    if (!o)
        return NULL;
    size_t n;
    const char *s = json_object_to_json_string_length(o, TEXT_FLAGS, &n);
    return s ? strndup(s, n) : NULL;
}

/* ---- additional_args ---------------------------------------------------------------------- */

/* key = v (any JSON value, NULL = null) into a. */
static int arg_set_json(struct cp_args *a, const char *key, json_object *v)
{
    if (json_object_is_type(v, json_type_object)) {
        struct cp_args *sub;
        if (cj_args_from_json(v, &sub))
            return -ENOMEM;
        return cp_args_set(a, key, NULL, sub);
    }
    char *t = v ? json_text(v) : strdup("null");
    return t ? cp_args_set(a, key, t, NULL) : -ENOMEM;
}

int cj_args_from_json(json_object *o, struct cp_args **out)
{
    *out = NULL;
    if (!json_object_is_type(o, json_type_object))
        return -EINVAL;
    struct cp_args *a = cp_args_new();
    if (!a)
        return -ENOMEM;
    json_object_object_foreach(o, k, v)
    {
        if (arg_set_json(a, k, v)) {
            cp_args_free(a);
            return -ENOMEM;
        }
    }
    *out = a;
    return 0;
}

/* One member's value as a new JSON value (NULL for null, or when out of memory). */
static json_object *arg_to_json(const struct cp_arg *m)
{
    return m->obj ? cj_args_to_json(m->obj) : json_tokener_parse(m->text ? m->text : "null");
}

json_object *cj_args_to_json(const struct cp_args *a)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; o && a && i < a->n; i++)
        json_object_object_add(o, a->v[i].key, arg_to_json(&a->v[i]));
    return o;
}

/* ---- profile requests ---------------------------------------------------------------- */

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
    *nout = cp_pids_normalize(v, n);
    *out = v;
    return 0;
}

int cj_request_parse(json_object *body, struct cp_request *r, struct gp_err *err)
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
        if (cj_args_from_json(v, &r->additional_args)) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    if (json_object_object_get_ex(body, "dry_run", &v) && json_object_is_type(v, json_type_boolean))
        r->dry_run = json_object_get_boolean(v);
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
            if (!cp_hostname_ok(host, strlen(host), hwhy, sizeof(hwhy))) {
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
        }
    }
    if ((rc = cp_request_check(r, err)))
        goto fail;
    return 0;
fail:
    cp_request_free(r);
    return rc;
}

/* ---- combined_config ------------------------------------------------------------------ */

static json_object *pids_json(const struct cp_config *c)
{
    json_object *a = json_object_new_array_ext((int)c->npids);
    for (size_t i = 0; a && i < c->npids; i++)
        json_object_array_add(a, json_object_new_int(c->pids[i]));
    return a;
}

json_object *cj_config_to_json(const struct cp_config *c)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    if (c->type == CP_STOP) {
        json_object_object_add(o, "command_type", json_object_new_string("stop"));
        json_object_object_add(o, "stop_level",
                               json_object_new_string(cp_stop_level_name(c->stop_level)
                                                              ? cp_stop_level_name(c->stop_level)
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
    for (size_t i = 0; c->extra && i < c->extra->n; i++) {
        const char *k = c->extra->v[i].key;
        /* the fixed keys win over additional_args of the same name */
        if (json_object_object_get_ex(o, k, NULL) || strcmp(k, "pids") == 0 ||
            strcmp(k, "stop_level") == 0)
            continue;
        json_object_object_add(o, k, arg_to_json(&c->extra->v[i]));
    }
    if (cp_stop_level_name(c->stop_level))
        json_object_object_add(o, "stop_level",
                               json_object_new_string(cp_stop_level_name(c->stop_level)));
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

int cj_config_from_json(json_object *o, struct cp_config *out, struct gp_err *err)
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
        if (!out->extra && !(out->extra = cp_args_new()))
            goto oom;
        if (arg_set_json(out->extra, k, val))
            goto oom;
    }
    return 0;
oom:
    cp_config_free(out);
    return gp_err_set(err, -ENOMEM, "out of memory");
}

/* ---- cj_codec: what the control plane stores and sends ------------------------------------- */

static char *codec_config_render(const struct cp_config *c)
{
    json_object *o = cj_config_to_json(c);
    char *t = json_text(o);
    json_object_put(o);
    return t;
}

static int codec_config_parse(const char *text, struct cp_config *out, struct gp_err *err)
{
    json_object *o = json_tokener_parse(text);
    int rc = cj_config_from_json(o, out, err);
    json_object_put(o);
    return rc;
}

static int codec_ids_each(const char *text, int (*cb)(const char *id, void *ctx), void *ctx)
{
    json_object *ids = json_tokener_parse(text);
    int rc = 0;
    size_t n = json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *rid = json_object_get_string(json_object_array_get_idx(ids, i));
        if (rid)
            rc = cb(rid, ctx);
    }
    json_object_put(ids);
    return rc;
}

static char *codec_ids_append(const char *text, const char *rid)
{
    json_object *a = text ? json_tokener_parse(text) : NULL;
    if (!json_object_is_type(a, json_type_array)) {
        json_object_put(a);
        a = json_object_new_array();
    }
    if (!a)
        return NULL;
    bool have = false;
    for (size_t i = 0; !have && i < json_object_array_length(a); i++) {
        const char *e = json_object_get_string(json_object_array_get_idx(a, i));
        have = e && strcmp(e, rid) == 0;
    }
    if (!have)
        json_object_array_add(a, json_object_new_string(rid));
    char *t = json_text(a);
    json_object_put(a);
    return t;
}

static char *codec_targets_render(const struct cp_target *t, size_t n)
{
    json_object *th = json_object_new_object();
    for (size_t i = 0; th && i < n; i++) {
        json_object *a = NULL;
        if (t[i].npids) {
            a = json_object_new_array();
            for (size_t k = 0; a && k < t[i].npids; k++)
                json_object_array_add(a, json_object_new_int(t[i].pids[k]));
        }
        json_object_object_add(th, t[i].hostname, a);
    }
    char *s = json_text(th);
    json_object_put(th);
    return s;
}

static char *codec_args_render(const struct cp_args *a)
{
    json_object *o = cj_args_to_json(a);
    char *t = json_text(o);
    json_object_put(o);
    return t;
}

static char *codec_heartbeat_answer(const char *command_id, const char *command_type,
                                    const char *combined_config, size_t *len)
{
    json_object *cfg = combined_config ? json_tokener_parse(combined_config) : NULL;
    json_object *o = json_object_new_object();
    json_object *pc = json_object_new_object();
    if (!o || !pc) {
        json_object_put(o);
        json_object_put(pc);
        json_object_put(cfg);
        return NULL;
    }
    json_object_object_add(o, "success", json_object_new_boolean(1));
    json_object_object_add(o, "message",
                           json_object_new_string("Heartbeat received. New "
                                                  "profiling command available."));
    json_object_object_add(pc, "command_type", json_object_new_string(command_type));
    json_object_object_add(pc, "combined_config", cfg ? cfg : json_object_new_object());
    json_object_object_add(o, "profiling_command", pc);
    json_object_object_add(o, "command_id", json_object_new_string(command_id));
    size_t n;
    const char *s = json_object_to_json_string_length(o, TEXT_FLAGS, &n);
    char *out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n + 1);
        *len = n;
    }
    json_object_put(o);
    return out;
}

const struct cp_codec cj_codec = {
        .config_render = codec_config_render,
        .config_parse = codec_config_parse,
        .ids_each = codec_ids_each,
        .ids_append = codec_ids_append,
        .targets_render = codec_targets_render,
        .args_render = codec_args_render,
        .heartbeat_answer = codec_heartbeat_answer,
};
