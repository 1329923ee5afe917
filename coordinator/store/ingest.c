/* ingest.c — the durable half of an upload: gzip the collapsed text, write the blob (fsynced),
 * then commit the profile row and its outbox row in one transaction; also ad hoc HTML storage. */
#include "coordinator/store/ingest.h"
#include "coordinator/store/store_internal.h"
#include "common/gzip.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#define HOST_KEY_MAX 100

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int valid_upload_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return 0;
        if (n >= 64)
            return 0;
    }
    return n > 0;
}

static int valid_hostname(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f || n >= META_NAME_MAX - 1)
            return 0;
    return n > 0;
}

int coord_ingest_blob_key(const char *service, int64_t start_time, const char *upload_id,
                          const char *hostname, char *out, size_t outsz)
{
    char host[HOST_KEY_MAX + 1];
    size_t n = 0;
    for (const char *p = hostname; *p && n < HOST_KEY_MAX; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        host[n++] = ok ? c : '_';
    }
    host[n] = 0;
    if (!n)
        snprintf(host, sizeof(host), "_");
    time_t t = (time_t)start_time;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -EINVAL;
    int w = snprintf(out, outsz, "products/%s/stacks/%04d-%02d-%02d/%lld_%s_%s.col.gz", service,
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, (long long)start_time, upload_id,
                     host);
    if (w < 0 || (size_t)w >= outsz || !blob_key_valid(out))
        return -EINVAL;
    return 0;
}

/* gzip (RFC 1952) of data at the fastest level: uploads are large and the disk is the limit. */
static int gzip_buf(const void *data, size_t len, unsigned char **out, size_t *outlen)
{
    struct gp_err err = {0};
    return gz_deflate(data, len, 1, (char **)out, outlen, &err);
}

/* Inserts one waiter's rows in the current transaction (the fallback when its batch failed). A
 * duplicate upload id (a concurrent retry that committed first) is not an error: the waiter gets
 * the stored id. */
static int insert_rows(struct coord_store *store, struct ingest_waiter *w, struct gp_err *err)
{
    int64_t sid, id = 0;
    int rc = meta_service_ensure(store->meta, w->service, &sid, err);
    if (rc < 0)
        return rc;
    w->row.service_id = sid;
    rc = meta_profile_insert(store->meta, &w->row, &id, err);
    if (rc == -EEXIST) {
        gp_err_clear(err);
        w->id = id;
        w->dup = 1;
        return 0;
    }
    if (rc < 0)
        return rc;
    if ((rc = w->parked ? meta_outbox_add_parked(store->meta, id, err)
                        : meta_outbox_add(store->meta, id, err)) < 0)
        return rc;
    w->id = id;
    return 0;
}

/* The service id of name: the leader's cache, else one look-up (remembered, the oldest of a
 * full cache replaced). */
static int service_id(struct coord_store *store, const char *name, int64_t *id, struct gp_err *err)
{
    struct coord_store_priv *p = store->priv;
    for (int i = 0; i < p->gc_nservices; i++)
        if (strcmp(p->gc_services[i].name, name) == 0) {
            *id = p->gc_services[i].id;
            return 0;
        }
    int rc = meta_service_ensure(store->meta, name, id, err);
    if (rc < 0)
        return rc;
    int n = (int)(sizeof(p->gc_services) / sizeof(p->gc_services[0]));
    if (p->gc_nservices == n) {
        memmove(&p->gc_services[0], &p->gc_services[1],
                sizeof(p->gc_services[0]) * (size_t)(n - 1));
        p->gc_nservices--;
    }
    snprintf(p->gc_services[p->gc_nservices].name, META_NAME_MAX, "%s", name);
    p->gc_services[p->gc_nservices++].id = *id;
    return 0;
}

/* The service ids of a batch's waiters: a look-up per service the leader has not seen yet. A
 * cached id is safe in the transaction: service rows are never deleted. */
static int batch_services(struct coord_store *store, struct ingest_waiter *batch,
                          struct gp_err *err)
{
    for (struct ingest_waiter *w = batch; w; w = w->next) {
        int rc = service_id(store, w->service, &w->row.service_id, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The batch's profile rows, META_PROFILE_INSERT_MAX to a statement, then their outbox rows, 64
 * to a statement: on a network store a batch costs a few round trips, not a few per profile. */
static int insert_batch(struct coord_store *store, struct ingest_waiter *batch, struct gp_err *err)
{
    struct meta_profile rows[META_PROFILE_INSERT_MAX];
    struct ingest_waiter *ws[META_PROFILE_INSERT_MAX];
    int64_t ids[64];
    int dup[META_PROFILE_INSERT_MAX], parked[64], n = 0, no = 0, rc = 0;
    for (struct ingest_waiter *w = batch; rc == 0 && w; w = w->next) {
        ws[n] = w;
        rows[n++] = w->row;
        if (n < META_PROFILE_INSERT_MAX && w->next)
            continue;
        if ((rc = meta_profile_insert_many(store->meta, rows, n, ids, dup, err)) < 0)
            break;
        for (int i = 0; i < n; i++) {
            ws[i]->id = ids[i];
            ws[i]->dup = dup[i];
        }
        n = 0;
    }
    for (struct ingest_waiter *w = batch; rc == 0 && w; w = w->next) {
        if (!w->dup) {
            ids[no] = w->id;
            parked[no++] = w->parked;
        }
        if (no && (no == 64 || !w->next)) {
            rc = meta_outbox_add_many(store->meta, ids, parked, no, err);
            no = 0;
        }
    }
    return rc;
}

/* Commits a batch in one transaction; if that fails, each waiter alone so that one bad row
 * does not fail the others. */
static void commit_batch(struct coord_store *store, struct ingest_waiter *batch)
{
    struct gp_err err = {0};
    int rc = meta_begin(store->meta, &err);
    if (rc == 0)
        rc = batch_services(store, batch, &err);
    if (rc == 0)
        rc = insert_batch(store, batch, &err);
    if (rc == 0 && (rc = meta_commit(store->meta, &err)) == 0) {
        for (struct ingest_waiter *w = batch; w; w = w->next)
            w->rc = 0;
        return;
    }
    store->priv->gc_nservices = 0; /* looked up again after a failure, whatever it was */
    if (rc < 0 && !batch->next) {
        meta_rollback(store->meta);
        batch->rc = rc;
        batch->err = err;
        return;
    }
    meta_rollback(store->meta);
    for (struct ingest_waiter *w = batch; w; w = w->next) {
        gp_err_clear(&w->err);
        w->dup = 0;
        w->rc = meta_begin(store->meta, &w->err);
        w->row.service_id = 0;
        if (w->rc == 0 && (w->rc = insert_rows(store, w, &w->err)) == 0)
            w->rc = meta_commit(store->meta, &w->err);
        else if (w->rc < 0)
            meta_rollback(store->meta);
    }
}

/* Queues w; the first thread to find no leader becomes it and commits everything queued
 * (including rows that arrive while it works, in the next round). Returns when w is done. */
static void group_commit(struct coord_store *store, struct ingest_waiter *w)
{
    struct coord_store_priv *p = store->priv;
    pthread_mutex_lock(&p->gc_mu);
    if (p->gc_tail)
        p->gc_tail->next = w;
    else
        p->gc_head = w;
    p->gc_tail = w;
    while (!w->done) {
        if (p->gc_leader) {
            pthread_cond_wait(&p->gc_cond, &p->gc_mu);
            continue;
        }
        p->gc_leader = 1;
        while (p->gc_head) {
            struct ingest_waiter *batch = p->gc_head;
            p->gc_head = p->gc_tail = NULL;
            pthread_mutex_unlock(&p->gc_mu);
            commit_batch(store, batch);
            pthread_mutex_lock(&p->gc_mu);
            for (struct ingest_waiter *x = batch, *next; x; x = next) {
                next = x->next;
                x->next = NULL;
                x->done = 1;
            }
            pthread_cond_broadcast(&p->gc_cond);
            if (w->done)
                break; /* our row is in; a waiter still queued takes over as leader */
        }
        p->gc_leader = 0;
        pthread_cond_broadcast(&p->gc_cond);
    }
    pthread_mutex_unlock(&p->gc_mu);
}

/* 0 with *id = the profile stored for upload_id; 1 when there is none; or a negative errno. */
static int stored_id(struct coord_store *store, const char *upload_id, int64_t *id,
                     struct gp_err *err)
{
    int rc = meta_profile_id_by_upload(store->meta, upload_id, id, err);
    if (rc == -ENOENT) {
        gp_err_clear(err);
        return 1;
    }
    return rc;
}

int coord_ingest(struct coord_store *store, const struct ingest_request *req,
                 int64_t *profile_id_out, struct gp_err *err)
{
    char service[META_NAME_MAX];
    if (!req->service || strlen(req->service) >= META_NAME_MAX ||
        !meta_service_sanitize(req->service, service, sizeof(service)))
        return gp_err_set(err, -EINVAL, "invalid service name '%.80s' (allowed: A-Z a-z 0-9 _ . -)",
                          req->service ? req->service : "");
    if (!req->hostname || !valid_hostname(req->hostname))
        return gp_err_set(err, -EINVAL,
                          "invalid hostname: 1..%d bytes without control "
                          "characters required",
                          META_NAME_MAX - 1);
    if (req->end_time < req->start_time || req->start_time < 0)
        return gp_err_set(err, -EINVAL, "end_time is before start_time");
    if (!req->gz && !req->text && !req->envelope_gz)
        return gp_err_set(err, -EINVAL, "upload has no profile text");
    char upload_id[65];
    double t0 = now_ms(), t1 = t0;
    if (req->upload_id) {
        if (!valid_upload_id(req->upload_id))
            return gp_err_set(err, -EINVAL,
                              "upload id must be 1..64 characters of A-Z a-z 0-9 _ -");
        snprintf(upload_id, sizeof(upload_id), "%s", req->upload_id);
        /* A retry of an acknowledged upload: answer with the stored id, write nothing. With a
         * spool the commit's ON CONFLICT finds it instead (and the spooled copy is dropped): one
         * round trip less for every upload, a local file written in vain for a retry. */
        int rc = store->spool ? 1 : stored_id(store, upload_id, profile_id_out, err);
        if (rc <= 0)
            return rc;
        t1 = now_ms();
    } else {
        uuid_t u;
        uuid_generate_random(u);
        uuid_unparse_lower(u, upload_id);
    }
    char key[BLOB_KEY_MAX + 1];
    if (coord_ingest_blob_key(service, req->start_time, upload_id, req->hostname, key,
                              sizeof(key)) < 0)
        return gp_err_set(err, -EINVAL, "cannot build a storage key for this upload");
    unsigned char *gz = NULL;
    size_t gzlen;
    const void *data;
    if (req->envelope_gz) {
        size_t kl = strlen(key); /* "....col.gz" -> "....json.gz" */
        if (kl + 2 > sizeof(key))
            return gp_err_set(err, -EINVAL, "cannot build a storage key for this upload");
        memcpy(key + kl - strlen(".col.gz"), ".json.gz", strlen(".json.gz") + 1);
        data = req->envelope_gz;
        gzlen = req->envelope_gz_len;
    } else if (req->gz) {
        data = req->gz;
        gzlen = req->gz_len;
    } else {
        int zr = gzip_buf(req->text, req->text_len, &gz, &gzlen);
        if (zr < 0)
            return gp_err_set(err, zr, "compressing the profile failed");
        data = gz;
    }
    /* With a spool the body only has to be durable here; an uploader puts the blob later. */
    char spooled[SPOOL_NAME_MAX] = "";
    int rc = -ENOSPC;
    if (store->spool) {
        rc = coord_spool_write(store->spool, upload_id, key, data, gzlen, spooled, err);
        if (rc < 0)
            spooled[0] = 0;
    }
    if (rc == -ENOSPC && store->spool && req->upload_id) {
        /* the spool is full: the blob store now, so not for a retry of a stored upload */
        rc = stored_id(store, upload_id, profile_id_out, err);
        if (rc <= 0) {
            free(gz);
            return rc;
        }
        rc = -ENOSPC;
    }
    if (rc == -ENOSPC) /* no spool, or it is full: the blob store now, before the answer */
        rc = blob_put(store->blobs, key, data, gzlen, err);
    free(gz);
    if (rc < 0)
        return gp_err_prefix(err, "storing upload"), rc;
    double t2 = now_ms();

    struct ingest_waiter w = {
            .row =
                    {
                            .hostname = (char *)req->hostname,
                            .start_time = req->start_time,
                            .end_time = req->end_time,
                            .blob_key = key,
                            .cpu_avg = req->cpu_avg,
                            .mem_avg = req->mem_avg,
                            .continuous = req->continuous,
                            .size = (int64_t)gzlen,
                            .upload_id = upload_id,
                    },
            .service = service,
            .parked = spooled[0] != 0,
    };
    group_commit(store, &w);
    if (gp_log_get_level() >= GP_LOG_DEBUG)
        gp_debug("ingest %s: duplicate check %.1f ms, %s %.1f ms, commit %.1f ms", upload_id,
                 t1 - t0, spooled[0] ? "spool" : "blob", t2 - t1, now_ms() - t2);
    if (spooled[0]) {
        if (w.rc < 0 || w.dup)
            coord_spool_drop(store->spool, spooled, gzlen);
        else
            coord_spool_commit(store->spool, spooled, w.id, gzlen);
    }
    if (w.rc < 0) {
        if (err)
            *err = w.err;
        gp_err_prefix(err, "storing upload metadata");
        return w.rc;
    }
    *profile_id_out = w.id;
    coord_store_kick(store);
    return 0;
}

static int valid_filename(const char *s)
{
    size_t n = 0;
    if (!s || s[0] == '.')
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
        if (n >= 200)
            return 0;
    }
    return n > 0;
}

int coord_ingest_adhoc(struct coord_store *store, const struct ingest_adhoc *a, int64_t *id_out,
                       struct gp_err *err)
{
    char service[META_NAME_MAX];
    if (!a->service || strlen(a->service) >= META_NAME_MAX ||
        !meta_service_sanitize(a->service, service, sizeof(service)))
        return gp_err_set(err, -EINVAL, "invalid service name");
    if (!valid_filename(a->filename))
        return gp_err_set(err, -EINVAL,
                          "invalid ad hoc file name '%.80s': 1..200 characters of A-Z a-z 0-9 . _ "
                          "-, not starting with '.'",
                          a->filename ? a->filename : "");
    if (!a->hostname || !valid_hostname(a->hostname))
        return gp_err_set(err, -EINVAL, "invalid hostname");
    char key[BLOB_KEY_MAX + 1];
    int w = snprintf(key, sizeof(key), "products/%s/stacks/flamegraph/%s", service, a->filename);
    if (w < 0 || (size_t)w >= sizeof(key) || !blob_key_valid(key))
        return gp_err_set(err, -EINVAL, "cannot build a storage key for %s", a->filename);
    int rc = blob_put(store->blobs, key, a->html, a->html_len, err);
    if (rc < 0)
        return rc;
    struct meta_adhoc row = {
            .service = service,
            .hostname = (char *)a->hostname,
            .filename = (char *)a->filename,
            .blob_key = key,
            .perf_events = (char *)a->perf_events,
            .start_time = a->start_time,
            .end_time = a->end_time,
            .size = (int64_t)a->html_len,
            .profile_id = a->profile_id,
    };
    return meta_adhoc_insert(store->meta, &row, id_out, err);
}

int coord_adhoc_read(struct coord_store *store, const char *service, const char *filename,
                     void **html, size_t *len, struct gp_err *err)
{
    if (!valid_filename(filename))
        return gp_err_set(err, -EINVAL, "invalid ad hoc file name '%.80s'",
                          filename ? filename : "");
    char clean[META_NAME_MAX];
    if (!service || strlen(service) >= META_NAME_MAX ||
        !meta_service_sanitize(service, clean, sizeof(clean)))
        return gp_err_set(err, -EINVAL, "invalid service name");
    struct meta_adhoc a;
    int rc = meta_adhoc_get(store->meta, clean, filename, &a, err);
    if (rc < 0)
        return rc;
    rc = blob_get(store->blobs, a.blob_key, html, len, 0, err);
    meta_adhoc_clear(&a);
    return rc;
}
