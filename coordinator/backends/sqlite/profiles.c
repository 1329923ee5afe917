/* backends/sqlite/profiles.c — one metadata row per stored upload (blob key, host, time range,
 * metrics), unique by upload id so a retried upload is stored once. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void meta_profile_clear(struct meta_profile *p)
{
    if (!p)
        return;
    free(p->service);
    free(p->hostname);
    free(p->blob_key);
    free(p->upload_id);
    memset(p, 0, sizeof(*p));
}

#define PROFILE_COLS                                                                               \
    "p.id, p.service_id, s.name, p.hostname, p.start_time, p.end_time, p.blob_key, p.cpu_avg, "    \
    "p.mem_avg, p.continuous, p.size, p.upload_id, p.created_at, p.indexed"
#define PROFILE_FROM " FROM profiles p JOIN services s ON s.id = p.service_id "

static int row_to_profile(const struct meta_row *r, struct meta_profile *p)
{
    int oom = 0;
    p->id = meta_row_int(r, 0);
    p->service_id = meta_row_int(r, 1);
    p->service = meta_row_strdup(r, 2, &oom);
    p->hostname = meta_row_strdup(r, 3, &oom);
    p->start_time = meta_row_int(r, 4);
    p->end_time = meta_row_int(r, 5);
    p->blob_key = meta_row_strdup(r, 6, &oom);
    p->cpu_avg = r->cols[7].type == META_NULL ? -1 : meta_row_real(r, 7);
    p->mem_avg = r->cols[8].type == META_NULL ? -1 : meta_row_real(r, 8);
    p->continuous = (int)meta_row_int(r, 9);
    p->size = meta_row_int(r, 10);
    p->upload_id = meta_row_strdup(r, 11, &oom);
    p->created_at = meta_row_int(r, 12);
    p->indexed = (int)meta_row_int(r, 13);
    return oom ? -ENOMEM : 0;
}

int meta_profile_insert(struct meta_db *db, const struct meta_profile *p, int64_t *id_out,
                        struct gp_err *err)
{
    if (!p->hostname || !p->blob_key || !p->upload_id || p->service_id <= 0)
        return gp_err_set(err, -EINVAL,
                          "profile row needs service_id, hostname, blob_key and "
                          "upload_id");
    struct meta_value v[] = {
            META_I(p->service_id),
            META_T(p->hostname),
            META_I(p->start_time),
            META_I(p->end_time),
            META_T(p->blob_key),
            p->cpu_avg < 0 ? META_N : META_D(p->cpu_avg),
            p->mem_avg < 0 ? META_N : META_D(p->mem_avg),
            META_I(p->continuous ? 1 : 0),
            META_I(p->size),
            META_T(p->upload_id),
            META_I(meta_now()),
    };
    /* one statement (one round trip on a network store) whether or not the upload id is new;
     * a concurrent insert of the same id waits for the other transaction instead of failing it */
    int rc = meta_query_int(db,
                            "INSERT INTO profiles (service_id, hostname, start_time, end_time, "
                            "blob_key, cpu_avg, mem_avg, continuous, size, upload_id, created_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                            "ON CONFLICT (upload_id) DO NOTHING RETURNING id",
                            v, 11, id_out, err);
    if (rc != -ENOENT)
        return rc;
    gp_err_clear(err);
    struct meta_value k = META_T(p->upload_id);
    rc = meta_query_int(db, "SELECT id FROM profiles WHERE upload_id = ?", &k, 1, id_out, err);
    if (rc == 0)
        return gp_err_set(err, -EEXIST, "upload %s is already stored", p->upload_id);
    return rc;
}

static void in_list_sql(char *buf, size_t sz, const char *prefix, int n);

struct many_ctx {
    const struct meta_profile *rows;
    int n;
    int64_t *ids;
    int *dup;
    int *seen; /* rows already given an id by this statement */
    int all;   /* give the id to every row of that upload id (the duplicates' look-up) */
};

/* A row (id, upload_id): the first row of that upload id not yet given an id (all of them for
 * the duplicates' look-up). */
static int many_cb(const struct meta_row *r, void *ctx)
{
    struct many_ctx *mc = ctx;
    const char *uid = meta_row_text(r, 1);
    for (int i = 0; uid && i < mc->n; i++)
        if (!mc->seen[i] && strcmp(mc->rows[i].upload_id, uid) == 0) {
            mc->seen[i] = 1;
            mc->ids[i] = meta_row_int(r, 0);
            if (!mc->all)
                return 0;
        }
    return 0;
}

#define INSERT_COLS 11

int meta_profile_insert_many(struct meta_db *db, const struct meta_profile *rows, int n,
                             int64_t *ids, int *dup, struct gp_err *err)
{
    if (n < 1 || n > META_PROFILE_INSERT_MAX)
        return gp_err_set(err, -EINVAL, "profile_insert_many: %d rows (1..%d)", n,
                          META_PROFILE_INSERT_MAX);
    struct meta_value v[INSERT_COLS * META_PROFILE_INSERT_MAX];
    int seen[META_PROFILE_INSERT_MAX] = {0};
    char sql[256 + META_PROFILE_INSERT_MAX * 40];
    size_t w = (size_t)snprintf(sql, sizeof(sql),
                                "INSERT INTO profiles (service_id, hostname, start_time, end_time, "
                                "blob_key, cpu_avg, mem_avg, continuous, size, upload_id, "
                                "created_at) VALUES ");
    int64_t now = meta_now();
    for (int i = 0; i < n; i++) {
        const struct meta_profile *p = &rows[i];
        if (!p->hostname || !p->blob_key || !p->upload_id || p->service_id <= 0)
            return gp_err_set(err, -EINVAL,
                              "profile row needs service_id, hostname, blob_key and upload_id");
        struct meta_value *r = &v[INSERT_COLS * i];
        r[0] = META_I(p->service_id);
        r[1] = META_T(p->hostname);
        r[2] = META_I(p->start_time);
        r[3] = META_I(p->end_time);
        r[4] = META_T(p->blob_key);
        r[5] = p->cpu_avg < 0 ? META_N : META_D(p->cpu_avg);
        r[6] = p->mem_avg < 0 ? META_N : META_D(p->mem_avg);
        r[7] = META_I(p->continuous ? 1 : 0);
        r[8] = META_I(p->size);
        r[9] = META_T(p->upload_id);
        r[10] = META_I(now);
        w += (size_t)snprintf(sql + w, sizeof(sql) - w, "%s(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              i ? ", " : "");
        ids[i] = 0;
        dup[i] = 0;
    }
    /* a concurrent insert of the same id (another coordinator) waits for that transaction, then
     * is skipped: the row is a duplicate, found below */
    snprintf(sql + w, sizeof(sql) - w,
             " ON CONFLICT (upload_id) DO NOTHING RETURNING id, upload_id");
    struct many_ctx mc = {.rows = rows, .n = n, .ids = ids, .dup = dup, .seen = seen};
    int rc = meta_query(db, sql, v, INSERT_COLS * n, many_cb, &mc, err);
    if (rc < 0)
        return rc;
    int ndup = 0;
    struct meta_value k[META_PROFILE_INSERT_MAX];
    for (int i = 0; i < n; i++)
        if (!seen[i]) {
            dup[i] = 1;
            k[ndup++] = META_T(rows[i].upload_id);
        }
    if (!ndup)
        return 0;
    /* the duplicates' stored rows (committed before, or inserted above by an earlier row) */
    char q[128 + META_PROFILE_INSERT_MAX * 4];
    in_list_sql(q, sizeof(q), "SELECT id, upload_id FROM profiles WHERE upload_id IN ", ndup);
    for (int i = 0; i < n; i++)
        seen[i] = !dup[i];
    mc.all = 1;
    if ((rc = meta_query(db, q, k, ndup, many_cb, &mc, err)) < 0)
        return rc;
    for (int i = 0; i < n; i++)
        if (!seen[i]) /* skipped for a row that is gone again (deleted meanwhile) */
            return gp_err_set(err, -EIO, "upload %s conflicted with a row that no longer exists",
                              rows[i].upload_id);
    return 0;
}

struct one_ctx {
    struct meta_profile *out;
    int found, rc;
};

static int one_cb(const struct meta_row *r, void *ctx)
{
    struct one_ctx *oc = ctx;
    oc->found = 1;
    oc->rc = row_to_profile(r, oc->out);
    return 1;
}

static int get_one(struct meta_db *db, const char *sql, struct meta_value key,
                   struct meta_profile *out, struct gp_err *err)
{
    memset(out, 0, sizeof(*out));
    struct one_ctx oc = {out, 0, 0};
    int rc = meta_query(db, sql, &key, 1, one_cb, &oc, err);
    if (rc < 0)
        return rc;
    if (oc.rc < 0) {
        meta_profile_clear(out);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (!oc.found)
        return gp_err_set(err, -ENOENT, "no such profile");
    return 0;
}

int meta_profile_get(struct meta_db *db, int64_t id, struct meta_profile *out, struct gp_err *err)
{
    return get_one(db, "SELECT " PROFILE_COLS PROFILE_FROM "WHERE p.id = ?", META_I(id), out, err);
}

int meta_profile_get_by_upload(struct meta_db *db, const char *upload_id, struct meta_profile *out,
                               struct gp_err *err)
{
    return get_one(db, "SELECT " PROFILE_COLS PROFILE_FROM "WHERE p.upload_id = ?",
                   META_T(upload_id), out, err);
}

int meta_profile_set_indexed(struct meta_db *db, int64_t id, int indexed, struct gp_err *err)
{
    struct meta_value p[] = {META_I(indexed), META_I(id)};
    return meta_exec(db, "UPDATE profiles SET indexed = ? WHERE id = ?", p, 2, NULL, err);
}

/* "PREFIX(?, ?, ...)" with n placeholders into buf. */
static void in_list_sql(char *buf, size_t sz, const char *prefix, int n)
{
    size_t w = (size_t)snprintf(buf, sz, "%s(", prefix);
    for (int i = 0; i < n && w + 4 < sz; i++)
        w += (size_t)snprintf(buf + w, sz - w, i ? ", ?" : "?");
    snprintf(buf + w, sz - w, ")");
}

int meta_profile_set_indexed_many(struct meta_db *db, const int64_t *ids, int n, int indexed,
                                  struct gp_err *err)
{
    if (n < 1 || n > 64)
        return gp_err_set(err, -EINVAL, "set_indexed_many: %d ids (1..64)", n);
    struct meta_value p[65];
    p[0] = META_I(indexed);
    for (int i = 0; i < n; i++)
        p[i + 1] = META_I(ids[i]);
    char sql[512];
    in_list_sql(sql, sizeof(sql), "UPDATE profiles SET indexed = ? WHERE id IN ", n);
    return meta_exec(db, sql, p, n + 1, NULL, err);
}

struct list_ctx {
    meta_profile_cb cb;
    void *ctx;
    int rc;
};

static int list_cb(const struct meta_row *r, void *ctx)
{
    struct list_ctx *lc = ctx;
    struct meta_profile p = {0};
    int rc;
    if (row_to_profile(r, &p) < 0) {
        lc->rc = -ENOMEM;
        rc = 1;
    } else {
        rc = lc->cb(&p, lc->ctx);
    }
    meta_profile_clear(&p);
    return rc;
}

int meta_profile_list(struct meta_db *db, const char *service, int64_t start, int64_t end,
                      size_t limit, meta_profile_cb cb, void *ctx, struct gp_err *err)
{
    struct list_ctx lc = {cb, ctx, 0};
    struct meta_value p[] = {META_TN(service), META_TN(service), META_I(start), META_I(end),
                             META_I(limit ? (int64_t)limit : INT64_MAX)};
    int rc = meta_query(db,
                        "SELECT " PROFILE_COLS PROFILE_FROM
                        "WHERE (CAST(? AS TEXT) IS NULL OR s.name = ?) AND p.start_time >= ? AND "
                        "p.start_time < ? ORDER BY p.start_time, p.id LIMIT ?",
                        p, 5, list_cb, &lc, err);
    if (lc.rc < 0)
        return gp_err_set(err, lc.rc, "out of memory");
    return rc;
}

int meta_profile_list_before(struct meta_db *db, int64_t before, size_t limit, meta_profile_cb cb,
                             void *ctx, struct gp_err *err)
{
    struct list_ctx lc = {cb, ctx, 0};
    struct meta_value p[] = {META_I(before), META_I(limit ? (int64_t)limit : INT64_MAX)};
    int rc = meta_query(db,
                        "SELECT " PROFILE_COLS PROFILE_FROM
                        "WHERE p.end_time < ? ORDER BY p.end_time, p.id LIMIT ?",
                        p, 2, list_cb, &lc, err);
    if (lc.rc < 0)
        return gp_err_set(err, lc.rc, "out of memory");
    return rc;
}

int meta_profile_delete(struct meta_db *db, int64_t id, struct gp_err *err)
{
    struct meta_value p = META_I(id);
    return meta_exec(db, "DELETE FROM profiles WHERE id = ?", &p, 1, NULL, err);
}

int meta_profile_id_by_upload(struct meta_db *db, const char *upload_id, int64_t *id_out,
                              struct gp_err *err)
{
    struct meta_value k = META_T(upload_id);
    return meta_query_int(db, "SELECT id FROM profiles WHERE upload_id = ?", &k, 1, id_out, err);
}

int meta_profile_blob_referenced(struct meta_db *db, const char *blob_key, int *referenced,
                                 struct gp_err *err)
{
    struct meta_value k = META_T(blob_key);
    int64_t one;
    int rc = meta_query_int(db, "SELECT 1 FROM profiles WHERE blob_key = ?", &k, 1, &one, err);
    if (rc < 0 && rc != -ENOENT)
        return rc;
    *referenced = rc == 0;
    return 0;
}

int meta_profile_count(struct meta_db *db, int64_t *out, struct gp_err *err)
{
    return meta_query_int(db, "SELECT COUNT(*) FROM profiles", NULL, 0, out, err);
}
