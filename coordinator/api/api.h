/* api.h — the coordinator's HTTP endpoints (agent, control, query) bound to the store, the
 * control plane and auth; coord_api_routes() hands the routing table to the HTTP server. */
#ifndef GPROF_COORD_API_API_H
#define GPROF_COORD_API_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/api/auth.h"
#include "coordinator/control/plane.h"
#include "coordinator/http/server.h"
#include "coordinator/query/answer_cache.h"
#include "coordinator/query/merge_flight.h"
#include "coordinator/store/store.h"

/* What the agent endpoints took in, for GET /metrics (api/prom_api.c): relaxed atomics, a few
 * adds per request, no lock. */
struct coord_counters {
    atomic_uint_fast64_t profiles;      /* uploads stored (200) */
    atomic_uint_fast64_t profile_wire;  /* their bytes as received (gzip) */
    atomic_uint_fast64_t profile_bytes; /* their bytes decoded */
    atomic_uint_fast64_t samples;       /* samples in them */
    atomic_uint_fast64_t heartbeats;    /* heartbeats answered (2xx) */
    atomic_uint_fast64_t completions;   /* command completions answered (2xx) */
};

struct http_ratelimit;

struct coord_api {
    struct coord_store *store;
    struct cp_plane *plane;
    struct coord_auth *auth;
    size_t max_upload;     /* compressed upload limit (4 MiB) */
    size_t max_request;    /* other request bodies (1 MiB) */
    size_t default_stacks; /* stacksCount default (10000) */
    size_t max_stacks;     /* stacksCount cap */
    bool metrics_public;   /* GET /metrics without UI credentials */
    struct coord_counters counters;
    _Atomic(struct http_server *) srv; /* set once serving: its request counters */
    int64_t started;                   /* Unix seconds */
    int64_t session_ttl_s;             /* UI session lifetime (POST /api/login) */
    bool tls;                          /* served over HTTPS: session cookies are Secure */
    struct http_ratelimit *login_rl;   /* failed sign-ins per address and per name; NULL = off */
    double login_rate;                 /* its rate (per second) and burst, for the 429 message */
    unsigned login_burst;
    struct answer_cache *answers; /* finished flame graphs (NULL = none kept) */
    struct merge_flight *merges;  /* merges under way or just done, shared (NULL = none) */
};

/* Fills routes (at most max) and returns how many. */
size_t coord_api_routes(struct coord_api *api, struct http_route *routes, size_t max);

/* Current time in Unix seconds (wall clock). */
int64_t coord_now(void);

/* Handlers, one file per area. */
void api_health(const struct http_req *r, struct http_resp *w, void *ctx);
void api_profiles(const struct http_req *r, struct http_resp *w, void *ctx);
void api_heartbeat(const struct http_req *r, struct http_resp *w, void *ctx);
void api_command_completion(const struct http_req *r, struct http_resp *w, void *ctx);

void api_profile_request(const struct http_req *r, struct http_resp *w, void *ctx);
void api_profile_request_bulk(const struct http_req *r, struct http_resp *w, void *ctx);
void api_profile_request_get(const struct http_req *r, struct http_resp *w, void *ctx);
void api_host_status(const struct http_req *r, struct http_resp *w, void *ctx);

void api_services(const struct http_req *r, struct http_resp *w, void *ctx);
/* GET /api/services/summary (api/services_summary_api.c): every service's hosts, sparkline,
 * last data, CPU and memory over a range. */
void api_services_summary(const struct http_req *r, struct http_resp *w, void *ctx);
void api_flamegraph(const struct http_req *r, struct http_resp *w, void *ctx);
void api_flamegraph_diff(const struct http_req *r, struct http_resp *w, void *ctx);
/* GET /api/flamegraph/sandwich (api/sandwich_api.c): a function's callers and callees. */
void api_flamegraph_sandwich(const struct http_req *r, struct http_resp *w, void *ctx);
void api_datetime_with_data(const struct http_req *r, struct http_resp *w, void *ctx);
void api_metrics_summary(const struct http_req *r, struct http_resp *w, void *ctx);
void api_metrics_graph(const struct http_req *r, struct http_resp *w, void *ctx);
void api_adhoc_list(const struct http_req *r, struct http_resp *w, void *ctx);
void api_adhoc_content(const struct http_req *r, struct http_resp *w, void *ctx);
void api_html_metadata(const struct http_req *r, struct http_resp *w, void *ctx);
/* The blob key prefix of a host's PerfSpect reports ("perfspect/<service>/<host>/"). */
void api_perfspect_prefix(const char *service, const char *host, char *out, size_t len);
/* The blob under that prefix holding the key of the host's newest report. */
#define API_PERFSPECT_LATEST "latest"
void api_settings_get(const struct http_req *r, struct http_resp *w, void *ctx);
void api_settings_put(const struct http_req *r, struct http_resp *w, void *ctx);
void api_filter_values(const struct http_req *r, struct http_resp *w, void *ctx);
/* GET /metrics, Prometheus text (api/prom_api.c); api_pre_metrics lets it through without
 * credentials when metrics_public (else as the UI API: open with auth off, token with it on). */
void api_prom_metrics(const struct http_req *r, struct http_resp *w, void *ctx);
bool api_pre_metrics(const struct http_req *r, struct http_resp *w, char *who, size_t whosz,
                     void *ctx);
/* The web UI (api/static_api.c): GET / and GET /ui/<file>, no credentials needed. */
void api_ui_static(const struct http_req *r, struct http_resp *w, void *ctx);
/* Serves the UI from dir (every file of the built-in UI, read now; a missing or unreadable one
 * is an error naming it) instead of the built-in copy. Call before the server starts. */
int api_ui_load_dir(const char *dir, struct gp_err *err);
/* Frees what api_ui_load_dir read and serves the built-in copy again. */
void api_ui_unload_dir(void);

/* Largest heartbeat or command completion body, on the wire and inflated: a gProfiler agent
 * sends well under a kilobyte. */
#define API_AGENT_MSG_MAX (64u * 1024)

/* Route pre-hooks (api/common.c): check the agent token / UI credentials from the header
 * before the body is read; answer 401 and return false when refused. api_pre_ui also names
 * the caller in who for the control rate limit: the key of the identity auth_identify()
 * authenticates ("user:NAME" by token, session or proxy header, "ui_token", "basic:NAME"). */
bool api_pre_agent(const struct http_req *r, struct http_resp *w, char *who, size_t whosz,
                   void *ctx);
bool api_pre_ui(const struct http_req *r, struct http_resp *w, char *who, size_t whosz, void *ctx);

/* People (api/session_api.c): POST /api/login, POST /api/logout, GET /api/me; the audit log
 * (api/audit_api.c): GET /api/audit (admin). */
void api_login(const struct http_req *r, struct http_resp *w, void *ctx);
void api_logout(const struct http_req *r, struct http_resp *w, void *ctx);
void api_me(const struct http_req *r, struct http_resp *w, void *ctx);
void api_audit_list(const struct http_req *r, struct http_resp *w, void *ctx);
/* Users for admins (api/users_api.c): GET /api/users, POST /api/users, and under /api/users/:
 * PUT NAME (role, services), DELETE NAME, POST NAME/tokens, DELETE NAME/tokens/ID. */
void api_users_list(const struct http_req *r, struct http_resp *w, void *ctx);
void api_users_add(const struct http_req *r, struct http_resp *w, void *ctx);
void api_users_change(const struct http_req *r, struct http_resp *w, void *ctx);

/* Shared helpers (api/common.c). */
/* Identifies the caller and requires role (enum meta_role): answers 401 (no valid credential),
 * 403 (role too low, or a cookie session without its CSRF token) and records the refusal in
 * the audit log, returning false; true with *id (may be NULL) filled otherwise. */
bool api_ui_need(struct coord_api *api, const struct http_req *r, struct http_resp *w, int role,
                 struct auth_ident *id);
/* For a service-limited caller: answers 403 for service (and audits it) and returns false. */
bool api_service_ok(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                    const struct auth_ident *id, const char *service);
/* api_ui_need(VIEWER) then api_service_ok for service (raw, sanitised here). */
bool api_ui_service(struct coord_api *api, const struct http_req *r, struct http_resp *w,
                    const char *service);
/* Appends an audit entry: who and address from id, action ("profile_request", "login", or
 * "METHOD /path" when NULL), target, result ("ok" | "denied" | "refused" (over a limit) |
 * "failed"), HTTP status and detail. A store failure is logged, never answered. */
void api_audit(struct coord_api *api, const struct http_req *r, const struct auth_ident *id,
               const char *action, const char *target, const char *result, int status,
               const char *detail);
/* Parses a JSON request body; on failure answers 400 and returns NULL. */
json_object *api_json_body(const struct http_req *r, struct http_resp *w);
/* A comma-separated service list ("a,b") as a JSON array of strings ([] for NULL or ""). */
json_object *api_services_json(const char *list);
/* api_ui_need(api, r, w, META_ROLE_VIEWER, NULL): any identified caller (reads). */
bool api_ui_ok(struct coord_api *api, const struct http_req *r, struct http_resp *w);
/* Answers 500/503 for a store error. */
void api_store_error(struct http_resp *w, int rc, const struct gp_err *err);

#endif
