/* store_internal.h — the private half of struct coord_store shared by store.c (lifecycle and
 * background thread), indexer.c (outbox drain) and retention.c. Not a public API. */
#ifndef GPROF_COORD_STORE_STORE_INTERNAL_H
#define GPROF_COORD_STORE_STORE_INTERNAL_H

#include "coordinator/store/store.h"

#include <pthread.h>

struct coord_store_priv {
    struct coord_store_config cfg; /* strings below are owned copies */
    char *state_dir, *meta_spec, *blobs_spec, *index_spec;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cond;
    pthread_t thread;
    int running, stop, kicked;
    int64_t last_retention; /* Unix seconds of the last retention pass */
    struct coord_index_stats stats;
    pthread_mutex_t run_mu;       /* one outbox drain at a time (thread, tests, CLI) */
    struct indexer_pending *pend; /* indexer.c: items held for the next batch (under run_mu) */

    /* Group commit of ingests (ingest.c): waiters queue their rows, one leader commits them
     * all in one transaction, so concurrent uploads share one fsync. */
    pthread_mutex_t gc_mu;
    pthread_cond_t gc_cond;
    struct ingest_waiter *gc_head, *gc_tail;
    int gc_leader;
    /* The ids of the services the leader looked up (services are never deleted, ids never
     * change): a batch of known services costs no look-up. Only the leader touches it. */
    struct {
        char name[META_NAME_MAX];
        int64_t id;
    } gc_services[16];
    int gc_nservices;
};

/* indexer.c, for the background thread: coord_indexer_run that may hold items across passes
 * for the index engine's batch; *wait_ms = when the held ones are due (-1: none held). */
int coord_indexer_pass(struct coord_store *s, size_t max, size_t *processed, int *wait_ms,
                       struct gp_err *err);
/* Adds the held items now (the thread calls it when it stops). */
int coord_indexer_flush(struct coord_store *s, struct gp_err *err);
/* Items the indexer holds for its next batch now (tests wait on it). */
size_t coord_indexer_held(struct coord_store *s);
/* Frees what the indexer keeps between passes (after the thread stopped). */
void coord_indexer_free(struct coord_store *s);

struct ingest_waiter {
    struct meta_profile row; /* borrowed strings, valid while the waiter blocks */
    const char *service;
    int64_t id;
    int rc, done;
    int parked; /* the blob is still in the upload spool: add the outbox row parked */
    int dup;    /* the upload id was stored already (by a concurrent retry): w->id is that one */
    struct gp_err err;
    struct ingest_waiter *next;
};

#endif
