/* control_messages.c — the control plane's operations on JSON: heartbeats and completions from
 * agents, profile requests (one and bulk) from users, read and bounded here, answered as JSON
 * (see control_json.h). */
#include "coordinator/api/control_json.h"
#include "common/cmd_limits.h"
#include "common/ident.h"
#include "common/strbuf.h"
#include "common/timeutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds of one heartbeat's fields (bytes); longer ones are refused with 400. */
#define HB_MAX_NAME    255 /* hostname, service_name */
#define HB_MAX_IP      63
#define HB_MAX_VERSION 128
#define HB_MAX_CMD_ID  (GP_CMD_ID_MAX - 1) /* what the agent can hold (cmd_limits.h) */
#define HB_MAX_IDS     1000                /* command ids kept per list (the newest) */

#define MAX_BULK 1000

static const char NO_CMD[] = "{\"success\":true,\"message\":\"Heartbeat received. No profiling "
                             "commands.\",\"profiling_command\":null,\"command_id\":null}";

/* ---- fields -------------------------------------------------------------------------------- */

/* The string member key of o, NULL when absent or not a string. */
static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *msg_obj(bool success, const char *msg)
{
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "success", json_object_new_boolean(success));
    json_object_object_add(o, "message", json_object_new_string(msg));
    return o;
}

static json_object *msg_objf(bool success, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static json_object *msg_objf(bool success, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return msg_obj(success, msg);
}

static json_object *reply_obj(const struct cp_reply *r)
{
    return msg_obj(r->success, r->message);
}

/* Checks the string field key of o against the identifier rule (common/ident.h) with at most
 * max bytes; false with problem set when present and invalid. An empty string passes only for
 * optional fields (agents send "" for an unknown address or version). */
static bool check_field_ex(json_object *o, const char *key, size_t max, bool optional,
                           char *problem, size_t psz)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return true;
    char why[128];
    if (optional && json_object_is_type(v, json_type_string) && json_object_get_string_len(v) == 0)
        return true;
    if (!json_object_is_type(v, json_type_string))
        snprintf(why, sizeof(why), "is not a string");
    else if (gp_ident_check(json_object_get_string(v), (size_t)json_object_get_string_len(v), max,
                            why, sizeof(why)) == 0)
        return true;
    snprintf(problem, psz, "field '%s' %s", key, why);
    return false;
}

static bool check_field(json_object *o, const char *key, size_t max, char *problem, size_t psz)
{
    return check_field_ex(o, key, max, false, problem, psz);
}

static bool check_optional(json_object *o, const char *key, size_t max, char *problem, size_t psz)
{
    return check_field_ex(o, key, max, true, problem, psz);
}

/* Checks an optional list of command ids: strings of 1..HB_MAX_CMD_ID identifier bytes. */
static bool check_id_list(json_object *o, const char *key, char *problem, size_t psz)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
        return true;
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(problem, psz, "field '%s' must be a list of command ids", key);
        return false;
    }
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        char why[128];
        if (!json_object_is_type(e, json_type_string))
            snprintf(why, sizeof(why), "is not a string");
        else if (gp_ident_check(json_object_get_string(e), (size_t)json_object_get_string_len(e),
                                HB_MAX_CMD_ID, why, sizeof(why)) == 0)
            continue;
        snprintf(problem, psz, "field '%s'[%zu] %s", key, i, why);
        return false;
    }
    return true;
}

/* ---- heartbeat ----------------------------------------------------------------------------- */

/* JSON array of strings -> compact text, NULL when absent/invalid. */
static char *id_list_text(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
        return NULL;
    size_t n = json_object_array_length(v);
    /* keep the newest HB_MAX_IDS (agents send everything they remember) */
    size_t from = n > HB_MAX_IDS ? n - HB_MAX_IDS : 0;
    struct strbuf sb = STRBUF_INIT;
    sb_putc(&sb, '[');
    for (size_t i = from; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string))
            continue;
        if (sb.len > 1)
            sb_putc(&sb, ',');
        sb_json_str(&sb, json_object_get_string(e));
    }
    sb_putc(&sb, ']');
    if (sb.oom) {
        sb_free(&sb);
        return NULL;
    }
    return sb_detach(&sb, NULL);
}

/* The heartbeat's running_sessions (gprof agents send them; gProfiler agents do not) as compact
 * JSON: at most 4 sessions, each {slot, source, command_id, frequency, duration, npids}.
 * NULL when absent or not an array. */
static char *sessions_text(json_object *body)
{
    json_object *arr, *v;
    if (!json_object_object_get_ex(body, "running_sessions", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return NULL;
    json_object *out = json_object_new_array();
    for (size_t i = 0; out && i < json_object_array_length(arr) && i < 4; i++) {
        json_object *s = json_object_array_get_idx(arr, i), *o;
        const char *slot = jstr(s, "slot");
        if (!slot || (strcmp(slot, "continuous") && strcmp(slot, "adhoc")) ||
            !(o = json_object_new_object()))
            continue;
        json_object_object_add(o, "slot", json_object_new_string(slot));
        static const char *const texts[] = {"source", "command_id"};
        for (size_t k = 0; k < 2; k++) {
            const char *t = jstr(s, texts[k]);
            json_object_object_add(o, texts[k],
                                   t && gp_ident_check(t, strlen(t), 64, NULL, 0) == 0
                                           ? json_object_new_string(t)
                                           : NULL);
        }
        static const char *const ints[] = {"frequency", "duration"};
        for (size_t k = 0; k < 2; k++)
            json_object_object_add(o, ints[k],
                                   json_object_object_get_ex(s, ints[k], &v) &&
                                                   json_object_is_type(v, json_type_int)
                                           ? json_object_new_int(json_object_get_int(v))
                                           : NULL);
        json_object_object_add(o, "npids",
                               json_object_object_get_ex(s, "pids", &v) &&
                                               json_object_is_type(v, json_type_array)
                                       ? json_object_new_int((int)json_object_array_length(v))
                                       : NULL);
        json_object_array_add(out, o);
    }
    char *t = out ? strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN)) : NULL;
    json_object_put(out);
    return t;
}

int cj_heartbeat(struct cp_plane *p, json_object *body, int64_t now, char **resp, size_t *resp_len,
                 int *status, struct gp_err *err)
{
    *resp = NULL;
    *status = 200;
    const char *host = jstr(body, "hostname");
    const char *service = jstr(body, "service_name");
    char problem[300] = "";
    if (!json_object_is_type(body, json_type_object))
        snprintf(problem, sizeof(problem), "heartbeat body must be a JSON object");
    else if (!host)
        snprintf(problem, sizeof(problem), "field 'hostname' is required (a string)");
    else if (!service)
        snprintf(problem, sizeof(problem), "field 'service_name' is required (a string)");
    else if (check_field(body, "hostname", HB_MAX_NAME, problem, sizeof(problem)) &&
             check_field(body, "service_name", HB_MAX_NAME, problem, sizeof(problem)) &&
             check_optional(body, "ip_address", HB_MAX_IP, problem, sizeof(problem)) &&
             check_optional(body, "agent_version", HB_MAX_VERSION, problem, sizeof(problem)) &&
             check_optional(body, "last_command_id", HB_MAX_CMD_ID, problem, sizeof(problem)) &&
             check_id_list(body, "received_command_ids", problem, sizeof(problem)) &&
             check_id_list(body, "executed_command_ids", problem, sizeof(problem)))
        problem[0] = '\0'; /* every field is valid (a check that fails sets problem) */
    if (problem[0]) {
        json_object *o = msg_obj(false, problem);
        size_t n;
        const char *s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        *resp = strndup(s, n);
        *resp_len = n;
        json_object_put(o);
        *status = 400;
        return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
    }
    struct cp_heartbeat hb = {.hostname = host,
                              .service_name = service,
                              .ip_address = jstr(body, "ip_address"),
                              .agent_version = jstr(body, "agent_version"),
                              .last_command_id = jstr(body, "last_command_id"),
                              .received = id_list_text(body, "received_command_ids"),
                              .executed = id_list_text(body, "executed_command_ids"),
                              .sessions = sessions_text(body)};
    int rc = cp_plane_heartbeat(p, &hb, now, resp, resp_len, err);
    if (rc || *resp)
        return rc;
    *resp = strdup(NO_CMD);
    *resp_len = sizeof(NO_CMD) - 1;
    return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
}

/* ---- completion ---------------------------------------------------------------------------- */

int cj_completion(struct cp_plane *p, json_object *body, const char *token_service, int64_t now,
                  json_object **resp, int *status, struct gp_err *err)
{
    *resp = NULL;
    struct cp_completion c = {.command_id = jstr(body, "command_id"),
                              .hostname = jstr(body, "hostname"),
                              .status = jstr(body, "status"),
                              .execution_time = -1};
    json_object *v;
    *status = 400;
    if (!json_object_is_type(body, json_type_object) || !c.command_id || !c.hostname) {
        *resp = msg_obj(false, "fields 'command_id' and 'hostname' are required strings");
        return 0;
    }
    char problem[300];
    if (!check_field(body, "command_id", HB_MAX_CMD_ID, problem, sizeof(problem)) ||
        !check_field(body, "hostname", HB_MAX_NAME, problem, sizeof(problem))) {
        *resp = msg_obj(false, problem);
        return 0;
    }
    if (!c.status || (strcmp(c.status, "completed") && strcmp(c.status, "failed"))) {
        *resp = msg_obj(false, "field 'status' must be \"completed\" or \"failed\"");
        return 0;
    }
    if (json_object_object_get_ex(body, "execution_time", &v) &&
        !json_object_is_type(v, json_type_null)) {
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
            *resp = msg_obj(false, "field 'execution_time' must be a number of seconds");
            return 0;
        }
        c.execution_time = json_object_get_int64(v);
        if (c.execution_time < 0)
            c.execution_time = 0;
    }
    c.error_message = jstr(body, "error_message");
    c.results_path = jstr(body, "results_path");
    struct cp_reply r = {0};
    int rc = cp_plane_completion(p, &c, token_service, now, &r, err);
    if (rc)
        return rc;
    *resp = reply_obj(&r);
    *status = r.status;
    return 0;
}

/* ---- profile requests ---------------------------------------------------------------------- */

static json_object *submission_obj(const struct cp_request *r, const struct cp_submission *s,
                                   int64_t now)
{
    json_object *o = reply_obj(&s->reply);
    if (!o || !s->reply.success)
        return o;
    json_object *cmd_ids = json_object_new_array(), *results = json_object_new_array();
    for (size_t i = 0; i < s->nhosts; i++) {
        const struct cp_host_plan *h = &s->hosts[i];
        json_object *it = json_object_new_object();
        json_object_object_add(it, "hostname", json_object_new_string(h->hostname));
        json_object_object_add(it, "action", json_object_new_string(h->action));
        if (!r->dry_run) {
            json_object_object_add(it, "command_id", json_object_new_string(h->command_id));
            json_object_array_add(cmd_ids, json_object_new_string(h->command_id));
        }
        json_object_object_add(it, "combined_config", cj_config_to_json(&h->config));
        json_object_array_add(results, it);
    }
    json_object_object_add(o, "request_id",
                           r->dry_run ? NULL : json_object_new_string(s->request_id));
    json_object_object_add(o, "command_ids", cmd_ids);
    if (r->type == CP_START && !r->continuous) {
        char ts[32];
        tu_format(now + r->duration, ts, sizeof(ts));
        json_object_object_add(o, "estimated_completion_time", json_object_new_string(ts));
    } else {
        json_object_object_add(o, "estimated_completion_time", NULL);
    }
    json_object_object_add(o, "dry_run", json_object_new_boolean(r->dry_run));
    json_object_object_add(o, "hosts", results);
    return o;
}

int cj_profile_request(struct cp_plane *p, json_object *body, bool dry_run, int64_t now,
                       json_object **resp, int *status, struct gp_err *err)
{
    struct cp_request r;
    struct gp_err verr = {0};
    *resp = NULL;
    if (cj_request_parse(body, &r, &verr) != 0) {
        *resp = msg_objf(false, "%s", verr.msg);
        *status = verr.code == -ENOMEM ? 500 : 400;
        return 0;
    }
    r.dry_run = r.dry_run || dry_run;
    struct cp_submission s;
    int rc = cp_plane_submit(p, &r, now, &s, err);
    if (rc == 0) {
        *resp = submission_obj(&r, &s, now);
        *status = s.reply.status;
    }
    cp_submission_free(&s);
    cp_request_free(&r);
    return rc;
}

int cj_bulk_request(struct cp_plane *p, json_object *body, int64_t now, json_object **resp,
                    int *status, struct gp_err *err)
{
    json_object *reqs, *v;
    *resp = NULL;
    if (!json_object_is_type(body, json_type_object) ||
        !json_object_object_get_ex(body, "requests", &reqs) ||
        !json_object_is_type(reqs, json_type_array)) {
        *resp = msg_obj(false,
                        "body must be {\"requests\": [profile requests...], \"dry_run\": bool}");
        *status = 400;
        return 0;
    }
    size_t n = json_object_array_length(reqs);
    if (n == 0 || n > MAX_BULK) {
        *resp = msg_objf(false, "'requests' must hold 1..%d items, got %zu", MAX_BULK, n);
        *status = 400;
        return 0;
    }
    bool dry = json_object_object_get_ex(body, "dry_run", &v) && json_object_get_boolean(v);
    json_object *results = json_object_new_array();
    size_t ok = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        json_object *item = json_object_new_object();
        json_object *rq = json_object_array_get_idx(reqs, i);
        json_object_object_add(item, "index", json_object_new_int((int)i));
        const char *svc =
                json_object_is_type(rq, json_type_object) ? jstr(rq, "service_name") : NULL;
        json_object_object_add(item, "service_name", svc ? json_object_new_string(svc) : NULL);
        json_object *one = NULL;
        int st = 500;
        if (cp_plane_bulk_refused(p)) {
            /* SIGTERM: the rest is answered, not run, so the service stops in time */
            one = msg_obj(false, "not submitted: the coordinator is stopping; submit it again");
            st = 503;
        } else {
            rc = cj_profile_request(p, rq, dry, now, &one, &st, err);
        }
        if (rc) {
            json_object_put(item);
            break;
        }
        bool success = st == 200;
        ok += success;
        json_object_object_add(item, "success", json_object_new_boolean(success));
        json_object_object_add(item, "status", json_object_new_int(st));
        if (success) {
            json_object_object_add(item, "response", one);
            json_object_object_add(item, "error", NULL);
        } else {
            json_object *m;
            json_object_object_add(item, "response", NULL);
            json_object_object_add(item, "error",
                                   one && json_object_object_get_ex(one, "message", &m)
                                           ? json_object_get(m)
                                           : NULL);
            json_object_put(one);
        }
        json_object_array_add(results, item);
    }
    if (rc) {
        json_object_put(results);
        return rc;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "total_submitted", json_object_new_int((int)n));
    json_object_object_add(o, "successful_count", json_object_new_int((int)ok));
    json_object_object_add(o, "failed_count", json_object_new_int((int)(n - ok)));
    json_object_object_add(o, "dry_run", json_object_new_boolean(dry));
    json_object_object_add(o, "results", results);
    *resp = o;
    *status = 200;
    return 0;
}
