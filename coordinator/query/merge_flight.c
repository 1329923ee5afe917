/* merge_flight.c — a short list of merges under way or just finished, keyed by query text and
 * index generation, under one mutex; waiters sleep on one condition variable (merges are few and
 * take tens to hundreds of ms, so a broadcast to every waiter costs nothing that matters). */
#include "coordinator/query/merge_flight.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct merge_ref {
    struct merge_ref *next; /* in the list, most recent first */
    char *key;
    uint64_t gen;
    bool done, listed;
    int rc;
    struct gp_err err;
    struct gp_profile *prof;
    int64_t done_ms; /* monotonic */
    unsigned refs;   /* callers holding it */
};

struct merge_flight {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct merge_ref *head;
    size_t keep;
    int64_t keep_ms;
    uint64_t merges, shared;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct merge_flight *merge_flight_new(size_t keep, int64_t keep_ms)
{
    struct merge_flight *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->keep = keep;
    f->keep_ms = keep_ms;
    return f;
}

static void ref_free(struct merge_ref *e)
{
    gp_profile_free(e->prof);
    free(e->key);
    free(e);
}

/* Takes e off the list (f->mu held); frees it when no caller holds it. */
static void unlist(struct merge_flight *f, struct merge_ref *e)
{
    for (struct merge_ref **p = &f->head; *p; p = &(*p)->next) {
        if (*p == e) {
            *p = e->next;
            break;
        }
    }
    e->listed = false;
    e->next = NULL;
    if (!e->refs)
        ref_free(e);
}

/* Drops finished entries that are stale (another generation, older than keep_ms, failed) or
 * beyond the keep newest (f->mu held). */
static void sweep(struct merge_flight *f, uint64_t gen, int64_t now)
{
    size_t kept = 0;
    struct merge_ref *e = f->head;
    while (e) {
        struct merge_ref *next = e->next;
        if (e->done) {
            bool stale = e->rc || (gen && e->gen != gen) || now - e->done_ms > f->keep_ms ||
                         kept >= f->keep;
            if (stale)
                unlist(f, e);
            else
                kept++;
        }
        e = next;
    }
}

void merge_flight_free(struct merge_flight *f)
{
    if (!f)
        return;
    while (f->head) {
        struct merge_ref *e = f->head;
        f->head = e->next;
        ref_free(e); /* no caller holds one once the server has stopped */
    }
    pthread_cond_destroy(&f->cv);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Runs fn for e (not under the mutex) and makes the shared profile read-only. */
static void run(struct merge_ref *e, merge_fn fn, void *ctx)
{
    e->rc = fn(ctx, &e->prof, &e->err);
    if (e->rc == 0 && e->prof && !gp_profile_header(e->prof)) {
        e->rc = gp_err_set(&e->err, -ENOMEM, "out of memory for the profile's header");
    }
}

int merge_flight_get(struct merge_flight *f, const char *key, uint64_t gen, merge_fn fn, void *ctx,
                     struct merge_ref **ref, struct gp_err *err)
{
    *ref = NULL;
    struct merge_ref *e = calloc(1, sizeof(*e));
    if (!e) {
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    e->refs = 1;
    if (!f || !gen) { /* private: nothing to share with */
        run(e, fn, ctx);
        if (e->rc) {
            int rc = e->rc;
            *err = e->err;
            ref_free(e);
            return rc;
        }
        if (f) {
            pthread_mutex_lock(&f->mu);
            f->merges++;
            pthread_mutex_unlock(&f->mu);
        }
        *ref = e;
        return 0;
    }
    e->key = strdup(key);
    if (!e->key) {
        free(e);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    e->gen = gen;
    pthread_mutex_lock(&f->mu);
    sweep(f, gen, now_ms());
    struct merge_ref *have = NULL;
    for (struct merge_ref *x = f->head; x && !have; x = x->next)
        if (x->gen == gen && strcmp(x->key, key) == 0)
            have = x;
    if (have) {
        ref_free(e);
        have->refs++;
        f->shared++;
        while (!have->done)
            pthread_cond_wait(&f->cv, &f->mu);
        int rc = have->rc;
        if (rc) {
            *err = have->err;
            if (--have->refs == 0 && !have->listed)
                ref_free(have);
        } else {
            *ref = have;
        }
        pthread_mutex_unlock(&f->mu);
        return rc;
    }
    e->listed = true;
    e->next = f->head;
    f->head = e;
    f->merges++;
    pthread_mutex_unlock(&f->mu);

    run(e, fn, ctx);

    pthread_mutex_lock(&f->mu);
    e->done = true;
    e->done_ms = now_ms();
    pthread_cond_broadcast(&f->cv);
    int rc = e->rc;
    if (rc) {
        *err = e->err;
        e->refs--;
        if (e->listed)
            unlist(f, e); /* frees it unless waiters hold it */
        else if (!e->refs)
            ref_free(e);
    } else {
        *ref = e;
        sweep(f, gen, e->done_ms);
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

struct gp_profile *merge_ref_profile(struct merge_ref *ref)
{
    return ref ? ref->prof : NULL;
}

void merge_flight_release(struct merge_flight *f, struct merge_ref *ref)
{
    if (!ref)
        return;
    if (!f || !ref->key) { /* private */
        ref_free(ref);
        return;
    }
    pthread_mutex_lock(&f->mu);
    if (--ref->refs == 0 && !ref->listed)
        ref_free(ref);
    pthread_mutex_unlock(&f->mu);
}

void merge_flight_stats(struct merge_flight *f, uint64_t *merges, uint64_t *shared)
{
    *merges = *shared = 0;
    if (!f)
        return;
    pthread_mutex_lock(&f->mu);
    *merges = f->merges;
    *shared = f->shared;
    pthread_mutex_unlock(&f->mu);
}
