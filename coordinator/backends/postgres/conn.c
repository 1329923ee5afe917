/* backends/postgres/conn.c — one libpq connection: connect with the spec's options and a clear
 * error, the per-fixture schema, and the cache of prepared statements keyed by SQL text (the
 * driver's `?` placeholders rewritten to $1..$n once, when the statement is prepared). */
#include "coordinator/backends/postgres/pg.h"
#include "coordinator/store/engines.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pg_stmt {
    char *sql;     /* the caller's text, `?` placeholders */
    char name[16]; /* "s<n>" */
    unsigned hash;
};

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* "?" -> "$n" outside quotes ('...', "...") and comments; returns malloc'd text. */
static char *rewrite_placeholders(const char *sql, int *nparams)
{
    size_t len = strlen(sql), n = 0;
    for (const char *p = sql; *p; p++)
        n += *p == '?';
    char *out = malloc(len + n * 5 + 1), *o = out;
    if (!out)
        return NULL;
    int k = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
        } else if (*p == '?') {
            o += sprintf(o, "$%d", ++k);
            continue;
        }
        *o++ = *p;
    }
    *o = 0;
    *nparams = k;
    return out;
}

int pg_result_error(struct pg_conn *c, PGresult *res, const char *what, struct gp_err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    if (!msg)
        msg = PQerrorMessage(c->pg);
    int code = -EIO;
    if (state && strcmp(state, "23505") == 0)
        code = -EEXIST;
    else if (state && (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0))
        code = -EINVAL; /* check, not-null, foreign key; bad values */
    else if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
        code = -EAGAIN; /* serialization failure, deadlock: retry the transaction */
    else if (PQstatus(c->pg) == CONNECTION_BAD)
        code = -ECONNRESET;
    int n = (int)strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return gp_err_set(err, code, "postgres %s: %s: %.*s%s%s%s", c->where, what, n, msg,
                      state ? " (SQLSTATE " : "", state ? state : "", state ? ")" : "");
}

int pg_conn_simple(struct pg_conn *c, const char *sql, struct gp_err *err)
{
    PGresult *res = PQexec(c->pg, sql);
    int st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_result_error(c, res, "statement", err);
    PQclear(res);
    return rc;
}

int pg_conn_prepared(struct pg_conn *c, const char *sql, const char **name, struct gp_err *err)
{
    unsigned h = hash_str(sql);
    for (int i = 0; i < c->nstmts; i++)
        if (c->stmts[i].hash == h && strcmp(c->stmts[i].sql, sql) == 0) {
            *name = c->stmts[i].name;
            return 0;
        }
    struct pg_stmt *ns = realloc(c->stmts, sizeof(*ns) * (size_t)(c->nstmts + 1));
    if (!ns)
        return gp_err_set(err, -ENOMEM, "out of memory");
    c->stmts = ns;
    struct pg_stmt *s = &ns[c->nstmts];
    int np;
    char *text = rewrite_placeholders(sql, &np);
    if (!text || !(s->sql = strdup(sql))) {
        free(text);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    s->hash = h;
    snprintf(s->name, sizeof(s->name), "s%d", c->nstmts);
    PGresult *res = PQprepare(c->pg, s->name, text, 0, NULL);
    free(text);
    int rc = 0;
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = pg_result_error(c, res, "prepare", err);
        gp_err_prefix(err, "%.160s", sql); /* which statement (no values: they are bound) */
    }
    PQclear(res);
    if (rc < 0) {
        free(s->sql);
        return rc;
    }
    c->nstmts++;
    *name = s->name;
    return 0;
}

/* A schema name from ?schema=: letters, digits and '_' only (it is spliced into SQL). */
static int schema_param(const struct store_engine_options *opts, char *buf, size_t sz,
                        struct gp_err *err)
{
    int rc = store_engine_param(opts, "schema", buf, sz);
    if (rc < 0)
        return gp_err_set(err, -EINVAL, "postgres: bad ?schema= value");
    if (rc == 0) {
        buf[0] = 0;
        return 0;
    }
    for (const char *p = buf; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return gp_err_set(err, -EINVAL,
                              "postgres: ?schema=%s: use lowercase letters, digits and '_'", buf);
    return 1;
}

int pg_conn_open(const struct store_engine_options *opts, struct pg_conn **out, struct gp_err *err)
{
    char schema[64], port[16], sslmode[32];
    int rc = schema_param(opts, schema, sizeof(schema), err);
    if (rc < 0)
        return rc;
    int has_ssl = store_engine_param(opts, "sslmode", sslmode, sizeof(sslmode)) == 1;
    struct pg_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return gp_err_set(err, -ENOMEM, "out of memory");
    snprintf(port, sizeof(port), "%d", opts->port ? opts->port : 5432);
    snprintf(c->where, sizeof(c->where), "%s:%s/%s", opts->host, port,
             opts->database ? opts->database : "postgres");
    const char *keys[8], *vals[8];
    int n = 0;
#define KV(k, v)                                                                                   \
    do {                                                                                           \
        keys[n] = (k);                                                                             \
        vals[n++] = (v);                                                                           \
    } while (0)
    KV("host", opts->host);
    KV("port", port);
    if (opts->database)
        KV("dbname", opts->database);
    if (opts->user)
        KV("user", opts->user);
    if (opts->password)
        KV("password", opts->password);
    KV("connect_timeout", "10");
    if (has_ssl)
        KV("sslmode", sslmode);
#undef KV
    keys[n] = vals[n] = NULL;
    c->pg = PQconnectdbParams(keys, vals, 0);
    if (!c->pg) {
        free(c);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (PQstatus(c->pg) != CONNECTION_OK) {
        const char *m = PQerrorMessage(c->pg);
        int code = strstr(m, "password") ? -EACCES : -ECONNREFUSED;
        int ml = (int)strlen(m);
        while (ml > 0 && (m[ml - 1] == '\n' || m[ml - 1] == ' '))
            ml--;
        gp_err_set(err, code, "postgres %s: cannot connect as user %s: %.*s; %s", c->where,
                   opts->user ? opts->user : "(default)", ml, m,
                   code == -EACCES ? "check the user and its password (meta_password, "
                                     "meta_password_file or PGPASSWORD)"
                                   : "check that the server runs and accepts TCP connections "
                                     "there (listen_addresses, port, pg_hba.conf)");
        pg_conn_close(c);
        return code;
    }
    rc = pg_conn_simple(c, "SET client_min_messages = error", err);
    if (rc == 0 && schema[0]) {
        char sql[200];
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s; SET search_path = %s", schema,
                 schema);
        /* concurrent CREATE SCHEMA IF NOT EXISTS can race on the catalog: retry once */
        if ((rc = pg_conn_simple(c, sql, err)) < 0)
            rc = pg_conn_simple(c, sql, err);
    }
    if (rc < 0) {
        pg_conn_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

void pg_conn_close(struct pg_conn *c)
{
    if (!c)
        return;
    if (c->pg)
        PQfinish(c->pg);
    for (int i = 0; i < c->nstmts; i++)
        free(c->stmts[i].sql);
    free(c->stmts);
    free(c);
}
