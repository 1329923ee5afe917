/* test_index.c — conformance suite for the sample index engine GPROF_TEST_INDEX names (default
 * sqlite): exact merged counts, idempotent re-add, host/container/comm filters, whole RQL-like
 * predicates (and/or/in/not in/like over every field), truncation to the heaviest stacks, rollups
 * that answer exactly like raw minutes, time range, series, services, values, retention, concurrent
 * readers. Measures the flame-graph query over 1 hour x N hosts x 60 s profiles (2,000 stacks, 40
 * frames); N = 100 with GPROF_BENCH=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/store/index/index.h"
#include "test_store_util.h"

#include <errno.h>
#include <pthread.h>

struct fx {
    char *dir;
    char *spec;
    struct sample_index *si;
};

static void fx_open(struct fx *f)
{
    f->dir = tu_tmpdir("index");
    assert_non_null(f->dir);
    f->spec = tu_engine_spec("GPROF_TEST_INDEX", "sqlite", f->dir, "index.db");
    assert_non_null(f->spec);
    struct gp_err err = {0};
    if (sample_index_open(f->spec, &f->si, &err))
        fail_msg("open %s: %s", f->spec, err.msg);
}

static void fx_close(struct fx *f)
{
    sample_index_close(f->si);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->spec);
}

#define FOR_EACH_BACKEND(f) for (int once_ = (fx_open(&f), 1); once_; once_ = (fx_close(&f), 0))

#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0)                                                                               \
            fail_msg("%s = %d: %s", #expr, rc_, err.msg);                                          \
    } while (0)

static const int64_t T0 = 1767225600; /* 2026-01-01T00:00:00Z, a day boundary */

static void add(struct sample_index *si, int64_t id, const char *svc, const char *host,
                int64_t start, const struct gp_profile *p)
{
    struct gp_err err = {0};
    struct index_profile_meta m = {id, svc, host, start, start + 60, 10.0 + (double)id, 50.0};
    OK(index_add(si, &m, p, &err));
}

static char *query_canon(struct sample_index *si, const char *svc, int64_t a, int64_t b,
                         const struct index_filter *f, size_t max, enum index_resolution res,
                         struct index_query_stats *st)
{
    struct gp_err err = {0};
    struct gp_profile *out = gp_profile_new();
    struct index_query q = {svc, a, b, f, max, res};
    OK(index_query(si, &q, out, st, &err));
    char *c = tu_canon(out);
    gp_profile_free(out);
    return c;
}

struct filt_ctx {
    const struct index_filter *f;
    const char *host;
    struct gp_profile *out;
};

static int filt_cb(const struct gp_stack_view *s, void *ctx)
{
    struct filt_ctx *fc = ctx;
    if (index_filter_match(fc->f, fc->host, s->container, s->comm))
        gp_profile_add(fc->out, 0, s->container, s->comm, s->frames, s->nframes, s->count);
    return 0;
}

/* Reference: stacks of p (belonging to host) that pass f, added into out. */
static void ref_add(struct gp_profile *out, const struct gp_profile *p, const char *host,
                    const struct index_filter *f)
{
    struct filt_ctx fc = {f, host, out};
    gp_profile_foreach(p, filt_cb, &fc);
}

static void test_exact_merge_and_idempotent(void **state)
{
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        struct gp_profile *a = tu_profile(1, 1, 300, 12), *b = tu_profile(1, 2, 300, 12),
                          *c = tu_profile(2, 3, 100, 5);
        add(f.si, 1, "svc", "h1", T0 + 10, a);
        add(f.si, 2, "svc", "h2", T0 + 20, b);   /* same minute, other host */
        add(f.si, 3, "svc", "h1", T0 + 3600, c); /* next hour */
        add(f.si, 4, "other", "h1", T0 + 10, c); /* other service */
        struct gp_profile *ref = gp_profile_new();
        gp_profile_merge(ref, a);
        gp_profile_merge(ref, b);
        gp_profile_merge(ref, c);
        char *want = tu_canon(ref);
        struct index_query_stats st;
        char *got = query_canon(f.si, "svc", T0, T0 + 7200, NULL, 0, INDEX_RES_AUTO, &st);
        assert_string_equal(got, want);
        assert_int_equal(st.total_samples, gp_profile_total(ref));
        assert_int_equal(st.total_stacks, gp_profile_nstacks(ref));
        free(got);
        /* re-adding any profile changes nothing */
        add(f.si, 1, "svc", "h1", T0 + 10, a);
        add(f.si, 3, "svc", "h1", T0 + 3600, c);
        got = query_canon(f.si, "svc", T0, T0 + 7200, NULL, 0, INDEX_RES_AUTO, NULL);
        assert_string_equal(got, want);
        free(got);
        struct gp_err err = {0};
        assert_int_equal(index_has(f.si, 1, &err), 1);
        assert_int_equal(index_has(f.si, 99, &err), 0);
        /* a batch mixing an indexed profile, a new one and the new one again */
        struct index_profile_meta m1 = {1, "svc", "h1", T0 + 10, T0 + 70, -1, -1},
                                  m5 = {5, "svc", "h3", T0 + 7100, T0 + 7160, -1, -1};
        const struct index_profile_meta *ms[] = {&m1, &m5, &m5};
        const struct gp_profile *ps[] = {a, c, c};
        OK(index_add_batch(f.si, ms, ps, 3, &err));
        assert_int_equal(index_has(f.si, 5, &err), 1);
        gp_profile_merge(ref, c);
        char *want5 = tu_canon(ref);
        got = query_canon(f.si, "svc", T0, T0 + 7200, NULL, 0, INDEX_RES_AUTO, NULL);
        assert_string_equal(got, want5);
        free(got);
        free(want5);
        /* the first minute only */
        got = query_canon(f.si, "svc", T0, T0 + 60, NULL, 0, INDEX_RES_AUTO, NULL);
        gp_profile_free(ref);
        m5.hostname = "";
        assert_int_equal(index_add_batch(f.si, ms, ps, 3, &err), -EINVAL);
        ref = gp_profile_new();
        gp_profile_merge(ref, a);
        gp_profile_merge(ref, b);
        char *want2 = tu_canon(ref);
        assert_string_equal(got, want2);
        free(got);
        free(want2);
        /* unknown service, empty range */
        got = query_canon(f.si, "nope", T0, T0 + 7200, NULL, 0, INDEX_RES_AUTO, NULL);
        assert_string_equal(got, "");
        free(got);
        got = query_canon(f.si, "svc", T0 + 120, T0 + 3600, NULL, 0, INDEX_RES_AUTO, NULL);
        assert_string_equal(got, "");
        free(got);
        struct gp_profile *out = gp_profile_new();
        struct index_query bad = {"svc", T0 + 10, T0, NULL, 0, 0};
        assert_int_equal(index_query(f.si, &bad, out, NULL, &err), -EINVAL);
        gp_profile_free(out);
        free(want);
        gp_profile_free(ref);
        gp_profile_free(a);
        gp_profile_free(b);
        gp_profile_free(c);
    }
}

static void test_filters_and_truncation(void **state)
{
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        const char *hosts[] = {"h1", "h2", "h3"};
        struct gp_profile *p[3];
        for (int i = 0; i < 3; i++) {
            p[i] = tu_profile(7, (uint64_t)i + 10, 240, 10);
            add(f.si, i + 1, "svc", hosts[i], T0 + 300 + i, p[i]);
        }
        const char *h1[] = {"h1"}, *h12[] = {"h1", "h2", "ghost"}, *h2[] = {"h2"};
        const char *web[] = {"web-1"}, *java[] = {"java", "nginx"}, *db[] = {"db-0"};
        struct index_filter filters[] = {
                {.host_in = {h1, 1}},
                {.host_out = {h1, 1}},
                {.host_in = {h12, 3}, .host_out = {h2, 1}},
                {.container_in = {web, 1}},
                {.container_out = {web, 1}},
                {.comm_in = {java, 2}, .container_out = {db, 1}},
                {.host_in = {h12, 3}, .comm_out = {java, 2}},
                {.host_in = {(const char *[]){"ghost"}, 1}},
                {.host_out = {(const char *[]){"ghost"}, 1}},
        };
        for (size_t fi = 0; fi < sizeof(filters) / sizeof(filters[0]); fi++) {
            struct gp_profile *ref = gp_profile_new();
            for (int i = 0; i < 3; i++)
                ref_add(ref, p[i], hosts[i], &filters[fi]);
            char *want = tu_canon(ref);
            for (int res = 0; res < 2; res++) {
                char *got =
                        query_canon(f.si, "svc", T0, T0 + 86400 * 2, &filters[fi], 0, res, NULL);
                if (strcmp(got, want) != 0)
                    fail_msg("filter %zu res %d differs", fi, res);
                free(got);
            }
            free(want);
            gp_profile_free(ref);
        }
        /* truncation keeps the heaviest stacks with exact counts */
        struct gp_profile *all = gp_profile_new();
        for (int i = 0; i < 3; i++)
            gp_profile_merge(all, p[i]);
        struct gp_err err = {0};
        struct gp_profile *out = gp_profile_new();
        struct index_query q = {"svc", T0, T0 + 3600, NULL, 25, INDEX_RES_AUTO};
        struct index_query_stats st;
        OK(index_query(f.si, &q, out, &st, &err));
        assert_int_equal(gp_profile_nstacks(out), 25);
        assert_int_equal(st.returned_stacks, 25);
        assert_int_equal(st.total_stacks, gp_profile_nstacks(all));
        assert_int_equal(st.total_samples, gp_profile_total(all));
        /* every kept stack exists in the reference with the same count, and the smallest kept
         * count is >= every dropped count */
        char *kept = tu_canon(out), *full = tu_canon(all);
        uint64_t min_kept = UINT64_MAX;
        for (char *line = strtok(kept, "\n"); line; line = strtok(NULL, "\n")) {
            char needle[4096];
            snprintf(needle, sizeof(needle), "%s\n", line);
            assert_non_null(strstr(full, needle));
            uint64_t cnt = strtoull(strrchr(line, ' ') + 1, NULL, 10);
            if (cnt < min_kept)
                min_kept = cnt;
        }
        uint64_t kept_total = gp_profile_total(out);
        /* sum of the 25 heaviest reference counts equals what was kept */
        uint64_t counts[1024];
        size_t nc = 0;
        for (char *line = strtok(full, "\n"); line && nc < 1024; line = strtok(NULL, "\n"))
            counts[nc++] = strtoull(strrchr(line, ' ') + 1, NULL, 10);
        for (size_t i = 0; i < nc; i++)
            for (size_t j = i + 1; j < nc; j++)
                if (counts[j] > counts[i]) {
                    uint64_t t = counts[i];
                    counts[i] = counts[j];
                    counts[j] = t;
                }
        uint64_t top = 0;
        for (size_t i = 0; i < 25; i++)
            top += counts[i];
        assert_int_equal(kept_total, top);
        assert_true(min_kept >= counts[25]);
        free(kept);
        free(full);
        gp_profile_free(out);
        gp_profile_free(all);
        for (int i = 0; i < 3; i++)
            gp_profile_free(p[i]);
    }
}

#define LEAF(op_, field_, ...)                                                                     \
    ((const struct index_pred){.op = (op_),                                                        \
                               .field = (field_),                                                  \
                               .vals = (const char *[]){__VA_ARGS__},                              \
                               .nvals = sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *)})
#define NODE(op_, ...)                                                                             \
    ((const struct index_pred){.op = (op_),                                                        \
                               .kids = (const struct index_pred *[]){__VA_ARGS__},                 \
                               .nkids = sizeof((const struct index_pred *[]){__VA_ARGS__}) /       \
                                        sizeof(void *)})

/* The whole RQL filter as one predicate (struct index_filter.where): host, container, comm,
 * the unindexed fields (compare as ""), $or across host and stack fields, $like (case-sensitive,
 * byte-wise), empty lists, values that look like SQL; every answer equals the reference
 * evaluation of the same predicate on the raw profiles, at both resolutions and truncated. */
static void test_filter_predicates(void **state)
{
    assert_true(index_like("_ava", "java") && !index_like("Java%", "java") &&
                index_like("%res", "postgres") && index_like("%", "") && !index_like("_", "") &&
                index_like("a%b%c", "aXbYbc") && !index_like("a%b%c", "aXbYb"));
    assert_false(index_like("%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b",
                            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        const char *hosts[] = {"h1", "h2", "web-h3"};
        struct gp_profile *p[3];
        for (int i = 0; i < 3; i++) {
            p[i] = tu_profile(7, (uint64_t)i + 20, 240, 10);
            add(f.si, i + 1, "svc", hosts[i], T0 + 300 + i, p[i]);
        }
        add(f.si, 4, "other", "h-other", T0 + 300, p[0]); /* a host that is not svc's */
        const struct index_pred h1 = LEAF(INDEX_OP_IN, INDEX_FIELD_HOST, "h1"),
                                not_h2 = LEAF(INDEX_OP_NOT_IN, INDEX_FIELD_HOST, "h2"),
                                web = LEAF(INDEX_OP_IN, INDEX_FIELD_CONTAINER, "web-1"),
                                db = LEAF(INDEX_OP_IN, INDEX_FIELD_CONTAINER, "db-0"),
                                java = LEAF(INDEX_OP_IN, INDEX_FIELD_COMM, "java", "nginx"),
                                not_java = LEAF(INDEX_OP_NOT_IN, INDEX_FIELD_COMM, "java"),
                                like_res = LEAF(INDEX_OP_LIKE, INDEX_FIELD_COMM, "%res"),
                                like_Java = LEAF(INDEX_OP_LIKE, INDEX_FIELD_COMM, "Java%"),
                                like_host = LEAF(INDEX_OP_LIKE, INDEX_FIELD_HOST, "h_"),
                                like_pct = LEAF(INDEX_OP_LIKE, INDEX_FIELD_CONTAINER, "%"),
                                inst_empty = LEAF(INDEX_OP_IN, INDEX_FIELD_INSTANCE, ""),
                                inst_x = LEAF(INDEX_OP_IN, INDEX_FIELD_INSTANCE, "x"),
                                k8s_not = LEAF(INDEX_OP_NOT_IN, INDEX_FIELD_K8S, "pod"),
                                sqlish = LEAF(INDEX_OP_IN, INDEX_FIELD_HOST, "h1') OR 1=1 --",
                                              "h2\" OR \"1\"=\"1"),
                                in_none = {.op = INDEX_OP_IN, .field = INDEX_FIELD_CONTAINER},
                                nin_none = {.op = INDEX_OP_NOT_IN, .field = INDEX_FIELD_HOST},
                                or_none = {.op = INDEX_OP_OR},
                                h1_or_db = NODE(INDEX_OP_OR, &h1, &db),
                                web_or_like = NODE(INDEX_OP_OR, &web, &like_res),
                                nested = NODE(INDEX_OP_AND, &not_h2,
                                              &NODE(INDEX_OP_OR, &h1_or_db, &like_host), &not_java),
                                hosts_or_k8s = NODE(INDEX_OP_OR, &like_host, &k8s_not),
                                h1_and_java = NODE(INDEX_OP_AND, &h1, &java),
                                inst_or_h1 = NODE(INDEX_OP_OR, &inst_x, &h1);
        const struct index_pred *preds[] = {
                &h1_or_db,  &web_or_like, &nested,    &hosts_or_k8s, &h1_and_java, &inst_or_h1,
                &like_Java, &like_pct,    &like_host, &inst_empty,   &inst_x,      &sqlish,
                &in_none,   &nin_none,    &or_none,   &not_h2,
        };
        const char *wide[] = {"web-1", "db-0"}, *h3[] = {"web-h3"};
        for (size_t pi = 0; pi < sizeof(preds) / sizeof(preds[0]); pi++) {
            for (int lists = 0; lists < 2; lists++) {
                /* alone, and together with include/exclude lists */
                struct index_filter flt = {.where = preds[pi]};
                if (lists) {
                    flt.container_in = (struct index_strlist){wide, 2};
                    flt.host_out = (struct index_strlist){h3, 1};
                }
                struct gp_profile *ref = gp_profile_new();
                for (int i = 0; i < 3; i++)
                    ref_add(ref, p[i], hosts[i], &flt);
                char *want = tu_canon(ref);
                for (int res = 0; res < 2; res++) {
                    struct index_query_stats st;
                    char *got = query_canon(f.si, "svc", T0, T0 + 86400 * 2, &flt, 0, res, &st);
                    if (strcmp(got, want) != 0)
                        fail_msg("predicate %zu (lists %d) res %d differs", pi, lists, res);
                    assert_int_equal(st.total_samples, gp_profile_total(ref));
                    free(got);
                    /* truncated: the heaviest of the filtered stacks, with exact totals */
                    size_t cap = gp_profile_nstacks(ref) / 2 + 1;
                    struct gp_err err = {0};
                    struct gp_profile *out = gp_profile_new();
                    struct index_query q = {"svc", T0, T0 + 86400 * 2, &flt, cap, res};
                    OK(index_query(f.si, &q, out, &st, &err));
                    assert_int_equal(st.total_stacks, gp_profile_nstacks(ref));
                    assert_int_equal(gp_profile_nstacks(out),
                                     cap < gp_profile_nstacks(ref) ? cap : gp_profile_nstacks(ref));
                    gp_profile_free(out);
                }
                /* the case-sensitive, empty and SQL-looking predicates keep nothing */
                if (preds[pi] == &like_Java || preds[pi] == &inst_x || preds[pi] == &sqlish ||
                    preds[pi] == &in_none)
                    assert_string_equal(want, "");
                if (!lists && (preds[pi] == &inst_empty || preds[pi] == &nin_none ||
                               preds[pi] == &or_none || preds[pi] == &like_pct))
                    assert_int_equal(gp_profile_total(ref), gp_profile_total(p[0]) +
                                                                    gp_profile_total(p[1]) +
                                                                    gp_profile_total(p[2]));
                free(want);
                gp_profile_free(ref);
            }
        }
        for (int i = 0; i < 3; i++)
            gp_profile_free(p[i]);
    }
}

struct placed {
    int64_t start;
    int host;
    struct gp_profile *p;
};

static void test_rollups_equal_minutes(void **state)
{
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        const char *hosts[] = {"a", "b", "c"};
        enum { N = 150 };
        static struct placed pl[N];
        uint64_t seed = 42;
        for (int i = 0; i < N; i++) {
            /* spread over 3 days, clustered so hours and days have several profiles */
            int64_t off = (int64_t)(tu_rand(&seed) % (3 * 86400));
            pl[i].start = T0 - 3600 + off;
            pl[i].host = (int)(tu_rand(&seed) % 3);
            pl[i].p = tu_profile(3, (uint64_t)i, 40 + (unsigned)(tu_rand(&seed) % 40), 6);
            add(f.si, i + 1, "svc", hosts[pl[i].host], pl[i].start, pl[i].p);
        }
        int used_hour = 0, used_day = 0;
        for (int r = 0; r < 40; r++) {
            int64_t a, b;
            if (r == 0) {
                a = T0;
                b = T0 + 86400; /* exactly one day */
            } else if (r == 1) {
                a = T0 + 3600;
                b = T0 + 7200; /* exactly one hour */
            } else if (r == 2) {
                a = T0 - 7200;
                b = T0 + 3 * 86400; /* everything */
            } else {
                a = T0 - 3600 + (int64_t)(tu_rand(&seed) % (3 * 86400));
                b = a + 1 + (int64_t)(tu_rand(&seed) % (2 * 86400));
            }
            const char *ha[] = {"a"};
            struct index_filter hf = {.host_out = {ha, 1}};
            const struct index_filter *flt = r % 3 == 0 ? &hf : NULL;
            struct index_query_stats st = {0};
            char *fast = query_canon(f.si, "svc", a, b, flt, 0, INDEX_RES_AUTO, &st);
            char *slow = query_canon(f.si, "svc", a, b, flt, 0, INDEX_RES_MINUTE, NULL);
            /* reference straight from the inputs */
            struct gp_profile *ref = gp_profile_new();
            int64_t lo = a - ((a % 60) + 60) % 60;
            for (int i = 0; i < N; i++) {
                int64_t m = pl[i].start - ((pl[i].start % 60) + 60) % 60;
                if (m >= lo && m < b)
                    ref_add(ref, pl[i].p, hosts[pl[i].host], flt);
            }
            char *want = tu_canon(ref);
            if (strcmp(fast, want) != 0 || strcmp(slow, want) != 0)
                fail_msg("range %d [%lld, %lld) differs", r, (long long)a, (long long)b);
            used_hour += st.buckets_hour;
            used_day += st.buckets_day;
            free(fast);
            free(slow);
            free(want);
            gp_profile_free(ref);
        }
        assert_true(used_hour > 0);
        assert_true(used_day > 0);

        /* time range, series, services, values */
        struct gp_err err = {0};
        int64_t first, last;
        OK(index_time_range(f.si, "svc", NULL, &first, &last, &err));
        int64_t mn = INT64_MAX, mx = INT64_MIN;
        for (int i = 0; i < N; i++) {
            if (pl[i].start < mn)
                mn = pl[i].start;
            if (pl[i].start > mx)
                mx = pl[i].start;
        }
        assert_int_equal(first, mn);
        assert_int_equal(last, mx);
        assert_int_equal(index_time_range(f.si, "nope", NULL, &first, &last, &err), -ENOENT);
        const char *ghost[] = {"ghost"};
        struct index_filter gf = {.host_in = {ghost, 1}};
        assert_int_equal(index_time_range(f.si, "svc", &gf, &first, &last, &err), -ENOENT);
        for (int i = 0; i < N; i++)
            gp_profile_free(pl[i].p);
    }
}

struct series_acc {
    uint64_t samples;
    int points;
    int64_t last_bucket;
    int ordered;
    double cpu_max;
};

static int series_cb(const struct index_series_point *pt, void *ctx)
{
    struct series_acc *a = ctx;
    a->samples += pt->samples;
    a->points++;
    if (pt->bucket < a->last_bucket)
        a->ordered = 0;
    a->last_bucket = pt->bucket;
    if (pt->cpu_max > a->cpu_max)
        a->cpu_max = pt->cpu_max;
    return 0;
}

static int svc_cb(const struct index_service_info *s, void *ctx)
{
    char *out = ctx;
    char buf[128];
    snprintf(buf, sizeof(buf), "%s:%llu,", s->service, (unsigned long long)s->profiles);
    strcat(out, buf);
    return 0;
}

static int val_cb(const char *v, uint64_t samples, void *ctx)
{
    char *out = ctx;
    strcat(out, v);
    strcat(out, ",");
    return 0;
}

static void test_series_services_values_retention(void **state)
{
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        struct gp_err err = {0};
        struct gp_profile *p = tu_profile(9, 9, 50, 4);
        uint64_t tot = gp_profile_total(p);
        /* 2 hosts x 10 minutes on day 0, plus one profile 3 days later */
        int id = 1;
        for (int m = 0; m < 10; m++) {
            add(f.si, id++, "svc", "h1", T0 + m * 60, p);
            add(f.si, id++, "svc", "h2", T0 + m * 60 + 5, p);
        }
        add(f.si, id++, "svc", "h1", T0 + 3 * 86400, p);
        add(f.si, id++, "two", "h9", T0, p);
        struct series_acc a = {0, 0, INT64_MIN, 1, -1};
        OK(index_series(f.si, "svc", T0, T0 + 600, 300, NULL, series_cb, &a, &err));
        assert_int_equal(a.points, 4); /* 2 buckets x 2 hosts */
        assert_int_equal(a.samples, 20 * tot);
        assert_true(a.ordered);
        assert_true(a.cpu_max >= 10.0);
        const char *h1[] = {"h1"};
        struct index_filter hf = {.host_in = {h1, 1}};
        memset(&a, 0, sizeof(a));
        OK(index_series(f.si, "svc", T0, T0 + 600, 60, &hf, series_cb, &a, &err));
        assert_int_equal(a.points, 10);
        assert_int_equal(a.samples, 10 * tot);
        assert_int_equal(index_series(f.si, "svc", T0, T0 + 600, 61, NULL, series_cb, &a, &err),
                         -EINVAL);
        char out[512] = "";
        OK(index_services(f.si, svc_cb, out, &err));
        assert_string_equal(out, "svc:21,two:1,");
        out[0] = 0;
        OK(index_values(f.si, "svc", T0, T0 + 600, INDEX_DIM_HOST, val_cb, out, &err));
        assert_true(strcmp(out, "h1,h2,") == 0 || strcmp(out, "h2,h1,") == 0);
        out[0] = 0;
        OK(index_values(f.si, "svc", T0, T0 + 600, INDEX_DIM_CONTAINER, val_cb, out, &err));
        assert_non_null(strstr(out, "web-1,"));
        assert_non_null(strstr(out, "db-0,"));
        out[0] = 0;
        OK(index_values(f.si, "svc", T0, T0 + 600, INDEX_DIM_COMM, val_cb, out, &err));
        assert_non_null(strstr(out, "java,"));

        /* retention: everything before day 2 goes, the day-3 profile stays */
        int64_t deleted = 0;
        OK(index_retention(f.si, T0 + 2 * 86400 + 500, &deleted, &err));
        assert_int_equal(deleted, 21);
        assert_int_equal(index_has(f.si, 1, &err), 0);
        assert_int_equal(index_has(f.si, 21, &err), 1);
        /* the services list, series and values forget the expired days too */
        out[0] = 0;
        OK(index_services(f.si, svc_cb, out, &err));
        assert_string_equal(out, "svc:1,");
        memset(&a, 0, sizeof(a));
        OK(index_series(f.si, "svc", T0, T0 + 600, 300, NULL, series_cb, &a, &err));
        assert_int_equal(a.points, 0);
        out[0] = 0;
        OK(index_values(f.si, "svc", T0, T0 + 600, INDEX_DIM_HOST, val_cb, out, &err));
        assert_string_equal(out, "");
        char *got =
                query_canon(f.si, "svc", T0 - 86400, T0 + 5 * 86400, NULL, 0, INDEX_RES_AUTO, NULL);
        char *want = tu_canon(p);
        assert_string_equal(got, want);
        free(got);
        got = query_canon(f.si, "svc", T0 - 86400, T0 + 5 * 86400, NULL, 0, INDEX_RES_MINUTE, NULL);
        assert_string_equal(got, want);
        free(got);
        free(want);
        /* data added after retention still works (stack dictionary rebuilt as needed) */
        add(f.si, 100, "svc", "h3", T0 + 3 * 86400 + 60, p);
        struct gp_profile *two = gp_profile_new();
        gp_profile_merge(two, p);
        gp_profile_merge(two, p);
        want = tu_canon(two);
        got = query_canon(f.si, "svc", T0 + 3 * 86400, T0 + 4 * 86400, NULL, 0, INDEX_RES_AUTO,
                          NULL);
        assert_string_equal(got, want);
        free(got);
        free(want);
        gp_profile_free(two);
        int ok = 0;
        char msg[128];
        OK(index_check(f.si, &ok, msg, sizeof(msg), &err));
        assert_int_equal(ok, 1);
        gp_profile_free(p);
    }
}

struct reader {
    struct sample_index *si;
    int fails, queries;
    volatile int *stop;
};

static void *reader_thread(void *v)
{
    struct reader *r = v;
    while (!*r->stop) {
        struct gp_err err = {0};
        struct gp_profile *out = gp_profile_new();
        struct index_query q = {"svc", T0, T0 + 86400, NULL, 50, INDEX_RES_AUTO};
        if (index_query(r->si, &q, out, NULL, &err) < 0)
            r->fails++;
        /* totals only ever grow by whole profiles */
        if (gp_profile_total(out) % 1 != 0)
            r->fails++;
        gp_profile_free(out);
        r->queries++;
    }
    return NULL;
}

static void test_concurrent_readers(void **state)
{
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        volatile int stop = 0;
        struct reader r[2] = {{f.si, 0, 0, &stop}, {f.si, 0, 0, &stop}};
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&t[i], NULL, reader_thread, &r[i]);
        struct gp_profile *p = tu_profile(5, 5, 200, 10);
        for (int i = 0; i < 40; i++)
            add(f.si, i + 1, "svc", i % 2 ? "x" : "y", T0 + i * 97, p);
        stop = 1;
        for (int i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(r[i].fails, 0);
        }
        struct index_query_stats st;
        char *got = query_canon(f.si, "svc", T0, T0 + 86400, NULL, 0, INDEX_RES_AUTO, &st);
        assert_int_equal(st.total_samples, 40 * gp_profile_total(p));
        free(got);
        gp_profile_free(p);
    }
}

/* The benchmark of issue 3: 1 hour x N hosts x 60 s profiles, 2,000 unique stacks 40 deep. */
static void test_bench_flamegraph_hour(void **state)
{
    char eng[64];
    int hosts = getenv("GPROF_BENCH") ? 100 : 10;
    if (getenv("GPROF_BENCH_HOSTS"))
        hosts = atoi(getenv("GPROF_BENCH_HOSTS"));
    struct fx f;
    FOR_EACH_BACKEND(f)
    {
        /* every host runs the same code (one stack pool) with its own counts */
        struct gp_profile *p[8];
        for (int i = 0; i < 8; i++)
            p[i] = tu_profile(11, (uint64_t)i, 2000, 40);
        const int64_t h0 = T0 + 10 * 3600;
        double t0 = tu_now();
        int64_t id = 1;
        char host[32];
        /* in batches of 16 like the indexer (one commit per batch) */
        static char names[16][32];
        struct index_profile_meta mm[16];
        const struct index_profile_meta *ms[16];
        const struct gp_profile *ps[16];
        int k = 0;
        for (int m = 0; m < 60; m++)
            for (int h = 0; h < hosts; h++) {
                snprintf(names[k], sizeof(names[k]), "host-%03d", h);
                int64_t st = h0 + m * 60 + h % 60;
                mm[k] = (struct index_profile_meta){id++, "bench", names[k], st, st + 60, 5, 5};
                ms[k] = &mm[k];
                ps[k] = p[(m + h) % 8];
                if (++k == 16 || (m == 59 && h == hosts - 1)) {
                    struct gp_err err = {0};
                    OK(index_add_batch(f.si, ms, ps, (size_t)k, &err));
                    k = 0;
                }
            }
        (void)host;
        double add_s = tu_now() - t0;
        struct {
            const char *what;
            int64_t a, b;
            int filter;
        } cases[] = {
                {"aligned hour", h0, h0 + 3600, 0},
                {"unaligned hour", h0 + 1800, h0 + 5400, 0},
                {"last 60 minutes, minutes only", h0, h0 + 3600, 2},
                {"aligned hour, 1 host excluded", h0, h0 + 3600, 1},
        };
        printf("# index[%s]: indexed %lld profiles (%d hosts x 60 min, 2000 stacks x 40 frames) "
               "in %.1f s (batches of 16): %.1f profiles/s\n",
               tu_engine_name("GPROF_TEST_INDEX", "sqlite", eng, sizeof(eng)), (long long)(id - 1),
               hosts, add_s, (double)(id - 1) / add_s);
        uint64_t expect = 0;
        for (int m = 0; m < 60; m++)
            for (int h = 0; h < hosts; h++)
                expect += gp_profile_total(p[(m + h) % 8]);
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            const char *ex[] = {"host-000"};
            struct index_filter flt = {.host_out = {ex, 1}};
            double best = 1e9;
            struct index_query_stats st = {0};
            for (int rep = 0; rep < 3; rep++) {
                struct gp_err err = {0};
                struct gp_profile *out = gp_profile_new();
                struct index_query q = {
                        "bench",    cases[c].a,
                        cases[c].b, cases[c].filter == 1 ? &flt : NULL,
                        10000,      cases[c].filter == 2 ? INDEX_RES_MINUTE : INDEX_RES_AUTO};
                memset(&st, 0, sizeof(st));
                double q0 = tu_now();
                OK(index_query(f.si, &q, out, &st, &err));
                double dt = tu_now() - q0;
                if (dt < best)
                    best = dt;
                assert_int_equal(gp_profile_nstacks(out), 2000);
                gp_profile_free(out);
            }
            if (c == 0 || c == 2)
                assert_int_equal(st.total_samples, expect);
            printf("# index[%s]: flame graph, %s: %.1f ms (%zu rows, %llu samples)\n",
                   tu_engine_name("GPROF_TEST_INDEX", "sqlite", eng, sizeof(eng)), cases[c].what,
                   best * 1e3, st.rows_read, (unsigned long long)st.total_samples);
        }
        for (int i = 0; i < 8; i++)
            gp_profile_free(p[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_exact_merge_and_idempotent),
            cmocka_unit_test(test_filters_and_truncation),
            cmocka_unit_test(test_filter_predicates),
            cmocka_unit_test(test_rollups_equal_minutes),
            cmocka_unit_test(test_series_services_values_retention),
            cmocka_unit_test(test_concurrent_readers),
            cmocka_unit_test(test_bench_flamegraph_hour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
