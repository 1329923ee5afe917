/* ratelimit.h — per-identity token buckets for the control endpoints (429 + Retry-After): a
 * fixed table of buckets (bounded memory, the least recently seen identity is evicted). */
#ifndef GPROF_COORD_HTTP_RATELIMIT_H
#define GPROF_COORD_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct http_ratelimit;

/* rate: requests per second refilled (> 0); burst: bucket size (>= 1). *out NULL when rate
 * is 0 (no limit). */
int http_ratelimit_new(double rate, unsigned burst, struct http_ratelimit **out,
                       struct gp_err *err);
void http_ratelimit_free(struct http_ratelimit *rl);

/* Takes one token from identity's bucket at now_ms (monotonic). true: go on; false: over the
 * limit, *retry_after_s = whole seconds until a token is back (>= 1). Logs once when an
 * identity starts being refused and once when it is served again (with the count refused). */
bool http_ratelimit_take(struct http_ratelimit *rl, const char *identity, int64_t now_ms,
                         unsigned *retry_after_s);

/* Parses "10", "10/s", "600/m" or "0" (off) into requests per second; -EINVAL with a message. */
int http_ratelimit_parse_rate(const char *s, double *per_s, struct gp_err *err);

#endif
