/* stats.h — the HTTP server's request counters: responses by route and status code and a latency
 * histogram per route, lock free (relaxed atomics), written out in Prometheus text. */
#ifndef GPROF_COORD_HTTP_STATS_H
#define GPROF_COORD_HTTP_STATS_H

#include <stddef.h>

#include "common/strbuf.h"

struct http_stats;
struct http_route;

#define HTTP_LATENCY_NBOUNDS 11
/* Upper bounds of the latency buckets, seconds (5 ms .. 10 s). */
extern const double http_latency_bounds[HTTP_LATENCY_NBOUNDS];

/* Counters for nroutes routes plus one slot (index nroutes) for requests that match none. */
struct http_stats *http_stats_new(size_t nroutes);
void http_stats_free(struct http_stats *s);
/* One response: route index (nroutes = none), HTTP status, seconds since the header arrived. */
void http_stats_record(struct http_stats *s, size_t route, int status, double seconds);
/* gprof_http_requests_total{method,endpoint,code}, gprof_http_errors_total{kind} (4xx and 5xx
 * by kind) and gprof_http_request_duration_seconds{method,endpoint}; routes gives the labels
 * (its nroutes entries, as at http_stats_new). */
void http_stats_write(const struct http_stats *s, const struct http_route *routes,
                      struct strbuf *sb);

#endif
