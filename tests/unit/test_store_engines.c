/* test_store_engines.c — the engine spec parser (store/engines.h): embedded specs keep the whole
 * location as the path, unknown engines name what this build supports, and query parameters of
 * network specs are found, %XX-decoded and bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/store/engines.h"

#include <errno.h>
#include <string.h>

static void test_embedded_spec(void **state)
{
    (void)state;
    const struct store_engine *e;
    struct store_engine_options o;
    struct gp_err err = {0};
    assert_int_equal(store_engine_parse("sqlite:/tmp/a?b.db", STORE_ROLE_META, &e, &o, &err), 0);
    assert_string_equal(e->name, "sqlite");
    assert_string_equal(o.path, "/tmp/a?b.db"); /* '?' is part of a path, not parameters */
    assert_null(o.params);
    store_engine_options_free(&o);
}

static void test_unknown_engine(void **state)
{
    (void)state;
    const struct store_engine *e;
    struct store_engine_options o;
    struct gp_err err = {0};
    assert_int_equal(store_engine_parse("nosuch:x", STORE_ROLE_BLOBS, &e, &o, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "unknown engine 'nosuch'"));
    assert_non_null(strstr(err.msg, "this build supports"));
    assert_int_equal(store_engine_parse("no-colon", STORE_ROLE_BLOBS, &e, &o, &err), -EINVAL);
}

/* user:password@ before the host: the database still ends at '?' (it ran past it by the length
 * of "user:password@" before). */
static void test_network_spec_with_credentials(void **state)
{
    (void)state;
    const struct store_engine *e;
    struct store_engine_options o;
    struct gp_err err = {0};
    if (!store_engine_find("s3", 2))
        skip();
    assert_int_equal(store_engine_parse("s3://AK:s3cret@bucket/pre/fix?endpoint=http://h:1",
                                        STORE_ROLE_BLOBS, &e, &o, &err),
                     0);
    assert_string_equal(o.user, "AK");
    assert_string_equal(o.password, "s3cret");
    assert_string_equal(o.host, "bucket");
    assert_string_equal(o.database, "pre/fix");
    assert_string_equal(o.params, "endpoint=http://h:1");
    store_engine_options_free(&o);
}

static void test_params(void **state)
{
    (void)state;
    struct store_engine_options o = {.params = "endpoint=http%3A%2F%2F127.0.0.1%3A9000&region=eu&"
                                               "style=path&empty=&bad=%4"};
    char buf[64];
    assert_int_equal(store_engine_param(&o, "endpoint", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "http://127.0.0.1:9000");
    assert_int_equal(store_engine_param(&o, "region", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "eu");
    assert_int_equal(store_engine_param(&o, "style", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "path");
    assert_int_equal(store_engine_param(&o, "empty", buf, sizeof(buf)), 1);
    assert_string_equal(buf, "");
    assert_int_equal(store_engine_param(&o, "reg", buf, sizeof(buf)), 0); /* prefix is not a key */
    assert_int_equal(store_engine_param(&o, "missing", buf, sizeof(buf)), 0);
    assert_int_equal(store_engine_param(&o, "bad", buf, sizeof(buf)), -EINVAL);
    assert_int_equal(store_engine_param(&o, "endpoint", buf, 8), -ENAMETOOLONG);
    struct store_engine_options none = {0};
    assert_int_equal(store_engine_param(&none, "region", buf, sizeof(buf)), 0);
}

/* user@ before the host must not shift where the database ends (it took "gprof?schem"). */
static void test_network_spec_user_and_params(void **state)
{
    (void)state;
    const struct store_engine *e;
    struct store_engine_options o;
    struct gp_err err = {0};
    if (!store_engine_find("postgres", 8))
        skip(); /* built without the engine */
    assert_int_equal(store_engine_parse("postgres://gprof:pw@127.0.0.1:5433/gprof?schema=t_1",
                                        STORE_ROLE_META, &e, &o, &err),
                     0);
    assert_string_equal(o.user, "gprof");
    assert_string_equal(o.password, "pw");
    assert_string_equal(o.host, "127.0.0.1");
    assert_int_equal(o.port, 5433);
    assert_string_equal(o.database, "gprof");
    assert_string_equal(o.params, "schema=t_1");
    char buf[128];
    store_engine_options_describe(&o, buf, sizeof(buf));
    assert_null(strstr(buf, "pw"));
    store_engine_options_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_embedded_spec),
            cmocka_unit_test(test_unknown_engine),
            cmocka_unit_test(test_params),
            cmocka_unit_test(test_network_spec_user_and_params),
            cmocka_unit_test(test_network_spec_with_credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
