/* test_clickhouse_sql.c — the ClickHouse engine's SQL text built from untrusted values: string
 * literals decode back to exactly the input under ClickHouse's escaping rules and never end
 * early (random bytes, quotes, backslashes, control bytes: a fuzz-style loop), and against a real
 * server (GPROF_TEST_SPEC_CLICKHOUSE, else that part is skipped) literals round-trip byte for
 * byte and LIKE patterns turned into RE2 agree with index_like on random patterns and strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/backends/clickhouse/ch_internal.h"
#include "coordinator/store/engines.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void rand_str(uint64_t *seed, char *buf, size_t max, const char *alphabet)
{
    size_t n = rnd(seed) % max;
    for (size_t i = 0; i < n; i++) {
        char c;
        if (alphabet) {
            c = alphabet[rnd(seed) % strlen(alphabet)];
        } else {
            do
                c = (char)(rnd(seed) & 0xff);
            while (!c);
        }
        buf[i] = c;
    }
    buf[n] = 0;
}

/* Decodes a literal as ClickHouse does; returns the bytes consumed (0 when it is malformed). */
static size_t decode_literal(const char *lit, char *out)
{
    if (lit[0] != '\'')
        return 0;
    size_t i = 1, o = 0;
    while (lit[i] && lit[i] != '\'') {
        if (lit[i] == '\\') {
            char e = lit[++i];
            if (e == 'x') {
                unsigned v;
                if (sscanf(lit + i + 1, "%2x", &v) != 1)
                    return 0;
                out[o++] = (char)v;
                i += 3;
                continue;
            }
            if (!e)
                return 0;
            out[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            i++;
            continue;
        }
        out[o++] = lit[i++];
    }
    out[o] = 0;
    return lit[i] == '\'' ? i + 1 : 0;
}

static void test_literals_decode_exactly(void **state)
{
    (void)state;
    uint64_t seed = 0x1234567;
    char s[256], dec[512];
    for (int it = 0; it < 20000; it++) {
        rand_str(&seed, s, sizeof(s) - 1, it % 2 ? NULL : "a'\\\n\t\x01\"`;x");
        struct strbuf sb = STRBUF_INIT;
        ch_sql_str(&sb, s);
        assert_false(sb.oom);
        size_t used = decode_literal(sb_str(&sb), dec);
        /* the literal ends exactly where the escaper ended it, and means the input */
        assert_int_equal(used, sb.len);
        assert_string_equal(dec, s);
        sb_free(&sb);
    }
    struct strbuf sb = STRBUF_INIT;
    ch_sql_ident(&sb, "t`x");
    assert_string_equal(sb_str(&sb), "`t\\`x`");
    sb_free(&sb);
    /* LIKE patterns: invalid UTF-8 is refused, never mistranslated */
    assert_int_equal(ch_like_regex(&sb, "a\xff%"), -EINVAL);
    sb_free(&sb);
}

static void test_against_server(void **state)
{
    (void)state;
    const char *spec = getenv("GPROF_TEST_SPEC_CLICKHOUSE");
    if (!spec || !*spec) {
        if (getenv("GPROF_REQUIRE_SERVERS") && !strcmp(getenv("GPROF_REQUIRE_SERVERS"), "1"))
            fail_msg("GPROF_TEST_SPEC_CLICKHOUSE is not set (tests/servers/all.sh)");
        printf("# SKIP: GPROF_TEST_SPEC_CLICKHOUSE not set\n");
        return;
    }
    char *s2 = strdup(spec), *u = strstr(s2, "{unique}");
    if (u)
        memcpy(u, "sqltest_", 8);
    const struct store_engine *e;
    struct store_engine_options opts;
    struct gp_err err = {0};
    if (store_engine_parse(s2, STORE_ROLE_INDEX, &e, &opts, &err) < 0)
        fail_msg("%s", err.msg);
    void *impl = NULL;
    if (chx_open(&opts, &impl, &err) < 0)
        fail_msg("%s", err.msg);
    struct chx *x = impl;
    uint64_t seed = 99;
    enum { N = 200 };
    static char strs[N][64], pats[N][16];
    for (int round = 0; round < 3; round++) {
        struct strbuf q = STRBUF_INIT, out = STRBUF_INIT;
        sb_puts(&q, "SELECT ");
        for (int i = 0; i < N; i++) {
            rand_str(&seed, strs[i], sizeof(strs[i]) - 1, round ? "ab%_\\'.*\xc3\xa9" : NULL);
            /* patterns over a small alphabet (with RE2 metacharacters) so that some match */
            rand_str(&seed, pats[i], sizeof(pats[i]) - 1, "ab%_.*\\'(");
            if (i % 2) { /* a string the pattern matches (unless a random byte breaks it) */
                size_t o = 0;
                for (const char *c = pats[i]; *c && o + 4 < sizeof(strs[i]); c++) {
                    if (*c == '%')
                        for (uint64_t k = rnd(&seed) % 3; k; k--)
                            strs[i][o++] = "ab\xc3\xa9."[rnd(&seed) % 5];
                    else if (*c == '_')
                        strs[i][o++] = "ab\xc3\xa9'"[rnd(&seed) % 5];
                    else
                        strs[i][o++] = *c;
                }
                strs[i][o] = 0;
            }
            if (i)
                sb_puts(&q, ", ");
            ch_sql_str(&q, strs[i]);
            sb_puts(&q, ", match(");
            ch_sql_str(&q, strs[i]);
            sb_puts(&q, ", ");
            struct strbuf re = STRBUF_INIT;
            int rc = ch_like_regex(&re, pats[i]);
            assert_int_equal(rc, 0);
            ch_sql_str(&q, sb_str(&re));
            sb_free(&re);
            sb_puts(&q, ")");
        }
        sb_puts(&q, " FORMAT RowBinary");
        if (ch_exec(x, sb_str(&q), NULL, 0, NULL, NULL, &out, &err) < 0)
            fail_msg("%s", err.msg);
        struct rb_reader r = {(const unsigned char *)out.buf,
                              (const unsigned char *)out.buf + out.len, 0};
        int matches = 0;
        for (int i = 0; i < N; i++) {
            size_t n;
            const char *v = rd_str(&r, &n);
            uint8_t m = rd_u8(&r);
            assert_false(r.bad);
            if (n != strlen(strs[i]) || memcmp(v, strs[i], n) != 0)
                fail_msg("literal %d did not round-trip", i);
            if (m != index_like(pats[i], strs[i]))
                fail_msg("LIKE '%s' on '%s': clickhouse %d, index_like %d", pats[i], strs[i], m,
                         index_like(pats[i], strs[i]));
            matches += m;
        }
        printf("# clickhouse: %d literals round-tripped, %d LIKE patterns agreed (%d matched)\n", N,
               N, matches);
        sb_free(&q);
        sb_free(&out);
    }
    chx_close(x);
    store_engine_options_free(&opts);
    free(s2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_literals_decode_exactly),
            cmocka_unit_test(test_against_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
