/* backends/sqlite/util.h — what every SQLite-backed store shares: opening a connection in WAL mode
 * with a busy timeout, versioned migrations (PRAGMA user_version), a prepared-statement cache and
 * the mapping of SQLite result codes to errno-style codes with actionable messages. */
#ifndef GPROF_COORD_STORE_SQLITE_UTIL_H
#define GPROF_COORD_STORE_SQLITE_UTIL_H

#include "common/err.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define SQ_BUSY_TIMEOUT_MS 10000
#define SQ_STMT_CACHE      64

struct sq_conn {
    sqlite3 *db;
    const char *path;
    int in_tx;
    struct {
        char *sql; /* copy of the statement text (the cache key) */
        uint64_t hash;
        sqlite3_stmt *stmt;
    } cache[SQ_STMT_CACHE];
};

/* Opens path (created when missing) with WAL, synchronous=NORMAL, busy timeout, foreign keys,
 * then applies migrations[i] for every i >= PRAGMA user_version inside one BEGIN IMMEDIATE
 * transaction (so concurrent openers agree) and sets user_version = n. */
int sq_open(const char *path, const char *const *migrations, int n, struct sq_conn **out,
            struct gp_err *err);
void sq_close(struct sq_conn *c);

/* Returns a reset prepared statement for sql, cached per connection (sql should be a string
 * literal or otherwise stable). */
int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct gp_err *err);
/* Same, but when the cached statement is still running (a row callback re-entering the same
 * query) a private statement is prepared and *owned = 1; release either with sq_done. */
int sq_prepare_ex(struct sq_conn *c, const char *sql, sqlite3_stmt **out, int *owned,
                  struct gp_err *err);
void sq_done(sqlite3_stmt *st, int owned);
/* Executes SQL text with no parameters and no rows (may contain several statements). */
int sq_exec_simple(struct sq_conn *c, const char *sql, struct gp_err *err);

/* Durable write transaction: synchronous=FULL then BEGIN IMMEDIATE; commit restores NORMAL. */
int sq_begin(struct sq_conn *c, struct gp_err *err);
int sq_commit(struct sq_conn *c, struct gp_err *err);
void sq_rollback(struct sq_conn *c);

/* Maps rc to -EBUSY (busy/locked), -EEXIST (unique/primary key), -ENOSPC (full), -ENOMEM,
 * -EROFS (readonly), -EACCES (cannot open/perm), -EIO (other) and sets err with what + the
 * SQLite message. */
int sq_error(struct sq_conn *c, int rc, struct gp_err *err, const char *what);
int sq_integrity_check(struct sq_conn *c, int *ok, char *msg, size_t msgsz, struct gp_err *err);

#endif
