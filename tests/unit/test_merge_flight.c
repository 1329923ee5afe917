/* test_merge_flight.c — one merge per query at a time: a request arriving while the same merge
 * runs waits and shares it, a finished merge is kept keep_ms for the next request of that query
 * (not of another query or index generation), errors are shared but never kept, and no
 * merge_flight (NULL) means one merge per request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "coordinator/query/merge_flight.h"

struct merge_job {
    atomic_int calls;   /* how many times the merge ran */
    atomic_int started; /* a merge is running (and waits for go) */
    atomic_int go;
    int fail; /* answer -EIO */
    uint64_t samples;
};

static void nap_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int merge(void *ctx, struct gp_profile **out, struct gp_err *err)
{
    struct merge_job *j = ctx;
    atomic_fetch_add(&j->calls, 1);
    atomic_store(&j->started, 1);
    while (!atomic_load(&j->go))
        nap_ms(1);
    if (j->fail)
        return gp_err_set(err, -EIO, "index unreachable");
    struct gp_profile *p = gp_profile_new();
    if (!p)
        return gp_err_set(err, -ENOMEM, "out of memory");
    const char *frames[] = {"main", "work"};
    gp_profile_add(p, 0, "", "app", frames, 2, j->samples);
    *out = p;
    return 0;
}

struct caller {
    struct merge_flight *f;
    struct merge_job *job;
    const char *key;
    uint64_t gen;
    int rc;
    struct merge_ref *ref;
    struct gp_err err;
};

static void *call(void *arg)
{
    struct caller *c = arg;
    c->rc = merge_flight_get(c->f, c->key, c->gen, merge, c->job, &c->ref, &c->err);
    return NULL;
}

/* Starts a caller of key in a thread that will run the merge, and waits until it does. */
static void start_first(pthread_t *t, struct caller *c)
{
    assert_int_equal(pthread_create(t, NULL, call, c), 0);
    while (!atomic_load(&c->job->started))
        nap_ms(1);
}

/* Starts a caller that joins the running merge, and waits until it waits for it. */
static void start_joiner(pthread_t *t, struct caller *c, uint64_t shared_before)
{
    assert_int_equal(pthread_create(t, NULL, call, c), 0);
    for (;;) {
        uint64_t m, s;
        merge_flight_stats(c->f, &m, &s);
        if (s > shared_before)
            break;
        nap_ms(1);
    }
}

static void test_concurrent_requests_share_one_merge(void **state)
{
    (void)state;
    struct merge_flight *f = merge_flight_new(2, 60000);
    assert_non_null(f);
    struct merge_job job = {.samples = 7};
    struct caller a = {.f = f, .job = &job, .key = "svc\n0\n60\n10000\n", .gen = 3};
    struct caller b = a, other = a;
    other.key = "svc\n0\n60\n1\n"; /* another stack cap: its own merge */
    pthread_t ta, tb;
    start_first(&ta, &a);
    start_joiner(&tb, &b, 0);
    atomic_store(&job.go, 1);
    assert_int_equal(pthread_join(ta, NULL), 0);
    assert_int_equal(pthread_join(tb, NULL), 0);
    assert_int_equal(a.rc, 0);
    assert_int_equal(b.rc, 0);
    assert_int_equal(atomic_load(&job.calls), 1);
    assert_ptr_equal(merge_ref_profile(a.ref), merge_ref_profile(b.ref));
    assert_int_equal(gp_profile_total(merge_ref_profile(b.ref)), 7);
    uint64_t m, s;
    merge_flight_stats(f, &m, &s);
    assert_int_equal(m, 1);
    assert_int_equal(s, 1);
    merge_flight_release(f, a.ref);
    assert_int_equal(gp_profile_total(merge_ref_profile(b.ref)), 7); /* still held by b */
    merge_flight_release(f, b.ref);

    /* the next request of the same query, after the merge: the kept one */
    call(&b);
    assert_int_equal(b.rc, 0);
    assert_int_equal(atomic_load(&job.calls), 1);
    merge_flight_release(f, b.ref);
    /* another query, and the same one at a newer index generation: merged again */
    call(&other);
    assert_int_equal(other.rc, 0);
    assert_int_equal(atomic_load(&job.calls), 2);
    merge_flight_release(f, other.ref);
    b.gen = 4;
    call(&b);
    assert_int_equal(atomic_load(&job.calls), 3);
    merge_flight_release(f, b.ref);
    merge_flight_stats(f, &m, &s);
    assert_int_equal(m, 3);
    assert_int_equal(s, 2);
    merge_flight_free(f);
}

static void test_kept_for_keep_ms_only(void **state)
{
    (void)state;
    struct merge_flight *f = merge_flight_new(2, 20);
    struct merge_job job = {.samples = 1, .go = 1};
    struct caller a = {.f = f, .job = &job, .key = "k", .gen = 1};
    call(&a);
    merge_flight_release(f, a.ref);
    nap_ms(40);
    call(&a);
    merge_flight_release(f, a.ref);
    assert_int_equal(atomic_load(&job.calls), 2);
    merge_flight_free(f);
    /* keep = 2: a third query pushes the oldest out */
    f = merge_flight_new(2, 600000);
    a.f = f;
    call(&a);
    merge_flight_release(f, a.ref);
    atomic_store(&job.calls, 2); /* as if counted from here: k merged twice above */
    struct caller b = a, c = a;
    b.key = "k2";
    c.key = "k3";
    call(&b);
    merge_flight_release(f, b.ref);
    call(&c);
    merge_flight_release(f, c.ref);
    call(&c);
    merge_flight_release(f, c.ref);
    call(&b);
    merge_flight_release(f, b.ref);
    assert_int_equal(atomic_load(&job.calls), 4); /* k2, k3 kept */
    call(&a);
    merge_flight_release(f, a.ref);
    assert_int_equal(atomic_load(&job.calls), 5); /* k dropped for them */
    merge_flight_free(f);
}

static void test_errors_are_shared_not_kept(void **state)
{
    (void)state;
    struct merge_flight *f = merge_flight_new(2, 60000);
    struct merge_job job = {.fail = 1};
    struct caller a = {.f = f, .job = &job, .key = "k", .gen = 1};
    struct caller b = a;
    pthread_t ta, tb;
    start_first(&ta, &a);
    start_joiner(&tb, &b, 0);
    atomic_store(&job.go, 1);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    assert_int_equal(a.rc, -EIO);
    assert_int_equal(b.rc, -EIO);
    assert_non_null(strstr(b.err.msg, "index unreachable"));
    assert_null(b.ref);
    assert_int_equal(atomic_load(&job.calls), 1);
    job.fail = 0;
    call(&a);
    assert_int_equal(a.rc, 0);
    assert_int_equal(atomic_load(&job.calls), 2);
    merge_flight_release(f, a.ref);
    merge_flight_free(f);
}

static void test_no_flight_or_unknown_generation_merges_each_time(void **state)
{
    (void)state;
    struct merge_job job = {.samples = 2, .go = 1};
    struct caller a = {.f = NULL, .job = &job, .key = "k", .gen = 1};
    call(&a);
    assert_int_equal(a.rc, 0);
    merge_flight_release(NULL, a.ref);
    call(&a);
    merge_flight_release(NULL, a.ref);
    assert_int_equal(atomic_load(&job.calls), 2);
    struct merge_flight *f = merge_flight_new(2, 60000);
    a.f = f;
    a.gen = 0;
    call(&a);
    merge_flight_release(f, a.ref);
    call(&a);
    merge_flight_release(f, a.ref);
    assert_int_equal(atomic_load(&job.calls), 4);
    uint64_t m, s;
    merge_flight_stats(f, &m, &s);
    assert_int_equal(m, 2);
    assert_int_equal(s, 0);
    merge_flight_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_concurrent_requests_share_one_merge),
            cmocka_unit_test(test_kept_for_keep_ms_only),
            cmocka_unit_test(test_errors_are_shared_not_kept),
            cmocka_unit_test(test_no_flight_or_unknown_generation_merges_each_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
