/* secrets.h — bearer secrets stored hashed, the part agent tokens (tokens.c) and user tokens
 * (users.c) share: "<prefix>" + 64 random hex chars, kept as SHA-256, created, listed, revoked. */
#ifndef GPROF_COORD_BACKENDS_SQLITE_SECRETS_H
#define GPROF_COORD_BACKENDS_SQLITE_SECRETS_H

#include "coordinator/backends/sqlite/sql.h"

#include <stdint.h>

/* One kind of token: its table has the columns id, <owner_col>, token_hash, prefix, created_at,
 * revoked_at, last_used; owner_col references owner_table(id), whose `name` lists name it. */
struct meta_secret_kind {
    const char *prefix;      /* of the clear token: "gpt_", "gpu_" */
    const char *table;       /* "agent_tokens" */
    const char *owner_col;   /* "service_id" */
    const char *owner_table; /* "services" */
    const char *what;        /* in messages: "token", "user token" */
};

extern const struct meta_secret_kind meta_agent_tokens;
extern const struct meta_secret_kind meta_user_tokens;

/* SHA-256 hex of secret into out; its first 8 characters into prefix (may be NULL). */
void meta_secret_hash(const char *secret, char out[65], char prefix[9]);
/* A new token of kind owned by owner_id: the clear token into token (token_sz >= META_TOKEN_MAX,
 * zeroed on failure), its row id into *id_out (may be NULL). */
int meta_secret_create(struct meta_db *db, const struct meta_secret_kind *kind, int64_t owner_id,
                       char *token, size_t token_sz, int64_t *id_out, struct gp_err *err);
/* Tokens of kind whose owner is named owner (NULL = all), newest first, revoked ones included;
 * meta_token.service holds the owner's name. */
int meta_secret_list(struct meta_db *db, const struct meta_secret_kind *kind, const char *owner,
                     meta_token_cb cb, void *ctx, struct gp_err *err);
/* Revokes token id of kind; -ENOENT when no such active token. */
int meta_secret_revoke(struct meta_db *db, const struct meta_secret_kind *kind, int64_t id,
                       struct gp_err *err);

#endif
