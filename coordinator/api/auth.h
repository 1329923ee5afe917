/* auth.h — who may call what: per-service agent tokens (GPROFILER-API-KEY or Authorization:
 * Bearer) for agent endpoints, a UI token or basic auth for control and query endpoints. */
#ifndef GPROF_COORD_API_AUTH_H
#define GPROF_COORD_API_AUTH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "coordinator/http/server.h"
#include "coordinator/store/meta/meta.h"

#define AUTH_CACHE_SLOTS 1024
#define AUTH_CACHE_TTL   30 /* seconds a validated token is trusted without a full lookup */

/* A validated token; trusted only while the store's revocation generation is unchanged, so a
 * revocation (even by `token revoke` in another process) takes effect on the next request. */
struct auth_cache_slot {
    char key[65]; /* sha256 hex of the token */
    char service[256];
    int64_t until;
    int64_t generation; /* meta_token_generation() when validated */
};

struct coord_auth {
    bool enabled;
    char ui_token[256]; /* "" = none */
    char ui_basic[256]; /* "user:pass", "" = none */
    struct meta_db *db;
    pthread_mutex_t mu;
    struct auth_cache_slot cache[AUTH_CACHE_SLOTS];
};

void coord_auth_init(struct coord_auth *a, struct meta_db *db, bool enabled, const char *ui_token,
                     const char *ui_basic);
void coord_auth_destroy(struct coord_auth *a);

/* The token an agent presented: GPROFILER-API-KEY, Authorization: Bearer, or ?key=. NULL = none. */
const char *auth_agent_token(const struct http_req *r, char *buf, size_t bufsz);
/* 0 when the request carries a token valid for service (NULL = any service; the token's service
 * is written to service_out when non-NULL); -EACCES with a message otherwise. With auth off
 * always 0. */
int auth_check_agent(struct coord_auth *a, const struct http_req *r, const char *service,
                     char *service_out, size_t outsz, int64_t now, struct gp_err *err);
/* 0 when the request carries the UI token (Bearer or X-Gprof-UI-Token) or basic auth. */
int auth_check_ui(struct coord_auth *a, const struct http_req *r, struct gp_err *err);

#endif
