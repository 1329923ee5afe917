/* test_cmdmgr.c — the agent's CommandManager and command parsing: stop > ad hoc > continuous,
 * FIFO within a class, duplicate ids ignored, executed ids persisted (newest 1,000, atomic) across
 * a reopen, and validation of combined_config (frequency, duration, pids, target_hostnames). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/commands/command.h"
#include "agent/commands/manager.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *mkstate(void)
{
    char *d = strdup("/tmp/gprof-cmdmgr-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmstate(char *d)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

static struct gp_command mk(const char *id, enum gp_cmd_type t, int continuous)
{
    struct gp_command c;
    memset(&c, 0, sizeof(c));
    snprintf(c.id, sizeof(c.id), "%s", id);
    c.type = t;
    c.continuous = continuous;
    c.duration_s = 10;
    c.freq_hz = 11;
    c.stop_host = t == GP_CMD_STOP;
    return c;
}

/* Pops everything in execution order into a comma-separated string. */
static void drain(struct gp_cmdmgr *m, char *out, size_t len)
{
    struct gp_command c;
    out[0] = '\0';
    while (gp_cmdmgr_peek(m, &c)) {
        assert_true(gp_cmdmgr_remove(m, c.id));
        strncat(out, c.id, len - strlen(out) - 2);
        strcat(out, ",");
    }
}

static void test_priorities_and_fifo(void **state)
{
    (void)state;
    struct gp_cmdmgr *m;
    struct gp_err err = {0};
    assert_int_equal(gp_cmdmgr_open(NULL, &m, &err), 0);
    struct gp_command cs[] = {
            mk("c1", GP_CMD_START, 1), mk("a1", GP_CMD_START, 0), mk("s1", GP_CMD_STOP, 0),
            mk("a2", GP_CMD_START, 0), mk("c2", GP_CMD_START, 1), mk("s2", GP_CMD_STOP, 0),
            mk("a3", GP_CMD_START, 0),
    };
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
        assert_int_equal(gp_cmdmgr_offer(m, &cs[i]), 1);
    size_t counts[GP_CLASS_COUNT];
    gp_cmdmgr_counts(m, counts);
    assert_int_equal(counts[GP_CLASS_STOP], 2);
    assert_int_equal(counts[GP_CLASS_ADHOC], 3);
    assert_int_equal(counts[GP_CLASS_CONTINUOUS], 2);
    struct gp_command head;
    assert_true(gp_cmdmgr_peek_class(m, GP_CLASS_ADHOC, &head));
    assert_string_equal(head.id, "a1");
    char order[256];
    drain(m, order, sizeof(order));
    assert_string_equal(order, "s1,s2,a1,a2,a3,c1,c2,");
    assert_false(gp_cmdmgr_peek(m, &head));
    gp_cmdmgr_close(m);
}

static void test_duplicates_ignored(void **state)
{
    (void)state;
    struct gp_cmdmgr *m;
    struct gp_err err = {0};
    assert_int_equal(gp_cmdmgr_open(NULL, &m, &err), 0);
    struct gp_command a = mk("dup", GP_CMD_START, 0);
    assert_int_equal(gp_cmdmgr_offer(m, &a), 1);
    assert_int_equal(gp_cmdmgr_offer(m, &a), 0); /* the heartbeat repeats the current command */
    size_t counts[GP_CLASS_COUNT];
    gp_cmdmgr_counts(m, counts);
    assert_int_equal(counts[GP_CLASS_ADHOC], 1);
    /* still a duplicate after it ran and left the queue */
    assert_true(gp_cmdmgr_remove(m, "dup"));
    assert_int_equal(gp_cmdmgr_mark_executed(m, "dup", &err), 0);
    assert_int_equal(gp_cmdmgr_offer(m, &a), 0);
    assert_true(gp_cmdmgr_executed(m, "dup"));
    /* an invalid command noted as received is not queued later either */
    assert_int_equal(gp_cmdmgr_note_received(m, "bad"), 1);
    struct gp_command b = mk("bad", GP_CMD_START, 0);
    assert_int_equal(gp_cmdmgr_offer(m, &b), 0);
    char last[GP_CMD_ID_MAX];
    gp_cmdmgr_last_id(m, last, sizeof(last));
    assert_string_equal(last, "bad");
    gp_cmdmgr_close(m);
}

static void test_clear_class(void **state)
{
    (void)state;
    struct gp_cmdmgr *m;
    struct gp_err err = {0};
    assert_int_equal(gp_cmdmgr_open(NULL, &m, &err), 0);
    struct gp_command a = mk("a", GP_CMD_START, 0), b = mk("b", GP_CMD_START, 0),
                      c = mk("c", GP_CMD_START, 1);
    gp_cmdmgr_offer(m, &a);
    gp_cmdmgr_offer(m, &b);
    gp_cmdmgr_offer(m, &c);
    struct gp_command out[4];
    assert_int_equal(gp_cmdmgr_clear_class(m, GP_CLASS_ADHOC, out, 4), 2);
    assert_string_equal(out[0].id, "a");
    assert_string_equal(out[1].id, "b");
    struct gp_command h;
    assert_true(gp_cmdmgr_peek(m, &h));
    assert_string_equal(h.id, "c");
    gp_cmdmgr_close(m);
}

static void test_persistence_across_reopen(void **state)
{
    (void)state;
    char *dir = mkstate();
    struct gp_cmdmgr *m;
    struct gp_err err = {0};
    assert_int_equal(gp_cmdmgr_open(dir, &m, &err), 0);
    struct gp_command a = mk("run-once", GP_CMD_START, 0), q = mk("queued-only", GP_CMD_START, 0);
    assert_int_equal(gp_cmdmgr_offer(m, &a), 1);
    assert_int_equal(gp_cmdmgr_offer(m, &q), 1);
    assert_true(gp_cmdmgr_remove(m, "run-once"));
    assert_int_equal(gp_cmdmgr_mark_executed(m, "run-once", &err), 0);
    gp_cmdmgr_close(m); /* "restart" */

    assert_int_equal(gp_cmdmgr_open(dir, &m, &err), 0);
    assert_true(gp_cmdmgr_executed(m, "run-once"));
    assert_int_equal(gp_cmdmgr_offer(m, &a), 0); /* never executed twice */
    /* a command that was only received (not run) before the restart runs after it */
    assert_int_equal(gp_cmdmgr_offer(m, &q), 1);
    json_object *ex = gp_cmdmgr_ids_json(m, true, 100);
    assert_int_equal(json_object_array_length(ex), 1);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(ex, 0)), "run-once");
    json_object_put(ex);

    /* newest 1,000 kept, oldest forgotten, and no temp file left behind */
    char id[32];
    for (int i = 0; i < 1100; i++) {
        snprintf(id, sizeof(id), "cmd-%04d", i);
        assert_int_equal(gp_cmdmgr_mark_executed(m, id, &err), 0);
    }
    gp_cmdmgr_close(m);
    char path[512];
    snprintf(path, sizeof(path), "%s/executed_commands", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[128], first[128] = "", lastl[128] = "";
    int n = 0;
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        if (!n)
            snprintf(first, sizeof(first), "%s", line);
        snprintf(lastl, sizeof(lastl), "%s", line);
        n++;
    }
    fclose(f);
    assert_int_equal(n, GP_CMDMGR_HISTORY);
    assert_string_equal(first, "cmd-0100");
    assert_string_equal(lastl, "cmd-1099");
    snprintf(path, sizeof(path), "%s/executed_commands.tmp", dir);
    assert_int_equal(access(path, F_OK), -1);

    assert_int_equal(gp_cmdmgr_open(dir, &m, &err), 0);
    assert_true(gp_cmdmgr_executed(m, "cmd-1099"));
    assert_true(gp_cmdmgr_executed(m, "cmd-0100"));
    assert_false(gp_cmdmgr_executed(m, "cmd-0099"));
    gp_cmdmgr_close(m);

    /* a state directory that cannot be written makes mark_executed fail loudly */
    if (geteuid() != 0) {
        chmod(dir, 0500);
        assert_int_equal(gp_cmdmgr_open(dir, &m, &err), 0);
        assert_true(gp_cmdmgr_mark_executed(m, "x", &err) < 0);
        gp_cmdmgr_close(m);
        chmod(dir, 0700);
    }
    rmstate(dir);
}

static int parse_text(const char *json, const char *host, struct gp_command *c, struct gp_err *err)
{
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    int rc = gp_command_parse("id-1", o, host, c, err);
    json_object_put(o);
    return rc;
}

static void test_parse_valid(void **state)
{
    (void)state;
    struct gp_command c;
    struct gp_err err = {0};
    assert_int_equal(parse_text("{\"command_type\":\"start\",\"combined_config\":{\"command_type\":"
                                "\"start\",\"continuous\":false,\"duration\":30,\"frequency\":99,"
                                "\"profiling_mode\":\"cpu\",\"pids\":[12,\"34\",12],"
                                "\"enable_perfspect\":true,\"max_processes\":5}}",
                                "h1", &c, &err),
                     0);
    assert_int_equal(c.type, GP_CMD_START);
    assert_int_equal(gp_command_class(&c), GP_CLASS_ADHOC);
    assert_int_equal(c.duration_s, 30);
    assert_int_equal(c.freq_hz, 99);
    assert_int_equal(c.npids, 2); /* numeric strings accepted, duplicates folded */
    assert_int_equal(c.pids[0], 12);
    assert_int_equal(c.pids[1], 34);
    assert_true(c.enable_perfspect);
    assert_int_equal(c.max_processes, 5);

    assert_int_equal(parse_text("{\"command_type\":\"start\",\"combined_config\":{\"continuous\":"
                                "true}}",
                                "h1", &c, &err),
                     0);
    assert_int_equal(gp_command_class(&c), GP_CLASS_CONTINUOUS);
    assert_int_equal(c.duration_s, 60); /* defaults */
    assert_int_equal(c.freq_hz, 11);

    assert_int_equal(parse_text("{\"command_type\":\"stop\",\"combined_config\":{\"stop_level\":"
                                "\"host\"}}",
                                "h1", &c, &err),
                     0);
    assert_int_equal(gp_command_class(&c), GP_CLASS_STOP);
    assert_true(c.stop_host);
    assert_int_equal(parse_text("{\"command_type\":\"stop\",\"combined_config\":{\"stop_level\":"
                                "\"process\",\"pids\":[5]}}",
                                "h1", &c, &err),
                     0);
    assert_false(c.stop_host);
    assert_int_equal(c.npids, 1);
    /* a start re-issued by a process-level stop keeps the remaining pids */
    assert_int_equal(parse_text("{\"command_type\":\"start\",\"combined_config\":{\"stop_level\":"
                                "\"process\",\"pids\":[7]}}",
                                "h1", &c, &err),
                     0);
    assert_true(c.stop_level_process);
}

static void test_parse_target_hostnames(void **state)
{
    (void)state;
    struct gp_command c;
    struct gp_err err = {0};
    const char *j = "{\"command_type\":\"start\",\"combined_config\":{\"target_hostnames\":[\"a\","
                    "\"b\"]}}";
    assert_int_equal(parse_text(j, "b", &c, &err), 0);
    assert_int_equal(parse_text(j, "c", &c, &err), 1);
    assert_int_equal(parse_text("{\"command_type\":\"start\",\"combined_config\":{"
                                "\"target_hostnames\":[]}}",
                                "c", &c, &err),
                     0);
}

static void test_parse_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *json, *needle;
    } bad[] = {
            {"{\"command_type\":\"start\",\"combined_config\":{\"frequency\":0}}", "frequency"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"frequency\":1001}}", "1 to 1000"},
            /* doubles beyond long long: refused before the (undefined) conversion */
            {"{\"command_type\":\"start\",\"combined_config\":{\"pids\":[8.9e19]}}",
             "out of range"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"pids\":[-1e300]}}",
             "out of range"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"frequency\":1e300}}", "1 to 1000"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"duration\":9.3e18}}", "24 h"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"frequency\":\"fast\"}}",
             "frequency"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"duration\":0}}", "duration"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"duration\":86401}}", "24 h"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"duration\":1.5}}", "duration"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"pids\":[\"abc\"]}}", "abc"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"pids\":[-4]}}", "process id"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"pids\":\"12\"}}", "list"},
            {"{\"command_type\":\"pause\",\"combined_config\":{}}", "Unknown command type"},
            {"{\"combined_config\":{}}", "command_type"},
            {"{\"command_type\":\"start\",\"combined_config\":{\"profiling_mode\":\"allocation\"}}",
             "profiling_mode"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct gp_command c;
        struct gp_err err = {0};
        assert_int_equal(parse_text(bad[i].json, "h", &c, &err), -EINVAL);
        if (!strstr(err.msg, bad[i].needle))
            fail_msg("%s: message '%s' lacks '%s'", bad[i].json, err.msg, bad[i].needle);
        assert_string_equal(c.id, "id-1"); /* so it can be reported failed */
    }
    /* the boundaries themselves are valid */
    struct gp_command c;
    struct gp_err err = {0};
    assert_int_equal(parse_text("{\"command_type\":\"start\",\"combined_config\":{\"frequency\":1,"
                                "\"duration\":86400}}",
                                "h", &c, &err),
                     0);
    assert_int_equal(parse_text("{\"command_type\":\"start\",\"combined_config\":{\"frequency\":"
                                "1000,\"duration\":1}}",
                                "h", &c, &err),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_priorities_and_fifo),
            cmocka_unit_test(test_duplicates_ignored),
            cmocka_unit_test(test_clear_class),
            cmocka_unit_test(test_persistence_across_reopen),
            cmocka_unit_test(test_parse_valid),
            cmocka_unit_test(test_parse_target_hostnames),
            cmocka_unit_test(test_parse_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
