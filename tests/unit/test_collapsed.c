/* test_collapsed.c — gProfiler collapsed format: writer layout, round trips, v1/v2/auto parsing,
 * and the exact error messages the coordinator returns for malformed uploads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/collapsed.h"

static struct gp_profile *sample_profile(void)
{
    struct gp_profile *p = gp_profile_new();
    const char *a[] = {"main", "work", "hot_[k]"};
    const char *b[] = {"main", "idle"};
    assert_int_equal(gp_profile_add(p, 1, "", "app", a, 3, 70), 0);
    assert_int_equal(gp_profile_add(p, 0, "web", "nginx", b, 2, 30), 0);
    json_object_object_add(gp_profile_header(p), "hostname", json_object_new_string("h1"));
    json_object_object_add(gp_profile_header(p), "note", json_object_new_string("a\nb"));
    return p;
}

static void test_write_layout(void **state)
{
    struct gp_profile *p = sample_profile();
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_collapsed_write(p, &sb, &err), 0);
    assert_string_equal(sb_str(&sb), "# {\"hostname\":\"h1\",\"note\":\"a\\nb\"}\n"
                                     "1;;app;main;work;hot_[k] 70\n"
                                     "0;web;nginx;main;idle 30");
    sb_reset(&sb);
    assert_int_equal(gp_collapsed_write_ex(p,
                                           GP_COLLAPSED_NO_HEADER | GP_COLLAPSED_NO_PREFIX |
                                                   GP_COLLAPSED_TRAILING_NL,
                                           &sb, &err),
                     0);
    assert_string_equal(sb_str(&sb), "app;main;work;hot_[k] 70\nnginx;main;idle 30\n");
    sb_free(&sb);
    gp_profile_free(p);
}

static void test_write_escapes_separators(void **state)
{
    struct gp_profile *p = gp_profile_new();
    const char *f[] = {"Foo.bar(Ljava/lang/String;)V", "x\ny"};
    assert_int_equal(gp_profile_add(p, 0, "c;1", "co\rmm", f, 2, 3), 0);
    const char *z[] = {"never"};
    assert_int_equal(gp_profile_add(p, 0, "", "zero", z, 1, 0), 0);
    struct strbuf sb = STRBUF_INIT;
    assert_int_equal(gp_collapsed_write_ex(p, GP_COLLAPSED_NO_HEADER, &sb, NULL), 0);
    assert_string_equal(sb_str(&sb), "0;c|1;co mm;Foo.bar(Ljava/lang/String|)V;x y 3");
    /* control characters and bytes that are not UTF-8 never reach the output, so what the
     * agent writes the coordinator always accepts */
    struct gp_profile *q = gp_profile_new();
    const char *g[] = {"a\x01"
                       "b\xff\xc3\xa9\xe2\x82",
                       "\xf0\x9f\x94\xa5\t\x7f"};
    assert_int_equal(gp_profile_add(q, 0, "", "x", g, 2, 1), 0);
    sb_reset(&sb);
    assert_int_equal(gp_collapsed_write_ex(q, GP_COLLAPSED_NO_HEADER, &sb, NULL), 0);
    assert_string_equal(sb_str(&sb), "0;;x;a b?\xc3\xa9??;\xf0\x9f\x94\xa5\t  1");
    struct gp_profile *r = NULL;
    assert_int_equal(gp_collapsed_parse(sb.buf, sb.len, NULL, &r, NULL), 0);
    assert_int_equal(gp_profile_total(r), 1);
    gp_profile_free(r);
    gp_profile_free(q);
    /* empty names (only the container may be empty) */
    q = gp_profile_new();
    const char *e[] = {"main", ""};
    assert_int_equal(gp_profile_add(q, 0, "", "", e, 2, 2), 0);
    sb_reset(&sb);
    assert_int_equal(gp_collapsed_write_ex(q, GP_COLLAPSED_NO_HEADER, &sb, NULL), 0);
    assert_string_equal(sb_str(&sb), "0;;[unknown];main;[unknown] 2");
    gp_profile_free(q);
    sb_free(&sb);
    gp_profile_free(p);
}

struct collect {
    char lines[16][256];
    int n;
};

static int collect_cb(const struct gp_stack_view *s, void *arg)
{
    struct collect *c = arg;
    int o = snprintf(c->lines[c->n], 256, "%u|%s|%s", s->app_idx, s->container, s->comm);
    for (uint32_t k = 0; k < s->nframes; k++)
        o += snprintf(c->lines[c->n] + o, 256 - (size_t)o, "|%s", s->frames[k]);
    snprintf(c->lines[c->n] + o, 256 - (size_t)o, "=%llu", (unsigned long long)s->count);
    c->n++;
    return 0;
}

static void test_round_trip(void **state)
{
    struct gp_profile *p = sample_profile(), *q = NULL;
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_collapsed_write(p, &sb, &err), 0);
    struct gp_collapsed_stats st;
    struct gp_collapsed_parse_opts o = {
            .header = GP_COLLAPSED_HEADER_REQUIRED, .layout = GP_COLLAPSED_V2, .stats = &st};
    assert_int_equal(gp_collapsed_parse(sb.buf, sb.len, &o, &q, &err), 0);
    assert_int_equal(st.lines, 2);
    assert_int_equal(st.samples, 100);
    assert_true(st.had_header);
    assert_int_equal(gp_profile_total(q), 100);
    struct collect c = {0};
    gp_profile_foreach(q, collect_cb, &c);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.lines[0], "1||app|main|work|hot_[k]=70");
    assert_string_equal(c.lines[1], "0|web|nginx|main|idle=30");
    json_object *h = gp_profile_header(q), *v;
    assert_true(json_object_object_get_ex(h, "note", &v));
    assert_string_equal(json_object_get_string(v), "a\nb");
    /* writing the parsed profile again gives the same bytes */
    struct strbuf sb2 = STRBUF_INIT;
    assert_int_equal(gp_collapsed_write(q, &sb2, &err), 0);
    assert_string_equal(sb_str(&sb2), sb_str(&sb));
    sb_free(&sb);
    sb_free(&sb2);
    gp_profile_free(p);
    gp_profile_free(q);
}

/* Parses text with opts; returns rc and leaves the message in err. Every case also checks
 * that gp_collapsed_validate decides the same way with the same message and stats. */
static int parse(const char *text, const struct gp_collapsed_parse_opts *o, struct gp_err *err,
                 struct collect *c)
{
    struct gp_profile *q = NULL;
    struct gp_collapsed_parse_opts po = {0}, vo;
    struct gp_collapsed_stats pst = {0}, vst = {0};
    struct gp_err verr = {0};
    if (o)
        po = *o;
    vo = po;
    if (o && o->stats) { /* both fill their own copy; the caller's gets the parser's */
        po.stats = &pst;
        vo.stats = &vst;
    }
    int vrc = gp_collapsed_validate(text, strlen(text), &vo, &verr);
    gp_err_clear(err);
    int rc = gp_collapsed_parse(text, strlen(text), &po, &q, err);
    assert_int_equal(vrc, rc);
    assert_string_equal(verr.msg, err->msg);
    if (o && o->stats) {
        assert_memory_equal(&pst, &vst, sizeof(pst));
        *o->stats = pst;
    }
    if (rc == 0) {
        if (c)
            gp_profile_foreach(q, collect_cb, c);
        gp_profile_free(q);
    } else {
        assert_null(q);
    }
    return rc;
}

static void test_gprofiler_real_lines(void **state)
{
    /* Shapes from gProfiler output: spaces inside frames, empty container, CRLF, trailing \n,
     * blank lines, a count far above 32 bits. */
    const char *text =
            "# {\"hostname\":\"h\"}\r\n"
            "4;gprofiler-ps-webapp;gunicorn: worke;appid: gunicorn: app (/usr/app.py);"
            "threading.WorkerThread._bootstrap (/usr/lib/threading.py:959 [std==3.10])_[p] 12\r\n"
            "\n"
            "0;;swapper;secondary_startup_64_no_verify_[k];native_safe_halt_[k] 6310000000\n";
    struct gp_err err;
    struct collect c = {0};
    struct gp_collapsed_parse_opts o = {.header = GP_COLLAPSED_HEADER_REQUIRED};
    assert_int_equal(parse(text, &o, &err, &c), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.lines[0], "4|gprofiler-ps-webapp|gunicorn: worke|appid: gunicorn: app "
                                    "(/usr/app.py)|threading.WorkerThread._bootstrap "
                                    "(/usr/lib/threading.py:959 [std==3.10])_[p]=12");
    assert_string_equal(c.lines[1],
                        "0||swapper|secondary_startup_64_no_verify_[k]|native_safe_halt_[k]="
                        "6310000000");
}

static void test_v1_and_folded(void **state)
{
    struct gp_err err;
    struct collect c = {0};
    /* FlameGraph stackcollapse output: auto layout sees no numeric prefix -> v1 */
    assert_int_equal(parse("a;b;c 12\na;b 3\nsolo 1", NULL, &err, &c), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.lines[0], "0||a|b|c=12");
    assert_string_equal(c.lines[1], "0||a|b=3");
    assert_string_equal(c.lines[2], "0||solo=1");
    /* forced v1 keeps a numeric first field as comm */
    struct collect d = {0};
    struct gp_collapsed_parse_opts o = {.layout = GP_COLLAPSED_V1};
    assert_int_equal(parse("7;x;y 2", &o, &err, &d), 0);
    assert_string_equal(d.lines[0], "0||7|x|y=2");
    /* auto picks v2 for gProfiler lines */
    struct collect e = {0};
    assert_int_equal(parse("7;;x;y 2\n", NULL, &err, &e), 0);
    assert_string_equal(e.lines[0], "7||x|y=2");
}

static void test_zero_counts(void **state)
{
    struct gp_err err;
    struct collect c = {0};
    struct gp_collapsed_stats st;
    struct gp_collapsed_parse_opts o = {.stats = &st};
    assert_int_equal(parse("a;b 0\na;c 2", &o, &err, &c), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(st.zero_skipped, 1);
    o.reject_zero_counts = 1;
    assert_int_equal(parse("a;b 1\na;c 0", &o, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 2: count is 0; every stack needs at least one sample");
}

static void test_error_messages(void **state)
{
    struct gp_err err;
    struct gp_collapsed_parse_opts req = {.header = GP_COLLAPSED_HEADER_REQUIRED};
    struct gp_collapsed_parse_opts v2 = {.layout = GP_COLLAPSED_V2};

    assert_int_equal(parse("# {}\n0;;a;b 1\n0;;a;b x1", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 3: count 'x1' is not a positive integer");

    assert_int_equal(parse("# {\"a\":\n0;;a 1", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "header: not valid JSON: unexpected end of line (at byte 5)");

    assert_int_equal(parse("# [1,2]", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "header: not valid JSON: expected an object, got array");

    assert_int_equal(parse("# null", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "header: not valid JSON: expected an object, got null");

    assert_int_equal(parse("# {} x", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "header: not valid JSON: trailing data at byte 3");

    assert_int_equal(parse("0;;a;b 1", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: missing header; the first line must be '# {json}'");

    assert_int_equal(parse("", &req, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: missing header; the input is empty");

    assert_int_equal(parse("0;;a;b 1\n\nfoo 1", &v2, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 3: missing ';' separators; expected "
                                 "'<app_idx>;<container>;<comm>;frame;… <count>'");

    assert_int_equal(parse("x;;a;b 1", &v2, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: application index 'x' is not a non-negative integer");

    assert_int_equal(parse("a;b;c", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: missing count; expected 'frame;…;frame <count>'");

    assert_int_equal(parse("a;b -3", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: count '-3' is not a positive integer");

    assert_int_equal(parse("a;b 99999999999999999999999", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg,
                        "line 1: count '99999999999999999999999' is not a positive integer");

    assert_int_equal(parse("a;;b 1", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: empty frame name at frame 1");

    assert_int_equal(parse("0;;;b 1", &v2, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 1: empty process name (comm)");

    assert_int_equal(parse("a;b\x01;c 1", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg,
                        "line 1: invalid UTF-8 or control character (byte 0x01) at column 4");

    assert_int_equal(parse("a;\xc3\x28 1", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg,
                        "line 1: invalid UTF-8 or control character (byte 0xc3) at column 3");

    /* valid multibyte UTF-8 is fine */
    assert_int_equal(parse("a;caf\xc3\xa9;\xe2\x82\xac 1", NULL, &err, NULL), 0);

    /* sum overflow */
    assert_int_equal(parse("a 18446744073709551615\nb 1", NULL, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 2: the sum of counts overflows 64 bits");

    /* the bad text is quoted safely and shortened */
    assert_int_equal(parse("a;b \x7f\x80xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL,
                           &err, NULL),
                     -EINVAL);
    assert_string_equal(err.msg, "line 1: count '??xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' is "
                                 "not a positive integer");
}

static void test_caps(void **state)
{
    struct gp_err err;
    struct gp_collapsed_parse_opts o = {.max_frames = 3};
    assert_int_equal(parse("c;a;b;c 1", &o, &err, NULL), 0);
    assert_int_equal(parse("c;a;b;c;d 1", &o, &err, NULL), -E2BIG);
    assert_string_equal(err.msg, "line 1: more than 3 frames in one stack");

    struct gp_collapsed_parse_opts l = {.max_line = 10};
    assert_int_equal(parse("a;b 1\na;bbbbbbbbbbb 1", &l, &err, NULL), -E2BIG);
    assert_string_equal(err.msg, "line 2: 15 bytes is longer than the limit of 10");

    struct gp_collapsed_parse_opts t = {.max_total = 8};
    assert_int_equal(parse("a;b 1\na;c 1", &t, &err, NULL), -E2BIG);
    assert_string_equal(err.msg, "collapsed input is 11 bytes; the limit is 8");

    struct gp_collapsed_parse_opts s = {.max_stacks = 2};
    assert_int_equal(parse("a 1\nb 1\na 4\nc 1", &s, &err, NULL), -E2BIG);
    assert_string_equal(err.msg, "line 4: more than 2 distinct stacks");

    /* the default frame cap holds a 4096-deep stack and refuses one more */
    struct strbuf sb = STRBUF_INIT;
    sb_puts(&sb, "comm");
    for (int i = 0; i < 4096; i++)
        sb_puts(&sb, ";f");
    sb_puts(&sb, " 1");
    assert_int_equal(parse(sb_str(&sb), NULL, &err, NULL), 0);
    sb_reset(&sb);
    sb_puts(&sb, "comm");
    for (int i = 0; i < 4097; i++)
        sb_puts(&sb, ";f");
    sb_puts(&sb, " 1");
    assert_int_equal(parse(sb_str(&sb), NULL, &err, NULL), -E2BIG);
    sb_free(&sb);
}

/* Validation builds nothing, so it must not depend on what a profile would do: a large input
 * with duplicates around the distinct-stack cap, and the line counters. */
static void test_validate(void **state)
{
    struct gp_err err = {0};
    struct gp_collapsed_stats st = {0};
    struct gp_collapsed_parse_opts o = {.header = GP_COLLAPSED_HEADER_REQUIRED, .stats = &st};
    const char *ok = "# {\"a\": 1}\r\n0;;java;f;g 3\n\n0;c1;java;f;h 0\n0;;java;f;g 4\n";
    assert_int_equal(gp_collapsed_validate(ok, strlen(ok), &o, &err), 0);
    assert_int_equal(st.lines, 2);
    assert_int_equal(st.samples, 7);
    assert_int_equal(st.zero_skipped, 1);
    assert_int_equal(st.had_header, 1);
    /* more lines than max_stacks but only 2 distinct: accepted (falls back to a full parse) */
    struct gp_collapsed_parse_opts s = {.max_stacks = 2};
    assert_int_equal(parse("a 1\nb 1\na 4\nb 1\na 1", &s, &err, NULL), 0);
    assert_int_equal(parse("a 1\nb 1\na 4\nb 1\nc 1\nd x", &s, &err, NULL), -E2BIG);
    assert_string_equal(err.msg, "line 5: more than 2 distinct stacks");
    /* a later syntax error still wins when the cap is not exceeded */
    assert_int_equal(parse("a 1\nb 1\na 4\nb x", &s, &err, NULL), -EINVAL);
    assert_string_equal(err.msg, "line 4: count 'x' is not a positive integer");
    /* a realistic upload: 2,000 stacks x 40 frames */
    struct strbuf sb = STRBUF_INIT;
    sb_puts(&sb, "# {\"metadata\": {\"hostname\": \"h\"}}");
    for (int i = 0; i < 2000; i++) {
        sb_printf(&sb, "\n0;web-1;java");
        for (int d = 0; d < 39; d++)
            sb_printf(&sb, ";mod%d::function_%d_%d", d % 7, d, (i * 31 + d) % 40);
        sb_printf(&sb, ";leaf_%d %d", i, 1 + i % 100);
    }
    assert_int_equal(gp_collapsed_validate(sb.buf, sb.len, &o, &err), 0);
    assert_int_equal(st.lines, 2000);
    sb_free(&sb);
    /* NULL text */
    assert_int_equal(gp_collapsed_validate(NULL, 3, NULL, &err), -EINVAL);
    assert_string_equal(err.msg, "collapsed input is NULL");
}

static void test_parse_into_merges(void **state)
{
    struct gp_profile *p = gp_profile_new();
    struct gp_err err;
    const char *a = "# {\"n\":1}\n0;;x;f 2", *b = "# {\"n\":2}\n0;;x;f 3\n0;;x;g 1";
    assert_int_equal(gp_collapsed_parse_into(a, strlen(a), NULL, p, &err), 0);
    assert_int_equal(gp_collapsed_parse_into(b, strlen(b), NULL, p, &err), 0);
    assert_int_equal(gp_profile_total(p), 6);
    assert_int_equal(gp_profile_nstacks(p), 2);
    json_object *v;
    assert_true(json_object_object_get_ex(gp_profile_header(p), "n", &v));
    assert_int_equal(json_object_get_int(v), 2);
    gp_profile_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_write_layout),
            cmocka_unit_test(test_write_escapes_separators),
            cmocka_unit_test(test_round_trip),
            cmocka_unit_test(test_gprofiler_real_lines),
            cmocka_unit_test(test_v1_and_folded),
            cmocka_unit_test(test_zero_counts),
            cmocka_unit_test(test_error_messages),
            cmocka_unit_test(test_caps),
            cmocka_unit_test(test_parse_into_merges),
            cmocka_unit_test(test_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
