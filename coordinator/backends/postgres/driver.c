/* backends/postgres/driver.c — the PostgreSQL metadata driver (struct meta_store_ops of
 * backends/sqlite/sql.h): typed parameters sent as text for the server to type from context,
 * rows typed back from the column types, transactions (durable commit; single statements with
 * synchronous_commit off, like SQLite's synchronous=NORMAL), key locks, migrations on open. */
#include "coordinator/backends/postgres/pg.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpq's type oids (catalog/pg_type.h is server-side) */
enum {
    OID_BOOL = 16,
    OID_BYTEA = 17,
    OID_INT8 = 20,
    OID_INT2 = 21,
    OID_INT4 = 23,
    OID_OID = 26,
    OID_FLOAT4 = 700,
    OID_FLOAT8 = 701,
    OID_NUMERIC = 1700
};

struct meta_conn {
    struct pg_conn *c;
};

static int mpg_open(const struct store_engine_options *opts, struct meta_conn **out,
                    struct gp_err *err)
{
    if (!opts->host)
        return gp_err_set(err, -EINVAL,
                          "postgres metadata store needs postgres://USER@HOST:PORT/DB");
    struct meta_conn *m = calloc(1, sizeof(*m));
    if (!m)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = pg_conn_open(opts, &m->c, err);
    if (rc == 0)
        rc = pg_conn_simple(m->c, "SET synchronous_commit = off", err);
    if (rc == 0)
        rc = pg_migrate(m->c, -1, err);
    if (rc < 0) {
        pg_conn_close(m->c);
        free(m);
        return rc;
    }
    *out = m;
    return 0;
}

static void mpg_close(struct meta_conn *m)
{
    if (!m)
        return;
    pg_conn_close(m->c);
    free(m);
}

#define MAX_PARAMS 1024 /* a multi-row insert of a group commit: 32 rows x 11 */

/* Runs a prepared statement; *res on success (caller clears). */
static int run(struct meta_conn *m, const char *sql, const struct meta_value *params, int nparams,
               PGresult **res, struct gp_err *err)
{
    if (nparams > MAX_PARAMS)
        return gp_err_set(err, -EINVAL, "statement has %d parameters, at most %d supported",
                          nparams, MAX_PARAMS);
    const char *name;
    int rc = pg_conn_prepared(m->c, sql, &name, err);
    if (rc < 0)
        return rc;
    /* numbers are printed into bufs; up to 64 parameters on the stack */
    char sbufs[64][32];
    const char *svals[64];
    int slens[64], sfmts[64];
    char(*bufs)[32] = sbufs;
    const char **vals = svals;
    int *lens = slens, *fmts = sfmts;
    void *heap = NULL;
    if (nparams > 64) {
        size_t one = 32 + sizeof(char *) + 2 * sizeof(int);
        if (!(heap = malloc((size_t)nparams * one)))
            return gp_err_set(err, -ENOMEM, "out of memory");
        vals = heap;
        lens = (int *)(vals + nparams);
        fmts = lens + nparams;
        bufs = (char(*)[32])(fmts + nparams);
    }
    for (int i = 0; i < nparams; i++) {
        const struct meta_value *v = &params[i];
        lens[i] = 0;
        fmts[i] = 0;
        switch (v->type) {
        case META_INT:
            snprintf(bufs[i], sizeof(bufs[i]), "%" PRId64, v->i);
            vals[i] = bufs[i];
            break;
        case META_REAL:
            snprintf(bufs[i], sizeof(bufs[i]), "%.17g", v->d);
            vals[i] = bufs[i];
            break;
        case META_TEXT:
            if (v->len && memchr(v->p, 0, v->len) == NULL) {
                /* not NUL-terminated: text format needs a terminated copy; send as binary */
                vals[i] = v->p;
                lens[i] = (int)v->len;
                fmts[i] = 1;
            } else {
                vals[i] = v->p;
            }
            break;
        case META_BLOB:
            vals[i] = v->p ? v->p : "";
            lens[i] = (int)v->len;
            fmts[i] = 1;
            break;
        default:
            vals[i] = NULL;
            break;
        }
    }
    PGresult *r = PQexecPrepared(m->c->pg, name, nparams, vals, lens, fmts, 0);
    free(heap);
    int st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        rc = pg_result_error(m->c, r, "statement", err);
        PQclear(r);
        return rc;
    }
    *res = r;
    return 0;
}

static int mpg_exec(struct meta_conn *m, const char *sql, const struct meta_value *params,
                    int nparams, int64_t *changes, struct gp_err *err)
{
    PGresult *r;
    int rc = run(m, sql, params, nparams, &r, err);
    if (rc < 0)
        return rc;
    if (changes) {
        const char *t = PQcmdTuples(r);
        *changes = t && *t ? strtoll(t, NULL, 10) : 0;
    }
    PQclear(r);
    return 0;
}

#define MAX_COLS 64

static int mpg_query(struct meta_conn *m, const char *sql, const struct meta_value *params,
                     int nparams, meta_row_cb cb, void *ctx, struct gp_err *err)
{
    PGresult *r;
    int rc = run(m, sql, params, nparams, &r, err);
    if (rc < 0)
        return rc;
    int ncols = PQnfields(r), nrows = PQntuples(r);
    if (ncols > MAX_COLS) {
        PQclear(r);
        return gp_err_set(err, -EINVAL, "query returns %d columns, at most %d supported", ncols,
                          MAX_COLS);
    }
    struct meta_value vals[MAX_COLS];
    const char *names[MAX_COLS];
    Oid types[MAX_COLS];
    for (int i = 0; i < ncols; i++) {
        names[i] = PQfname(r, i);
        types[i] = PQftype(r, i);
    }
    unsigned char *bytea[MAX_COLS];
    for (int row = 0; row < nrows && rc == 0; row++) {
        int nb = 0;
        for (int i = 0; i < ncols; i++) {
            struct meta_value *v = &vals[i];
            memset(v, 0, sizeof(*v));
            if (PQgetisnull(r, row, i)) {
                v->type = META_NULL;
                continue;
            }
            const char *t = PQgetvalue(r, row, i);
            switch (types[i]) {
            case OID_INT8:
            case OID_INT4:
            case OID_INT2:
            case OID_OID:
                v->type = META_INT;
                v->i = strtoll(t, NULL, 10);
                v->d = (double)v->i;
                break;
            case OID_BOOL:
                v->type = META_INT;
                v->i = t[0] == 't';
                v->d = (double)v->i;
                break;
            case OID_NUMERIC:
            case OID_FLOAT4:
            case OID_FLOAT8:
                v->d = strtod(t, NULL);
                v->i = (int64_t)v->d;
                v->type = types[i] == OID_NUMERIC && !strpbrk(t, ".eEN") ? META_INT : META_REAL;
                if (v->type == META_INT)
                    v->i = strtoll(t, NULL, 10);
                break;
            case OID_BYTEA: {
                size_t len;
                unsigned char *b = PQunescapeBytea((const unsigned char *)t, &len);
                if (!b) {
                    rc = gp_err_set(err, -ENOMEM, "out of memory");
                    break;
                }
                bytea[nb++] = b;
                v->type = META_BLOB;
                v->p = b;
                v->len = len;
                break;
            }
            default:
                v->type = META_TEXT;
                v->p = t;
                v->len = (size_t)PQgetlength(r, row, i);
                break;
            }
        }
        if (rc == 0 && cb) {
            struct meta_row mr = {.ncols = ncols, .cols = vals, .names = names};
            rc = cb(&mr, ctx);
        }
        for (int i = 0; i < nb; i++)
            PQfreemem(bytea[i]);
    }
    PQclear(r);
    return rc;
}

static int mpg_begin(struct meta_conn *m, struct gp_err *err)
{
    if (m->c->in_tx)
        return gp_err_set(err, -EBUSY,
                          "postgres %s: a transaction is already open on this "
                          "thread",
                          m->c->where);
    int rc = pg_conn_simple(m->c, "BEGIN; SET LOCAL synchronous_commit = on", err);
    if (rc == 0)
        m->c->in_tx = 1;
    return rc;
}

static int mpg_commit(struct meta_conn *m, struct gp_err *err)
{
    m->c->in_tx = 0;
    PGresult *r = PQexec(m->c->pg, "COMMIT");
    int rc = 0;
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        rc = pg_result_error(m->c, r, "commit", err);
    else if (strcmp(PQcmdStatus(r), "ROLLBACK") == 0)
        rc = gp_err_set(err, -EIO,
                        "postgres %s: commit: the transaction had failed and was "
                        "rolled back",
                        m->c->where);
    PQclear(r);
    return rc;
}

static int mpg_rollback(struct meta_conn *m, struct gp_err *err)
{
    m->c->in_tx = 0;
    return pg_conn_simple(m->c, "ROLLBACK", err);
}

static int mpg_version(struct meta_conn *m, int *version, struct gp_err *err)
{
    return pg_schema_version(m->c, version, err);
}

/* A transaction-scoped lock on key: every transaction locking the same key waits for the one
 * holding it (in any coordinator sharing the server) until commit or rollback. */
static int mpg_lock(struct meta_conn *m, const char *key, struct gp_err *err)
{
    struct meta_value p = META_T(key);
    return mpg_exec(m, "SELECT pg_advisory_xact_lock(hashtextextended(?, 7))", &p, 1, NULL, err);
}

/* Connects without migrating on open, then migrates to `to` (-1 = newest). */
static int mpg_migrate(const struct store_engine_options *opts, int to, int *version,
                       struct gp_err *err)
{
    struct pg_conn *c;
    int rc = pg_conn_open(opts, &c, err);
    if (rc < 0)
        return rc;
    rc = pg_migrate(c, to, err);
    if (rc == 0 && version)
        rc = pg_schema_version(c, version, err);
    pg_conn_close(c);
    return rc;
}

const struct meta_store_ops meta_postgres_ops = {
        .version = META_STORE_OPS_VERSION,
        .open = mpg_open,
        .close = mpg_close,
        .exec = mpg_exec,
        .query = mpg_query,
        .begin = mpg_begin,
        .commit = mpg_commit,
        .rollback = mpg_rollback,
        .schema_version = mpg_version,
        .skip_locked = " FOR UPDATE SKIP LOCKED",
        .claimer = "pg_backend_pid()",
        .claimer_gone = " OR claimed_by NOT IN (SELECT pid FROM pg_stat_activity)",
        .lock = mpg_lock,
        .migrate = mpg_migrate,
};
