/* test_prom.c — issue 16: the Prometheus text exposition writer (common/prom.c) — families,
 * label escaping, special values, cumulative histograms — and the HTTP server's request counters
 * written through it (coordinator/http/stats.c), including counts from several threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

#include "common/prom.h"
#include "coordinator/http/server.h"
#include "coordinator/http/stats.h"

static void test_family_and_samples(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    prom_family(&sb, "x_total", "counter", "Things \\ counted\nover lines \"quoted\".");
    prom_u64(&sb, "x_total", NULL, 0, 18446744073709551615ull);
    struct prom_label l[2] = {{"a", "q\"b\\c\nd"}, {"b", ""}};
    prom_u64(&sb, "x_total", l, 2, 0);
    prom_f64(&sb, "g", l, 1, 0.25);
    prom_f64(&sb, "g", NULL, 0, INFINITY);
    prom_f64(&sb, "g", NULL, 0, -INFINITY);
    prom_f64(&sb, "g", NULL, 0, NAN);
    prom_f64(&sb, "g", NULL, 0, 12345678901.0);
    assert_false(sb.oom);
    assert_string_equal(sb_str(&sb), "# HELP x_total Things \\\\ counted\\nover lines \"quoted\".\n"
                                     "# TYPE x_total counter\n"
                                     "x_total 18446744073709551615\n"
                                     "x_total{a=\"q\\\"b\\\\c\\nd\",b=\"\"} 0\n"
                                     "g{a=\"q\\\"b\\\\c\\nd\"} 0.25\n"
                                     "g +Inf\n"
                                     "g -Inf\n"
                                     "g NaN\n"
                                     "g 12345678901\n");
    sb_free(&sb);
}

static void test_histogram(void **state)
{
    (void)state;
    struct strbuf sb = STRBUF_INIT;
    const double bounds[] = {0.005, 1, 2.5};
    const uint64_t counts[] = {2, 0, 3, 1};
    struct prom_label l = {"e", "/x"};
    prom_histogram(&sb, "h", &l, 1, bounds, 3, counts, 4.5);
    assert_string_equal(sb_str(&sb), "h_bucket{e=\"/x\",le=\"0.005\"} 2\n"
                                     "h_bucket{e=\"/x\",le=\"1\"} 2\n"
                                     "h_bucket{e=\"/x\",le=\"2.5\"} 5\n"
                                     "h_bucket{e=\"/x\",le=\"+Inf\"} 6\n"
                                     "h_sum{e=\"/x\"} 4.5\n"
                                     "h_count{e=\"/x\"} 6\n");
    sb_reset(&sb);
    prom_histogram(&sb, "h", NULL, 0, bounds, 1, counts, 0);
    assert_string_equal(sb_str(&sb), "h_bucket{le=\"0.005\"} 2\n"
                                     "h_bucket{le=\"+Inf\"} 2\n"
                                     "h_sum 0\n"
                                     "h_count 2\n");
    sb_free(&sb);
}

static const struct http_route routes[] = {
        {"GET", "/a", 0, 0, NULL, NULL, NULL},
        {"POST", "/b\"q", 0, 0, NULL, NULL, NULL},
};

static struct http_stats *shared;

static void *hammer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++)
        http_stats_record(shared, 0, 200, 0.001);
    return NULL;
}

static void test_stats(void **state)
{
    (void)state;
    struct http_stats *s = http_stats_new(2);
    assert_non_null(s);
    shared = s;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    http_stats_record(s, 1, 413, 0.3);
    http_stats_record(s, 2, 404, 20);   /* no route */
    http_stats_record(s, 99, 401, 0);   /* beyond the table: counted as no route */
    http_stats_record(s, 0, 99, 0.001); /* not a status: latency only */
    struct strbuf sb = STRBUF_INIT;
    http_stats_write(s, routes, &sb);
    const char *o = sb_str(&sb);
    assert_non_null(strstr(o, "\ngprof_http_requests_total{method=\"GET\",endpoint=\"/a\","
                              "code=\"200\"} 40000\n"));
    assert_non_null(strstr(o, "\ngprof_http_requests_total{method=\"POST\",endpoint=\"/b\\\"q\","
                              "code=\"413\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_requests_total{method=\"any\",endpoint=\"unmatched\","
                              "code=\"404\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_requests_total{method=\"any\",endpoint=\"unmatched\","
                              "code=\"401\"} 1\n"));
    assert_null(strstr(o, "code=\"99\""));
    assert_non_null(strstr(o, "\ngprof_http_errors_total{kind=\"too_large\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_errors_total{kind=\"not_found\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_errors_total{kind=\"auth\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_errors_total{kind=\"internal\"} 0\n"));
    /* 40001 observations at 1 ms: all in the first bucket; 20 s: only +Inf */
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_bucket{method=\"GET\","
                              "endpoint=\"/a\",le=\"0.005\"} 40001\n"));
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_count{method=\"GET\","
                              "endpoint=\"/a\"} 40001\n"));
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_bucket{method=\"POST\","
                              "endpoint=\"/b\\\"q\",le=\"0.25\"} 0\n"));
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_bucket{method=\"POST\","
                              "endpoint=\"/b\\\"q\",le=\"0.5\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_bucket{method=\"any\","
                              "endpoint=\"unmatched\",le=\"10\"} 1\n"));
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_bucket{method=\"any\","
                              "endpoint=\"unmatched\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(o, "\ngprof_http_request_duration_seconds_sum{method=\"any\","
                              "endpoint=\"unmatched\"} 20\n"));
    /* every line is a comment or ends in a value */
    for (const char *p = o; *p;) {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        if (*p != '#') {
            const char *sp = nl;
            while (sp > p && sp[-1] != ' ')
                sp--;
            assert_true(sp > p && sp < nl);
        }
        p = nl + 1;
    }
    sb_free(&sb);
    http_stats_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_family_and_samples),
            cmocka_unit_test(test_histogram),
            cmocka_unit_test(test_stats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
