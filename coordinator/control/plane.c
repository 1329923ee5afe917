/* plane.c — the control plane's lifecycle (writer thread, shutdown, counters) and its status
 * views: hosts and requests as data; api/control_api.c renders them (see plane.h). */
#include "coordinator/control/plane_internal.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cp_plane_open(struct meta_db *db, const struct cp_plane_opts *o, struct cp_plane **out,
                  struct gp_err *err)
{
    if (!o->codec)
        return gp_err_set(err, -EINVAL, "the control plane needs a codec (cp_plane_opts.codec)");
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

bool cp_plane_bulk_refused(struct cp_plane *p)
{
    if (!cpi_stopping(p))
        return false;
    pthread_mutex_lock(&p->cache_mu);
    p->stats.bulk_interrupted++;
    pthread_mutex_unlock(&p->cache_mu);
    return true;
}

void cp_plane_stats(struct cp_plane *p, struct cp_plane_stats *out)
{
    pthread_mutex_lock(&p->cache_mu);
    *out = p->stats;
    out->tracked = p->nentries;
    pthread_mutex_unlock(&p->cache_mu);
}

/* ---- status views -------------------------------------------------------------------- */

struct hosts_ctx {
    int64_t now, interval;
    int (*cb)(const struct cp_host_view *v, void *ctx);
    void *ctx;
};

static int hosts_cb(const struct meta_host_status *hs, void *ctx)
{
    struct hosts_ctx *c = ctx;
    struct cp_host_view v = {
            .host = hs->host,
            .command = hs->command,
            .liveness = cp_host_liveness(hs->host->heartbeat_timestamp, c->now, c->interval)};
    return c->cb(&v, c->ctx);
}

int cp_plane_hosts(struct cp_plane *p, const struct meta_host_filter *f, int64_t now,
                   int (*cb)(const struct cp_host_view *v, void *ctx), void *ctx,
                   struct gp_err *err)
{
    int rc = cp_plane_flush(p, err);
    if (rc)
        return rc;
    struct hosts_ctx c = {.now = now, .interval = p->o.heartbeat_interval, .cb = cb, .ctx = ctx};
    return meta_host_list(p->db, f, hosts_cb, &c, err);
}

int cp_plane_host_cached(struct cp_plane *p, const char *host, const char *service, char **sessions,
                         int64_t *interval_s)
{
    int rc = 0;
    *sessions = NULL;
    pthread_mutex_lock(&p->cache_mu);
    struct hb_entry *e = cpi_entry_get(p, host, service, false);
    *interval_s = e && e->gap > 0 ? e->gap : p->o.heartbeat_interval;
    if (e && e->sessions && !(*sessions = strdup(e->sessions)))
        rc = -ENOMEM;
    pthread_mutex_unlock(&p->cache_mu);
    return rc;
}

int cp_plane_request(struct cp_plane *p, const char *request_id, struct meta_request *out,
                     struct gp_err *err)
{
    return meta_request_get(p->db, request_id, out, err);
}

int cp_plane_request_executions(struct cp_plane *p, const char *request_id,
                                int (*cb)(const struct meta_execution *e, void *ctx), void *ctx,
                                struct gp_err *err)
{
    return meta_execution_list_request(p->db, request_id, 0, cb, ctx, err);
}

void cpi_reply(struct cp_reply *r, int status, bool success, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof(r->message), fmt, ap);
    va_end(ap);
    r->status = status;
    r->success = success;
}
