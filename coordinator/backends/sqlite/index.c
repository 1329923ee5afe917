/* backends/sqlite/index.c — the embedded sample index. A stack dictionary (64-bit hash ->
 * container, comm, frames) plus one row per (service, resolution, bucket, host) holding that
 * bucket's (stack id, count) pairs as a packed sorted vector (index/counts.h). Every profile
 * updates its minute, hour and day buckets for its host and for "all hosts" (host 0), in one
 * transaction together with its row in `profiles` (the idempotency marker and the metrics series).
 * A query answers whole days from day rows, whole hours from hour rows and the edges from minute
 * rows. */
#include "coordinator/index/counts.h"
#include "coordinator/index/rollup.h"
#include "coordinator/index/stack_id.h"
#include "coordinator/store/index/index.h"
#include "coordinator/backends/sqlite/pred_sql.h"
#include "coordinator/backends/sqlite/util.h"
#include "coordinator/store/tls_pool.h"
#include "common/hash.h"
#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { RES_MIN = INDEX_ROLLUP_MINUTE, RES_HOUR = INDEX_ROLLUP_HOUR, RES_DAY = INDEX_ROLLUP_DAY };
#define res_span index_rollup_span

#define STACK_CACHE_MAX (4u << 20) /* entries before the cache is dropped and rebuilt */
#define MAX_HOST_FILTER 1024

static const char *const index_migrations[] = {
        "CREATE TABLE services (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
        "CREATE TABLE hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
        "CREATE TABLE stacks ("
        "  id INTEGER PRIMARY KEY,"
        "  hash INTEGER NOT NULL UNIQUE,"
        "  container TEXT NOT NULL,"
        "  comm TEXT NOT NULL,"
        "  nframes INTEGER NOT NULL,"
        "  frames BLOB NOT NULL,"       /* NUL-terminated frames, root first */
        "  last_day INTEGER NOT NULL);" /* newest day (Unix day number) it was seen */
        "CREATE INDEX stacks_last_day ON stacks(last_day);"
        "CREATE TABLE profiles ("
        "  profile_id INTEGER PRIMARY KEY,"
        "  service_id INTEGER NOT NULL,"
        "  host_id INTEGER NOT NULL,"
        "  minute INTEGER NOT NULL,"
        "  start_time INTEGER NOT NULL,"
        "  end_time INTEGER NOT NULL,"
        "  samples INTEGER NOT NULL,"
        "  nstacks INTEGER NOT NULL,"
        "  cpu_avg REAL,"
        "  mem_avg REAL);"
        "CREATE INDEX profiles_service_minute ON profiles(service_id, minute);"
        "CREATE TABLE buckets ("
        "  id INTEGER PRIMARY KEY,"
        "  service_id INTEGER NOT NULL,"
        "  res INTEGER NOT NULL,"
        "  host_id INTEGER NOT NULL,"
        "  ts INTEGER NOT NULL,"
        "  samples INTEGER NOT NULL,"
        "  nstacks INTEGER NOT NULL,"
        "  data BLOB NOT NULL,"
        "  UNIQUE (service_id, res, host_id, ts));"
        "CREATE INDEX buckets_res_ts ON buckets(res, ts);",
};

struct cache_ent {
    uint64_t hash; /* 0 = empty */
    int64_t id;
    int64_t last_day;
};

struct six {
    char *path;
    struct tls_pool *pool;
    pthread_mutex_t wmu; /* one writer at a time; guards the stack cache */
    struct cache_ent *cache;
    size_t cache_cap, cache_n;
};

/* ---- connections ------------------------------------------------------------------------ */

static int pool_open(void *ctx, void **conn, struct gp_err *err)
{
    struct six *x = ctx;
    struct sq_conn *c;
    int rc = sq_open(x->path, index_migrations,
                     (int)(sizeof(index_migrations) / sizeof(index_migrations[0])), &c, err);
    if (rc < 0)
        return rc;
    if ((rc = pred_sql_register(c->db)) != SQLITE_OK) {
        rc = sq_error(c, rc, err, "registering gp_like");
        sq_close(c);
        return rc;
    }
    *conn = c;
    return 0;
}

static void pool_close(void *ctx, void *conn)
{
    sq_close(conn);
}

static int get_conn(struct six *x, struct sq_conn **c, struct gp_err *err)
{
    void *v;
    int rc = tls_pool_get(x->pool, &v, err);
    if (rc < 0)
        return rc;
    *c = v;
    return 0;
}

static void six_close(void *impl);

static int six_open(const struct store_engine_options *opts, void **impl, struct gp_err *err)
{
    const char *location = opts->path;
    if (!location || !*location)
        return gp_err_set(err, -EINVAL, "sqlite sample index needs a path (sqlite:/path/index.db)");
    struct six *x = calloc(1, sizeof(*x));
    if (!x || !(x->path = strdup(location))) {
        free(x);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    pthread_mutex_init(&x->wmu, NULL);
    int rc = tls_pool_new(pool_open, pool_close, x, &x->pool, err);
    if (rc < 0) {
        free(x->path);
        free(x);
        return rc;
    }
    struct sq_conn *c;
    if ((rc = get_conn(x, &c, err)) < 0) {
        gp_err_prefix(err, "opening sample index");
        six_close(x);
        return rc;
    }
    *impl = x;
    return 0;
}

static void six_close(void *impl)
{
    struct six *x = impl;
    if (!x)
        return;
    tls_pool_free(x->pool);
    pthread_mutex_destroy(&x->wmu);
    free(x->cache);
    free(x->path);
    free(x);
}

/* ---- small SQL helpers ------------------------------------------------------------------ */

static int step_int(struct sq_conn *c, sqlite3_stmt *st, int64_t *out, int *found,
                    struct gp_err *err)
{
    int s = sqlite3_step(st);
    *found = 0;
    if (s == SQLITE_ROW) {
        *found = 1;
        *out = sqlite3_column_int64(st, 0);
        s = sqlite3_step(st);
        if (s == SQLITE_ROW)
            s = SQLITE_DONE;
    }
    if (s != SQLITE_DONE)
        return sq_error(c, s, err, "index query");
    return 0;
}

static int name_id(struct sq_conn *c, const char *table, const char *name, int create, int64_t *id,
                   struct gp_err *err)
{
    const char *sel = strcmp(table, "hosts") == 0 ? "SELECT id FROM hosts WHERE name = ?"
                                                  : "SELECT id FROM services WHERE name = ?";
    const char *ins = strcmp(table, "hosts") == 0 ? "INSERT INTO hosts (name) VALUES (?)"
                                                  : "INSERT INTO services (name) VALUES (?)";
    sqlite3_stmt *st;
    int rc = sq_prepare(c, sel, &st, err), found;
    if (rc < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    rc = step_int(c, st, id, &found, err);
    sqlite3_reset(st);
    if (rc < 0 || found)
        return rc;
    if (!create)
        return -ENOENT;
    if ((rc = sq_prepare(c, ins, &st, err)) < 0)
        return rc;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int s = sqlite3_step(st);
    sqlite3_reset(st);
    if (s != SQLITE_DONE)
        return sq_error(c, s, err, "index insert name");
    *id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

/* ---- stack cache (writer side only, under wmu) ------------------------------------------ */

static void cache_clear(struct six *x)
{
    free(x->cache);
    x->cache = NULL;
    x->cache_cap = x->cache_n = 0;
}

static struct cache_ent *cache_find(struct six *x, uint64_t h)
{
    if (!x->cache_cap)
        return NULL;
    size_t i = gp_hash_mix(h) & (x->cache_cap - 1);
    while (x->cache[i].hash) {
        if (x->cache[i].hash == h)
            return &x->cache[i];
        i = (i + 1) & (x->cache_cap - 1);
    }
    return NULL;
}

static void cache_put(struct six *x, uint64_t h, int64_t id, int64_t day)
{
    if (x->cache_n >= STACK_CACHE_MAX)
        cache_clear(x);
    if ((x->cache_n + 1) * 2 > x->cache_cap) {
        size_t cap = x->cache_cap ? x->cache_cap * 2 : 4096;
        struct cache_ent *n = calloc(cap, sizeof(*n));
        if (!n)
            return; /* a cache miss is only slower */
        for (size_t i = 0; i < x->cache_cap; i++) {
            if (!x->cache[i].hash)
                continue;
            size_t j = gp_hash_mix(x->cache[i].hash) & (cap - 1);
            while (n[j].hash)
                j = (j + 1) & (cap - 1);
            n[j] = x->cache[i];
        }
        free(x->cache);
        x->cache = n;
        x->cache_cap = cap;
    }
    size_t i = gp_hash_mix(h) & (x->cache_cap - 1);
    while (x->cache[i].hash && x->cache[i].hash != h)
        i = (i + 1) & (x->cache_cap - 1);
    if (!x->cache[i].hash)
        x->cache_n++;
    x->cache[i] = (struct cache_ent){h, id, day};
}

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
    struct cache_ent *ce = cache_find(a->x, h);
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
        cache_put(a->x, h, *id, last);
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
    cache_put(a->x, h, *id, a->day);
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
    rc = step_int(c, st, &one, &found, err);
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
    if ((rc = name_id(c, "services", m->service, 1, &service_id, err)) < 0 ||
        (rc = name_id(c, "hosts", m->hostname, 1, &host_id, err)) < 0)
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

static int six_add_batch(void *impl, const struct index_profile_meta *const *m,
                         const struct gp_profile *const *p, size_t n, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
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
            cache_clear(x); /* ids inserted by the failed transaction are gone */
    }
    pthread_mutex_unlock(&x->wmu);
    return rc;
}

static int six_add(void *impl, const struct index_profile_meta *m, const struct gp_profile *p,
                   struct gp_err *err)
{
    return six_add_batch(impl, &m, &p, 1, err);
}

static int six_has(void *impl, int64_t profile_id, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
    return rc < 0 ? rc : has_profile(c, profile_id, err);
}

/* ---- query ------------------------------------------------------------------------------ */

struct hostsel {
    int all;     /* no host filter: use host 0 rows */
    int exclude; /* ids are excluded (host_out) rather than included */
    int none;    /* include list resolved to nothing: empty answer */
    int64_t *ids;
    size_t n;
};

static int resolve_hosts(struct sq_conn *c, const struct index_filter *f, struct hostsel *hs,
                         struct gp_err *err)
{
    memset(hs, 0, sizeof(*hs));
    if (!index_filter_has_host(f)) {
        hs->all = 1;
        return 0;
    }
    if (f->host_in.n + f->host_out.n > MAX_HOST_FILTER)
        return gp_err_set(err, -EINVAL, "at most %d hostnames in a filter", MAX_HOST_FILTER);
    hs->ids = calloc(f->host_in.n + f->host_out.n + 1, sizeof(int64_t));
    if (!hs->ids)
        return gp_err_set(err, -ENOMEM, "out of memory");
    if (f->host_in.n) {
        /* include minus exclude */
        for (size_t i = 0; i < f->host_in.n; i++) {
            int64_t id;
            if (!f->host_in.v[i] ||
                !index_filter_match(&(struct index_filter){.host_out = f->host_out},
                                    f->host_in.v[i], "", ""))
                continue;
            int rc = name_id(c, "hosts", f->host_in.v[i], 0, &id, err);
            if (rc == -ENOENT)
                continue;
            if (rc < 0)
                return rc;
            hs->ids[hs->n++] = id;
        }
        hs->none = hs->n == 0;
        return 0;
    }
    hs->exclude = 1;
    for (size_t i = 0; i < f->host_out.n; i++) {
        int64_t id;
        if (!f->host_out.v[i])
            continue;
        int rc = name_id(c, "hosts", f->host_out.v[i], 0, &id, err);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            return rc;
        hs->ids[hs->n++] = id;
    }
    if (!hs->n) /* excluding only unknown hosts: the all-hosts rollup answers exactly */
        hs->all = 1;
    return 0;
}

/* Appends " AND <host condition>" with literal integer ids (safe: they are our own ids). */
static void host_sql(struct strbuf *sb, const struct hostsel *hs, const char *col)
{
    if (hs->all) {
        sb_printf(sb, " AND %s = 0", col);
        return;
    }
    if (hs->exclude) {
        sb_printf(sb, " AND %s != 0", col);
        if (!hs->n)
            return;
        sb_printf(sb, " AND %s NOT IN (", col);
    } else {
        sb_printf(sb, " AND %s IN (", col);
    }
    for (size_t i = 0; i < hs->n; i++)
        sb_printf(sb, "%s%lld", i ? "," : "", (long long)hs->ids[i]);
    sb_putc(sb, ')');
}

static void map_add_fn(uint64_t id, uint64_t c, void *ctx)
{
    count_map_add(ctx, id, c);
}

/* Merges every bucket of the slices for the hosts hs selects into map. */
static int merge_buckets(struct sq_conn *c, int64_t service_id, const struct index_slice *sl, int n,
                         const struct hostsel *hs, struct count_map *map,
                         struct index_query_stats *stats, struct gp_err *err)
{
    struct strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "SELECT data FROM buckets WHERE service_id = ? AND res = ?");
    host_sql(&sql, hs, "host_id");
    sb_puts(&sql, " AND ts >= ? AND ts < ?");
    if (sql.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *st;
        if ((rc = sq_prepare(c, sb_str(&sql), &st, err)) < 0)
            break;
        sqlite3_bind_int64(st, 1, service_id);
        sqlite3_bind_int(st, 2, sl[i].res);
        sqlite3_bind_int64(st, 3, sl[i].a);
        sqlite3_bind_int64(st, 4, sl[i].b);
        int st_rc;
        while ((st_rc = sqlite3_step(st)) == SQLITE_ROW) {
            stats->rows_read++;
            if (counts_foreach(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                               map_add_fn, map) < 0) {
                rc = gp_err_set(err, -EIO, "%s: index bucket is corrupt", c->path);
                break;
            }
        }
        if (rc == 0 && st_rc != SQLITE_DONE)
            rc = sq_error(c, st_rc, err, "index read buckets");
        sqlite3_reset(st);
    }
    sb_free(&sql);
    if (rc == 0 && map->oom)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    return rc;
}

struct kept {
    int64_t id;
    uint64_t count;
    uint64_t hash;
};

static int by_weight(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Prepares "SELECT <head><p> FROM stacks s WHERE s.id = ?<id_param>" (an uncached statement:
 * its text depends on the filter). */
static int prepare_pred(struct sq_conn *c, const char *head, const struct index_pred *p,
                        const char *const cols[INDEX_NFIELDS], int id_param, int first,
                        const char *from, sqlite3_stmt **st, struct gp_err *err)
{
    struct pred_sql ps;
    pred_sql_init(&ps, first);
    sb_puts(&ps.sql, head);
    pred_sql_append(&ps, p, cols);
    if (from)
        sb_puts(&ps.sql, from);
    else
        sb_printf(&ps.sql, " FROM stacks s WHERE s.id = ?%d", id_param);
    int rc = 0;
    if (ps.oom || ps.sql.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    } else if ((int64_t)ps.nbinds + first >
               sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1)) {
        rc = gp_err_set(err, -EINVAL, "filter has more than %d values",
                        sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1) - first);
    } else {
        int s = sqlite3_prepare_v2(c->db, sb_str(&ps.sql), -1, st, NULL);
        if (s != SQLITE_OK)
            rc = sq_error(c, s, err, "index filter");
        else
            pred_sql_bind(&ps, *st);
    }
    pred_sql_free(&ps);
    return rc;
}

/* Hosts by what p says of them with the stack's fields unknown: pass (p holds for every stack
 * of theirs) and maybe (it depends on the stack); *all when every host passes. */
struct hostsplit {
    struct hostsel pass;
    int64_t *maybe;
    char **maybe_name;
    size_t nmaybe;
    int all;
};

static void hostsplit_free(struct hostsplit *h)
{
    free(h->pass.ids);
    for (size_t i = 0; i < h->nmaybe; i++)
        free(h->maybe_name[i]);
    free(h->maybe);
    free(h->maybe_name);
}

static int split_hosts(struct sq_conn *c, const struct index_pred *p, struct hostsplit *h,
                       struct gp_err *err)
{
    static const char *const cols[INDEX_NFIELDS] = {"h.name", "NULL", "NULL", "''", "''"};
    memset(h, 0, sizeof(*h));
    sqlite3_stmt *st;
    int rc = prepare_pred(c, "SELECT h.id, h.name, ", p, cols, 0, 1, " FROM hosts h", &st, err);
    if (rc < 0)
        return rc;
    size_t total = 0, cap = 0;
    int s = SQLITE_DONE;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        total++;
        int maybe = sqlite3_column_type(st, 2) == SQLITE_NULL;
        if (!maybe && !sqlite3_column_int(st, 2))
            continue;
        size_t n = h->pass.n + h->nmaybe;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *a = realloc(h->pass.ids, cap * sizeof(*a));
            if (a)
                h->pass.ids = a;
            int64_t *b = realloc(h->maybe, cap * sizeof(*b));
            if (b)
                h->maybe = b;
            char **nm = realloc(h->maybe_name, cap * sizeof(*nm));
            if (nm)
                h->maybe_name = nm;
            if (!a || !b || !nm) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
        }
        int64_t id = sqlite3_column_int64(st, 0);
        if (!maybe) {
            h->pass.ids[h->pass.n++] = id;
            continue;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (!(h->maybe_name[h->nmaybe] = strdup(name ? name : ""))) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        h->maybe[h->nmaybe++] = id;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c, s, err, "index filter hosts");
    sqlite3_finalize(st);
    /* every host passes whatever its stacks: the all-hosts rollup answers exactly */
    h->all = rc == 0 && h->nmaybe == 0 && h->pass.n == total;
    return rc;
}

/* map += the stacks of host (name) that pass p, from that host's buckets. */
static int merge_host_filtered(struct six *x, struct sq_conn *c, int64_t service_id,
                               const struct index_slice *sl, int nsl, int64_t host,
                               const char *name, const struct index_pred *p, struct count_map *map,
                               struct index_query_stats *stats, struct gp_err *err)
{
    static const char *const cols[INDEX_NFIELDS] = {"?1", "s.container", "s.comm", "''", "''"};
    struct count_map hm = {0};
    struct hostsel hs = {.ids = &host, .n = 1};
    int rc = merge_buckets(c, service_id, sl, nsl, &hs, &hm, stats, err);
    sqlite3_stmt *st = NULL;
    if (rc == 0 && hm.n)
        rc = prepare_pred(c, "SELECT ", p, cols, 2, 3, NULL, &st, err);
    if (st)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    for (size_t i = 0; st && rc == 0 && i < hm.cap; i++) {
        if (!hm.keys[i] || !hm.vals[i])
            continue;
        sqlite3_bind_int64(st, 2, (int64_t)hm.keys[i]);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW && sqlite3_column_int(st, 0))
            count_map_add(map, hm.keys[i], hm.vals[i]);
        else if (s == SQLITE_DONE)
            gp_warn("%s: stack %lld referenced by a bucket is missing", x->path,
                    (long long)hm.keys[i]);
        else if (s != SQLITE_ROW)
            rc = sq_error(c, s, err, "index filter stack");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    count_map_free(&hm);
    if (rc == 0 && map->oom)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    return rc;
}

/* Common part of query and values: the counts of the stacks that pass the filter, merged over
 * the query's slices. A filter without a host condition is read from the all-hosts rollup and
 * tested per stack; one with a host condition first splits the hosts into those it passes whole
 * (merged as they are) and those where it depends on the stack (tested per host and stack). */
static int collect(struct six *x, struct sq_conn *c, const struct index_query *q, struct kept **out,
                   size_t *nout, struct index_query_stats *stats, int need_hash, struct gp_err *err)
{
    int64_t service_id;
    *out = NULL;
    *nout = 0;
    int rc = name_id(c, "services", q->service, 0, &service_id, err);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    struct index_slice sl[INDEX_SLICES_MAX];
    int nsl = index_plan_slices(index_floor_to(q->start, 60), index_floor_to(q->end + 59, 60),
                                q->resolution, sl);
    for (int i = 0; i < nsl; i++) {
        if (sl[i].res == RES_MIN)
            stats->buckets_minute++;
        else if (sl[i].res == RES_HOUR)
            stats->buckets_hour++;
        else
            stats->buckets_day++;
    }
    struct index_filter_tree tree;
    const struct index_pred *p = index_filter_tree(q->filter, &tree);
    /* per-stack test of a host-free filter, done while reading each kept stack's hash */
    const struct index_pred *stack_p = NULL;
    struct count_map map = {0};
    if (!p || !index_pred_uses(p, INDEX_FIELD_HOST)) {
        stack_p = p;
        rc = merge_buckets(c, service_id, sl, nsl, &(struct hostsel){.all = 1}, &map, stats, err);
    } else {
        struct hostsplit h;
        rc = split_hosts(c, p, &h, err);
        if (rc == 0 && h.all)
            rc = merge_buckets(c, service_id, sl, nsl, &(struct hostsel){.all = 1}, &map, stats,
                               err);
        else if (rc == 0 && h.pass.n)
            rc = merge_buckets(c, service_id, sl, nsl, &h.pass, &map, stats, err);
        for (size_t i = 0; rc == 0 && !h.all && i < h.nmaybe; i++)
            rc = merge_host_filtered(x, c, service_id, sl, nsl, h.maybe[i], h.maybe_name[i], p,
                                     &map, stats, err);
        hostsplit_free(&h);
    }
    if (rc < 0) {
        count_map_free(&map);
        return rc;
    }
    struct kept *k = malloc((map.n ? map.n : 1) * sizeof(*k));
    if (!k) {
        count_map_free(&map);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    size_t n = 0;
    static const char *const cols[INDEX_NFIELDS] = {"NULL", "s.container", "s.comm", "''", "''"};
    sqlite3_stmt *st = NULL;
    if ((stack_p || need_hash) &&
        (rc = prepare_pred(c, "SELECT s.hash, ", stack_p, cols, 1, 2, NULL, &st, err)) < 0) {
        free(k);
        count_map_free(&map);
        return rc;
    }
    for (size_t i = 0; i < map.cap && rc == 0; i++) {
        if (!map.keys[i] || !map.vals[i])
            continue;
        struct kept e = {(int64_t)map.keys[i], map.vals[i], 0};
        if (st) {
            sqlite3_bind_int64(st, 1, e.id);
            int s = sqlite3_step(st);
            if (s != SQLITE_ROW) {
                sqlite3_reset(st);
                if (s == SQLITE_DONE) {
                    gp_warn("%s: stack %lld referenced by a bucket is missing", x->path,
                            (long long)e.id);
                    continue;
                }
                rc = sq_error(c, s, err, "index read stack");
                break;
            }
            e.hash = (uint64_t)sqlite3_column_int64(st, 0);
            int ok = sqlite3_column_int(st, 1);
            sqlite3_reset(st);
            if (!ok)
                continue;
        }
        k[n++] = e;
    }
    sqlite3_finalize(st);
    count_map_free(&map);
    if (rc < 0) {
        free(k);
        return rc;
    }
    *out = k;
    *nout = n;
    return 0;
}

static int six_query(void *impl, const struct index_query *q, struct gp_profile *out,
                     struct index_query_stats *stats, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    struct kept *k;
    size_t n;
    int truncate = q->max_stacks > 0;
    /* Read-only snapshot: buckets and stacks must come from one consistent state. */
    if ((rc = sq_exec_simple(c, "BEGIN", err)) < 0)
        return rc;
    rc = collect(x, c, q, &k, &n, stats, truncate, err);
    if (rc < 0) {
        sq_exec_simple(c, "ROLLBACK", NULL);
        return rc;
    }
    stats->total_stacks = n;
    for (size_t i = 0; i < n; i++)
        stats->total_samples += k[i].count;
    if (truncate && n > q->max_stacks) {
        qsort(k, n, sizeof(*k), by_weight);
        n = q->max_stacks;
    }
    sqlite3_stmt *st;
    const char **frames = NULL;
    size_t fcap = 0;
    if ((rc = sq_prepare(c, "SELECT container, comm, nframes, frames FROM stacks WHERE id = ?", &st,
                         err)) < 0)
        goto done;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, k[i].id);
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            sqlite3_reset(st);
            if (s == SQLITE_DONE)
                continue;
            rc = sq_error(c, s, err, "index read stack");
            break;
        }
        const char *container = (const char *)sqlite3_column_text(st, 0);
        const char *comm = (const char *)sqlite3_column_text(st, 1);
        size_t nf = (size_t)sqlite3_column_int64(st, 2);
        const char *blob = sqlite3_column_blob(st, 3);
        size_t blen = (size_t)sqlite3_column_bytes(st, 3);
        if (nf > fcap) {
            size_t cap = nf < 64 ? 64 : nf;
            const char **f2 = realloc(frames, cap * sizeof(*f2));
            if (!f2) {
                sqlite3_reset(st);
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            frames = f2;
            fcap = cap;
        }
        size_t got = 0, off = 0;
        while (got < nf && off < blen) {
            frames[got++] = blob + off;
            off += strnlen(blob + off, blen - off) + 1;
        }
        if (got != nf || off > blen || (blen && blob[blen - 1] != 0)) {
            sqlite3_reset(st);
            rc = gp_err_set(err, -EIO, "%s: stack %lld is corrupt", x->path, (long long)k[i].id);
            break;
        }
        if (gp_profile_add(out, 0, container ? container : "", comm ? comm : "", frames,
                           (uint32_t)nf, k[i].count) < 0)
            rc = gp_err_set(err, -ENOMEM, "out of memory");
        sqlite3_reset(st);
        stats->returned_stacks++;
    }
done:
    free(frames);
    free(k);
    sq_exec_simple(c, "COMMIT", NULL);
    return rc;
}

/* ---- time range, series, services, values ----------------------------------------------- */

static int six_time_range(void *impl, const char *service, const struct index_filter *f,
                          int64_t *first, int64_t *last, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    int64_t sid;
    if ((rc = name_id(c, "services", service, 0, &sid, err)) < 0)
        return rc == -ENOENT ? gp_err_set(err, -ENOENT, "no data for service %s", service) : rc;
    struct hostsel hs;
    if ((rc = resolve_hosts(c, f, &hs, err)) < 0 || hs.none) {
        free(hs.ids);
        return rc < 0 ? rc : gp_err_set(err, -ENOENT, "no data for service %s", service);
    }
    struct strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "SELECT MIN(start_time), MAX(start_time), COUNT(*) FROM profiles WHERE "
                  "service_id = ?");
    if (!hs.all)
        host_sql(&sql, &hs, "host_id");
    free(hs.ids);
    if (sql.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    sqlite3_stmt *st;
    rc = sq_prepare(c, sb_str(&sql), &st, err);
    sb_free(&sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, sid);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW && sqlite3_column_int64(st, 2) > 0) {
        *first = sqlite3_column_int64(st, 0);
        *last = sqlite3_column_int64(st, 1);
        rc = 0;
    } else if (s == SQLITE_ROW) {
        rc = gp_err_set(err, -ENOENT, "no data for service %s", service);
    } else {
        rc = sq_error(c, s, err, "index time range");
    }
    sqlite3_reset(st);
    return rc;
}

static int six_series(void *impl, const char *service, int64_t start, int64_t end,
                      int64_t bucket_secs, const struct index_filter *f, index_series_cb cb,
                      void *ctx, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    int64_t sid;
    if ((rc = name_id(c, "services", service, 0, &sid, err)) < 0)
        return rc == -ENOENT ? 0 : rc;
    struct hostsel hs;
    if ((rc = resolve_hosts(c, f, &hs, err)) < 0 || hs.none) {
        free(hs.ids);
        return rc;
    }
    struct strbuf sql = STRBUF_INIT;
    sb_printf(&sql,
              "SELECT (p.minute / %lld) * %lld AS b, h.name, SUM(p.samples), COUNT(*), "
              "AVG(p.cpu_avg), MAX(p.cpu_avg), AVG(p.mem_avg), MAX(p.mem_avg) "
              "FROM profiles p JOIN hosts h ON h.id = p.host_id "
              "WHERE p.service_id = ? AND p.minute >= ? AND p.minute < ?",
              (long long)bucket_secs, (long long)bucket_secs);
    if (!hs.all)
        host_sql(&sql, &hs, "p.host_id");
    free(hs.ids);
    sb_puts(&sql, " GROUP BY b, p.host_id ORDER BY b, h.name");
    if (sql.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    sqlite3_stmt *st;
    int owned;
    rc = sq_prepare_ex(c, sb_str(&sql), &st, &owned, err);
    sb_free(&sql);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(st, 1, sid);
    sqlite3_bind_int64(st, 2, index_floor_to(start, 60));
    sqlite3_bind_int64(st, 3, end);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct index_series_point pt = {
                .bucket = sqlite3_column_int64(st, 0),
                .hostname = (const char *)sqlite3_column_text(st, 1),
                .samples = (uint64_t)sqlite3_column_int64(st, 2),
                .profiles = (uint32_t)sqlite3_column_int64(st, 3),
                .cpu_avg = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 4),
                .cpu_max = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 5),
                .mem_avg = sqlite3_column_type(st, 6) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 6),
                .mem_max = sqlite3_column_type(st, 7) == SQLITE_NULL ? -1
                                                                     : sqlite3_column_double(st, 7),
        };
        if ((rc = cb(&pt, ctx)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c, s, err, "index series");
    sq_done(st, owned);
    return rc;
}

static int six_services(void *impl, index_service_cb cb, void *ctx, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *st;
    int owned;
    if ((rc = sq_prepare_ex(c,
                            "SELECT s.name, MIN(p.start_time), MAX(p.start_time), COUNT(*) "
                            "FROM profiles p JOIN services s ON s.id = p.service_id "
                            "GROUP BY p.service_id ORDER BY s.name",
                            &st, &owned, err)) < 0)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct index_service_info si = {
                .service = (const char *)sqlite3_column_text(st, 0),
                .first = sqlite3_column_int64(st, 1),
                .last = sqlite3_column_int64(st, 2),
                .profiles = (uint64_t)sqlite3_column_int64(st, 3),
        };
        if ((rc = cb(&si, ctx)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c, s, err, "index services");
    sq_done(st, owned);
    return rc;
}

struct valagg {
    char *name;
    uint64_t samples;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct valagg *)a)->name, ((const struct valagg *)b)->name);
}

static int by_samples(const void *a, const void *b)
{
    const struct valagg *x = a, *y = b;
    if (x->samples != y->samples)
        return x->samples > y->samples ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int six_values(void *impl, const char *service, int64_t start, int64_t end,
                      enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    if (dim == INDEX_DIM_HOST) {
        int64_t sid;
        if ((rc = name_id(c, "services", service, 0, &sid, err)) < 0)
            return rc == -ENOENT ? 0 : rc;
        sqlite3_stmt *st;
        int owned;
        if ((rc = sq_prepare_ex(c,
                                "SELECT h.name, SUM(p.samples) AS n FROM profiles p JOIN hosts h "
                                "ON h.id = p.host_id WHERE p.service_id = ? AND p.minute >= ? "
                                "AND p.minute < ? GROUP BY p.host_id ORDER BY n DESC, h.name",
                                &st, &owned, err)) < 0)
            return rc;
        sqlite3_bind_int64(st, 1, sid);
        sqlite3_bind_int64(st, 2, index_floor_to(start, 60));
        sqlite3_bind_int64(st, 3, end);
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW)
            if ((rc = cb((const char *)sqlite3_column_text(st, 0),
                         (uint64_t)sqlite3_column_int64(st, 1), ctx)) != 0)
                break;
        if (rc == 0 && s != SQLITE_DONE)
            rc = sq_error(c, s, err, "index values");
        sq_done(st, owned);
        return rc;
    }
    struct index_query q = {.service = service, .start = start, .end = end};
    struct index_query_stats stats = {0};
    struct kept *k;
    size_t n;
    if ((rc = sq_exec_simple(c, "BEGIN", err)) < 0)
        return rc;
    rc = collect(x, c, &q, &k, &n, &stats, 0, err);
    if (rc < 0) {
        sq_exec_simple(c, "ROLLBACK", NULL);
        return rc;
    }
    struct valagg *v = calloc(n ? n : 1, sizeof(*v));
    size_t nv = 0;
    sqlite3_stmt *st;
    const char *sql = dim == INDEX_DIM_CONTAINER ? "SELECT container FROM stacks WHERE id = ?"
                                                 : "SELECT comm FROM stacks WHERE id = ?";
    if (!v)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    else
        rc = sq_prepare(c, sql, &st, err);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(st, 1, k[i].id);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            if (!(v[nv].name = strdup(t ? t : "")))
                rc = gp_err_set(err, -ENOMEM, "out of memory");
            else
                v[nv++].samples = k[i].count;
        }
        sqlite3_reset(st);
    }
    sq_exec_simple(c, "COMMIT", NULL);
    free(k);
    if (rc == 0 && nv) {
        qsort(v, nv, sizeof(*v), by_name);
        size_t w = 0;
        for (size_t i = 1; i < nv; i++) {
            if (strcmp(v[i].name, v[w].name) == 0) {
                v[w].samples += v[i].samples;
                free(v[i].name);
            } else {
                v[++w] = v[i];
            }
        }
        nv = w + 1;
        qsort(v, nv, sizeof(*v), by_samples);
        for (size_t i = 0; i < nv; i++)
            if ((rc = cb(v[i].name, v[i].samples, ctx)) != 0)
                break;
    }
    for (size_t i = 0; v && i < nv; i++)
        free(v[i].name);
    free(v);
    return rc;
}

/* ---- retention, check ------------------------------------------------------------------- */

static int six_retention(void *impl, int64_t before, int64_t *deleted, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
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
    cache_clear(x);
out:
    pthread_mutex_unlock(&x->wmu);
    return rc;
}

static int six_check(void *impl, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = get_conn(x, &c, err);
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
};
