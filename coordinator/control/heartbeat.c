/* heartbeat.c — answering heartbeats from the cache: the latest heartbeat kept for
 * write-behind, the current command's answer (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* ---- heartbeat ----------------------------------------------------------------------- */

/* First delivery of a pending command: marks it sent and its executions assigned. */
static int mark_sent(struct cp_plane *p, const char *host, const char *service,
                     const char *command_id, int64_t now, struct gp_err *err)
{
    pthread_mutex_lock(&p->write_mu);
    struct meta_command c = {0};
    int rc = meta_begin(p->db, err);
    if (rc == 0)
        rc = cpi_lock_host(p, host, err);
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

int cp_plane_heartbeat(struct cp_plane *p, struct cp_heartbeat *hb, int64_t now, char **resp,
                       size_t *resp_len, struct gp_err *err)
{
    *resp = NULL;
    *resp_len = 0;
    const char *host = hb->hostname, *service = hb->service_name;
    const char *ip = hb->ip_address, *ver = hb->agent_version, *last = hb->last_command_id;
    char *received = hb->received, *executed = hb->executed, *sessions = hb->sessions;
    hb->received = hb->executed = hb->sessions = NULL;

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
        if (e->cmd_loaded && p->o.command_recheck_s &&
            (int64_t)time(NULL) - e->cmd_loaded_at >= (int64_t)p->o.command_recheck_s)
            e->cmd_loaded = false; /* another coordinator may have changed it */
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
                pthread_mutex_unlock(&p->cache_mu);
                return *resp ? 0 : gp_err_set(err, -ENOMEM, "out of memory");
            }
            pthread_mutex_unlock(&p->cache_mu);
            return 0;
        }
        pthread_mutex_unlock(&p->cache_mu);
        cpi_load_command(p, host, service);
    }
    /* The store kept failing: answer without a command (the agent retries next interval). */
    return 0;
}
