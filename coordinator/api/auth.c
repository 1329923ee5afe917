/* auth.c — agent token validation (cached) and the identity of control / query callers (user
 * tokens, sessions with CSRF, trusted proxy header, ui_token / basic auth as admin). */
#include "coordinator/api/auth.h"
#include "common/base64.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

void coord_auth_init(struct coord_auth *a, struct meta_db *db, bool enabled, const char *ui_token,
                     const char *ui_basic)
{
    memset(a, 0, sizeof(*a));
    a->enabled = enabled;
    a->db = db;
    snprintf(a->ui_token, sizeof(a->ui_token), "%s", ui_token ? ui_token : "");
    snprintf(a->ui_basic, sizeof(a->ui_basic), "%s", ui_basic ? ui_basic : "");
    pthread_mutex_init(&a->mu, NULL);
}

void coord_auth_destroy(struct coord_auth *a)
{
    pthread_mutex_destroy(&a->mu);
}

void coord_auth_set_proxy(struct coord_auth *a, const char *header, const char *proxies)
{
    snprintf(a->proxy_header, sizeof(a->proxy_header), "%s", header ? header : "");
    snprintf(a->proxies, sizeof(a->proxies), "%s", proxies ? proxies : "");
}

/* constant-time comparison of equal-length secrets */
static bool secret_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char d = la != lb;
    for (size_t i = 0; i < la && i < lb; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

const char *auth_agent_token(const struct http_req *r, char *buf, size_t bufsz)
{
    const char *t = http_header(r, "GPROFILER-API-KEY");
    if (!t || !*t) {
        const char *h = http_header(r, "Authorization");
        if (h && strncasecmp(h, "Bearer ", 7) == 0)
            t = h + 7;
    }
    if (!t || !*t)
        t = http_query(r, "key");
    if (!t || !*t)
        return NULL;
    while (*t == ' ')
        t++;
    snprintf(buf, bufsz, "%s", t);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ')
        buf[--n] = '\0';
    return n ? buf : NULL;
}

int auth_check_agent(struct coord_auth *a, const struct http_req *r, const char *service,
                     char *service_out, size_t outsz, int64_t now, struct gp_err *err)
{
    if (!a->enabled) {
        if (service_out)
            snprintf(service_out, outsz, "%s", service ? service : "");
        return 0;
    }
    char tok[256];
    if (!auth_agent_token(r, tok, sizeof(tok)))
        return gp_err_set(err, -EACCES,
                          "missing agent token: send GPROFILER-API-KEY or Authorization: Bearer "
                          "(create one with: gprof-coordinator token create --service NAME)");
    char key[65];
    meta_sha256_hex(tok, strlen(tok), key);
    size_t slot = (size_t)strtoul(key + 56, NULL, 16) % AUTH_CACHE_SLOTS;
    char tsvc[256] = "";
    int64_t gen = 0;
    struct gp_err gerr = {0};
    int grc = meta_token_generation(a->db, &gen, &gerr);
    if (grc)
        return gp_err_set(err, grc == -ENOENT ? -EIO : grc, "cannot check the token: %s", gerr.msg);
    pthread_mutex_lock(&a->mu);
    struct auth_cache_slot *s = &a->cache[slot];
    bool hit = s->until > now && s->generation == gen && strcmp(s->key, key) == 0;
    if (hit)
        snprintf(tsvc, sizeof(tsvc), "%s", s->service);
    pthread_mutex_unlock(&a->mu);
    if (!hit) {
        struct gp_err verr = {0};
        int rc = meta_token_validate(a->db, tok, NULL, tsvc, sizeof(tsvc), &verr);
        if (rc == -EACCES || rc == -ENOENT)
            return gp_err_set(err, -EACCES, "Invalid API key");
        if (rc)
            return gp_err_set(err, rc, "cannot check the token: %s", verr.msg);
        pthread_mutex_lock(&a->mu);
        snprintf(s->key, sizeof(s->key), "%s", key);
        snprintf(s->service, sizeof(s->service), "%s", tsvc);
        s->until = now + AUTH_CACHE_TTL;
        s->generation = gen; /* read before validating: a revocation since then is seen next time */
        pthread_mutex_unlock(&a->mu);
    }
    if (service && *service) {
        char clean[META_NAME_MAX];
        meta_service_sanitize(service, clean, sizeof(clean));
        if (strcmp(clean, tsvc) != 0)
            return gp_err_set(err, -EACCES,
                              "Invalid API key: the token is not valid for service '%s'", service);
    }
    if (service_out)
        snprintf(service_out, outsz, "%s", tsvc);
    return 0;
}

static bool in_list(const char *list, const char *item)
{
    size_t n = strlen(item);
    for (const char *p = list; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t m = strcspn(p, ", ");
        if (m == n && m && strncmp(p, item, n) == 0)
            return true;
        p += m;
    }
    return false;
}

bool auth_service_allowed(const struct auth_ident *id, const char *service)
{
    return !id->services[0] || (service && in_list(id->services, service));
}

const char *auth_session_cookie(const struct http_req *r, char *buf, size_t bufsz)
{
    const char *c = http_header(r, "Cookie");
    size_t kn = strlen(AUTH_SESSION_COOKIE);
    for (const char *p = c; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        size_t m = strcspn(p, ";");
        if (m > kn && strncmp(p, AUTH_SESSION_COOKIE "=", kn + 1) == 0) {
            size_t vn = m - kn - 1;
            if (vn == 0 || vn >= bufsz)
                return NULL;
            memcpy(buf, p + kn + 1, vn);
            buf[vn] = '\0';
            return buf;
        }
        p += m;
    }
    return NULL;
}

static void set_user(struct auth_ident *id, const struct meta_user *u, const char *via)
{
    id->role = u->role;
    id->user_id = u->id;
    snprintf(id->who, sizeof(id->who), "%s", u->name);
    snprintf(id->services, sizeof(id->services), "%s", u->services ? u->services : "");
    snprintf(id->via, sizeof(id->via), "%s", via);
    snprintf(id->key, sizeof(id->key), "user:%s", u->name);
}

static void set_admin(struct auth_ident *id, const char *who, const char *via)
{
    id->role = META_ROLE_ADMIN;
    snprintf(id->who, sizeof(id->who), "%s", who);
    snprintf(id->via, sizeof(id->via), "%s", via);
    snprintf(id->key, sizeof(id->key), "%s", who);
}

/* Maps a store lookup's -EACCES / -ENOENT to 401 with msg, else passes the store error on. */
static int lookup_failed(int rc, const struct gp_err *e, struct gp_err *err, const char *msg)
{
    if (rc == -EACCES || rc == -ENOENT)
        return gp_err_set(err, -EACCES, "%s", msg);
    return gp_err_set(err, rc, "cannot check the credentials: %s", e->msg);
}

int auth_identify(struct coord_auth *a, const struct http_req *r, int64_t now,
                  struct auth_ident *id, struct gp_err *err)
{
    memset(id, 0, sizeof(*id));
    http_client_ip(r, id->ip, sizeof(id->ip));
    snprintf(id->who, sizeof(id->who), "anonymous");
    snprintf(id->key, sizeof(id->key), "ip:%s", id->ip);
    if (!a->enabled) {
        set_admin(id, "local", "auth_off");
        snprintf(id->key, sizeof(id->key), "ip:%s", id->ip);
        return 0;
    }
    struct gp_err e = {0};
    struct meta_user u = {0};
    int rc;
    if (a->proxy_header[0] && in_list(a->proxies, id->ip)) {
        const char *pu = http_header(r, a->proxy_header);
        if (pu && *pu) {
            rc = meta_user_get(a->db, pu, &u, &e);
            if (rc)
                return lookup_failed(rc, &e, err,
                                     "authentication required: the reverse proxy's user is not a "
                                     "gprof user (add it with: "
                                     "gprof-coordinator user add NAME --role ROLE)");
            set_user(id, &u, "proxy");
            meta_user_clear(&u);
            return 0;
        }
    }
    const char *h = http_header(r, "Authorization");
    const char *x = http_header(r, "X-Gprof-UI-Token");
    if (h && strncasecmp(h, "Bearer ", 7) == 0) {
        const char *t = h + 7;
        while (*t == ' ')
            t++;
        if (strncmp(t, "gpu_", 4) == 0) {
            rc = meta_user_token_validate(a->db, t, &u, NULL, &e);
            if (rc)
                return lookup_failed(rc, &e, err,
                                     "authentication required: invalid or revoked user token "
                                     "(create one with: "
                                     "gprof-coordinator user token NAME)");
            set_user(id, &u, "token");
            meta_user_clear(&u);
            return 0;
        }
        if (a->ui_token[0] && secret_eq(t, a->ui_token)) {
            set_admin(id, "ui_token", "ui_token");
            return 0;
        }
        if (strncmp(t, "gpt_", 4) == 0)
            return gp_err_set(err, -EACCES,
                              "authentication required: an agent token only reaches the agent "
                              "endpoints: use a user token "
                              "(gprof-coordinator user token NAME)");
        return gp_err_set(err, -EACCES, "authentication required: invalid bearer token");
    }
    if (x && a->ui_token[0] && secret_eq(x, a->ui_token)) {
        set_admin(id, "ui_token", "ui_token");
        return 0;
    }
    if (a->ui_basic[0] && h && strncasecmp(h, "Basic ", 6) == 0) {
        struct strbuf dec = STRBUF_INIT;
        size_t n = strnlen(h + 6, 1024);
        int match = n < 1024 && gp_base64_decode(h + 6, n, &dec, NULL) == 0 && dec.len &&
                    strlen(sb_str(&dec)) == dec.len && secret_eq(sb_str(&dec), a->ui_basic);
        sb_free(&dec);
        if (match) {
            char who[sizeof(id->who)];
            snprintf(who, sizeof(who), "basic:%.*s", (int)strcspn(a->ui_basic, ":"), a->ui_basic);
            set_admin(id, who, "basic");
            return 0;
        }
    }
    char sid[META_TOKEN_MAX];
    if (auth_session_cookie(r, sid, sizeof(sid))) {
        int csrf_ok = 0;
        rc = meta_session_get(a->db, sid, http_header(r, AUTH_CSRF_HEADER), now, &u, &csrf_ok, &e);
        if (rc)
            return lookup_failed(
                    rc, &e, err,
                    "authentication required: the session expired or ended, sign in again");
        set_user(id, &u, "session");
        meta_user_clear(&u);
        bool safe = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
        if (!safe && !csrf_ok)
            return gp_err_set(err, -EPERM,
                              "missing or wrong " AUTH_CSRF_HEADER
                              " header: a signed-in page sends the token /api/login returned");
        return 0;
    }
    return gp_err_set(err, -EACCES,
                      "authentication required: send Authorization: Bearer <user token> (see "
                      "gprof-coordinator user token), sign in at /api/login, or use ui_token / "
                      "basic auth");
}

int auth_check_ui(struct coord_auth *a, const struct http_req *r, struct gp_err *err)
{
    if (!a->enabled)
        return 0;
    const char *h = http_header(r, "Authorization");
    const char *x = http_header(r, "X-Gprof-UI-Token");
    if (a->ui_token[0]) {
        if (x && secret_eq(x, a->ui_token))
            return 0;
        if (h && strncasecmp(h, "Bearer ", 7) == 0 && secret_eq(h + 7, a->ui_token))
            return 0;
    }
    if (a->ui_basic[0] && h && strncasecmp(h, "Basic ", 6) == 0) {
        struct strbuf dec = STRBUF_INIT;
        size_t n = strnlen(h + 6, 1024);
        int match = n < 1024 && gp_base64_decode(h + 6, n, &dec, NULL) == 0 && dec.len &&
                    strlen(sb_str(&dec)) == dec.len && secret_eq(sb_str(&dec), a->ui_basic);
        sb_free(&dec);
        if (match)
            return 0;
    }
    if (!a->ui_token[0] && !a->ui_basic[0])
        return gp_err_set(err, -EACCES,
                          "the control and query API is disabled: set ui_token or ui_basic_auth");
    return gp_err_set(err, -EACCES,
                      "authentication required: send Authorization: Bearer <ui_token> or basic "
                      "auth");
}
