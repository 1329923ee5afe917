/* store.h — struct coord_store: the coordinator's three storage backends (metadata, blobs,
 * sample index) chosen by configuration, plus the background indexer and retention tasks.
 *
 * Engines are picked by the name before the colon of each spec ("sqlite:", "fs:", later
 * "postgres:", "s3:", "clickhouse:"): adding one is a folder coordinator/backends/<engine>/, one
 * line in the engine table (store/engines.c) and one CMake option; this file never changes.
 *
 * Threads: coord_store_open/close from one thread; everything else (ingest, queries through
 * store->meta / store->blobs / store->index) from any thread. The background thread started by
 * coord_store_start drains the indexing outbox and applies retention; stop it before close.
 */
#ifndef GPROF_COORD_STORE_STORE_H
#define GPROF_COORD_STORE_STORE_H

#include "common/err.h"
#include "coordinator/store/blob/blob.h"
#include "coordinator/store/index/index.h"
#include "coordinator/store/meta/meta.h"
#include "coordinator/store/spool.h"

#include <stddef.h>
#include <stdint.h>

struct coord_store_config {
    const char *state_dir; /* NULL = "/var/lib/gprof-coordinator"; created (0750) when missing */
    const char *meta;      /* NULL = "sqlite:<state_dir>/meta.db" */
    const char *blobs;     /* NULL = "fs:<state_dir>/profiles" */
    const char *index;     /* NULL = "sqlite:<state_dir>/index.db" */
    /* Default retention when the "retention_days" setting is unset; 0 = 30 days, < 0 = keep
     * forever. The setting (meta_setting_set) wins over this value. */
    int retention_days;
    /* Background loop period in milliseconds (outbox poll when idle); 0 = 500 ms. */
    int indexer_poll_ms;
    /* Retention pass period in seconds; 0 = 3600. */
    int retention_interval_s;
    /* Largest blob the indexer reads (compressed) and decompressed text it parses;
     * 0 = 64 MiB / 256 MiB. */
    size_t max_blob_bytes, max_text_bytes;
    /* Upload spool (store/spool.h): NULL = none (uploads put their blob before the answer);
     * else the directory where an upload's body waits, durable, for its put by spool_uploaders
     * threads (0 = 4), at most spool_max_bytes of bodies (0 = 1 GiB). */
    const char *spool_dir;
    int spool_uploaders;
    uint64_t spool_max_bytes;
};

struct coord_store_priv;

struct coord_store {
    struct meta_db *meta;
    struct blob_store *blobs;
    struct sample_index *index;
    struct coord_spool *spool;     /* NULL = no upload spool */
    struct coord_store_priv *priv; /* background thread, config copy */
};

/* Opens (creating when needed) all three backends. On error nothing stays open. */
int coord_store_open(const struct coord_store_config *cfg, struct coord_store **out,
                     struct gp_err *err);
/* Stops the background thread if running and closes every backend. NULL is a no-op. */
void coord_store_close(struct coord_store *s);

/* Starts the background thread (indexer + periodic retention). -EALREADY when running. */
int coord_store_start(struct coord_store *s, struct gp_err *err);
/* Asks the thread to stop and joins it (an item being indexed finishes first). */
void coord_store_stop(struct coord_store *s);
/* Wakes the indexer now (ingest calls this after each upload). */
void coord_store_kick(struct coord_store *s);

struct coord_index_stats {
    uint64_t indexed; /* profiles added to the index */
    uint64_t skipped; /* dropped by downsampling (row marked indexed = 2) */
    uint64_t failed;  /* attempts that failed (retried later with backoff) */
    uint64_t already; /* outbox items whose profile the index already had (crash replay) */
};
/* Drains up to max outbox items (0 = until empty) in the calling thread; *processed (may be
 * NULL) = items handled. Used by the background thread, tests and the CLI. */
int coord_indexer_run(struct coord_store *s, size_t max, size_t *processed, struct gp_err *err);
/* Totals since open. */
void coord_indexer_stats(struct coord_store *s, struct coord_index_stats *out);

struct coord_retention_stats {
    int64_t cutoff;         /* Unix seconds; data starting before it was deleted */
    int64_t profiles;       /* metadata rows + blobs removed */
    int64_t index_profiles; /* profiles removed from the index */
    int64_t adhoc;          /* ad hoc rows removed (their blobs too) */
    int64_t orphans;        /* unreferenced upload blobs swept from expired date directories */
    int64_t perfspect;      /* PerfSpect reports (perfspect/<service>/<host>/) that ended before */
};
/* Applies retention now: the "retention_days" setting (else cfg default) relative to now.
 * retention_days < 0 deletes nothing. stats may be NULL. */
int coord_retention_run(struct coord_store *s, int64_t now, struct coord_retention_stats *stats,
                        struct gp_err *err);

/* Effective retention in days (setting, else config default). */
int coord_store_retention_days(struct coord_store *s, int64_t *days, struct gp_err *err);

#endif
