/* backends/sqlite/index.c — the embedded sample index's vtable, retention and integrity check.
 * A stack dictionary (64-bit hash -> container, comm, frames) plus one row per (service,
 * resolution, bucket, host) holding that bucket's (stack id, count) pairs as a packed sorted
 * vector (index/counts.h): schema and connections in index_db.c. Every profile updates its
 * minute, hour and day buckets for its host and for "all hosts" (host 0), in one transaction
 * together with its row in `profiles` (the idempotency marker and the metrics series):
 * index_ingest.c. A query answers whole days from day rows, whole hours from hour rows and the
 * edges from minute rows: index_query.c; time ranges, series, services and values:
 * index_views.c. */
#include "coordinator/backends/sqlite/index_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- retention, check ------------------------------------------------------------------- */

static int six_retention(void *impl, int64_t before, int64_t *deleted, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    /* Whole days only, so that a profile, its minute, hour and day buckets go together. */
    int64_t cutoff = index_floor_to(before, 86400);
    pthread_mutex_lock(&x->wmu);
    if ((rc = sq_begin(c, err)) < 0)
        goto out;
    static const char *const del[] = {
            "DELETE FROM profiles WHERE minute < ?1",
            "DELETE FROM buckets WHERE res = 0 AND ts < ?1",
            "DELETE FROM buckets WHERE res = 1 AND ts < ?1",
            "DELETE FROM buckets WHERE res = 2 AND ts < ?1",
            /* A stack last seen on day d is only referenced by buckets that end by d + 1. */
            "DELETE FROM stacks WHERE (last_day + 1) * 86400 <= ?1",
    };
    for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
        sqlite3_stmt *st;
        if ((rc = sq_prepare(c, del[i], &st, err)) < 0)
            break;
        sqlite3_bind_int64(st, 1, cutoff);
        int s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE) {
            rc = sq_error(c, s, err, "index retention");
            break;
        }
        if (i == 0 && deleted)
            *deleted = sqlite3_changes64(c->db);
    }
    if (rc < 0)
        sq_rollback(c);
    else
        rc = sq_commit(c, err);
    index_stack_cache_clear(&x->cache);
out:
    pthread_mutex_unlock(&x->wmu);
    return rc;
}

static int six_check(void *impl, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    return rc < 0 ? rc : sq_integrity_check(c, ok, msg, msgsz, err);
}

const struct sample_index_ops sample_index_sqlite_ops = {
        .version = SAMPLE_INDEX_OPS_VERSION,
        .open = six_open,
        .close = six_close,
        .add = six_add,
        .has = six_has,
        .query = six_query,
        .time_range = six_time_range,
        .series = six_series,
        .services = six_services,
        .values = six_values,
        .retention = six_retention,
        .check = six_check,
        .add_batch = six_add_batch,
        .flags = SAMPLE_INDEX_EXCLUSIVE, /* one coordinator per embedded index */
};
