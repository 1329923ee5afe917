/* auth.c — agent token validation (cached) and UI credentials. */
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
