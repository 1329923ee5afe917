/* plane.c — the control plane's lifecycle (writer thread, shutdown, counters) and its status
 * views: hosts and requests (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "coordinator/api/timeutil.h" /* tu_format; moves to common/ with issue 12 */
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cp_plane_open(struct meta_db *db, const struct cp_plane_opts *o, struct cp_plane **out,
                  struct gp_err *err)
{
    struct cp_plane *p = calloc(1, sizeof(*p));
    if (!p)
        return gp_err_set(err, -ENOMEM, "out of memory");
    p->db = db;
    p->o = *o;
    if (p->o.heartbeat_interval <= 0)
        p->o.heartbeat_interval = 30;
    if (p->o.max_tracked_hosts == 0)
        p->o.max_tracked_hosts = CP_DEFAULT_MAX_TRACKED_HOSTS;
    if (p->o.host_expiry_s == 0)
        p->o.host_expiry_s = CP_DEFAULT_HOST_EXPIRY_S;
    if (p->o.expire_every_s == 0)
        p->o.expire_every_s = 60;
    p->last_expire = (int64_t)time(NULL); /* the first pass after expire_every_s */
    pthread_mutex_init(&p->cache_mu, NULL);
    pthread_mutex_init(&p->write_mu, NULL);
    pthread_mutex_init(&p->flush_mu, NULL);
    pthread_mutex_init(&p->stop_mu, NULL);
    pthread_cond_init(&p->stop_cv, NULL);
    int rc = pthread_create(&p->flusher, NULL, cpi_flusher_main, p);
    if (rc) {
        free(p);
        return gp_err_set(err, -rc, "cannot start the heartbeat writer thread: %s", strerror(rc));
    }
    p->flusher_running = true;
    *out = p;
    return 0;
}

void cp_plane_close(struct cp_plane *p)
{
    if (!p)
        return;
    if (p->flusher_running) {
        pthread_mutex_lock(&p->stop_mu);
        p->stopping = true;
        pthread_cond_signal(&p->stop_cv);
        pthread_mutex_unlock(&p->stop_mu);
        pthread_join(p->flusher, NULL);
    }
    struct gp_err err = {0};
    if (cp_plane_flush(p, &err))
        gp_warn("control: final heartbeat write failed: %s", err.msg);
    cpi_cache_free(p);
    pthread_mutex_destroy(&p->cache_mu);
    pthread_mutex_destroy(&p->write_mu);
    pthread_mutex_destroy(&p->flush_mu);
    free(p);
}

void cp_plane_shutdown(struct cp_plane *p)
{
    if (p)
        __atomic_store_n(&p->shutting_down, 1, __ATOMIC_RELEASE);
}

bool cpi_stopping(struct cp_plane *p)
{
    return __atomic_load_n(&p->shutting_down, __ATOMIC_ACQUIRE) != 0;
}

void cp_plane_stats(struct cp_plane *p, struct cp_plane_stats *out)
{
    pthread_mutex_lock(&p->cache_mu);
    *out = p->stats;
    out->tracked = p->nentries;
    pthread_mutex_unlock(&p->cache_mu);
}

/* ---- host status --------------------------------------------------------------------- */

struct hs_ctx {
    json_object *arr;
    int64_t now, interval;
    size_t active, total;
};

static int hs_cb(const struct meta_host_status *hs, void *ctx)
{
    struct hs_ctx *c = ctx;
    const struct meta_heartbeat *h = hs->host;
    json_object *o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    json_object_object_add(o, "id", json_object_new_int64(h->id));
    json_object_object_add(o, "service_name", json_object_new_string(h->service_name));
    json_object_object_add(o, "hostname", json_object_new_string(h->hostname));
    json_object_object_add(o, "ip_address",
                           json_object_new_string(h->ip_address ? h->ip_address : ""));
    json_object_object_add(o, "agent_version",
                           h->agent_version ? json_object_new_string(h->agent_version) : NULL);
    json_object *pids = json_object_new_array();
    const char *ctype = "N/A", *pstatus = "stopped";
    if (hs->command) {
        ctype = hs->command->command_type;
        pstatus = hs->command->status;
        json_object *cfg = hs->command->combined_config
                                   ? json_tokener_parse(hs->command->combined_config)
                                   : NULL;
        json_object *pv;
        if (cfg && json_object_object_get_ex(cfg, "pids", &pv) &&
            json_object_is_type(pv, json_type_array))
            for (size_t i = 0; i < json_object_array_length(pv); i++)
                json_object_array_add(pids, json_object_get(json_object_array_get_idx(pv, i)));
        json_object_put(cfg);
        json_object_object_add(o, "command_id", json_object_new_string(hs->command->command_id));
    } else {
        json_object_object_add(o, "command_id", NULL);
    }
    json_object_object_add(o, "pids", pids);
    json_object_object_add(o, "command_type", json_object_new_string(ctype));
    json_object_object_add(o, "profiling_status", json_object_new_string(pstatus));
    const char *live = cp_host_liveness(h->heartbeat_timestamp, c->now, c->interval);
    json_object_object_add(o, "status", json_object_new_string(live));
    char ts[32];
    tu_format(h->heartbeat_timestamp, ts, sizeof(ts));
    json_object_object_add(o, "heartbeat_timestamp", json_object_new_string(ts));
    json_object_array_add(c->arr, o);
    c->total++;
    c->active += strcmp(live, "active") == 0;
    return 0;
}

/* What only the cache knows, per host: running_sessions (null when its agent does not report
 * them, or the coordinator restarted since its last heartbeat) and heartbeat_interval_s (the
 * gap between its last two heartbeats, else the configured interval). */
static void add_cached(struct cp_plane *p, json_object *arr)
{
    pthread_mutex_lock(&p->cache_mu);
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *o = json_object_array_get_idx(arr, i);
        const char *host = cpi_jstr(o, "hostname"), *service = cpi_jstr(o, "service_name");
        struct hb_entry *e = host && service ? cpi_entry_get(p, host, service, false) : NULL;
        json_object_object_add(o, "running_sessions",
                               e && e->sessions ? json_tokener_parse(e->sessions) : NULL);
        json_object_object_add(
                o, "heartbeat_interval_s",
                json_object_new_int64(e && e->gap > 0 ? e->gap : p->o.heartbeat_interval));
    }
    pthread_mutex_unlock(&p->cache_mu);
}

int cp_plane_host_status(struct cp_plane *p, const struct meta_host_filter *f, int64_t now,
                         json_object **resp, int *status, struct gp_err *err)
{
    int rc = cp_plane_flush(p, err);
    if (rc)
        return rc;
    struct hs_ctx c = {
            .arr = json_object_new_array(), .now = now, .interval = p->o.heartbeat_interval};
    if (!c.arr)
        return gp_err_set(err, -ENOMEM, "out of memory");
    rc = meta_host_list(p->db, f, hs_cb, &c, err);
    if (rc) {
        json_object_put(c.arr);
        return rc;
    }
    add_cached(p, c.arr);
    *resp = c.arr;
    *status = 200;
    return 0;
}

/* ---- request status ------------------------------------------------------------------ */

static int ex_json_cb(const struct meta_execution *e, void *ctx)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "command_id", json_object_new_string(e->command_id));
    json_object_object_add(o, "hostname", json_object_new_string(e->hostname));
    json_object_object_add(o, "status", json_object_new_string(e->status));
    json_object_object_add(o, "execution_time",
                           e->execution_time < 0 ? NULL : json_object_new_int64(e->execution_time));
    json_object_object_add(o, "error_message",
                           e->error_message ? json_object_new_string(e->error_message) : NULL);
    json_object_object_add(o, "results_path",
                           e->results_path ? json_object_new_string(e->results_path) : NULL);
    json_object_array_add(ctx, o);
    return 0;
}

int cp_plane_request_status(struct cp_plane *p, const char *request_id, json_object **resp,
                            int *status, struct gp_err *err)
{
    struct meta_request r = {0};
    int rc = meta_request_get(p->db, request_id, &r, err);
    if (rc == -ENOENT) {
        *resp = cpi_msg_obj(false, "no profiling request %s", request_id);
        *status = 404;
        return 0;
    }
    if (rc)
        return rc;
    json_object *o = json_object_new_object();
    json_object_object_add(o, "request_id", json_object_new_string(r.request_id));
    json_object_object_add(o, "service_name", json_object_new_string(r.service_name));
    json_object_object_add(o, "request_type", json_object_new_string(r.request_type));
    json_object_object_add(o, "status", json_object_new_string(r.status));
    json_object *ex = json_object_new_array();
    rc = meta_execution_list_request(p->db, request_id, 0, ex_json_cb, ex, err);
    json_object_object_add(o, "executions", ex);
    meta_request_clear(&r);
    if (rc) {
        json_object_put(o);
        return rc;
    }
    *resp = o;
    *status = 200;
    return 0;
}
