/* state.c — the stored state of commands, executions and requests: liveness, the
 * executions of a command, and request status rollup. */
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
#define ROLLUP_NEWEST 256

struct rollup_acc {
    enum cp_req_status v[ROLLUP_NEWEST];
    size_t n;
};

static int rollup_cb(const struct meta_execution *e, void *ctx)
{
    struct rollup_acc *acc = ctx;
    enum cp_req_status s;
    if (acc->n < ROLLUP_NEWEST && e->status && cp_req_status_parse(e->status, &s) == 0)
        acc->v[acc->n++] = s;
    return 0;
}

int cpi_rollup_request(struct cp_plane *p, const char *rid, int64_t now, struct gp_err *err)
{
    struct rollup_acc acc = {.n = 0};
    /* the newest executions decide (a request rarely spans more than 256 hosts at once) */
    int rc = meta_execution_list_request(p->db, rid, ROLLUP_NEWEST, rollup_cb, &acc, err);
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
