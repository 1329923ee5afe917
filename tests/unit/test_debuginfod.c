/* test_debuginfod.c — debug files from debuginfod: which binaries want one, adding a fetched
 * file's symbols to a stripped binary's (tests/workloads/debuginfod_wl), and the fetch queue
 * against servers that refuse, never answer, or are turned off: requests never wait, failures
 * are counted, and freeing the queue ends a fetch in flight. The fetch itself against a real
 * debuginfod server is tests/integration/test_debuginfod.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/symbols/debuginfod.h"
#include "agent/symbols/elfsyms.h"
#include "common/log.h"

static char wldir[4096];

static int setup(void **state)
{
    (void)state;
    const char *b = getenv("GPROF_BUILD_DIR");
    if (!b) {
        fprintf(stderr, "GPROF_BUILD_DIR is not set (run through ctest)\n");
        return -1;
    }
    snprintf(wldir, sizeof(wldir), "%s/tests/workloads", b);
    gp_log_set_level(GP_LOG_DEBUG);
    unsetenv("DEBUGINFOD_URLS");
    unsetenv("DEBUGINFOD_TIMEOUT");
    unsetenv("DEBUGINFOD_MAXSIZE");
    return 0;
}

static struct gp_elfsyms *load(const char *rel)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s", wldir, rel);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct gp_elfsyms *e = NULL;
    struct gp_err err = {0};
    assert_int_equal(gp_elfsyms_load_fd(fd, NULL, &e, &err), 0);
    close(fd);
    return e;
}

static uint64_t addr_of(const struct gp_elfsyms *e, const char *name)
{
    for (size_t i = 0; i < e->nsyms; i++)
        if (!strcmp(e->strs + e->syms[i].name, name))
            return e->syms[i].addr;
    fail_msg("%s not in the symbol table", name);
    return 0;
}

static void test_stripped_binary_named_by_its_debug_file(void **state)
{
    (void)state;
    struct gp_elfsyms *dbg = load("debuginfod-srv/debuginfod_wl.debug");
    uint64_t hot = addr_of(dbg, "debuginfod_hot_spin") + 4;
    struct gp_elfsyms *e = load("debuginfod_wl");
    assert_true(gp_elfsyms_wants_debug_file(e));
    assert_null(gp_elfsyms_lookup(e, hot));
    size_t before = e->nsyms;

    char path[4200];
    struct gp_err err = {0};
    snprintf(path, sizeof(path), "%s/wl_c", wldir); /* a .symtab, but another build-id */
    assert_int_equal(gp_elfsyms_add_debug_file(e, path, &err), -ENOENT);
    assert_int_equal(e->nsyms, before);
    assert_true(gp_elfsyms_wants_debug_file(e));

    snprintf(path, sizeof(path), "%s/debuginfod-srv/debuginfod_wl.debug", wldir);
    assert_int_equal(gp_elfsyms_add_debug_file(e, path, &err), 0);
    assert_string_equal(gp_elfsyms_lookup(e, hot), "debuginfod_hot_spin");
    assert_true(e->nsyms > before);
    assert_true(e->sources & GP_SRC_DEBUGINFOD);
    assert_false(gp_elfsyms_wants_debug_file(e)); /* never fetched twice */
    gp_elfsyms_free(e);
    gp_elfsyms_free(dbg);

    struct gp_elfsyms *full = load("wl_c"); /* has a .symtab: nothing to fetch */
    assert_false(gp_elfsyms_wants_debug_file(full));
    gp_elfsyms_free(full);
}

/* A TCP listener on loopback that never accepts: connections complete, nothing is answered. */
static int silent_server(int *port)
{
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s, 64), 0);
    socklen_t l = sizeof(a);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &l), 0);
    *port = ntohs(a.sin_port);
    return s;
}

static int configure(const char *url, unsigned timeout_s, char *cache, size_t cachelen)
{
    snprintf(cache, cachelen, "/tmp/gprof-test-debuginfod-XXXXXX");
    assert_non_null(mkdtemp(cache));
    struct gp_debuginfod_cfg c = {.urls = url, .cache_dir = cache, .timeout_s = timeout_s};
    struct gp_err err = {0};
    return gp_debuginfod_configure(&c, &err);
}

static void rm_cache(const char *cache)
{
    char cmd[4200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", cache);
    assert_int_equal(system(cmd), 0);
}

/* Built without libdebuginfod (CMake warned): a skip here, a failure in CI. */
static void no_debuginfod(void)
{
    const char *ci = getenv("CI");
    if (ci && !strcmp(ci, "true"))
        fail_msg(
                "built without libdebuginfod: install libdebuginfod-dev (scripts/install-deps.sh)");
    skip();
}

static const uint8_t some_id[20] = {0xde, 0xad, 0xbe, 0xef, 1,  2,  3,  4,  5,  6,
                                    7,    8,    9,    10,   11, 12, 13, 14, 15, 16};

/* Waits (polling; bounded only by ctest's timeout) until the queue has n failures. */
static void wait_failed(struct gp_debuginfod *d, uint64_t n)
{
    struct gp_debuginfod_stats st;
    for (;;) {
        gp_debuginfod_stats(d, &st);
        if (st.failed >= n)
            break;
        usleep(20000);
    }
    assert_int_equal(st.failed, n);
    assert_int_equal(st.fetched, 0);
    assert_int_equal(st.pending, 0);
}

static void test_silent_server_times_out(void **state)
{
    (void)state;
    int port, srv = silent_server(&port);
    char url[64], cache[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    if (configure(url, 1, cache, sizeof(cache)) != 1)
        no_debuginfod();
    struct gp_debuginfod *d;
    assert_int_equal(gp_debuginfod_new(&d), 0);
    assert_int_equal(gp_debuginfod_request(d, some_id, sizeof(some_id)), 0);
    assert_int_equal(gp_debuginfod_request(d, some_id, sizeof(some_id)), 0); /* queued once */
    wait_failed(d, 1);
    char miss[256]; /* a timeout is remembered as a miss by libdebuginfod (cache_miss_s) */
    snprintf(miss, sizeof(miss), "%s/deadbeef0102030405060708090a0b0c0d0e0f10/debuginfo", cache);
    assert_int_equal(access(miss, F_OK), 0);
    uint8_t id[GP_BUILD_ID_MAX];
    size_t len;
    char *path;
    assert_int_equal(gp_debuginfod_take(d, id, &len, &path), 0);
    /* failed once: not asked again */
    assert_int_equal(gp_debuginfod_request(d, some_id, sizeof(some_id)), 0);
    struct gp_debuginfod_stats st;
    gp_debuginfod_stats(d, &st);
    assert_int_equal(st.requested, 1);
    gp_debuginfod_free(d);
    close(srv);
    rm_cache(cache);
}

static void test_free_ends_a_fetch_in_flight(void **state)
{
    (void)state;
    int port, srv = silent_server(&port);
    char url[64], cache[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    if (configure(url, 3600, cache, sizeof(cache)) != 1)
        no_debuginfod();
    struct gp_debuginfod *d;
    assert_int_equal(gp_debuginfod_new(&d), 0);
    assert_int_equal(gp_debuginfod_request(d, some_id, sizeof(some_id)), 0);
    usleep(300000);        /* the worker is connected and waiting for an answer that never comes */
    gp_debuginfod_free(d); /* returns: the progress callback aborts the transfer */
    /* and is not remembered as a miss: the next session asks again */
    char miss[256];
    snprintf(miss, sizeof(miss), "%s/deadbeef0102030405060708090a0b0c0d0e0f10/debuginfo", cache);
    assert_int_equal(access(miss, F_OK), -1);
    close(srv);
    rm_cache(cache);
}

static void test_refused_connection_fails(void **state)
{
    (void)state;
    int port, srv = silent_server(&port);
    close(srv); /* nothing listens there now */
    char url[64], cache[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", port);
    if (configure(url, 30, cache, sizeof(cache)) != 1)
        no_debuginfod();
    struct gp_debuginfod *d;
    assert_int_equal(gp_debuginfod_new(&d), 0);
    assert_int_equal(gp_debuginfod_request(d, some_id, sizeof(some_id)), 0);
    wait_failed(d, 1);
    gp_debuginfod_free(d);
    rm_cache(cache);
}

static void test_off_without_urls(void **state)
{
    (void)state;
    struct gp_err err = {0};
    struct gp_debuginfod_cfg c = {.urls = ""};
    assert_int_equal(gp_debuginfod_configure(&c, &err), 0);
    assert_false(gp_debuginfod_enabled());
    unsetenv("DEBUGINFOD_URLS");
    assert_int_equal(gp_debuginfod_configure(NULL, &err), 0);
    assert_false(gp_debuginfod_enabled());
    struct gp_debuginfod *d;
    assert_int_equal(gp_debuginfod_new(&d), 0);
    assert_int_equal(gp_debuginfod_request(d, some_id, sizeof(some_id)), 0);
    struct gp_debuginfod_stats st;
    gp_debuginfod_stats(d, &st);
    assert_int_equal(st.requested, 0); /* nothing queued, no thread */
    gp_debuginfod_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_stripped_binary_named_by_its_debug_file),
            cmocka_unit_test(test_silent_server_times_out),
            cmocka_unit_test(test_free_ends_a_fetch_in_flight),
            cmocka_unit_test(test_refused_connection_fails),
            cmocka_unit_test(test_off_without_urls),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
