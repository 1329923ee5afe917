/* backends/sqlite/adhoc.c — metadata of ad hoc flame graphs (one row per rendered HTML blob),
 * listed by service, time range and host for /api/metrics/adhoc_flamegraphs. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void meta_adhoc_clear(struct meta_adhoc *a)
{
    if (!a)
        return;
    free(a->service);
    free(a->hostname);
    free(a->filename);
    free(a->blob_key);
    free(a->perf_events);
    memset(a, 0, sizeof(*a));
}

#define ADHOC_COLS                                                                                 \
    "a.id, a.service_id, s.name, a.hostname, a.filename, a.blob_key, a.perf_events, "              \
    "a.start_time, a.end_time, a.size, a.profile_id, a.created_at"
#define ADHOC_FROM " FROM adhoc_flamegraphs a JOIN services s ON s.id = a.service_id "

static int row_to_adhoc(const struct meta_row *r, struct meta_adhoc *a)
{
    int oom = 0;
    a->id = meta_row_int(r, 0);
    a->service_id = meta_row_int(r, 1);
    a->service = meta_row_strdup(r, 2, &oom);
    a->hostname = meta_row_strdup(r, 3, &oom);
    a->filename = meta_row_strdup(r, 4, &oom);
    a->blob_key = meta_row_strdup(r, 5, &oom);
    a->perf_events = meta_row_strdup(r, 6, &oom);
    a->start_time = meta_row_int(r, 7);
    a->end_time = meta_row_int(r, 8);
    a->size = meta_row_int(r, 9);
    a->profile_id = meta_row_int(r, 10);
    a->created_at = meta_row_int(r, 11);
    return oom ? -ENOMEM : 0;
}

int meta_adhoc_insert(struct meta_db *db, const struct meta_adhoc *a, int64_t *id_out,
                      struct gp_err *err)
{
    if (!a->hostname || !a->filename || !a->blob_key)
        return gp_err_set(err, -EINVAL, "ad hoc row needs hostname, filename and blob_key");
    int64_t sid = a->service_id;
    int rc;
    if (sid <= 0 && (rc = meta_service_ensure(db, a->service, &sid, err)) < 0)
        return rc;
    struct meta_value v[] = {
            META_I(sid),
            META_T(a->hostname),
            META_T(a->filename),
            META_T(a->blob_key),
            META_TN(a->perf_events),
            META_I(a->start_time),
            META_I(a->end_time),
            META_I(a->size),
            a->profile_id > 0 ? META_I(a->profile_id) : META_N,
            META_I(meta_now()),
    };
    int64_t id;
    rc = meta_query_int(db,
                        "INSERT INTO adhoc_flamegraphs (service_id, hostname, filename, blob_key, "
                        "perf_events, start_time, end_time, size, profile_id, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (blob_key) DO UPDATE SET hostname = excluded.hostname, "
                        "perf_events = excluded.perf_events, start_time = excluded.start_time, "
                        "end_time = excluded.end_time, size = excluded.size, "
                        "profile_id = excluded.profile_id RETURNING id",
                        v, 10, &id, err);
    if (rc == 0 && id_out)
        *id_out = id;
    return rc;
}

struct list_ctx {
    meta_adhoc_cb cb;
    void *ctx;
    int rc;
};

static int list_cb(const struct meta_row *r, void *ctx)
{
    struct list_ctx *lc = ctx;
    struct meta_adhoc a = {0};
    int rc;
    if (row_to_adhoc(r, &a) < 0) {
        lc->rc = -ENOMEM;
        rc = 1;
    } else {
        rc = lc->cb(&a, lc->ctx);
    }
    meta_adhoc_clear(&a);
    return rc;
}

#define MAX_HOSTS 512

int meta_adhoc_list(struct meta_db *db, const char *service, int64_t start, int64_t end,
                    const char *const *hostnames, size_t nhosts, meta_adhoc_cb cb, void *ctx,
                    struct gp_err *err)
{
    if (nhosts > MAX_HOSTS)
        return gp_err_set(err, -EINVAL, "at most %d hostnames per query", MAX_HOSTS);
    struct strbuf sql = STRBUF_INIT;
    sb_puts(&sql, "SELECT " ADHOC_COLS ADHOC_FROM
                  "WHERE s.name = ? AND a.start_time >= ? AND a.end_time <= ?");
    struct meta_value p[3 + MAX_HOSTS];
    int n = 0;
    p[n++] = META_T(service);
    p[n++] = META_I(start);
    p[n++] = META_I(end);
    if (nhosts) {
        sb_puts(&sql, " AND a.hostname IN (");
        for (size_t i = 0; i < nhosts; i++) {
            sb_puts(&sql, i ? ", ?" : "?");
            p[n++] = META_T(hostnames[i]);
        }
        sb_puts(&sql, ")");
    }
    sb_puts(&sql, " ORDER BY a.start_time DESC, a.id DESC");
    if (sql.oom) {
        sb_free(&sql);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    struct list_ctx lc = {cb, ctx, 0};
    int rc = meta_query(db, sb_str(&sql), p, n, list_cb, &lc, err);
    sb_free(&sql);
    if (lc.rc < 0)
        return gp_err_set(err, lc.rc, "out of memory");
    return rc;
}

struct one_ctx {
    struct meta_adhoc *out;
    int found, rc;
};

static int one_cb(const struct meta_row *r, void *ctx)
{
    struct one_ctx *oc = ctx;
    oc->found = 1;
    oc->rc = row_to_adhoc(r, oc->out);
    return 1;
}

int meta_adhoc_get(struct meta_db *db, const char *service, const char *filename,
                   struct meta_adhoc *out, struct gp_err *err)
{
    memset(out, 0, sizeof(*out));
    struct one_ctx oc = {out, 0, 0};
    struct meta_value p[] = {META_T(service), META_T(filename)};
    int rc = meta_query(db, "SELECT " ADHOC_COLS ADHOC_FROM "WHERE s.name = ? AND a.filename = ?",
                        p, 2, one_cb, &oc, err);
    if (rc < 0)
        return rc;
    if (oc.rc < 0) {
        meta_adhoc_clear(out);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (!oc.found)
        return gp_err_set(err, -ENOENT, "no ad hoc flame graph '%s' for service %s", filename,
                          service);
    return 0;
}

int meta_adhoc_delete_before(struct meta_db *db, int64_t before, int64_t *deleted,
                             struct gp_err *err)
{
    struct meta_value p = META_I(before);
    return meta_exec(db, "DELETE FROM adhoc_flamegraphs WHERE end_time < ?", &p, 1, deleted, err);
}

struct before_ctx {
    meta_adhoc_cb cb;
    void *ctx;
};

static int before_cb(const struct meta_row *r, void *ctx)
{
    struct before_ctx *bc = ctx;
    struct meta_adhoc a = {.blob_key = (char *)meta_row_text(r, 0), .id = meta_row_int(r, 1)};
    return bc->cb(&a, bc->ctx);
}

int meta_adhoc_list_before(struct meta_db *db, int64_t before, size_t limit, meta_adhoc_cb cb,
                           void *ctx, struct gp_err *err)
{
    struct before_ctx bc = {cb, ctx};
    struct meta_value p[] = {META_I(before), META_I(limit ? (int64_t)limit : INT64_MAX)};
    return meta_query(db,
                      "SELECT blob_key, id FROM adhoc_flamegraphs WHERE end_time < ? "
                      "ORDER BY id LIMIT ?",
                      p, 2, before_cb, &bc, err);
}

int meta_adhoc_delete(struct meta_db *db, int64_t id, struct gp_err *err)
{
    struct meta_value p = META_I(id);
    return meta_exec(db, "DELETE FROM adhoc_flamegraphs WHERE id = ?", &p, 1, NULL, err);
}
