/* backends/sqlite/index_ingest.c — adding profiles to the SQLite sample index: stack ids (with
 * the writer's cache of hash -> id), read-merge-write of the minute, hour and day buckets for the
 * host and for all hosts, and the profile row, in one durable transaction per batch. */
#include "coordinator/backends/sqlite/index_internal.h"
#include "coordinator/index/counts.h"
#include "coordinator/index/stack_id.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define res_span index_rollup_span

struct add_ctx {
    struct six *x;
    struct sq_conn *c;
    int64_t day;
    struct count_vec vec;
    struct strbuf frames;
    struct index_str_hashes sh;
    uint64_t samples;
    int rc;
    struct gp_err *err;
};

static int stack_id_for(struct add_ctx *a, const struct gp_stack_view *s, int64_t *id)
{
    uint64_t h = index_stack_hash(&a->sh, s);
    struct index_stack_cache_ent *ce = index_stack_cache_find(&a->x->cache, h);
    sqlite3_stmt *st;
    int rc;
    if (ce && ce->last_day >= a->day) {
        *id = ce->id;
        return 0;
    }
    if (ce) {
        /* Known stack seen again on a newer day: bump last_day for retention. */
        if ((rc = sq_prepare(a->c, "UPDATE stacks SET last_day = ? WHERE id = ? AND last_day < ?",
                             &st, a->err)) < 0)
            return rc;
        sqlite3_bind_int64(st, 1, a->day);
        sqlite3_bind_int64(st, 2, ce->id);
        sqlite3_bind_int64(st, 3, a->day);
        int s2 = sqlite3_step(st);
        sqlite3_reset(st);
        if (s2 != SQLITE_DONE)
            return sq_error(a->c, s2, a->err, "index update stack");
        ce->last_day = a->day;
        *id = ce->id;
        return 0;
    }
    if ((rc = sq_prepare(a->c, "SELECT id, last_day FROM stacks WHERE hash = ?", &st, a->err)) < 0)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)h);
    int s2 = sqlite3_step(st);
    if (s2 == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        int64_t last = sqlite3_column_int64(st, 1);
        sqlite3_reset(st);
        index_stack_cache_put(&a->x->cache, h, *id, last);
        if (last < a->day)
            return stack_id_for(a, s, id); /* takes the update path above */
        return 0;
    }
    sqlite3_reset(st);
    if (s2 != SQLITE_DONE)
        return sq_error(a->c, s2, a->err, "index lookup stack");
    sb_reset(&a->frames);
    for (uint32_t i = 0; i < s->nframes; i++)
        sb_append(&a->frames, s->frames[i], strlen(s->frames[i]) + 1);
    if (a->frames.oom)
        return gp_err_set(a->err, -ENOMEM, "out of memory");
    if ((rc = sq_prepare(a->c,
                         "INSERT INTO stacks (hash, container, comm, nframes, frames, last_day) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         &st, a->err)) < 0)
        return rc;
    sqlite3_bind_int64(st, 1, (int64_t)h);
    sqlite3_bind_text(st, 2, s->container, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, s->comm, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, s->nframes);
    sqlite3_bind_blob(st, 5, a->frames.len ? a->frames.buf : "", (int)a->frames.len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, a->day);
    s2 = sqlite3_step(st);
    sqlite3_reset(st);
    if (s2 != SQLITE_DONE)
        return sq_error(a->c, s2, a->err, "index insert stack");
    *id = sqlite3_last_insert_rowid(a->c->db);
    index_stack_cache_put(&a->x->cache, h, *id, a->day);
    return 0;
}

static int add_stack_cb(const struct gp_stack_view *s, void *ctx)
{
    struct add_ctx *a = ctx;
    if (!s->count)
        return 0;
    int64_t id;
    int rc = stack_id_for(a, s, &id);
    if (rc < 0) {
        a->rc = rc;
        return 1;
    }
    if (count_vec_push(&a->vec, (uint64_t)id, s->count) < 0) {
        a->rc = gp_err_set(a->err, -ENOMEM, "out of memory");
        return 1;
    }
    a->samples += s->count;
    return 0;
}

/* bucket += vec (read, merge, write). */
static int bucket_merge(struct sq_conn *c, int64_t service_id, int res, int64_t host_id, int64_t ts,
                        const struct count_vec *vec, uint64_t samples, struct gp_err *err)
{
    sqlite3_stmt *st;
    int rc = sq_prepare(c,
                        "SELECT data, samples FROM buckets WHERE service_id = ? AND res = ? AND "
                        "host_id = ? AND ts = ?",
                        &st, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, service_id);
    sqlite3_bind_int(st, 2, res);
    sqlite3_bind_int64(st, 3, host_id);
    sqlite3_bind_int64(st, 4, ts);
    struct count_vec old = {0}, merged = {0};
    const struct count_vec *use = vec;
    uint64_t total = samples;
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        total += (uint64_t)sqlite3_column_int64(st, 1);
        rc = count_vec_decode(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                              &old);
        if (rc == 0)
            rc = count_vec_merge(&old, vec, &merged);
        use = &merged;
    } else if (s != SQLITE_DONE) {
        rc = sq_error(c, s, err, "index read bucket");
    }
    sqlite3_reset(st);
    if (rc < 0) {
        count_vec_free(&old);
        count_vec_free(&merged);
        return rc == -EINVAL   ? gp_err_set(err, -EIO, "index bucket is corrupt")
               : rc == -ENOMEM ? gp_err_set(err, -ENOMEM, "out of memory")
                               : rc;
    }
    unsigned char *enc = NULL;
    size_t elen = 0;
    if (count_vec_encode(use, &enc, &elen) < 0) {
        count_vec_free(&old);
        count_vec_free(&merged);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    rc = sq_prepare(c,
                    "INSERT INTO buckets (service_id, res, host_id, ts, samples, nstacks, data) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service_id, res, host_id, ts) DO "
                    "UPDATE SET samples = excluded.samples, nstacks = excluded.nstacks, "
                    "data = excluded.data",
                    &st, err);
    if (rc == 0) {
        sqlite3_bind_int64(st, 1, service_id);
        sqlite3_bind_int(st, 2, res);
        sqlite3_bind_int64(st, 3, host_id);
        sqlite3_bind_int64(st, 4, ts);
        sqlite3_bind_int64(st, 5, (int64_t)total);
        sqlite3_bind_int64(st, 6, (int64_t)use->n);
        sqlite3_bind_blob(st, 7, enc, (int)elen, SQLITE_STATIC);
        s = sqlite3_step(st);
        sqlite3_reset(st);
        if (s != SQLITE_DONE)
            rc = sq_error(c, s, err, "index write bucket");
    }
    free(enc);
    count_vec_free(&old);
    count_vec_free(&merged);
    return rc;
}

static int has_profile(struct sq_conn *c, int64_t profile_id, struct gp_err *err)
{
    sqlite3_stmt *st;
    int rc = sq_prepare(c, "SELECT 1 FROM profiles WHERE profile_id = ?", &st, err), found;
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, profile_id);
    int64_t one;
    rc = six_step_int(c, st, &one, &found, err);
    sqlite3_reset(st);
    return rc < 0 ? rc : found;
}

/* Adds one profile inside the caller's transaction (wmu held). */
static int add_locked(struct six *x, struct sq_conn *c, const struct index_profile_meta *m,
                      const struct gp_profile *p, struct gp_err *err)
{
    int rc = has_profile(c, m->profile_id, err);
    if (rc != 0)
        return rc < 0 ? rc : 0; /* already indexed: nothing to do */
    int64_t service_id, host_id;
    if ((rc = six_name_id(c, "services", m->service, 1, &service_id, err)) < 0 ||
        (rc = six_name_id(c, "hosts", m->hostname, 1, &host_id, err)) < 0)
        return rc;
    int64_t minute = index_floor_to(m->start_time, 60);
    struct add_ctx a = {.x = x, .c = c, .day = index_floor_to(minute, 86400) / 86400, .err = err};
    gp_profile_foreach(p, add_stack_cb, &a);
    index_str_hashes_free(&a.sh);
    if ((rc = a.rc) < 0) {
        count_vec_free(&a.vec);
        sb_free(&a.frames);
        return rc;
    }
    count_vec_normalize(&a.vec);
    for (int res = RES_MIN; res <= RES_DAY && rc == 0; res++) {
        int64_t ts = index_floor_to(minute, res_span[res]);
        rc = bucket_merge(c, service_id, res, host_id, ts, &a.vec, a.samples, err);
        if (rc == 0)
            rc = bucket_merge(c, service_id, res, 0, ts, &a.vec, a.samples, err);
    }
    size_t nstacks = a.vec.n;
    count_vec_free(&a.vec);
    sb_free(&a.frames);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    if ((rc = sq_prepare(c,
                         "INSERT INTO profiles (profile_id, service_id, host_id, minute, "
                         "start_time, end_time, samples, nstacks, cpu_avg, mem_avg) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         &st, err)) < 0)
        return rc;
    sqlite3_bind_int64(st, 1, m->profile_id);
    sqlite3_bind_int64(st, 2, service_id);
    sqlite3_bind_int64(st, 3, host_id);
    sqlite3_bind_int64(st, 4, minute);
    sqlite3_bind_int64(st, 5, m->start_time);
    sqlite3_bind_int64(st, 6, m->end_time);
    sqlite3_bind_int64(st, 7, (int64_t)a.samples);
    sqlite3_bind_int64(st, 8, (int64_t)nstacks);
    if (m->cpu_avg >= 0)
        sqlite3_bind_double(st, 9, m->cpu_avg);
    if (m->mem_avg >= 0)
        sqlite3_bind_double(st, 10, m->mem_avg);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_DONE)
        return sq_error(c, s, err, "index insert profile");
    return 0;
}

int six_add_batch(void *impl, const struct index_profile_meta *const *m,
                  const struct gp_profile *const *p, size_t n, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&x->wmu);
    if ((rc = sq_begin(c, err)) == 0) {
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = add_locked(x, c, m[i], p[i], err);
        if (rc == 0)
            rc = sq_commit(c, err); /* rolls back itself on failure */
        else
            sq_rollback(c);
        if (rc < 0)
            index_stack_cache_clear(
                    &x->cache); /* ids inserted by the failed transaction are gone */
    }
    pthread_mutex_unlock(&x->wmu);
    return rc;
}

int six_add(void *impl, const struct index_profile_meta *m, const struct gp_profile *p,
            struct gp_err *err)
{
    return six_add_batch(impl, &m, &p, 1, err);
}

int six_has(void *impl, int64_t profile_id, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    return rc < 0 ? rc : has_profile(c, profile_id, err);
}
