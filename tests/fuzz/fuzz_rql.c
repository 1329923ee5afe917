/* fuzz_rql.c — the RQL filter parser and evaluator must reject garbage with a message, bound
 * nesting, and evaluate any accepted filter without crashing. */
#include <stddef.h>
#include <stdint.h>

#include "coordinator/query/rql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rql *q = NULL;
    struct gp_err err = {0};
    if (rql_parse((const char *)data, size, &q, &err) != 0) {
        if (err.msg[0] == '\0')
            __builtin_trap();
        return 0;
    }
    struct rql_attrs a = {.v = {"h1", "c1", "python", NULL, "ns"}};
    (void)rql_match(q, &a);
    struct rql_term t[8];
    (void)rql_conjunction(q, t, 8);
    const char *vals[4];
    (void)rql_required_eq(q, RQL_HOSTNAME, vals, 4);
    rql_free(q);
    return 0;
}
