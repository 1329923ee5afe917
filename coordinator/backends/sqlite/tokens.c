/* backends/sqlite/tokens.c — agent tokens per service: random, shown once, stored as SHA-256
 * (secrets.c, shared with user tokens), listed, revoked and validated by hash lookup. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/secrets.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LAST_USED_STEP 60 /* seconds between last_used updates of one token */

int meta_token_create(struct meta_db *db, const char *service, char *token, size_t token_sz,
                      int64_t *id_out, struct gp_err *err)
{
    int64_t sid;
    int rc = meta_service_ensure(db, service, &sid, err);
    if (rc < 0)
        return rc;
    return meta_secret_create(db, &meta_agent_tokens, sid, token, token_sz, id_out, err);
}

int meta_token_list(struct meta_db *db, const char *service, meta_token_cb cb, void *ctx,
                    struct gp_err *err)
{
    return meta_secret_list(db, &meta_agent_tokens, service, cb, ctx, err);
}

int meta_token_revoke(struct meta_db *db, int64_t id, struct gp_err *err)
{
    return meta_secret_revoke(db, &meta_agent_tokens, id, err);
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
