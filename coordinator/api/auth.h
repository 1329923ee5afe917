/* auth.h — who may call what: per-service agent tokens (GPROFILER-API-KEY or Authorization:
 * Bearer) for agent endpoints; for control and query endpoints the caller's identity (user token,
 * session cookie + CSRF token, trusted proxy header, or the ui_token / basic auth as admin). */
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
    char ui_token[256];     /* "" = none */
    char ui_basic[256];     /* "user:pass", "" = none */
    char proxy_header[128]; /* trusted identity header ("X-Forwarded-User"), "" = none */
    char proxies[1024];     /* addresses it is honoured from, comma separated */
    struct meta_db *db;
    pthread_mutex_t mu;
    struct auth_cache_slot cache[AUTH_CACHE_SLOTS];
};

void coord_auth_init(struct coord_auth *a, struct meta_db *db, bool enabled, const char *ui_token,
                     const char *ui_basic);
void coord_auth_destroy(struct coord_auth *a);
/* Trust header (e.g. X-Forwarded-User) naming a gprof user, only from the comma-separated
 * addresses in proxies. */
void coord_auth_set_proxy(struct coord_auth *a, const char *header, const char *proxies);

#define AUTH_SESSION_COOKIE "gprof_session"
#define AUTH_CSRF_HEADER    "X-CSRF-Token"

/* Who is calling the control / query API. `key` is the identity to rate-limit on: "user:NAME",
 * "ui_token", "basic:NAME", else "ip:ADDR" (anonymous). */
struct auth_ident {
    int role; /* enum meta_role; META_ROLE_NONE = not identified */
    char who[META_USER_NAME_MAX +
             16]; /* user name, "ui_token", "basic:NAME", "local", "anonymous" */
    char via[16]; /* "token" | "session" | "proxy" | "ui_token" | "basic" | "auth_off" | "" */
    char services[META_SERVICES_MAX]; /* services it may see and act on; "" = every one */
    char ip[64];
    char key[META_USER_NAME_MAX + 80];
    int64_t user_id; /* 0 unless a user */
};

/* Identifies the caller of a control or query request: 0 with *id filled; -EACCES (answer 401)
 * when no valid credential is given; -EPERM (answer 403) for a cookie session sending a state
 * change (not GET/HEAD) without its CSRF token; other negative errno for store errors. On
 * failure id->who/ip/key still say who tried (anonymous). With auth off: admin "local". */
int auth_identify(struct coord_auth *a, const struct http_req *r, int64_t now,
                  struct auth_ident *id, struct gp_err *err);
/* True when id may see and act on service (sanitised name). */
bool auth_service_allowed(const struct auth_ident *id, const char *service);
/* The session cookie's value (NULL = none), copied into buf. */
const char *auth_session_cookie(const struct http_req *r, char *buf, size_t bufsz);

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
