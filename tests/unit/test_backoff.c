/* test_backoff.c — retry timing: exponential growth from the base, the cap (5 min for
 * heartbeats), jitter bounds (±10% of the interval, never negative), reset after a success, and
 * that jitter really spreads values (a fleet does not retry in lockstep). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/backoff.h"

static void test_exponential_and_cap(void **state)
{
    (void)state;
    struct gp_backoff b;
    gp_backoff_init(&b, 30, 300, 0, 42); /* no jitter: exact values */
    double want[] = {30, 60, 120, 240, 300, 300, 300};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_true(gp_backoff_fail(&b) == want[i]);
    for (int i = 0; i < 200; i++) /* many failures never overflow past the cap */
        assert_true(gp_backoff_fail(&b) == 300);
    gp_backoff_reset(&b);
    assert_true(gp_backoff_fail(&b) == 30);
}

static void test_jittered_bounds(void **state)
{
    (void)state;
    struct gp_backoff b;
    gp_backoff_init(&b, 1, 300, 0.1, 7);
    double base = 1;
    for (int i = 0; i < 12; i++) {
        double d = gp_backoff_fail(&b);
        double nominal = base < 300 ? base : 300;
        assert_true(d >= nominal * 0.9 - 1e-9);
        assert_true(d <= nominal * 1.1 + 1e-9);
        base *= 2;
    }
    for (int i = 0; i < 1000; i++) { /* capped: within 300 ± 10% */
        double d = gp_backoff_fail(&b);
        assert_true(d >= 270 - 1e-9 && d <= 330 + 1e-9);
    }
}

static void test_interval_jitter(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    double lo = 1e9, hi = 0, sum = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
        double v = gp_jitter(30, 0.1, &rng);
        assert_true(v >= 27 - 1e-9 && v <= 33 + 1e-9);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    /* spread over the whole band, centred on the interval */
    assert_true(lo < 27.1 && hi > 32.9);
    assert_true(sum / n > 29.9 && sum / n < 30.1);
    assert_true(gp_jitter(0, 0.1, &rng) == 0);
}

static void test_seeds_differ(void **state)
{
    (void)state;
    struct gp_backoff a, b;
    gp_backoff_init(&a, 10, 300, 0.2, 1);
    gp_backoff_init(&b, 10, 300, 0.2, 2);
    int same = 0;
    for (int i = 0; i < 8; i++)
        same += gp_backoff_fail(&a) == gp_backoff_fail(&b);
    assert_true(same < 8);
    uint64_t r = 99;
    for (int i = 0; i < 1000; i++) {
        double u = gp_rand_unit(&r);
        assert_true(u >= 0 && u < 1);
    }
}

static void test_degenerate_settings(void **state)
{
    (void)state;
    struct gp_backoff b;
    gp_backoff_init(&b, 0, 0, -1, 3); /* defaults: 1 s base, 300 s cap, no jitter */
    assert_true(gp_backoff_fail(&b) == 1);
    gp_backoff_init(&b, 500, 300, 0, 3); /* cap below base: the base wins */
    assert_true(gp_backoff_fail(&b) == 500);
    assert_true(gp_backoff_fail(&b) == 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_exponential_and_cap), cmocka_unit_test(test_jittered_bounds),
            cmocka_unit_test(test_interval_jitter),     cmocka_unit_test(test_seeds_differ),
            cmocka_unit_test(test_degenerate_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
