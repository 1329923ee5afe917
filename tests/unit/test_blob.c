/* test_blob.c — conformance suite for the blob engine GPROF_TEST_BLOBS names (default fs):
 * put/get/overwrite/stat/delete/list, key validation and path traversal, atomic concurrent
 * puts, and no temp files left behind. A new engine runs it with GPROF_TEST_BLOBS=<engine>. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/store/blob/blob.h"
#include "test_store_util.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>

struct fixture {
    char *dir;
    struct blob_store *bs;
    char engine[64]; /* the engine under test: GPROF_TEST_BLOBS, default fs */
};

static void open_backend(struct fixture *f, int i)
{
    (void)i;
    tu_engine_name("GPROF_TEST_BLOBS", "fs", f->engine, sizeof(f->engine));
    f->dir = tu_tmpdir("blob");
    assert_non_null(f->dir);
    char *spec = tu_engine_spec("GPROF_TEST_BLOBS", "fs", f->dir, "blobs");
    assert_non_null(spec);
    struct gp_err err = {0};
    if (blob_store_open(spec, &f->bs, &err))
        fail_msg("open %s: %s", spec, err.msg);
    free(spec);
}

static void close_backend(struct fixture *f)
{
    blob_store_close(f->bs);
    tu_rmrf(f->dir);
    free(f->dir);
}

static int count_cb(const char *key, uint64_t size, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

struct keys {
    char k[16][128];
    int n;
};

static int keys_cb(const char *key, uint64_t size, void *ctx)
{
    struct keys *ks = ctx;
    if (ks->n < 16)
        snprintf(ks->k[ks->n++], 128, "%s", key);
    return 0;
}

static int has_key(const struct keys *ks, const char *k)
{
    for (int i = 0; i < ks->n; i++)
        if (strcmp(ks->k[i], k) == 0)
            return 1;
    return 0;
}

static void test_roundtrip(void **state)
{
    for (int b = 0; b < 1; b++) { /* the engine GPROF_TEST_BLOBS names */
        struct fixture f;
        open_backend(&f, b);
        struct gp_err err = {0};
        const char *key = "svc/2026-01-01/1_abc_host.col.gz";
        assert_int_equal(blob_put(f.bs, key, "hello", 5, &err), 0);
        void *data;
        size_t len;
        assert_int_equal(blob_get(f.bs, key, &data, &len, 0, &err), 0);
        assert_int_equal(len, 5);
        assert_memory_equal(data, "hello", 5);
        free(data);
        /* overwrite replaces atomically */
        assert_int_equal(blob_put(f.bs, key, "bye", 3, &err), 0);
        assert_int_equal(blob_get(f.bs, key, &data, &len, 0, &err), 0);
        assert_int_equal(len, 3);
        assert_memory_equal(data, "bye", 3);
        free(data);
        uint64_t size;
        assert_int_equal(blob_stat(f.bs, key, &size, &err), 0);
        assert_int_equal(size, 3);
        /* max size is enforced */
        assert_int_equal(blob_get(f.bs, key, &data, &len, 2, &err), -EFBIG);
        /* empty objects are fine */
        assert_int_equal(blob_put(f.bs, "svc/empty", "", 0, &err), 0);
        assert_int_equal(blob_get(f.bs, "svc/empty", &data, &len, 0, &err), 0);
        assert_int_equal(len, 0);
        free(data);
        assert_int_equal(blob_delete(f.bs, key, &err), 0);
        assert_int_equal(blob_get(f.bs, key, &data, &len, 0, &err), -ENOENT);
        assert_int_equal(blob_stat(f.bs, key, &size, &err), -ENOENT);
        assert_int_equal(blob_delete(f.bs, key, &err), -ENOENT);
        assert_int_equal(blob_get(f.bs, "nothere/x", &data, &len, 0, &err), -ENOENT);
        close_backend(&f);
    }
}

static void test_list_prefix(void **state)
{
    for (int b = 0; b < 1; b++) { /* the engine GPROF_TEST_BLOBS names */
        struct fixture f;
        open_backend(&f, b);
        struct gp_err err = {0};
        const char *keys[] = {"a/2026-01-01/x", "a/2026-01-02/y", "ab/z", "b/w", "top"};
        for (int i = 0; i < 5; i++)
            assert_int_equal(blob_put(f.bs, keys[i], "1", 1, &err), 0);
        struct keys ks = {0};
        assert_int_equal(blob_list(f.bs, "a/", keys_cb, &ks, &err), 0);
        assert_int_equal(ks.n, 2);
        assert_true(has_key(&ks, "a/2026-01-01/x"));
        assert_true(has_key(&ks, "a/2026-01-02/y"));
        memset(&ks, 0, sizeof(ks));
        assert_int_equal(blob_list(f.bs, "a", keys_cb, &ks, &err), 0);
        assert_int_equal(ks.n, 3); /* a/... and ab/z */
        memset(&ks, 0, sizeof(ks));
        assert_int_equal(blob_list(f.bs, "a/2026-01-02/", keys_cb, &ks, &err), 0);
        assert_int_equal(ks.n, 1);
        int n = 0;
        assert_int_equal(blob_list(f.bs, "", count_cb, &n, &err), 0);
        assert_int_equal(n, 5);
        assert_int_equal(blob_list(f.bs, "../", count_cb, &n, &err), -EINVAL);
        close_backend(&f);
    }
}

static void test_key_validation(void **state)
{
    static const char *const bad[] = {
            "",        "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b",      "a/",
            ".hidden", "a/.tmp",      "a b",  "a\\b",      "a\nb",  "a%2e%2e/b", "..",
            ".",       "a/..",        "é",    "a:b",       "a?b",   "a*b",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(blob_key_valid(bad[i]));
    char longkey[BLOB_KEY_MAX + 2];
    memset(longkey, 'a', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = 0;
    assert_false(blob_key_valid(longkey));
    longkey[BLOB_KEY_MAX] = 0;
    assert_true(blob_key_valid(longkey));
    static const char *const good[] = {"a", "a/b", "svc/2026-01-01/1_u-1_host.name.col.gz",
                                       "A-Z_0.9", "a..b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_true(blob_key_valid(good[i]));

    for (int b = 0; b < 1; b++) { /* the engine GPROF_TEST_BLOBS names */
        struct fixture f;
        open_backend(&f, b);
        struct gp_err err = {0};
        /* A file outside the store that traversal would reach. */
        char outside[512];
        snprintf(outside, sizeof(outside), "%s/secret", f.dir);
        FILE *fp = fopen(outside, "w");
        assert_non_null(fp);
        fputs("s3cret", fp);
        fclose(fp);
        void *data;
        size_t len;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            assert_int_equal(blob_put(f.bs, bad[i], "x", 1, &err), -EINVAL);
            assert_int_equal(blob_get(f.bs, bad[i], &data, &len, 0, &err), -EINVAL);
            assert_int_equal(blob_delete(f.bs, bad[i], &err), -EINVAL);
        }
        assert_int_equal(blob_get(f.bs, "../secret", &data, &len, 0, &err), -EINVAL);
        assert_non_null(strstr(err.msg, "invalid blob key"));
        struct stat st;
        assert_int_equal(stat(outside, &st), 0); /* untouched */
        close_backend(&f);
    }
}

struct put_arg {
    struct blob_store *bs;
    int id;
    int fails;
};

static void *put_thread(void *v)
{
    struct put_arg *a = v;
    char buf[4096];
    memset(buf, 'a' + a->id, sizeof(buf));
    for (int i = 0; i < 50; i++) {
        struct gp_err err = {0};
        char key[64];
        snprintf(key, sizeof(key), "shared/k%d", i % 5);
        if (blob_put(a->bs, key, buf, sizeof(buf), &err) < 0)
            a->fails++;
        void *data;
        size_t len;
        if (blob_get(a->bs, key, &data, &len, 0, &err) == 0) {
            /* whoever wrote last, the object is complete and uniform */
            if (len != sizeof(buf))
                a->fails++;
            for (size_t j = 1; j < len; j++)
                if (((char *)data)[j] != ((char *)data)[0]) {
                    a->fails++;
                    break;
                }
            free(data);
        } else {
            a->fails++;
        }
    }
    return NULL;
}

/* Runs fn on four threads against bs; none may fail a put. */
static void run_put_threads(struct blob_store *bs, void *(*fn)(void *))
{
    pthread_t t[4];
    struct put_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (struct put_arg){bs, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, fn, &a[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].fails, 0);
    }
}

static void test_concurrent_atomic_puts(void **state)
{
    for (int b = 0; b < 1; b++) { /* the engine GPROF_TEST_BLOBS names */
        struct fixture f;
        open_backend(&f, b);
        run_put_threads(f.bs, put_thread);
        int n = 0;
        struct gp_err err = {0};
        assert_int_equal(blob_list(f.bs, "", count_cb, &n, &err), 0);
        assert_int_equal(n, 5);
        if (strcmp(f.engine, "fs") == 0) {
            /* no temp files left behind */
            char cmd[600];
            snprintf(cmd, sizeof(cmd), "test -z \"$(find %s/blobs -name '.*' -type f)\"", f.dir);
            assert_int_equal(system(cmd), 0);
        }
        close_backend(&f);
    }
}

/* More directories than the fs backend shares directory fsyncs for at once (it recycles
 * idle slots): every put still lands, complete. */
static void *dirs_thread(void *v)
{
    struct put_arg *a = v;
    for (int i = 0; i < 40; i++) {
        struct gp_err err = {0};
        char key[64], val[32];
        snprintf(key, sizeof(key), "d%d/t%d", i, a->id);
        snprintf(val, sizeof(val), "%d:%d", a->id, i);
        if (blob_put(a->bs, key, val, strlen(val), &err) < 0)
            a->fails++;
    }
    return NULL;
}

static void test_puts_into_many_directories(void **state)
{
    for (int b = 0; b < 1; b++) { /* the engine GPROF_TEST_BLOBS names */
        struct fixture f;
        open_backend(&f, b);
        run_put_threads(f.bs, dirs_thread);
        for (int id = 0; id < 4; id++)
            for (int i = 0; i < 40; i++) {
                char key[64], want[32];
                snprintf(key, sizeof(key), "d%d/t%d", i, id);
                snprintf(want, sizeof(want), "%d:%d", id, i);
                void *data = NULL;
                size_t len = 0;
                struct gp_err err = {0};
                assert_int_equal(blob_get(f.bs, key, &data, &len, 0, &err), 0);
                assert_int_equal(len, strlen(want));
                assert_memory_equal(data, want, len);
                free(data);
            }
        close_backend(&f);
    }
}

static void test_bad_specs(void **state)
{
    struct blob_store *bs;
    struct gp_err err = {0};
    assert_int_equal(blob_store_open("nope", &bs, &err), -EINVAL);
    assert_int_equal(blob_store_open("s4:/x", &bs, &err), -ENOTSUP);
    assert_int_equal(blob_store_open("fs:", &bs, &err), -EINVAL);
    assert_true(blob_store_open("fs:/proc/gprof-cannot-create", &bs, &err) < 0);
    assert_non_null(strstr(err.msg, "/proc/gprof-cannot-create"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_roundtrip),
            cmocka_unit_test(test_list_prefix),
            cmocka_unit_test(test_key_validation),
            cmocka_unit_test(test_concurrent_atomic_puts),
            cmocka_unit_test(test_bad_specs),
            cmocka_unit_test(test_puts_into_many_directories),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
