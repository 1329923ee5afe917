/* query.h — the query engine: a service's merged, RQL-filtered, truncated profile and its metric
 * series over a time range, answered from the sample index (no HTTP, no JSON). */
#ifndef GPROF_COORD_QUERY_QUERY_H
#define GPROF_COORD_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/profile.h"
#include "coordinator/query/rql.h"
#include "coordinator/store/index/index.h"

#define QUERY_MAX_TERMS 32

/* What to read besides service and time: the filter and the stack cap. */
struct query_spec {
    struct rql *q; /* NULL = every stack; owned (query_spec_free) */
    size_t stacks; /* the heaviest this many stacks; 0 = all */
    /* set by query_spec_prepare */
    struct index_filter f; /* the whole filter (f.where), answered by one index query */
    /* when q is a plain conjunction: its host lists, the part time ranges and series honour */
    struct index_filter host_f;
    const char *lists[2][QUERY_MAX_TERMS * 4];
};

/* Converts q into the index filter (and the host lists of a plain conjunction). */
void query_spec_prepare(struct query_spec *s);
void query_spec_free(struct query_spec *s);

/* The merged, filtered, truncated profile of service over [start, end) (empty when the index
 * has nothing). */
int query_profile(struct sample_index *si, const char *service, int64_t start, int64_t end,
                  const struct query_spec *s, struct gp_profile **out, struct gp_err *err);

/* One point of a metric series: a host's samples and CPU/memory in one bucket (< 0 = unknown). */
struct query_point {
    int64_t bucket;
    char *host;
    uint64_t samples;
    double cpu_avg, cpu_max, mem_avg, mem_max;
};
struct query_series {
    struct query_point *v;
    size_t n, cap;
};

/* Points of service over [start, end) in buckets of bucket seconds, ordered by bucket; only
 * the host lists of a plain conjunction (on host, container and process) apply. */
int query_series_load(struct sample_index *si, const char *service, int64_t start, int64_t end,
                      int64_t bucket, const struct query_spec *s, struct query_series *out,
                      struct gp_err *err);
void query_series_free(struct query_series *s);

/* The Performance Studio summary of points: averages, maxima, 90th percentile of memory. */
struct query_summary {
    bool has_cpu, has_mem, has_mem_pct;
    double avg_cpu, max_cpu, avg_mem, max_mem, pct_mem;
    int64_t uniq_hosts;
    uint64_t samples;
};
void query_summarize(const struct query_point *v, size_t n, struct query_summary *out);

#endif
