/* stats.c — request counters of the HTTP server (see stats.h). */
#include "coordinator/http/stats.h"
#include "coordinator/http/server.h"
#include "common/prom.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define STATUS_MIN 100
#define STATUS_N   500 /* 100..599 */

const double http_latency_bounds[HTTP_LATENCY_NBOUNDS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                          0.5,   1,    2.5,   5,    10};

struct route_stats {
    atomic_uint_fast64_t status[STATUS_N];
    atomic_uint_fast64_t lat[HTTP_LATENCY_NBOUNDS + 1];
    atomic_uint_fast64_t lat_sum_us;
};

struct http_stats {
    size_t nroutes;
    struct route_stats r[]; /* nroutes + 1 */
};

/* What a 4xx/5xx status means, for gprof_http_errors_total{kind}. */
static const char *error_kind(int code)
{
    switch (code) {
    case 401:
    case 403:
        return "auth";
    case 404:
    case 405:
        return "not_found";
    case 408:
        return "timeout";
    case 411:
    case 413:
        return "too_large";
    case 429:
        return "rate_limited";
    case 503:
        return "unavailable";
    default:
        return code >= 500 ? "internal" : "bad_request";
    }
}

static const char *const kinds[] = {"auth",         "not_found",   "timeout",  "too_large",
                                    "rate_limited", "unavailable", "internal", "bad_request"};

struct http_stats *http_stats_new(size_t nroutes)
{
    struct http_stats *s = calloc(1, sizeof(*s) + (nroutes + 1) * sizeof(struct route_stats));
    if (s)
        s->nroutes = nroutes;
    return s;
}

void http_stats_free(struct http_stats *s)
{
    free(s);
}

void http_stats_record(struct http_stats *s, size_t route, int status, double seconds)
{
    if (route > s->nroutes)
        route = s->nroutes;
    struct route_stats *rs = &s->r[route];
    if (status >= STATUS_MIN && status < STATUS_MIN + STATUS_N)
        atomic_fetch_add_explicit(&rs->status[status - STATUS_MIN], 1, memory_order_relaxed);
    size_t b = 0;
    while (b < HTTP_LATENCY_NBOUNDS && seconds > http_latency_bounds[b])
        b++;
    atomic_fetch_add_explicit(&rs->lat[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&rs->lat_sum_us, (uint_fast64_t)(seconds > 0 ? seconds * 1e6 : 0),
                              memory_order_relaxed);
}

static void labels_of(const struct http_stats *s, const struct http_route *routes, size_t i,
                      struct prom_label *l)
{
    l[0] = (struct prom_label){"method", i < s->nroutes ? routes[i].method : "any"};
    l[1] = (struct prom_label){"endpoint", i < s->nroutes ? routes[i].path : "unmatched"};
}

void http_stats_write(const struct http_stats *s, const struct http_route *routes,
                      struct strbuf *sb)
{
    uint64_t errs[sizeof(kinds) / sizeof(kinds[0])] = {0};
    prom_family(sb, "gprof_http_requests_total", "counter",
                "HTTP responses by route (method, endpoint as routed; prefix routes end in /) and "
                "status code.");
    for (size_t i = 0; i <= s->nroutes; i++) {
        struct prom_label l[3];
        labels_of(s, routes, i, l);
        for (int c = 0; c < STATUS_N; c++) {
            uint64_t v = atomic_load_explicit(&s->r[i].status[c], memory_order_relaxed);
            if (!v)
                continue;
            char code[8];
            snprintf(code, sizeof(code), "%d", c + STATUS_MIN);
            l[2] = (struct prom_label){"code", code};
            prom_u64(sb, "gprof_http_requests_total", l, 3, v);
            if (c + STATUS_MIN >= 400) {
                const char *k = error_kind(c + STATUS_MIN);
                for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
                    if (kinds[j] == k)
                        errs[j] += v;
            }
        }
    }
    prom_family(sb, "gprof_http_errors_total", "counter",
                "HTTP error responses by kind: auth (401, 403), not_found (404, 405), timeout "
                "(408), too_large (411, 413), rate_limited (429), unavailable (503), internal "
                "(other 5xx), bad_request (other 4xx).");
    for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++) {
        struct prom_label l = {"kind", kinds[j]};
        prom_u64(sb, "gprof_http_errors_total", &l, 1, errs[j]);
    }
    prom_family(sb, "gprof_http_request_duration_seconds", "histogram",
                "Time from a complete request header to the response, by route (queries: "
                "endpoint /api/flamegraph, /api/metrics/...).");
    for (size_t i = 0; i <= s->nroutes; i++) {
        uint64_t counts[HTTP_LATENCY_NBOUNDS + 1], n = 0;
        for (size_t b = 0; b <= HTTP_LATENCY_NBOUNDS; b++)
            n += counts[b] = atomic_load_explicit(&s->r[i].lat[b], memory_order_relaxed);
        if (!n)
            continue;
        struct prom_label l[2];
        labels_of(s, routes, i, l);
        double sum = (double)atomic_load_explicit(&s->r[i].lat_sum_us, memory_order_relaxed) / 1e6;
        prom_histogram(sb, "gprof_http_request_duration_seconds", l, 2, http_latency_bounds,
                       HTTP_LATENCY_NBOUNDS, counts, sum);
    }
}
