/* backends/sqlite/settings.c — coordinator-wide key/value settings (retention_days, ...) kept in
 * the metadata store so the API can change them at run time. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct get_ctx {
    char *v;
    int found, oom;
};

static int get_cb(const struct meta_row *r, void *ctx)
{
    struct get_ctx *gc = ctx;
    gc->found = 1;
    gc->v = meta_row_strdup(r, 0, &gc->oom);
    return 1;
}

int meta_setting_get(struct meta_db *db, const char *key, char **value_out, struct gp_err *err)
{
    struct get_ctx gc = {0};
    struct meta_value p = META_T(key);
    int rc = meta_query(db, "SELECT value FROM settings WHERE key = ?", &p, 1, get_cb, &gc, err);
    if (rc < 0)
        return rc;
    if (gc.oom)
        return gp_err_set(err, -ENOMEM, "out of memory");
    if (!gc.found || !gc.v)
        return gp_err_set(err, -ENOENT, "setting %s is not set", key);
    *value_out = gc.v;
    return 0;
}

int meta_setting_set(struct meta_db *db, const char *key, const char *value, struct gp_err *err)
{
    if (!key || !value)
        return gp_err_set(err, -EINVAL, "setting needs a key and a value");
    struct meta_value p[] = {META_T(key), META_T(value), META_I(meta_now())};
    return meta_exec(db,
                     "INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
                     "updated_at = excluded.updated_at",
                     p, 3, NULL, err);
}

int meta_setting_get_int(struct meta_db *db, const char *key, int64_t def, int64_t *out,
                         struct gp_err *err)
{
    char *v = NULL;
    int rc = meta_setting_get(db, key, &v, err);
    if (rc == -ENOENT) {
        *out = def;
        return 0;
    }
    if (rc < 0)
        return rc;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    *out = (errno || end == v || *end) ? def : (int64_t)x;
    free(v);
    return 0;
}
