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
struct exec_set {
    struct cp_plane *p;
    const struct meta_command *c;
    const char *status;
    int64_t now;
    struct gp_err *err;
};

static int exec_set_cb(const char *rid, void *ctx)
{
    struct exec_set *x = ctx;
    struct meta_execution ex = {.command_id = x->c->command_id,
                                .hostname = x->c->hostname,
                                .request_id = (char *)rid,
                                .status = (char *)x->status,
                                .started_at = strcmp(x->status, "assigned") == 0 ? x->now : 0,
                                .execution_time = -1};
    return meta_execution_upsert(x->p->db, &ex, x->err);
}

int cpi_set_executions(struct cp_plane *p, const struct meta_command *c, const char *status,
                       int64_t now, struct gp_err *err)
{
    if (!c->request_ids)
        return 0;
    struct exec_set x = {.p = p, .c = c, .status = status, .now = now, .err = err};
    return p->o.codec->ids_each(c->request_ids, exec_set_cb, &x);
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

struct rollup_each {
    struct cp_plane *p;
    int64_t now;
    struct gp_err *err;
};

static int rollup_each_cb(const char *rid, void *ctx)
{
    struct rollup_each *x = ctx;
    return cpi_rollup_request(x->p, rid, x->now, x->err);
}

int cpi_rollup_command_requests(struct cp_plane *p, const char *request_ids, int64_t now,
                                struct gp_err *err)
{
    if (!request_ids)
        return 0;
    struct rollup_each x = {.p = p, .now = now, .err = err};
    return p->o.codec->ids_each(request_ids, rollup_each_cb, &x);
}
