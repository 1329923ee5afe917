/* indexer.c — drains the indexing outbox: read blob -> gunzip -> parse -> index add -> mark
 * done. Index add is idempotent per profile id and commits before the outbox row is removed,
 * so a crash at any point re-runs an item at most once more and never double-counts it.
 * Profiles are added in batches sized by the index engine (index_batch_policy): an engine with
 * costly inserts (ClickHouse) gets its claimed items held across passes until enough stacks or
 * enough time have gathered; held items stay claimed in the outbox until their batch is added. */
#include "common/gzip.h"
#include "coordinator/store/store.h"
#include "coordinator/store/store_internal.h"
#include "common/collapsed.h"
#include "common/hash.h"
#include "common/json_member.h"
#include "common/log.h"

#include <errno.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH        16
#define MAX_ATTEMPTS 12 /* then the profile is marked failed (indexed = 3) and left alone */
#define INDEXED_OK   1
#define INDEXED_SKIP 2
#define INDEXED_FAIL 3

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

/* One outbox item on its way through a pass. */
struct work {
    struct meta_outbox_item it;
    struct meta_profile prof;
    struct gp_profile *profile; /* parsed, to be added */
    struct index_profile_meta m;
    int prefound;  /* the index already holds it (index_has_many at claim time) */
    int indexed;   /* INDEXED_* to record, 0 = not finished */
    int gone;      /* profile row deleted meanwhile: only drop the outbox item */
    int failed;    /* a failed attempt was recorded (it is due again after its backoff) */
    int need_blob; /* prepare_meta: its blob is to be read and parsed */
    int prc;       /* what preparing it returned, and why */
    struct gp_err perr;
};

/* Claimed items held across passes until the index engine's batch (index_batch_policy) is full
 * or its oldest item has waited long enough; their outbox rows stay claimed meanwhile. */
struct indexer_pending {
    struct work *w;
    size_t n, cap;
    size_t rows;      /* stacks of the parsed profiles held */
    int64_t first_ms; /* monotonic time the oldest held item was claimed */
};

#define HELD_MAX 256 /* profiles held at most, whatever their rows */

/* How long a claimed batch stays with its claimer: a coordinator that dies mid-batch delays
 * its items by this much, never loses them. A batch takes well under a second, and items are
 * held for at most the engine's batch time (ClickHouse: <= 30 s). */
#define CLAIM_LEASE_S 120

#define CHUNK 32 /* ids per statement (done_many takes <= 64, set_indexed_many <= 63) */

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Marks the finished items and removes their outbox rows in one transaction: one statement
 * per distinct outcome and CHUNK ids and one per CHUNK outbox rows (on a network store, round trips
 * per batch, not per item). */
static int finish(struct coord_store *s, struct work *w, size_t n, struct gp_err *err)
{
    int64_t *done = malloc((n ? n : 1) * sizeof(*done));
    int64_t *ids = malloc((n ? n : 1) * sizeof(*ids));
    unsigned char *marked = calloc(n ? n : 1, 1);
    int rc = 0;
    if (!done || !ids || !marked) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    size_t ndone = 0;
    for (size_t i = 0; i < n; i++)
        if (w[i].indexed || w[i].gone)
            done[ndone++] = w[i].it.id;
    if (!ndone)
        goto out;
    if ((rc = meta_begin(s->meta, err)) < 0)
        goto out;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!w[i].indexed || marked[i])
            continue;
        size_t k = 0;
        for (size_t j = i; j < n; j++)
            if (w[j].indexed == w[i].indexed && !marked[j]) {
                marked[j] = 1;
                ids[k++] = w[j].it.profile_id;
            }
        for (size_t off = 0; off < k && rc == 0; off += CHUNK)
            rc = meta_profile_set_indexed_many(s->meta, ids + off,
                                               (int)(k - off < CHUNK ? k - off : CHUNK),
                                               w[i].indexed, err);
    }
    for (size_t off = 0; off < ndone && rc == 0; off += CHUNK)
        rc = meta_outbox_done_many(s->meta, done + off,
                                   (int)(ndone - off < CHUNK ? ndone - off : CHUNK), err);
    if (rc < 0)
        meta_rollback(s->meta);
    else
        rc = meta_commit(s->meta, err);
out:
    free(done);
    free(ids);
    free(marked);
    return rc;
}

static void record_failure(struct coord_store *s, struct work *w, const struct gp_err *why)
{
    struct gp_err err = {0};
    bump(s, &s->priv->stats.failed);
    /* Data errors (bad gzip, bad text, missing blob) will not heal: give up at once. */
    int permanent = why->code == -EINVAL || why->code == -ENOENT || why->code == -EFBIG ||
                    why->code == -E2BIG;
    if (permanent || w->it.attempts + 1 >= MAX_ATTEMPTS) {
        gp_warn("%s; giving up on it", why->msg);
        w->indexed = INDEXED_FAIL;
        return;
    }
    int64_t delay = (int64_t)1 << (w->it.attempts < 12 ? w->it.attempts : 12);
    gp_warn("%s; retrying in %lld s", why->msg, (long long)delay);
    w->failed = 1;
    if (meta_outbox_fail(s->meta, w->it.id, (int64_t)time(NULL) + delay, why->msg, &err) < 0)
        gp_warn("indexer: %s", err.msg);
}

static int fatal(int code)
{
    /* The store itself is in trouble: stop this pass and retry later. -EAGAIN: a network store
     * (ClickHouse) is unreachable or busy; the outbox keeps the work, no attempt is counted. */
    return code == -EBUSY || code == -ENOMEM || code == -ENOSPC || code == -EROFS ||
           code == -EAGAIN;
}

/* Looks one item up in the metadata (gone, indexed before, downsampled); sets w->need_blob when
 * its blob must be read and parsed (prepare_blob), which leaves w->profile set. */
static int prepare_meta(struct coord_store *s, struct work *w, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    int rc = meta_profile_get(s->meta, w->it.profile_id, &w->prof, err);
    if (rc == -ENOENT) { /* removed by retention meanwhile */
        w->gone = 1;
        return 0;
    }
    if (rc < 0)
        return rc;
    if (w->prefound) { /* indexed before a crash, outbox row not yet removed */
        bump(s, &p->stats.already);
        w->indexed = INDEXED_OK;
        return 0;
    }
    struct meta_service svc;
    if ((rc = meta_service_get_by_id(s->meta, w->prof.service_id, &svc, err)) < 0)
        return rc;
    int skip = downsampled(w->prof.upload_id, svc.sample_threshold);
    meta_service_clear(&svc);
    if (skip) {
        bump(s, &p->stats.skipped);
        w->indexed = INDEXED_SKIP;
        return 0;
    }
    w->need_blob = 1;
    return 0;
}

/* The second half of an item's preparation, after prepare_meta asked for it: reads, inflates
 * and parses the blob. Touches no metadata, so it runs on helper threads (prepare_all). */
static int prepare_blob(struct coord_store *s, struct work *w, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    int rc;
    size_t max_blob = p->cfg.max_blob_bytes ? p->cfg.max_blob_bytes : (64u << 20);
    size_t max_text = p->cfg.max_text_bytes ? p->cfg.max_text_bytes : (256u << 20);
    void *gz = NULL;
    size_t gzlen = 0;
    if ((rc = blob_get(s->blobs, w->prof.blob_key, &gz, &gzlen, max_blob, err)) < 0)
        return rc;
    char *text = NULL;
    size_t tlen = 0;
    rc = gz_inflate(gz, gzlen, max_text, &text, &tlen, err);
    free(gz);
    if (rc < 0) {
        gp_err_prefix(err, "stored profile %s", w->prof.blob_key);
        return rc;
    }
    const char *body = text;
    size_t blen = tlen;
    json_object *env = NULL;
    char *decoded = NULL;
    size_t kl = strlen(w->prof.blob_key), qs, qe;
    int envelope = kl > 8 && strcmp(w->prof.blob_key + kl - 8, ".json.gz") == 0;
    if (envelope && gp_json_find_string_member(text, tlen, "profile", &qs, &qe)) {
        /* fast path: decode the one big member without building the whole JSON tree */
        decoded = malloc(qe - qs);
        if (decoded && gp_json_unescape_simple(text + qs + 1, qe - qs - 1, decoded, &blen)) {
            body = decoded;
            envelope = 0;
        } else {
            free(decoded);
            decoded = NULL;
            blen = tlen;
        }
    }
    if (envelope) {
        /* the agent's envelope stored as received: the text is its "profile" member */
        json_tokener *tok = json_tokener_new_ex(64);
        if (!tok) {
            free(text);
            return gp_err_set(err, -ENOMEM, "out of memory");
        }
        env = json_tokener_parse_ex(tok, text, (int)tlen);
        json_tokener_free(tok);
        json_object *prof = NULL;
        if (!env || !json_object_object_get_ex(env, "profile", &prof) ||
            !json_object_is_type(prof, json_type_string)) {
            json_object_put(env);
            free(text);
            return gp_err_set(err, -EINVAL, "stored envelope has no \"profile\" string");
        }
        body = json_object_get_string(prof);
        blen = (size_t)json_object_get_string_len(prof);
    }
    struct gp_collapsed_parse_opts opts = {.max_total = max_text};
    rc = gp_collapsed_parse(body, blen, &opts, &w->profile, err);
    json_object_put(env);
    free(decoded);
    free(text);
    if (rc < 0)
        return rc;
    w->m = (struct index_profile_meta){
            .profile_id = w->prof.id,
            .service = w->prof.service,
            .hostname = w->prof.hostname,
            .start_time = w->prof.start_time,
            .end_time = w->prof.end_time,
            .cpu_avg = w->prof.cpu_avg,
            .mem_avg = w->prof.mem_avg,
    };
    return 0;
}

/* Up to PREPARE_THREADS items of a claim are read and parsed at once: on a network blob store
 * a profile's fetch is a round trip (S3 GET: 20-250 ms on the test server) that would otherwise
 * run one after another. The backends are safe to share between threads (store.h). */
#define PREPARE_THREADS 4

struct prep_job {
    struct coord_store *s;
    struct work *w;
    int n, next;
    pthread_mutex_t mu;
};

static void *prepare_worker(void *arg)
{
    struct prep_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next++;
        pthread_mutex_unlock(&j->mu);
        if (i >= j->n)
            return NULL;
        struct work *w = &j->w[i];
        if (w->prc == 0 && w->need_blob)
            w->prc = prepare_blob(j->s, w, &w->perr);
    }
}

/* Prepares w[0..n): the metadata lookups one after another on this thread (SQLite connections
 * are per thread), then the blobs on up to PREPARE_THREADS threads; results in w[i].prc and
 * w[i].perr. */
static void prepare_all(struct coord_store *s, struct work *w, int n)
{
    int nblob = 0;
    for (int i = 0; i < n; i++) {
        memset(&w[i].perr, 0, sizeof(w[i].perr));
        w[i].prc = prepare_meta(s, &w[i], &w[i].perr);
        if (w[i].prc < 0 && fatal(w[i].prc)) {
            n = 0; /* the store is in trouble: the pass stops, the rest is given back */
            break;
        }
        nblob += w[i].prc == 0 && w[i].need_blob;
    }
    struct prep_job j = {.s = s, .w = w, .n = n, .next = 0};
    pthread_mutex_init(&j.mu, NULL);
    pthread_t th[PREPARE_THREADS - 1];
    int nth = 0;
    for (int t = 0; t < PREPARE_THREADS - 1 && t < nblob - 1; t++)
        if (pthread_create(&th[nth], NULL, prepare_worker, &j) == 0)
            nth++; /* a thread that cannot start leaves its share to this one */
    prepare_worker(&j);
    for (int t = 0; t < nth; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_destroy(&j.mu);
}

static void prefix_item(struct gp_err *e, const struct work *w)
{
    gp_err_prefix(e, "indexing profile %lld (%s)", (long long)w->it.profile_id,
                  w->prof.blob_key ? w->prof.blob_key : "?");
}

/* Adds the held items' parsed profiles in one index batch (falling back to one by one to
 * isolate a failure; with abort set, adds nothing), records every outcome in one metadata
 * transaction, gives back the items a fatal error left unfinished and empties pd. */
static int flush(struct coord_store *s, struct indexer_pending *pd, int abort, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    struct work *w = pd->w;
    size_t n = pd->n, k = 0;
    int rc = 0;
    const struct index_profile_meta **ms = NULL;
    const struct gp_profile **ps = NULL;
    size_t *idx = NULL;
    if (abort || !n)
        goto out;
    ms = malloc(n * sizeof(*ms));
    ps = malloc(n * sizeof(*ps));
    idx = malloc(n * sizeof(*idx));
    if (!ms || !ps || !idx) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (w[i].profile && !w[i].indexed && !w[i].failed) {
            ms[k] = &w[i].m;
            ps[k] = w[i].profile;
            idx[k++] = i;
        }
    if (k) {
        struct gp_err e = {0};
        if (index_add_batch(s->index, ms, ps, k, &e) == 0) {
            for (size_t j = 0; j < k; j++)
                w[idx[j]].indexed = INDEXED_OK;
        } else if (fatal(e.code)) {
            *err = e;
            rc = e.code;
            goto out;
        } else {
            for (size_t j = 0; j < k; j++) {
                struct gp_err e1 = {0};
                if (index_add(s->index, ms[j], ps[j], &e1) == 0) {
                    w[idx[j]].indexed = INDEXED_OK;
                    continue;
                }
                prefix_item(&e1, &w[idx[j]]);
                if (fatal(e1.code)) {
                    *err = e1;
                    rc = e1.code;
                    goto out;
                }
                record_failure(s, &w[idx[j]], &e1);
            }
        }
    }
out:
    for (size_t j = 0; j < k; j++)
        if (w[idx[j]].indexed == INDEXED_OK)
            bump(s, &p->stats.indexed);
    /* Whatever was added is durable in the index; record it even after a fatal error. */
    {
        struct gp_err e = {0};
        int frc = finish(s, w, n, &e);
        if (frc < 0 && rc == 0) {
            *err = e;
            rc = frc;
        }
        /* items a fatal error left unfinished are due again at once, not after the lease (if
         * the outcome could not be recorded, the added ones come back and are found indexed) */
        for (size_t i = 0; i < n; i++)
            if (!w[i].gone && !w[i].failed && (!w[i].indexed || frc < 0) &&
                meta_outbox_release(s->meta, w[i].it.id, &e) < 0)
                gp_warn("indexer: %s", e.msg);
    }
    for (size_t i = 0; i < n; i++) {
        gp_profile_free(w[i].profile);
        meta_profile_clear(&w[i].prof);
    }
    pd->n = 0;
    pd->rows = 0;
    free(ms);
    free(ps);
    free(idx);
    return rc;
}

static struct indexer_pending *pending(struct coord_store *s)
{
    struct coord_store_priv *p = s->priv;
    if (!p->pend)
        p->pend = calloc(1, sizeof(*p->pend));
    return p->pend;
}

/* One drain: claims up to max items (0 = until the outbox has none due), prepares them and adds
 * them in batches as the index engine asks (index_batch_policy). linger: items that do not fill
 * a batch stay held for the next pass until the engine's batch time, *wait_ms saying when they
 * are due (-1: none held); else everything is added before returning. */
static int indexer_pass(struct coord_store *s, size_t max, int linger, size_t *processed,
                        int *wait_ms, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    size_t done = 0, brows;
    int bms, rc = 0;
    index_batch_policy(s->index, &brows, &bms);
    if (wait_ms)
        *wait_ms = -1;
    pthread_mutex_lock(&p->run_mu);
    struct indexer_pending *pd = pending(s);
    if (!pd) {
        pthread_mutex_unlock(&p->run_mu);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    while (!max || done < max) {
        struct meta_outbox_item items[BATCH];
        int want = BATCH;
        if (max && max - done < (size_t)want)
            want = (int)(max - done);
        /* claimed, so another coordinator's indexer on the same store skips these items */
        int n = meta_outbox_claim(s->meta, (int64_t)time(NULL), CLAIM_LEASE_S, items, want, err);
        if (n <= 0) {
            rc = n;
            break;
        }
        if (pd->n + (size_t)n > pd->cap) {
            size_t cap = pd->cap ? pd->cap * 2 : 64;
            while (cap < pd->n + (size_t)n)
                cap *= 2;
            struct work *nw = realloc(pd->w, cap * sizeof(*nw));
            if (!nw) {
                struct gp_err e = {0};
                for (int i = 0; i < n; i++)
                    meta_outbox_release(s->meta, items[i].id, &e);
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            pd->w = nw;
            pd->cap = cap;
        }
        /* one round trip for "indexed before a crash, outbox row not removed" */
        int64_t ids[BATCH];
        int found[BATCH] = {0};
        for (int i = 0; i < n; i++)
            ids[i] = items[i].profile_id;
        struct gp_err he = {0};
        int hrc = index_has_many(s->index, ids, (size_t)n, found, &he);
        if (!pd->n)
            pd->first_ms = mono_ms();
        struct work *w = pd->w + pd->n;
        memset(w, 0, (size_t)n * sizeof(*w));
        for (int i = 0; i < n; i++) {
            w[i].it = items[i];
            w[i].prefound = hrc == 0 && found[i];
        }
        pd->n += (size_t)n;
        done += (size_t)n;
        if (hrc < 0 && fatal(hrc)) {
            gp_err_prefix(&he, "indexer");
            *err = he;
            rc = hrc;
            break;
        }
        if (hrc < 0) /* only an optimisation: adding is idempotent */
            gp_warn("indexer: %s", he.msg);
        prepare_all(s, w, n);
        for (int i = 0; i < n; i++) {
            struct gp_err e = w[i].perr;
            if (w[i].prc < 0) {
                prefix_item(&e, &w[i]);
                if (fatal(e.code)) {
                    *err = e;
                    rc = e.code;
                    break;
                }
                record_failure(s, &w[i], &e);
            }
            if (w[i].profile)
                pd->rows += gp_profile_nstacks(w[i].profile);
        }
        if (rc < 0)
            break;
        if (!brows || pd->rows >= brows || pd->n >= HELD_MAX)
            if ((rc = flush(s, pd, 0, err)) < 0)
                break;
    }
    if (rc < 0 && pd->n) {
        struct gp_err e = {0};
        if (flush(s, pd, 1, &e) < 0)
            gp_warn("indexer: %s", e.msg);
    } else if (pd->n) {
        int64_t age = mono_ms() - pd->first_ms;
        if (!linger || age >= bms)
            rc = flush(s, pd, 0, err);
        else if (wait_ms)
            *wait_ms = (int)(bms - age);
    }
    pthread_mutex_unlock(&p->run_mu);
    if (processed)
        *processed = done;
    return rc;
}

int coord_indexer_run(struct coord_store *s, size_t max, size_t *processed, struct gp_err *err)
{
    return indexer_pass(s, max, 0, processed, NULL, err);
}

int coord_indexer_pass(struct coord_store *s, size_t max, size_t *processed, int *wait_ms,
                       struct gp_err *err)
{
    return indexer_pass(s, max, 1, processed, wait_ms, err);
}

int coord_indexer_flush(struct coord_store *s, struct gp_err *err)
{
    struct coord_store_priv *p = s->priv;
    int rc = 0;
    pthread_mutex_lock(&p->run_mu);
    if (p->pend && p->pend->n)
        rc = flush(s, p->pend, 0, err);
    pthread_mutex_unlock(&p->run_mu);
    return rc;
}

size_t coord_indexer_held(struct coord_store *s)
{
    struct coord_store_priv *p = s->priv;
    pthread_mutex_lock(&p->run_mu);
    size_t n = p->pend ? p->pend->n : 0;
    pthread_mutex_unlock(&p->run_mu);
    return n;
}

void coord_indexer_free(struct coord_store *s)
{
    struct coord_store_priv *p = s->priv;
    if (!p->pend)
        return;
    free(p->pend->w);
    free(p->pend);
    p->pend = NULL;
}
