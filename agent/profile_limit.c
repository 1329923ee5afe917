/* profile_limit.c — keeping the max_processes heaviest processes of an ad hoc profile. */
#include "agent/profile_limit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int by_samples_desc(const void *a, const void *b, void *ctx)
{
    const uint64_t *s = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (s[i] != s[j])
        return s[i] > s[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

int gp_profile_limit_select(const uint64_t *samples, size_t n, size_t max, unsigned char *keep)
{
    if (n <= max) {
        memset(keep, 1, n);
        return 0;
    }
    size_t *idx = malloc(n * sizeof(*idx));
    if (!idx)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    qsort_r(idx, n, sizeof(*idx), by_samples_desc, (void *)samples);
    memset(keep, 0, n);
    for (size_t k = 0; k < max; k++)
        keep[idx[k]] = 1;
    free(idx);
    return 0;
}

/* One stack of the input, in iteration order, with the process it belongs to. */
struct entry {
    uint32_t app_idx;
    const char *container, *comm;
    uint64_t count;
    size_t ord;  /* position in iteration order */
    size_t proc; /* process number, by first appearance */
};

struct collect {
    struct entry *e;
    size_t n;
};

static int collect_cb(const struct gp_stack_view *s, void *ctx)
{
    struct collect *c = ctx;
    c->e[c->n] = (struct entry){.app_idx = s->app_idx,
                                .container = s->container,
                                .comm = s->comm,
                                .count = s->count,
                                .ord = c->n};
    c->n++;
    return 0;
}

static int by_process(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->app_idx != y->app_idx)
        return x->app_idx < y->app_idx ? -1 : 1;
    int r = strcmp(x->container, y->container);
    if (!r)
        r = strcmp(x->comm, y->comm);
    if (!r)
        r = x->ord < y->ord ? -1 : x->ord > y->ord;
    return r;
}

static int same_process(const struct entry *x, const struct entry *y)
{
    return x->app_idx == y->app_idx && !strcmp(x->container, y->container) &&
           !strcmp(x->comm, y->comm);
}

struct copy {
    struct gp_profile *dst;
    const size_t *proc_of; /* by iteration order */
    const unsigned char *keep;
    size_t ord;
};

static int copy_cb(const struct gp_stack_view *s, void *ctx)
{
    struct copy *c = ctx;
    if (!c->keep[c->proc_of[c->ord++]])
        return 0;
    return gp_profile_add(c->dst, s->app_idx, s->container, s->comm, s->frames, s->nframes,
                          s->count);
}

static int note_header(struct gp_profile *p, size_t max, const struct gp_profile_limit_stats *st,
                       const struct entry *largest)
{
    json_object *o = json_object_new_object();
    if (!o)
        return -ENOMEM;
    if (largest) {
        json_object *l = json_object_new_object();
        if (!l) {
            json_object_put(o);
            return -ENOMEM;
        }
        json_object_object_add(l, "container", json_object_new_string(largest->container));
        json_object_object_add(l, "comm", json_object_new_string(largest->comm));
        json_object_object_add(l, "samples", json_object_new_int64((int64_t)largest->count));
        json_object_object_add(o, "largest_dropped", l);
    }
    json_object_object_add(o, "max_processes", json_object_new_int64((int64_t)max));
    json_object_object_add(o, "processes", json_object_new_int64((int64_t)st->processes));
    json_object_object_add(o, "processes_dropped",
                           json_object_new_int64((int64_t)st->processes_dropped));
    json_object_object_add(o, "samples_dropped",
                           json_object_new_int64((int64_t)st->samples_dropped));
    json_object *h = gp_profile_header(p);
    if (!h || json_object_object_add(h, "process_limit", o)) {
        json_object_put(o);
        return -ENOMEM;
    }
    return 0;
}

int gp_profile_limit_processes(struct gp_profile **pp, size_t max,
                               struct gp_profile_limit_stats *out, struct gp_err *err)
{
    struct gp_profile *p = *pp;
    struct gp_profile_limit_stats st = {.samples = gp_profile_total(p)};
    size_t n = gp_profile_nstacks(p);
    struct entry *e = calloc(n ? n : 1, sizeof(*e));
    struct entry *sorted = calloc(n ? n : 1, sizeof(*sorted));
    size_t *proc_of = calloc(n ? n : 1, sizeof(*proc_of));
    uint64_t *psamples = calloc(n ? n : 1, sizeof(*psamples));
    size_t *first = calloc(n ? n : 1, sizeof(*first)); /* process -> first ord, for numbering */
    unsigned char *keep = calloc(n ? n : 1, 1);
    struct gp_profile *np = NULL;
    int rc = -ENOMEM;
    if (!e || !sorted || !proc_of || !psamples || !first || !keep)
        goto out;
    struct collect c = {.e = e};
    if ((rc = gp_profile_foreach(p, collect_cb, &c)) != 0)
        goto out;
    /* group stacks by process; number processes by first appearance so ties keep the earliest */
    memcpy(sorted, e, c.n * sizeof(*e));
    qsort(sorted, c.n, sizeof(*sorted), by_process);
    size_t nproc = 0;
    for (size_t i = 0; i < c.n; i++) {
        if (i == 0 || !same_process(&sorted[i], &sorted[i - 1]))
            first[nproc++] = sorted[i].ord; /* sorted by ord within a group: this is the first */
        proc_of[sorted[i].ord] = nproc - 1;
    }
    /* renumber groups in order of first appearance */
    size_t *rank = calloc(nproc ? nproc : 1, sizeof(*rank));
    if (!rank) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t g = 0, r = 0; r < c.n && g < nproc; r++) {
        size_t grp = proc_of[r];
        if (first[grp] == r)
            rank[grp] = g++;
    }
    for (size_t i = 0; i < c.n; i++) {
        proc_of[i] = rank[proc_of[i]];
        psamples[proc_of[i]] += e[i].count;
    }
    free(rank);
    st.processes = nproc;
    if ((rc = gp_profile_limit_select(psamples, nproc, max, keep)) != 0)
        goto out;
    size_t largest = nproc; /* the dropped process with the most samples */
    for (size_t i = 0; i < nproc; i++) {
        if (!keep[i]) {
            st.processes_dropped++;
            st.samples_dropped += psamples[i];
            if (largest == nproc || psamples[i] > psamples[largest])
                largest = i;
        }
    }
    struct entry big = {0};
    for (size_t i = 0; largest < nproc && i < c.n; i++) {
        if (proc_of[i] == largest) {
            big = e[i];
            big.count = psamples[largest];
            break;
        }
    }
    if (st.processes_dropped) {
        rc = -ENOMEM;
        if (!(np = gp_profile_new()))
            goto out;
        json_object *h = json_object_get(gp_profile_header(p)), *hc = NULL;
        int dc = h ? json_object_deep_copy(h, &hc, NULL) : -1;
        json_object_put(h);
        if (dc)
            goto out;
        gp_profile_set_header(np, hc);
        struct copy cp = {.dst = np, .proc_of = proc_of, .keep = keep};
        if ((rc = gp_profile_foreach(p, copy_cb, &cp)) != 0)
            goto out;
    }
    if ((rc = note_header(np ? np : p, max, &st, largest < nproc ? &big : NULL)) != 0)
        goto out;
    if (np) {
        gp_profile_free(p);
        *pp = np;
        np = NULL;
    }
    if (out)
        *out = st;
out:
    gp_profile_free(np);
    free(e);
    free(sorted);
    free(proc_of);
    free(psamples);
    free(first);
    free(keep);
    if (rc)
        return gp_err_set(err, rc, "limiting the profile to %zu processes: %s", max, strerror(-rc));
    return 0;
}
