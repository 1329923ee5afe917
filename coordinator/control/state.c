/* state.c — the stored state of commands, executions and requests: liveness, the
 * executions of a command, request status rollup, and a command's first delivery. */
#include "coordinator/control/plane_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool cpi_is_terminal(const char *status)
{
    return status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
}

/* Whether a stored command still applies on the host: unfinished, or a continuous start (which
 * runs until stopped; gProfiler agents report "completed" when they start it). */
bool cpi_command_live(const struct meta_command *c, const struct cp_config *cfg)
{
    if (!cpi_is_terminal(c->status))
        return true;
    return cfg && cfg->type == CP_START && cfg->continuous;
}

/* Execution status of every request of cmd on host. Inside a transaction. */
int cpi_set_executions(struct cp_plane *p, const struct meta_command *c, const char *status,
                       int64_t now, struct gp_err *err)
{
    json_object *ids = c->request_ids ? json_tokener_parse(c->request_ids) : NULL;
    int rc = 0;
    size_t n = ids && json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *rid = json_object_get_string(json_object_array_get_idx(ids, i));
        if (!rid)
            continue;
        struct meta_execution ex = {.command_id = c->command_id,
                                    .hostname = c->hostname,
                                    .request_id = (char *)rid,
                                    .status = (char *)status,
                                    .started_at = strcmp(status, "assigned") == 0 ? now : 0,
                                    .execution_time = -1};
        rc = meta_execution_upsert(p->db, &ex, err);
    }
    json_object_put(ids);
    return rc;
}

/* Recomputes and stores the status of request rid from its executions. In a transaction. */
static int rollup_cb(const struct meta_row *r, void *ctx)
{
    struct {
        enum cp_req_status v[256];
        size_t n;
    } *acc = ctx;
    enum cp_req_status s;
    if (acc->n < 256 && cp_req_status_parse(meta_row_text(r, 0), &s) == 0)
        acc->v[acc->n++] = s;
    return 0;
}

int cpi_rollup_request(struct cp_plane *p, const char *rid, int64_t now, struct gp_err *err)
{
    struct {
        enum cp_req_status v[256];
        size_t n;
    } acc = {.n = 0};
    /* the newest executions decide (a request rarely spans more than 256 hosts at once) */
    int rc = meta_query(p->db,
                        "SELECT status FROM profiling_executions WHERE request_id = ? "
                        "ORDER BY id DESC LIMIT 256",
                        (struct meta_value[]){META_T(rid)}, 1, rollup_cb, &acc, err);
    if (rc)
        return rc;
    enum cp_req_status st = cp_request_rollup(acc.v, acc.n);
    return meta_request_set_status(p->db, rid, cp_req_status_name(st), now, err);
}

int cpi_rollup_command_requests(struct cp_plane *p, const char *request_ids, int64_t now,
                                struct gp_err *err)
{
    json_object *ids = request_ids ? json_tokener_parse(request_ids) : NULL;
    int rc = 0;
    size_t n = ids && json_object_is_type(ids, json_type_array) ? json_object_array_length(ids) : 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const char *rid = json_object_get_string(json_object_array_get_idx(ids, i));
        if (rid)
            rc = cpi_rollup_request(p, rid, now, err);
    }
    json_object_put(ids);
    return rc;
}

int cpi_mark_sent(struct cp_plane *p, const char *host, const char *service, const char *command_id,
                  int64_t now, struct gp_err *err)
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
