/* ratelimit.h — per-identity token buckets (429 + Retry-After) for the control endpoints and the
 * failed sign-ins: a fixed table of buckets (bounded memory, the least recently seen evicted). */
#ifndef GPROF_COORD_HTTP_RATELIMIT_H
#define GPROF_COORD_HTTP_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct http_ratelimit;

/* what names the limit in the log ("control rate limit"); rate: requests per second refilled
 * (> 0); burst: bucket size (>= 1). *out NULL when rate is 0 (no limit). */
int http_ratelimit_new(const char *what, double rate, unsigned burst, struct http_ratelimit **out,
                       struct gp_err *err);
void http_ratelimit_free(struct http_ratelimit *rl);

/* Takes one token from identity's bucket at now_ms (monotonic). true: go on; false: over the
 * limit, *retry_after_s = whole seconds until a token is back (>= 1). Logs once when an
 * identity starts being refused and once when it is served again (with the count refused). */
bool http_ratelimit_take(struct http_ratelimit *rl, const char *identity, int64_t now_ms,
                         unsigned *retry_after_s);
/* Like http_ratelimit_take without taking (a refusal is counted and logged the same way): for
 * limits charged afterwards, when the outcome is known. */
bool http_ratelimit_check(struct http_ratelimit *rl, const char *identity, int64_t now_ms,
                          unsigned *retry_after_s);
/* Takes one token from identity's bucket even when it is empty (down to -burst, so a flood
 * waits longer): a failed sign-in is charged after it failed. */
void http_ratelimit_charge(struct http_ratelimit *rl, const char *identity, int64_t now_ms);

/* The monotonic clock in milliseconds, the now_ms of the functions above. */
int64_t http_ratelimit_now_ms(void);

/* Parses "10", "10/s", "600/m" or "0" (off) into requests per second; -EINVAL with a message
 * naming key (the config key). */
int http_ratelimit_parse_rate(const char *key, const char *s, double *per_s, struct gp_err *err);

#endif
