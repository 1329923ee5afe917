/* indexer.c — drains the indexing outbox: read blob -> gunzip -> parse -> index add -> mark
 * done. Index add is idempotent per profile id and commits before the outbox row is removed,
 * so a crash at any point re-runs an item at most once more and never double-counts it. */
#include "coordinator/store/store.h"
#include "coordinator/store/store_internal.h"
#include "common/collapsed.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define BATCH        16
#define MAX_ATTEMPTS 12 /* then the profile is marked failed (indexed = 3) and left alone */
#define INDEXED_OK   1
#define INDEXED_SKIP 2
#define INDEXED_FAIL 3

static int gunzip_buf(const void *data, size_t len, size_t max, char **out, size_t *outlen,
                      struct gp_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return gp_err_set(err, -ENOMEM, "out of memory");
    size_t cap = len * 4 + 4096, n = 0;
    char *buf = malloc(cap + 1);
    int rc = 0;
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)len;
    for (;;) {
        if (!buf) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        zs.next_out = (Bytef *)buf + n;
        zs.avail_out = (uInt)(cap - n);
        int zr = inflate(&zs, Z_NO_FLUSH);
        n = cap - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = gp_err_set(err, -EINVAL, "stored profile is not valid gzip: %s",
                            zs.msg ? zs.msg : "corrupt data");
            break;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0) {
            rc = gp_err_set(err, -EINVAL, "stored profile is truncated gzip");
            break;
        }
        if (zs.avail_out == 0) {
            if (cap >= max) {
                rc = gp_err_set(err, -EFBIG, "stored profile inflates past %zu bytes", max);
                break;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
        }
    }
    inflateEnd(&zs);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = 0;
    *out = buf;
    *outlen = n;
    return 0;
}

/* Deterministic per upload, so a replay after a crash makes the same choice. */
static int downsampled(const char *upload_id, double threshold)
{
    if (!(threshold > 0))
        return 0;
    uint64_t h = gp_hash_mix(gp_hash_bytes(GP_HASH_SEED, upload_id, strlen(upload_id)));
    double u = (double)(h >> 11) / (double)(1ULL << 53);
    return u < threshold;
}

static void bump(struct coord_store *s, uint64_t *field)
{
    pthread_mutex_lock(&s->priv->mu);
    (*field)++;
    pthread_mutex_unlock(&s->priv->mu);
}

/* Marks the profile and removes the outbox item in one transaction. */
static int finish(struct coord_store *s, const struct meta_outbox_item *it, int indexed,
                  struct gp_err *err)
{
    int rc = meta_begin(s->meta, err);
    if (rc < 0)
        return rc;
    if ((rc = meta_profile_set_indexed(s->meta, it->profile_id, indexed, err)) < 0 ||
        (rc = meta_outbox_done(s->meta, it->id, err)) < 0) {
        meta_rollback(s->meta);
        return rc;
    }
    return meta_commit(s->meta, err);
}

static int index_one(struct coord_store *s, const struct meta_outbox_item *it, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    struct meta_profile prof;
    int rc = meta_profile_get(s->meta, it->profile_id, &prof, err);
    if (rc == -ENOENT) /* removed by retention meanwhile */
        return meta_outbox_done(s->meta, it->id, err);
    if (rc < 0)
        return rc;
    rc = index_has(s->index, prof.id, err);
    if (rc < 0)
        goto out;
    if (rc > 0) {
        bump(s, &p->stats.already);
        rc = finish(s, it, INDEXED_OK, err);
        goto out;
    }
    struct meta_service svc;
    if ((rc = meta_service_get_by_id(s->meta, prof.service_id, &svc, err)) < 0)
        goto out;
    int skip = downsampled(prof.upload_id, svc.sample_threshold);
    meta_service_clear(&svc);
    if (skip) {
        bump(s, &p->stats.skipped);
        rc = finish(s, it, INDEXED_SKIP, err);
        goto out;
    }
    size_t max_blob = p->cfg.max_blob_bytes ? p->cfg.max_blob_bytes : (64u << 20);
    size_t max_text = p->cfg.max_text_bytes ? p->cfg.max_text_bytes : (256u << 20);
    void *gz = NULL;
    size_t gzlen = 0;
    if ((rc = blob_get(s->blobs, prof.blob_key, &gz, &gzlen, max_blob, err)) < 0)
        goto out;
    char *text = NULL;
    size_t tlen = 0;
    rc = gunzip_buf(gz, gzlen, max_text, &text, &tlen, err);
    free(gz);
    if (rc < 0)
        goto out;
    struct gp_profile *profile = NULL;
    struct gp_collapsed_parse_opts opts = {.max_total = max_text};
    rc = gp_collapsed_parse(text, tlen, &opts, &profile, err);
    free(text);
    if (rc < 0)
        goto out;
    struct index_profile_meta m = {
            .profile_id = prof.id,
            .service = prof.service,
            .hostname = prof.hostname,
            .start_time = prof.start_time,
            .end_time = prof.end_time,
            .cpu_avg = prof.cpu_avg,
            .mem_avg = prof.mem_avg,
    };
    rc = index_add(s->index, &m, profile, err);
    gp_profile_free(profile);
    if (rc < 0)
        goto out;
    bump(s, &p->stats.indexed);
    rc = finish(s, it, INDEXED_OK, err);
out:
    if (rc < 0)
        gp_err_prefix(err, "indexing profile %lld (%s)", (long long)prof.id,
                      prof.blob_key ? prof.blob_key : "?");
    meta_profile_clear(&prof);
    return rc;
}

static void record_failure(struct coord_store *s, const struct meta_outbox_item *it,
                           const struct gp_err *why)
{
    struct gp_err err = {0};
    bump(s, &s->priv->stats.failed);
    /* Data errors (bad gzip, bad text, missing blob) will not heal: give up early. */
    int permanent = why->code == -EINVAL || why->code == -ENOENT || why->code == -EFBIG ||
                    why->code == -E2BIG;
    if (permanent || it->attempts + 1 >= MAX_ATTEMPTS) {
        gp_warn("%s; giving up on it", why->msg);
        if (finish(s, it, INDEXED_FAIL, &err) < 0)
            gp_warn("indexer: %s", err.msg);
        return;
    }
    int64_t delay = (int64_t)1 << (it->attempts < 12 ? it->attempts : 12);
    gp_warn("%s; retrying in %lld s", why->msg, (long long)delay);
    if (meta_outbox_fail(s->meta, it->id, (int64_t)time(NULL) + delay, why->msg, &err) < 0)
        gp_warn("indexer: %s", err.msg);
}

int coord_indexer_run(struct coord_store *s, size_t max, size_t *processed, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    size_t done = 0;
    int rc = 0;
    pthread_mutex_lock(&p->run_mu);
    while (!max || done < max) {
        struct meta_outbox_item items[BATCH];
        int want = BATCH;
        if (max && max - done < (size_t)want)
            want = (int)(max - done);
        int n = meta_outbox_next(s->meta, (int64_t)time(NULL), items, want, err);
        if (n < 0) {
            rc = n;
            break;
        }
        if (n == 0)
            break;
        for (int i = 0; i < n; i++) {
            struct gp_err e = {0};
            if (index_one(s, &items[i], &e) < 0) {
                if (e.code == -EBUSY || e.code == -ENOMEM || e.code == -ENOSPC) {
                    /* The store itself is in trouble: stop this pass, retry later. */
                    *err = e;
                    rc = e.code;
                    goto out;
                }
                record_failure(s, &items[i], &e);
            }
            done++;
        }
    }
out:
    pthread_mutex_unlock(&p->run_mu);
    if (processed)
        *processed = done;
    return rc;
}
