/* backends/sqlite/audit.c — the audit log: one row per control or admin action and per refused
 * attempt, appended in its own durable transaction, listed newest first. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_LIST_DEFAULT 100

void meta_audit_clear(struct meta_audit *a)
{
    if (!a)
        return;
    free(a->who);
    free(a->address);
    free(a->action);
    free(a->target);
    free(a->result);
    free(a->detail);
    memset(a, 0, sizeof(*a));
}

#define S(x) META_T((x) ? (x) : "")

int meta_audit_append(struct meta_db *db, const struct meta_audit *a, struct gp_err *err)
{
    struct meta_value p[] = {META_I(a->at ? a->at : meta_now()),
                             S(a->who),
                             S(a->address),
                             S(a->action),
                             S(a->target),
                             S(a->result),
                             META_I(a->status),
                             S(a->detail)};
    int rc = meta_begin(db, err);
    if (rc < 0)
        return rc;
    rc = meta_exec(db,
                   "INSERT INTO audit_log (at, who, address, action, target, result, status, "
                   "detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   p, 8, NULL, err);
    if (rc == 0)
        return meta_commit(db, err);
    meta_rollback(db);
    return rc;
}

struct audit_ctx {
    meta_audit_cb cb;
    void *ctx;
    int rc;
};

static int audit_row(const struct meta_row *r, void *ctx)
{
    struct audit_ctx *ac = ctx;
    int oom = 0;
    struct meta_audit a = {.id = meta_row_int(r, 0),
                           .at = meta_row_int(r, 1),
                           .who = meta_row_strdup(r, 2, &oom),
                           .address = meta_row_strdup(r, 3, &oom),
                           .action = meta_row_strdup(r, 4, &oom),
                           .target = meta_row_strdup(r, 5, &oom),
                           .result = meta_row_strdup(r, 6, &oom),
                           .status = (int)meta_row_int(r, 7),
                           .detail = meta_row_strdup(r, 8, &oom)};
    int rc = oom ? (ac->rc = -ENOMEM, 1) : ac->cb(&a, ac->ctx);
    meta_audit_clear(&a);
    return rc;
}

int meta_audit_list(struct meta_db *db, int64_t since, size_t limit, meta_audit_cb cb, void *ctx,
                    struct gp_err *err)
{
    struct audit_ctx ac = {cb, ctx, 0};
    struct meta_value p[] = {META_I(since), META_I(limit ? limit : AUDIT_LIST_DEFAULT)};
    int rc = meta_query(db,
                        "SELECT id, at, who, address, action, target, result, status, detail "
                        "FROM audit_log WHERE at >= ? ORDER BY id DESC LIMIT ?",
                        p, 2, audit_row, &ac, err);
    if (ac.rc < 0)
        return gp_err_set(err, ac.rc, "out of memory");
    return rc < 0 ? rc : 0;
}
