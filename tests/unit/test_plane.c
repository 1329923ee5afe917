/* test_plane.c — the control plane against a real SQLite store under a heartbeat flood: field
 * bounds, eviction of the least recently seen host at the cap, expiry of hosts unseen for the
 * configured age (memory and rows), the active-host lookup done by index, bulk requests that
 * stop at shutdown, and completions limited to the token's service. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/api/control_json.h"
#include "coordinator/control/plane.h"
#include "coordinator/backends/sqlite/sql.h" /* counts rows to check the plan */
#include "test_store_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1800000000LL

struct fx {
    char *dir;
    struct meta_db *db;
    struct cp_plane *p;
};

static void fx_open(struct fx *f, size_t max_tracked)
{
    struct gp_err err = {0};
    f->dir = tu_tmpdir("plane");
    assert_non_null(f->dir);
    char spec[600];
    snprintf(spec, sizeof(spec), "sqlite:%s/meta.db", f->dir);
    if (meta_db_open(spec, &f->db, &err))
        fail_msg("meta_db_open: %s", err.msg);
    struct cp_plane_opts o = {.heartbeat_interval = 30,
                              .flush_ms = 1000,
                              .max_tracked_hosts = max_tracked,
                              .host_expiry_s = 7 * 86400,
                              .expire_every_s = 1000000, /* only when the test asks */
                              .codec = &cj_codec};
    if (cp_plane_open(f->db, &o, &f->p, &err))
        fail_msg("cp_plane_open: %s", err.msg);
}

static void fx_close(struct fx *f)
{
    cp_plane_close(f->p);
    meta_db_close(f->db);
    tu_rmrf(f->dir);
    free(f->dir);
}

/* Sends a heartbeat; returns the HTTP status, the answer in out (may be NULL). */
static int hb_json(struct fx *f, const char *json, int64_t now, char *out, size_t outsz)
{
    json_object *b = json_tokener_parse(json);
    assert_non_null(b);
    char *resp = NULL;
    size_t len = 0;
    int status = 0;
    struct gp_err err = {0};
    int rc = cj_heartbeat(f->p, b, now, &resp, &len, &status, &err);
    json_object_put(b);
    if (rc)
        fail_msg("heartbeat: %s", err.msg);
    if (out)
        snprintf(out, outsz, "%s", resp);
    free(resp);
    return status;
}

static int hb(struct fx *f, const char *host, const char *svc, int64_t now)
{
    char j[512];
    snprintf(j, sizeof(j),
             "{\"hostname\":\"%s\",\"service_name\":\"%s\",\"ip_address\":\"10.0.0.1\","
             "\"agent_version\":\"1.57.1\"}",
             host, svc);
    return hb_json(f, j, now, NULL, 0);
}

static int64_t count_rows(struct fx *f, const char *sql)
{
    int64_t n = -1;
    struct gp_err err = {0};
    if (meta_query_int(f->db, sql, NULL, 0, &n, &err))
        fail_msg("%s: %s", sql, err.msg);
    return n;
}

static void expect_hb_400(struct fx *f, const char *json, const char *needle)
{
    char out[1024];
    int st = hb_json(f, json, T0, out, sizeof(out));
    if (st != 400 || !strstr(out, needle))
        fail_msg("%s: got %d %s, expected 400 with '%s'", json, st, out, needle);
}

static void test_heartbeat_field_bounds(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, 0);
    char big[300], j[1024];
    memset(big, 'a', sizeof(big));
    big[256] = '\0';
    snprintf(j, sizeof(j), "{\"hostname\":\"%s\",\"service_name\":\"s\"}", big);
    expect_hb_400(&f, j, "field 'hostname' is longer than 255 bytes");
    big[64] = '\0';
    snprintf(j, sizeof(j), "{\"hostname\":\"h\",\"service_name\":\"s\",\"ip_address\":\"%s\"}",
             big);
    expect_hb_400(&f, j, "field 'ip_address' is longer than 63 bytes");
    memset(big, 'a', sizeof(big));
    big[129] = '\0';
    snprintf(j, sizeof(j), "{\"hostname\":\"h\",\"service_name\":\"s\",\"agent_version\":\"%s\"}",
             big);
    expect_hb_400(&f, j, "field 'agent_version' is longer than 128 bytes");
    big[80] = '\0';
    snprintf(j, sizeof(j), "{\"hostname\":\"h\",\"service_name\":\"s\",\"last_command_id\":\"%s\"}",
             big);
    expect_hb_400(&f, j, "field 'last_command_id' is longer than 79 bytes");
    snprintf(j, sizeof(j),
             "{\"hostname\":\"h\",\"service_name\":\"s\",\"executed_command_ids\":[\"ok\",\"%s\"]}",
             big);
    expect_hb_400(&f, j, "field 'executed_command_ids'[1] is longer than 79 bytes");
    expect_hb_400(&f, "{\"hostname\":\"h\",\"service_name\":\"s\",\"received_command_ids\":[3]}",
                  "field 'received_command_ids'[0] is not a string");
    /* \u0000 no longer truncates "h\u0000evil" to "h"; bidi controls and bad UTF-8 refused */
    expect_hb_400(&f, "{\"hostname\":\"h\\u0000evil\",\"service_name\":\"s\"}", "U+0000");
    expect_hb_400(&f, "{\"hostname\":\"h\",\"service_name\":\"s\\u202evil\"}", "U+202E");
    expect_hb_400(&f, "{\"hostname\":\"h\\u2067x\",\"service_name\":\"s\"}", "U+2067");
    expect_hb_400(&f, "{\"hostname\":\"h\xc3\",\"service_name\":\"s\"}", "UTF-8");
    struct cp_plane_stats st;
    cp_plane_stats(f.p, &st);
    assert_int_equal(st.tracked, 0); /* nothing refused was remembered */
    assert_int_equal(hb(&f, "h\xc3\xa9", "s", T0), 200);
    /* optional fields may be empty or null */
    assert_int_equal(hb_json(&f,
                             "{\"hostname\":\"h\",\"service_name\":\"s\",\"ip_address\":\"\","
                             "\"agent_version\":\"\",\"last_command_id\":null,"
                             "\"received_command_ids\":[],\"executed_command_ids\":null}",
                             T0, NULL, 0),
                     200);
    fx_close(&f);
}

static void test_eviction_at_cap(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, 100);
    char host[32];
    for (int i = 0; i < 250; i++) {
        snprintf(host, sizeof(host), "flood-%d", i);
        assert_int_equal(hb(&f, host, "svc", T0 + i), 200);
        if (i == 49) /* a real host keeps heartbeating: never the least recently seen */
            assert_int_equal(hb(&f, "real", "svc", T0 + i), 200);
        if (i > 49 && i % 50 == 0)
            assert_int_equal(hb(&f, "real", "svc", T0 + i), 200);
    }
    struct cp_plane_stats st;
    cp_plane_stats(f.p, &st);
    assert_int_equal(st.tracked, 100);
    assert_int_equal(st.evicted, 151);
    struct gp_err err = {0};
    assert_int_equal(cp_plane_flush(f.p, &err), 0);
    /* rows of the evicted hosts written before eviction go at the next expiry pass */
    assert_int_equal(cp_plane_expire(f.p, T0 + 250, &err), 0);
    assert_true(count_rows(&f, "SELECT COUNT(*) FROM host_heartbeats") <= 100);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM host_heartbeats WHERE hostname = "
                                    "'real'"),
                     1);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM host_heartbeats WHERE hostname = "
                                    "'flood-249'"),
                     1);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM host_heartbeats WHERE hostname = "
                                    "'flood-0'"),
                     0);
    fx_close(&f);
}

static void test_expiry(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, 0);
    char host[32];
    for (int i = 0; i < 10; i++) {
        snprintf(host, sizeof(host), "old-%d", i);
        assert_int_equal(hb(&f, host, "svc", T0), 200);
    }
    int64_t later = T0 + 7 * 86400 + 1;
    for (int i = 0; i < 5; i++) {
        snprintf(host, sizeof(host), "new-%d", i);
        assert_int_equal(hb(&f, host, "svc", later), 200);
    }
    struct gp_err err = {0};
    assert_int_equal(cp_plane_flush(f.p, &err), 0);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM host_heartbeats"), 15);
    assert_int_equal(cp_plane_expire(f.p, later, &err), 0);
    struct cp_plane_stats st;
    cp_plane_stats(f.p, &st);
    assert_int_equal(st.expired, 10);
    assert_int_equal(st.rows_expired, 10);
    assert_int_equal(st.tracked, 5);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM host_heartbeats"), 5);
    /* a forgotten host that comes back is simply new again */
    assert_int_equal(hb(&f, "old-3", "svc", later + 1), 200);
    cp_plane_stats(f.p, &st);
    assert_int_equal(st.tracked, 6);
    fx_close(&f);
}

static int request(struct fx *f, const char *json, bool dry, json_object **resp)
{
    json_object *b = json_tokener_parse(json);
    assert_non_null(b);
    int status = 0;
    struct gp_err err = {0};
    if (cj_profile_request(f->p, b, dry, T0, resp, &status, &err))
        fail_msg("profile_request: %s", err.msg);
    json_object_put(b);
    return status;
}

/* A flood of hosts in one service costs a request for another nothing: the active hosts are
 * found by index, not by reading every heartbeat row. */
static void test_request_uses_index(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, 0);
    char host[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(host, sizeof(host), "flood-%d", i);
        assert_int_equal(hb(&f, host, "flood", T0), 200);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(host, sizeof(host), "real-%d", i);
        assert_int_equal(hb(&f, host, "real", T0), 200);
    }
    json_object *resp = NULL;
    assert_int_equal(
            request(&f, "{\"service_name\":\"real\",\"request_type\":\"start\"}", true, &resp),
            200);
    json_object *hosts;
    assert_true(json_object_object_get_ex(resp, "hosts", &hosts));
    assert_int_equal(json_object_array_length(hosts), 3);
    json_object_put(resp);
    struct cp_plane_stats st;
    cp_plane_stats(f.p, &st);
    assert_int_equal(st.hosts_scan_steps, 0); /* was one step per heartbeat row (3,003) */
    fx_close(&f);
}

static void test_bulk_stops_at_shutdown(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, 0);
    assert_int_equal(hb(&f, "h1", "svc", T0), 200);
    cp_plane_shutdown(f.p);
    const char *item = "{\"service_name\":\"svc\",\"request_type\":\"start\"}";
    char j[1024];
    snprintf(j, sizeof(j), "{\"requests\":[%s,%s,%s,%s,%s]}", item, item, item, item, item);
    json_object *b = json_tokener_parse(j), *resp = NULL, *results;
    int status = 0;
    struct gp_err err = {0};
    assert_int_equal(cj_bulk_request(f.p, b, T0, &resp, &status, &err), 0);
    json_object_put(b);
    assert_int_equal(status, 200);
    assert_true(json_object_object_get_ex(resp, "results", &results));
    assert_int_equal(json_object_array_length(results), 5);
    json_object *st0 = NULL;
    assert_true(json_object_object_get_ex(json_object_array_get_idx(results, 4), "status", &st0));
    assert_int_equal(json_object_get_int(st0), 503);
    json_object_put(resp);
    struct cp_plane_stats st;
    cp_plane_stats(f.p, &st);
    assert_int_equal(st.bulk_interrupted, 5);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM profiling_requests"), 0);
    fx_close(&f);
}

static int complete(struct fx *f, const char *cid, const char *host, const char *token_svc,
                    char *out, size_t outsz)
{
    char j[512];
    snprintf(j, sizeof(j),
             "{\"command_id\":\"%s\",\"hostname\":\"%s\",\"status\":\"failed\","
             "\"error_message\":\"forged\"}",
             cid, host);
    json_object *b = json_tokener_parse(j), *resp = NULL;
    int status = 0;
    struct gp_err err = {0};
    if (cj_completion(f->p, b, token_svc, T0 + 5, &resp, &status, &err))
        fail_msg("completion: %s", err.msg);
    json_object_put(b);
    snprintf(out, outsz, "%s", json_object_to_json_string(resp));
    json_object_put(resp);
    return status;
}

/* A token of service A cannot complete (fail) a command of service B. */
static void test_completion_needs_the_service(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, 0);
    assert_int_equal(hb(&f, "h1", "other", T0), 200);
    json_object *resp = NULL, *ids;
    assert_int_equal(request(&f,
                             "{\"service_name\":\"other\",\"request_type\":\"start\","
                             "\"target_hosts\":{\"h1\":null}}",
                             false, &resp),
                     200);
    assert_true(json_object_object_get_ex(resp, "command_ids", &ids));
    char cid[64];
    snprintf(cid, sizeof(cid), "%s", json_object_get_string(json_object_array_get_idx(ids, 0)));
    json_object_put(resp);
    char out[1024];
    assert_int_equal(complete(&f, cid, "h1", "svc", out, sizeof(out)), 404);
    assert_non_null(strstr(out, "not found for host h1 of service svc"));
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM profiling_commands WHERE status = "
                                    "'failed'"),
                     0);
    assert_int_equal(complete(&f, cid, "h1", "other", out, sizeof(out)), 200);
    assert_int_equal(count_rows(&f, "SELECT COUNT(*) FROM profiling_commands WHERE status = "
                                    "'failed'"),
                     1);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_heartbeat_field_bounds),
            cmocka_unit_test(test_eviction_at_cap),
            cmocka_unit_test(test_expiry),
            cmocka_unit_test(test_request_uses_index),
            cmocka_unit_test(test_bulk_stops_at_shutdown),
            cmocka_unit_test(test_completion_needs_the_service),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
