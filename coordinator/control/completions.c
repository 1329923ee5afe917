/* completions.c — command completions from agents close their executions and requests
 * (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- completion ---------------------------------------------------------------------- */

struct exec_count {
    size_t n;
    char status[16];
};

static int exec_cb(const struct meta_execution *e, void *ctx)
{
    struct exec_count *c = ctx;
    c->n++;
    snprintf(c->status, sizeof(c->status), "%s", e->status);
    return 0;
}

struct rid_acc {
    char ids[16][40];
    size_t n;
};

static int rid_cb(const struct meta_execution *e, void *ctx)
{
    struct rid_acc *a = ctx;
    if (a->n < 16)
        snprintf(a->ids[a->n++], 40, "%s", e->request_id);
    return 0;
}

/* Whether every request that executions of (cid, host) name belongs to service. In a
 * transaction. */
static int executions_of_service(struct cp_plane *p, const char *cid, const char *host,
                                 const char *service, bool *same, struct gp_err *err)
{
    struct rid_acc acc = {.n = 0};
    int rc = meta_execution_list(p->db, cid, host, rid_cb, &acc, err);
    *same = true;
    for (size_t i = 0; rc == 0 && i < acc.n && *same; i++) {
        struct meta_request r = {0};
        rc = meta_request_get(p->db, acc.ids[i], &r, err);
        if (rc == 0)
            *same = strcmp(r.service_name, service) == 0;
        meta_request_clear(&r);
    }
    return rc;
}

int cp_plane_completion(struct cp_plane *p, const struct cp_completion *in,
                        const char *token_service, int64_t now, struct cp_reply *resp,
                        struct gp_err *err)
{
    const char *cid = in->command_id, *host = in->hostname, *st = in->status;
    const char *emsg = in->error_message, *rpath = in->results_path;
    int64_t exec_time = in->execution_time;

    pthread_mutex_lock(&p->write_mu);
    struct meta_command c = {0};
    struct exec_count ec = {0};
    char service[256] = "";
    int rc = meta_begin(p->db, err);
    if (rc)
        goto out_unlock;
    if ((rc = cpi_lock_host(p, host, err)))
        goto out_rollback;
    int grc = meta_command_get_by_id(p->db, cid, host, &c, err);
    if (grc && grc != -ENOENT) {
        rc = grc;
        goto out_rollback;
    }
    if ((rc = meta_execution_list(p->db, cid, host, exec_cb, &ec, err)))
        goto out_rollback;
    bool foreign = false; /* a command of a service the caller's token does not cover */
    if (token_service && grc == 0)
        foreign = strcmp(c.service_name, token_service) != 0;
    else if (token_service && ec.n) {
        bool same;
        if ((rc = executions_of_service(p, cid, host, token_service, &same, err)))
            goto out_rollback;
        foreign = !same;
    }
    if (foreign) {
        meta_rollback(p->db);
        cpi_reply(resp, 404, false, "Command %s not found for host %s of service %s", cid, host,
                  token_service);
        goto out_unlock;
    }
    if (grc == -ENOENT && ec.n == 0) {
        meta_rollback(p->db);
        cpi_reply(resp, 404, false, "Command %s not found for host %s", cid, host);
        goto out_unlock;
    }
    if (grc == 0) {
        snprintf(service, sizeof(service), "%s", c.service_name);
        enum cp_cmd_status from, to = strcmp(st, "completed") == 0 ? CMD_COMPLETED : CMD_FAILED;
        if (cp_cmd_status_parse(c.status, &from) != 0)
            from = CMD_SENT;
        if (from == CMD_PENDING)
            from = CMD_SENT; /* delivered: the agent would not know it otherwise */
        if (from == to) {
            /* a retried report: idempotent, nothing changes */
            meta_rollback(p->db);
            cpi_reply(resp, 200, true, "Command completion for %s was already recorded", cid);
            goto out_unlock;
        }
        if (!cp_cmd_transition_ok(from, to)) {
            meta_rollback(p->db);
            cpi_reply(resp, 409, false, "Command %s is in status '%s', expected 'sent'", cid,
                      c.status);
            goto out_unlock;
        }
        if ((rc = meta_command_complete(p->db, cid, host, st, now, exec_time, emsg, rpath, NULL,
                                        err)))
            goto out_rollback;
    }
    if ((rc = meta_execution_complete(p->db, cid, host, st, now, exec_time, emsg, rpath, NULL,
                                      err)))
        goto out_rollback;
    if (grc == 0) {
        if ((rc = cpi_rollup_command_requests(p, c.request_ids, now, err)))
            goto out_rollback;
    } else {
        /* a superseded command: roll up the requests its executions name */
        struct rid_acc acc = {.n = 0};
        if ((rc = meta_execution_list(p->db, cid, host, rid_cb, &acc, err)))
            goto out_rollback;
        for (size_t i = 0; i < acc.n && rc == 0; i++)
            rc = cpi_rollup_request(p, acc.ids[i], now, err);
        if (rc)
            goto out_rollback;
    }
    if ((rc = meta_commit(p->db, err)))
        goto out_unlock;
    if (service[0])
        cpi_refresh_entry(p, host, service);
    cpi_reply(resp, 200, true, "Command completion recorded for %s", cid);
    goto out_unlock;
out_rollback:
    meta_rollback(p->db);
out_unlock:
    pthread_mutex_unlock(&p->write_mu);
    meta_command_clear(&c);
    return rc;
}
