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
    pthread_mutex_t run_mu; /* one outbox drain at a time (thread, tests, CLI) */
};

#endif
