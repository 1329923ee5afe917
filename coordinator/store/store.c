/* store.c — struct coord_store: opens the metadata, blob and index backends named by the
 * configuration (defaults under the state directory) and runs the background thread that drains
 * the indexing outbox and applies retention. */
#include "coordinator/store/store.h"
#include "common/fsutil.h"
#include "coordinator/store/store_internal.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_STATE_DIR "/var/lib/gprof-coordinator"

static char *dupf(const char *fmt, const char *a)
{
    char *s = NULL;
    if (asprintf(&s, fmt, a) < 0)
        return NULL;
    return s;
}

int coord_store_open(const struct coord_store_config *cfg, struct coord_store **out,
                     struct gp_err *err)
{
    static const struct coord_store_config defaults;
    if (!cfg)
        cfg = &defaults;
    struct coord_store *s = calloc(1, sizeof(*s));
    struct coord_store_priv *p = calloc(1, sizeof(*p));
    if (!s || !p) {
        free(s);
        free(p);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    s->priv = p;
    p->cfg = *cfg;
    const char *dir = cfg->state_dir ? cfg->state_dir : DEFAULT_STATE_DIR;
    p->state_dir = strdup(dir);
    p->meta_spec = cfg->meta ? strdup(cfg->meta) : dupf("sqlite:%s/meta.db", dir);
    p->blobs_spec = cfg->blobs ? strdup(cfg->blobs) : dupf("fs:%s/profiles", dir);
    p->index_spec = cfg->index ? strdup(cfg->index) : dupf("sqlite:%s/index.db", dir);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->run_mu, NULL);
    pthread_mutex_init(&p->gc_mu, NULL);
    pthread_cond_init(&p->gc_cond, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cond, &ca);
    pthread_condattr_destroy(&ca);
    int rc;
    if (!p->state_dir || !p->meta_spec || !p->blobs_spec || !p->index_spec) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    p->cfg.state_dir = p->state_dir;
    p->cfg.meta = p->meta_spec;
    p->cfg.blobs = p->blobs_spec;
    p->cfg.index = p->index_spec;
    if ((rc = gp_mkdir_p(dir, 0750)) < 0) {
        gp_err_set(err, rc,
                   "cannot create state directory %s: %s; create it or set "
                   "--state-dir to a writable directory",
                   dir, strerror(-rc));
        goto fail;
    }
    if ((rc = meta_db_open(p->meta_spec, &s->meta, err)) < 0 ||
        (rc = blob_store_open(p->blobs_spec, &s->blobs, err)) < 0 ||
        (rc = sample_index_open(p->index_spec, &s->index, err)) < 0 ||
        (rc = meta_outbox_recover(s->meta, err)) < 0)
        goto fail;
    if (cfg->spool_dir &&
        (rc = coord_spool_open(cfg->spool_dir, cfg->spool_uploaders ? cfg->spool_uploaders : 4,
                               cfg->spool_max_bytes ? cfg->spool_max_bytes : UINT64_C(1) << 30,
                               &s->spool, err)) < 0)
        goto fail;
    *out = s;
    return 0;
fail:
    coord_store_close(s);
    return rc;
}

void coord_store_close(struct coord_store *s)
{
    if (!s)
        return;
    coord_store_stop(s);
    coord_spool_close(s->spool);
    coord_indexer_free(s);
    sample_index_close(s->index);
    blob_store_close(s->blobs);
    meta_db_close(s->meta);
    struct coord_store_priv *p = s->priv;
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->run_mu);
    pthread_mutex_destroy(&p->gc_mu);
    pthread_cond_destroy(&p->gc_cond);
    pthread_cond_destroy(&p->cond);
    free(p->state_dir);
    free(p->meta_spec);
    free(p->blobs_spec);
    free(p->index_spec);
    free(p);
    free(s);
}

static void *background(void *arg)
{
    struct coord_store *s = arg;
    struct coord_store_priv *p = s->priv;
    /* Indexing is asynchronous and durable (the outbox); uploads and queries are not. Under
     * a burst, let them have the CPUs first (Linux: nice applies to this thread only). */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10) != 0)
        gp_debug("indexer: cannot lower the thread priority: %s", strerror(errno));
    int poll_ms = p->cfg.indexer_poll_ms > 0 ? p->cfg.indexer_poll_ms : 500;
    int64_t ret_every = p->cfg.retention_interval_s > 0 ? p->cfg.retention_interval_s : 3600;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        struct gp_err err = {0};
        size_t done = 0;
        int held_ms = -1;
        if (coord_indexer_pass(s, 64, &done, &held_ms, &err) < 0)
            gp_warn("indexer: %s", err.msg);
        int64_t now = (int64_t)time(NULL);
        if (now - p->last_retention >= ret_every) {
            struct coord_retention_stats rs;
            if (coord_retention_run(s, now, &rs, &err) < 0)
                gp_warn("retention: %s", err.msg);
            else if (rs.profiles || rs.index_profiles || rs.adhoc)
                gp_info("retention: removed %lld profiles, %lld indexed profiles, %lld ad hoc "
                        "files older than %lld",
                        (long long)rs.profiles, (long long)rs.index_profiles, (long long)rs.adhoc,
                        (long long)rs.cutoff);
            p->last_retention = now;
        }
        if (done == 64)
            continue; /* more work waiting */
        /* held items (a batch still filling) are due after held_ms at the latest */
        int wait_ms = held_ms >= 0 && held_ms < poll_ms ? held_ms : poll_ms;
        pthread_mutex_lock(&p->mu);
        if (!p->stop && !p->kicked) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->cond, &p->mu, &ts);
        }
        p->kicked = 0;
        pthread_mutex_unlock(&p->mu);
    }
    struct gp_err err = {0};
    if (coord_indexer_flush(s, &err) < 0)
        gp_warn("indexer: %s (the items stay in the outbox)", err.msg);
    return NULL;
}

/* The spool's wake-up after it unparks an outbox row. */
static void kick_cb(void *ctx)
{
    coord_store_kick(ctx);
}

int coord_store_start(struct coord_store *s, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    pthread_mutex_lock(&p->mu);
    if (p->running) {
        pthread_mutex_unlock(&p->mu);
        return gp_err_set(err, -EALREADY, "store background thread already running");
    }
    p->stop = 0;
    if (s->spool) {
        int src = coord_spool_start(s->spool, s->blobs, s->meta, kick_cb, s, err);
        if (src < 0) {
            pthread_mutex_unlock(&p->mu);
            return src;
        }
    }
    int rc = pthread_create(&p->thread, NULL, background, s);
    if (rc == 0)
        p->running = 1;
    pthread_mutex_unlock(&p->mu);
    if (rc)
        return gp_err_set(err, -rc, "cannot start the indexer thread: %s", strerror(rc));
    return 0;
}

void coord_store_stop(struct coord_store *s)
{
    struct coord_store_priv *p = s->priv;
    pthread_mutex_lock(&p->mu);
    if (!p->running) {
        pthread_mutex_unlock(&p->mu);
        return;
    }
    p->stop = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    if (s->spool)
        coord_spool_stop(s->spool);
    pthread_mutex_lock(&p->mu);
    p->running = 0;
    pthread_mutex_unlock(&p->mu);
}

void coord_store_kick(struct coord_store *s)
{
    struct coord_store_priv *p = s->priv;
    pthread_mutex_lock(&p->mu);
    p->kicked = 1;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

void coord_indexer_stats(struct coord_store *s, struct coord_index_stats *out)
{
    struct coord_store_priv *p = s->priv;
    pthread_mutex_lock(&p->mu);
    *out = p->stats;
    pthread_mutex_unlock(&p->mu);
}
