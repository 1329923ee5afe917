/* test_meta_postgres.c — what only the PostgreSQL metadata engine does, on the server
 * tests/servers/server_postgres.sh starts (skips without GPROF_TEST_SPEC_POSTGRES): migrations
 * down and up again, errors that name host:port and the remedy but never the password
 * (wrong password, server down, bad spec), credentials from the config, and two coordinators
 * (two stores, two control planes) merging requests for one host at once into one command. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/api/control_json.h"
#include "coordinator/control/plane.h"
#include "coordinator/store/engines.h"
#include "coordinator/store/meta/meta.h"
#include "test_store_util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0)                                                                               \
            fail_msg("%s = %d: %s", #expr, rc_, err.msg);                                          \
    } while (0)

/* A spec of its own schema on the test server (exits 77 without one). */
static char *pg_spec(char **dir)
{
    *dir = tu_tmpdir("pg");
    assert_non_null(*dir);
    char *s = tu_engine_spec("GPROF_TEST_PG_ONLY", "postgres", *dir, "unused");
    assert_non_null(s);
    return s;
}

static void drop(char *spec, char *dir)
{
    tu_specs_drop(&spec, 1);
    tu_rmrf(dir);
    free(dir);
    free(spec);
}

static int count_services(const struct meta_service *s, void *ctx)
{
    (void)s;
    (*(int *)ctx)++;
    return 0;
}

static void test_migrations_down_and_up(void **state)
{
    (void)state;
    char *dir, *spec = pg_spec(&dir);
    struct gp_err err = {0};
    struct meta_db *db;
    OK(meta_db_open(spec, &db, &err));
    int newest = 0, v = -1;
    OK(meta_schema_version(db, &newest, &err));
    assert_true(newest >= 3);
    int64_t id;
    OK(meta_service_ensure(db, "before", &id, &err));
    meta_db_close(db);

    /* one step down, then all the way down, then up again: every step runs */
    OK(meta_db_migrate(spec, newest - 1, &v, &err));
    assert_int_equal(v, newest - 1);
    OK(meta_db_migrate(spec, 0, &v, &err));
    assert_int_equal(v, 0);
    assert_int_equal(meta_db_migrate(spec, newest + 1, &v, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "unknown"));
    OK(meta_db_migrate(spec, -1, &v, &err));
    assert_int_equal(v, newest);

    /* the schema is whole again and empty: tokens (migration 2) and claims (3) work */
    OK(meta_db_open(spec, &db, &err));
    int n = 0;
    OK(meta_service_list(db, count_services, &n, &err));
    assert_int_equal(n, 0);
    char tok[META_TOKEN_MAX];
    int64_t gen0, gen1;
    OK(meta_token_create(db, "svc", tok, sizeof(tok), &id, &err));
    OK(meta_token_generation(db, &gen0, &err));
    OK(meta_token_revoke(db, id, &err));
    OK(meta_token_generation(db, &gen1, &err));
    assert_true(gen1 > gen0);
    struct meta_outbox_item it[1];
    assert_int_equal(meta_outbox_claim(db, 1000, 60, it, 1, &err), 0);
    meta_db_close(db);

    /* SQLite migrates only up, on open */
    assert_int_equal(meta_db_migrate("sqlite:/nonexistent/x.db", 0, &v, &err), -ENOTSUP);
    drop(spec, dir);
}

/* "postgres://gprof@HOST..." with the user part replaced by user_part */
static char *with_user(const char *spec, const char *user_part)
{
    const char *at = strchr(spec, '@');
    assert_non_null(at);
    char *s;
    assert_true(asprintf(&s, "postgres://%s%s", user_part, at) > 0);
    return s;
}

static void test_errors_name_server_not_password(void **state)
{
    (void)state;
    char *dir, *spec = pg_spec(&dir);
    struct gp_err err = {0};
    struct meta_db *db;
    const char *host_port = strchr(spec, '@') + 1;
    char where[64];
    snprintf(where, sizeof(where), "%.*s", (int)strcspn(host_port, "/"), host_port);

    /* wrong password in the spec */
    char *bad = with_user(spec, "gprof:wr0ng-Secret");
    assert_int_equal(meta_db_open(bad, &db, &err), -EACCES);
    assert_non_null(strstr(err.msg, where));
    assert_non_null(strstr(err.msg, "password"));
    assert_null(strstr(err.msg, "wr0ng-Secret"));
    free(bad);

    /* wrong password from the config (meta_password): used when the spec has none, before
     * PGPASSWORD */
    assert_int_equal(store_engine_credentials_set(STORE_ROLE_META, NULL, "c0nfig-Secret"), 0);
    assert_int_equal(meta_db_open(spec, &db, &err), -EACCES);
    assert_null(strstr(err.msg, "c0nfig-Secret"));
    assert_non_null(strstr(err.msg, "meta_password"));
    store_engine_credentials_clear();

    /* nothing listens there */
    bad = with_user("postgres://gprof@127.0.0.1:1/gprof", "gprof:d0wn-Secret");
    assert_int_equal(meta_db_open(bad, &db, &err), -ECONNREFUSED);
    assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    assert_non_null(strstr(err.msg, "check that the server runs"));
    assert_null(strstr(err.msg, "d0wn-Secret"));
    free(bad);

    /* bad specs */
    assert_int_equal(meta_db_open("postgres:nohost", &db, &err), -EINVAL);
    assert_int_equal(meta_db_open("postgres://", &db, &err), -EINVAL);
    assert_int_equal(meta_db_open("postgres://h:99999/db", &db, &err), -EINVAL);
    assert_int_equal(meta_db_open("postgres://gprof@127.0.0.1:5/db?schema=Bad-Name", &db, &err),
                     -EINVAL);
    assert_non_null(strstr(err.msg, "schema"));

    /* and the right one works */
    OK(meta_db_open(spec, &db, &err));
    meta_db_close(db);
    drop(spec, dir);
}

/* ---- two coordinators merging requests for one host ------------------------------------- */

#define T0     1800000000LL
#define MERGES 60

struct merger {
    struct cp_plane *p;
    char ids[MERGES][40];
    int fails;
};

static void *merge_worker(void *v)
{
    struct merger *m = v;
    for (int i = 0; i < MERGES; i++) {
        json_object *b = json_tokener_parse("{\"service_name\":\"svc\",\"request_type\":\"start\","
                                            "\"continuous\":true,\"target_hosts\":{\"h1\":null}}");
        json_object *resp = NULL;
        int status = 0;
        struct gp_err err = {0};
        if (cj_profile_request(m->p, b, false, T0, &resp, &status, &err) < 0 || status != 200) {
            fprintf(stderr, "request: %d %s %s\n", status, err.msg,
                    resp ? json_object_to_json_string(resp) : "");
            m->fails++;
        } else {
            json_object *rid;
            if (json_object_object_get_ex(resp, "request_id", &rid))
                snprintf(m->ids[i], sizeof(m->ids[i]), "%s", json_object_get_string(rid));
        }
        json_object_put(resp);
        json_object_put(b);
    }
    return NULL;
}

static void test_two_coordinators_merge_one_command(void **state)
{
    (void)state;
    char *dir, *spec = pg_spec(&dir);
    struct gp_err err = {0};
    struct meta_db *db[2];
    struct cp_plane *p[2];
    struct cp_plane_opts o = {.heartbeat_interval = 30,
                              .flush_ms = 1000,
                              .expire_every_s = 1000000,
                              .command_recheck_s = 1,
                              .codec = &cj_codec};
    for (int i = 0; i < 2; i++) {
        OK(meta_db_open(spec, &db[i], &err));
        OK(cp_plane_open(db[i], &o, &p[i], &err));
    }
    struct merger m[2] = {{.p = p[0]}, {.p = p[1]}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, merge_worker, &m[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(m[i].fails, 0);
    }
    struct meta_command c = {0};
    OK(meta_command_get(db[0], "h1", "svc", &c, &err));
    int missing = 0;
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < MERGES; j++)
            if (!m[i].ids[j][0] || !strstr(c.request_ids, m[i].ids[j])) {
                fprintf(stderr, "request %s is not in the command's %s\n", m[i].ids[j],
                        c.request_ids);
                missing++;
            }
    printf("# two coordinators, %d requests each for one host: one command with %d of %d "
           "requests\n",
           MERGES, 2 * MERGES - missing, 2 * MERGES);
    assert_int_equal(missing, 0);
    meta_command_clear(&c);
    for (int i = 0; i < 2; i++) {
        cp_plane_close(p[i]);
        meta_db_close(db[i]);
    }
    drop(spec, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_migrations_down_and_up),
            cmocka_unit_test(test_errors_name_server_not_password),
            cmocka_unit_test(test_two_coordinators_merge_one_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
