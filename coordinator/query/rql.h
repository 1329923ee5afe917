/* rql.h — Performance Studio's RQL filter JSON ({"filter":{"$and":[{"HostName":{"$eq":"h1"}}]}})
 * parsed into the index's predicate tree (struct index_pred) over hostname, container, process
 * name, instance type and Kubernetes object. */
#ifndef GPROF_COORD_QUERY_RQL_H
#define GPROF_COORD_QUERY_RQL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "coordinator/store/index/index.h"

/* The fields are the index's (enum index_field), in the same order. */
enum rql_field {
    RQL_HOSTNAME = INDEX_FIELD_HOST,       /* "HostName" */
    RQL_CONTAINER = INDEX_FIELD_CONTAINER, /* "ContainerName" */
    RQL_PROCESS = INDEX_FIELD_COMM,        /* "ProcessName" (the comm of a stack line) */
    RQL_INSTANCE = INDEX_FIELD_INSTANCE,   /* "InstanceType" */
    RQL_K8S = INDEX_FIELD_K8S,             /* "ContainerEnvName" */
    RQL_NFIELDS = INDEX_NFIELDS
};

struct rql_attrs {
    const char *v[RQL_NFIELDS]; /* NULL = unknown, compares as "" */
};

struct rql;

#define RQL_MAX_DEPTH 16
#define RQL_MAX_NODES 1024

/* Parses the JSON text (with or without the outer "filter" key). Empty text, "{}", or
 * {"filter":{}} give *out = NULL (matches everything). Errors name the offending part. */
int rql_parse(const char *text, size_t len, struct rql **out, struct gp_err *err);
void rql_free(struct rql *q);
/* NULL q matches everything. */
bool rql_match(const struct rql *q, const struct rql_attrs *a);
/* The filter as the index's predicate (NULL = everything), valid while q lives. */
const struct index_pred *rql_pred(const struct rql *q);
/* True when the filter looks at field f at all. */
bool rql_uses(const struct rql *q, enum rql_field f);
/* Collects the values of `field == value` terms that every match must satisfy (top-level
 * $and / single term), e.g. the hostnames a query can be narrowed to. Returns how many were
 * written to vals (borrowed strings, valid while q lives). */
size_t rql_required_eq(const struct rql *q, enum rql_field f, const char **vals, size_t max);

const char *rql_field_name(enum rql_field f);

/* One term of a plain conjunction: field is (negate ? none of : one of) vals. */
struct rql_term {
    enum rql_field field;
    bool negate;
    const char *const *vals;
    size_t nvals;
};
/* When q is a conjunction ($and, possibly nested) of $eq/$in/$neq/$nin terms, writes them to
 * terms and returns their count (0 for a NULL filter); -1 when it is not (uses $or / $like) or
 * has more than max terms. */
int rql_conjunction(const struct rql *q, struct rql_term *terms, size_t max);

#endif
