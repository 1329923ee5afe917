/* backends/sqlite/outbox.c — the durable indexing outbox: a row per profile still to index,
 * committed with the profile row, removed once the index holds the profile; failures back off. */
#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int meta_outbox_add(struct meta_db *db, int64_t profile_id, struct gp_err *err)
{
    struct meta_value p[] = {META_I(profile_id), META_I(meta_now())};
    return meta_exec(db,
                     "INSERT INTO index_outbox (profile_id, created_at) VALUES (?, ?) "
                     "ON CONFLICT (profile_id) DO NOTHING",
                     p, 2, NULL, err);
}

int meta_outbox_add_parked(struct meta_db *db, int64_t profile_id, struct gp_err *err)
{
    struct meta_value p[] = {META_I(profile_id), META_I(meta_now()), META_I(META_OUTBOX_PARKED)};
    return meta_exec(db,
                     "INSERT INTO index_outbox (profile_id, created_at, not_before) "
                     "VALUES (?, ?, ?) ON CONFLICT (profile_id) DO NOTHING",
                     p, 3, NULL, err);
}

int meta_outbox_add_many(struct meta_db *db, const int64_t *profile_ids, const int *parked, int n,
                         struct gp_err *err)
{
    if (n < 1 || n > 64)
        return gp_err_set(err, -EINVAL, "outbox_add_many: %d ids (1..64)", n);
    struct meta_value p[3 * 64];
    char sql[96 + 64 * 12];
    size_t w = (size_t)snprintf(sql, sizeof(sql),
                                "INSERT INTO index_outbox (profile_id, created_at, not_before) "
                                "VALUES ");
    int64_t now = meta_now();
    for (int i = 0; i < n; i++) {
        p[3 * i] = META_I(profile_ids[i]);
        p[3 * i + 1] = META_I(now);
        p[3 * i + 2] = META_I(parked && parked[i] ? META_OUTBOX_PARKED : 0);
        w += (size_t)snprintf(sql + w, sizeof(sql) - w, i ? ", (?, ?, ?)" : "(?, ?, ?)");
    }
    snprintf(sql + w, sizeof(sql) - w, " ON CONFLICT (profile_id) DO NOTHING");
    return meta_exec(db, sql, p, 3 * n, NULL, err);
}

int meta_outbox_unpark(struct meta_db *db, int64_t profile_id, struct gp_err *err)
{
    struct meta_value p[] = {META_I(profile_id), META_I(META_OUTBOX_PARKED)};
    return meta_exec(db,
                     "UPDATE index_outbox SET not_before = 0 WHERE profile_id = ? AND "
                     "not_before >= ?",
                     p, 2, NULL, err);
}

struct next_ctx {
    struct meta_outbox_item *items;
    int n, max;
};

static int next_cb(const struct meta_row *r, void *ctx)
{
    struct next_ctx *nc = ctx;
    if (nc->n >= nc->max)
        return 1;
    struct meta_outbox_item *it = &nc->items[nc->n++];
    it->id = meta_row_int(r, 0);
    it->profile_id = meta_row_int(r, 1);
    it->attempts = (int)meta_row_int(r, 2);
    it->not_before = meta_row_int(r, 3);
    return 0;
}

int meta_outbox_next(struct meta_db *db, int64_t now, struct meta_outbox_item *items, int max,
                     struct gp_err *err)
{
    if (max <= 0)
        return 0;
    struct next_ctx nc = {items, 0, max};
    struct meta_value p[] = {META_I(now), META_I(now), META_I(max)};
    int rc = meta_query(db,
                        "SELECT id, profile_id, attempts, not_before FROM index_outbox "
                        "WHERE not_before <= ? AND claimed_until <= ? ORDER BY id LIMIT ?",
                        p, 3, next_cb, &nc, err);
    return rc < 0 ? rc : nc.n;
}

static int by_id(const void *a, const void *b)
{
    const struct meta_outbox_item *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

int meta_outbox_claim(struct meta_db *db, int64_t now, int64_t lease_s,
                      struct meta_outbox_item *items, int max, struct gp_err *err)
{
    if (max <= 0)
        return 0;
    if (lease_s <= 0)
        return gp_err_set(err, -EINVAL, "outbox lease must be > 0 s");
    char sql[600];
    snprintf(sql, sizeof(sql),
             "UPDATE index_outbox SET claimed_until = ?, claimed_by = %s WHERE id IN "
             "(SELECT id FROM index_outbox WHERE not_before <= ? AND (claimed_until <= ?%s) "
             "ORDER BY id LIMIT ?%s) RETURNING id, profile_id, attempts, not_before",
             meta_sql_claimer(db), meta_sql_claimer_gone(db), meta_sql_skip_locked(db));
    struct next_ctx nc = {items, 0, max};
    struct meta_value p[] = {META_I(now + lease_s), META_I(now), META_I(now), META_I(max)};
    int rc = meta_query(db, sql, p, 4, next_cb, &nc, err);
    if (rc < 0)
        return rc;
    qsort(items, (size_t)nc.n, sizeof(*items), by_id); /* RETURNING has no order */
    return nc.n;
}

int meta_outbox_done(struct meta_db *db, int64_t id, struct gp_err *err)
{
    struct meta_value p = META_I(id);
    return meta_exec(db, "DELETE FROM index_outbox WHERE id = ?", &p, 1, NULL, err);
}

int meta_outbox_done_many(struct meta_db *db, const int64_t *ids, int n, struct gp_err *err)
{
    if (n < 1 || n > 64)
        return gp_err_set(err, -EINVAL, "outbox_done_many: %d ids (1..64)", n);
    struct meta_value p[64];
    char sql[512];
    size_t w = (size_t)snprintf(sql, sizeof(sql), "DELETE FROM index_outbox WHERE id IN (");
    for (int i = 0; i < n; i++) {
        p[i] = META_I(ids[i]);
        w += (size_t)snprintf(sql + w, sizeof(sql) - w, i ? ", ?" : "?");
    }
    snprintf(sql + w, sizeof(sql) - w, ")");
    return meta_exec(db, sql, p, n, NULL, err);
}

int meta_outbox_release(struct meta_db *db, int64_t id, struct gp_err *err)
{
    struct meta_value p = META_I(id);
    return meta_exec(db, "UPDATE index_outbox SET claimed_until = 0 WHERE id = ?", &p, 1, NULL,
                     err);
}

int meta_outbox_fail(struct meta_db *db, int64_t id, int64_t retry_at, const char *msg,
                     struct gp_err *err)
{
    struct meta_value p[] = {META_I(retry_at), META_TN(msg), META_I(id)};
    return meta_exec(db,
                     "UPDATE index_outbox SET attempts = attempts + 1, not_before = ?, "
                     "last_error = ?, claimed_until = 0 WHERE id = ?",
                     p, 3, NULL, err);
}

int meta_outbox_recover(struct meta_db *db, struct gp_err *err)
{
    if (*meta_sql_claimer_gone(db))
        return 0; /* dead claimers are told apart from live ones as items are claimed */
    return meta_exec(db, "UPDATE index_outbox SET claimed_until = 0 WHERE claimed_until > 0", NULL,
                     0, NULL, err);
}

int meta_outbox_pending(struct meta_db *db, int64_t *out, struct gp_err *err)
{
    return meta_query_int(db, "SELECT COUNT(*) FROM index_outbox", NULL, 0, out, err);
}
