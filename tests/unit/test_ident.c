/* test_ident.c — the shared rule for network-supplied names (common/ident.h): embedded NULs,
 * control characters, invalid UTF-8 and bidirectional controls are refused with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common/ident.h"

static void expect_bad(const char *s, size_t len, size_t max, const char *needle)
{
    char why[128] = "";
    assert_int_equal(gp_ident_check(s, len, max, why, sizeof(why)), -EINVAL);
    if (!strstr(why, needle))
        fail_msg("reason '%s' lacks '%s'", why, needle);
}

static void test_accepts(void **state)
{
    (void)state;
    char why[128];
    assert_int_equal(gp_ident_check("web-01.example", 14, 255, why, sizeof(why)), 0);
    assert_int_equal(gp_ident_check("h\xc3\xa9llo \xe6\x97\xa5", 10, 255, NULL, 0), 0);
    assert_int_equal(gp_ident_check("\xf0\x9f\x94\xa5", 4, 4, NULL, 0), 0); /* U+1F525 */
    char big[256];
    memset(big, 'a', sizeof(big));
    assert_int_equal(gp_ident_check(big, 255, 255, NULL, 0), 0);
}

static void test_refuses(void **state)
{
    (void)state;
    char big[256];
    memset(big, 'a', sizeof(big));
    expect_bad("", 0, 255, "empty");
    expect_bad(big, 256, 255, "longer than 255");
    expect_bad("h\0evil", 6, 255, "U+0000"); /* not truncated to "h" */
    expect_bad("a\tb", 3, 255, "U+0009");
    expect_bad("a\x7f", 2, 255, "U+007F");
    expect_bad("a\xc2\x85", 3, 255, "U+0085"); /* C1 control (NEL) */
    expect_bad("\xff", 1, 255, "UTF-8");
    expect_bad("\xc0\xaf", 2, 255, "UTF-8");         /* overlong '/' */
    expect_bad("\xed\xa0\x80", 3, 255, "UTF-8");     /* a surrogate */
    expect_bad("\xf4\x90\x80\x80", 4, 255, "UTF-8"); /* above U+10FFFF */
    expect_bad("ab\xe2\x80", 4, 255, "offset 2");    /* truncated sequence */
    expect_bad("a\xe2\x80\xaeZ", 5, 255, "U+202E");  /* right-to-left override */
    expect_bad("\xe2\x80\xaa", 3, 255, "U+202A");
    expect_bad("x\xe2\x81\xa6", 4, 255, "U+2066"); /* left-to-right isolate */
    expect_bad("x\xe2\x81\xa9", 4, 255, "U+2069");
    expect_bad("x\xe2\x80\x8f", 4, 255, "bidirectional"); /* right-to-left mark */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_accepts),
            cmocka_unit_test(test_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
