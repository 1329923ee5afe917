/* backends/clickhouse/ch_query.c — flame-graph queries on the ClickHouse sample index: the range
 * split into whole days, whole hours and edge minutes (index_plan_slices), each slice read from
 * the coarsest table that covers it and aggregated on the server; the filter pushed into SQL
 * (host conditions in every slice; a predicate on container or comm joins the stack dictionary);
 * counts merged per stack, ordered and truncated here; then the kept stacks' frames fetched. The
 * distinct values of a dimension (filter lists) use the same slices. */
#include "coordinator/backends/clickhouse/ch_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const slice_table[3] = {"samples", "samples_hour", "samples_day"};

/* "SELECT <cols>, sum(count) AS n FROM <slice> WHERE ... GROUP BY <cols>" UNION ALL ... for the
 * slices of [start, end); where_extra (may be "") is ANDed into every slice. Returns the number
 * of slices (0: empty range). */
static int slices_sql(struct chx *x, struct strbuf *sb, const char *service, int64_t start,
                      int64_t end, enum index_resolution res, const char *cols,
                      const char *where_extra, struct index_query_stats *stats)
{
    struct index_slice sl[INDEX_SLICES_MAX];
    int nsl = index_plan_slices(index_floor_to(start, 60), index_floor_to(end + 59, 60), res, sl);
    for (int i = 0; i < nsl; i++) {
        if (i)
            sb_puts(sb, " UNION ALL ");
        const char *tcol = sl[i].res == INDEX_ROLLUP_MINUTE ? "minute" : "ts";
        sb_printf(sb, "SELECT %s, toUInt64(sum(count)) AS n FROM ", cols);
        ch_table(x, sb, slice_table[sl[i].res]);
        sb_puts(sb, " WHERE service = ");
        ch_sql_str(sb, service);
        sb_printf(sb, " AND %s >= %lld AND %s < %lld%s GROUP BY %s", tcol, (long long)sl[i].a, tcol,
                  (long long)sl[i].b, where_extra, cols);
        if (stats) {
            if (sl[i].res == INDEX_ROLLUP_MINUTE)
                stats->buckets_minute++;
            else if (sl[i].res == INDEX_ROLLUP_HOUR)
                stats->buckets_hour++;
            else
                stats->buckets_day++;
        }
    }
    return nsl;
}

/* The stack dictionary as (stack, container, comm), one row per hash. */
static void dict_sql(struct chx *x, struct strbuf *sb)
{
    sb_puts(sb, "(SELECT hash AS stack, any(container) AS container, any(comm) AS comm FROM ");
    ch_table(x, sb, "stacks");
    sb_puts(sb, " GROUP BY hash)");
}

struct kept {
    uint64_t hash, count;
};

static int cmp_kept(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int cmp_hash(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

/* Adds the frames of k[0..n) to out. from_day: the day the queried range starts; a stack with
 * samples in the range has a dictionary row of that day or later (the writer adds one for each
 * day it sees a stack, or finds one of a later day in its cache), so older rows are skipped. */
static int fetch_stacks(struct chx *x, const struct kept *k, size_t n, int64_t from_day,
                        struct gp_profile *out, struct gp_err *err)
{
    if (!n)
        return 0;
    struct strbuf q = STRBUF_INIT, res = STRBUF_INIT, ids = STRBUF_INIT;
    /* The hashes travel as an external table, not an IN (...) literal list: 18.16 spends
     * ~0.14 ms parsing each literal (2,000 stacks: 270 ms). A hash's rows of several days all
     * come back (no LIMIT 1 BY: 100 ms on 18.16 for 2,000 rows); the first one read is used. */
    for (size_t i = 0; i < n; i++)
        rb_u64(&ids, k[i].hash);
    sb_puts(&q, "SELECT hash, container, comm, frames FROM ");
    ch_table(x, &q, "stacks");
    sb_printf(&q, " WHERE hash IN _gprof_ids AND day >= %lld FORMAT RowBinary",
              (long long)(from_day > 0 ? from_day : 0));
    int rc = q.oom || ids.oom ? gp_err_set(err, -ENOMEM, "out of memory")
                              : ch_exec_ext(x, sb_str(&q), "_gprof_ids", "hash UInt64", ids.buf,
                                            ids.len, NULL, &res, err);
    sb_free(&q);
    sb_free(&ids);
    /* hash -> count lookup: k is sorted by count, so search a copy sorted by hash */
    struct kept *byh = rc == 0 ? malloc(n * sizeof(*byh)) : NULL;
    unsigned char *seen = rc == 0 ? calloc(n, 1) : NULL;
    if (rc == 0 && (!byh || !seen))
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    const char **frames = NULL;
    size_t fcap = 0;
    char *strs = NULL;
    size_t scap = 0;
    if (rc == 0) {
        memcpy(byh, k, n * sizeof(*byh));
        qsort(byh, n, sizeof(*byh), cmp_hash);
    }
    struct rb_reader r = {(const unsigned char *)res.buf, (const unsigned char *)res.buf + res.len,
                          0};
    size_t found = 0;
    while (rc == 0 && r.p < r.end) {
        uint64_t h = rd_u64(&r);
        size_t cl, ml;
        const char *c = rd_str(&r, &cl), *m = rd_str(&r, &ml);
        uint64_t nf = rd_varint(&r);
        if (r.bad || nf > (uint64_t)(r.end - r.p)) {
            rc = gp_err_set(err, -EPROTO, "clickhouse: malformed stack dictionary answer");
            break;
        }
        /* strings are copied NUL-terminated into one buffer: container, comm, frames */
        size_t need = (size_t)(r.end - r.p) + cl + ml + 2 + (size_t)nf;
        if (need > scap) {
            char *ns = realloc(strs, need);
            if (!ns) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            strs = ns;
            scap = need;
        }
        if (nf > fcap) {
            const char **nfr = realloc(frames, (size_t)nf * sizeof(*nfr));
            if (!nfr) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            frames = nfr;
            fcap = (size_t)nf;
        }
        char *w = strs;
        const char *cont = w;
        memcpy(w, c, cl);
        w[cl] = 0;
        w += cl + 1;
        const char *comm = w;
        memcpy(w, m, ml);
        w[ml] = 0;
        w += ml + 1;
        for (uint64_t i = 0; i < nf; i++) {
            size_t fl;
            const char *f = rd_str(&r, &fl);
            frames[i] = w;
            memcpy(w, f, fl);
            w[fl] = 0;
            w += fl + 1;
        }
        if (r.bad) {
            rc = gp_err_set(err, -EPROTO, "clickhouse: malformed stack dictionary answer");
            break;
        }
        struct kept key = {h, 0}, *hit = bsearch(&key, byh, n, sizeof(*byh), cmp_hash);
        if (!hit || seen[hit - byh])
            continue; /* another day's row of a stack already added */
        seen[hit - byh] = 1;
        uint64_t cnt = hit->count;
        if (gp_profile_add(out, 0, cont, comm, frames, (uint32_t)nf, cnt) < 0) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        found++;
    }
    if (rc == 0 && found < n)
        rc = gp_err_set(err, -EIO,
                        "clickhouse index: %zu of %zu stacks missing from the stack dictionary",
                        n - found, n);
    free(byh);
    free(seen);
    free(frames);
    free(strs);
    sb_free(&res);
    return rc;
}

int chx_query(void *impl, const struct index_query *q, struct gp_profile *out,
              struct index_query_stats *stats, struct gp_err *err)
{
    struct chx *x = impl;
    struct index_filter_tree tree;
    const struct index_pred *p = index_filter_tree(q->filter, &tree);
    int by_stack = p && (index_pred_uses(p, INDEX_FIELD_CONTAINER) ||
                         index_pred_uses(p, INDEX_FIELD_COMM));
    struct strbuf where = STRBUF_INIT, sql = STRBUF_INIT, res = STRBUF_INIT;
    int rc = 0;
    /* host conditions go into every slice; the whole predicate too when it needs no stack */
    ch_host_lists_sql(&where, q->filter, "host");
    if (p && !by_stack) {
        static const char *const cols[INDEX_NFIELDS] = {"host", "''", "''", "''", "''"};
        sb_puts(&where, " AND ");
        if ((rc = ch_pred_sql(&where, p, cols)) < 0)
            goto bad_like;
    }
    sb_puts(&sql, "SELECT stack, toUInt64(sum(n)) AS t FROM (");
    if (!slices_sql(x, &sql, q->service, q->start, q->end, q->resolution,
                    by_stack ? "stack, host" : "stack", sb_str(&where), stats))
        goto done;
    sb_puts(&sql, ")");
    if (by_stack) {
        static const char *const cols[INDEX_NFIELDS] = {"host", "container", "comm", "''", "''"};
        sb_puts(&sql, " ANY LEFT JOIN ");
        dict_sql(x, &sql);
        sb_puts(&sql, " USING stack WHERE ");
        if ((rc = ch_pred_sql(&sql, p, cols)) < 0)
            goto bad_like;
    }
    sb_puts(&sql, " GROUP BY stack FORMAT RowBinary");
    if (sql.oom || where.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = ch_exec(x, sb_str(&sql), NULL, 0, "&max_query_size=16777216", NULL, &res, err)) < 0)
        goto done;
    size_t nrows = res.len / 16, cap = nrows ? nrows : 1;
    struct kept *k = malloc(cap * sizeof(*k));
    if (!k) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto done;
    }
    struct rb_reader r = {(const unsigned char *)res.buf, (const unsigned char *)res.buf + res.len,
                          0};
    size_t n = 0;
    while (r.p < r.end && n < nrows) {
        k[n].hash = rd_u64(&r);
        k[n].count = rd_u64(&r);
        if (k[n].count) {
            stats->total_samples += k[n].count;
            n++;
        }
    }
    stats->rows_read += nrows;
    qsort(k, n, sizeof(*k), cmp_kept);
    stats->total_stacks = n;
    size_t keep = q->max_stacks && q->max_stacks < n ? q->max_stacks : n;
    stats->returned_stacks = keep;
    rc = fetch_stacks(x, k, keep, index_floor_to(q->start, 86400) / 86400, out, err);
    free(k);
    goto done;
bad_like:
    rc = gp_err_set(err, -EINVAL,
                    "clickhouse index: a LIKE pattern is not valid UTF-8 (RE2 needs UTF-8)");
done:
    sb_free(&where);
    sb_free(&sql);
    sb_free(&res);
    return rc;
}

int chx_values(void *impl, const char *service, int64_t start, int64_t end,
               enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err)
{
    struct chx *x = impl;
    struct strbuf sql = STRBUF_INIT, res = STRBUF_INIT;
    const char *col = dim == INDEX_DIM_HOST        ? "host"
                      : dim == INDEX_DIM_CONTAINER ? "container"
                                                   : "comm";
    sb_printf(&sql, "SELECT toString(%s) AS v, toUInt64(sum(n)) AS t FROM (", col);
    if (!slices_sql(x, &sql, service, start, end, INDEX_RES_AUTO,
                    dim == INDEX_DIM_HOST ? "host" : "stack", "", NULL)) {
        sb_free(&sql);
        return 0;
    }
    sb_puts(&sql, ")");
    if (dim != INDEX_DIM_HOST) {
        sb_puts(&sql, " ANY LEFT JOIN ");
        dict_sql(x, &sql);
        sb_puts(&sql, " USING stack");
    }
    sb_puts(&sql, " GROUP BY v ORDER BY t DESC, v FORMAT RowBinary");
    int rc = sql.oom ? gp_err_set(err, -ENOMEM, "out of memory")
                     : ch_exec(x, sb_str(&sql), NULL, 0, NULL, NULL, &res, err);
    struct rb_reader r = {(const unsigned char *)res.buf, (const unsigned char *)res.buf + res.len,
                          0};
    while (rc == 0 && r.p < r.end) {
        size_t vl;
        const char *v = rd_str(&r, &vl);
        uint64_t t = rd_u64(&r);
        if (r.bad) {
            rc = gp_err_set(err, -EPROTO, "clickhouse: malformed values answer");
            break;
        }
        char *s = strndup(v, vl);
        if (!s) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        rc = cb(s, t, ctx);
        free(s);
    }
    sb_free(&sql);
    sb_free(&res);
    return rc;
}
