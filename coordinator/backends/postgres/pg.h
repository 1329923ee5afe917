/* backends/postgres/pg.h — private to the PostgreSQL metadata engine: one libpq connection with
 * its prepared-statement cache (conn.c), the SQL driver vtable (driver.c) and the versioned
 * migrations up and down under an advisory lock (migrations.c). */
#ifndef GPROF_COORD_BACKENDS_POSTGRES_PG_H
#define GPROF_COORD_BACKENDS_POSTGRES_PG_H

#include "coordinator/store/engine_options.h"
#include "common/err.h"

#include <libpq-fe.h>

struct pg_stmt;

/* One connection: the server, its prepared statements (by SQL text) and the transaction state. */
struct pg_conn {
    PGconn *pg;
    char where[300]; /* "host:port/db" for messages, never credentials */
    struct pg_stmt *stmts;
    int nstmts;
    int in_tx;
};

/* Connects (spec password, else the caller's fallback, else PGPASSWORD / ~/.pgpass through
 * libpq), creates the ?schema= schema when missing and sets search_path to it. Errors name
 * host:port and the remedy, never the password. */
int pg_conn_open(const struct store_engine_options *opts, struct pg_conn **out, struct gp_err *err);
void pg_conn_close(struct pg_conn *c);
/* Runs sql (one or more statements, no parameters); 0 or a negative errno with err filled. */
int pg_conn_simple(struct pg_conn *c, const char *sql, struct gp_err *err);
/* Maps a failed result to a negative errno (-EEXIST unique violation, -EINVAL check/type,
 * -EAGAIN serialization failure or deadlock, -EIO otherwise) and fills err with what. */
int pg_result_error(struct pg_conn *c, PGresult *res, const char *what, struct gp_err *err);
/* The prepared statement name for sql with nparams `$n` (prepared on first use). */
int pg_conn_prepared(struct pg_conn *c, const char *sql, const char **name, struct gp_err *err);

/* Migrations: meta_pg_migrations[i] brings the schema from version i to i+1, .down back. */
struct pg_migration {
    const char *up, *down;
};
extern const struct pg_migration meta_pg_migrations[];
extern const int meta_pg_nmigrations;
/* Brings the connection's schema to version `to` (-1 = newest), up or down, each step in its own
 * transaction, under pg_advisory_lock so concurrent coordinators agree. */
int pg_migrate(struct pg_conn *c, int to, struct gp_err *err);
/* The version recorded in schema_migrations (0 = none). */
int pg_schema_version(struct pg_conn *c, int *version, struct gp_err *err);

#endif
