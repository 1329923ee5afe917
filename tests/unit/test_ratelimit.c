/* test_ratelimit.c — the control endpoints' token bucket: burst, refill, Retry-After, one
 * identity over the limit leaves another alone, many identities stay within the fixed table,
 * the check-then-charge use of the failed sign-ins, and the rate syntax. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "coordinator/http/ratelimit.h"

static void test_burst_and_refill(void **state)
{
    (void)state;
    struct http_ratelimit *rl;
    struct gp_err err = {0};
    assert_int_equal(http_ratelimit_new("test limit", 2.0, 5, &rl, &err), 0);
    assert_non_null(rl);
    unsigned ra = 0;
    int64_t t = 1000;
    for (int i = 0; i < 5; i++)
        assert_true(http_ratelimit_take(rl, "user a", t, &ra));
    assert_false(http_ratelimit_take(rl, "user a", t, &ra));
    assert_int_equal(ra, 1);                                /* 2/s: a token in 0.5 s, rounded up */
    assert_true(http_ratelimit_take(rl, "user b", t, &ra)); /* another identity */
    assert_false(http_ratelimit_take(rl, "user a", t + 400, &ra));
    assert_true(http_ratelimit_take(rl, "user a", t + 500, &ra)); /* 0.1 s later: 1 token */
    assert_false(http_ratelimit_take(rl, "user a", t + 500, &ra));
    /* a long pause refills no more than the burst */
    for (int i = 0; i < 5; i++)
        assert_true(http_ratelimit_take(rl, "user a", t + 100000, &ra));
    assert_false(http_ratelimit_take(rl, "user a", t + 100000, &ra));
    http_ratelimit_free(rl);
}

static void test_slow_rate_retry_after(void **state)
{
    (void)state;
    struct http_ratelimit *rl;
    struct gp_err err = {0};
    assert_int_equal(http_ratelimit_new("test limit", 0.1, 1, &rl, &err), 0);
    unsigned ra = 0;
    assert_true(http_ratelimit_take(rl, "address 10.0.0.1", 5000, &ra));
    assert_false(http_ratelimit_take(rl, "address 10.0.0.1", 5000, &ra));
    assert_int_equal(ra, 10);
    assert_false(http_ratelimit_take(rl, "address 10.0.0.1", 9000, &ra));
    assert_int_equal(ra, 6);
    http_ratelimit_free(rl);
}

static void test_many_identities(void **state)
{
    (void)state;
    struct http_ratelimit *rl;
    struct gp_err err = {0};
    assert_int_equal(http_ratelimit_new("test limit", 1.0, 1, &rl, &err), 0);
    unsigned ra;
    char id[32];
    /* 100,000 callers fit (memory is fixed); each new one starts with a full bucket */
    for (int i = 0; i < 100000; i++) {
        snprintf(id, sizeof(id), "address %d", i);
        assert_true(http_ratelimit_take(rl, id, 1000 + i / 1000, &ra));
    }
    /* a recent caller is still remembered and limited */
    assert_false(http_ratelimit_take(rl, "address 99999", 1100, &ra));
    http_ratelimit_free(rl);
}

static void test_off_and_parse(void **state)
{
    (void)state;
    struct http_ratelimit *rl = (void *)1;
    struct gp_err err = {0};
    assert_int_equal(http_ratelimit_new("test limit", 0, 20, &rl, &err), 0);
    assert_null(rl);
    unsigned ra;
    assert_true(http_ratelimit_take(NULL, "x", 1, &ra));
    double v;
    assert_int_equal(http_ratelimit_parse_rate("control_rate", "10/s", &v, &err), 0);
    assert_true(v == 10.0);
    assert_int_equal(http_ratelimit_parse_rate("control_rate", "600/m", &v, &err), 0);
    assert_true(v == 10.0);
    assert_int_equal(http_ratelimit_parse_rate("control_rate", "2.5", &v, &err), 0);
    assert_true(v == 2.5);
    assert_int_equal(http_ratelimit_parse_rate("control_rate", "0", &v, &err), 0);
    assert_true(v == 0.0);
    assert_int_equal(http_ratelimit_parse_rate("control_rate", "10/h", &v, &err), -EINVAL);
    assert_int_equal(http_ratelimit_parse_rate("control_rate", "-1/s", &v, &err), -EINVAL);
    assert_int_equal(http_ratelimit_parse_rate("login_rate", "fast", &v, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "login_rate 'fast'"));
}

/* Sign-ins: check (no token taken), charge only the failures. */
static void test_check_and_charge(void **state)
{
    (void)state;
    struct http_ratelimit *rl;
    struct gp_err err = {0};
    assert_int_equal(http_ratelimit_new("sign-in limit", 0.5, 3, &rl, &err), 0);
    unsigned ra = 0;
    int64_t t = 1000;
    /* successes are never charged: any number pass */
    for (int i = 0; i < 10; i++)
        assert_true(http_ratelimit_check(rl, "ip:10.0.0.1", t, &ra));
    for (int i = 0; i < 3; i++) {
        assert_true(http_ratelimit_check(rl, "ip:10.0.0.1", t, &ra));
        http_ratelimit_charge(rl, "ip:10.0.0.1", t);
    }
    assert_false(http_ratelimit_check(rl, "ip:10.0.0.1", t, &ra));
    assert_int_equal(ra, 2);                                   /* 0.5/s: one token in 2 s */
    assert_true(http_ratelimit_check(rl, "user:bob", t, &ra)); /* another key */
    /* charges past empty push the wait out, bounded by the burst */
    for (int i = 0; i < 100; i++)
        http_ratelimit_charge(rl, "ip:10.0.0.1", t);
    assert_false(http_ratelimit_check(rl, "ip:10.0.0.1", t, &ra));
    assert_int_equal(ra, 8); /* from -3 to 1 token at 0.5/s */
    assert_false(http_ratelimit_check(rl, "ip:10.0.0.1", t + 7000, &ra));
    assert_true(http_ratelimit_check(rl, "ip:10.0.0.1", t + 8000, &ra));
    http_ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_burst_and_refill), cmocka_unit_test(test_slow_rate_retry_after),
            cmocka_unit_test(test_many_identities),  cmocka_unit_test(test_off_and_parse),
            cmocka_unit_test(test_check_and_charge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
