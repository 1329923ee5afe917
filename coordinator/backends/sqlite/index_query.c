/* backends/sqlite/index_query.c — reading the SQLite sample index: host selection, the filter
 * (index_filter as SQL, pred_sql.c), merging a query's day, hour and minute buckets, truncation
 * to the heaviest stacks and the stacks' frames. */
#include "coordinator/backends/sqlite/index_internal.h"
#include "coordinator/backends/sqlite/pred_sql.h"
#include "coordinator/index/counts.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_HOST_FILTER 1024

int six_resolve_hosts(struct sq_conn *c, const struct index_filter *f, struct hostsel *hs,
                      struct gp_err *err)
{
    memset(hs, 0, sizeof(*hs));
    if (!index_filter_has_host(f)) {
        hs->all = 1;
        return 0;
    }
    if (f->host_in.n + f->host_out.n > MAX_HOST_FILTER)
        return gp_err_set(err, -EINVAL, "at most %d hostnames in a filter", MAX_HOST_FILTER);
    hs->ids = calloc(f->host_in.n + f->host_out.n + 1, sizeof(int64_t));
    if (!hs->ids)
        return gp_err_set(err, -ENOMEM, "out of memory");
    if (f->host_in.n) {
        /* include minus exclude */
        for (size_t i = 0; i < f->host_in.n; i++) {
            int64_t id;
            if (!f->host_in.v[i] ||
                !index_filter_match(&(struct index_filter){.host_out = f->host_out},
                                    f->host_in.v[i], "", ""))
                continue;
            int rc = six_name_id(c, "hosts", f->host_in.v[i], 0, &id, err);
            if (rc == -ENOENT)
                continue;
            if (rc < 0)
                return rc;
            hs->ids[hs->n++] = id;
        }
        hs->none = hs->n == 0;
        return 0;
    }
    hs->exclude = 1;
    for (size_t i = 0; i < f->host_out.n; i++) {
        int64_t id;
        if (!f->host_out.v[i])
            continue;
        int rc = six_name_id(c, "hosts", f->host_out.v[i], 0, &id, err);
        if (rc == -ENOENT)
            continue;
        if (rc < 0)
            return rc;
        hs->ids[hs->n++] = id;
    }
    if (!hs->n) /* excluding only unknown hosts: the all-hosts rollup answers exactly */
        hs->all = 1;
    return 0;
}

/* Appends " AND <host condition>" with literal integer ids (safe: they are our own ids). */
void six_host_sql(struct strbuf *sb, const struct hostsel *hs, const char *col)
{
    if (hs->all) {
        sb_printf(sb, " AND %s = 0", col);
        return;
    }
    if (hs->exclude) {
        sb_printf(sb, " AND %s != 0", col);
        if (!hs->n)
            return;
        sb_printf(sb, " AND %s NOT IN (", col);
    } else {
        sb_printf(sb, " AND %s IN (", col);
    }
    for (size_t i = 0; i < hs->n; i++)
        sb_printf(sb, "%s%lld", i ? "," : "", (long long)hs->ids[i]);
    sb_putc(sb, ')');
}

static void map_add_fn(uint64_t id, uint64_t c, void *ctx)
{
    count_map_add(ctx, id, c);
}

/* Merges every bucket of the slices for the hosts hs selects into map. */
static int merge_buckets(struct sq_conn *c, int64_t service_id, const struct index_slice *sl, int n,
                         const struct hostsel *hs, struct count_map *map,
                         struct index_query_stats *stats, struct gp_err *err)
{
    struct strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "SELECT data FROM buckets WHERE service_id = ? AND res = ?");
    six_host_sql(&sql, hs, "host_id");
    sb_puts(&sql, " AND ts >= ? AND ts < ?");
    if (sql.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        sqlite3_stmt *st;
        if ((rc = sq_prepare(c, sb_str(&sql), &st, err)) < 0)
            break;
        sqlite3_bind_int64(st, 1, service_id);
        sqlite3_bind_int(st, 2, sl[i].res);
        sqlite3_bind_int64(st, 3, sl[i].a);
        sqlite3_bind_int64(st, 4, sl[i].b);
        int st_rc;
        while ((st_rc = sqlite3_step(st)) == SQLITE_ROW) {
            stats->rows_read++;
            if (counts_foreach(sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                               map_add_fn, map) < 0) {
                rc = gp_err_set(err, -EIO, "%s: index bucket is corrupt", c->path);
                break;
            }
        }
        if (rc == 0 && st_rc != SQLITE_DONE)
            rc = sq_error(c, st_rc, err, "index read buckets");
        sqlite3_reset(st);
    }
    sb_free(&sql);
    if (rc == 0 && map->oom)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    return rc;
}

static int by_weight(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

static int by_id(const void *a, const void *b)
{
    const struct kept *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Prepares "SELECT <head><p> FROM stacks s WHERE s.id = ?<id_param>" (an uncached statement:
 * its text depends on the filter). */
static int prepare_pred(struct sq_conn *c, const char *head, const struct index_pred *p,
                        const char *const cols[INDEX_NFIELDS], int id_param, int first,
                        const char *from, sqlite3_stmt **st, struct gp_err *err)
{
    struct pred_sql ps;
    pred_sql_init(&ps, first);
    sb_puts(&ps.sql, head);
    pred_sql_append(&ps, p, cols);
    if (from)
        sb_puts(&ps.sql, from);
    else
        sb_printf(&ps.sql, " FROM stacks s WHERE s.id = ?%d", id_param);
    int rc = 0;
    if (ps.oom || ps.sql.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    } else if ((int64_t)ps.nbinds + first >
               sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1)) {
        rc = gp_err_set(err, -EINVAL, "filter has more than %d values",
                        sqlite3_limit(c->db, SQLITE_LIMIT_VARIABLE_NUMBER, -1) - first);
    } else {
        int s = sqlite3_prepare_v2(c->db, sb_str(&ps.sql), -1, st, NULL);
        if (s != SQLITE_OK)
            rc = sq_error(c, s, err, "index filter");
        else
            pred_sql_bind(&ps, *st);
    }
    pred_sql_free(&ps);
    return rc;
}

/* Hosts by what p says of them with the stack's fields unknown: pass (p holds for every stack
 * of theirs) and maybe (it depends on the stack); *all when every host passes. */
struct hostsplit {
    struct hostsel pass;
    int64_t *maybe;
    char **maybe_name;
    size_t nmaybe;
    int all;
};

static void hostsplit_free(struct hostsplit *h)
{
    free(h->pass.ids);
    for (size_t i = 0; i < h->nmaybe; i++)
        free(h->maybe_name[i]);
    free(h->maybe);
    free(h->maybe_name);
}

static int split_hosts(struct sq_conn *c, const struct index_pred *p, struct hostsplit *h,
                       struct gp_err *err)
{
    static const char *const cols[INDEX_NFIELDS] = {"h.name", "NULL", "NULL", "''", "''"};
    memset(h, 0, sizeof(*h));
    sqlite3_stmt *st;
    int rc = prepare_pred(c, "SELECT h.id, h.name, ", p, cols, 0, 1, " FROM hosts h", &st, err);
    if (rc < 0)
        return rc;
    size_t total = 0, cap = 0;
    int s = SQLITE_DONE;
    while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW) {
        total++;
        int maybe = sqlite3_column_type(st, 2) == SQLITE_NULL;
        if (!maybe && !sqlite3_column_int(st, 2))
            continue;
        size_t n = h->pass.n + h->nmaybe;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *a = realloc(h->pass.ids, cap * sizeof(*a));
            if (a)
                h->pass.ids = a;
            int64_t *b = realloc(h->maybe, cap * sizeof(*b));
            if (b)
                h->maybe = b;
            char **nm = realloc(h->maybe_name, cap * sizeof(*nm));
            if (nm)
                h->maybe_name = nm;
            if (!a || !b || !nm) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
        }
        int64_t id = sqlite3_column_int64(st, 0);
        if (!maybe) {
            h->pass.ids[h->pass.n++] = id;
            continue;
        }
        const char *name = (const char *)sqlite3_column_text(st, 1);
        if (!(h->maybe_name[h->nmaybe] = strdup(name ? name : ""))) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            break;
        }
        h->maybe[h->nmaybe++] = id;
    }
    if (rc == 0 && s != SQLITE_DONE)
        rc = sq_error(c, s, err, "index filter hosts");
    sqlite3_finalize(st);
    /* every host passes whatever its stacks: the all-hosts rollup answers exactly */
    h->all = rc == 0 && h->nmaybe == 0 && h->pass.n == total;
    return rc;
}

/* map += the stacks of host (name) that pass p, from that host's buckets. */
static int merge_host_filtered(struct six *x, struct sq_conn *c, int64_t service_id,
                               const struct index_slice *sl, int nsl, int64_t host,
                               const char *name, const struct index_pred *p, struct count_map *map,
                               struct index_query_stats *stats, struct gp_err *err)
{
    static const char *const cols[INDEX_NFIELDS] = {"?1", "s.container", "s.comm", "''", "''"};
    struct count_map hm = {0};
    struct hostsel hs = {.ids = &host, .n = 1};
    int rc = merge_buckets(c, service_id, sl, nsl, &hs, &hm, stats, err);
    sqlite3_stmt *st = NULL;
    if (rc == 0 && hm.n)
        rc = prepare_pred(c, "SELECT ", p, cols, 2, 3, NULL, &st, err);
    if (st)
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    for (size_t i = 0; st && rc == 0 && i < hm.cap; i++) {
        if (!hm.keys[i] || !hm.vals[i])
            continue;
        sqlite3_bind_int64(st, 2, (int64_t)hm.keys[i]);
        int s = sqlite3_step(st);
        if (s == SQLITE_ROW && sqlite3_column_int(st, 0))
            count_map_add(map, hm.keys[i], hm.vals[i]);
        else if (s == SQLITE_DONE)
            gp_warn("%s: stack %lld referenced by a bucket is missing", x->path,
                    (long long)hm.keys[i]);
        else if (s != SQLITE_ROW)
            rc = sq_error(c, s, err, "index filter stack");
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    count_map_free(&hm);
    if (rc == 0 && map->oom)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    return rc;
}

/* Common part of query and values: the counts of the stacks that pass the filter, merged over
 * the query's slices. A filter without a host condition is read from the all-hosts rollup and
 * tested per stack; one with a host condition first splits the hosts into those it passes whole
 * (merged as they are) and those where it depends on the stack (tested per host and stack). */
int six_collect(struct six *x, struct sq_conn *c, const struct index_query *q, struct kept **out,
                size_t *nout, struct index_query_stats *stats, int need_hash, struct gp_err *err)
{
    int64_t service_id;
    *out = NULL;
    *nout = 0;
    int rc = six_name_id(c, "services", q->service, 0, &service_id, err);
    if (rc == -ENOENT)
        return 0;
    if (rc < 0)
        return rc;
    struct index_slice sl[INDEX_SLICES_MAX];
    int nsl = index_plan_slices(index_floor_to(q->start, 60), index_floor_to(q->end + 59, 60),
                                q->resolution, sl);
    for (int i = 0; i < nsl; i++) {
        if (sl[i].res == RES_MIN)
            stats->buckets_minute++;
        else if (sl[i].res == RES_HOUR)
            stats->buckets_hour++;
        else
            stats->buckets_day++;
    }
    struct index_filter_tree tree;
    const struct index_pred *p = index_filter_tree(q->filter, &tree);
    /* per-stack test of a host-free filter, done while reading each kept stack's hash */
    const struct index_pred *stack_p = NULL;
    struct count_map map = {0};
    if (!p || !index_pred_uses(p, INDEX_FIELD_HOST)) {
        stack_p = p;
        rc = merge_buckets(c, service_id, sl, nsl, &(struct hostsel){.all = 1}, &map, stats, err);
    } else {
        struct hostsplit h;
        rc = split_hosts(c, p, &h, err);
        if (rc == 0 && h.all)
            rc = merge_buckets(c, service_id, sl, nsl, &(struct hostsel){.all = 1}, &map, stats,
                               err);
        else if (rc == 0 && h.pass.n)
            rc = merge_buckets(c, service_id, sl, nsl, &h.pass, &map, stats, err);
        for (size_t i = 0; rc == 0 && !h.all && i < h.nmaybe; i++)
            rc = merge_host_filtered(x, c, service_id, sl, nsl, h.maybe[i], h.maybe_name[i], p,
                                     &map, stats, err);
        hostsplit_free(&h);
    }
    if (rc < 0) {
        count_map_free(&map);
        return rc;
    }
    struct kept *k = malloc((map.n ? map.n : 1) * sizeof(*k));
    if (!k) {
        count_map_free(&map);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    size_t n = 0;
    /* ties at the cut are ordered by hash: not needed when nothing is cut */
    if (need_hash && q->max_stacks && map.n <= q->max_stacks)
        need_hash = 0;
    static const char *const cols[INDEX_NFIELDS] = {"NULL", "s.container", "s.comm", "''", "''"};
    sqlite3_stmt *st = NULL;
    if ((stack_p || need_hash) &&
        (rc = prepare_pred(c, "SELECT s.hash, ", stack_p, cols, 1, 2, NULL, &st, err)) < 0) {
        free(k);
        count_map_free(&map);
        return rc;
    }
    for (size_t i = 0; i < map.cap && rc == 0; i++) {
        if (!map.keys[i] || !map.vals[i])
            continue;
        struct kept e = {(int64_t)map.keys[i], map.vals[i], 0};
        if (st) {
            sqlite3_bind_int64(st, 1, e.id);
            int s = sqlite3_step(st);
            if (s != SQLITE_ROW) {
                sqlite3_reset(st);
                if (s == SQLITE_DONE) {
                    gp_warn("%s: stack %lld referenced by a bucket is missing", x->path,
                            (long long)e.id);
                    continue;
                }
                rc = sq_error(c, s, err, "index read stack");
                break;
            }
            e.hash = (uint64_t)sqlite3_column_int64(st, 0);
            int ok = sqlite3_column_int(st, 1);
            sqlite3_reset(st);
            if (!ok)
                continue;
        }
        k[n++] = e;
    }
    sqlite3_finalize(st);
    count_map_free(&map);
    if (rc < 0) {
        free(k);
        return rc;
    }
    *out = k;
    *nout = n;
    return 0;
}

int six_query(void *impl, const struct index_query *q, struct gp_profile *out,
              struct index_query_stats *stats, struct gp_err *err)
{
    struct six *x = impl;
    struct sq_conn *c;
    int rc = six_get_conn(x, &c, err);
    if (rc < 0)
        return rc;
    struct kept *k;
    size_t n;
    int truncate = q->max_stacks > 0;
    /* Read-only snapshot: buckets and stacks must come from one consistent state. */
    if ((rc = sq_exec_simple(c, "BEGIN", err)) < 0)
        return rc;
    rc = six_collect(x, c, q, &k, &n, stats, truncate, err);
    if (rc < 0) {
        sq_exec_simple(c, "ROLLBACK", NULL);
        return rc;
    }
    stats->total_stacks = n;
    for (size_t i = 0; i < n; i++)
        stats->total_samples += k[i].count;
    if (truncate && n > q->max_stacks) {
        qsort(k, n, sizeof(*k), by_weight);
        n = q->max_stacks;
    }
    /* read the kept stacks in rowid order: neighbouring rows share pages (k is NULL when the
     * range holds no stack, and qsort must not be given NULL) */
    if (n > 1)
        qsort(k, n, sizeof(*k), by_id);
    sqlite3_stmt *st;
    const char **frames = NULL;
    size_t fcap = 0;
    if ((rc = sq_prepare(c, "SELECT container, comm, nframes, frames FROM stacks WHERE id = ?", &st,
                         err)) < 0)
        goto done;
    for (size_t i = 0; i < n && rc == 0; i++) {
        sqlite3_bind_int64(st, 1, k[i].id);
        int s = sqlite3_step(st);
        if (s != SQLITE_ROW) {
            sqlite3_reset(st);
            if (s == SQLITE_DONE)
                continue;
            rc = sq_error(c, s, err, "index read stack");
            break;
        }
        const char *container = (const char *)sqlite3_column_text(st, 0);
        const char *comm = (const char *)sqlite3_column_text(st, 1);
        size_t nf = (size_t)sqlite3_column_int64(st, 2);
        const char *blob = sqlite3_column_blob(st, 3);
        size_t blen = (size_t)sqlite3_column_bytes(st, 3);
        if (nf > fcap) {
            size_t cap = nf < 64 ? 64 : nf;
            const char **f2 = realloc(frames, cap * sizeof(*f2));
            if (!f2) {
                sqlite3_reset(st);
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            frames = f2;
            fcap = cap;
        }
        size_t got = 0, off = 0;
        while (got < nf && off < blen) {
            frames[got++] = blob + off;
            off += strnlen(blob + off, blen - off) + 1;
        }
        if (got != nf || off > blen || (blen && blob[blen - 1] != 0)) {
            sqlite3_reset(st);
            rc = gp_err_set(err, -EIO, "%s: stack %lld is corrupt", x->path, (long long)k[i].id);
            break;
        }
        if (gp_profile_add(out, 0, container ? container : "", comm ? comm : "", frames,
                           (uint32_t)nf, k[i].count) < 0)
            rc = gp_err_set(err, -ENOMEM, "out of memory");
        sqlite3_reset(st);
        stats->returned_stacks++;
    }
done:
    free(frames);
    free(k);
    sq_exec_simple(c, "COMMIT", NULL);
    return rc;
}
