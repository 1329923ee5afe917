/* test_perfspect_live.c — PerfSpect sessions on this machine's real kernel: known context
 * switches (pingpong) and page faults (pagetouch) counted per pid within 5%, and the degraded
 * mode (no PMU) reporting a clear reason, the refused events, and only real values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "perfspect/perfspect.h"

struct child {
    pid_t pid;
    FILE *out;
};

/* Starts tests/workloads/NAME ARG --wait and reads until "ready". */
static void spawn(const char *name, const char *arg, struct child *c)
{
    const char *bd = getenv("GPROF_BUILD_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/tests/workloads/%s", bd ? bd : ".", name);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execl(path, name, arg, "--wait", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    c->pid = pid;
    c->out = fdopen(p[0], "r");
    assert_non_null(c->out);
    char line[256];
    int ready = 0;
    while (!ready && fgets(line, sizeof(line), c->out))
        ready = !strncmp(line, "ready", 5);
    if (!ready)
        fail_msg("%s did not get ready (is it built? %s)", name, path);
}

/* Counts the workload per pid from before it starts to its exit; returns the event total. */
static double count_workload(const char *name, const char *arg, const char *event)
{
    struct child c;
    spawn(name, arg, &c);
    struct ps_options o = {.pids = &c.pid, .npids = 1, .interval_ms = 200, .duration_s = 60};
    struct ps_session *s = NULL;
    struct gp_err err = {0};
    if (ps_session_open(&o, &s, &err))
        fail_msg("open: %s", err.msg);
    assert_int_equal(ps_session_start(s, &err), 0);
    assert_int_equal(kill(c.pid, SIGUSR1), 0);
    assert_int_equal(ps_session_run(s, &err), 0); /* ends when the workload exits */
    int status;
    assert_int_equal(waitpid(c.pid, &status, 0), c.pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    fclose(c.out);
    double v = NAN;
    if (ps_report_event_total(ps_session_report(s), event, &v, NULL))
        fail_msg("%s not counted", event);
    assert_true(ps_report_ninterval(ps_session_report(s)) >= 1);
    ps_session_free(s);
    return v;
}

static void test_pingpong_context_switches(void **state)
{
    const int rounds = 20000;
    double cs = count_workload("pingpong", "20000", "context-switches");
    double want = 2.0 * rounds;
    printf("pingpong %d round trips: %.0f context switches (want %.0f +-5%%)\n", rounds, cs, want);
    assert_true(fabs(cs - want) <= 0.05 * want);
}

static void test_pagetouch_faults(void **state)
{
    const int pages = 20000;
    double flt = count_workload("pagetouch", "20000", "minor-faults");
    printf("pagetouch %d pages: %.0f minor faults (want %d +-5%%)\n", pages, flt, pages);
    assert_true(fabs(flt - pages) <= 0.05 * pages);
    double maj = count_workload("pagetouch", "100", "major-faults");
    assert_true(maj < 5); /* anonymous memory: no I/O */
}

/* A system-wide session on this host: without a PMU it says so, lists what was refused, and its
 * header carries no hardware metric at all. */
static void test_degraded_mode(void **state)
{
    struct ps_options o = {.interval_ms = 100, .duration_s = 0.35};
    struct ps_session *s = NULL;
    struct gp_err err = {0};
    if (ps_session_open(&o, &s, &err))
        fail_msg("open: %s", err.msg);
    assert_int_equal(ps_session_start(s, &err), 0);
    assert_int_equal(ps_session_run(s, &err), 0);
    const struct ps_report *r = ps_session_report(s);
    assert_true(ps_report_ninterval(r) >= 3);
    struct ps_stat st;
    assert_int_equal(ps_report_metric(r, "cs_per_s", &st), 0);
    assert_int_equal(ps_report_metric(r, "cpu_util_pct", &st), 0);
    assert_int_equal(ps_report_metric(r, "mem_used_mb", &st), 0);
    json_object *h = json_object_new_object(), *hw, *v;
    assert_int_equal(ps_header_fields(r, h, &err), 0);
    assert_true(json_object_object_get_ex(h, "hwmetrics", &hw));
    assert_true(json_object_object_get_ex(h, "htmlblob", NULL));
    json_object_object_foreach(hw, k, val)
    {
        char *end;
        double d = strtod(json_object_get_string(val), &end);
        assert_true(*end == '\0' && isfinite(d));
        (void)k;
    }
    struct stat sb;
    int pmu = stat("/sys/bus/event_source/devices/cpu", &sb) == 0;
    if (!pmu) {
        assert_false(ps_report_hw_available(r));
        const char *line = ps_report_hw_line(r);
        assert_non_null(line);
        printf("%s\n", line);
        const char *want = "hardware counters not available on this host: ";
        assert_true(strncmp(line, want, strlen(want)) == 0);
        assert_int_equal(ps_report_nrefused(r), 12);
        const char *reason = NULL;
        assert_string_equal(ps_report_refused(r, 0, &reason), "cycles");
        assert_non_null(reason);
        assert_int_equal(ps_report_metric(r, "ipc", &st), -ENOENT);
        assert_int_equal(ps_report_metric(r, "l1d_mpki", &st), -ENOENT);
        assert_false(json_object_object_get_ex(hw, "IPC", NULL));
        assert_false(json_object_object_get_ex(hw, "CPI", NULL));
        assert_false(json_object_object_get_ex(hw, "CPU operating frequency (in GHz)", NULL));
        assert_true(json_object_object_get_ex(hw, "CPU utilization %", &v));
    } else {
        /* a host with a core PMU counts cycles and instructions */
        assert_true(ps_report_hw_available(r));
        assert_int_equal(ps_report_metric(r, "ipc", &st), 0);
        assert_true(json_object_object_get_ex(hw, "IPC", NULL));
    }
    json_object_put(h);
    ps_session_free(s);
}

/* ps_session_stop from another thread ends a session without a duration. */
static void *stopper(void *arg)
{
    usleep(250000);
    ps_session_stop(arg);
    return NULL;
}

#include <pthread.h>
static void test_stop_from_thread(void **state)
{
    struct ps_options o = {.interval_ms = 100, .no_hardware = 1};
    struct ps_session *s = NULL;
    struct gp_err err = {0};
    assert_int_equal(ps_session_open(&o, &s, &err), 0);
    assert_int_equal(ps_session_start(s, &err), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stopper, s), 0);
    assert_int_equal(ps_session_run(s, &err), 0);
    pthread_join(t, NULL);
    const struct ps_report *r = ps_session_report(s);
    assert_true(ps_report_ninterval(r) >= 1);
    assert_int_equal(ps_report_nrefused(r), 0); /* hardware not even tried */
    assert_non_null(ps_report_hw_line(r));
    struct ps_report *own = ps_session_take_report(s);
    ps_session_free(s);
    ps_report_free(own);
}

/* The agent's way: spawn beside a profiling session, join when the session ends. */
static void test_spawn_join(void **state)
{
    struct ps_options o = {.interval_ms = 100, .no_hardware = 1};
    struct ps_session *s = NULL;
    struct gp_err err = {0};
    assert_int_equal(ps_session_open(&o, &s, &err), 0);
    assert_int_equal(ps_session_spawn(s, &err), 0);
    assert_int_equal(ps_session_spawn(s, &err), -EBUSY);
    usleep(350000);
    assert_int_equal(ps_session_join(s, 1, &err), 0);
    assert_true(ps_report_ninterval(ps_session_report(s)) >= 2);
    struct ps_stat st;
    assert_int_equal(ps_report_metric(ps_session_report(s), "cs_per_s", &st), 0);
    ps_session_free(s);
}

static void test_bad_pid(void **state)
{
    pid_t pid = 0x7ffffff0;
    struct ps_options o = {.pids = &pid, .npids = 1};
    struct ps_session *s = NULL;
    struct gp_err err = {0};
    assert_int_equal(ps_session_open(&o, &s, &err), -ESRCH);
    assert_null(s);
    assert_non_null(strstr(err.msg, "no such process"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pingpong_context_switches),
            cmocka_unit_test(test_pagetouch_faults),
            cmocka_unit_test(test_degraded_mode),
            cmocka_unit_test(test_stop_from_thread),
            cmocka_unit_test(test_spawn_join),
            cmocka_unit_test(test_bad_pid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
