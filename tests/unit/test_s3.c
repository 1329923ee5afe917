/* test_s3.c — the S3 blob engine against s3rver (tests/servers/server_s3.sh) behind a
 * fault-injecting proxy (tests/servers/s3/faultproxy.py): retries on 500/503/429 and on a
 * connection dropped mid-body, no retry on 400, a clear error when S3 keeps failing, list
 * pagination, messages that say what to fix for bad credentials, an unknown bucket and an
 * endpoint that is down (no secret printed), and put/get/list rates on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/store/blob/blob.h"
#include "common/curl.h"
#include "test_store_util.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char *endpoint; /* s3rver, from GPROF_TEST_S3_ENDPOINT */
static char proxy[64];       /* http://127.0.0.1:PORT of the fault proxy */
static pid_t proxy_pid;
static char *tmp;

static int count_cb(const char *key, uint64_t size, void *ctx)
{
    (void)key;
    (void)size;
    (*(int *)ctx)++;
    return 0;
}

static size_t sink(char *p, size_t sz, size_t n, void *ctx)
{
    struct strbuf *b = ctx;
    sb_append(b, p, sz * n);
    return sz * n;
}

/* A control request to the proxy; returns its JSON answer's value of field, or -1. */
static long control(const char *path, const char *field)
{
    char url[256];
    snprintf(url, sizeof(url), "%s/__fault/%s", proxy, path);
    CURL *c = gp_curl.easy_init();
    struct strbuf b = STRBUF_INIT;
    gp_curl.easy_setopt(c, CURLOPT_URL, url);
    gp_curl.easy_setopt(c, CURLOPT_POST, 1L);
    gp_curl.easy_setopt(c, CURLOPT_POSTFIELDS, "");
    gp_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    gp_curl.easy_setopt(c, CURLOPT_WRITEDATA, &b);
    assert_int_equal(gp_curl.easy_perform(c), CURLE_OK);
    gp_curl.easy_cleanup(c);
    long v = -1;
    if (field) {
        char key[64];
        snprintf(key, sizeof(key), "\"%s\": ", field);
        const char *p = strstr(sb_str(&b), key);
        if (p)
            v = strtol(p + strlen(key), NULL, 10);
    }
    sb_free(&b);
    return v;
}

static int setup(void **state)
{
    endpoint = getenv("GPROF_TEST_S3_ENDPOINT");
    if (!endpoint || !*endpoint) {
        int req = getenv("GPROF_REQUIRE_SERVERS") && !strcmp(getenv("GPROF_REQUIRE_SERVERS"), "1");
        fprintf(stderr, "%s: GPROF_TEST_S3_ENDPOINT is not set (tests/servers/server_s3.sh)\n",
                req ? "FAIL" : "SKIP");
        exit(req ? 1 : 77);
    }
    tmp = tu_tmpdir("s3");
    char script[600], portfile[600];
    snprintf(script, sizeof(script), "%s/tests/servers/s3/faultproxy.py",
             getenv("GPROF_SOURCE_DIR") ? getenv("GPROF_SOURCE_DIR") : ".");
    snprintf(portfile, sizeof(portfile), "%s/port", tmp);
    char *argv[] = {"python3", script, (char *)endpoint, portfile, NULL};
    assert_int_equal(posix_spawnp(&proxy_pid, "python3", NULL, NULL, argv, environ), 0);
    for (int i = 0; i < 300; i++) {
        FILE *f = fopen(portfile, "r");
        int port = 0;
        if (f) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
        if (port) {
            snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", port);
            return 0;
        }
        usleep(100000);
    }
    fail_msg("the fault proxy did not start");
    return -1;
}

static int teardown(void **state)
{
    if (proxy_pid > 0) {
        kill(proxy_pid, SIGTERM);
        waitpid(proxy_pid, NULL, 0);
    }
    /* every store of this run lives under faults/<pid>/ on the server: dropped (on success) */
    char *spec = NULL;
    const char *ep = getenv("GPROF_TEST_S3_ENDPOINT");
    if (ep && asprintf(&spec, "s3://gprof-test/faults/%d?endpoint=%s&region=us-east-1&style=path",
                       (int)getpid(), ep) >= 0) {
        tu_specs_drop(&spec, 1);
        free(spec);
    }
    tu_rmrf(tmp);
    free(tmp);
    return 0;
}

/* A store through the proxy under a prefix of its own. */
static struct blob_store *open_via(const char *base, const char *extra, int *rc_out,
                                   struct gp_err *err)
{
    static int n;
    char spec[700];
    snprintf(spec, sizeof(spec),
             "s3://gprof-test/faults/%d/%d?endpoint=%s&region=us-east-1&style=path&%s",
             (int)getpid(), n++, base, extra ? extra : "retry_seconds=20");
    struct blob_store *bs = NULL;
    int rc = blob_store_open(spec, &bs, err);
    if (rc_out)
        *rc_out = rc;
    return rc == 0 ? bs : NULL;
}

static struct blob_store *open_ok(const char *extra)
{
    struct gp_err err = {0};
    int rc;
    struct blob_store *bs = open_via(proxy, extra, &rc, &err);
    if (!bs)
        fail_msg("open: %s", err.msg);
    return bs;
}

static void test_retries_server_errors(void **state)
{
    struct blob_store *bs = open_ok(NULL);
    struct gp_err err = {0};
    const char *codes[] = {"500", "503", "429"};
    for (int i = 0; i < 3; i++) {
        long before = control("clear", "faults");
        char set[64];
        snprintf(set, sizeof(set), "set?mode=%s&n=3", codes[i]);
        control(set, NULL);
        char key[32];
        snprintf(key, sizeof(key), "svc/k%d", i);
        assert_int_equal(blob_put(bs, key, "payload", 7, &err), 0);
        assert_int_equal(control("stats", "faults"), before + 3); /* 3 failures, then stored */
        snprintf(set, sizeof(set), "set?mode=%s&n=2", codes[i]);
        control(set, NULL);
        void *data;
        size_t len;
        assert_int_equal(blob_get(bs, key, &data, &len, 0, &err), 0);
        assert_int_equal(len, 7);
        assert_memory_equal(data, "payload", 7);
        free(data);
    }
    control("clear", NULL);
    blob_store_close(bs);
}

static void test_retries_dropped_connection(void **state)
{
    struct blob_store *bs = open_ok(NULL);
    struct gp_err err = {0};
    size_t n = 256 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('a' + i % 23);
    control("set?mode=drop&n=1", NULL); /* stored upstream, the answer lost: put again */
    assert_int_equal(blob_put(bs, "svc/big", big, n, &err), 0);
    control("set?mode=drop&n=1", NULL); /* half the body, then the connection closes */
    void *data;
    size_t len;
    assert_int_equal(blob_get(bs, "svc/big", &data, &len, 0, &err), 0);
    assert_int_equal(len, n);
    assert_memory_equal(data, big, n);
    free(data);
    control("set?mode=reset&n=2", NULL); /* closed without an answer */
    uint64_t size;
    assert_int_equal(blob_stat(bs, "svc/big", &size, &err), 0);
    assert_int_equal(size, n);
    control("clear", NULL);
    free(big);
    blob_store_close(bs);
}

static void test_no_retry_on_client_error(void **state)
{
    struct blob_store *bs = open_ok(NULL);
    struct gp_err err = {0};
    long before = control("clear", "requests");
    control("set?mode=400&n=5", NULL);
    assert_true(blob_put(bs, "svc/x", "1", 1, &err) < 0);
    assert_int_equal(control("clear", "requests"), before + 1); /* one request, no retries */
    assert_non_null(strstr(err.msg, "400"));
    blob_store_close(bs);
}

static void test_persistent_failure_is_an_error(void **state)
{
    struct blob_store *bs = open_ok("retry_seconds=1");
    struct gp_err err = {0};
    control("set?mode=500&n=-1", NULL);
    int rc = blob_put(bs, "svc/never", "1", 1, &err);
    control("clear", NULL);
    assert_int_equal(rc, -EBUSY); /* the API answers 503: the agent keeps it and retries */
    assert_non_null(strstr(err.msg, "500"));
    assert_non_null(strstr(err.msg, "svc/never"));
    uint64_t size;
    assert_int_equal(blob_stat(bs, "svc/never", &size, &err), -ENOENT);
    blob_store_close(bs);
}

static void test_pagination(void **state)
{
    struct blob_store *bs = open_ok("max_keys=2");
    struct gp_err err = {0};
    for (int i = 0; i < 7; i++) {
        char key[32];
        snprintf(key, sizeof(key), "p/%d", i);
        assert_int_equal(blob_put(bs, key, "1", 1, &err), 0);
    }
    assert_int_equal(blob_put(bs, "q/other", "1", 1, &err), 0);
    int n = 0;
    control("set?mode=503&n=1", NULL); /* a failed page is retried, not skipped */
    assert_int_equal(blob_list(bs, "p/", count_cb, &n, &err), 0);
    assert_int_equal(n, 7);
    n = 0;
    assert_int_equal(blob_list(bs, "", count_cb, &n, &err), 0);
    assert_int_equal(n, 8);
    control("clear", NULL);
    blob_store_close(bs);
}

static void test_messages_say_what_to_fix(void **state)
{
    struct gp_err err = {0};
    int rc;
    char spec[600];
    /* wrong keys, in the spec (as the config fills them): refused, the secret never printed */
    snprintf(spec, sizeof(spec),
             "s3://WRONGKEY:sup3r-s3cret@gprof-test/x?endpoint=%s&retry_seconds=0", endpoint);
    struct blob_store *bs = NULL;
    rc = blob_store_open(spec, &bs, &err);
    if (rc != -EACCES)
        fail_msg("bad keys: %d %s", rc, err.msg);
    assert_non_null(strstr(err.msg, "access key"));
    assert_null(strstr(err.msg, "sup3r-s3cret"));
    /* an unknown bucket */
    snprintf(spec, sizeof(spec), "s3://no-such-bucket/x?endpoint=%s&retry_seconds=0", endpoint);
    rc = blob_store_open(spec, &bs, &err);
    assert_int_equal(rc, -ENXIO); /* not -ENOENT: the indexer would drop the profile for good */
    assert_non_null(strstr(err.msg, "no-such-bucket"));
    assert_non_null(strstr(err.msg, "does not exist"));
    /* nothing listens there */
    rc = blob_store_open(
            "s3://gprof-test/x?endpoint=http://127.0.0.1:1&retry_seconds=0.3&connect_timeout=1",
            &bs, &err);
    assert_int_equal(rc, -EBUSY); /* uploads answer 503; the indexer comes back later */
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    assert_non_null(strstr(err.msg, "is up and reachable"));
    /* malformed specs */
    assert_int_equal(blob_store_open("s3://B/x", &bs, &err), -EINVAL);
    assert_int_equal(blob_store_open("s3://gprof-test/x?style=diagonal", &bs, &err), -EINVAL);
    assert_int_equal(blob_store_open("s3://gprof-test/x?endpoint=ftp://h", &bs, &err), -EINVAL);
    assert_int_equal(blob_store_open("s3://gprof-test/../x", &bs, &err), -EINVAL);
}

/* style=virtual: http://gprof-test.s3.localhost:PORT/key (tests/servers/s3/run.js serves
 * BUCKET.s3.localhost); with AWS_SESSION_TOKEN its x-amz-security-token is sent signed. */
static void test_virtual_host_style_and_session_token(void **state)
{
    const char *port = strrchr(endpoint, ':');
    assert_non_null(port);
    char spec[600];
    snprintf(spec, sizeof(spec),
             "s3://gprof-test/vhost-%d?endpoint=http://s3.localhost%s&style=virtual", (int)getpid(),
             port);
    setenv("AWS_SESSION_TOKEN", "session-token-for-the-test", 1);
    struct blob_store *bs = NULL;
    struct gp_err err = {0};
    int rc = blob_store_open(spec, &bs, &err);
    unsetenv("AWS_SESSION_TOKEN");
    if (rc)
        fail_msg("virtual-host open: %s", err.msg);
    assert_int_equal(blob_put(bs, "v/1", "vv", 2, &err), 0);
    void *d;
    size_t len;
    assert_int_equal(blob_get(bs, "v/1", &d, &len, 0, &err), 0);
    assert_int_equal(len, 2);
    free(d);
    int n = 0;
    assert_int_equal(blob_list(bs, "v/", count_cb, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_int_equal(blob_delete(bs, "v/1", &err), 0); /* leaves nothing on the server */
    blob_store_close(bs);
}

static void test_rates(void **state)
{
    struct gp_err err = {0};
    struct blob_store *bs = open_via(endpoint, "retry_seconds=20", NULL, &err);
    assert_non_null(bs);
    int n = getenv("GPROF_BENCH") ? 2000 : 200;
    char buf[4096];
    memset(buf, 'x', sizeof(buf));
    double t0 = tu_now();
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof(key), "rate/%05d", i);
        assert_int_equal(blob_put(bs, key, buf, sizeof(buf), &err), 0);
    }
    double t1 = tu_now();
    for (int i = 0; i < n; i++) {
        char key[64];
        snprintf(key, sizeof(key), "rate/%05d", i);
        void *d;
        size_t len;
        assert_int_equal(blob_get(bs, key, &d, &len, 0, &err), 0);
        free(d);
    }
    double t2 = tu_now();
    int seen = 0;
    assert_int_equal(blob_list(bs, "rate/", count_cb, &seen, &err), 0);
    double t3 = tu_now();
    assert_int_equal(seen, n);
    printf("# s3 (s3rver on loopback, one thread, 4 KiB objects): put %.0f/s, get %.0f/s, "
           "list %.0f keys/s (%d keys)\n",
           n / (t1 - t0), n / (t2 - t1), n / (t3 - t2), n);
    blob_store_close(bs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_retries_server_errors),
            cmocka_unit_test(test_retries_dropped_connection),
            cmocka_unit_test(test_no_retry_on_client_error),
            cmocka_unit_test(test_persistent_failure_is_an_error),
            cmocka_unit_test(test_pagination),
            cmocka_unit_test(test_messages_say_what_to_fix),
            cmocka_unit_test(test_virtual_host_style_and_session_token),
            cmocka_unit_test(test_rates),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
