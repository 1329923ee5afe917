/* backends/sqlite/secrets.c — bearer secrets stored hashed (see secrets.h): random tokens from
 * getrandom, SHA-256 from OpenSSL's libcrypto, one create / list / revoke for every kind. */
#include "coordinator/backends/sqlite/secrets.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_RAND 32 /* bytes of randomness -> 64 hex chars */
#define SQL_MAX    512

const struct meta_secret_kind meta_agent_tokens = {"gpt_", "agent_tokens", "service_id", "services",
                                                   "token"};
const struct meta_secret_kind meta_user_tokens = {"gpu_", "user_tokens", "user_id", "users",
                                                  "user token"};

void meta_token_clear(struct meta_token *t)
{
    if (!t)
        return;
    free(t->service);
    free(t->prefix);
    memset(t, 0, sizeof(*t));
}

void meta_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32) {
        memset(out, '0', 64); /* cannot happen with a working libcrypto; never matches a row */
        out[64] = 0;
        return;
    }
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = 0;
}

void meta_secret_hash(const char *secret, char out[65], char prefix[9])
{
    meta_sha256_hex(secret, strlen(secret), out);
    if (prefix) {
        memcpy(prefix, secret, 8);
        prefix[8] = '\0';
    }
}

static int fill_random(void *buf, size_t n, struct gp_err *err)
{
    unsigned char *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return gp_err_set(err, -errno, "getrandom: %s", strerror(errno));
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int meta_random_token(const char *prefix, char *out, size_t outsz, struct gp_err *err)
{
    size_t n = strlen(prefix);
    if (outsz < n + 2 * TOKEN_RAND + 1)
        return gp_err_set(err, -EINVAL, "token buffer too small (%zu)", outsz);
    unsigned char raw[TOKEN_RAND];
    int rc = fill_random(raw, sizeof(raw), err);
    if (rc < 0)
        return rc;
    static const char hex[] = "0123456789abcdef";
    memcpy(out, prefix, n);
    for (size_t i = 0; i < sizeof(raw); i++) {
        out[n++] = hex[raw[i] >> 4];
        out[n++] = hex[raw[i] & 15];
    }
    out[n] = 0;
    return 0;
}

int meta_secret_create(struct meta_db *db, const struct meta_secret_kind *kind, int64_t owner_id,
                       char *token, size_t token_sz, int64_t *id_out, struct gp_err *err)
{
    if (token_sz < META_TOKEN_MAX)
        return gp_err_set(err, -EINVAL, "token buffer too small (%zu < %d)", token_sz,
                          META_TOKEN_MAX);
    int rc = meta_random_token(kind->prefix, token, token_sz, err);
    if (rc < 0)
        return rc;
    char hash[65], prefix[9], sql[SQL_MAX];
    meta_secret_hash(token, hash, prefix);
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s (%s, token_hash, prefix, created_at) VALUES (?, ?, ?, ?) "
             "RETURNING id",
             kind->table, kind->owner_col);
    struct meta_value p[] = {META_I(owner_id), META_T(hash), META_T(prefix), META_I(meta_now())};
    int64_t id = 0;
    rc = meta_query_int(db, sql, p, 4, &id, err);
    if (rc < 0) {
        memset(token, 0, token_sz);
        return rc;
    }
    if (id_out)
        *id_out = id;
    return 0;
}

struct list_ctx {
    meta_token_cb cb;
    void *ctx;
    int rc;
};

static int list_row(const struct meta_row *r, void *ctx)
{
    struct list_ctx *lc = ctx;
    int oom = 0;
    struct meta_token t = {
            .id = meta_row_int(r, 0),
            .service = meta_row_strdup(r, 1, &oom),
            .prefix = meta_row_strdup(r, 2, &oom),
            .created_at = meta_row_int(r, 3),
            .revoked_at = meta_row_int(r, 4),
            .last_used = meta_row_int(r, 5),
    };
    int rc = oom ? (lc->rc = -ENOMEM, 1) : lc->cb(&t, lc->ctx);
    meta_token_clear(&t);
    return rc;
}

int meta_secret_list(struct meta_db *db, const struct meta_secret_kind *kind, const char *owner,
                     meta_token_cb cb, void *ctx, struct gp_err *err)
{
    char sql[SQL_MAX];
    snprintf(sql, sizeof(sql),
             "SELECT t.id, o.name, t.prefix, t.created_at, t.revoked_at, t.last_used "
             "FROM %s t JOIN %s o ON o.id = t.%s "
             "WHERE CAST(? AS TEXT) IS NULL OR o.name = ? ORDER BY t.id DESC",
             kind->table, kind->owner_table, kind->owner_col);
    struct list_ctx lc = {cb, ctx, 0};
    struct meta_value p[] = {META_TN(owner), META_TN(owner)};
    int rc = meta_query(db, sql, p, 2, list_row, &lc, err);
    if (lc.rc < 0)
        return gp_err_set(err, lc.rc, "out of memory");
    return rc;
}

int meta_secret_revoke(struct meta_db *db, const struct meta_secret_kind *kind, int64_t id,
                       struct gp_err *err)
{
    char sql[SQL_MAX];
    snprintf(sql, sizeof(sql), "UPDATE %s SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
             kind->table);
    struct meta_value p[] = {META_I(meta_now()), META_I(id)};
    int64_t changes = 0;
    int rc = meta_exec(db, sql, p, 2, &changes, err);
    if (rc < 0)
        return rc;
    if (!changes)
        return gp_err_set(err, -ENOENT, "no active %s with id %lld", kind->what, (long long)id);
    return 0;
}
