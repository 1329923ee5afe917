/* sql.h — the SQL driver layer private to the SQL metadata engine (backends/sqlite/): typed
 * parameters and rows, meta_exec/meta_query on this thread's connection, the driver vtable and
 * the SQLite migrations. Only the SQL metadata engines include it (backends/sqlite/, and
 * backends/postgres/ for the driver vtable); callers use meta.h.
 *
 * The domain files here (services.c, tokens.c, profiles.c, outbox.c, adhoc.c, settings.c,
 * control.c) write `?` placeholders (a Postgres driver rewrites them to $1..$n) and SQL that runs
 * on SQLite >= 3.35 and Postgres >= 12 (INSERT .. ON CONFLICT .. DO UPDATE SET x = excluded.x,
 * RETURNING, LOWER(x) LIKE LOWER(?), `||`, CAST(? AS TEXT) IS NULL for optional filters so no
 * parameter is left untyped). SQLite specifics: meta_begin is BEGIN IMMEDIATE with
 * synchronous=FULL; single statements run with synchronous=NORMAL; a busy database is retried
 * for busy_timeout (10 s), then -EBUSY; PRAGMA user_version counts the migrations that ran. */
#ifndef GPROF_COORD_BACKENDS_SQLITE_SQL_H
#define GPROF_COORD_BACKENDS_SQLITE_SQL_H

#include "coordinator/store/engine_options.h"
#include "coordinator/store/meta/meta.h"

#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------ */
/* Driver layer                                                                                */

enum meta_type { META_NULL = 0, META_INT, META_REAL, META_TEXT, META_BLOB };

struct meta_value {
    enum meta_type type;
    int64_t i;     /* META_INT */
    double d;      /* META_REAL */
    const void *p; /* META_TEXT (NUL-terminated unless len set) / META_BLOB */
    size_t len;    /* META_BLOB length; META_TEXT: 0 = strlen(p) */
};

/* Parameter constructors: META_I(42), META_T("x"), META_D(1.5), META_N, META_TN(s) = text or NULL.
 */
#define META_I(x)    ((struct meta_value){.type = META_INT, .i = (int64_t)(x)})
#define META_D(x)    ((struct meta_value){.type = META_REAL, .d = (double)(x)})
#define META_T(x)    ((struct meta_value){.type = META_TEXT, .p = (x)})
#define META_TN(x)   ((x) ? META_T(x) : META_N)
#define META_B(x, n) ((struct meta_value){.type = META_BLOB, .p = (x), .len = (n)})
#define META_N       ((struct meta_value){.type = META_NULL})

/* One result row: cols[i] typed values (TEXT always NUL-terminated; NULL columns have type
 * META_NULL), names[i] the column names. Valid during the callback only. */
struct meta_row {
    int ncols;
    const struct meta_value *cols;
    const char *const *names;
};
/* Return 0 to continue, anything else stops the query and is returned by meta_query. */
typedef int (*meta_row_cb)(const struct meta_row *row, void *ctx);

struct meta_conn; /* a driver's connection, opaque */

/* A metadata driver. All functions fill err on failure. */
#define META_STORE_OPS_VERSION 2

struct meta_store_ops {
    int version; /* META_STORE_OPS_VERSION; members added later are read only when it says so */
    /* Opens one connection to opts and brings the schema to the newest version (migrations
     * are the driver's; run under a lock so concurrent opens agree). */
    int (*open)(const struct store_engine_options *opts, struct meta_conn **out,
                struct gp_err *err);
    void (*close)(struct meta_conn *c);
    /* Runs one statement with bound `?` params; *changes (may be NULL) = rows affected. */
    int (*exec)(struct meta_conn *c, const char *sql, const struct meta_value *params, int nparams,
                int64_t *changes, struct gp_err *err);
    /* Runs one statement and calls cb per row. */
    int (*query)(struct meta_conn *c, const char *sql, const struct meta_value *params, int nparams,
                 meta_row_cb cb, void *ctx, struct gp_err *err);
    int (*begin)(struct meta_conn *c, struct gp_err *err); /* write transaction, taken at once */
    int (*commit)(struct meta_conn *c, struct gp_err *err);
    int (*rollback)(struct meta_conn *c, struct gp_err *err);
    /* Schema version the connection is at (SQLite: PRAGMA user_version). */
    int (*schema_version)(struct meta_conn *c, int *version, struct gp_err *err);
    /* Optional: backend consistency check; *ok = 1 when fine, msg describes problems. */
    int (*check)(struct meta_conn *c, int *ok, char *msg, size_t msgsz, struct gp_err *err);
    /* Version 2. All optional (NULL: none). */
    /* Appended to a SELECT that claims rows so concurrent claimers skip each other's rows
     * (Postgres " FOR UPDATE SKIP LOCKED"); NULL when writers are serialised anyway (SQLite). */
    const char *skip_locked;
    /* SQL naming this connection as a claimer (Postgres "pg_backend_pid()"; NULL: "NULL"), and a
     * condition, ORed to "claim expired", that is true when a row's claimed_by is no longer
     * alive (Postgres: not a live backend). NULL: claims are released when the store is opened,
     * the engine serving one process (SQLite). */
    const char *claimer;
    const char *claimer_gone;
    /* Inside a transaction: waits for, then holds until commit/rollback, a lock named key shared
     * by every process on the same store (NULL: meta_begin already serialises writers). */
    int (*lock)(struct meta_conn *c, const char *key, struct gp_err *err);
    /* Connects to opts and brings its schema to version `to` (-1 = newest), down as well as up;
     * *version (may be NULL) = the version reached. NULL: the engine migrates only up, on open. */
    int (*migrate)(const struct store_engine_options *opts, int to, int *version,
                   struct gp_err *err);
};

struct meta_db;

/* Runs one statement with bound `?` params on this thread's connection. */
int meta_exec(struct meta_db *db, const char *sql, const struct meta_value *params, int nparams,
              int64_t *changes, struct gp_err *err);
int meta_query(struct meta_db *db, const char *sql, const struct meta_value *params, int nparams,
               meta_row_cb cb, void *ctx, struct gp_err *err);
/* Convenience: first column of the first row as int64; -ENOENT when no row or NULL. */
int meta_query_int(struct meta_db *db, const char *sql, const struct meta_value *params,
                   int nparams, int64_t *out, struct gp_err *err);

/* Row helpers for callbacks: NULL/absent -> 0 / NULL. */
int64_t meta_row_int(const struct meta_row *r, int i);
/* Column i as int64, with a default for NULL. */
int64_t meta_row_int_or(const struct meta_row *r, int i, int64_t def);
double meta_row_real(const struct meta_row *r, int i);
const char *meta_row_text(const struct meta_row *r, int i);
/* strdup of a text column, NULL for NULL; sets *oom when allocation fails. */
char *meta_row_strdup(const struct meta_row *r, int i, int *oom);

/* The SQLite driver and its migrations (schema.c; append-only, the engine records how many ran). */
extern const struct meta_store_ops meta_sqlite_ops;
extern const char *const meta_sqlite_migrations[];
extern const int meta_sqlite_nmigrations;

/* The store's skip_locked, claimer and claimer_gone SQL ("", "NULL", "" when it has none). */
const char *meta_sql_skip_locked(struct meta_db *db);
const char *meta_sql_claimer(struct meta_db *db);
const char *meta_sql_claimer_gone(struct meta_db *db);

/* The PostgreSQL driver (backends/postgres/). */
extern const struct meta_store_ops meta_postgres_ops;

/* prefix + 64 random hex chars (getrandom) into out; -EINVAL when outsz is too small. */
int meta_random_token(const char *prefix, char *out, size_t outsz, struct gp_err *err);

/* Current Unix time in seconds. */
int64_t meta_now(void);

#endif
