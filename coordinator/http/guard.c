/* guard.c — Host and Origin checks (see guard.h) and token redaction in URLs. */
#include "coordinator/http/guard.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void lower_copy(char *dst, size_t dsz, const char *src, size_t n)
{
    if (n >= dsz)
        n = dsz - 1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = '\0';
}

/* Splits a comma/space separated list; calls add for each item; stops at the first error. */
static int each_item(const char *list,
                     int (*add)(struct http_guard *, const char *, size_t, char *, size_t),
                     struct http_guard *g, char *msg, size_t msgsz)
{
    const char *p = list ? list : "";
    while (*p) {
        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        size_t n = strcspn(p, ", \t\r\n");
        if (n) {
            int rc = add(g, p, n, msg, msgsz);
            if (rc)
                return rc;
        }
        p += n;
    }
    return 0;
}

static int add_host(struct http_guard *g, const char *s, size_t n, char *msg, size_t msgsz)
{
    if (n == 1 && s[0] == '*') {
        g->check_host = false;
        return 0;
    }
    if (g->nhosts >= GUARD_MAX_NAMES || n >= sizeof(g->hosts[0])) {
        snprintf(msg, msgsz, "allowed_hosts: too many or too long names at '%.*s' (at most %d)",
                 (int)(n > 80 ? 80 : n), s, GUARD_MAX_NAMES);
        return -EINVAL;
    }
    /* "[::1]" is kept as "::1"; a ":port" suffix on a name is not part of the check */
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    lower_copy(g->hosts[g->nhosts++], sizeof(g->hosts[0]), s, n);
    return 0;
}

static int add_origin(struct http_guard *g, const char *s, size_t n, char *msg, size_t msgsz)
{
    while (n && s[n - 1] == '/')
        n--;
    if (g->norigins >= GUARD_MAX_NAMES || n >= sizeof(g->origins[0]) ||
        !(strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0)) {
        snprintf(msg, msgsz,
                 "allowed_origins: '%.*s' must be scheme://host[:port] (http or https), at most "
                 "%d of them",
                 (int)(n > 80 ? 80 : n), s, GUARD_MAX_NAMES);
        return -EINVAL;
    }
    lower_copy(g->origins[g->norigins++], sizeof(g->origins[0]), s, n);
    return 0;
}

int http_guard_init(struct http_guard *g, const char *listen_host, bool check_host,
                    const char *allowed_hosts, const char *allowed_origins, char *msg, size_t msgsz)
{
    memset(g, 0, sizeof(*g));
    g->check_host = check_host || (allowed_hosts && *allowed_hosts);
    const char *builtin[] = {listen_host, "localhost", "127.0.0.1", "::1"};
    for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
        if (builtin[i] && *builtin[i] && add_host(g, builtin[i], strlen(builtin[i]), msg, msgsz))
            return -EINVAL;
    if (each_item(allowed_hosts, add_host, g, msg, msgsz))
        return -EINVAL;
    return each_item(allowed_origins, add_origin, g, msg, msgsz) ? -EINVAL : 0;
}

/* The host part of a Host header value ("name", "name:port", "[v6]:port"), lower case. */
static bool host_name(const char *h, char *out, size_t outsz)
{
    size_t n;
    if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        if (!rb)
            return false;
        h++;
        n = (size_t)(rb - h);
    } else {
        n = strcspn(h, ":");
    }
    if (n == 0 || n >= outsz)
        return false;
    lower_copy(out, outsz, h, n);
    return true;
}

static bool safe_method(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 || strcmp(m, "OPTIONS") == 0;
}

int http_guard_check(const struct http_guard *g, const char *method, const char *host,
                     const char *origin, char *msg, size_t msgsz)
{
    if (g->check_host && host) {
        char name[256];
        bool ok = false;
        if (host_name(host, name, sizeof(name)))
            for (size_t i = 0; i < g->nhosts && !ok; i++)
                ok = strcmp(name, g->hosts[i]) == 0;
        if (!ok) {
            snprintf(msg, msgsz,
                     "Host '%.100s' is not an address of this coordinator; reach it by its listen "
                     "address or localhost, or add the name to allowed_hosts",
                     host);
            return 421;
        }
    }
    if (!origin || safe_method(method))
        return 0;
    /* Same origin: the Origin's host[:port] is the Host the request was sent to. */
    const char *auth = NULL;
    if (strncasecmp(origin, "http://", 7) == 0)
        auth = origin + 7;
    else if (strncasecmp(origin, "https://", 8) == 0)
        auth = origin + 8;
    size_t olen = strlen(origin);
    while (olen && origin[olen - 1] == '/')
        olen--;
    if (auth && host && strlen(host) == (size_t)(origin + olen - auth) &&
        strncasecmp(auth, host, strlen(host)) == 0)
        return 0;
    for (size_t i = 0; i < g->norigins; i++)
        if (strlen(g->origins[i]) == olen && strncasecmp(origin, g->origins[i], olen) == 0)
            return 0;
    snprintf(msg, msgsz,
             "cross-origin %s refused: Origin '%.100s' is not this coordinator's origin; add it to "
             "allowed_origins if that site may change state here",
             method, origin);
    return 403;
}

void http_redact_query(const char *in, char *out, size_t outsz)
{
    static const char red[] = "REDACTED";
    size_t o = 0;
    const char *p = in;
    if (!outsz)
        return;
    while (*p && o + 1 < outsz) {
        bool start = p == in || p[-1] == '?' || p[-1] == '&' || p[-1] == ';';
        if (start && strncasecmp(p, "key=", 4) == 0) {
            for (size_t i = 0; i < 4 && o + 1 < outsz; i++)
                out[o++] = p[i];
            for (size_t i = 0; red[i] && o + 1 < outsz; i++)
                out[o++] = red[i];
            p += 4;
            while (*p && *p != '&' && *p != ';' && *p != '#')
                p++;
            continue;
        }
        out[o++] = *p++;
    }
    out[o] = '\0';
}
