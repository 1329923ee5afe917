/* pred_sql.h — the SQLite index's filter: an engine-neutral index predicate written as one
 * parameterised SQL expression, and gp_like(), the SQL function that matches its LIKE exactly. */
#ifndef GPROF_COORD_SQLITE_PRED_SQL_H
#define GPROF_COORD_SQLITE_PRED_SQL_H

#include "common/err.h"
#include "common/strbuf.h"
#include "coordinator/store/index/index.h"

#include <sqlite3.h>

struct pred_sql {
    struct strbuf sql;  /* the expression */
    const char **binds; /* its values (borrowed from the predicate), parameters first, first+1… */
    size_t nbinds, cap;
    int first;
    int oom;
};

/* Starts an expression whose values are bound from parameter number first on. */
void pred_sql_init(struct pred_sql *ps, int first);
/* Appends p (NULL: "1"); cols[f] is the SQL text standing for field f. "NULL" for a field makes
 * the result three-valued: NULL when p depends on that field, 1 or 0 when it does not. */
void pred_sql_append(struct pred_sql *ps, const struct index_pred *p,
                     const char *const cols[INDEX_NFIELDS]);
/* Binds the values to st. */
void pred_sql_bind(const struct pred_sql *ps, sqlite3_stmt *st);
void pred_sql_free(struct pred_sql *ps);

/* Registers gp_like(pattern, value) on db: index_like(), NULL when either is NULL. */
int pred_sql_register(sqlite3 *db);

#endif
