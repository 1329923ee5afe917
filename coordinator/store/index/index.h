/* index.h — the sample index: per-profile stack counts stored so that flame graphs, time ranges
 * and per-host series over any time range are answered without reading raw blobs.
 *
 * Seams
 *   An engine implements struct sample_index_ops in coordinator/backends/<engine>/
 *   (backends/sqlite/index.c; ClickHouse later) and adds one line to the engine table
 *   (store/engines.c); tests/unit/test_index.c runs its conformance suite against the engine
 *   GPROF_TEST_INDEX names. Location: "sqlite:<path>".
 *
 * Model
 *   A stack is (container, comm, frames root→leaf); its identity is a 64-bit hash (the stack
 *   dictionary maps hash → stack). Every profile contributes its counts to the minute of its
 *   start_time (a 60 s profile lands in one minute bucket), for its service and hostname.
 *   Queries are on whole minutes: a sample at minute m is in [start, end) when
 *   floor60(start) <= m < end. Counts are exact (no sampling, no cut-off per slice); backends are
 *   free to keep coarser rollups (SQLite: hour and day, per host and for all hosts) as long as
 *   every answer equals the one computed from minute data alone (INDEX_RES_MINUTE).
 *
 * Idempotency: add() with a profile_id already indexed changes nothing and returns 0.
 * Threads: a struct sample_index is safe to share between threads.
 * Errors: 0 or negative errno; -ENOENT where documented for "no data".
 */
#ifndef GPROF_COORD_STORE_INDEX_H
#define GPROF_COORD_STORE_INDEX_H

#include "coordinator/store/engine_options.h"
#include "common/err.h"
#include "common/profile.h"

#include <stddef.h>
#include <stdint.h>

struct index_strlist {
    const char *const *v;
    size_t n;
};

/* What a predicate looks at. The index stores host, container and comm; instance type and
 * Kubernetes object are not indexed and compare as "" (as RQL does for an unknown field). */
enum index_field {
    INDEX_FIELD_HOST = 0,
    INDEX_FIELD_CONTAINER,
    INDEX_FIELD_COMM, /* process name */
    INDEX_FIELD_INSTANCE,
    INDEX_FIELD_K8S,
    INDEX_NFIELDS
};

enum index_op {
    INDEX_OP_AND,    /* every kid holds (no kids: true) */
    INDEX_OP_OR,     /* some kid holds (no kids: true, as RQL's empty $or) */
    INDEX_OP_IN,     /* field equals one of vals (none: false) */
    INDEX_OP_NOT_IN, /* field equals none of vals (none: true) */
    INDEX_OP_LIKE,   /* field matches vals[0]: % any run, _ any one byte, case-sensitive */
};

/* A predicate tree: whatever an RQL filter can say. Comparisons are exact and byte-wise. */
struct index_pred {
    enum index_op op;
    enum index_field field; /* IN, NOT_IN, LIKE */
    const char *const *vals;
    size_t nvals;
    const struct index_pred *const *kids; /* AND, OR */
    size_t nkids;
};

/* A stack passes when every non-empty include list contains its value, no exclude list does
 * (exact, case-sensitive matches) and `where` (when set) holds for (host, container, comm).
 * An empty filter (or NULL) passes everything. */
struct index_filter {
    struct index_strlist host_in, host_out;
    struct index_strlist container_in, container_out;
    struct index_strlist comm_in, comm_out; /* process name */
    const struct index_pred *where;         /* NULL = no further condition */
};

enum index_resolution {
    INDEX_RES_AUTO = 0, /* coarsest rollups that fit the range exactly */
    INDEX_RES_MINUTE,   /* minute data only (reference answer; slower) */
};

struct index_query {
    const char *service;
    int64_t start, end;                /* Unix seconds, [start, end) */
    const struct index_filter *filter; /* may be NULL */
    size_t max_stacks; /* 0 = all; else keep the heaviest max_stacks stacks (ties: lower hash) */
    enum index_resolution resolution;
};

struct index_query_stats {
    uint64_t total_samples; /* before truncation, after filters */
    size_t total_stacks;    /* distinct stacks before truncation */
    size_t returned_stacks;
    size_t rows_read;                              /* backend rows / buckets read */
    int buckets_minute, buckets_hour, buckets_day; /* slices answered from each resolution */
};

/* What add() needs to know about a profile besides its stacks. */
struct index_profile_meta {
    int64_t profile_id; /* the metadata row id; idempotency key */
    const char *service;
    const char *hostname;
    int64_t start_time, end_time; /* Unix seconds */
    double cpu_avg, mem_avg;      /* -1 = unknown */
};

/* One point of a series: per (bucket, host). cpu/mem are averages over the host's profiles in
 * the bucket that reported them (-1 when none did). */
struct index_series_point {
    int64_t bucket; /* bucket start, Unix seconds */
    const char *hostname;
    uint64_t samples;
    uint32_t profiles;
    double cpu_avg, cpu_max, mem_avg, mem_max;
};
typedef int (*index_series_cb)(const struct index_series_point *pt, void *ctx);

struct index_service_info {
    const char *service;
    int64_t first, last; /* start_time of the oldest and newest indexed profile */
    uint64_t profiles;
};
typedef int (*index_service_cb)(const struct index_service_info *s, void *ctx);

/* Distinct values of hostname / container / comm with their sample counts (filter lists). */
enum index_dimension { INDEX_DIM_HOST = 0, INDEX_DIM_CONTAINER, INDEX_DIM_COMM };
typedef int (*index_value_cb)(const char *value, uint64_t samples, void *ctx);

/* version 2: flags, has_many, batch_policy */
#define SAMPLE_INDEX_OPS_VERSION 2

/* Only this process writes the engine's data (the embedded SQLite index): index_generation()
 * can then say when answers read from it stay valid. */
#define SAMPLE_INDEX_EXCLUSIVE (1u << 0)

struct sample_index_ops {
    int version; /* SAMPLE_INDEX_OPS_VERSION; members added later are read only when it says so */
    int (*open)(const struct store_engine_options *opts, void **impl, struct gp_err *err);
    void (*close)(void *impl);
    /* Adds every stack of p (app_idx is ignored) under m; idempotent per m->profile_id. */
    int (*add)(void *impl, const struct index_profile_meta *m, const struct gp_profile *p,
               struct gp_err *err);
    /* Whether profile_id has been added (1) or not (0); negative on error. */
    int (*has)(void *impl, int64_t profile_id, struct gp_err *err);
    /* Merges matching stacks into out (an empty profile from gp_profile_new). */
    int (*query)(void *impl, const struct index_query *q, struct gp_profile *out,
                 struct index_query_stats *stats, struct gp_err *err);
    /* First and last profile start_time of a service (host filter lists honoured, others
     * ignored); -ENOENT when none. */
    int (*time_range)(void *impl, const char *service, const struct index_filter *f, int64_t *first,
                      int64_t *last, struct gp_err *err);
    /* Points for profiles with start_time in [start, end), bucket_secs wide (>= 60), ordered by
     * bucket then hostname; host filter lists honoured. */
    int (*series)(void *impl, const char *service, int64_t start, int64_t end, int64_t bucket_secs,
                  const struct index_filter *f, index_series_cb cb, void *ctx, struct gp_err *err);
    int (*services)(void *impl, index_service_cb cb, void *ctx, struct gp_err *err);
    /* Distinct values of dim over [start, end), heaviest first. */
    int (*values)(void *impl, const char *service, int64_t start, int64_t end,
                  enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err);
    /* Deletes all data of profiles that started before `before` (whole hour/day rollups only
     * when they end at or before it); *deleted (may be NULL) = profiles removed. */
    int (*retention)(void *impl, int64_t before, int64_t *deleted, struct gp_err *err);
    /* Optional: *ok = 1 when the backend reports no corruption. */
    int (*check)(void *impl, int *ok, char *msg, size_t msgsz, struct gp_err *err);
    /* Optional (NULL = add() one by one): adds n profiles in one durable transaction, each
     * idempotent as in add(); all or nothing. Amortises the commit (fsync) over a batch. */
    int (*add_batch)(void *impl, const struct index_profile_meta *const *m,
                     const struct gp_profile *const *p, size_t n, struct gp_err *err);
    /* ---- version 2 ---- */
    unsigned flags; /* SAMPLE_INDEX_* */
    /* Optional (NULL = has() one by one): found[i] = 1 when ids[i] has been added, else 0. */
    int (*has_many)(void *impl, const int64_t *ids, size_t n, int *found, struct gp_err *err);
    /* Optional (NULL = 0 and 0): how the indexer batches add_batch() for this engine: profiles
     * are held across outbox claims until they hold *rows stacks or the oldest has waited *ms
     * milliseconds, then added in one add_batch() (an engine where each insert is costly, such
     * as ClickHouse). 0 rows = add each claim at once. */
    void (*batch_policy)(void *impl, size_t *rows, int *ms);
};

struct sample_index;

/* spec = "<engine>:<location>" (store/engines.h), e.g.
 * "sqlite:/var/lib/gprof-coordinator/index.db". */
int sample_index_open(const char *spec, struct sample_index **out, struct gp_err *err);
void sample_index_close(struct sample_index *si);

int index_add(struct sample_index *si, const struct index_profile_meta *m,
              const struct gp_profile *p, struct gp_err *err);
/* n profiles at once (one commit when the backend supports it; else one by one). */
int index_add_batch(struct sample_index *si, const struct index_profile_meta *const *m,
                    const struct gp_profile *const *p, size_t n, struct gp_err *err);
int index_has(struct sample_index *si, int64_t profile_id, struct gp_err *err);
/* index_has for ids[0..n): found[i] = 1 when added (one round trip when the engine can). */
int index_has_many(struct sample_index *si, const int64_t *ids, size_t n, int *found,
                   struct gp_err *err);
/* The engine's batching wish (ops batch_policy); 0 and 0 when it has none. */
void index_batch_policy(struct sample_index *si, size_t *rows, int *ms);
/* stats may be NULL. */
int index_query(struct sample_index *si, const struct index_query *q, struct gp_profile *out,
                struct index_query_stats *stats, struct gp_err *err);
int index_time_range(struct sample_index *si, const char *service, const struct index_filter *f,
                     int64_t *first, int64_t *last, struct gp_err *err);
int index_series(struct sample_index *si, const char *service, int64_t start, int64_t end,
                 int64_t bucket_secs, const struct index_filter *f, index_series_cb cb, void *ctx,
                 struct gp_err *err);
int index_services(struct sample_index *si, index_service_cb cb, void *ctx, struct gp_err *err);
int index_values(struct sample_index *si, const char *service, int64_t start, int64_t end,
                 enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err);
int index_retention(struct sample_index *si, int64_t before, int64_t *deleted, struct gp_err *err);
int index_check(struct sample_index *si, int *ok, char *msg, size_t msgsz, struct gp_err *err);
/* A number that changes whenever this process changes the index (add, add_batch, retention);
 * read before a query and again after it, equal non-zero values mean the answer reflects the
 * data as it still is. 0 = unknown: a write is in progress, or other processes may write the
 * same data (engines without SAMPLE_INDEX_EXCLUSIVE). */
uint64_t index_generation(struct sample_index *si);

/* 1 when a stack with these attributes passes f (NULL passes). Shared by backends. */
int index_filter_match(const struct index_filter *f, const char *host, const char *container,
                       const char *comm);
int index_filter_has_host(const struct index_filter *f);

/* The whole filter as one predicate: AND of its non-empty lists and `where`. Returns NULL
 * when f passes everything; the tree lives in t (and borrows from f). */
struct index_filter_tree {
    struct index_pred and, leaves[6];
    const struct index_pred *kids[7];
};
const struct index_pred *index_filter_tree(const struct index_filter *f,
                                           struct index_filter_tree *t);
/* p on attrs (indexed by enum index_field; NULL compares as ""). NULL p holds. */
int index_pred_match(const struct index_pred *p, const char *const attrs[INDEX_NFIELDS]);
/* 1 when p looks at field f anywhere. */
int index_pred_uses(const struct index_pred *p, enum index_field f);
/* SQL LIKE without escapes, case-sensitive and byte-wise: % any run, _ any one byte. */
int index_like(const char *pat, const char *s);

#endif
