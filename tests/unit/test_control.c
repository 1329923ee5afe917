/* test_control.c — the pure control-plane rules: request validation, merging, both stop levels,
 * combined_config JSON, status machines, liveness and fleet limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "coordinator/api/control_json.h"
#include "coordinator/control/command.h"
#include "common/cmd_limits.h"

#include <stdio.h>

static int parse(const char *json, struct cp_request *r, struct gp_err *err)
{
    json_object *o = json_tokener_parse(json);
    int rc = cj_request_parse(o, r, err);
    json_object_put(o);
    return rc;
}

static void expect_reject(const char *json, const char *needle)
{
    struct cp_request r;
    struct gp_err err = {0};
    assert_int_not_equal(parse(json, &r, &err), 0);
    if (!strstr(err.msg, needle))
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
}

static void test_parse_defaults(void **state)
{
    struct cp_request r;
    struct gp_err err = {0};
    assert_int_equal(parse("{\"service_name\":\"svc\",\"request_type\":\"start\","
                           "\"target_hosts\":{\"h1\":[30,10,30],\"h2\":null}}",
                           &r, &err),
                     0);
    assert_string_equal(r.service_name, "svc");
    assert_int_equal(r.type, CP_START);
    assert_int_equal(r.duration, 60);
    assert_int_equal(r.frequency, 11);
    assert_string_equal(r.mode, "cpu");
    assert_false(r.continuous);
    assert_int_equal(r.ntargets, 2);
    assert_string_equal(r.targets[0].hostname, "h1");
    assert_int_equal(r.targets[0].npids, 2); /* sorted, deduplicated */
    assert_int_equal(r.targets[0].pids[0], 10);
    assert_int_equal(r.targets[0].pids[1], 30);
    assert_int_equal(r.targets[1].npids, 0);
    cp_request_free(&r);
}

static void test_parse_rejects(void **state)
{
    expect_reject("[]", "JSON object");
    expect_reject("{\"request_type\":\"start\"}", "service_name");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"go\"}", "request_type");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"duration\":0}", "duration");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"frequency\":\"x\"}",
                  "frequency");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"profiling_mode\":\"gpu\"}",
                  "profiling_mode");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"stop\"}", "target hosts");
    expect_reject(
            "{\"service_name\":\"s\",\"request_type\":\"stop\",\"target_hosts\":{\"h\":null}}",
            "process-level stop needs PIDs");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"stop\",\"stop_level\":\"host\","
                  "\"target_hosts\":{\"h\":[1]}}",
                  "must not name PIDs");
    expect_reject(
            "{\"service_name\":\"s\",\"request_type\":\"start\",\"target_hosts\":{\"h\":[-1]}}",
            "not a valid PID");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"target_hosts\":[\"h\"]}",
                  "target_hosts");
    expect_reject(
            "{\"service_name\":\"s\",\"request_type\":\"start\",\"target_hosts\":{\"a/b\":null}}",
            "not a valid hostname");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"additional_args\":3}",
                  "additional_args");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"stop_level\":\"rack\"}",
                  "stop_level");
}

/* The coordinator refuses exactly what the agent would (common/cmd_limits.h), at the boundary. */
static void test_shared_limits(void **state)
{
    char j[256];
    struct cp_request r;
    struct gp_err err = {0};
    snprintf(j, sizeof(j),
             "{\"service_name\":\"s\",\"request_type\":\"start\",\"duration\":%d,"
             "\"frequency\":%d}",
             GP_CMD_MAX_DURATION, GP_CMD_MAX_FREQ);
    assert_int_equal(parse(j, &r, &err), 0);
    assert_int_equal(r.duration, 86400);
    assert_int_equal(r.frequency, 1000);
    cp_request_free(&r);
    snprintf(j, sizeof(j), "{\"service_name\":\"s\",\"request_type\":\"start\",\"duration\":%d}",
             GP_CMD_MAX_DURATION + 1);
    expect_reject(j, "field 'duration' must be 1..86400 seconds");
    snprintf(j, sizeof(j), "{\"service_name\":\"s\",\"request_type\":\"start\",\"frequency\":%d}",
             GP_CMD_MAX_FREQ + 1);
    expect_reject(j, "field 'frequency' must be 1..1000 Hz");
}

/* Names go through the shared identifier rule: no NUL truncation, no bidi tricks. */
static void test_identifiers(void **state)
{
    expect_reject("{\"service_name\":\"s\\u0000evil\",\"request_type\":\"start\"}", "U+0000");
    expect_reject("{\"service_name\":\"\\u202eevil\",\"request_type\":\"start\"}", "bidirectional");
    expect_reject("{\"service_name\":\"s\xff\",\"request_type\":\"start\"}", "UTF-8");
    expect_reject("{\"service_name\":\"s\",\"request_type\":\"start\",\"target_hosts\":{"
                  "\"h\\u2066x\":null}}",
                  "bidirectional");
}

static void mk(struct cp_config *c, bool cont, int dur, int freq, const char *mode,
               const int32_t *pids, size_t n, const char *extra)
{
    cp_config_init(c);
    c->continuous = cont;
    c->duration = dur;
    c->frequency = freq;
    strcpy(c->mode, mode);
    if (n) {
        c->pids = malloc(n * sizeof(int32_t));
        memcpy(c->pids, pids, n * sizeof(int32_t));
        c->npids = n;
    }
    c->extra = NULL;
    if (extra) {
        json_object *j = json_tokener_parse(extra);
        assert_int_equal(cj_args_from_json(j, &c->extra), 0);
        json_object_put(j);
    }
}

static void test_merge(void **state)
{
    struct cp_config a, b, m;
    struct gp_err err;
    int32_t pa[] = {5, 9}, pb[] = {1, 9, 12};
    mk(&a, false, 60, 11, "cpu", pa, 2,
       "{\"enable_perfspect\":true,\"profiler_configs\":{\"perf\":\"enabled_restricted\",\"pyspy\":"
       "\"enabled\"}}");
    mk(&b, true, 30, 99, "allocation", pb, 3,
       "{\"max_processes\":5,\"profiler_configs\":{\"perf\":\"disabled\"}}");
    assert_int_equal(cp_merge(&a, &b, &m, &err), 0);
    assert_int_equal(m.type, CP_START);
    assert_true(m.continuous);                 /* OR */
    assert_int_equal(m.duration, 60);          /* max */
    assert_int_equal(m.frequency, 99);         /* max */
    assert_string_equal(m.mode, "allocation"); /* latest */
    assert_int_equal(m.npids, 4);              /* union 1 5 9 12 */
    int32_t want[] = {1, 5, 9, 12};
    assert_memory_equal(m.pids, want, sizeof(want));
    json_object *v, *pc, *mx = cj_args_to_json(m.extra);
    assert_true(json_object_object_get_ex(mx, "enable_perfspect", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(mx, "max_processes", &v));
    assert_int_equal(json_object_get_int(v), 5);
    assert_true(json_object_object_get_ex(mx, "profiler_configs", &pc));
    assert_true(json_object_object_get_ex(pc, "perf", &v));
    assert_string_equal(json_object_get_string(v), "disabled"); /* incoming wins */
    assert_true(json_object_object_get_ex(pc, "pyspy", &v));    /* kept */
    /* keys keep their first place: a's, then b's new ones */
    assert_string_equal(json_object_to_json_string_ext(mx, JSON_C_TO_STRING_PLAIN),
                        "{\"enable_perfspect\":true,\"profiler_configs\":{\"perf\":\"disabled\","
                        "\"pyspy\":\"enabled\"},\"max_processes\":5}");
    json_object_put(mx);
    cp_config_free(&m);
    /* merging is not symmetric only in the "latest" fields */
    assert_int_equal(cp_merge(&b, &a, &m, &err), 0);
    assert_string_equal(m.mode, "cpu");
    assert_true(m.continuous);
    cp_config_free(&m);
    cp_config_free(&a);
    cp_config_free(&b);
}

static void test_merge_all_processes_absorbs_pids(void **state)
{
    struct cp_config a, b, m;
    struct gp_err err;
    int32_t pb[] = {7};
    mk(&a, false, 60, 11, "cpu", NULL, 0, NULL);
    mk(&b, false, 60, 11, "cpu", pb, 1, NULL);
    assert_int_equal(cp_merge(&a, &b, &m, &err), 0);
    assert_int_equal(m.npids, 0); /* whole host stays whole host */
    assert_null(m.extra);
    cp_config_free(&m);
    assert_int_equal(cp_merge(&b, &a, &m, &err), 0);
    assert_int_equal(m.npids, 0);
    cp_config_free(&m);
    /* stop commands never merge */
    struct cp_config s;
    cp_host_stop(&s);
    assert_int_not_equal(cp_merge(&a, &s, &m, &err), 0);
    cp_config_free(&a);
    cp_config_free(&b);
}

static void test_process_stop(void **state)
{
    struct cp_config cur, out;
    struct gp_err err;
    int32_t p[] = {1, 2, 3};
    mk(&cur, false, 60, 11, "cpu", p, 3, "{\"max_processes\":3}");
    int32_t stop1[] = {2, 99};
    assert_int_equal(cp_process_stop(&cur, stop1, 2, &out, &err), 0);
    assert_int_equal(out.type, CP_START); /* keeps profiling the rest */
    assert_int_equal(out.npids, 2);
    assert_int_equal(out.pids[0], 1);
    assert_int_equal(out.pids[1], 3);
    assert_int_equal(out.stop_level, CP_STOP_PROCESS);
    assert_non_null(out.extra);
    cp_config_free(&out);
    int32_t stopall[] = {3, 2, 1};
    assert_int_equal(cp_process_stop(&cur, stopall, 3, &out, &err), 0);
    assert_int_equal(out.type, CP_STOP); /* nothing left: host-level stop */
    assert_int_equal(out.stop_level, CP_STOP_HOST);
    assert_int_equal(out.npids, 0);
    cp_config_free(&out);
    /* no current command, or a whole-host one: a stop naming the pids */
    assert_int_equal(cp_process_stop(NULL, stop1, 2, &out, &err), 0);
    assert_int_equal(out.type, CP_STOP);
    assert_int_equal(out.stop_level, CP_STOP_PROCESS);
    assert_int_equal(out.npids, 2);
    cp_config_free(&out);
    assert_int_not_equal(cp_process_stop(&cur, NULL, 0, &out, &err), 0);
    cp_config_free(&cur);
}

static void test_config_json_roundtrip(void **state)
{
    struct cp_config c, back;
    struct gp_err err;
    int32_t p[] = {4, 8};
    mk(&c, true, 120, 49, "cpu", p, 2,
       "{\"enable_perfspect\":false,\"duration\":5,\"profiler_configs\":{\"perf\":\"enabled_"
       "aggressive\"}}");
    c.stop_level = CP_STOP_PROCESS;
    json_object *j = cj_config_to_json(&c);
    json_object *v;
    assert_true(json_object_object_get_ex(j, "command_type", &v));
    assert_string_equal(json_object_get_string(v), "start");
    assert_true(json_object_object_get_ex(j, "duration", &v));
    assert_int_equal(json_object_get_int(v), 120); /* fixed keys beat additional_args */
    assert_true(json_object_object_get_ex(j, "enable_perfspect", &v)); /* flat merge */
    assert_true(json_object_object_get_ex(j, "pids", &v));
    assert_int_equal(json_object_array_length(v), 2);
    assert_int_equal(cj_config_from_json(j, &back, &err), 0);
    assert_true(back.continuous);
    assert_int_equal(back.duration, 120);
    assert_int_equal(back.frequency, 49);
    assert_int_equal(back.npids, 2);
    assert_int_equal(back.stop_level, CP_STOP_PROCESS);
    json_object *bx = cj_args_to_json(back.extra);
    assert_true(json_object_object_get_ex(bx, "profiler_configs", &v));
    json_object_put(bx);
    json_object_put(j);
    cp_config_free(&back);
    cp_config_free(&c);
    struct cp_config s;
    cp_host_stop(&s);
    j = cj_config_to_json(&s);
    assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                        "{\"command_type\":\"stop\",\"stop_level\":\"host\"}");
    json_object_put(j);
}

static void test_status_machines(void **state)
{
    assert_true(cp_cmd_transition_ok(CMD_PENDING, CMD_SENT));
    assert_true(cp_cmd_transition_ok(CMD_SENT, CMD_COMPLETED));
    assert_true(cp_cmd_transition_ok(CMD_SENT, CMD_FAILED));
    assert_false(cp_cmd_transition_ok(CMD_PENDING, CMD_COMPLETED));
    assert_false(cp_cmd_transition_ok(CMD_COMPLETED, CMD_FAILED));
    assert_false(cp_cmd_transition_ok(CMD_FAILED, CMD_SENT));
    enum cp_cmd_status cs;
    assert_int_equal(cp_cmd_status_parse("sent", &cs), 0);
    assert_int_equal(cs, CMD_SENT);
    assert_int_not_equal(cp_cmd_status_parse("assigned", &cs), 0);
    enum cp_req_status rs;
    assert_int_equal(cp_req_status_parse("cancelled", &rs), 0);
    assert_int_not_equal(cp_req_status_parse("sent", &rs), 0); /* not a request status */

    enum cp_req_status a[] = {REQ_PENDING, REQ_PENDING};
    assert_int_equal(cp_request_rollup(a, 2), REQ_PENDING);
    enum cp_req_status b[] = {REQ_PENDING, REQ_ASSIGNED};
    assert_int_equal(cp_request_rollup(b, 2), REQ_ASSIGNED);
    enum cp_req_status c[] = {REQ_COMPLETED, REQ_PENDING};
    assert_int_equal(cp_request_rollup(c, 2), REQ_ASSIGNED);
    enum cp_req_status d[] = {REQ_COMPLETED, REQ_COMPLETED, REQ_CANCELLED};
    assert_int_equal(cp_request_rollup(d, 3), REQ_COMPLETED);
    enum cp_req_status e[] = {REQ_COMPLETED, REQ_FAILED};
    assert_int_equal(cp_request_rollup(e, 2), REQ_FAILED);
    enum cp_req_status f[] = {REQ_CANCELLED, REQ_CANCELLED};
    assert_int_equal(cp_request_rollup(f, 2), REQ_CANCELLED);
    enum cp_req_status g[] = {REQ_CANCELLED, REQ_PENDING};
    assert_int_equal(cp_request_rollup(g, 2), REQ_PENDING);
    assert_int_equal(cp_request_rollup(NULL, 0), REQ_PENDING);
}

static void test_liveness_and_limits(void **state)
{
    assert_string_equal(cp_host_liveness(1000, 1090, 30), "active");
    assert_string_equal(cp_host_liveness(1000, 1091, 30), "offline");
    assert_string_equal(cp_host_liveness(1000, 1000, 0), "active");
    struct gp_err err = {0};
    assert_int_equal(cp_check_limits(3, 5, 0, 10, 50, &err), 0);
    assert_int_equal(cp_check_limits(6, 5, 0, 10, 100, &err), -E2BIG);
    assert_non_null(strstr(err.msg, "max_hosts_per_request"));
    assert_int_equal(cp_check_limits(3, 0, 3, 10, 50, &err), -E2BIG); /* 6 > 5 */
    assert_non_null(strstr(err.msg, "max_profiling_share_pct"));
    assert_int_equal(cp_check_limits(2, 0, 3, 10, 50, &err), 0);     /* 5 <= 5 */
    assert_int_equal(cp_check_limits(1, 0, 0, 1, 10, &err), 0);      /* at least one host */
    assert_int_equal(cp_check_limits(1000, 0, 1000, 1, 0, &err), 0); /* share limit off */
}

static void test_pid_sets(void **state)
{
    int32_t a[] = {3, 1, 2}, b[] = {2, 4};
    int32_t *o;
    size_t n;
    assert_int_equal(cp_pids_union(a, 3, b, 2, &o, &n), 0);
    assert_int_equal(n, 4);
    free(o);
    assert_int_equal(cp_pids_minus(a, 3, b, 2, &o, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(o[0], 1);
    assert_int_equal(o[1], 3);
    free(o);
    assert_int_equal(cp_pids_minus(b, 2, b, 2, &o, &n), 0);
    assert_int_equal(n, 0);
    assert_null(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_defaults),
            cmocka_unit_test(test_parse_rejects),
            cmocka_unit_test(test_shared_limits),
            cmocka_unit_test(test_identifiers),
            cmocka_unit_test(test_merge),
            cmocka_unit_test(test_merge_all_processes_absorbs_pids),
            cmocka_unit_test(test_process_stop),
            cmocka_unit_test(test_config_json_roundtrip),
            cmocka_unit_test(test_status_machines),
            cmocka_unit_test(test_liveness_and_limits),
            cmocka_unit_test(test_pid_sets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
