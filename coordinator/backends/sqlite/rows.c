/* backends/sqlite/rows.c — rows to structs for the control-plane reads (see rows.h). */
#include "coordinator/backends/sqlite/rows.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct one_ctx {
    const struct row_kind *k;
    void *out;
    int found, rc;
};

static int one_cb(const struct meta_row *r, void *ctx)
{
    struct one_ctx *c = ctx;
    c->found = 1;
    c->rc = c->k->read(r, c->out);
    return 1;
}

int sq_row_one(struct meta_db *db, const struct row_kind *k, size_t size, const char *sql,
               const struct meta_value *p, int np, void *out, struct gp_err *err, const char *fmt,
               ...)
{
    memset(out, 0, size);
    struct one_ctx c = {k, out, 0, 0};
    int rc = meta_query(db, sql, p, np, one_cb, &c, err);
    if (rc < 0)
        return rc;
    if (c.rc < 0) {
        k->clear(out);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (c.found)
        return 0;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return gp_err_set(err, -ENOENT, "%s", msg);
}

struct each_ctx {
    const struct row_kind *k;
    union row_cb cb;
    void *ctx;
    int rc;
};

static int each_cb(const struct meta_row *r, void *ctx)
{
    struct each_ctx *c = ctx;
    union row_buf b;
    memset(&b, 0, sizeof(b));
    int rc;
    if (c->k->read(r, &b) < 0) {
        c->rc = -ENOMEM;
        rc = 1;
    } else {
        rc = c->k->call(c->cb, &b, c->ctx);
    }
    c->k->clear(&b);
    return rc;
}

int sq_row_each(struct meta_db *db, const struct row_kind *k, const char *sql,
                const struct meta_value *p, int np, union row_cb cb, void *ctx, struct gp_err *err)
{
    struct each_ctx c = {k, cb, ctx, 0};
    int rc = meta_query(db, sql, p, np, each_cb, &c, err);
    if (c.rc < 0)
        return gp_err_set(err, c.rc, "out of memory");
    return rc;
}
