/* index/index.c — the sample index backend table, struct sample_index wrappers with argument
 * checks, and the filter predicate every backend shares. */
#include "coordinator/store/index/index.h"
#include "coordinator/store/engines.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct sample_index {
    const struct sample_index_ops *ops;
    void *impl;
    /* odd while a write runs (bumped before and after it): see index_generation() */
    atomic_uint_fast64_t gen;
};

/* A write is about to change the data, or has: every generation read around it differs. */
static void gen_bump(struct sample_index *si)
{
    atomic_fetch_add(&si->gen, 1);
}

uint64_t index_generation(struct sample_index *si)
{
    if (si->ops->version < 2 || !(si->ops->flags & SAMPLE_INDEX_EXCLUSIVE))
        return 0;
    uint64_t g = (uint64_t)atomic_load(&si->gen);
    return g & 1 ? 0 : g + 2; /* a write in progress: unknown; else never 0 */
}

int sample_index_open(const char *spec, struct sample_index **out, struct gp_err *err)
{
    const struct store_engine *e;
    struct store_engine_options opts;
    int rc = store_engine_parse(spec, STORE_ROLE_INDEX, &e, &opts, err);
    if (rc < 0)
        return rc;
    const struct sample_index_ops *ops = store_engine_vtable(e, STORE_ROLE_INDEX);
    struct sample_index *si = calloc(1, sizeof(*si));
    if (!si) {
        store_engine_options_free(&opts);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    si->ops = ops;
    rc = ops->open(&opts, &si->impl, err);
    store_engine_options_free(&opts);
    if (rc < 0) {
        free(si);
        return rc;
    }
    *out = si;
    return 0;
}

void sample_index_close(struct sample_index *si)
{
    if (!si)
        return;
    si->ops->close(si->impl);
    free(si);
}

int index_add(struct sample_index *si, const struct index_profile_meta *m,
              const struct gp_profile *p, struct gp_err *err)
{
    if (!m || !p || !m->service || !*m->service || !m->hostname || !*m->hostname ||
        m->profile_id <= 0)
        return gp_err_set(err, -EINVAL, "index add needs a profile id, service and hostname");
    gen_bump(si);
    int rc = si->ops->add(si->impl, m, p, err);
    gen_bump(si);
    return rc;
}

int index_add_batch(struct sample_index *si, const struct index_profile_meta *const *m,
                    const struct gp_profile *const *p, size_t n, struct gp_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (!m[i] || !p[i] || !m[i]->service || !*m[i]->service || !m[i]->hostname ||
            !*m[i]->hostname || m[i]->profile_id <= 0)
            return gp_err_set(err, -EINVAL, "index add needs a profile id, service and hostname");
    gen_bump(si);
    int rc = 0;
    if (si->ops->add_batch)
        rc = si->ops->add_batch(si->impl, m, p, n, err);
    for (size_t i = 0; !si->ops->add_batch && i < n && rc >= 0; i++)
        rc = si->ops->add(si->impl, m[i], p[i], err);
    gen_bump(si);
    return si->ops->add_batch || rc < 0 ? rc : 0;
}

int index_has(struct sample_index *si, int64_t profile_id, struct gp_err *err)
{
    return si->ops->has(si->impl, profile_id, err);
}

int index_has_many(struct sample_index *si, const int64_t *ids, size_t n, int *found,
                   struct gp_err *err)
{
    if (si->ops->version >= 2 && si->ops->has_many)
        return si->ops->has_many(si->impl, ids, n, found, err);
    for (size_t i = 0; i < n; i++) {
        int rc = si->ops->has(si->impl, ids[i], err);
        if (rc < 0)
            return rc;
        found[i] = rc > 0;
    }
    return 0;
}

void index_batch_policy(struct sample_index *si, size_t *rows, int *ms)
{
    *rows = 0;
    *ms = 0;
    if (si->ops->version >= 2 && si->ops->batch_policy)
        si->ops->batch_policy(si->impl, rows, ms);
}

int index_query(struct sample_index *si, const struct index_query *q, struct gp_profile *out,
                struct index_query_stats *stats, struct gp_err *err)
{
    struct index_query_stats dummy;
    if (!q || !q->service || !out)
        return gp_err_set(err, -EINVAL, "index query needs a service");
    if (q->end <= q->start)
        return gp_err_set(err, -EINVAL, "index query: end time must be after start time");
    memset(stats ? stats : &dummy, 0, sizeof(dummy));
    return si->ops->query(si->impl, q, out, stats ? stats : &dummy, err);
}

int index_time_range(struct sample_index *si, const char *service, const struct index_filter *f,
                     int64_t *first, int64_t *last, struct gp_err *err)
{
    return si->ops->time_range(si->impl, service, f, first, last, err);
}

int index_series(struct sample_index *si, const char *service, int64_t start, int64_t end,
                 int64_t bucket_secs, const struct index_filter *f, index_series_cb cb, void *ctx,
                 struct gp_err *err)
{
    if (bucket_secs < 60 || bucket_secs % 60)
        return gp_err_set(err, -EINVAL, "series bucket must be a multiple of 60 s (got %lld)",
                          (long long)bucket_secs);
    if (end <= start)
        return gp_err_set(err, -EINVAL, "series: end time must be after start time");
    return si->ops->series(si->impl, service, start, end, bucket_secs, f, cb, ctx, err);
}

int index_services(struct sample_index *si, index_service_cb cb, void *ctx, struct gp_err *err)
{
    return si->ops->services(si->impl, cb, ctx, err);
}

int index_values(struct sample_index *si, const char *service, int64_t start, int64_t end,
                 enum index_dimension dim, index_value_cb cb, void *ctx, struct gp_err *err)
{
    if (end <= start)
        return gp_err_set(err, -EINVAL, "values: end time must be after start time");
    return si->ops->values(si->impl, service, start, end, dim, cb, ctx, err);
}

int index_retention(struct sample_index *si, int64_t before, int64_t *deleted, struct gp_err *err)
{
    gen_bump(si);
    int rc = si->ops->retention(si->impl, before, deleted, err);
    gen_bump(si);
    return rc;
}

int index_check(struct sample_index *si, int *ok, char *msg, size_t msgsz, struct gp_err *err)
{
    if (!si->ops->check) {
        *ok = 1;
        return 0;
    }
    return si->ops->check(si->impl, ok, msg, msgsz, err);
}

static void list_leaf(struct index_filter_tree *t, size_t *n, enum index_field field,
                      enum index_op op, const struct index_strlist *l)
{
    if (!l->n)
        return;
    struct index_pred *p = &t->leaves[*n];
    *p = (struct index_pred){.op = op, .field = field, .vals = l->v, .nvals = l->n};
    t->kids[(*n)++] = p;
}

const struct index_pred *index_filter_tree(const struct index_filter *f,
                                           struct index_filter_tree *t)
{
    if (!f)
        return NULL;
    size_t n = 0;
    list_leaf(t, &n, INDEX_FIELD_HOST, INDEX_OP_IN, &f->host_in);
    list_leaf(t, &n, INDEX_FIELD_HOST, INDEX_OP_NOT_IN, &f->host_out);
    list_leaf(t, &n, INDEX_FIELD_CONTAINER, INDEX_OP_IN, &f->container_in);
    list_leaf(t, &n, INDEX_FIELD_CONTAINER, INDEX_OP_NOT_IN, &f->container_out);
    list_leaf(t, &n, INDEX_FIELD_COMM, INDEX_OP_IN, &f->comm_in);
    list_leaf(t, &n, INDEX_FIELD_COMM, INDEX_OP_NOT_IN, &f->comm_out);
    if (f->where)
        t->kids[n++] = f->where;
    if (n == 0)
        return NULL;
    if (n == 1)
        return t->kids[0];
    t->and = (struct index_pred){.op = INDEX_OP_AND, .kids = t->kids, .nkids = n};
    return &t->and;
}

int index_like(const char *pat, const char *s)
{
    const char *resume_p = NULL, *resume_s = NULL;
    while (*s) {
        if (*pat == '%') {
            resume_p = ++pat; /* try the shortest run first, widen it on a mismatch */
            resume_s = s;
        } else if (*pat && (*pat == '_' || *pat == *s)) {
            pat++;
            s++;
        } else if (resume_p) {
            pat = resume_p;
            s = ++resume_s;
        } else {
            return 0;
        }
    }
    while (*pat == '%')
        pat++;
    return !*pat;
}

static int in_vals(const struct index_pred *p, const char *v)
{
    for (size_t i = 0; i < p->nvals; i++)
        if (p->vals[i] && strcmp(p->vals[i], v) == 0)
            return 1;
    return 0;
}

int index_pred_match(const struct index_pred *p, const char *const attrs[INDEX_NFIELDS])
{
    if (!p)
        return 1;
    const char *v = "";
    switch (p->op) {
    case INDEX_OP_AND:
        for (size_t i = 0; i < p->nkids; i++)
            if (!index_pred_match(p->kids[i], attrs))
                return 0;
        return 1;
    case INDEX_OP_OR:
        for (size_t i = 0; i < p->nkids; i++)
            if (index_pred_match(p->kids[i], attrs))
                return 1;
        return p->nkids == 0;
    default:
        break;
    }
    if ((unsigned)p->field < INDEX_NFIELDS && attrs[p->field])
        v = attrs[p->field];
    switch (p->op) {
    case INDEX_OP_IN:
        return in_vals(p, v);
    case INDEX_OP_NOT_IN:
        return !in_vals(p, v);
    case INDEX_OP_LIKE:
        return p->nvals && p->vals[0] && index_like(p->vals[0], v);
    default:
        return 0;
    }
}

int index_pred_uses(const struct index_pred *p, enum index_field f)
{
    if (!p)
        return 0;
    if (p->op != INDEX_OP_AND && p->op != INDEX_OP_OR)
        return p->field == f;
    for (size_t i = 0; i < p->nkids; i++)
        if (index_pred_uses(p->kids[i], f))
            return 1;
    return 0;
}

int index_filter_match(const struct index_filter *f, const char *host, const char *container,
                       const char *comm)
{
    struct index_filter_tree t;
    const char *attrs[INDEX_NFIELDS] = {host, container, comm, NULL, NULL};
    return index_pred_match(index_filter_tree(f, &t), attrs);
}

int index_filter_has_host(const struct index_filter *f)
{
    return f && (f->host_in.n || f->host_out.n);
}
