/* test_profile.c — aggregation, interning, merge and ordering of struct gp_profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/profile.h"

static int sum_cb(const struct gp_stack_view *s, void *ctx)
{
    *(uint64_t *)ctx += s->count;
    return 0;
}

static void test_aggregates_identical_stacks(void **state)
{
    struct gp_profile *p = gp_profile_new();
    const char *a[] = {"main", "foo", "bar"};
    const char *b[] = {"main", "foo"};
    assert_int_equal(gp_profile_add(p, 0, "", "app", a, 3, 5), 0);
    assert_int_equal(gp_profile_add(p, 0, "", "app", a, 3, 2), 0);
    assert_int_equal(gp_profile_add(p, 0, "", "app", b, 2, 1), 0);
    assert_int_equal(gp_profile_add(p, 0, "c1", "app", b, 2, 1), 0);
    assert_int_equal(gp_profile_nstacks(p), 3);
    assert_int_equal(gp_profile_total(p), 9);
    uint64_t sum = 0;
    gp_profile_foreach(p, sum_cb, &sum);
    assert_int_equal(sum, 9);
    gp_profile_free(p);
}

static int first_cb(const struct gp_stack_view *s, void *ctx)
{
    *(uint64_t *)ctx = s->count;
    return 1;
}

static void test_sorted_and_merge_many(void **state)
{
    struct gp_profile *p = gp_profile_new(), *q = gp_profile_new();
    char name[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "fn%d", i);
        const char *f[] = {"root", name};
        assert_int_equal(gp_profile_add(p, 0, "", "x", f, 2, (uint64_t)(i % 97) + 1), 0);
    }
    assert_int_equal(gp_profile_merge(q, p), 0);
    assert_int_equal(gp_profile_merge(q, p), 0);
    assert_int_equal(gp_profile_nstacks(q), 5000);
    assert_int_equal(gp_profile_total(q), 2 * gp_profile_total(p));
    uint64_t top = 0;
    assert_int_equal(gp_profile_foreach_sorted(q, first_cb, &top), 1);
    assert_int_equal(top, 2 * 97);
    gp_profile_free(p);
    gp_profile_free(q);
}

static void test_header_is_owned(void **state)
{
    struct gp_profile *p = gp_profile_new();
    json_object_object_add(gp_profile_header(p), "hostname", json_object_new_string("h"));
    assert_string_equal(
            json_object_get_string(json_object_object_get(gp_profile_header(p), "hostname")), "h");
    gp_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_aggregates_identical_stacks),
            cmocka_unit_test(test_sorted_and_merge_many),
            cmocka_unit_test(test_header_is_owned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
