/* backends/sqlite/rows.h — the two shapes of every control-plane read: the first row into a
 * struct (sq_row_one) or each row as a struct to the caller's callback (sq_row_each), by row kind.
 */
#ifndef GPROF_COORD_BACKENDS_SQLITE_ROWS_H
#define GPROF_COORD_BACKENDS_SQLITE_ROWS_H

#include "coordinator/backends/sqlite/sql.h"
#include "coordinator/store/meta/meta.h"

/* A host_status row: its heartbeat and, when it has one, its command. */
struct host_row {
    struct meta_heartbeat h;
    struct meta_command c;
    int has_cmd;
};

union row_cb {
    int (*hb)(const struct meta_heartbeat *h, void *ctx);
    int (*cmd)(const struct meta_command *c, void *ctx);
    int (*exec)(const struct meta_execution *e, void *ctx);
    int (*host)(const struct meta_host_status *hs, void *ctx);
};

/* A row kind: how a row becomes its struct, how the struct is freed, and how the caller's
 * callback is called with it. */
struct row_kind {
    int (*read)(const struct meta_row *r, void *out); /* 0 or -ENOMEM; out zeroed before */
    void (*clear)(void *out);
    int (*call)(union row_cb cb, const void *row, void *ctx); /* NULL: sq_row_one only */
};

/* Room for any row kind's struct. */
union row_buf {
    struct meta_heartbeat h;
    struct meta_command c;
    struct meta_request r;
    struct meta_execution e;
    struct host_row hr;
};

/* The first row of sql into *out (size bytes, zeroed first): 0; -ENOENT with the message fmt
 * when there is none; another negative errno with err set. */
int sq_row_one(struct meta_db *db, const struct row_kind *k, size_t size, const char *sql,
               const struct meta_value *p, int np, void *out, struct gp_err *err, const char *fmt,
               ...) __attribute__((format(printf, 9, 10)));
/* Each row of sql, as its struct, to cb (which stops the query by returning non-zero). */
int sq_row_each(struct meta_db *db, const struct row_kind *k, const char *sql,
                const struct meta_value *p, int np, union row_cb cb, void *ctx, struct gp_err *err);

#endif
