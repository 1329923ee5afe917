/* test_perfspect_fixture.c — replays recorded counter readings (tests/perfspect/ fixtures) through
 * the PerfSpect engine and checks derived metrics, TMA arithmetic and multiplexing scaling
 * against the hand-computed values in tests/perfspect/README.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "perfspect/perfspect.h"

static struct ps_report *load(const char *name)
{
    const char *src = getenv("GPROF_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/perfspect/%s", src ? src : ".", name);
    struct ps_report *r = NULL;
    struct gp_err err = {0};
    int rc = ps_replay_file(path, &r, &err);
    if (rc)
        fail_msg("replay %s: %s", path, err.msg);
    return r;
}

#define NEAR(a, b)                                                                                 \
    assert_true(fabs((double)(a) - (double)(b)) <= 1e-6 * fmax(1.0, fabs((double)(b))))

static double iv(const struct ps_report *r, size_t i, const char *key)
{
    double v = NAN;
    if (ps_report_interval_metric(r, i, key, &v))
        fail_msg("interval %zu: %s absent", i, key);
    return v;
}

static struct ps_stat stat_of(const struct ps_report *r, const char *key)
{
    struct ps_stat st;
    if (ps_report_metric(r, key, &st))
        fail_msg("%s absent", key);
    return st;
}

static void test_icl_intervals(void **state)
{
    struct ps_report *r = load("icl_system.jsonl");
    assert_int_equal(ps_report_ninterval(r), 2);
    assert_true(ps_report_hw_available(r));
    assert_null(ps_report_hw_line(r));
    /* interval 1: cpu1 multiplexed at 50% doubles its counts */
    NEAR(iv(r, 0, "ipc"), 1.25);
    NEAR(iv(r, 0, "cpi"), 0.8);
    NEAR(iv(r, 0, "branch_mispredict_pct"), 1.0);
    NEAR(iv(r, 0, "cache_miss_pct"), 25.0);
    NEAR(iv(r, 0, "l1d_mpki"), 10.0);
    NEAR(iv(r, 0, "llc_mpki"), 1.0);
    NEAR(iv(r, 0, "dtlb_mpki"), 0.2);
    NEAR(iv(r, 0, "freq_ghz"), 2.0);
    NEAR(iv(r, 0, "cpus_utilized"), 2.0);
    NEAR(iv(r, 0, "cs_per_s"), 1000.0);
    NEAR(iv(r, 0, "migrations_per_s"), 4.0);
    NEAR(iv(r, 0, "minor_faults_per_s"), 2000.0);
    NEAR(iv(r, 0, "major_faults_per_s"), 2.0);
    NEAR(iv(r, 0, "cpu_util_pct"), 75.0);
    NEAR(iv(r, 0, "cpu_user_pct"), 50.0);
    NEAR(iv(r, 0, "cpu_system_pct"), 25.0);
    NEAR(iv(r, 0, "cpu_iowait_pct"), 5.0);
    NEAR(iv(r, 0, "mem_used_mb"), 2000.0);
    /* TMA level 1, PERF_METRICS: topdown-X / sum of the four */
    NEAR(iv(r, 0, "tma_retiring_pct"), 40.0);
    NEAR(iv(r, 0, "tma_bad_speculation_pct"), 10.0);
    NEAR(iv(r, 0, "tma_frontend_bound_pct"), 20.0);
    NEAR(iv(r, 0, "tma_backend_bound_pct"), 30.0);
    /* interval 2 */
    NEAR(iv(r, 1, "ipc"), 0.25);
    NEAR(iv(r, 1, "cpi"), 4.0);
    NEAR(iv(r, 1, "branch_mispredict_pct"), 3.0);
    NEAR(iv(r, 1, "cache_miss_pct"), 50.0);
    NEAR(iv(r, 1, "l1d_mpki"), 20.0);
    NEAR(iv(r, 1, "tma_retiring_pct"), 20.0);
    NEAR(iv(r, 1, "tma_backend_bound_pct"), 40.0);
    NEAR(iv(r, 1, "cpu_util_pct"), 20.0);
    /* stalled cycles were refused: absent, not 0 */
    double v;
    assert_int_equal(ps_report_interval_metric(r, 0, "frontend_stall_pct", &v), -ENOENT);
    struct ps_stat st;
    assert_int_equal(ps_report_metric(r, "backend_stall_pct", &st), -ENOENT);
    assert_int_equal(ps_report_nrefused(r), 2);
    ps_report_free(r);
}

static void test_icl_summary(void **state)
{
    struct ps_report *r = load("icl_system.jsonl");
    struct ps_stat st = stat_of(r, "ipc");
    assert_true(st.has_value);
    NEAR(st.value, 0.65); /* 6.5e9 / 1e10: ratio of totals */
    NEAR(st.mean, 0.75);  /* (1.25 + 0.25) / 2 */
    NEAR(st.p95, 1.25);   /* nearest rank of 2 samples */
    assert_int_equal(st.n, 2);
    NEAR(stat_of(r, "cpi").value, 1e10 / 6.5e9);
    NEAR(stat_of(r, "cpi").mean, 2.4);
    NEAR(stat_of(r, "branch_mispredict_pct").value, 2.0);
    NEAR(stat_of(r, "cache_miss_pct").value, 37.5);
    NEAR(stat_of(r, "l1d_mpki").value, 8e10 / 6.5e9);
    NEAR(stat_of(r, "llc_mpki").value, 8e9 / 6.5e9);
    NEAR(stat_of(r, "dtlb_mpki").value, 0.2);
    NEAR(stat_of(r, "tma_frontend_bound_pct").value, 20.0);
    NEAR(stat_of(r, "tma_bad_speculation_pct").value, 15.0);
    NEAR(stat_of(r, "tma_backend_bound_pct").value, 35.0);
    NEAR(stat_of(r, "tma_retiring_pct").value, 30.0);
    NEAR(stat_of(r, "cpu_util_pct").value, 47.5);
    NEAR(stat_of(r, "cpu_user_pct").value, 30.0);
    NEAR(stat_of(r, "cpu_system_pct").value, 17.5);
    NEAR(stat_of(r, "cs_per_s").value, 600.0);
    NEAR(stat_of(r, "freq_ghz").value, 2.5);
    NEAR(stat_of(r, "mem_used_mb").value, 2500.0); /* gauge: mean */
    /* multiplexing is scaled and reported per event */
    double count, pct;
    assert_int_equal(ps_report_event_total(r, "cycles", &count, &pct), 0);
    NEAR(count, 1e10);
    NEAR(pct, 87.5);
    assert_int_equal(ps_report_event_total(r, "instructions", &count, &pct), 0);
    NEAR(count, 6.5e9);
    assert_int_equal(ps_report_event_total(r, "context-switches", &count, NULL), 0);
    NEAR(count, 1200);
    assert_int_equal(ps_report_event_total(r, "stalled-cycles-frontend", &count, NULL), -ENOENT);
    ps_report_free(r);
}

static void test_skl_legacy_topdown(void **state)
{
    struct ps_report *r = load("skl_pids.jsonl");
    assert_int_equal(ps_report_ninterval(r), 1);
    NEAR(iv(r, 0, "tma_frontend_bound_pct"), 20.0);
    NEAR(iv(r, 0, "tma_bad_speculation_pct"), 15.0);
    NEAR(iv(r, 0, "tma_retiring_pct"), 50.0);
    NEAR(iv(r, 0, "tma_backend_bound_pct"), 15.0);
    /* thread 0 at 25% on the PMU (x4), thread 1 never ran (a real 0), thread 2 full */
    double count, pct;
    assert_int_equal(ps_report_event_total(r, "cycles", &count, &pct), 0);
    NEAR(count, 4.5e9);
    NEAR(pct, 62.5);
    NEAR(iv(r, 0, "ipc"), 1.0);
    assert_int_equal(ps_report_event_total(r, "topdown-total-slots", &count, NULL), 0);
    NEAR(count, 2e9); /* sysfs scale 2 */
    NEAR(iv(r, 0, "cs_per_s"), 60.0);
    NEAR(iv(r, 0, "cpus_utilized"), 1.0);
    NEAR(iv(r, 0, "rss_mb"), 20.0);
    double v;
    assert_int_equal(ps_report_interval_metric(r, 0, "cpu_util_pct", &v), -ENOENT);
    ps_report_free(r);
}

/* An event enabled but never scheduled on the PMU is absent, and so is everything built on it. */
static void test_not_counted_is_absent(void **state)
{
    const char *fx = "{\"perfspect_fixture\":1,\"topdown\":\"none\"}\n"
                     "{\"t_ns\":0,\"counters\":{\"cycles\":[[0,0,0]],\"instructions\":[[0,0,0]]}}\n"
                     "{\"t_ns\":1000000000,\"counters\":{\"cycles\":[[100,1000,1000]],"
                     "\"instructions\":[[200,1000,1000]]}}\n"
                     "{\"t_ns\":2000000000,\"counters\":{\"cycles\":[[100,2000,1000]],"
                     "\"instructions\":[[300,2000,2000]]}}\n";
    struct ps_report *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(ps_replay_buffer(fx, strlen(fx), &r, &err), 0);
    double v;
    NEAR(iv(r, 0, "ipc"), 2.0);
    assert_int_equal(ps_report_interval_metric(r, 1, "ipc", &v), -ENOENT);
    struct ps_stat st;
    assert_int_equal(ps_report_metric(r, "ipc", &st), 0);
    assert_false(st.has_value); /* no whole-session cycles: no session IPC */
    assert_int_equal(st.n, 1);
    assert_int_equal(ps_report_event_total(r, "cycles", &v, NULL), -ENOENT);
    json_object *j = NULL;
    assert_int_equal(ps_report_json(r, &j, &err), 0);
    json_object *sum, *ipc, *val, *ivs, *m1, *mm, *x;
    assert_true(json_object_object_get_ex(j, "summary", &sum));
    assert_true(json_object_object_get_ex(sum, "ipc", &ipc));
    assert_true(json_object_object_get_ex(ipc, "value", &val));
    assert_null(val); /* null, not 0 */
    assert_true(json_object_object_get_ex(j, "intervals", &ivs));
    m1 = json_object_array_get_idx(ivs, 1);
    assert_true(json_object_object_get_ex(m1, "metrics", &mm));
    assert_true(json_object_object_get_ex(mm, "ipc", &x));
    assert_null(x);
    json_object_put(j);
    ps_report_free(r);
}

/* mean and nearest-rank p95 over 20 intervals of 10, 20, ... 200 context switches. */
static void test_mean_p95(void **state)
{
    char buf[8192];
    size_t o = (size_t)snprintf(buf, sizeof(buf), "{\"perfspect_fixture\":1}\n");
    uint64_t cum = 0;
    for (int i = 0; i <= 20; i++) {
        cum += (uint64_t)(i * 10);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o,
                              "{\"t_ns\":%d000000000,\"counters\":{\"context-switches\":"
                              "[[%llu,%d000000000,%d000000000]]}}\n",
                              i, (unsigned long long)cum, i, i);
    }
    struct ps_report *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(ps_replay_buffer(buf, o, &r, &err), 0);
    struct ps_stat st = stat_of(r, "cs_per_s");
    assert_int_equal(st.n, 20);
    NEAR(st.mean, 105.0);
    NEAR(st.p95, 190.0); /* ceil(0.95 * 20) = 19th of 20 */
    NEAR(st.min, 10.0);
    NEAR(st.max, 200.0);
    NEAR(st.value, 105.0); /* 2100 switches in 20 s */
    ps_report_free(r);
}

static int gunzip(const char *in, size_t n, char **out, size_t *outlen)
{
    size_t cap = n * 20 + 1024;
    char *buf = malloc(cap);
    if (!buf)
        return -1;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        free(buf);
        return -1;
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)n;
    zs.next_out = (Bytef *)buf;
    zs.avail_out = (uInt)cap - 1;
    int rc = inflate(&zs, Z_FINISH);
    *outlen = zs.total_out;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    buf[*outlen] = '\0';
    *out = buf;
    return 0;
}

static size_t unbase64(const char *s, unsigned char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (; *s && *s != '='; s++) {
        const char *p = strchr(tbl, *s);
        assert_non_null(p);
        acc = (acc << 6) | (uint32_t)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    return o;
}

/* The header of a VM report carries only measured values, and the HTML says why. */
static void test_header_vm_only_real_values(void **state)
{
    struct ps_report *r = load("vm_nopmu.jsonl");
    assert_false(ps_report_hw_available(r));
    const char *line = ps_report_hw_line(r);
    assert_non_null(line);
    const char *want = "hardware counters not available on this host: ";
    assert_true(strncmp(line, want, strlen(want)) == 0);
    assert_int_equal(ps_report_nrefused(r), 12);
    json_object *h = json_object_new_object();
    struct gp_err err = {0};
    assert_int_equal(ps_header_fields(r, h, &err), 0);
    json_object *hw, *blob;
    assert_true(json_object_object_get_ex(h, "hwmetrics", &hw));
    const char *hw_names[] = {"CPI",
                              "IPC",
                              "L1D MPKI",
                              "TMA_Retiring(%)",
                              "branch misprediction ratio %",
                              "CPU operating frequency (in GHz)"};
    for (size_t i = 0; i < sizeof(hw_names) / sizeof(hw_names[0]); i++)
        assert_false(json_object_object_get_ex(hw, hw_names[i], NULL));
    json_object *cpu;
    assert_true(json_object_object_get_ex(hw, "CPU utilization %", &cpu));
    assert_string_equal(json_object_get_string(cpu), "40");
    json_object_object_foreach(hw, k, v)
    {
        char *end;
        double d = strtod(json_object_get_string(v), &end);
        assert_true(*end == '\0' && isfinite(d));
        (void)k;
    }
    assert_true(json_object_object_get_ex(h, "htmlblob", &blob));
    const char *b64 = json_object_get_string(blob);
    unsigned char *gz = malloc(strlen(b64));
    assert_non_null(gz);
    size_t gzlen = unbase64(b64, gz);
    char *html = NULL;
    size_t hlen = 0;
    assert_int_equal(gunzip((const char *)gz, gzlen, &html, &hlen), 0);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, "hardware counters not available on this host"));
    assert_non_null(strstr(html, "<svg"));
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    free(html);
    free(gz);
    json_object_put(h);
    ps_report_free(r);
}

static void test_header_icl_has_hw(void **state)
{
    struct ps_report *r = load("icl_system.jsonl");
    json_object *h = json_object_new_object(), *hw, *v;
    struct gp_err err = {0};
    assert_int_equal(ps_header_fields(r, h, &err), 0);
    assert_true(json_object_object_get_ex(h, "hwmetrics", &hw));
    assert_true(json_object_object_get_ex(hw, "IPC", &v));
    assert_string_equal(json_object_get_string(v), "0.65");
    assert_true(json_object_object_get_ex(hw, "TMA_Retiring(%)", &v));
    assert_string_equal(json_object_get_string(v), "30");
    assert_false(json_object_object_get_ex(hw, "frontend stalled cycles %", NULL));
    json_object_put(h);
    ps_report_free(r);
}

static void test_table_and_json(void **state)
{
    struct ps_report *r = load("icl_system.jsonl");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(ps_report_print_table(r, f), 0);
    fclose(f);
    assert_non_null(strstr(buf, "TMA_Retiring(%)"));
    assert_non_null(strstr(buf, "(87.50% of the time on the PMU; scaled)"));
    assert_non_null(strstr(buf, "<not supported>      stalled-cycles-frontend"));
    assert_non_null(strstr(buf, "not measured (absent, not zero): "));
    assert_null(strstr(buf, "hardware counters not available"));
    free(buf);
    json_object *j = NULL, *hw, *avail, *ev, *cyc, *pct;
    struct gp_err err = {0};
    assert_int_equal(ps_report_json(r, &j, &err), 0);
    assert_true(json_object_object_get_ex(j, "hardware", &hw));
    assert_true(json_object_object_get_ex(hw, "available", &avail));
    assert_true(json_object_get_boolean(avail));
    assert_true(json_object_object_get_ex(j, "events", &ev));
    assert_true(json_object_object_get_ex(ev, "cycles", &cyc));
    assert_true(json_object_object_get_ex(cyc, "running_pct", &pct));
    NEAR(json_object_get_double(pct), 87.5);
    json_object_put(j);
    ps_report_free(r);
}

static void expect_error(const char *fx, const char *needle)
{
    struct ps_report *r = NULL;
    struct gp_err err = {0};
    assert_int_equal(ps_replay_buffer(fx, strlen(fx), &r, &err), -EINVAL);
    assert_null(r);
    if (!strstr(err.msg, needle))
        fail_msg("error \"%s\" lacks \"%s\"", err.msg, needle);
}

static void test_bad_fixtures(void **state)
{
    expect_error("", "no header");
    expect_error("{\"t_ns\":1}\n", "not a perfspect fixture header");
    expect_error("{\"perfspect_fixture\":1}\n{\"t_ns\":1,\"counters\":{\"bogus\":[[1,1,1]]}}\n",
                 "unknown event");
    expect_error("{\"perfspect_fixture\":1}\n{\"t_ns\":1,\"counters\":{\"cycles\":[[1,1,2]]}}\n",
                 "running <= enabled");
    expect_error("{\"perfspect_fixture\":1}\n{\"t_ns\":5}\n{\"t_ns\":4}\n", "backwards");
    expect_error("{\"perfspect_fixture\":1}\n{\"t_ns\":5,\"procstat\":[1,2]}\n", "procstat");
    expect_error("{\"perfspect_fixture\":1}\nnot json\n", "line 2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_icl_intervals),
            cmocka_unit_test(test_icl_summary),
            cmocka_unit_test(test_skl_legacy_topdown),
            cmocka_unit_test(test_not_counted_is_absent),
            cmocka_unit_test(test_mean_p95),
            cmocka_unit_test(test_header_vm_only_real_values),
            cmocka_unit_test(test_header_icl_has_hw),
            cmocka_unit_test(test_table_and_json),
            cmocka_unit_test(test_bad_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
