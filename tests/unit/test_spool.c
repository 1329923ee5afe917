/* test_spool.c — the agent's upload spool: items come back oldest first with their upload ids,
 * the byte bound drops the oldest (counted), writes are atomic (no temp file survives, an
 * interrupted write is discarded at open, a corrupt item is skipped), and a reopen — an agent
 * restart — finds every item in order and keeps numbering after them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "agent/spool.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *mkdir_tmp(void)
{
    char *d = strdup("/tmp/gprof-spool-XXXXXX");
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

static void put(struct gp_spool *s, const char *id, const char *data, size_t *dropped)
{
    struct gp_spool_meta m = {
            .start = 1000, .end = 1060, .spawn = 900, .cpu_avg = 12.5, .mem_avg = -1};
    snprintf(m.upload_id, sizeof(m.upload_id), "%s", id);
    snprintf(m.kind, sizeof(m.kind), "continuous");
    struct gp_err err = {0};
    assert_int_equal(gp_spool_put(s, &m, data, strlen(data), dropped, &err), 0);
}

/* Takes the oldest, checks its id and data, removes it. */
static void take(struct gp_spool *s, const char *id, const char *data)
{
    struct gp_spool_item it;
    struct gp_err err = {0};
    assert_int_equal(gp_spool_oldest(s, &it, &err), 0);
    assert_string_equal(it.meta.upload_id, id);
    assert_int_equal(it.len, strlen(data));
    assert_memory_equal(it.data, data, it.len);
    assert_int_equal(gp_spool_remove(s, it.seq), 0);
    gp_spool_item_free(&it);
}

static size_t count_files(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name), sl = strlen(suffix);
        n += l > sl && !strcmp(e->d_name + l - sl, suffix);
    }
    closedir(d);
    return n;
}

static void test_order_and_metadata(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct gp_spool *s;
    struct gp_err err = {0};
    assert_int_equal(gp_spool_open(dir, 0, &s, &err), 0);
    put(s, "u1", "# {}\nmain;a 1\n", NULL);
    put(s, "u2", "# {}\nmain;b 2\n", NULL);
    put(s, "u3", "# {}\nmain;c 3\n", NULL);
    assert_true(gp_spool_contains(s, "u2"));
    struct gp_spool_item it;
    assert_int_equal(gp_spool_oldest(s, &it, &err), 0);
    assert_int_equal(it.meta.start, 1000);
    assert_int_equal(it.meta.end, 1060);
    assert_int_equal(it.meta.spawn, 900);
    assert_true(it.meta.cpu_avg > 12.4 && it.meta.cpu_avg < 12.6);
    assert_true(it.meta.mem_avg < 0); /* unknown stays unknown */
    assert_string_equal(it.meta.kind, "continuous");
    gp_spool_item_free(&it);
    take(s, "u1", "# {}\nmain;a 1\n");
    take(s, "u2", "# {}\nmain;b 2\n");
    assert_false(gp_spool_contains(s, "u2"));
    take(s, "u3", "# {}\nmain;c 3\n");
    assert_int_equal(gp_spool_oldest(s, &it, &err), -ENOENT);
    assert_int_equal(count_files(dir, ".item"), 0);
    gp_spool_close(s);
    rm_tmp(dir);
}

static void test_bound_drops_oldest(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct gp_spool *s;
    struct gp_err err = {0};
    char data[1000];
    memset(data, 'x', sizeof(data) - 1);
    data[sizeof(data) - 1] = '\0';
    /* each item is ~1.1 KB with its meta line: 4 fit in 5000 bytes, not 5 */
    assert_int_equal(gp_spool_open(dir, 5000, &s, &err), 0);
    size_t dropped = 0, total = 0;
    char id[16];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "id%d", i);
        put(s, id, data, &dropped);
        total += dropped;
        struct gp_spool_stats st;
        gp_spool_stats(s, &st);
        assert_true(st.bytes <= 5000);
    }
    struct gp_spool_stats st;
    gp_spool_stats(s, &st);
    assert_int_equal(st.items, 4);
    assert_int_equal(st.dropped, 6);
    assert_int_equal(total, 6);
    assert_int_equal(count_files(dir, ".item"), 4);
    take(s, "id6", data); /* the newest survive, oldest first */
    take(s, "id7", data);
    /* an item larger than the whole spool is refused, nothing dropped for it */
    char *big = malloc(6000);
    memset(big, 'y', 5999);
    big[5999] = '\0';
    struct gp_spool_meta m = {.mem_avg = -1, .cpu_avg = -1};
    snprintf(m.upload_id, sizeof(m.upload_id), "big");
    assert_int_equal(gp_spool_put(s, &m, big, 5999, &dropped, &err), -E2BIG);
    free(big);
    gp_spool_stats(s, &st);
    assert_int_equal(st.items, 2);
    gp_spool_close(s);
    rm_tmp(dir);
}

static void test_restart_and_atomicity(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct gp_spool *s;
    struct gp_err err = {0};
    assert_int_equal(gp_spool_open(dir, 0, &s, &err), 0);
    put(s, "a", "one\n", NULL);
    put(s, "b", "two\n", NULL);
    put(s, "c", "three\n", NULL);
    take(s, "a", "one\n");
    assert_int_equal(count_files(dir, ".tmp"), 0);
    gp_spool_close(s); /* the agent stops (or is killed) with b and c unsent */

    /* what a crash mid-write leaves behind, and an item cut short */
    char p[512];
    snprintf(p, sizeof(p), "%s/00000000000000ff.item.tmp", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"upload_id\":\"half\"", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/0000000000000000.item", dir);
    f = fopen(p, "w");
    fputs("{\"upload_id\":", f); /* no newline: the meta line never completed */
    fclose(f);

    assert_int_equal(gp_spool_open(dir, 0, &s, &err), 0);
    assert_int_equal(count_files(dir, ".tmp"), 0);
    struct gp_spool_stats st;
    gp_spool_stats(s, &st);
    assert_int_equal(st.items, 2);
    put(s, "d", "four\n", NULL); /* numbering continues after the survivors */
    take(s, "b", "two\n");
    take(s, "c", "three\n");
    take(s, "d", "four\n");
    gp_spool_close(s);
    rm_tmp(dir);
}

static void test_corrupt_item_skipped(void **state)
{
    (void)state;
    char *dir = mkdir_tmp();
    struct gp_spool *s;
    struct gp_err err = {0};
    assert_int_equal(gp_spool_open(dir, 0, &s, &err), 0);
    put(s, "x", "first\n", NULL);
    put(s, "y", "second\n", NULL);
    /* the oldest file gets damaged while the agent runs */
    char p[512];
    snprintf(p, sizeof(p), "%s/0000000000000001.item", dir);
    FILE *f = fopen(p, "w");
    fputs("garbage", f);
    fclose(f);
    take(s, "y", "second\n");
    struct gp_spool_stats st;
    gp_spool_stats(s, &st);
    assert_int_equal(st.items, 0);
    gp_spool_close(s);
    rm_tmp(dir);
}

static void test_unwritable_dir(void **state)
{
    (void)state;
    struct gp_spool *s;
    struct gp_err err = {0};
    int rc = gp_spool_open("/proc/gprof-no-such/spool", 0, &s, &err);
    assert_true(rc < 0);
    assert_non_null(strstr(err.msg, "spool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_order_and_metadata),
            cmocka_unit_test(test_bound_drops_oldest),
            cmocka_unit_test(test_restart_and_atomicity),
            cmocka_unit_test(test_corrupt_item_skipped),
            cmocka_unit_test(test_unwritable_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
