/* guard.h — browser-facing request checks made before routing: the Host header must name this
 * coordinator (DNS rebinding) and a state-changing request from a foreign Origin is refused. */
#ifndef GPROF_COORD_HTTP_GUARD_H
#define GPROF_COORD_HTTP_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#define GUARD_MAX_NAMES 32

struct http_guard {
    bool check_host;                  /* false: any Host */
    char hosts[GUARD_MAX_NAMES][256]; /* accepted Host names, lower case, without port */
    size_t nhosts;
    char origins[GUARD_MAX_NAMES][256]; /* extra accepted origins, lower case, no trailing / */
    size_t norigins;
};

/* Builds the guard: Host may be listen_host, localhost, 127.0.0.1, ::1 or a name of
 * allowed_hosts (comma or space separated; "*" turns the Host check off). Returns 0, or
 * -EINVAL with a message naming a bad or surplus entry. */
int http_guard_init(struct http_guard *g, const char *listen_host, bool check_host,
                    const char *allowed_hosts, const char *allowed_origins, char *msg,
                    size_t msgsz);

/* 0 when the request may go on; otherwise the HTTP status to answer (421 for a foreign Host,
 * 403 for a foreign Origin on a state-changing method) with msg saying why and what to set. */
int http_guard_check(const struct http_guard *g, const char *method, const char *host,
                     const char *origin, char *msg, size_t msgsz);

/* Copies a query string (or a whole URL) with the value of every key=... parameter replaced by
 * "REDACTED", so agent tokens (?key=) never reach a log. */
void http_redact_query(const char *in, char *out, size_t outsz);

#endif
