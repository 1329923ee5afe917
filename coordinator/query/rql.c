/* rql.c — RQL filter parsing into the index's predicate tree (store/index/index.h evaluates it). */
#include "coordinator/query/rql.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Nodes are the index's predicate nodes (built here, so their arrays are ours to free). */
struct rql {
    struct index_pred *root;
    size_t nodes;
};

static const char *field_names[RQL_NFIELDS] = {"HostName", "ContainerName", "ProcessName",
                                               "InstanceType", "ContainerEnvName"};

const char *rql_field_name(enum rql_field f)
{
    return (unsigned)f < RQL_NFIELDS ? field_names[f] : "?";
}

static void node_free(struct index_pred *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nvals; i++)
        free((void *)n->vals[i]);
    free((void *)n->vals);
    for (size_t i = 0; i < n->nkids; i++)
        node_free((struct index_pred *)n->kids[i]);
    free((void *)n->kids);
    free(n);
}

void rql_free(struct rql *q)
{
    if (!q)
        return;
    node_free(q->root);
    free(q);
}

static int parse_field(const char *k, enum rql_field *f)
{
    static const struct {
        const char *name;
        enum rql_field f;
    } aliases[] = {{"HostName", RQL_HOSTNAME},
                   {"hostname", RQL_HOSTNAME},
                   {"ContainerName", RQL_CONTAINER},
                   {"container", RQL_CONTAINER},
                   {"ProcessName", RQL_PROCESS},
                   {"process", RQL_PROCESS},
                   {"comm", RQL_PROCESS},
                   {"InstanceType", RQL_INSTANCE},
                   {"instance_type", RQL_INSTANCE},
                   {"ContainerEnvName", RQL_K8S},
                   {"k8s_obj", RQL_K8S}};
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(k, aliases[i].name) == 0) {
            *f = aliases[i].f;
            return 0;
        }
    return -EINVAL;
}

static struct index_pred *new_node(struct rql *q, enum index_op op, struct gp_err *err)
{
    if (q->nodes >= RQL_MAX_NODES) {
        gp_err_set(err, -E2BIG, "filter has more than %d terms", RQL_MAX_NODES);
        return NULL;
    }
    struct index_pred *n = calloc(1, sizeof(*n));
    if (!n) {
        gp_err_set(err, -ENOMEM, "out of memory");
        return NULL;
    }
    q->nodes++;
    n->op = op;
    return n;
}

static int add_kid(struct index_pred *p, struct index_pred *k, struct gp_err *err)
{
    const struct index_pred **nk = realloc((void *)p->kids, (p->nkids + 1) * sizeof(*nk));
    if (!nk) {
        node_free(k);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    nk[p->nkids++] = k;
    p->kids = nk;
    return 0;
}

static int add_val(struct index_pred *n, json_object *v, const char *field, struct gp_err *err)
{
    if (!json_object_is_type(v, json_type_string) && !json_object_is_type(v, json_type_int))
        return gp_err_set(err, -EINVAL, "filter: value for %s must be a string", field);
    const char **nv = realloc((void *)n->vals, (n->nvals + 1) * sizeof(*nv));
    if (!nv)
        return gp_err_set(err, -ENOMEM, "out of memory");
    n->vals = nv;
    if (!(nv[n->nvals] = strdup(json_object_get_string(v))))
        return gp_err_set(err, -ENOMEM, "out of memory");
    n->nvals++;
    return 0;
}

static int parse_expr(struct rql *q, json_object *o, int depth, struct index_pred **out,
                      struct gp_err *err);

/* {"Field": {"$eq": "v"}} or {"Field": "v"} */
static int parse_leaf(struct rql *q, const char *key, json_object *v, struct index_pred **out,
                      struct gp_err *err)
{
    enum rql_field f;
    if (parse_field(key, &f) != 0)
        return gp_err_set(err, -EINVAL,
                          "filter: unknown field '%.60s' (use HostName, ContainerName, "
                          "ProcessName, InstanceType or ContainerEnvName)",
                          key);
    struct index_pred *and = NULL;
    if (!json_object_is_type(v, json_type_object)) {
        struct index_pred *n = new_node(q, INDEX_OP_IN, err);
        if (!n)
            return err ? err->code : -ENOMEM;
        n->field = (enum index_field)f;
        int rc = add_val(n, v, key, err);
        if (rc) {
            node_free(n);
            return rc;
        }
        *out = n;
        return 0;
    }
    if (json_object_object_length(v) == 0)
        return gp_err_set(err, -EINVAL, "filter: empty condition for %s", key);
    json_object_object_foreach(v, op, val)
    {
        enum index_op o;
        int list = strcmp(op, "$in") == 0 || strcmp(op, "$nin") == 0;
        if (strcmp(op, "$eq") == 0 || strcmp(op, "$in") == 0)
            o = INDEX_OP_IN;
        else if (strcmp(op, "$neq") == 0 || strcmp(op, "$ne") == 0 || strcmp(op, "$nin") == 0)
            o = INDEX_OP_NOT_IN;
        else if (strcmp(op, "$like") == 0)
            o = INDEX_OP_LIKE;
        else {
            node_free(and);
            return gp_err_set(err, -EINVAL,
                              "filter: unknown operator '%.30s' on %s (use $eq, $neq, $in, "
                              "$nin, $like)",
                              op, key);
        }
        struct index_pred *n = new_node(q, o, err);
        if (!n) {
            node_free(and);
            return err ? err->code : -ENOMEM;
        }
        n->field = (enum index_field)f;
        int rc = 0;
        if (list) {
            if (!json_object_is_type(val, json_type_array))
                rc = gp_err_set(err, -EINVAL, "filter: %s on %s needs a list", op, key);
            for (size_t i = 0; !rc && i < json_object_array_length(val); i++)
                rc = add_val(n, json_object_array_get_idx(val, i), key, err);
        } else {
            rc = add_val(n, val, key, err);
        }
        if (rc) {
            node_free(n);
            node_free(and);
            return rc;
        }
        if (json_object_object_length(v) == 1) {
            *out = n;
            return 0;
        }
        if (!and&&!(and = new_node(q, INDEX_OP_AND, err))) {
            node_free(n);
            return err ? err->code : -ENOMEM;
        }
        if ((rc = add_kid(and, n, err))) {
            node_free(and);
            return rc;
        }
    }
    *out = and;
    return 0;
}

static int parse_expr(struct rql *q, json_object *o, int depth, struct index_pred **out,
                      struct gp_err *err)
{
    *out = NULL;
    if (depth > RQL_MAX_DEPTH)
        return gp_err_set(err, -E2BIG, "filter nests deeper than %d levels", RQL_MAX_DEPTH);
    if (!json_object_is_type(o, json_type_object))
        return gp_err_set(err, -EINVAL, "filter: expected an object, got %s",
                          json_type_to_name(json_object_get_type(o)));
    int n = json_object_object_length(o);
    if (n == 0)
        return 0;
    struct index_pred *and = NULL;
    if (n > 1 && !(and = new_node(q, INDEX_OP_AND, err)))
        return err ? err->code : -ENOMEM;
    json_object_object_foreach(o, key, val)
    {
        struct index_pred *node = NULL;
        int rc;
        if (strcmp(key, "$and") == 0 || strcmp(key, "$or") == 0) {
            if (!json_object_is_type(val, json_type_array)) {
                node_free(and);
                return gp_err_set(err, -EINVAL, "filter: %s needs a list of conditions", key);
            }
            node = new_node(q, key[1] == 'a' ? INDEX_OP_AND : INDEX_OP_OR, err);
            if (!node) {
                node_free(and);
                return err ? err->code : -ENOMEM;
            }
            for (size_t i = 0; i < json_object_array_length(val); i++) {
                struct index_pred *k;
                rc = parse_expr(q, json_object_array_get_idx(val, i), depth + 1, &k, err);
                if (rc == 0 && k)
                    rc = add_kid(node, k, err);
                if (rc) {
                    node_free(node);
                    node_free(and);
                    return rc;
                }
            }
        } else if (key[0] == '$') {
            node_free(and);
            return gp_err_set(err, -EINVAL, "filter: unknown operator '%.30s' (use $and, $or)",
                              key);
        } else {
            rc = parse_leaf(q, key, val, &node, err);
            if (rc) {
                node_free(and);
                return rc;
            }
        }
        if (!and) {
            *out = node;
            return 0;
        }
        if (node && (rc = add_kid(and, node, err))) {
            node_free(and);
            return rc;
        }
    }
    *out = and;
    return 0;
}

int rql_parse(const char *text, size_t len, struct rql **out, struct gp_err *err)
{
    *out = NULL;
    size_t i = 0;
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i == len)
        return 0;
    json_tokener *tok = json_tokener_new_ex(RQL_MAX_DEPTH * 2 + 4);
    if (!tok)
        return gp_err_set(err, -ENOMEM, "out of memory");
    json_object *root = json_tokener_parse_ex(tok, text, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t off = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (!root || jerr != json_tokener_success) {
        if (root)
            json_object_put(root);
        return gp_err_set(err, -EINVAL, "filter is not valid JSON at offset %zu: %s", off,
                          json_tokener_error_desc(jerr == json_tokener_success
                                                          ? json_tokener_error_parse_eof
                                                          : jerr));
    }
    for (size_t j = off; j < len; j++)
        if (text[j] != ' ' && text[j] != '\n' && text[j] != '\r' && text[j] != '\t') {
            json_object_put(root);
            return gp_err_set(err, -EINVAL, "filter: trailing characters after JSON at offset %zu",
                              j);
        }
    json_object *expr = root, *inner;
    if (json_object_is_type(root, json_type_object) &&
        json_object_object_get_ex(root, "filter", &inner)) {
        if (json_object_object_length(root) != 1) {
            json_object_put(root);
            return gp_err_set(err, -EINVAL, "filter: unexpected keys next to \"filter\"");
        }
        expr = inner;
    }
    struct rql *q = calloc(1, sizeof(*q));
    if (!q) {
        json_object_put(root);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    int rc = 0;
    if (expr && !json_object_is_type(expr, json_type_null))
        rc = parse_expr(q, expr, 0, &q->root, err);
    json_object_put(root);
    if (rc || !q->root) {
        rql_free(q);
        return rc;
    }
    *out = q;
    return 0;
}

bool rql_match(const struct rql *q, const struct rql_attrs *a)
{
    return !q || index_pred_match(q->root, a->v);
}

const struct index_pred *rql_pred(const struct rql *q)
{
    return q ? q->root : NULL;
}

bool rql_uses(const struct rql *q, enum rql_field f)
{
    return q && index_pred_uses(q->root, (enum index_field)f);
}

size_t rql_required_eq(const struct rql *q, enum rql_field f, const char **vals, size_t max)
{
    if (!q || !q->root)
        return 0;
    const struct index_pred *n = q->root;
    const struct index_pred *const *terms = &n;
    size_t nterms = 1;
    if (n->op == INDEX_OP_AND) {
        terms = n->kids;
        nterms = n->nkids;
    }
    for (size_t i = 0; i < nterms; i++) {
        const struct index_pred *t = terms[i];
        if (t->op == INDEX_OP_IN && t->field == (enum index_field)f) {
            if (t->nvals > max)
                return 0;
            size_t k = 0;
            for (; k < t->nvals && k < max; k++)
                vals[k] = t->vals[k];
            return k;
        }
    }
    return 0;
}

static int conj_terms(const struct index_pred *n, struct rql_term *t, size_t max, size_t *k)
{
    if (n->op == INDEX_OP_AND) {
        for (size_t i = 0; i < n->nkids; i++)
            if (conj_terms(n->kids[i], t, max, k) < 0)
                return -1;
        return 0;
    }
    if (n->op == INDEX_OP_OR || n->op == INDEX_OP_LIKE || *k >= max)
        return -1;
    t[*k].field = (enum rql_field)n->field;
    t[*k].negate = n->op == INDEX_OP_NOT_IN;
    t[*k].vals = n->vals;
    t[*k].nvals = n->nvals;
    (*k)++;
    return 0;
}

int rql_conjunction(const struct rql *q, struct rql_term *terms, size_t max)
{
    if (!q || !q->root)
        return 0;
    size_t k = 0;
    if (conj_terms(q->root, terms, max, &k) < 0)
        return -1;
    return (int)k;
}
