/* profile.c — the query engine's profiles: the whole RQL filter goes to the index as one
 * predicate, so one index query answers a flame graph (filter, merge and truncation). */
#include "coordinator/query/query.h"

#include <errno.h>
#include <string.h>

/* The host lists time ranges and series honour: those of a conjunction of $eq/$in/$neq/$nin terms
 * on host, container and process with at most one positive term per field (else none). */
static void series_hosts(struct query_spec *p)
{
    struct rql_term t[QUERY_MAX_TERMS];
    int n = rql_conjunction(p->q, t, QUERY_MAX_TERMS);
    size_t used[2] = {0}, other[4] = {0};
    bool seen_pos[3] = {false};
    for (int i = 0; i < n; i++) {
        int dim = t[i].field == RQL_HOSTNAME    ? 0
                  : t[i].field == RQL_CONTAINER ? 1
                  : t[i].field == RQL_PROCESS   ? 2
                                                : -1;
        if (dim < 0)
            return; /* not a filter the lists can say: series stay unfiltered */
        if (!t[i].negate && (seen_pos[dim] || t[i].nvals == 0))
            return; /* two positive lists on one field, or "$in": [] */
        if (!t[i].negate)
            seen_pos[dim] = true;
        if (dim != 0) {
            size_t *u = &other[(dim - 1) * 2 + (t[i].negate ? 1 : 0)];
            if ((*u += t[i].nvals) > QUERY_MAX_TERMS * 4)
                return;
            continue;
        }
        int slot = t[i].negate ? 1 : 0;
        for (size_t k = 0; k < t[i].nvals; k++) {
            if (used[slot] >= QUERY_MAX_TERMS * 4)
                return;
            p->lists[slot][used[slot]++] = t[i].vals[k];
        }
    }
    p->host_f.host_in = (struct index_strlist){p->lists[0], used[0]};
    p->host_f.host_out = (struct index_strlist){p->lists[1], used[1]};
}

void query_spec_prepare(struct query_spec *p)
{
    memset(&p->f, 0, sizeof(p->f));
    memset(&p->host_f, 0, sizeof(p->host_f));
    p->f.where = rql_pred(p->q);
    series_hosts(p);
}

void query_spec_free(struct query_spec *s)
{
    rql_free(s->q);
    s->q = NULL;
}

int query_profile(struct sample_index *si, const char *service, int64_t start, int64_t end,
                  const struct query_spec *p, struct gp_profile **out, struct gp_err *err)
{
    struct gp_profile *prof = gp_profile_new();
    if (!prof)
        return gp_err_set(err, -ENOMEM, "out of memory");
    struct index_query q = {.service = service,
                            .start = start,
                            .end = end,
                            .filter = &p->f,
                            .max_stacks = p->stacks};
    int rc = index_query(si, &q, prof, NULL, err);
    if (rc == -ENOENT)
        rc = 0;
    if (rc) {
        gp_profile_free(prof);
        return rc;
    }
    *out = prof;
    return 0;
}
