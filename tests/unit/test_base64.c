/* test_base64.c — RFC 4648 vectors both ways, whitespace, and precise rejection of bad input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "common/base64.h"

static const char *const vectors[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
};

static void test_rfc4648_vectors(void **state)
{
    for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        struct strbuf e = STRBUF_INIT, d = STRBUF_INIT;
        struct gp_err err = {0};
        assert_int_equal(gp_base64_encode(vectors[i][0], strlen(vectors[i][0]), &e), 0);
        assert_string_equal(sb_str(&e), vectors[i][1]);
        assert_int_equal(gp_base64_decode(vectors[i][1], strlen(vectors[i][1]), &d, &err), 0);
        assert_int_equal(d.len, strlen(vectors[i][0]));
        assert_memory_equal(sb_str(&d), vectors[i][0], d.len);
        sb_free(&e);
        sb_free(&d);
    }
}

static void test_binary_round_trip_and_whitespace(void **state)
{
    unsigned char bin[256];
    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)(255 - i);
    struct strbuf e = STRBUF_INIT, wrapped = STRBUF_INIT, d = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_base64_encode(bin, sizeof(bin), &e), 0);
    for (size_t i = 0; i < e.len; i++) {
        sb_putc(&wrapped, e.buf[i]);
        if (i % 76 == 75)
            sb_puts(&wrapped, "\r\n");
    }
    assert_int_equal(gp_base64_decode(wrapped.buf, wrapped.len, &d, &err), 0);
    assert_int_equal(d.len, sizeof(bin));
    assert_memory_equal(d.buf, bin, sizeof(bin));
    sb_free(&e);
    sb_free(&wrapped);
    sb_free(&d);
}

static void test_rejects_garbage(void **state)
{
    static const char *const bad[] = {"Zg=", "Z", "Zm9v!", "Zg==Zg==", "Zm=9", "====", "Zg==="};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct strbuf d = STRBUF_INIT;
        struct gp_err err = {0};
        assert_int_equal(gp_base64_decode(bad[i], strlen(bad[i]), &d, &err), -EINVAL);
        assert_true(strstr(err.msg, "base64") != NULL);
        sb_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc4648_vectors),
            cmocka_unit_test(test_binary_round_trip_and_whitespace),
            cmocka_unit_test(test_rejects_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
