/* test_common_blocks.c — the shared blocks of common/ that replaced per-file copies: gzip both
 * ways at the levels the callers use, ISO 8601 with fractions (pprof headers, agent results, the
 * CLI), and the one HTML escape (flame graph titles, the perfspect report). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/gzip.h"
#include "common/strbuf.h"
#include "common/timeutil.h"

static void test_gzip_levels_round_trip(void **state)
{
    (void)state;
    static char text[100000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = "main;work;hot 1\n"[i % 16];
    const int levels[] = {1, 6, 9, 0};
    for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
        struct gp_err err = {0};
        char *gz = NULL, *out = NULL;
        size_t gzlen = 0, outlen = 0;
        assert_int_equal(gz_deflate(text, sizeof(text), levels[l], &gz, &gzlen, &err), 0);
        assert_true(gzlen > 18 && gzlen < sizeof(text) / 10);
        assert_int_equal(gz_inflate(gz, gzlen, sizeof(text), &out, &outlen, &err), 0);
        assert_int_equal(outlen, sizeof(text));
        assert_memory_equal(out, text, sizeof(text));
        /* one byte under the output size is a bomb, on the fast path and on zlib's */
        free(out);
        assert_int_equal(gz_inflate(gz, gzlen, sizeof(text) - 1, &out, &outlen, &err), -EFBIG);
        free(gz);
    }
}

static void test_gzip_compress_appends(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    sb_puts(&sb, "prefix");
    assert_int_equal(gp_gzip_compress("abc", 3, 1, &sb, &err), 0);
    assert_memory_equal(sb.buf, "prefix", 6);
    char *out = NULL;
    size_t n = 0;
    assert_int_equal(gz_inflate(sb.buf + 6, sb.len - 6, 100, &out, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(out, "abc");
    free(out);
    sb_free(&sb);
}

static void test_time_fractions_and_offsets(void **state)
{
    (void)state;
    double t = 0;
    assert_int_equal(tu_parse_frac("2026-03-04T05:06:07.25Z", &t), 0);
    assert_true(t == 1772600767.25);
    assert_int_equal(tu_parse_frac("2026-03-04T07:06:07.5+02:00", &t), 0);
    assert_true(t == 1772600767.5);
    assert_int_equal(tu_parse_frac("2026-03-04 05:06:07", &t), 0);
    assert_true(t == 1772600767.0);
    int64_t s = 0;
    assert_int_equal(tu_parse("2026-03-04T05:06:07.999", &s), 0); /* whole seconds */
    assert_int_equal(s, 1772600767);
    assert_int_equal(tu_parse_frac("2026-03-04T05:06:07.", &t), -EINVAL);
    assert_int_equal(tu_parse_frac("yesterday", &t), -EINVAL);
    assert_int_equal(tu_parse(NULL, &s), -EINVAL);
}

static void test_html_escape(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    assert_int_equal(sb_html_text(&sb, "<a href=\"x\">Tom's & co</a>"), 0);
    assert_string_equal(sb_str(&sb), "&lt;a href=&quot;x&quot;&gt;Tom&#39;s &amp; co&lt;/a&gt;");
    sb_free(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_gzip_levels_round_trip),
            cmocka_unit_test(test_gzip_compress_appends),
            cmocka_unit_test(test_time_fractions_and_offsets),
            cmocka_unit_test(test_html_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
