/* backends/sqlite/tokens.c — agent tokens per service: random, shown once, stored as SHA-256
 * (OpenSSL's libcrypto), listed, revoked and validated by hash lookup. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TOKEN_PREFIX   "gpt_"
#define TOKEN_RAND     32 /* bytes of randomness -> 64 hex chars */
#define LAST_USED_STEP 60 /* seconds between last_used updates of one token */

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

void meta_token_clear(struct meta_token *t)
{
    if (!t)
        return;
    free(t->service);
    free(t->prefix);
    memset(t, 0, sizeof(*t));
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

int meta_token_create(struct meta_db *db, const char *service, char *token, size_t token_sz,
                      int64_t *id_out, struct gp_err *err)
{
    if (token_sz < META_TOKEN_MAX)
        return gp_err_set(err, -EINVAL, "token buffer too small (%zu < %d)", token_sz,
                          META_TOKEN_MAX);
    int64_t sid;
    int rc = meta_service_ensure(db, service, &sid, err);
    if (rc < 0)
        return rc;
    if ((rc = meta_random_token(TOKEN_PREFIX, token, token_sz, err)) < 0)
        return rc;
    size_t n = strlen(token);
    char hash[65], prefix[9];
    meta_sha256_hex(token, n, hash);
    memcpy(prefix, token, 8);
    prefix[8] = 0;
    struct meta_value p[] = {META_I(sid), META_T(hash), META_T(prefix), META_I(meta_now())};
    rc = meta_query_int(db,
                        "INSERT INTO agent_tokens (service_id, token_hash, prefix, created_at) "
                        "VALUES (?, ?, ?, ?) RETURNING id",
                        p, 4, id_out, err);
    if (rc < 0)
        memset(token, 0, token_sz);
    return rc;
}

struct list_ctx {
    meta_token_cb cb;
    void *ctx;
    int rc;
};

static int list_cb(const struct meta_row *r, void *ctx)
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

int meta_token_list(struct meta_db *db, const char *service, meta_token_cb cb, void *ctx,
                    struct gp_err *err)
{
    struct list_ctx lc = {cb, ctx, 0};
    struct meta_value p[] = {META_TN(service), META_TN(service)};
    int rc = meta_query(db,
                        "SELECT t.id, s.name, t.prefix, t.created_at, t.revoked_at, t.last_used "
                        "FROM agent_tokens t JOIN services s ON s.id = t.service_id "
                        "WHERE CAST(? AS TEXT) IS NULL OR s.name = ? ORDER BY t.id DESC",
                        p, 2, list_cb, &lc, err);
    if (lc.rc < 0)
        return gp_err_set(err, lc.rc, "out of memory");
    return rc;
}

int meta_token_revoke(struct meta_db *db, int64_t id, struct gp_err *err)
{
    struct meta_value p[] = {META_I(meta_now()), META_I(id)};
    int64_t changes = 0;
    int rc = meta_exec(db,
                       "UPDATE agent_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       p, 2, &changes, err);
    if (rc < 0)
        return rc;
    if (!changes)
        return gp_err_set(err, -ENOENT, "no active token with id %lld", (long long)id);
    return 0;
}

int meta_token_generation(struct meta_db *db, int64_t *gen, struct gp_err *err)
{
    return meta_query_int(db, "SELECT generation FROM token_generation WHERE id = 1", NULL, 0, gen,
                          err);
}

struct val_ctx {
    int found;
    int64_t id, last_used;
    char service[META_NAME_MAX];
};

static int val_cb(const struct meta_row *r, void *ctx)
{
    struct val_ctx *vc = ctx;
    vc->found = 1;
    vc->id = meta_row_int(r, 0);
    const char *s = meta_row_text(r, 1);
    snprintf(vc->service, sizeof(vc->service), "%s", s ? s : "");
    vc->last_used = meta_row_int(r, 2);
    return 1;
}

int meta_token_validate(struct meta_db *db, const char *token, const char *service,
                        char *service_out, size_t service_out_sz, struct gp_err *err)
{
    if (!token || !*token || strlen(token) >= META_TOKEN_MAX)
        return gp_err_set(err, -EACCES, "missing or malformed API key");
    char hash[65];
    meta_sha256_hex(token, strlen(token), hash);
    struct val_ctx vc = {0};
    struct meta_value p = META_T(hash);
    int rc = meta_query(db,
                        "SELECT t.id, s.name, t.last_used FROM agent_tokens t "
                        "JOIN services s ON s.id = t.service_id "
                        "WHERE t.token_hash = ? AND t.revoked_at IS NULL",
                        &p, 1, val_cb, &vc, err);
    if (rc < 0)
        return rc;
    if (!vc.found)
        return gp_err_set(err, -EACCES, "invalid or revoked API key");
    if (service) {
        char clean[META_NAME_MAX];
        meta_service_sanitize(service, clean, sizeof(clean));
        if (strcmp(clean, vc.service) != 0)
            return gp_err_set(err, -EACCES, "API key is not valid for service '%s'", clean);
    }
    if (service_out && service_out_sz)
        snprintf(service_out, service_out_sz, "%s", vc.service);
    int64_t now = meta_now();
    if (now - vc.last_used >= LAST_USED_STEP) {
        struct meta_value u[] = {META_I(now), META_I(vc.id)};
        struct gp_err ignored = {0};
        meta_exec(db, "UPDATE agent_tokens SET last_used = ? WHERE id = ?", u, 2, NULL,
                  &ignored); /* best effort: a busy database must not refuse a valid token */
    }
    return 0;
}
