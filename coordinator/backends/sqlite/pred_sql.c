/* pred_sql.c — index predicates as parameterised SQLite expressions (values are always bound,
 * never spliced into the text) and the gp_like() SQL function. */
#include "coordinator/backends/sqlite/pred_sql.h"

#include <stdlib.h>

void pred_sql_init(struct pred_sql *ps, int first)
{
    *ps = (struct pred_sql){.sql = STRBUF_INIT, .first = first};
}

void pred_sql_free(struct pred_sql *ps)
{
    sb_free(&ps->sql);
    free(ps->binds);
    ps->binds = NULL;
    ps->nbinds = ps->cap = 0;
}

static void param(struct pred_sql *ps, const char *v)
{
    if (ps->nbinds == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        const char **nb = realloc(ps->binds, cap * sizeof(*nb));
        if (!nb) {
            ps->oom = 1;
            return;
        }
        ps->binds = nb;
        ps->cap = cap;
    }
    ps->binds[ps->nbinds] = v;
    sb_printf(&ps->sql, "?%d", ps->first + (int)ps->nbinds);
    ps->nbinds++;
}

void pred_sql_append(struct pred_sql *ps, const struct index_pred *p,
                     const char *const cols[INDEX_NFIELDS])
{
    if (!p) {
        sb_putc(&ps->sql, '1');
        return;
    }
    const char *col = (unsigned)p->field < INDEX_NFIELDS ? cols[p->field] : "''";
    switch (p->op) {
    case INDEX_OP_AND:
    case INDEX_OP_OR:
        if (!p->nkids) {
            sb_putc(&ps->sql, '1');
            return;
        }
        sb_putc(&ps->sql, '(');
        for (size_t i = 0; i < p->nkids; i++) {
            if (i)
                sb_puts(&ps->sql, p->op == INDEX_OP_AND ? " AND " : " OR ");
            pred_sql_append(ps, p->kids[i], cols);
        }
        sb_putc(&ps->sql, ')');
        return;
    case INDEX_OP_IN:
    case INDEX_OP_NOT_IN:
        sb_printf(&ps->sql, "(%s %sIN (", col, p->op == INDEX_OP_NOT_IN ? "NOT " : "");
        for (size_t i = 0, n = 0; i < p->nvals; i++) {
            if (!p->vals[i])
                continue; /* as index_pred_match: a NULL entry matches nothing */
            if (n++)
                sb_putc(&ps->sql, ',');
            param(ps, p->vals[i]);
        }
        sb_puts(&ps->sql, "))");
        return;
    case INDEX_OP_LIKE:
        if (!p->nvals || !p->vals[0]) {
            sb_putc(&ps->sql, '0');
            return;
        }
        sb_puts(&ps->sql, "gp_like(");
        param(ps, p->vals[0]);
        sb_printf(&ps->sql, ", %s)", col);
        return;
    }
    sb_putc(&ps->sql, '0');
}

void pred_sql_bind(const struct pred_sql *ps, sqlite3_stmt *st)
{
    for (size_t i = 0; i < ps->nbinds; i++)
        sqlite3_bind_text(st, ps->first + (int)i, ps->binds[i], -1, SQLITE_STATIC);
}

static void gp_like_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *pat = (const char *)sqlite3_value_text(argv[0]);
    const char *s = (const char *)sqlite3_value_text(argv[1]);
    if (!pat || !s) {
        sqlite3_result_null(ctx);
        return;
    }
    sqlite3_result_int(ctx, index_like(pat, s));
}

int pred_sql_register(sqlite3 *db)
{
    return sqlite3_create_function_v2(db, "gp_like", 2,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                      gp_like_fn, NULL, NULL, NULL);
}
