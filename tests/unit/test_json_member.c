/* test_json_member.c — the fast path for one big top-level JSON string member: where it finds
 * the member, when it declines (the caller then uses json-c), that its decoding matches
 * json-c's, and that upload envelopes parse identically (results and errors) through it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_member.h"
#include "common/strbuf.h"
#include "coordinator/api/envelope.h"

static int find(const char *doc, size_t *qs, size_t *qe)
{
    return gp_json_find_string_member(doc, strlen(doc), "profile", qs, qe);
}

static void test_find(void **state)
{
    size_t qs = 0, qe = 0;
    const char *d =
            " {\"a\": {\"profile\": \"x\", \"b\": [1, \"}\\\"\"]}, \"profile\" : \"p\\\"q\\\\\","
            " \"n\": -1.5e3, \"t\": true, \"z\": null}\n";
    assert_int_equal(find(d, &qs, &qe), 1);
    assert_int_equal(d[qs], '"');
    assert_int_equal(d[qe], '"');
    assert_int_equal(qe - qs - 1, strlen("p\\\"q\\\\"));
    assert_memory_equal(d + qs + 1, "p\\\"q\\\\", qe - qs - 1);
    /* declined: absent, nested only, duplicated, not a string, escaped key, malformed */
    assert_int_equal(find("{\"a\": {\"profile\": \"x\"}}", &qs, &qe), 0);
    assert_int_equal(find("{\"profile\": \"x\", \"profile\": \"y\"}", &qs, &qe), 0);
    assert_int_equal(find("{\"profile\": 3}", &qs, &qe), 0);
    assert_int_equal(find("{\"prof\\u0069le\": \"x\"}", &qs, &qe), 0);
    assert_int_equal(find("{\"profile\": \"x\"", &qs, &qe), 0);
    assert_int_equal(find("{\"profile\": \"x", &qs, &qe), 0);
    assert_int_equal(find("[\"profile\", \"x\"]", &qs, &qe), 0);
    assert_int_equal(find("{}", &qs, &qe), 0);
    assert_int_equal(find("", &qs, &qe), 0);
    assert_int_equal(find("{\"a\" 1, \"profile\": \"x\"}", &qs, &qe), 0);
}

static int unescape(const char *s, char *out, size_t *n)
{
    return gp_json_unescape_simple(s, strlen(s), out, n);
}

static void test_unescape(void **state)
{
    char out[64];
    size_t n = 0;
    assert_int_equal(unescape("a\\nb\\t\\\"\\\\\\/\\r\\b\\f\x01\xc3\xa9z", out, &n), 1);
    assert_int_equal(n, 14);
    assert_memory_equal(out, "a\nb\t\"\\/\r\b\f\x01\xc3\xa9z", 14);
    assert_int_equal(out[n], '\0');
    assert_int_equal(unescape("", out, &n), 1);
    assert_int_equal(n, 0);
    /* left to json-c */
    assert_int_equal(unescape("a\\u0041", out, &n), 0);
    assert_int_equal(unescape("a\\x", out, &n), 0);
    assert_int_equal(unescape("a\\", out, &n), 0);
    assert_int_equal(gp_json_unescape_simple("a\0b", 3, out, &n), 0);
}

/* A realistic envelope (> 4 KiB so the fast path is taken); `extra` goes after "profile". */
static char *envelope(const char *profile_json, const char *extra)
{
    struct strbuf sb = STRBUF_INIT;
    sb_puts(&sb, "{\"start_time\": \"2026-01-02T03:04:05\", \"hostname\": \"h1\", \"profile\": \"");
    sb_puts(&sb, profile_json);
    sb_puts(&sb, "\"");
    sb_puts(&sb, extra);
    sb_puts(&sb, ", \"gpid\": \"\"}");
    return sb_detach(&sb, NULL);
}

static char *stacks(int n, const char *frame)
{
    struct strbuf sb = STRBUF_INIT;
    sb_puts(&sb, "# {\\\"metadata\\\": {\\\"hostname\\\": \\\"h2\\\", \\\"token\\\": \\\"s\\\"}}");
    for (int i = 0; i < n; i++)
        sb_printf(&sb, "\\n0;;java;main;%s;leaf_%d %d", frame, i, 1 + i % 7);
    return sb_detach(&sb, NULL);
}

static void test_envelope_same_results(void **state)
{
    /* the same envelope with and without the fast path (a \u escape forces json-c) */
    char *p1 = stacks(300, "caf\xc3\xa9"), *p2 = stacks(300, "caf\\u00e9");
    char *b1 = envelope(p1, ", \"cpu_avg\": 3.5"), *b2 = envelope(p2, ", \"cpu_avg\": 3.5");
    assert_true(strlen(b1) > 4096);
    struct upload_envelope e1, e2;
    struct gp_err err = {0};
    assert_int_equal(envelope_parse(b1, strlen(b1), &e1, &err), 0);
    assert_int_equal(envelope_parse(b2, strlen(b2), &e2, &err), 0);
    assert_int_equal(e1.text_len, e2.text_len);
    assert_memory_equal(e1.text, e2.text, e1.text_len);
    assert_int_equal(e1.stack_lines, 300);
    assert_int_equal(e1.samples, e2.samples);
    assert_int_equal(e1.scrubbed, 1);
    assert_true(e1.cpu_avg == 3.5);
    assert_string_equal(e1.hostname, "h1");
    envelope_free(&e1);
    envelope_free(&e2);
    free(b1);
    free(b2);

    /* an error after the profile member: json-c's message for the whole body */
    b1 = envelope(p1, ", \"cpu_avg\": 3.5,, \"x\": 1");
    struct gp_err want = {0};
    json_object *o = json_parse_strict(b1, strlen(b1), ENVELOPE_MAX_DEPTH, &want);
    assert_null(o);
    assert_int_equal(envelope_parse(b1, strlen(b1), &e1, &err), -EINVAL);
    assert_string_equal(err.msg, want.msg);
    free(b1);

    /* a bad stack line inside the fast-path text: the collapsed validator's message */
    char *p3 = stacks(300, "ok");
    p3 = realloc(p3, strlen(p3) + 32);
    assert_non_null(p3);
    strcat(p3, "\\n0;;java;main 12x");
    b1 = envelope(p3, "");
    assert_int_equal(envelope_parse(b1, strlen(b1), &e1, &err), -EINVAL);
    assert_string_equal(err.msg, "profile: line 302: count '12x' is not a positive integer");
    free(b1);
    free(p1);
    free(p2);
    free(p3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_find),
            cmocka_unit_test(test_unescape),
            cmocka_unit_test(test_envelope_same_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
