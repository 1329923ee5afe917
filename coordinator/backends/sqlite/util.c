/* backends/sqlite/util.c — SQLite connection setup, migrations, statement cache and error mapping.
 */
#include "coordinator/backends/sqlite/util.h"
#include "common/hash.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sq_error(struct sq_conn *c, int rc, struct gp_err *err, const char *what)
{
    const char *msg = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    const char *path = c && c->path ? c->path : "database";
    int code;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        code = -EBUSY;
        return gp_err_set(err, code, "%s: %s: %s; another process holds a long write lock, retry",
                          path, what, msg);
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            code = -EEXIST;
        else
            code = -EINVAL;
        break;
    case SQLITE_FULL:
        return gp_err_set(err, -ENOSPC, "%s: %s: %s; free disk space", path, what, msg);
    case SQLITE_NOMEM:
        code = -ENOMEM;
        break;
    case SQLITE_READONLY:
        return gp_err_set(err, -EROFS, "%s: %s: %s; check the file and directory permissions", path,
                          what, msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return gp_err_set(err, -EACCES,
                          "%s: %s: %s; check that the directory exists and is writable", path, what,
                          msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return gp_err_set(err, -EIO, "%s: %s: %s; the database is damaged, restore a backup", path,
                          what, msg);
    default:
        code = -EIO;
        break;
    }
    return gp_err_set(err, code, "%s: %s: %s", path, what, msg);
}

int sq_exec_simple(struct sq_conn *c, const char *sql, struct gp_err *err)
{
    char *em = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &em);
    if (rc != SQLITE_OK) {
        int r = sq_error(c, rc, err, em ? em : "exec");
        sqlite3_free(em);
        return r;
    }
    return 0;
}

static int pragma_int(struct sq_conn *c, const char *sql, int *out, struct gp_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(c, rc, err, sql);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        *out = 0;
        rc = SQLITE_OK;
    }
    int r = rc == SQLITE_OK ? 0 : sq_error(c, rc, err, sql);
    sqlite3_finalize(st);
    return r;
}

static int migrate(struct sq_conn *c, const char *const *migrations, int n, struct gp_err *err)
{
    int v = 0;
    int rc = pragma_int(c, "PRAGMA user_version", &v, err);
    if (rc < 0)
        return rc;
    if (v == n)
        return 0;
    if ((rc = sq_exec_simple(c, "BEGIN IMMEDIATE", err)) < 0)
        return rc;
    if ((rc = pragma_int(c, "PRAGMA user_version", &v, err)) < 0)
        goto fail;
    if (v > n) {
        rc = gp_err_set(err, -EPROTO,
                        "%s: schema version %d is newer than this program knows (%d); run a "
                        "newer gprof-coordinator",
                        c->path, v, n);
        goto fail;
    }
    for (int i = v; i < n; i++) {
        if ((rc = sq_exec_simple(c, migrations[i], err)) < 0) {
            gp_err_prefix(err, "migration %d", i + 1);
            goto fail;
        }
    }
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", n);
    if ((rc = sq_exec_simple(c, sql, err)) < 0)
        goto fail;
    return sq_exec_simple(c, "COMMIT", err);
fail:
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sq_open(const char *path, const char *const *migrations, int n, struct sq_conn **out,
            struct gp_err *err)
{
    struct sq_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return gp_err_set(err, -ENOMEM, "out of memory");
    c->path = path;
    int rc = sqlite3_open_v2(
            path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        int r = sq_error(c, rc, err, "open");
        sq_close(c);
        return r;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, SQ_BUSY_TIMEOUT_MS);
    /* journal_mode=WAL is persistent; setting it again is cheap. */
    if ((rc = sq_exec_simple(c,
                             "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                             "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; "
                             "PRAGMA cache_size=-16000",
                             err)) < 0)
        goto fail;
    if ((rc = migrate(c, migrations, n, err)) < 0)
        goto fail;
    *out = c;
    return 0;
fail:
    sq_close(c);
    return rc;
}

void sq_close(struct sq_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < SQ_STMT_CACHE; i++) {
        if (c->cache[i].stmt)
            sqlite3_finalize(c->cache[i].stmt);
        free(c->cache[i].sql);
    }
    if (c->db)
        sqlite3_close_v2(c->db);
    free(c);
}

int sq_prepare(struct sq_conn *c, const char *sql, sqlite3_stmt **out, struct gp_err *err)
{
    return sq_prepare_ex(c, sql, out, NULL, err);
}

void sq_done(sqlite3_stmt *st, int owned)
{
    if (!st)
        return;
    if (owned)
        sqlite3_finalize(st);
    else
        sqlite3_reset(st);
}

int sq_prepare_ex(struct sq_conn *c, const char *sql, sqlite3_stmt **out, int *owned,
                  struct gp_err *err)
{
    if (owned)
        *owned = 0;
    uint64_t h = gp_hash_bytes(GP_HASH_SEED, sql, strlen(sql));
    for (int i = 0; i < SQ_STMT_CACHE; i++) {
        if (!c->cache[i].sql)
            break;
        if (c->cache[i].hash == h && strcmp(c->cache[i].sql, sql) == 0) {
            sqlite3_stmt *st = c->cache[i].stmt;
            if (owned && sqlite3_stmt_busy(st)) {
                /* Re-entered from a row callback of the same statement: use a private one. */
                int rc = sqlite3_prepare_v2(c->db, sql, -1, out, NULL);
                if (rc != SQLITE_OK)
                    return sq_error(c, rc, err, "prepare");
                *owned = 1;
                return 0;
            }
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            *out = st;
            return 0;
        }
    }
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(c, rc, err, "prepare");
    char *copy = strdup(sql);
    if (!copy) {
        sqlite3_finalize(st);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    int slot = -1;
    for (int i = 0; i < SQ_STMT_CACHE; i++)
        if (!c->cache[i].sql) {
            slot = i;
            break;
        }
    if (slot < 0) {
        /* Evict the last slot so the (static) statements at the front stay cached. */
        slot = SQ_STMT_CACHE - 1;
        sqlite3_finalize(c->cache[slot].stmt);
        free(c->cache[slot].sql);
    }
    c->cache[slot].sql = copy;
    c->cache[slot].hash = h;
    c->cache[slot].stmt = st;
    *out = st;
    return 0;
}

int sq_begin(struct sq_conn *c, struct gp_err *err)
{
    if (c->in_tx)
        return gp_err_set(err, -EBUSY, "%s: a transaction is already open on this thread", c->path);
    int rc = sq_exec_simple(c, "PRAGMA synchronous=FULL", err);
    if (rc < 0)
        return rc;
    rc = sq_exec_simple(c, "BEGIN IMMEDIATE", err);
    if (rc < 0) {
        sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
        return rc;
    }
    c->in_tx = 1;
    return 0;
}

int sq_commit(struct sq_conn *c, struct gp_err *err)
{
    if (!c->in_tx)
        return gp_err_set(err, -EINVAL, "%s: commit without a transaction", c->path);
    int rc = sq_exec_simple(c, "COMMIT", err);
    if (rc < 0) {
        sq_rollback(c);
        return rc;
    }
    c->in_tx = 0;
    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    return 0;
}

void sq_rollback(struct sq_conn *c)
{
    if (!sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    c->in_tx = 0;
    sqlite3_exec(c->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
}

int sq_integrity_check(struct sq_conn *c, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_error(c, rc, err, "integrity_check");
    *ok = 1;
    if (msg && msgsz)
        msg[0] = 0;
    size_t used = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (!t || strcmp(t, "ok") != 0)
            *ok = 0;
        if (msg && t && used + 1 < msgsz) {
            int w = snprintf(msg + used, msgsz - used, "%s%s", used ? "; " : "", t);
            if (w > 0)
                used += (size_t)w < msgsz - used ? (size_t)w : msgsz - used - 1;
        }
    }
    int r = rc == SQLITE_DONE ? 0 : sq_error(c, rc, err, "integrity_check");
    sqlite3_finalize(st);
    return r;
}
