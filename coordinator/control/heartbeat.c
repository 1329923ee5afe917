/* heartbeat.c — answering heartbeats from the cache: validation, the latest heartbeat kept
 * for write-behind, the current command's answer (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "common/ident.h"
#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char NO_CMD[] = "{\"success\":true,\"message\":\"Heartbeat received. No profiling "
                             "commands.\",\"profiling_command\":null,\"command_id\":null}";

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static void replace_str(char **dst, const char *src)
{
    if (*dst && src && strcmp(*dst, src) == 0)
        return;
    free(*dst);
    *dst = dup_or_null(src);
}

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

/* ---- heartbeat ----------------------------------------------------------------------- */

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
        const char *slot = cpi_jstr(s, "slot");
        if (!slot || (strcmp(slot, "continuous") && strcmp(slot, "adhoc")) ||
            !(o = json_object_new_object()))
            continue;
        json_object_object_add(o, "slot", json_object_new_string(slot));
        static const char *const texts[] = {"source", "command_id"};
        for (size_t k = 0; k < 2; k++) {
            const char *t = cpi_jstr(s, texts[k]);
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

/* First delivery of a pending command: marks it sent and its executions assigned. */
static int mark_sent(struct cp_plane *p, const char *host, const char *service,
                     const char *command_id, int64_t now, struct gp_err *err)
{
    pthread_mutex_lock(&p->write_mu);
    struct meta_command c = {0};
    int rc = meta_begin(p->db, err);
    if (rc == 0)
        rc = meta_command_get(p->db, host, service, &c, err);
    if (rc == 0 && strcmp(c.command_id, command_id) == 0 && strcmp(c.status, "pending") == 0) {
        rc = meta_command_set_status(p->db, command_id, host, "sent", now, NULL, err);
        if (rc == 0)
            rc = cpi_set_executions(p, &c, "assigned", now, err);
        if (rc == 0)
            rc = cpi_rollup_command_requests(p, c.request_ids, now, err);
    }
    if (rc == 0)
        rc = meta_commit(p->db, err);
    else
        meta_rollback(p->db);
    meta_command_clear(&c);
    cpi_refresh_entry(p, host, service);
    pthread_mutex_unlock(&p->write_mu);
    return rc;
}

int cp_plane_heartbeat(struct cp_plane *p, json_object *body, int64_t now, char **resp,
                       size_t *resp_len, int *status, struct gp_err *err)
{
    *resp = NULL;
    *status = 200;
    const char *host = cpi_jstr(body, "hostname");
    const char *service = cpi_jstr(body, "service_name");
    char problem[300] = "";
    if (!json_object_is_type(body, json_type_object))
        snprintf(problem, sizeof(problem), "heartbeat body must be a JSON object");
    else if (!host)
        snprintf(problem, sizeof(problem), "field 'hostname' is required (a string)");
    else if (!service)
        snprintf(problem, sizeof(problem), "field 'service_name' is required (a string)");
    else if (cpi_check_field(body, "hostname", HB_MAX_NAME, problem, sizeof(problem)) &&
             cpi_check_field(body, "service_name", HB_MAX_NAME, problem, sizeof(problem)) &&
             cpi_check_optional(body, "ip_address", HB_MAX_IP, problem, sizeof(problem)) &&
             cpi_check_optional(body, "agent_version", HB_MAX_VERSION, problem, sizeof(problem)) &&
             cpi_check_optional(body, "last_command_id", HB_MAX_CMD_ID, problem, sizeof(problem)) &&
             cpi_check_id_list(body, "received_command_ids", problem, sizeof(problem)) &&
             cpi_check_id_list(body, "executed_command_ids", problem, sizeof(problem)))
        problem[0] = '\0'; /* every field is valid (a check that fails sets problem) */
    if (problem[0]) {
        json_object *o = cpi_msg_obj(false, "%s", problem);
        size_t n;
        const char *s = json_object_to_json_string_length(
                o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
        *resp = strndup(s, n);
        *resp_len = n;
        json_object_put(o);
        *status = 400;
        return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
    }
    const char *ip = cpi_jstr(body, "ip_address");
    const char *ver = cpi_jstr(body, "agent_version");
    const char *last = cpi_jstr(body, "last_command_id");
    char *received = id_list_text(body, "received_command_ids");
    char *executed = id_list_text(body, "executed_command_ids");
    char *sessions = sessions_text(body);

    bool need_load = false;
    for (int attempt = 0; attempt < 3; attempt++) {
        pthread_mutex_lock(&p->cache_mu);
        struct hb_entry *e = cpi_entry_get(p, host, service, true);
        if (!e) {
            pthread_mutex_unlock(&p->cache_mu);
            free(received);
            free(executed);
            free(sessions);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        if (attempt == 0) {
            cpi_lru_touch(p, e);
            snprintf(e->ip, sizeof(e->ip), "%s", ip ? ip : "");
            replace_str(&e->agent_version, ver);
            replace_str(&e->last_cmd, last);
            free(e->received);
            e->received = received;
            free(e->executed);
            e->executed = executed;
            received = executed = NULL;
            free(e->sessions);
            e->sessions = sessions;
            sessions = NULL;
            e->gap = e->ts && now > e->ts ? now - e->ts : e->gap;
            e->ts = now;
            e->dirty = true;
        }
        need_load = !e->cmd_loaded;
        if (!need_load && e->pending) {
            char cid[40];
            snprintf(cid, sizeof(cid), "%s", e->command_id);
            pthread_mutex_unlock(&p->cache_mu);
            int rc = mark_sent(p, host, service, cid, now, err);
            if (rc)
                gp_warn("control: marking command %s sent to %s: %s", cid, host, err->msg);
            continue; /* re-read the refreshed entry */
        }
        if (!need_load) {
            if (e->deliver) {
                *resp = malloc(e->answer_len + 1);
                if (*resp) {
                    memcpy(*resp, e->answer, e->answer_len + 1);
                    *resp_len = e->answer_len;
                }
            } else {
                *resp = strdup(NO_CMD);
                *resp_len = sizeof(NO_CMD) - 1;
            }
            pthread_mutex_unlock(&p->cache_mu);
            return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
        }
        pthread_mutex_unlock(&p->cache_mu);
        cpi_load_command(p, host, service);
    }
    /* The store kept failing: answer without a command (the agent retries next interval). */
    *resp = strdup(NO_CMD);
    *resp_len = sizeof(NO_CMD) - 1;
    return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
}
