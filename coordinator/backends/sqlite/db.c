/* backends/sqlite/db.c — the metadata driver table and struct meta_db: a spec parsed into a driver
 * and a location, one driver connection per thread, and the thin wrappers every domain file uses.
 */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"
#include "coordinator/store/engines.h"
#include "coordinator/store/tls_pool.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct meta_db {
    const struct meta_store_ops *ops;
    struct store_engine_options opts; /* owned copies */
    struct tls_pool *pool;
};

static int pool_open(void *ctx, void **conn, struct gp_err *err)
{
    struct meta_db *db = ctx;
    struct meta_conn *c;
    int rc = db->ops->open(&db->opts, &c, err);
    if (rc < 0)
        return rc;
    *conn = c;
    return 0;
}

static void pool_close(void *ctx, void *conn)
{
    struct meta_db *db = ctx;
    db->ops->close(conn);
}

int meta_db_open(const char *spec, struct meta_db **out, struct gp_err *err)
{
    const struct store_engine *e;
    struct store_engine_options opts;
    int rc = store_engine_parse(spec, STORE_ROLE_META, &e, &opts, err);
    if (rc < 0)
        return rc;
    const struct meta_store_ops *ops = e->meta;
    struct meta_db *db = calloc(1, sizeof(*db));
    if (!db) {
        store_engine_options_free(&opts);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    db->opts = opts;
    db->ops = ops;
    rc = tls_pool_new(pool_open, pool_close, db, &db->pool, err);
    if (rc < 0) {
        store_engine_options_free(&db->opts);
        free(db);
        return rc;
    }
    void *c;
    if ((rc = tls_pool_get(db->pool, &c, err)) < 0) {
        gp_err_prefix(err, "opening metadata store");
        meta_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

void meta_db_close(struct meta_db *db)
{
    if (!db)
        return;
    tls_pool_free(db->pool);
    store_engine_options_free(&db->opts);
    free(db);
}

static int conn(struct meta_db *db, struct meta_conn **c, struct gp_err *err)
{
    void *v;
    int rc = tls_pool_get(db->pool, &v, err);
    if (rc < 0)
        return rc;
    *c = v;
    return 0;
}

int meta_exec(struct meta_db *db, const char *sql, const struct meta_value *params, int nparams,
              int64_t *changes, struct gp_err *err)
{
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    return rc < 0 ? rc : db->ops->exec(c, sql, params, nparams, changes, err);
}

int meta_query(struct meta_db *db, const char *sql, const struct meta_value *params, int nparams,
               meta_row_cb cb, void *ctx, struct gp_err *err)
{
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    return rc < 0 ? rc : db->ops->query(c, sql, params, nparams, cb, ctx, err);
}

struct int_ctx {
    int64_t v;
    int found;
};

static int int_cb(const struct meta_row *r, void *ctx)
{
    struct int_ctx *ic = ctx;
    if (r->ncols > 0 && r->cols[0].type != META_NULL) {
        ic->v = r->cols[0].i;
        ic->found = 1;
    }
    return 1;
}

int meta_query_int(struct meta_db *db, const char *sql, const struct meta_value *params,
                   int nparams, int64_t *out, struct gp_err *err)
{
    struct int_ctx ic = {0, 0};
    int rc = meta_query(db, sql, params, nparams, int_cb, &ic, err);
    if (rc < 0)
        return rc;
    if (!ic.found)
        return gp_err_set(err, -ENOENT, "no row");
    *out = ic.v;
    return 0;
}

int meta_begin(struct meta_db *db, struct gp_err *err)
{
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    return rc < 0 ? rc : db->ops->begin(c, err);
}

int meta_commit(struct meta_db *db, struct gp_err *err)
{
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    return rc < 0 ? rc : db->ops->commit(c, err);
}

int meta_rollback(struct meta_db *db)
{
    struct meta_conn *c;
    struct gp_err e = {0};
    if (conn(db, &c, &e) < 0 || db->ops->rollback(c, &e) < 0) {
        gp_warn("metadata rollback: %s", e.msg);
        return e.code;
    }
    return 0;
}

int meta_schema_version(struct meta_db *db, int *version, struct gp_err *err)
{
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    return rc < 0 ? rc : db->ops->schema_version(c, version, err);
}

int meta_check(struct meta_db *db, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    if (rc < 0)
        return rc;
    if (!db->ops->check) {
        *ok = 1;
        return 0;
    }
    return db->ops->check(c, ok, msg, msgsz, err);
}

int meta_lock(struct meta_db *db, const char *key, struct gp_err *err)
{
    if (db->ops->version < 2 || !db->ops->lock)
        return 0;
    struct meta_conn *c;
    int rc = conn(db, &c, err);
    return rc < 0 ? rc : db->ops->lock(c, key, err);
}

const char *meta_sql_skip_locked(struct meta_db *db)
{
    return db->ops->version >= 2 && db->ops->skip_locked ? db->ops->skip_locked : "";
}

const char *meta_sql_claimer(struct meta_db *db)
{
    return db->ops->version >= 2 && db->ops->claimer ? db->ops->claimer : "NULL";
}

const char *meta_sql_claimer_gone(struct meta_db *db)
{
    return db->ops->version >= 2 && db->ops->claimer_gone ? db->ops->claimer_gone : "";
}

int meta_db_migrate(const char *spec, int to, int *version, struct gp_err *err)
{
    const struct store_engine *e;
    struct store_engine_options opts;
    int rc = store_engine_parse(spec, STORE_ROLE_META, &e, &opts, err);
    if (rc < 0)
        return rc;
    if (e->meta->version < 2 || !e->meta->migrate)
        rc = gp_err_set(err, -ENOTSUP, "the %s metadata engine migrates only up, when it is opened",
                        e->name);
    else
        rc = e->meta->migrate(&opts, to, version, err);
    store_engine_options_free(&opts);
    return rc;
}

int64_t meta_row_int(const struct meta_row *r, int i)
{
    if (i < 0 || i >= r->ncols)
        return 0;
    return r->cols[i].type == META_NULL ? 0 : r->cols[i].i;
}

int64_t meta_row_int_or(const struct meta_row *r, int i, int64_t def)
{
    if (i < 0 || i >= r->ncols || r->cols[i].type == META_NULL)
        return def;
    return r->cols[i].i;
}

double meta_row_real(const struct meta_row *r, int i)
{
    if (i < 0 || i >= r->ncols || r->cols[i].type == META_NULL)
        return 0;
    return r->cols[i].d;
}

const char *meta_row_text(const struct meta_row *r, int i)
{
    if (i < 0 || i >= r->ncols || r->cols[i].type != META_TEXT)
        return NULL;
    return r->cols[i].p;
}

char *meta_row_strdup(const struct meta_row *r, int i, int *oom)
{
    const char *t = meta_row_text(r, i);
    if (!t)
        return NULL;
    char *d = strdup(t);
    if (!d && oom)
        *oom = 1;
    return d;
}

int64_t meta_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec;
}
