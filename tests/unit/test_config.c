/* test_config.c — key = value parsing, env and flag precedence, typed getters, and the
 * coordinator's settings (auth refusal on non-loopback addresses). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "coordinator/config.h"

static const char *const keys[] = {"listen", "state_dir", "max_upload_bytes", "auth", NULL};

static void test_parse_text(void **state)
{
    struct gp_config *c = gp_config_new();
    struct gp_err err = {0};
    assert_int_equal(gp_config_parse_text(c,
                                          "# comment\n"
                                          "  listen = 0.0.0.0:9000   # trailing\n"
                                          "\n"
                                          "state-dir = \"/tmp/a b\"\n"
                                          "max_upload_bytes=4MiB\n",
                                          "t.conf", keys, &err),
                     0);
    assert_string_equal(gp_config_get(c, "listen"), "0.0.0.0:9000");
    assert_string_equal(gp_config_get(c, "state_dir"), "/tmp/a b");
    uint64_t sz;
    assert_int_equal(gp_config_get_size(c, "max_upload_bytes", 0, &sz, &err), 0);
    assert_int_equal(sz, 4u << 20);
    assert_int_equal(gp_config_source(c, "listen"), GP_CFG_FILE);
    gp_config_free(c);
}

static void test_parse_errors(void **state)
{
    struct gp_config *c = gp_config_new();
    struct gp_err err = {0};
    assert_int_equal(gp_config_parse_text(c, "listen = x\nbogus\n", "t.conf", keys, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "t.conf:2"));
    assert_int_equal(gp_config_parse_text(c, "lisen = x\n", "t.conf", keys, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unknown setting 'lisen'"));
    assert_int_equal(gp_config_parse_text(c, "auth = \"on\n", "t.conf", keys, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unterminated"));
    gp_config_set(c, "max_upload_bytes", "12Q", GP_CFG_FILE, &err);
    uint64_t sz;
    assert_int_equal(gp_config_get_size(c, "max_upload_bytes", 0, &sz, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "max_upload_bytes"));
    int64_t x;
    gp_config_set(c, "listen", "99", GP_CFG_FILE, &err);
    assert_int_equal(gp_config_get_i64(c, "listen", 0, 0, 10, &x, &err), -ERANGE);
    gp_config_free(c);
}

static void test_precedence(void **state)
{
    struct gp_config *c = gp_config_new();
    struct gp_err err = {0};
    assert_int_equal(gp_config_set(c, "listen", "flag", GP_CFG_FLAG, &err), 0);
    assert_int_equal(gp_config_set(c, "listen", "env", GP_CFG_ENV, &err), 0);
    assert_int_equal(gp_config_set(c, "listen", "file", GP_CFG_FILE, &err), 0);
    assert_string_equal(gp_config_get(c, "listen"), "flag");
    setenv("GPROFTEST_STATE_DIR", "/from/env", 1);
    assert_int_equal(gp_config_parse_text(c, "state_dir = /from/file\n", "t", keys, &err), 0);
    assert_int_equal(gp_config_load_env(c, "GPROFTEST_", keys, &err), 0);
    assert_string_equal(gp_config_get(c, "state_dir"), "/from/env");
    unsetenv("GPROFTEST_STATE_DIR");
    int b;
    assert_int_equal(gp_parse_bool("Off", &b), 0);
    assert_int_equal(b, 0);
    assert_int_equal(gp_parse_bool("maybe", &b), -EINVAL);
    gp_config_free(c);
}

static void test_coord_config(void **state)
{
    struct coord_config c;
    struct gp_err err = {0};
    char path[] = "/tmp/gprof-test-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "listen = 127.0.0.1:7000\nheartbeat_interval_s = 10\nstate_dir = /tmp/f\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    setenv("GPROF_STATE_DIR", "/tmp/e", 1);
    char *argv[] = {"--config",       path,    "--listen",
                    "127.0.0.1:7001", "--set", "max_hosts_per_request=3"};
    assert_int_equal(coord_config_load(&c, 6, argv, &err), 0);
    assert_string_equal(c.listen, "127.0.0.1:7001"); /* flag > file */
    assert_string_equal(c.state_dir, "/tmp/e");      /* env > file */
    assert_int_equal(c.heartbeat_interval_s, 10);    /* file > default */
    assert_int_equal(c.max_hosts_per_request, 3);
    assert_int_equal(c.max_upload_bytes, 4u << 20); /* default */
    assert_false(c.auth);                           /* loopback: off by default */
    unsetenv("GPROF_STATE_DIR");

    char *pub[] = {"--listen", "0.0.0.0:8080", "--auth", "off", "--allow-plaintext", "on"};
    assert_int_equal(coord_config_load(&c, 6, pub, &err), -EPERM);
    assert_non_null(strstr(err.msg, "auth = on"));
    char *pub2[] = {"--listen", "0.0.0.0:8080", "--allow-plaintext", "on"};
    assert_int_equal(coord_config_load(&c, 4, pub2, &err), 0);
    assert_true(c.auth); /* on by default off loopback */
    assert_true(c.allow_plaintext);
    /* issue 16: plain HTTP off loopback only with allow_plaintext; TLS needs cert and key */
    char *plain[] = {"--listen", "0.0.0.0:8080"};
    assert_int_equal(coord_config_load(&c, 2, plain, &err), -EPERM);
    assert_non_null(strstr(err.msg, "allow_plaintext = on"));
    char *plain6[] = {"--listen", "[::]:8080"};
    assert_int_equal(coord_config_load(&c, 2, plain6, &err), -EPERM);
    char *tls[] = {"--listen", "0.0.0.0:8080", "--tls-cert", "/c.pem", "--tls-key", "/k.pem"};
    assert_int_equal(coord_config_load(&c, 6, tls, &err), 0);
    assert_string_equal(c.tls_cert, "/c.pem");
    assert_string_equal(c.tls_key, "/k.pem");
    assert_false(c.metrics_public);
    char *half[] = {"--listen", "127.0.0.1:8080", "--tls-key", "/k.pem"};
    assert_int_equal(coord_config_load(&c, 4, half, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "tls_cert is missing"));
    char *lo[] = {"--listen", "127.0.0.2:8080", "--set", "metrics_public=on"};
    assert_int_equal(coord_config_load(&c, 4, lo, &err), 0); /* 127/8 is loopback */
    assert_true(c.metrics_public);
    char *bad[] = {"--no-such-thing", "1"};
    assert_int_equal(coord_config_load(&c, 2, bad, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no-such-thing"));
    char *badport[] = {"--listen", "127.0.0.1:99999"};
    assert_int_not_equal(coord_config_load(&c, 2, badport, &err), 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_text),
            cmocka_unit_test(test_parse_errors),
            cmocka_unit_test(test_precedence),
            cmocka_unit_test(test_coord_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
