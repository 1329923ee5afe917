/* backends/sqlite/driver.c — the embedded metadata driver: one SQLite connection in WAL mode per
 * thread, schema migrations by PRAGMA user_version (schema.c), cached prepared statements. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"
#include "coordinator/backends/sqlite/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct meta_conn {
    struct sq_conn *sq;
    char *path;
};

static int msq_open(const struct store_engine_options *opts, struct meta_conn **out,
                    struct gp_err *err)
{
    const char *location = opts->path;
    if (!location || !*location)
        return gp_err_set(err, -EINVAL,
                          "sqlite metadata store needs a path (sqlite:/path/meta.db)");
    struct meta_conn *c = calloc(1, sizeof(*c));
    if (!c || !(c->path = strdup(location))) {
        free(c);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    int rc = sq_open(c->path, meta_sqlite_migrations, meta_sqlite_nmigrations, &c->sq, err);
    if (rc < 0) {
        free(c->path);
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void msq_close(struct meta_conn *c)
{
    if (!c)
        return;
    sq_close(c->sq);
    free(c->path);
    free(c);
}

static int bind_params(struct meta_conn *c, sqlite3_stmt *st, const struct meta_value *params,
                       int n, struct gp_err *err)
{
    for (int i = 0; i < n; i++) {
        const struct meta_value *v = &params[i];
        int rc;
        switch (v->type) {
        case META_INT:
            rc = sqlite3_bind_int64(st, i + 1, v->i);
            break;
        case META_REAL:
            rc = sqlite3_bind_double(st, i + 1, v->d);
            break;
        case META_TEXT:
            rc = sqlite3_bind_text(st, i + 1, v->p, v->len ? (int)v->len : -1, SQLITE_STATIC);
            break;
        case META_BLOB:
            rc = sqlite3_bind_blob(st, i + 1, v->p, (int)v->len, SQLITE_STATIC);
            break;
        default:
            rc = sqlite3_bind_null(st, i + 1);
            break;
        }
        if (rc != SQLITE_OK)
            return sq_error(c->sq, rc, err, "bind");
    }
    return 0;
}

/* Prepares sql (from the statement cache where it can) and binds params to it. */
static int prepare_bound(struct meta_conn *c, const char *sql, const struct meta_value *params,
                         int nparams, sqlite3_stmt **st, int *owned, struct gp_err *err)
{
    int rc = sq_prepare_ex(c->sq, sql, st, owned, err);
    if (rc < 0)
        return rc;
    if ((rc = bind_params(c, *st, params, nparams, err)) < 0) {
        sq_done(*st, *owned);
        return rc;
    }
    return 0;
}

static int msq_exec(struct meta_conn *c, const char *sql, const struct meta_value *params,
                    int nparams, int64_t *changes, struct gp_err *err)
{
    sqlite3_stmt *st;
    int owned;
    int rc = prepare_bound(c, sql, params, nparams, &st, &owned, err);
    if (rc < 0)
        return rc;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW)
        ;
    if (s != SQLITE_DONE) {
        rc = sq_error(c->sq, s, err, "exec");
        sq_done(st, owned);
        return rc;
    }
    if (changes)
        *changes = sqlite3_changes64(c->sq->db);
    sq_done(st, owned);
    return 0;
}

#define MAX_COLS 64

_Thread_local uint64_t meta_last_fullscan_steps;

uint64_t meta_last_query_fullscan_steps(void)
{
    return meta_last_fullscan_steps;
}

static int msq_query(struct meta_conn *c, const char *sql, const struct meta_value *params,
                     int nparams, meta_row_cb cb, void *ctx, struct gp_err *err)
{
    sqlite3_stmt *st;
    int owned;
    int rc = prepare_bound(c, sql, params, nparams, &st, &owned, err);
    if (rc < 0)
        return rc;
    int ncols = sqlite3_column_count(st);
    if (ncols > MAX_COLS) {
        sq_done(st, owned);
        return gp_err_set(err, -EINVAL, "query returns %d columns, at most %d supported", ncols,
                          MAX_COLS);
    }
    struct meta_value vals[MAX_COLS];
    const char *names[MAX_COLS];
    for (int i = 0; i < ncols; i++)
        names[i] = sqlite3_column_name(st, i);
    int s;
    rc = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        for (int i = 0; i < ncols; i++) {
            struct meta_value *v = &vals[i];
            memset(v, 0, sizeof(*v));
            switch (sqlite3_column_type(st, i)) {
            case SQLITE_INTEGER:
                v->type = META_INT;
                v->i = sqlite3_column_int64(st, i);
                v->d = (double)v->i;
                break;
            case SQLITE_FLOAT:
                v->type = META_REAL;
                v->d = sqlite3_column_double(st, i);
                v->i = (int64_t)v->d;
                break;
            case SQLITE_TEXT:
                v->type = META_TEXT;
                v->p = sqlite3_column_text(st, i);
                v->len = (size_t)sqlite3_column_bytes(st, i);
                break;
            case SQLITE_BLOB:
                v->type = META_BLOB;
                v->p = sqlite3_column_blob(st, i);
                v->len = (size_t)sqlite3_column_bytes(st, i);
                break;
            default:
                v->type = META_NULL;
                break;
            }
        }
        struct meta_row row = {.ncols = ncols, .cols = vals, .names = names};
        if (cb && (rc = cb(&row, ctx)) != 0)
            break;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c->sq, s, err, "query");
    meta_last_fullscan_steps =
            (uint64_t)sqlite3_stmt_status(st, SQLITE_STMTSTATUS_FULLSCAN_STEP, 1);
    sq_done(st, owned);
    return rc;
}

static int msq_begin(struct meta_conn *c, struct gp_err *err)
{
    return sq_begin(c->sq, err);
}

static int msq_commit(struct meta_conn *c, struct gp_err *err)
{
    return sq_commit(c->sq, err);
}

static int msq_rollback(struct meta_conn *c, struct gp_err *err)
{
    sq_rollback(c->sq);
    return 0;
}

static int msq_version(struct meta_conn *c, int *version, struct gp_err *err)
{
    sqlite3_stmt *st;
    int rc = sq_prepare(c->sq, "PRAGMA user_version", &st, err);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(st);
    *version = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_reset(st);
    return 0;
}

static int msq_check(struct meta_conn *c, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    return sq_integrity_check(c->sq, ok, msg, msgsz, err);
}

const struct meta_store_ops meta_sqlite_ops = {
        .version = META_STORE_OPS_VERSION,
        .open = msq_open,
        .close = msq_close,
        .exec = msq_exec,
        .query = msq_query,
        .begin = msq_begin,
        .commit = msq_commit,
        .rollback = msq_rollback,
        .schema_version = msq_version,
        .check = msq_check,
};
