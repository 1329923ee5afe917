/* profile.c — the query engine's profiles: the index answers a plain filter alone; a general
 * RQL filter is evaluated per host on every stack, then the heaviest stacks are kept. */
#include "coordinator/query/query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void query_spec_prepare(struct query_spec *p)
{
    struct rql_term t[QUERY_MAX_TERMS];
    int n = rql_conjunction(p->q, t, QUERY_MAX_TERMS);
    p->simple = n >= 0;
    memset(&p->f, 0, sizeof(p->f));
    if (n <= 0)
        return;
    struct index_strlist *lists[3][2] = {{&p->f.host_in, &p->f.host_out},
                                         {&p->f.container_in, &p->f.container_out},
                                         {&p->f.comm_in, &p->f.comm_out}};
    size_t used[6] = {0};
    for (int i = 0; i < n; i++) {
        int dim = t[i].field == RQL_HOSTNAME    ? 0
                  : t[i].field == RQL_CONTAINER ? 1
                  : t[i].field == RQL_PROCESS   ? 2
                                                : -1;
        if (dim < 0) {
            p->simple = false; /* the index does not know that field */
            return;
        }
        int slot = dim * 2 + (t[i].negate ? 1 : 0);
        if (!t[i].negate && used[slot]) {
            p->simple = false; /* two positive lists on one field: intersect in memory */
            return;
        }
        for (size_t k = 0; k < t[i].nvals; k++) {
            if (used[slot] >= QUERY_MAX_TERMS * 4) {
                p->simple = false;
                return;
            }
            p->lists[slot][used[slot]++] = t[i].vals[k];
        }
        if (!t[i].negate && t[i].nvals == 0) {
            p->simple = false; /* "$in": [] matches nothing */
            return;
        }
    }
    for (int s = 0; s < 6; s++) {
        lists[s / 2][s % 2]->v = p->lists[s];
        lists[s / 2][s % 2]->n = used[s];
    }
}

void query_spec_free(struct query_spec *s)
{
    rql_free(s->q);
    s->q = NULL;
}

struct rql_add_ctx {
    struct gp_profile *out;
    const struct rql *q;
    const char *host;
    int rc;
};

static int rql_add_cb(const struct gp_stack_view *s, void *ctx)
{
    struct rql_add_ctx *c = ctx;
    struct rql_attrs a = {.v = {c->host, s->container, s->comm, NULL, NULL}};
    if (!rql_match(c->q, &a))
        return 0;
    int rc = gp_profile_add(c->out, 0, s->container, s->comm, s->frames, s->nframes, s->count);
    if (rc)
        c->rc = rc;
    return rc;
}

struct host_acc {
    char **v;
    size_t n, cap;
};

static int host_value_cb(const char *value, uint64_t samples, void *ctx)
{
    struct host_acc *h = ctx;
    (void)samples;
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        char **nv = realloc(h->v, cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        h->v = nv;
        h->cap = cap;
    }
    if (!(h->v[h->n] = strdup(value)))
        return -ENOMEM;
    h->n++;
    return 0;
}

struct trunc_ctx {
    struct gp_profile *out;
    size_t left;
};

static int trunc_cb(const struct gp_stack_view *s, void *ctx)
{
    struct trunc_ctx *t = ctx;
    if (t->left == 0)
        return 1;
    t->left--;
    return gp_profile_add(t->out, s->app_idx, s->container, s->comm, s->frames, s->nframes,
                          s->count);
}

int query_profile(struct sample_index *si, const char *service, int64_t start, int64_t end,
                  const struct query_spec *p, struct gp_profile **out, struct gp_err *err)
{
    struct gp_profile *prof = gp_profile_new();
    if (!prof)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc;
    if (p->simple) {
        struct index_query q = {.service = service,
                                .start = start,
                                .end = end,
                                .filter = &p->f,
                                .max_stacks = p->stacks};
        rc = index_query(si, &q, prof, NULL, err);
    } else {
        /* general RQL: per host, evaluate the filter on every stack */
        struct host_acc hosts = {0};
        rc = index_values(si, service, start, end, INDEX_DIM_HOST, host_value_cb, &hosts, err);
        for (size_t i = 0; rc == 0 && i < hosts.n; i++) {
            const char *hv[1] = {hosts.v[i]};
            struct index_filter hf = {.host_in = {hv, 1}};
            struct index_query q = {.service = service, .start = start, .end = end, .filter = &hf};
            struct gp_profile *hp = gp_profile_new();
            if (!hp) {
                rc = gp_err_set(err, -ENOMEM, "out of memory");
                break;
            }
            rc = index_query(si, &q, hp, NULL, err);
            if (rc == 0) {
                struct rql_add_ctx c = {prof, p->q, hosts.v[i], 0};
                gp_profile_foreach(hp, rql_add_cb, &c);
                if (c.rc)
                    rc = gp_err_set(err, c.rc, "out of memory");
            }
            gp_profile_free(hp);
        }
        for (size_t i = 0; i < hosts.n; i++)
            free(hosts.v[i]);
        free(hosts.v);
        if (rc == 0 && p->stacks && gp_profile_nstacks(prof) > p->stacks) {
            struct gp_profile *t = gp_profile_new();
            struct trunc_ctx tc = {t, p->stacks};
            if (!t || gp_profile_foreach_sorted(prof, trunc_cb, &tc) < 0) {
                gp_profile_free(t);
                rc = gp_err_set(err, -ENOMEM, "out of memory");
            } else {
                gp_profile_free(prof);
                prof = t;
            }
        }
    }
    if (rc == -ENOENT)
        rc = 0;
    if (rc) {
        gp_profile_free(prof);
        return rc;
    }
    *out = prof;
    return 0;
}
