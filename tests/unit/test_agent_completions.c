/* test_agent_completions.c — the agent's pending command completions: kept oldest first, saved to
 * the state directory on every change (no temp file left, the file gone when the queue is empty),
 * found again by a reopen — an agent restart — and gone for good once acknowledged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/completions.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/gprof-completions-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_tmp(char *d)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

static int exists(const char *dir, const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return access(p, F_OK) == 0;
}

static struct gp_completion make(const char *id, int ok, double exec, const char *error,
                                 const char *path)
{
    struct gp_completion c = {.ok = ok, .exec = exec};
    snprintf(c.id, sizeof(c.id), "%s", id);
    snprintf(c.error, sizeof(c.error), "%s", error);
    snprintf(c.path, sizeof(c.path), "%s", path);
    return c;
}

static void test_survives_reopen_until_acked(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct gp_err err = {0};
    struct gp_completions *q;
    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    assert_int_equal(gp_completions_count(q), 0);
    assert_false(exists(dir, GP_COMPLETIONS_FILE));
    struct gp_completion a = make("cmd-a", 1, 10, "", "http://c/api/x?filename=a.html");
    struct gp_completion b = make("cmd-b", 0, -1, "the agent restarted;\n\"quoted\" reason", "");
    assert_int_equal(gp_completions_push(q, &a, &err), 0);
    assert_int_equal(gp_completions_push(q, &b, &err), 0);
    assert_true(exists(dir, GP_COMPLETIONS_FILE));
    assert_false(exists(dir, GP_COMPLETIONS_FILE ".tmp"));
    gp_completions_close(q); /* the agent stops without having reached the coordinator */

    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    assert_int_equal(gp_completions_count(q), 2);
    assert_true(gp_completions_has(q, "cmd-a"));
    assert_true(gp_completions_has(q, "cmd-b"));
    struct gp_completion c;
    assert_true(gp_completions_peek(q, &c));
    assert_string_equal(c.id, "cmd-a"); /* oldest first */
    assert_int_equal(c.ok, 1);
    assert_true(c.exec == 10.0);
    assert_string_equal(c.path, a.path);
    assert_int_equal(gp_completions_ack(q, "cmd-a", &err), 0);
    assert_true(gp_completions_peek(q, &c));
    assert_string_equal(c.id, "cmd-b");
    assert_int_equal(c.ok, 0);
    assert_true(c.exec < 0);
    assert_string_equal(c.error, b.error);
    assert_string_equal(c.path, "");
    gp_completions_close(q);

    /* the acknowledged one does not come back; the other still does */
    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    assert_int_equal(gp_completions_count(q), 1);
    assert_false(gp_completions_has(q, "cmd-a"));
    assert_int_equal(gp_completions_ack(q, "cmd-b", &err), 0);
    assert_int_equal(gp_completions_ack(q, "cmd-b", &err), 0); /* twice is harmless */
    assert_false(gp_completions_peek(q, &c));
    assert_false(exists(dir, GP_COMPLETIONS_FILE)); /* nothing pending: no file */
    gp_completions_close(q);
    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    assert_int_equal(gp_completions_count(q), 0);
    gp_completions_close(q);
    rm_tmp(dir);
}

static void test_same_id_replaces_and_bound(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct gp_err err = {0};
    struct gp_completions *q;
    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    struct gp_completion a = make("x", 0, 1, "first", "");
    assert_int_equal(gp_completions_push(q, &a, &err), 0);
    a = make("x", 1, 2, "", "p");
    assert_int_equal(gp_completions_push(q, &a, &err), 0);
    assert_int_equal(gp_completions_count(q), 1);
    struct gp_completion c;
    assert_true(gp_completions_peek(q, &c));
    assert_int_equal(c.ok, 1);
    for (int i = 0; i < GP_COMPLETIONS_MAX + 5; i++) {
        char id[32];
        snprintf(id, sizeof(id), "n%d", i);
        struct gp_completion n = make(id, 1, i, "", "");
        assert_int_equal(gp_completions_push(q, &n, &err), 0);
    }
    assert_int_equal(gp_completions_count(q), GP_COMPLETIONS_MAX);
    assert_false(gp_completions_has(q, "x")); /* the oldest were dropped */
    assert_true(gp_completions_peek(q, &c));
    assert_string_equal(c.id, "n5");
    gp_completions_close(q);
    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    assert_int_equal(gp_completions_count(q), GP_COMPLETIONS_MAX);
    gp_completions_close(q);
    rm_tmp(dir);
}

static void test_bad_lines_skipped_and_memory_only(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, GP_COMPLETIONS_FILE);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("{\"command_id\":\"good\",\"status\":\"completed\",\"execution_time\":3}\n"
          "not json\n"
          "{\"command_id\":\"bad\",\"status\":\"running\"}\n"
          "{\"status\":\"failed\"}\n",
          f);
    assert_int_equal(fclose(f), 0);
    struct gp_err err = {0};
    struct gp_completions *q;
    assert_int_equal(gp_completions_open(dir, &q, &err), 0);
    assert_int_equal(gp_completions_count(q), 1);
    assert_true(gp_completions_has(q, "good"));
    gp_completions_close(q);

    assert_int_equal(gp_completions_open(NULL, &q, &err), 0);
    struct gp_completion a = make("m", 1, 1, "", "");
    assert_int_equal(gp_completions_push(q, &a, &err), 0);
    assert_int_equal(gp_completions_count(q), 1);
    gp_completions_close(q);
    rm_tmp(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_survives_reopen_until_acked),
            cmocka_unit_test(test_same_id_replaces_and_bound),
            cmocka_unit_test(test_bad_lines_skipped_and_memory_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
