/* test_http_guard.c — issue 10 #5 and #18: the Host check (DNS rebinding), the Origin check on
 * state-changing methods (cross-site requests), and the redaction of ?key= in logged URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "coordinator/http/guard.h"

static int check(const struct http_guard *g, const char *method, const char *host,
                 const char *origin)
{
    char msg[512];
    return http_guard_check(g, method, host, origin, msg, sizeof(msg));
}

static void test_host(void **state)
{
    (void)state;
    struct http_guard g;
    char msg[256];
    assert_int_equal(http_guard_init(&g, "127.0.0.1", true, NULL, NULL, msg, sizeof(msg)), 0);
    assert_int_equal(check(&g, "GET", "127.0.0.1:8080", NULL), 0);
    assert_int_equal(check(&g, "GET", "LOCALHOST:8080", NULL), 0);
    assert_int_equal(check(&g, "GET", "[::1]:8080", NULL), 0);
    assert_int_equal(check(&g, "GET", "localhost", NULL), 0);
    assert_int_equal(check(&g, "GET", NULL, NULL), 0); /* HTTP/1.0 without Host */
    assert_int_equal(check(&g, "GET", "evil.example:8080", NULL), 421);
    assert_int_equal(check(&g, "GET", "localhost.evil.example", NULL), 421);
    assert_int_equal(check(&g, "GET", "", NULL), 421);
    assert_int_equal(check(&g, "GET", "[::1", NULL), 421);
    char m[512];
    assert_int_equal(http_guard_check(&g, "POST", "rebind.example:8080", NULL, m, sizeof(m)), 421);
    assert_non_null(strstr(m, "allowed_hosts"));
    /* configured names; "*" turns the check off; without check_host only names set it on */
    assert_int_equal(http_guard_init(&g, "127.0.0.1", true, "prof.example, [fe80::1]", NULL, msg,
                                     sizeof(msg)),
                     0);
    assert_int_equal(check(&g, "GET", "Prof.Example:443", NULL), 0);
    assert_int_equal(check(&g, "GET", "[fe80::1]:8080", NULL), 0);
    assert_int_equal(check(&g, "GET", "other.example", NULL), 421);
    assert_int_equal(http_guard_init(&g, "127.0.0.1", true, "*", NULL, msg, sizeof(msg)), 0);
    assert_int_equal(check(&g, "GET", "anything.example", NULL), 0);
    assert_int_equal(http_guard_init(&g, "0.0.0.0", false, NULL, NULL, msg, sizeof(msg)), 0);
    assert_int_equal(check(&g, "GET", "anything.example", NULL), 0);
    assert_int_equal(http_guard_init(&g, "0.0.0.0", false, "prof.example", NULL, msg, sizeof(msg)),
                     0);
    assert_int_equal(check(&g, "GET", "anything.example", NULL), 421);
}

static void test_origin(void **state)
{
    (void)state;
    struct http_guard g;
    char msg[256];
    assert_int_equal(
            http_guard_init(&g, "127.0.0.1", true, NULL, "https://prof.example/", msg, sizeof(msg)),
            0);
    /* same origin (the UI), no Origin (agents, curl), safe methods */
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", "http://127.0.0.1:8080"), 0);
    assert_int_equal(check(&g, "PUT", "localhost:8080", "http://LOCALHOST:8080/"), 0);
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", NULL), 0);
    assert_int_equal(check(&g, "GET", "127.0.0.1:8080", "http://evil.example"), 0);
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", "https://prof.example"), 0);
    /* foreign */
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", "http://evil.example"), 403);
    assert_int_equal(check(&g, "DELETE", "127.0.0.1:8080", "http://127.0.0.1:9999"), 403);
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", "http://127.0.0.1:80801"), 403);
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", "http://127.0.0.1"), 403);
    assert_int_equal(check(&g, "PUT", "127.0.0.1:8080", "null"), 403);
    assert_int_equal(check(&g, "POST", "127.0.0.1:8080", "https://prof.example.evil"), 403);
    char m[512];
    assert_int_equal(
            http_guard_check(&g, "POST", "127.0.0.1:8080", "http://evil.example", m, sizeof(m)),
            403);
    assert_non_null(strstr(m, "cross-origin POST refused"));
    assert_non_null(strstr(m, "allowed_origins"));
    /* a bad allowed_origins entry is named */
    assert_int_equal(http_guard_init(&g, "127.0.0.1", true, NULL, "prof.example", msg, sizeof(msg)),
                     -EINVAL);
    assert_non_null(strstr(msg, "prof.example"));
}

static void test_redact(void **state)
{
    (void)state;
    char out[256];
    http_redact_query("?service=s&key=SECRET&hostname=h", out, sizeof(out));
    assert_string_equal(out, "?service=s&key=REDACTED&hostname=h");
    http_redact_query("/api/v2/profiles?KEY=abc", out, sizeof(out));
    assert_string_equal(out, "/api/v2/profiles?KEY=REDACTED");
    http_redact_query("?monkey=1&key=", out, sizeof(out));
    assert_string_equal(out, "?monkey=1&key=REDACTED");
    http_redact_query("", out, sizeof(out));
    assert_string_equal(out, "");
    http_redact_query("?key=SECRETSECRET", out, 8);
    assert_null(strstr(out, "SEC"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_host),
            cmocka_unit_test(test_origin),
            cmocka_unit_test(test_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
