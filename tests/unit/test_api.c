/* test_api.c — request-side parsers of the coordinator API: the gProfiler upload envelope
 * (validation, precise errors, token scrubbing, ad hoc HTML), RQL filters, ISO timestamps and
 * bounded gzip inflation (gzip bombs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "coordinator/api/envelope.h"
#include "coordinator/query/rql.h"
#include "common/timeutil.h"
#include "common/gzip.h"

static char *body_with(const char *profile, const char *extra)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "start_time", json_object_new_string("2026-03-04T05:06:07"));
    json_object_object_add(o, "end_time", json_object_new_string("2026-03-04T05:07:07"));
    json_object_object_add(o, "hostname", json_object_new_string("h1"));
    json_object_object_add(o, "profile", json_object_new_string(profile));
    json_object_object_add(o, "cpu_avg", json_object_new_double(8.5));
    json_object_object_add(o, "mem_avg", NULL);
    json_object_object_add(o, "spawn_time", json_object_new_string("2026-03-04T00:00:00"));
    json_object_object_add(o, "gpid", json_object_new_string(extra ? extra : ""));
    char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return s;
}

static void expect_env_error(const char *body, const char *needle)
{
    struct upload_envelope e;
    struct gp_err err = {0};
    assert_int_not_equal(envelope_parse(body, strlen(body), &e, &err), 0);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_envelope_ok(void **state)
{
    const char *prof = "# {\"metadata\":{\"hostname\":\"h1\",\"run_arguments\":{\"service_name\":"
                       "\"svc\",\"server_token\":\"S3CRET\",\"continuous\":false,\"Api_Token\":1}},"
                       "\"flamegraph_html\":\"<html>x</html>\"}\n"
                       "0;;python;main;foo 3\n0;c;java;a_[j] 2";
    char *body = body_with(prof, "42");
    struct upload_envelope e;
    struct gp_err err = {0};
    assert_int_equal(envelope_parse(body, strlen(body), &e, &err), 0);
    assert_int_equal(e.start_time, 1772600767); /* 2026-03-04T05:06:07Z */
    assert_int_equal(e.end_time, 1772600827);
    assert_string_equal(e.hostname, "h1");
    assert_true(e.cpu_avg > 8.4 && e.cpu_avg < 8.6);
    assert_true(e.mem_avg < 0); /* null = unknown */
    assert_int_equal(e.gpid, 42);
    assert_false(e.continuous);
    assert_string_equal(e.service_hint, "svc");
    assert_int_equal(e.stack_lines, 2);
    assert_int_equal(e.samples, 5);
    assert_int_equal(e.scrubbed, 2);
    assert_null(strstr(e.text, "S3CRET"));
    assert_null(strstr(e.text, "Api_Token"));
    assert_null(strstr(e.text, "flamegraph_html"));
    assert_non_null(strstr(e.text, "\n0;;python;main;foo 3\n0;c;java;a_[j] 2"));
    assert_memory_equal(e.text, "# {", 3);
    assert_string_equal(e.flamegraph_html, "<html>x</html>");
    envelope_free(&e);
    free(body);
}

/* ENVELOPE_TEXT_IF_CHANGED: no re-serialised text when the header is stored unchanged. */
static void test_envelope_text_if_changed(void **state)
{
    (void)state;
    struct upload_envelope e;
    struct gp_err err = {0};
    char *plain = body_with("# {\"metadata\":{\"hostname\":\"h1\"}}\nmain;foo 3", NULL);
    assert_int_equal(envelope_parse_ex(plain, strlen(plain), ENVELOPE_TEXT_IF_CHANGED, &e, &err),
                     0);
    assert_null(e.text);
    assert_int_equal(e.stack_lines, 1);
    assert_int_equal(e.samples, 3);
    envelope_free(&e);
    assert_int_equal(envelope_parse_ex(plain, strlen(plain), 0, &e, &err), 0);
    assert_non_null(e.text);
    envelope_free(&e);
    char *secret =
            body_with("# {\"metadata\":{\"hostname\":\"h1\",\"token\":\"S3\"}}\nmain;foo 3", NULL);
    assert_int_equal(envelope_parse_ex(secret, strlen(secret), ENVELOPE_TEXT_IF_CHANGED, &e, &err),
                     0);
    assert_non_null(e.text);
    assert_null(strstr(e.text, "S3"));
    envelope_free(&e);
    /* errors are those of envelope_parse */
    char *bad = body_with("# {\"metadata\":{}}\nmain;;foo 3", NULL);
    assert_int_equal(envelope_parse_ex(bad, strlen(bad), ENVELOPE_TEXT_IF_CHANGED, &e, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "empty frame name"));
    free(plain);
    free(secret);
    free(bad);
}

static void test_envelope_errors(void **state)
{
    expect_env_error("{\"start_time\": ", "malformed JSON");
    expect_env_error("[1,2]", "JSON object");
    expect_env_error("{} trailing", "malformed JSON at offset 3");
    expect_env_error("{\"profile\":\"# {}\",\"gpid\":\"\"}", "start_time");
    char *b = body_with("0;;a;b 1", NULL);
    expect_env_error(b, "header");
    free(b);
    b = body_with("# {nope\n0;;a;b 1", NULL);
    expect_env_error(b, "Failed to parse v2 metadata");
    free(b);
    b = body_with("# {\"x\":1}\n0;;a;b 1", NULL);
    expect_env_error(b, "metadata");
    free(b);
    b = body_with("# {\"metadata\":{}}\n0;;a;b 1\n0;;a;c -4", NULL);
    expect_env_error(b, "line 3");
    free(b);
    b = body_with("# {\"metadata\":{}}\n0;;a;b 1", "x1");
    expect_env_error(b, "gpid");
    free(b);
    /* out of range: refused, never clamped (issue 10 #18) */
    const char *big[] = {"99999999999999999999", "9223372036854775808", "-1"};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        b = body_with("# {\"metadata\":{}}\n0;;a;b 1", big[i]);
        expect_env_error(b, "gpid must be an integer");
        /* the same as a JSON number instead of a string */
        char *q = strstr(b, "\"gpid\":\"");
        assert_non_null(q);
        memmove(q + 7, q + 8, strlen(q + 8) + 1);
        char *close = strchr(q + 7, '"');
        memmove(close, close + 1, strlen(close + 1) + 1);
        expect_env_error(b, "gpid must be an integer");
        free(b);
    }
    expect_env_error("{\"start_time\":\"2026-01-01T00:00:00\",\"profile\":\"# "
                     "{\\\"metadata\\\":{}}\\n0;;a;b 1\"}",
                     "gpid must be a part of a json body");
    expect_env_error("{\"start_time\":\"2026-01-01T00:00:00\",\"end_time\":\"2025-01-01T00:00:00\","
                     "\"profile\":\"# {}\",\"gpid\":\"\"}",
                     "before start_time");
}

static bool match(const char *filter, const char *host, const char *cont, const char *comm)
{
    struct rql *q;
    struct gp_err err = {0};
    if (rql_parse(filter, strlen(filter), &q, &err) != 0)
        fail_msg("parse %s: %s", filter, err.msg);
    struct rql_attrs a = {.v = {host, cont, comm, NULL, NULL}};
    bool m = rql_match(q, &a);
    rql_free(q);
    return m;
}

static void test_rql(void **state)
{
    const char *f = "{\"filter\":{\"$and\":[{\"HostName\":{\"$eq\":\"h1\"}},"
                    "{\"ContainerName\":{\"$neq\":\"c\"}}]}}";
    assert_true(match(f, "h1", "", "x"));
    assert_false(match(f, "h1", "c", "x"));
    assert_false(match(f, "h2", "", "x"));
    const char *o = "{\"$or\":[{\"HostName\":\"h1\"},{\"ProcessName\":{\"$in\":[\"a\",\"b\"]}}]}";
    assert_true(match(o, "h2", "", "b"));
    assert_false(match(o, "h2", "", "c"));
    assert_true(match("{\"filter\":{\"HostName\":{\"$like\":\"web-%\"}}}", "web-12", "", ""));
    assert_false(match("{\"filter\":{\"HostName\":{\"$like\":\"web-%\"}}}", "db-1", "", ""));
    assert_true(match("", "any", "", ""));
    assert_true(match("{\"filter\":{}}", "any", "", ""));

    struct rql *q;
    struct gp_err err = {0};
    assert_int_equal(rql_parse(f, strlen(f), &q, &err), 0);
    struct rql_term t[4];
    assert_int_equal(rql_conjunction(q, t, 4), 2);
    assert_int_equal(t[0].field, RQL_HOSTNAME);
    assert_false(t[0].negate);
    assert_true(t[1].negate);
    const char *vals[4];
    assert_int_equal(rql_required_eq(q, RQL_HOSTNAME, vals, 4), 1);
    assert_string_equal(vals[0], "h1");
    rql_free(q);
    assert_int_equal(rql_parse(o, strlen(o), &q, &err), 0);
    assert_int_equal(rql_conjunction(q, t, 4), -1); /* $or is not a plain conjunction */
    assert_int_equal(rql_required_eq(q, RQL_HOSTNAME, vals, 4), 0);
    rql_free(q);

    const char *bad[][2] = {{"{\"filter\":", "not valid JSON"},
                            {"{\"Bogus\":{\"$eq\":\"x\"}}", "unknown field 'Bogus'"},
                            {"{\"HostName\":{\"$gt\":\"x\"}}", "unknown operator '$gt'"},
                            {"{\"$and\":{}}", "needs a list"},
                            {"{\"HostName\":{\"$in\":\"x\"}}", "needs a list"},
                            {"{\"HostName\":{\"$eq\":[1]}}", "must be a string"},
                            {"[1]", "expected an object"},
                            {"{\"filter\":{},\"x\":1}", "unexpected keys"}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q = NULL;
        assert_int_not_equal(rql_parse(bad[i][0], strlen(bad[i][0]), &q, &err), 0);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i][0], err.msg, bad[i][1]);
        assert_null(q);
    }
    /* nesting is bounded */
    char deep[2000] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "{\"$and\":[");
    strcat(deep, "{}");
    for (int i = 0; i < 40; i++)
        strcat(deep, "]}");
    assert_int_not_equal(rql_parse(deep, strlen(deep), &q, &err), 0);
}

static void test_time(void **state)
{
    int64_t t;
    assert_int_equal(tu_parse("1970-01-01T00:00:00", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(tu_parse("2026-03-04T05:06:07Z", &t), 0);
    assert_int_equal(t, 1772600767);
    assert_int_equal(tu_parse("2026-03-04T07:06:07.123456+02:00", &t), 0);
    assert_int_equal(t, 1772600767);
    assert_int_equal(tu_parse("2026-03-04 05:06:07", &t), 0);
    assert_int_equal(t, 1772600767);
    assert_int_equal(tu_parse("1772600767", &t), 0);
    assert_int_equal(t, 1772600767);
    assert_int_equal(tu_parse("2026-03-04", &t), 0);
    assert_int_not_equal(tu_parse("2026-13-04T00:00:00", &t), 0);
    assert_int_not_equal(tu_parse("yesterday", &t), 0);
    assert_int_not_equal(tu_parse("2026-03-04T05:06:07junk", &t), 0);
    assert_int_not_equal(tu_parse("", &t), 0);
    /* strtod reads these, but they are not times (a fuzzer found "NaN" reaching a cast) */
    assert_int_not_equal(tu_parse("NaN", &t), 0);
    assert_int_not_equal(tu_parse("inf", &t), 0);
    assert_int_not_equal(tu_parse("0x10", &t), 0);
    assert_int_not_equal(tu_parse(" 12", &t), 0);
    assert_int_not_equal(tu_parse("1e400", &t), 0);
    assert_int_equal(tu_parse("1.7726e9", &t), 0);
    assert_int_equal(t, 1772600000);
    char buf[32];
    tu_format(1772600767, buf, sizeof(buf));
    assert_string_equal(buf, "2026-03-04T05:06:07");
}

static void test_gzip(void **state)
{
    struct gp_err err = {0};
    const char *msg = "hello gzip world";
    char *gz, *out;
    size_t gzlen, outlen;
    assert_int_equal(gz_deflate(msg, strlen(msg), 6, &gz, &gzlen, &err), 0);
    assert_int_equal(gz_inflate(gz, gzlen, 1024, &out, &outlen, &err), 0);
    assert_int_equal(outlen, strlen(msg));
    assert_string_equal(out, msg);
    free(out);
    /* truncated */
    assert_int_equal(gz_inflate(gz, gzlen - 4, 1024, &out, &outlen, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "truncated"));
    /* corrupt */
    assert_int_equal(gz_inflate("not gzip", 8, 1024, &out, &outlen, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid gzip"));
    free(gz);
    /* a bomb: 8 MiB of zeros, cap 1 MiB */
    size_t big = 8u << 20;
    char *zeros = calloc(1, big);
    assert_int_equal(gz_deflate(zeros, big, 6, &gz, &gzlen, &err), 0);
    assert_true(gzlen < 64 * 1024);
    assert_int_equal(gz_inflate(gz, gzlen, 1u << 20, &out, &outlen, &err), -EFBIG);
    assert_non_null(strstr(err.msg, "gzip bomb"));
    /* exactly at the cap is fine */
    assert_int_equal(gz_inflate(gz, gzlen, big, &out, &outlen, &err), 0);
    assert_int_equal(outlen, big);
    free(out);
    free(gz);
    free(zeros);
    /* concatenated members */
    char *g1, *g2;
    size_t l1, l2;
    assert_int_equal(gz_deflate("ab", 2, 6, &g1, &l1, &err), 0);
    assert_int_equal(gz_deflate("cd", 2, 6, &g2, &l2, &err), 0);
    char *cat = malloc(l1 + l2);
    memcpy(cat, g1, l1);
    memcpy(cat + l1, g2, l2);
    assert_int_equal(gz_inflate(cat, l1 + l2, 100, &out, &outlen, &err), 0);
    assert_string_equal(out, "abcd");
    free(out);
    free(cat);
    free(g1);
    free(g2);
}

/* A gzip member of in built by hand: raw deflate, optional header CRC (FHCRC), trailer. */
static size_t gzip_member(const void *in, size_t n, int fhcrc, int bad_hcrc, unsigned char *out)
{
    unsigned char hdr[10] = {0x1f, 0x8b, 8, fhcrc ? 2 : 0, 0, 0, 0, 0, 0, 3};
    size_t k = 0;
    memcpy(out, hdr, 10);
    k = 10;
    if (fhcrc) {
        uLong c = crc32(0, hdr, 10) ^ (bad_hcrc ? 1 : 0);
        out[k++] = c & 0xff;
        out[k++] = (c >> 8) & 0xff;
    }
    z_stream zs = {0};
    assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY), Z_OK);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = out + k;
    zs.avail_out = (uInt)deflateBound(&zs, n);
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    k += zs.total_out;
    deflateEnd(&zs);
    uLong c = crc32(0, in, (uInt)n);
    for (int i = 0; i < 4; i++)
        out[k++] = (c >> (8 * i)) & 0xff;
    for (int i = 0; i < 4; i++)
        out[k++] = ((uLong)n >> (8 * i)) & 0xff;
    return k;
}

/* The libdeflate fast path answers exactly as zlib did: it declines what it cannot vouch for. */
static void test_gzip_fast_path(void **state)
{
    (void)state;
    struct gp_err err = {0};
    char *out = NULL;
    size_t outlen = 0;
    size_t big = 300000;
    char *text = malloc(big);
    unsigned char *buf = malloc(2 * big + 1024);
    assert_non_null(text);
    assert_non_null(buf);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + (i * 7919 + i / 13) % 26);
    /* a big member then a small one: the trailer's size hint is too small, the buffer grows */
    size_t l1 = gzip_member(text, big, 0, 0, buf);
    size_t l2 = gzip_member("xyz", 3, 0, 0, buf + l1);
    assert_int_equal(gz_inflate_fast(buf, l1 + l2, 1u << 20, &out, &outlen), 0);
    assert_int_equal(outlen, big + 3);
    assert_memory_equal(out, text, big);
    assert_memory_equal(out + big, "xyz", 4);
    free(out);
    /* a highly compressible member then a small one: the guess is too small, the member is
     * decoded again into a bigger buffer */
    size_t rep = 2u << 20;
    char *same = malloc(rep);
    unsigned char *gz2 = malloc(rep / 4);
    assert_non_null(same);
    assert_non_null(gz2);
    for (size_t i = 0; i < rep; i++)
        same[i] = "ab"[i & 1];
    l1 = gzip_member(same, rep, 0, 0, gz2);
    assert_true(l1 * 16 + 1024 < rep);
    l2 = gzip_member("xyz", 3, 0, 0, gz2 + l1);
    assert_int_equal(gz_inflate_fast(gz2, l1 + l2, 4u << 20, &out, &outlen), 0);
    assert_int_equal(outlen, rep + 3);
    assert_memory_equal(out, same, rep);
    assert_memory_equal(out + rep, "xyz", 4);
    free(out);
    free(gz2);
    free(same);
    /* over the cap: declined (zlib words it as a bomb) */
    assert_int_equal(gz_inflate_fast(buf, l1, 1000, &out, &outlen), -EFBIG);
    assert_int_equal(gz_inflate(buf, l1, 1000, &out, &outlen, &err), -EFBIG);
    assert_non_null(strstr(err.msg, "gzip bomb"));
    /* a header CRC: declined; zlib checks it */
    size_t l = gzip_member("hello", 5, 1, 0, buf);
    assert_int_equal(gz_inflate_fast(buf, l, 1024, &out, &outlen), -EAGAIN);
    assert_int_equal(gz_inflate(buf, l, 1024, &out, &outlen, &err), 0);
    assert_string_equal(out, "hello");
    free(out);
    l = gzip_member("hello", 5, 1, 1, buf);
    assert_int_equal(gz_inflate(buf, l, 1024, &out, &outlen, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "header crc mismatch"));
    /* a wrong data CRC: zlib's message */
    l = gzip_member(text, 1000, 0, 0, buf);
    buf[l - 8] ^= 1;
    assert_int_equal(gz_inflate_fast(buf, l, 1u << 20, &out, &outlen), -EAGAIN);
    assert_int_equal(gz_inflate(buf, l, 1u << 20, &out, &outlen, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "incorrect data check"));
    /* garbage after a member: zlib's message */
    l = gzip_member("ok", 2, 0, 0, buf);
    memcpy(buf + l, "garbage!", 8);
    assert_int_equal(gz_inflate_fast(buf, l + 8, 1024, &out, &outlen), -EAGAIN);
    assert_int_equal(gz_inflate(buf, l + 8, 1024, &out, &outlen, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "invalid gzip body at compressed byte"));
    /* zlib format (Content-Encoding: deflate): declined, zlib decodes it */
    uLongf zl = compressBound(5);
    assert_int_equal(compress(buf, &zl, (const Bytef *)"hello", 5), Z_OK);
    assert_int_equal(gz_inflate_fast(buf, zl, 1024, &out, &outlen), -EAGAIN);
    assert_int_equal(gz_inflate(buf, zl, 1024, &out, &outlen, &err), 0);
    assert_string_equal(out, "hello");
    free(out);
    free(buf);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_gzip_fast_path),
            cmocka_unit_test(test_envelope_text_if_changed),
            cmocka_unit_test(test_envelope_ok),
            cmocka_unit_test(test_envelope_errors),
            cmocka_unit_test(test_rql),
            cmocka_unit_test(test_time),
            cmocka_unit_test(test_gzip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
