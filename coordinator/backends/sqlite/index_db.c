/* backends/sqlite/index_db.c — the SQLite sample index's database: its schema (migrations),
 * one connection per thread with gp_like() registered, opening and closing the engine, and the
 * small lookups every part shares (service and host ids). */
#include "coordinator/backends/sqlite/index_internal.h"
#include "coordinator/backends/sqlite/pred_sql.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
    /* Queries read the stack dictionary by id (a 1,000,000-sample profile: 100,000 rows, 17 MB
     * of frames): mapped pages instead of a pread() and a copy per page that misses the 16 MB
     * page cache. A hint: SQLite reads as before where mmap is not available. */
    sq_exec_simple(c, "PRAGMA mmap_size=1073741824", NULL);
    *conn = c;
    return 0;
}

static void pool_close(void *ctx, void *conn)
{
    sq_close(conn);
}

int six_get_conn(struct six *x, struct sq_conn **c, struct gp_err *err)
{
    void *v;
    int rc = tls_pool_get(x->pool, &v, err);
    if (rc < 0)
        return rc;
    *c = v;
    return 0;
}

int six_open(const struct store_engine_options *opts, void **impl, struct gp_err *err)
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
    if ((rc = six_get_conn(x, &c, err)) < 0) {
        gp_err_prefix(err, "opening sample index");
        six_close(x);
        return rc;
    }
    *impl = x;
    return 0;
}

void six_close(void *impl)
{
    struct six *x = impl;
    if (!x)
        return;
    tls_pool_free(x->pool);
    pthread_mutex_destroy(&x->wmu);
    index_stack_cache_clear(&x->cache);
    free(x->path);
    free(x);
}

/* ---- small SQL helpers ------------------------------------------------------------------ */

int six_step_int(struct sq_conn *c, sqlite3_stmt *st, int64_t *out, int *found, struct gp_err *err)
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

int six_name_id(struct sq_conn *c, const char *table, const char *name, int create, int64_t *id,
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
    rc = six_step_int(c, st, id, &found, err);
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
