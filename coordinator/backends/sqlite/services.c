/* backends/sqlite/services.c — services: sanitised names (Performance Studio's rule), ids,
 * per-service downsampling threshold. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

size_t meta_service_sanitize(const char *in, char *out, size_t outsz)
{
    size_t n = 0;
    if (!outsz)
        return 0;
    for (const char *p = in ? in : ""; *p && n + 1 < outsz; p++) {
        char ch = *p;
        int keep = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                   (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
        if (!keep)
            continue;
        if (ch == '_' && n == 0)
            continue; /* leading underscores are stripped */
        out[n++] = ch;
    }
    out[n] = 0;
    return n;
}

void meta_service_clear(struct meta_service *s)
{
    if (!s)
        return;
    free(s->name);
    memset(s, 0, sizeof(*s));
}

#define SERVICE_COLS "id, name, created_at, sample_threshold"

static int row_to_service(const struct meta_row *r, struct meta_service *s)
{
    int oom = 0;
    s->id = meta_row_int(r, 0);
    s->name = meta_row_strdup(r, 1, &oom);
    s->created_at = meta_row_int(r, 2);
    s->sample_threshold = meta_row_real(r, 3);
    return oom ? -ENOMEM : 0;
}

struct one_ctx {
    struct meta_service *out;
    int found;
    int rc;
};

static int one_cb(const struct meta_row *r, void *ctx)
{
    struct one_ctx *oc = ctx;
    oc->found = 1;
    if (oc->out)
        oc->rc = row_to_service(r, oc->out);
    return 1;
}

static int get_where(struct meta_db *db, const char *sql, struct meta_value key,
                     struct meta_service *out, const char *what, struct gp_err *err)
{
    struct one_ctx oc = {out, 0, 0};
    if (out)
        memset(out, 0, sizeof(*out));
    int rc = meta_query(db, sql, &key, 1, one_cb, &oc, err);
    if (rc < 0)
        return rc;
    if (oc.rc < 0)
        return gp_err_set(err, oc.rc, "out of memory");
    if (!oc.found)
        return gp_err_set(err, -ENOENT, "service %s doesn't exist", what);
    return 0;
}

int meta_service_get(struct meta_db *db, const char *name, struct meta_service *out,
                     struct gp_err *err)
{
    return get_where(db, "SELECT " SERVICE_COLS " FROM services WHERE name = ?", META_T(name), out,
                     name, err);
}

int meta_service_get_by_id(struct meta_db *db, int64_t id, struct meta_service *out,
                           struct gp_err *err)
{
    char what[32];
    snprintf(what, sizeof(what), "#%lld", (long long)id);
    return get_where(db, "SELECT " SERVICE_COLS " FROM services WHERE id = ?", META_I(id), out,
                     what, err);
}

int meta_service_ensure(struct meta_db *db, const char *name, int64_t *id_out, struct gp_err *err)
{
    char clean[META_NAME_MAX];
    if (!name || strlen(name) >= META_NAME_MAX)
        return gp_err_set(err, -EINVAL, "service name is missing or longer than %d bytes",
                          META_NAME_MAX - 1);
    if (meta_service_sanitize(name, clean, sizeof(clean)) == 0)
        return gp_err_set(err, -EINVAL,
                          "service name '%s' has no usable characters (allowed: A-Z a-z 0-9 _ . -)",
                          name);
    struct meta_value k = META_T(clean);
    int rc = meta_query_int(db, "SELECT id FROM services WHERE name = ?", &k, 1, id_out, err);
    if (rc != -ENOENT)
        return rc;
    struct meta_value p[] = {META_T(clean), META_I(meta_now())};
    rc = meta_exec(db,
                   "INSERT INTO services (name, created_at) VALUES (?, ?) "
                   "ON CONFLICT (name) DO NOTHING",
                   p, 2, NULL, err);
    if (rc < 0)
        return rc;
    return meta_query_int(db, "SELECT id FROM services WHERE name = ?", &k, 1, id_out, err);
}

struct list_ctx {
    meta_service_cb cb;
    void *ctx;
    int rc;
};

static int list_cb(const struct meta_row *r, void *ctx)
{
    struct list_ctx *lc = ctx;
    struct meta_service s = {0};
    if (row_to_service(r, &s) < 0) {
        meta_service_clear(&s);
        lc->rc = -ENOMEM;
        return 1;
    }
    int rc = lc->cb(&s, lc->ctx);
    meta_service_clear(&s);
    return rc;
}

int meta_service_list(struct meta_db *db, meta_service_cb cb, void *ctx, struct gp_err *err)
{
    struct list_ctx lc = {cb, ctx, 0};
    int rc = meta_query(db, "SELECT " SERVICE_COLS " FROM services ORDER BY name", NULL, 0, list_cb,
                        &lc, err);
    if (lc.rc < 0)
        return gp_err_set(err, lc.rc, "out of memory");
    return rc;
}

int meta_service_set_sample_threshold(struct meta_db *db, const char *name, double threshold,
                                      struct gp_err *err)
{
    if (!(threshold >= 0 && threshold <= 1))
        return gp_err_set(err, -EINVAL, "sample threshold %g is outside 0..1", threshold);
    struct meta_value p[] = {META_D(threshold), META_T(name)};
    int64_t changes = 0;
    int rc = meta_exec(db, "UPDATE services SET sample_threshold = ? WHERE name = ?", p, 2,
                       &changes, err);
    if (rc < 0)
        return rc;
    if (!changes)
        return gp_err_set(err, -ENOENT, "service %s doesn't exist", name);
    return 0;
}
