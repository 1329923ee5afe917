/* test_profile_limit.c — max_processes of ad hoc sessions: the selection keeps the heaviest
 * entries (ties to the earliest), and limiting a real profile keeps only the heaviest processes'
 * stacks, counts what was dropped in the header, and leaves a profile under the limit as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/profile_limit.h"
#include "common/err.h"

#include <stdio.h>
#include <string.h>

static void test_select_all_when_under_limit(void **state)
{
    (void)state;
    uint64_t s[3] = {5, 1, 9};
    unsigned char keep[3] = {7, 7, 7};
    assert_int_equal(gp_profile_limit_select(s, 3, 3, keep), 0);
    assert_memory_equal(keep, ((unsigned char[]){1, 1, 1}), 3);
    assert_int_equal(gp_profile_limit_select(s, 3, 100000, keep), 0);
    assert_memory_equal(keep, ((unsigned char[]){1, 1, 1}), 3);
    assert_int_equal(gp_profile_limit_select(s, 0, 1, keep), 0);
}

static void test_select_heaviest(void **state)
{
    (void)state;
    uint64_t s[6] = {5, 40, 1, 40, 7, 100};
    unsigned char keep[6];
    assert_int_equal(gp_profile_limit_select(s, 6, 1, keep), 0);
    assert_memory_equal(keep, ((unsigned char[]){0, 0, 0, 0, 0, 1}), 6);
    /* tie between index 1 and 3 (40 each): the earlier one wins */
    assert_int_equal(gp_profile_limit_select(s, 6, 2, keep), 0);
    assert_memory_equal(keep, ((unsigned char[]){0, 1, 0, 0, 0, 1}), 6);
    assert_int_equal(gp_profile_limit_select(s, 6, 4, keep), 0);
    assert_memory_equal(keep, ((unsigned char[]){0, 1, 0, 1, 1, 1}), 6);
}

static void add(struct gp_profile *p, const char *container, const char *comm, const char *leaf,
                uint64_t n)
{
    const char *frames[2] = {"main", leaf};
    assert_int_equal(gp_profile_add(p, 0, container, comm, frames, 2, n), 0);
}

struct seen {
    char comms[8][64];
    uint64_t counts[8];
    size_t n;
};

static int seen_cb(const struct gp_stack_view *s, void *ctx)
{
    struct seen *x = ctx;
    assert_true(x->n < 8);
    snprintf(x->comms[x->n], sizeof(x->comms[0]), "%s/%s/%s", s->container, s->comm,
             s->frames[s->nframes - 1]);
    x->counts[x->n++] = s->count;
    return 0;
}

static int64_t limit_field(struct gp_profile *p, const char *key)
{
    json_object *pl, *v;
    assert_true(json_object_object_get_ex(gp_profile_header(p), "process_limit", &pl));
    assert_true(json_object_object_get_ex(pl, key, &v));
    return json_object_get_int64(v);
}

/* burn (two stacks, 70 samples), web in a container (50), web on the host (20), sh (3) */
static struct gp_profile *sample_profile(void)
{
    struct gp_profile *p = gp_profile_new();
    assert_non_null(p);
    json_object_object_add(gp_profile_header(p), "hostname", json_object_new_string("h1"));
    add(p, "", "sh", "read", 3);
    add(p, "", "burn", "hot_a", 40);
    add(p, "shop", "web", "serve", 50);
    add(p, "", "web", "serve", 20);
    add(p, "", "burn", "hot_b", 30);
    return p;
}

static void test_limit_keeps_heaviest_processes(void **state)
{
    (void)state;
    struct gp_profile *p = sample_profile(), *orig = p;
    struct gp_profile_limit_stats st;
    struct gp_err err = {0};
    assert_int_equal(gp_profile_limit_processes(&p, 2, &st, &err), 0);
    assert_ptr_not_equal(p, orig); /* a new profile; the old one was freed */
    assert_int_equal(st.processes, 4);
    assert_int_equal(st.processes_dropped, 2);
    assert_int_equal(st.samples, 143);
    assert_int_equal(st.samples_dropped, 23);
    assert_int_equal(gp_profile_total(p), 120);
    struct seen x = {0};
    assert_int_equal(gp_profile_foreach(p, seen_cb, &x), 0);
    assert_int_equal(x.n, 3); /* both burn stacks and shop's web, in their original order */
    assert_string_equal(x.comms[0], "/burn/hot_a");
    assert_string_equal(x.comms[1], "shop/web/serve");
    assert_string_equal(x.comms[2], "/burn/hot_b");
    assert_int_equal(x.counts[0], 40);
    assert_int_equal(x.counts[2], 30);
    /* the header is kept and says what was dropped */
    json_object *v;
    assert_true(json_object_object_get_ex(gp_profile_header(p), "hostname", &v));
    assert_string_equal(json_object_get_string(v), "h1");
    assert_int_equal(limit_field(p, "max_processes"), 2);
    assert_int_equal(limit_field(p, "processes"), 4);
    assert_int_equal(limit_field(p, "processes_dropped"), 2);
    assert_int_equal(limit_field(p, "samples_dropped"), 23);
    json_object *pl, *l;
    assert_true(json_object_object_get_ex(gp_profile_header(p), "process_limit", &pl));
    assert_true(json_object_object_get_ex(pl, "largest_dropped", &l));
    assert_true(json_object_object_get_ex(l, "comm", &v));
    assert_string_equal(json_object_get_string(v), "web");
    assert_true(json_object_object_get_ex(l, "container", &v));
    assert_string_equal(json_object_get_string(v), "");
    assert_true(json_object_object_get_ex(l, "samples", &v));
    assert_int_equal(json_object_get_int64(v), 20);
    gp_profile_free(p);
}

static void test_limit_one(void **state)
{
    (void)state;
    struct gp_profile *p = sample_profile();
    struct gp_err err = {0};
    assert_int_equal(gp_profile_limit_processes(&p, 1, NULL, &err), 0);
    struct seen x = {0};
    assert_int_equal(gp_profile_foreach(p, seen_cb, &x), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.comms[0], "/burn/hot_a");
    assert_string_equal(x.comms[1], "/burn/hot_b");
    assert_int_equal(limit_field(p, "processes_dropped"), 3);
    assert_int_equal(limit_field(p, "samples_dropped"), 73);
    gp_profile_free(p);
}

static void test_limit_under_max_changes_nothing(void **state)
{
    (void)state;
    struct gp_profile *p = sample_profile(), *orig = p;
    struct gp_profile_limit_stats st;
    struct gp_err err = {0};
    assert_int_equal(gp_profile_limit_processes(&p, 4, &st, &err), 0);
    assert_ptr_equal(p, orig);
    assert_int_equal(st.processes_dropped, 0);
    assert_int_equal(gp_profile_nstacks(p), 5);
    assert_int_equal(gp_profile_total(p), 143);
    assert_int_equal(limit_field(p, "processes"), 4);
    assert_int_equal(limit_field(p, "processes_dropped"), 0);
    json_object *pl;
    assert_true(json_object_object_get_ex(gp_profile_header(p), "process_limit", &pl));
    assert_false(json_object_object_get_ex(pl, "largest_dropped", NULL));
    gp_profile_free(p);

    struct gp_profile *e = gp_profile_new();
    assert_non_null(e);
    assert_int_equal(gp_profile_limit_processes(&e, 1, &st, &err), 0);
    assert_int_equal(st.processes, 0);
    assert_int_equal(limit_field(e, "samples_dropped"), 0);
    gp_profile_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_select_all_when_under_limit),
            cmocka_unit_test(test_select_heaviest),
            cmocka_unit_test(test_limit_keeps_heaviest_processes),
            cmocka_unit_test(test_limit_one),
            cmocka_unit_test(test_limit_under_max_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
