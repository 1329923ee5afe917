/* retention.c — deletes raw blobs, metadata rows, ad hoc files, PerfSpect reports and index data
 * older than retention_days (setting, else configuration), oldest first and in bounded batches. */
#include "coordinator/store/store.h"
#include "coordinator/store/store_internal.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define BATCH 500

struct victims {
    int64_t ids[BATCH];
    char *keys[BATCH];
    int n;
};

static int collect_cb(const struct meta_profile *p, void *ctx)
{
    struct victims *v = ctx;
    if (v->n >= BATCH)
        return 1;
    v->ids[v->n] = p->id;
    v->keys[v->n] = strdup(p->blob_key);
    v->n++;
    return 0;
}

static int adhoc_cb(const struct meta_adhoc *a, void *ctx)
{
    struct victims *v = ctx;
    if (v->n >= BATCH)
        return 1;
    v->ids[v->n] = a->id;
    v->keys[v->n] = a->blob_key ? strdup(a->blob_key) : NULL;
    v->n++;
    return 0;
}

static void free_victims(struct victims *v)
{
    for (int i = 0; i < v->n; i++)
        free(v->keys[i]);
    v->n = 0;
}

#define SWEEP_DAYS 7 /* date directories examined per pass, starting 2 days before cutoff */

struct sweep_ctx {
    struct coord_store *s;
    struct coord_retention_stats *stats;
};

static int sweep_cb(const char *key, uint64_t size, void *ctx)
{
    struct sweep_ctx *sc = ctx;
    struct gp_err e = {0};
    int referenced = 1;
    int rc = meta_profile_blob_referenced(sc->s->meta, key, &referenced, &e);
    if (rc == 0 && !referenced) {
        if (blob_delete(sc->s->blobs, key, &e) == 0)
            sc->stats->orphans++;
    } else if (rc < 0) {
        gp_warn("retention: %s", e.msg);
    }
    return 0;
}

static int sweep_service(const struct meta_service *svc, void *ctx)
{
    struct sweep_ctx *sc = ctx;
    for (int d = 2; d < 2 + SWEEP_DAYS; d++) {
        time_t t = (time_t)(sc->stats->cutoff - (int64_t)d * 86400);
        struct tm tm;
        if (!gmtime_r(&t, &tm))
            continue;
        char prefix[META_NAME_MAX + 40];
        snprintf(prefix, sizeof(prefix), "products/%s/stacks/%04d-%02d-%02d/", svc->name,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        struct gp_err e = {0};
        if (blob_list(sc->s->blobs, prefix, sweep_cb, sc, &e) < 0)
            gp_warn("retention: listing %s: %s", prefix, e.msg);
    }
    return 0;
}

static void sweep_orphans(struct coord_store *s, int64_t cutoff,
                          struct coord_retention_stats *stats)
{
    struct sweep_ctx sc = {s, stats};
    struct gp_err e = {0};
    (void)cutoff;
    if (meta_service_list(s->meta, sweep_service, &sc, &e) < 0)
        gp_warn("retention: %s", e.msg);
}

/* PerfSpect reports: perfspect/<service>/<host>/<yyyy-mm-ddThh-mm-ss>_<upload id>.html, named by
 * their end time (coordinator/api/agent_api.c), and the host's "latest" pointer to the newest. */
#define PS_LATEST_MAX 64

struct ps_ctx {
    struct coord_store *s;
    struct coord_retention_stats *stats;
    char *latest[PS_LATEST_MAX]; /* "latest" pointers seen, checked after the deletions */
    int nlatest;
};

/* The end time a report key's name starts with, or -1 when it is not a report's name. */
static int64_t ps_report_time(const char *key)
{
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    struct tm tm = {0};
    if (sscanf(base, "%4d-%2d-%2dT%2d-%2d-%2d_", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static int ps_cb(const char *key, uint64_t size, void *ctx)
{
    struct ps_ctx *pc = ctx;
    (void)size;
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    if (!strcmp(base, "latest")) {
        if (pc->nlatest < PS_LATEST_MAX) {
            char *k = strdup(key);
            if (k)
                pc->latest[pc->nlatest++] = k;
        }
        return 0;
    }
    int64_t t = ps_report_time(key);
    if (t < 0 || t >= pc->stats->cutoff)
        return 0;
    struct gp_err e = {0};
    if (blob_delete(pc->s->blobs, key, &e) == 0)
        pc->stats->perfspect++;
    else if (e.code != -ENOENT)
        gp_warn("retention: %s", e.msg);
    return 0;
}

/* A host's "latest" pointer goes with the report it names (the newest: every report of the
 * host has expired then), so html_metadata answers "no report" instead of a dangling name. */
static void ps_drop_dangling_latest(struct ps_ctx *pc)
{
    for (int i = 0; i < pc->nlatest; i++) {
        void *named = NULL;
        size_t len = 0;
        uint64_t sz;
        struct gp_err e = {0};
        if (blob_get(pc->s->blobs, pc->latest[i], &named, &len, 1024, &e) == 0) {
            char k[1025];
            memcpy(k, named, len);
            k[len] = '\0';
            free(named);
            if (blob_stat(pc->s->blobs, k, &sz, &e) == -ENOENT &&
                blob_delete(pc->s->blobs, pc->latest[i], &e) < 0 && e.code != -ENOENT)
                gp_warn("retention: %s", e.msg);
        }
        free(pc->latest[i]);
    }
    pc->nlatest = 0;
}

static int ps_service(const struct meta_service *svc, void *ctx)
{
    struct ps_ctx *pc = ctx;
    char prefix[META_NAME_MAX + 16];
    snprintf(prefix, sizeof(prefix), "perfspect/%s/", svc->name);
    struct gp_err e = {0};
    if (blob_list(pc->s->blobs, prefix, ps_cb, pc, &e) < 0)
        gp_warn("retention: listing %s: %s", prefix, e.msg);
    ps_drop_dangling_latest(pc);
    return 0;
}

static void expire_perfspect(struct coord_store *s, struct coord_retention_stats *stats)
{
    struct ps_ctx pc = {.s = s, .stats = stats};
    struct gp_err e = {0};
    if (meta_service_list(s->meta, ps_service, &pc, &e) < 0)
        gp_warn("retention: %s", e.msg);
}

int coord_store_retention_days(struct coord_store *s, int64_t *days, struct gp_err *err)
{
    int def = s->priv->cfg.retention_days;
    return meta_setting_get_int(s->meta, META_SETTING_RETENTION_DAYS, def ? def : 30, days, err);
}

int coord_retention_run(struct coord_store *s, int64_t now, struct coord_retention_stats *stats,
                        struct gp_err *err)
{
    struct coord_retention_stats dummy;
    if (!stats)
        stats = &dummy;
    memset(stats, 0, sizeof(*stats));
    int64_t days;
    int rc = coord_store_retention_days(s, &days, err);
    if (rc < 0)
        return rc;
    if (days < 0)
        return 0;
    int64_t cutoff = now - days * 86400;
    stats->cutoff = cutoff;

    /* Raw profiles: blob first, then the row (a crash in between leaves a row whose blob is
     * gone; the next pass deletes the row, the indexer treats the missing blob as permanent). */
    for (;;) {
        struct victims v = {0};
        if ((rc = meta_profile_list_before(s->meta, cutoff, BATCH, collect_cb, &v, err)) < 0) {
            free_victims(&v);
            return rc;
        }
        if (!v.n)
            break;
        for (int i = 0; i < v.n; i++) {
            struct gp_err e = {0};
            if (v.keys[i] && blob_delete(s->blobs, v.keys[i], &e) < 0 && e.code != -ENOENT)
                gp_warn("retention: %s", e.msg);
            if ((rc = meta_profile_delete(s->meta, v.ids[i], err)) < 0)
                break;
            stats->profiles++;
        }
        int full = v.n == BATCH;
        free_victims(&v);
        if (rc < 0)
            return rc;
        if (!full)
            break;
    }

    /* Ad hoc flame graphs. */
    for (;;) {
        struct victims v = {0};
        if ((rc = meta_adhoc_list_before(s->meta, cutoff, BATCH, adhoc_cb, &v, err)) < 0) {
            free_victims(&v);
            return rc;
        }
        if (!v.n)
            break;
        for (int i = 0; i < v.n && rc == 0; i++) {
            struct gp_err e = {0};
            if (v.keys[i] && blob_delete(s->blobs, v.keys[i], &e) < 0 && e.code != -ENOENT)
                gp_warn("retention: %s", e.msg);
            rc = meta_adhoc_delete(s->meta, v.ids[i], err);
            stats->adhoc++;
        }
        int full = v.n == BATCH;
        free_victims(&v);
        if (rc < 0)
            return rc;
        if (!full)
            break;
    }

    /* Orphan blobs (written, but their row never committed: a crash or a failed commit) in
     * the date directories that just expired. Rows go first, above, so what is left there is
     * unreferenced; a blob a row still points to (end_time far after start) is kept. */
    sweep_orphans(s, cutoff, stats);

    /* PerfSpect reports that ended before the cutoff (no metadata rows: named by end time). */
    expire_perfspect(s, stats);

    /* Index: whole days before the cutoff. */
    return index_retention(s->index, cutoff, &stats->index_profiles, err);
}
