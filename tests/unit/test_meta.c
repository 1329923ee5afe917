/* test_meta.c — conformance suite for the metadata engine GPROF_TEST_META names (default sqlite):
 * the driver layer (types, params, transactions, migrations, re-entrancy, per-thread
 * connections) and every domain area (services, tokens, profiles, outbox, ad hoc, settings,
 * control plane). Also measures heartbeat upserts per second (reported, not asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/store/meta/meta.h"
#include "coordinator/backends/sqlite/sql.h" /* the SQL driver layer is tested here too */
#include "test_store_util.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

struct fx {
    char *dir;
    char *spec;
    struct meta_db *db;
};

static void fx_open(struct fx *f)
{
    f->dir = tu_tmpdir("meta");
    assert_non_null(f->dir);
    f->spec = tu_engine_spec("GPROF_TEST_META", "sqlite", f->dir, "meta.db");
    assert_non_null(f->spec);
    struct gp_err err = {0};
    int rc = meta_db_open(f->spec, &f->db, &err);
    if (rc)
        fail_msg("open %s: %s", f->spec, err.msg);
}

static void fx_close(struct fx *f)
{
    meta_db_close(f->db);
    tu_rmrf(f->dir);
    free(f->dir);
    free(f->spec);
}

#define FOR_EACH_DRIVER(f) for (int once_ = (fx_open(&f), 1); once_; once_ = (fx_close(&f), 0))

#define OK(expr)                                                                                   \
    do {                                                                                           \
        struct gp_err e_ = {0};                                                                    \
        (void)e_;                                                                                  \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0)                                                                               \
            fail_msg("%s = %d: %s", #expr, rc_, err.msg);                                          \
    } while (0)

/* ---- driver layer ----------------------------------------------------------------------- */

struct typed {
    int64_t i;
    double d;
    char t[32];
    unsigned char b[8];
    size_t blen;
    int null_type;
    int rows;
};

static int typed_cb(const struct meta_row *r, void *ctx)
{
    struct typed *t = ctx;
    t->rows++;
    assert_int_equal(r->ncols, 5);
    assert_string_equal(r->names[0], "i");
    t->i = meta_row_int(r, 0);
    t->d = meta_row_real(r, 1);
    snprintf(t->t, sizeof(t->t), "%s", meta_row_text(r, 2));
    assert_int_equal(r->cols[3].type, META_BLOB);
    t->blen = r->cols[3].len;
    memcpy(t->b, r->cols[3].p, t->blen < 8 ? t->blen : 8);
    t->null_type = r->cols[4].type;
    return 0;
}

static void test_driver_basics(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int v = 0;
        OK(meta_schema_version(f.db, &v, &err));
        assert_true(v >= 1);
        OK(meta_exec(f.db, "CREATE TABLE t (i BIGINT, d DOUBLE PRECISION, t TEXT, b BYTEA, n TEXT)",
                     NULL, 0, NULL, &err));
        struct meta_value p[] = {META_I(-42), META_D(2.5), META_T("héllo"), META_B("\0\1\2", 3),
                                 META_N};
        int64_t changes = 0;
        OK(meta_exec(f.db, "INSERT INTO t VALUES (?, ?, ?, ?, ?)", p, 5, &changes, &err));
        assert_int_equal(changes, 1);
        struct typed t = {0};
        OK(meta_query(f.db, "SELECT i, d, t, b, n FROM t", NULL, 0, typed_cb, &t, &err));
        assert_int_equal(t.rows, 1);
        assert_int_equal(t.i, -42);
        assert_true(t.d == 2.5);
        assert_string_equal(t.t, "héllo");
        assert_int_equal(t.blen, 3);
        assert_memory_equal(t.b, "\0\1\2", 3);
        assert_int_equal(t.null_type, META_NULL);

        /* rollback discards, commit keeps */
        OK(meta_begin(f.db, &err));
        OK(meta_exec(f.db, "INSERT INTO t (i) VALUES (1)", NULL, 0, NULL, &err));
        assert_int_equal(meta_begin(f.db, &err), -EBUSY); /* no nesting */
        meta_rollback(f.db);
        int64_t n = 0;
        OK(meta_query_int(f.db, "SELECT COUNT(*) FROM t", NULL, 0, &n, &err));
        assert_int_equal(n, 1);
        OK(meta_begin(f.db, &err));
        OK(meta_exec(f.db, "INSERT INTO t (i) VALUES (2)", NULL, 0, NULL, &err));
        OK(meta_commit(f.db, &err));
        OK(meta_query_int(f.db, "SELECT COUNT(*) FROM t", NULL, 0, &n, &err));
        assert_int_equal(n, 2);
        assert_int_equal(meta_query_int(f.db, "SELECT i FROM t WHERE i = 99", NULL, 0, &n, &err),
                         -ENOENT);

        /* errors carry a message */
        assert_true(meta_exec(f.db, "INSERT INTO nope VALUES (1)", NULL, 0, NULL, &err) < 0);
        assert_true(strlen(err.msg) > 0);
        int ok = 0;
        char msg[128];
        OK(meta_check(f.db, &ok, msg, sizeof(msg), &err));
        assert_int_equal(ok, 1);
    }
}

struct reent {
    struct meta_db *db;
    int outer, inner;
};

static int inner_cb(const struct meta_row *r, void *ctx)
{
    ((struct reent *)ctx)->inner++;
    return 0;
}

static int outer_cb(const struct meta_row *r, void *ctx)
{
    struct reent *re = ctx;
    struct gp_err err = {0};
    re->outer++;
    /* the same statement again from inside its own row callback */
    assert_int_equal(meta_query(re->db, "SELECT x FROM r ORDER BY x", NULL, 0, inner_cb, re, &err),
                     0);
    return 0;
}

static void test_reentrant_query(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        OK(meta_exec(f.db, "CREATE TABLE r (x INTEGER)", NULL, 0, NULL, &err));
        OK(meta_exec(f.db, "INSERT INTO r VALUES (1), (2), (3)", NULL, 0, NULL, &err));
        struct reent re = {f.db, 0, 0};
        OK(meta_query(f.db, "SELECT x FROM r ORDER BY x", NULL, 0, outer_cb, &re, &err));
        assert_int_equal(re.outer, 3);
        assert_int_equal(re.inner, 9);
    }
}

static void test_reopen_keeps_data(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t id, id2;
        OK(meta_service_ensure(f.db, "keep", &id, &err));
        int v1, v2;
        OK(meta_schema_version(f.db, &v1, &err));
        meta_db_close(f.db);
        OK(meta_db_open(f.spec, &f.db, &err));
        OK(meta_schema_version(f.db, &v2, &err));
        assert_int_equal(v1, v2);
        OK(meta_service_ensure(f.db, "keep", &id2, &err));
        assert_int_equal(id, id2);
    }
    struct meta_db *db;
    struct gp_err err = {0};
    assert_int_equal(meta_db_open("mysql:/x", &db, &err), -ENOTSUP);
    /* The list of engines comes from the engine table. */
    assert_non_null(strstr(err.msg, "this build supports: sqlite"));
    /* A spec with credentials: messages name the engine (and where it is, when built), never
     * the password. Nothing listens on port 1. */
    int prc = meta_db_open("postgres://gprof:s3cret-pw@127.0.0.1:1/gprof", &db, &err);
    assert_true(prc == -ENOTSUP || prc == -ECONNREFUSED);
    assert_null(strstr(err.msg, "s3cret-pw"));
    assert_non_null(strstr(err.msg, "postgres"));
    if (prc == -ECONNREFUSED)
        assert_non_null(strstr(err.msg, "127.0.0.1:1"));
    assert_int_equal(meta_db_open("nocolon", &db, &err), -EINVAL);
    assert_true(meta_db_open("sqlite:/proc/nope/meta.db", &db, &err) < 0);
    assert_non_null(strstr(err.msg, "/proc/nope/meta.db"));
}

/* ---- services and tokens ---------------------------------------------------------------- */

static int count_services(const struct meta_service *s, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_services(void **state)
{
    char out[META_NAME_MAX];
    assert_int_equal(meta_service_sanitize("my service/../x!", out, sizeof(out)), 12);
    assert_string_equal(out, "myservice..x");
    assert_int_equal(meta_service_sanitize("__a_b", out, sizeof(out)), 3);
    assert_string_equal(out, "a_b");
    assert_int_equal(meta_service_sanitize("!!!", out, sizeof(out)), 0);
    assert_int_equal(meta_service_sanitize("abcdef", out, 4), 3);
    assert_string_equal(out, "abc");

    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t a, b, c;
        OK(meta_service_ensure(f.db, "web app", &a, &err));
        OK(meta_service_ensure(f.db, "webapp", &b, &err));
        assert_int_equal(a, b);
        OK(meta_service_ensure(f.db, "db", &c, &err));
        assert_true(c != a);
        assert_int_equal(meta_service_ensure(f.db, "///", &c, &err), -EINVAL);
        struct meta_service s;
        OK(meta_service_get(f.db, "webapp", &s, &err));
        assert_string_equal(s.name, "webapp");
        assert_true(s.sample_threshold == 0);
        meta_service_clear(&s);
        assert_int_equal(meta_service_get(f.db, "nope", &s, &err), -ENOENT);
        OK(meta_service_set_sample_threshold(f.db, "webapp", 0.25, &err));
        OK(meta_service_get_by_id(f.db, a, &s, &err));
        assert_true(s.sample_threshold == 0.25);
        meta_service_clear(&s);
        assert_int_equal(meta_service_set_sample_threshold(f.db, "webapp", 1.5, &err), -EINVAL);
        assert_int_equal(meta_service_set_sample_threshold(f.db, "nope", 0.5, &err), -ENOENT);
        int n = 0;
        OK(meta_service_list(f.db, count_services, &n, &err));
        assert_int_equal(n, 2);
    }
}

struct tok_list {
    int n, revoked;
    char prefix[16];
};

static int tok_cb(const struct meta_token *t, void *ctx)
{
    struct tok_list *l = ctx;
    l->n++;
    if (t->revoked_at)
        l->revoked++;
    snprintf(l->prefix, sizeof(l->prefix), "%s", t->prefix);
    return 0;
}

static int no_clear_token(const struct meta_row *r, void *ctx)
{
    const char *tok = ctx;
    for (int i = 0; i < r->ncols; i++) {
        const char *t = meta_row_text(r, i);
        assert_true(!t || strcmp(t, tok) != 0);
    }
    return 0;
}

static void test_tokens(void **state)
{
    char hex[65];
    meta_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        char tok[META_TOKEN_MAX], tok2[META_TOKEN_MAX], svc[META_NAME_MAX];
        int64_t id, id2;
        OK(meta_token_create(f.db, "payments", tok, sizeof(tok), &id, &err));
        OK(meta_token_create(f.db, "payments", tok2, sizeof(tok2), &id2, &err));
        assert_true(strncmp(tok, "gpt_", 4) == 0);
        assert_int_equal(strlen(tok), 68);
        assert_string_not_equal(tok, tok2);
        OK(meta_token_validate(f.db, tok, "payments", NULL, 0, &err));
        OK(meta_token_validate(f.db, tok, NULL, svc, sizeof(svc), &err));
        assert_string_equal(svc, "payments");
        assert_int_equal(meta_token_validate(f.db, tok, "other", NULL, 0, &err), -EACCES);
        assert_int_equal(meta_token_validate(f.db, "gpt_nope", NULL, NULL, 0, &err), -EACCES);
        assert_int_equal(meta_token_validate(f.db, "", NULL, NULL, 0, &err), -EACCES);
        assert_int_equal(meta_token_validate(f.db, NULL, NULL, NULL, 0, &err), -EACCES);
        /* only the hash is stored */
        OK(meta_query(f.db, "SELECT * FROM agent_tokens", NULL, 0, no_clear_token, tok, &err));
        OK(meta_token_revoke(f.db, id, &err));
        assert_int_equal(meta_token_revoke(f.db, id, &err), -ENOENT);
        assert_int_equal(meta_token_validate(f.db, tok, NULL, NULL, 0, &err), -EACCES);
        OK(meta_token_validate(f.db, tok2, "payments", NULL, 0, &err));
        struct tok_list l = {0};
        OK(meta_token_list(f.db, "payments", tok_cb, &l, &err));
        assert_int_equal(l.n, 2);
        assert_int_equal(l.revoked, 1);
        assert_int_equal(strlen(l.prefix), 8);
        memset(&l, 0, sizeof(l));
        OK(meta_token_list(f.db, "other", tok_cb, &l, &err));
        assert_int_equal(l.n, 0);
        OK(meta_token_list(f.db, NULL, tok_cb, &l, &err));
        assert_int_equal(l.n, 2);
    }
}

/* ---- profiles, outbox, ad hoc, settings ------------------------------------------------- */

static int count_profiles(const struct meta_profile *p, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_profiles_outbox(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t sid, id, id2;
        OK(meta_service_ensure(f.db, "svc", &sid, &err));
        struct meta_profile p = {.service_id = sid,
                                 .hostname = "h1",
                                 .start_time = 1000,
                                 .end_time = 1060,
                                 .blob_key = "svc/k1",
                                 .cpu_avg = 12.5,
                                 .mem_avg = -1,
                                 .continuous = 1,
                                 .size = 77,
                                 .upload_id = "u1"};
        OK(meta_profile_insert(f.db, &p, &id, &err));
        assert_int_equal(meta_profile_insert(f.db, &p, &id2, &err), -EEXIST);
        assert_int_equal(id, id2);
        p.upload_id = "u2";
        p.start_time = 5000;
        p.end_time = 5060;
        p.blob_key = "svc/k2";
        OK(meta_profile_insert(f.db, &p, &id2, &err));
        struct meta_profile g;
        OK(meta_profile_get(f.db, id, &g, &err));
        assert_string_equal(g.service, "svc");
        assert_string_equal(g.hostname, "h1");
        assert_string_equal(g.blob_key, "svc/k1");
        assert_true(g.cpu_avg == 12.5);
        assert_true(g.mem_avg == -1);
        assert_int_equal(g.continuous, 1);
        assert_int_equal(g.size, 77);
        assert_int_equal(g.indexed, 0);
        meta_profile_clear(&g);
        OK(meta_profile_get_by_upload(f.db, "u2", &g, &err));
        assert_int_equal(g.id, id2);
        meta_profile_clear(&g);
        assert_int_equal(meta_profile_get(f.db, 999, &g, &err), -ENOENT);
        int n = 0;
        OK(meta_profile_list(f.db, "svc", 0, 2000, 0, count_profiles, &n, &err));
        assert_int_equal(n, 1);
        n = 0;
        OK(meta_profile_list(f.db, NULL, 0, 10000, 0, count_profiles, &n, &err));
        assert_int_equal(n, 2);
        n = 0;
        OK(meta_profile_list_before(f.db, 2000, 0, count_profiles, &n, &err));
        assert_int_equal(n, 1);

        /* many rows in one statement: new ones, one stored before (u1), one twice in the call
         * (u4): every row gets an id, the duplicates the stored row's */
        {
            struct meta_profile rows[5];
            const char *uids[5] = {"u3", "u1", "u4", "u4", "u5"};
            char keys[5][16];
            for (int i = 0; i < 5; i++) {
                rows[i] = p;
                rows[i].upload_id = (char *)uids[i];
                snprintf(keys[i], sizeof(keys[i]), "svc/m%d", i);
                rows[i].blob_key = keys[i];
                rows[i].start_time = rows[i].end_time = 20000 + i;
            }
            rows[4].cpu_avg = -1;
            int64_t mids[5];
            int mdup[5];
            OK(meta_profile_insert_many(f.db, rows, 5, mids, mdup, &err));
            assert_int_equal(mdup[0], 0);
            assert_int_equal(mdup[1], 1);
            assert_int_equal(mids[1], id);
            assert_int_equal(mdup[2], 0);
            assert_int_equal(mdup[3], 1);
            assert_int_equal(mids[3], mids[2]);
            assert_int_equal(mdup[4], 0);
            assert_true(mids[0] > id2 && mids[2] > id2 && mids[4] > id2);
            assert_true(mids[0] != mids[2] && mids[2] != mids[4] && mids[0] != mids[4]);
            OK(meta_profile_get_by_upload(f.db, "u5", &g, &err));
            assert_int_equal(g.id, mids[4]);
            assert_string_equal(g.blob_key, "svc/m4");
            assert_true(g.cpu_avg == -1);
            assert_int_equal(g.start_time, 20004);
            meta_profile_clear(&g);
            OK(meta_profile_get_by_upload(f.db, "u4", &g, &err));
            assert_string_equal(g.blob_key, "svc/m2"); /* the first of the call's two */
            meta_profile_clear(&g);
            /* all of them again: all duplicates, same ids */
            int64_t again[5];
            OK(meta_profile_insert_many(f.db, rows, 5, again, mdup, &err));
            for (int i = 0; i < 5; i++) {
                assert_int_equal(mdup[i], 1);
                assert_int_equal(again[i], mids[i]);
            }
            assert_int_equal(meta_profile_insert_many(f.db, rows, 0, again, mdup, &err), -EINVAL);
            for (int i = 0; i < 5; i++)
                if (i != 1 && i != 3)
                    OK(meta_profile_delete(f.db, mids[i], &err));
        }

        /* outbox */
        OK(meta_outbox_add(f.db, id, &err));
        OK(meta_outbox_add(f.db, id, &err)); /* idempotent */
        OK(meta_outbox_add(f.db, id2, &err));
        int64_t pending;
        OK(meta_outbox_pending(f.db, &pending, &err));
        assert_int_equal(pending, 2);
        struct meta_outbox_item it[4];
        assert_int_equal(meta_outbox_next(f.db, 100, it, 4, &err), 2);
        assert_int_equal(it[0].profile_id, id);
        OK(meta_outbox_fail(f.db, it[0].id, 500, "boom", &err));
        assert_int_equal(meta_outbox_next(f.db, 100, it, 4, &err), 1);
        assert_int_equal(it[0].profile_id, id2);
        assert_int_equal(meta_outbox_next(f.db, 500, it, 4, &err), 2);
        assert_int_equal(it[0].attempts, 1);
        OK(meta_outbox_done(f.db, it[1].id, &err));
        OK(meta_outbox_pending(f.db, &pending, &err));
        assert_int_equal(pending, 1);
        /* deleting a profile removes its outbox row */
        OK(meta_profile_delete(f.db, id, &err));
        OK(meta_outbox_pending(f.db, &pending, &err));
        assert_int_equal(pending, 0);
        OK(meta_profile_set_indexed(f.db, id2, 1, &err));
        OK(meta_profile_get(f.db, id2, &g, &err));
        assert_int_equal(g.indexed, 1);
        meta_profile_clear(&g);
        OK(meta_profile_count(f.db, &pending, &err));
        assert_int_equal(pending, 1);
    }
}

static int adhoc_names(const struct meta_adhoc *a, void *ctx)
{
    char *s = ctx;
    strcat(s, a->filename);
    strcat(s, ",");
    return 0;
}

static void test_adhoc_settings(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t id, id2;
        struct meta_adhoc a = {.service = "svc",
                               .hostname = "h1",
                               .filename = "a.html",
                               .blob_key = "svc/adhoc/a.html",
                               .perf_events = "[\"cycles\"]",
                               .start_time = 100,
                               .end_time = 160,
                               .size = 10};
        OK(meta_adhoc_insert(f.db, &a, &id, &err));
        a.size = 11;
        OK(meta_adhoc_insert(f.db, &a, &id2, &err)); /* upsert on key */
        assert_int_equal(id, id2);
        a.filename = "b.html";
        a.blob_key = "svc/adhoc/b.html";
        a.hostname = "h2";
        a.start_time = 200;
        a.end_time = 260;
        OK(meta_adhoc_insert(f.db, &a, &id2, &err));
        char names[256] = "";
        OK(meta_adhoc_list(f.db, "svc", 0, 1000, NULL, 0, adhoc_names, names, &err));
        assert_string_equal(names, "b.html,a.html,");
        names[0] = 0;
        const char *hosts[] = {"h1"};
        OK(meta_adhoc_list(f.db, "svc", 0, 1000, hosts, 1, adhoc_names, names, &err));
        assert_string_equal(names, "a.html,");
        names[0] = 0;
        OK(meta_adhoc_list(f.db, "svc", 150, 1000, NULL, 0, adhoc_names, names, &err));
        assert_string_equal(names, "b.html,");
        struct meta_adhoc g;
        OK(meta_adhoc_get(f.db, "svc", "a.html", &g, &err));
        assert_int_equal(g.size, 11);
        assert_string_equal(g.perf_events, "[\"cycles\"]");
        meta_adhoc_clear(&g);
        assert_int_equal(meta_adhoc_get(f.db, "svc", "../x", &g, &err), -ENOENT);
        int64_t del;
        OK(meta_adhoc_delete_before(f.db, 200, &del, &err));
        assert_int_equal(del, 1);

        char *v;
        int64_t iv;
        assert_int_equal(meta_setting_get(f.db, "retention_days", &v, &err), -ENOENT);
        OK(meta_setting_get_int(f.db, "retention_days", 30, &iv, &err));
        assert_int_equal(iv, 30);
        OK(meta_setting_set(f.db, "retention_days", "7", &err));
        OK(meta_setting_set(f.db, "retention_days", "9", &err));
        OK(meta_setting_get_int(f.db, "retention_days", 30, &iv, &err));
        assert_int_equal(iv, 9);
        OK(meta_setting_get(f.db, "retention_days", &v, &err));
        assert_string_equal(v, "9");
        free(v);
        OK(meta_setting_set(f.db, "x", "notanumber", &err));
        OK(meta_setting_get_int(f.db, "x", 5, &iv, &err));
        assert_int_equal(iv, 5);
    }
}

/* ---- control plane ---------------------------------------------------------------------- */

struct hosts_seen {
    char names[1024];
    int n, with_cmd;
};

static int host_cb(const struct meta_host_status *hs, void *ctx)
{
    struct hosts_seen *s = ctx;
    s->n++;
    if (hs->command)
        s->with_cmd++;
    strcat(s->names, hs->host->hostname);
    strcat(s->names, ",");
    return 0;
}

static int cmd_count(const struct meta_command *c, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static int exec_cb(const struct meta_execution *e, void *ctx)
{
    char *s = ctx;
    strcat(s, e->request_id);
    strcat(s, "=");
    strcat(s, e->status);
    strcat(s, ",");
    return 0;
}

static int exec_host_cb(const struct meta_execution *e, void *ctx)
{
    char *s = ctx;
    strcat(s, e->hostname);
    strcat(s, "=");
    strcat(s, e->status);
    strcat(s, ",");
    return 0;
}

static int hb_cb(const struct meta_heartbeat *h, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_control_plane(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        /* heartbeats */
        struct meta_heartbeat hb = {.hostname = "web-1",
                                    .service_name = "shop",
                                    .ip_address = "10.0.0.1",
                                    .agent_version = "1.50.0",
                                    .received_command_ids = "[]",
                                    .heartbeat_timestamp = 1000};
        OK(meta_heartbeat_upsert(f.db, &hb, &err));
        hb.hostname = "web-2";
        hb.ip_address = "10.0.0.2";
        hb.heartbeat_timestamp = 1010;
        OK(meta_heartbeat_upsert(f.db, &hb, &err));
        hb.hostname = "db_1";
        hb.service_name = "db";
        hb.ip_address = "10.0.1.1";
        hb.heartbeat_timestamp = 900;
        OK(meta_heartbeat_upsert(f.db, &hb, &err));
        hb.hostname = "web-1";
        hb.service_name = "shop";
        hb.ip_address = "10.0.0.9";
        hb.last_command_id = "c-0";
        hb.heartbeat_timestamp = 1020;
        OK(meta_heartbeat_upsert(f.db, &hb, &err)); /* update, not insert */
        struct meta_heartbeat g;
        OK(meta_heartbeat_get(f.db, "web-1", "shop", &g, &err));
        assert_string_equal(g.ip_address, "10.0.0.9");
        assert_string_equal(g.last_command_id, "c-0");
        assert_string_equal(g.status, "active");
        assert_int_equal(g.heartbeat_timestamp, 1020);
        assert_int_equal(g.created_at, 1000);
        meta_heartbeat_clear(&g);
        assert_int_equal(meta_heartbeat_get(f.db, "nope", "shop", &g, &err), -ENOENT);
        int64_t cnt;
        OK(meta_heartbeat_count(f.db, NULL, 0, &cnt, &err));
        assert_int_equal(cnt, 3);
        OK(meta_heartbeat_count(f.db, "shop", 1015, &cnt, &err));
        assert_int_equal(cnt, 1);
        int n = 0;
        OK(meta_heartbeat_list_active(f.db, "shop", 1000, hb_cb, &n, &err));
        assert_int_equal(n, 2);
        hb.status = "sleeping";
        assert_true(meta_heartbeat_upsert(f.db, &hb, &err) < 0);

        /* requests */
        struct meta_request r = {.request_id = "r-1",
                                 .service_name = "shop",
                                 .request_type = "start",
                                 .duration = 60,
                                 .frequency = 11,
                                 .target_hosts = "{\"web-1\":[1,2]}"};
        OK(meta_request_insert(f.db, &r, &err));
        assert_int_equal(meta_request_insert(f.db, &r, &err), -EEXIST);
        r.request_id = "r-2";
        OK(meta_request_insert(f.db, &r, &err));
        r.request_id = "r-3";
        r.request_type = "pause";
        assert_true(meta_request_insert(f.db, &r, &err) < 0);
        struct meta_request rg;
        OK(meta_request_get(f.db, "r-1", &rg, &err));
        assert_string_equal(rg.status, "pending");
        assert_string_equal(rg.profiling_mode, "cpu");
        assert_string_equal(rg.target_hosts, "{\"web-1\":[1,2]}");
        assert_int_equal(rg.duration, 60);
        meta_request_clear(&rg);
        OK(meta_request_set_status(f.db, "r-1", "completed", 2000, &err));
        OK(meta_request_get(f.db, "r-1", &rg, &err));
        assert_string_equal(rg.status, "completed");
        assert_int_equal(rg.completed_at, 2000);
        meta_request_clear(&rg);
        assert_int_equal(meta_request_set_status(f.db, "r-x", "failed", 0, &err), -ENOENT);

        /* commands: one per (host, service) */
        struct meta_command c = {.command_id = "c-1",
                                 .hostname = "web-1",
                                 .service_name = "shop",
                                 .command_type = "start",
                                 .request_ids = "[\"r-1\"]",
                                 .combined_config = "{\"duration\":60}",
                                 .execution_time = -1};
        OK(meta_command_put(f.db, &c, &err));
        c.command_id = "c-2";
        c.request_ids = "[\"r-1\",\"r-2\"]";
        OK(meta_command_put(f.db, &c, &err)); /* replaces */
        struct meta_command cg;
        OK(meta_command_get(f.db, "web-1", "shop", &cg, &err));
        assert_string_equal(cg.command_id, "c-2");
        assert_string_equal(cg.status, "pending");
        assert_int_equal(cg.execution_time, -1);
        assert_int_equal(cg.sent_at, 0);
        meta_command_clear(&cg);
        assert_int_equal(meta_command_get(f.db, "web-2", "shop", &cg, &err), -ENOENT);
        int64_t ch;
        OK(meta_command_set_status(f.db, "c-1", "web-1", "sent", 1500, &ch, &err));
        assert_int_equal(ch, 0); /* c-1 was replaced */
        OK(meta_command_set_status(f.db, "c-2", "web-1", "sent", 1500, &ch, &err));
        assert_int_equal(ch, 1);
        OK(meta_command_get_by_id(f.db, "c-2", "web-1", &cg, &err));
        assert_string_equal(cg.status, "sent");
        assert_int_equal(cg.sent_at, 1500);
        meta_command_clear(&cg);
        n = 0;
        OK(meta_command_list_by_request(f.db, "r-2", cmd_count, &n, &err));
        assert_int_equal(n, 1);
        n = 0;
        OK(meta_command_list_by_request(f.db, "r-", cmd_count, &n, &err));
        assert_int_equal(n, 0); /* exact ids, not substrings */
        n = 0;
        OK(meta_command_list(f.db, "shop", "sent", cmd_count, &n, &err));
        assert_int_equal(n, 1);
        c.status = "bogus";
        assert_true(meta_command_put(f.db, &c, &err) < 0);

        /* executions, one per request */
        struct meta_execution e = {.command_id = "c-2",
                                   .hostname = "web-1",
                                   .request_id = "r-1",
                                   .started_at = 1500,
                                   .execution_time = -1};
        OK(meta_execution_upsert(f.db, &e, &err));
        e.request_id = "r-2";
        OK(meta_execution_upsert(f.db, &e, &err));
        OK(meta_execution_upsert(f.db, &e, &err));
        e.request_id = "r-missing";
        assert_true(meta_execution_upsert(f.db, &e, &err) < 0);
        OK(meta_command_complete(f.db, "c-2", "web-1", "completed", 1600, 42, NULL, "/tmp/r", &ch,
                                 &err));
        assert_int_equal(ch, 1);
        OK(meta_execution_complete(f.db, "c-2", "web-1", "completed", 1600, 42, NULL, "/tmp/r", &ch,
                                   &err));
        assert_int_equal(ch, 2);
        char ex[256] = "";
        OK(meta_execution_list(f.db, "c-2", NULL, exec_cb, ex, &err));
        assert_string_equal(ex, "r-1=completed,r-2=completed,");
        /* a request's executions, all (oldest first) or the newest; cancelling the open ones
         * of a replaced command leaves finished ones alone */
        e.hostname = "web-2";
        e.request_id = "r-2";
        e.status = "assigned";
        OK(meta_execution_upsert(f.db, &e, &err));
        ex[0] = '\0';
        OK(meta_execution_list_request(f.db, "r-2", 0, exec_host_cb, ex, &err));
        assert_string_equal(ex, "web-1=completed,web-2=assigned,");
        ex[0] = '\0';
        OK(meta_execution_list_request(f.db, "r-2", 1, exec_host_cb, ex, &err));
        assert_string_equal(ex, "web-2=assigned,");
        OK(meta_execution_cancel_open(f.db, "c-2", "web-1", 1700, &err));
        OK(meta_execution_cancel_open(f.db, "c-2", "web-2", 1700, &err));
        ex[0] = '\0';
        OK(meta_execution_list_request(f.db, "r-2", 0, exec_host_cb, ex, &err));
        assert_string_equal(ex, "web-1=completed,web-2=cancelled,");
        e.hostname = "web-1";
        OK(meta_command_get(f.db, "web-1", "shop", &cg, &err));
        assert_int_equal(cg.execution_time, 42);
        assert_string_equal(cg.results_path, "/tmp/r");
        assert_int_equal(cg.completed_at, 1600);
        meta_command_clear(&cg);

        /* host_status */
        struct hosts_seen s = {0};
        OK(meta_host_list(f.db, NULL, host_cb, &s, &err));
        assert_int_equal(s.n, 3);
        assert_int_equal(s.with_cmd, 1);
        assert_string_equal(s.names, "web-1,web-2,db_1,"); /* newest heartbeat first */
        const char *svc[] = {"SHO"};
        struct meta_host_filter hf = {.services = svc, .nservices = 1};
        memset(&s, 0, sizeof(s));
        OK(meta_host_list(f.db, &hf, host_cb, &s, &err));
        assert_int_equal(s.n, 2); /* case-insensitive substring */
        hf.exact_match = 1;
        memset(&s, 0, sizeof(s));
        OK(meta_host_list(f.db, &hf, host_cb, &s, &err));
        assert_int_equal(s.n, 0);
        const char *under[] = {"b_"};
        struct meta_host_filter hu = {.hostnames = under, .nhostnames = 1};
        memset(&s, 0, sizeof(s));
        OK(meta_host_list(f.db, &hu, host_cb, &s, &err));
        assert_string_equal(s.names, "db_1,"); /* '_' is literal, not a wildcard */
        const char *ips[] = {"10.0.0."};
        const char *na[] = {"N/A"};
        struct meta_host_filter hi = {
                .ip_addresses = ips, .nip_addresses = 1, .command_types = na, .ncommand_types = 1};
        memset(&s, 0, sizeof(s));
        OK(meta_host_list(f.db, &hi, host_cb, &s, &err));
        assert_string_equal(s.names, "web-2,");
        const char *st[] = {"completed", "stopped"};
        struct meta_host_filter hst = {
                .command_statuses = st, .ncommand_statuses = 2, .heartbeat_since = 950, .limit = 5};
        memset(&s, 0, sizeof(s));
        OK(meta_host_list(f.db, &hst, host_cb, &s, &err));
        assert_string_equal(s.names, "web-1,web-2,");
        hst.limit = 1;
        memset(&s, 0, sizeof(s));
        OK(meta_host_list(f.db, &hst, host_cb, &s, &err));
        assert_int_equal(s.n, 1);
    }
}

/* ---- parked outbox rows (the upload spool) and batched adds -------------------------------- */

static void test_outbox_parked(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t sid, ids[3];
        OK(meta_service_ensure(f.db, "svc", &sid, &err));
        for (int i = 0; i < 3; i++) {
            char key[16], up[16];
            snprintf(key, sizeof(key), "svc/p%d", i);
            snprintf(up, sizeof(up), "park%d", i);
            struct meta_profile p = {.service_id = sid,
                                     .hostname = "h",
                                     .start_time = 1000,
                                     .end_time = 1060,
                                     .blob_key = key,
                                     .cpu_avg = -1,
                                     .mem_avg = -1,
                                     .upload_id = up};
            OK(meta_profile_insert(f.db, &p, &ids[i], &err));
        }
        /* one statement: ids[0] due, ids[1] parked; again: idempotent */
        int parked[2] = {0, 1};
        OK(meta_outbox_add_many(f.db, ids, parked, 2, &err));
        OK(meta_outbox_add_many(f.db, ids, parked, 2, &err));
        OK(meta_outbox_add_parked(f.db, ids[2], &err));
        int64_t pending;
        OK(meta_outbox_pending(f.db, &pending, &err));
        assert_int_equal(pending, 3); /* parked rows are pending work */
        struct meta_outbox_item it[4];
        /* far in the future still: only the due one is seen or claimed */
        assert_int_equal(meta_outbox_next(f.db, INT64_C(4000000000), it, 4, &err), 1);
        assert_int_equal(it[0].profile_id, ids[0]);
        assert_int_equal(meta_outbox_claim(f.db, 1000, 60, it, 4, &err), 1);
        assert_int_equal(it[0].profile_id, ids[0]);
        OK(meta_outbox_done(f.db, it[0].id, &err));
        /* unparking makes it due; unparking again, or a row already gone, changes nothing */
        OK(meta_outbox_unpark(f.db, ids[1], &err));
        OK(meta_outbox_unpark(f.db, ids[1], &err));
        OK(meta_outbox_unpark(f.db, ids[0], &err));
        assert_int_equal(meta_outbox_claim(f.db, 1000, 60, it, 4, &err), 1);
        assert_int_equal(it[0].profile_id, ids[1]);
        OK(meta_outbox_done(f.db, it[0].id, &err));
        OK(meta_outbox_pending(f.db, &pending, &err));
        assert_int_equal(pending, 1); /* ids[2] waits, parked */
        assert_int_equal(meta_outbox_add_many(f.db, ids, NULL, 0, &err), -EINVAL);
    }
}

/* ---- outbox claims: two coordinators on one store --------------------------------------- */

#define CLAIM_N 300

struct claimer {
    struct meta_db *db;
    unsigned char *seen; /* per profile id: how many times claimed (shared, atomics) */
    int claimed, fails;
};

static void *claim_worker(void *v)
{
    struct claimer *c = v;
    for (;;) {
        struct gp_err err = {0};
        struct meta_outbox_item it[7];
        int n = meta_outbox_claim(c->db, 1000, 60, it, 7, &err);
        if (n < 0) {
            fprintf(stderr, "claim: %s\n", err.msg);
            c->fails++;
            return NULL;
        }
        if (n == 0)
            return NULL;
        for (int i = 0; i < n; i++) {
            if (it[i].profile_id > 0 && it[i].profile_id <= 4 * CLAIM_N)
                __atomic_add_fetch(&c->seen[it[i].profile_id], 1, __ATOMIC_RELAXED);
            if (meta_outbox_done(c->db, it[i].id, &err) < 0)
                c->fails++;
        }
        c->claimed += n;
    }
}

static void test_outbox_claims(void **state)
{
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t sid, id;
        OK(meta_service_ensure(f.db, "svc", &sid, &err));
        OK(meta_begin(f.db, &err));
        for (int i = 0; i < CLAIM_N; i++) {
            char up[32], key[32];
            snprintf(up, sizeof(up), "u%d", i);
            snprintf(key, sizeof(key), "svc/k%d", i);
            struct meta_profile p = {.service_id = sid,
                                     .hostname = "h",
                                     .start_time = 1,
                                     .end_time = 2,
                                     .blob_key = key,
                                     .cpu_avg = -1,
                                     .mem_avg = -1,
                                     .upload_id = up};
            OK(meta_profile_insert(f.db, &p, &id, &err));
            OK(meta_outbox_add(f.db, id, &err));
        }
        OK(meta_commit(f.db, &err));

        /* a claimer that dies (its store closed without finishing) does not keep its items:
         * they come back at once after meta_outbox_recover (SQLite: the next start releases
         * every claim; Postgres: a claim by a backend that is gone is due again, which the
         * server notices a moment after the connection closed) */
        struct meta_outbox_item it[4];
        struct meta_db *dead;
        OK(meta_db_open(f.spec, &dead, &err));
        assert_int_equal(meta_outbox_claim(dead, 1000, 60, it, 1, &err), 1);
        int64_t dead_id = it[0].id;
        meta_db_close(dead);
        OK(meta_outbox_recover(f.db, &err));
        int got = 0;
        for (int tries = 0; tries < 100 && !got; tries++) {
            got = meta_outbox_claim(f.db, 1000, 60, it, 1, &err);
            assert_true(got >= 0);
            if (!got)
                usleep(50000);
        }
        assert_int_equal(got, 1);
        assert_int_equal(it[0].id, dead_id);
        OK(meta_outbox_release(f.db, dead_id, &err));

        /* a lease: claimed items are not due again until it ends, then they come back */
        assert_int_equal(meta_outbox_claim(f.db, 1000, 60, it, 2, &err), 2);
        assert_true(it[0].id < it[1].id);
        int64_t first = it[0].id, second = it[1].id;
        assert_int_equal(meta_outbox_next(f.db, 1000, it, 1, &err), 1);
        assert_true(it[0].id != first && it[0].id != second);
        assert_int_equal(meta_outbox_claim(f.db, 1059, 60, it, 1, &err), 1);
        assert_true(it[0].id != first); /* a claimer that died keeps them for the lease... */
        OK(meta_outbox_release(f.db, it[0].id, &err));
        assert_int_equal(meta_outbox_claim(f.db, 1060, 60, it, 2, &err), 2);
        assert_int_equal(it[0].id, first); /* ...then they are due again, oldest first */
        assert_int_equal(it[1].id, second);
        assert_int_equal(meta_outbox_claim(f.db, 0, 0, it, 1, &err), -EINVAL);

        /* two stores on the same database (two coordinators), two threads each, claiming at
         * once: every item is claimed exactly once */
        struct meta_db *other;
        OK(meta_db_open(f.spec, &other, &err));
        unsigned char *seen = calloc(4 * CLAIM_N + 1, 1);
        assert_non_null(seen);
        struct claimer c[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
            c[i] = (struct claimer){i % 2 ? other : f.db, seen, 0, 0};
            pthread_create(&th[i], NULL, claim_worker, &c[i]);
        }
        int total = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(th[i], NULL);
            assert_int_equal(c[i].fails, 0);
            total += c[i].claimed;
        }
        /* the 2 items claimed above at 1060 stay leased until 1120 */
        assert_int_equal(total, CLAIM_N - 2);
        int twice = 0;
        for (int i = 0; i <= 4 * CLAIM_N; i++)
            twice += seen[i] > 1;
        assert_int_equal(twice, 0);
        free(seen);
        meta_db_close(other);
    }
}

/* ---- threads ---------------------------------------------------------------------------- */

struct hb_thread {
    struct meta_db *db;
    int id, n, fails;
};

static void *hb_worker(void *v)
{
    struct hb_thread *t = v;
    char host[64];
    for (int i = 0; i < t->n; i++) {
        struct gp_err err = {0};
        snprintf(host, sizeof(host), "host-%d-%d", t->id, i % 2000);
        struct meta_heartbeat hb = {.hostname = host,
                                    .service_name = "bench",
                                    .ip_address = "10.1.2.3",
                                    .last_command_id = "c",
                                    .received_command_ids = "[\"a\",\"b\"]",
                                    .executed_command_ids = "[\"a\"]",
                                    .heartbeat_timestamp = 1000 + i};
        if (meta_heartbeat_upsert(t->db, &hb, &err) < 0)
            t->fails++;
        struct meta_command c;
        int rc = meta_command_get(t->db, host, "bench", &c, &err);
        if (rc == 0)
            meta_command_clear(&c);
        else if (rc != -ENOENT)
            t->fails++;
    }
    return NULL;
}

/* What the control plane's write-behind flush does: many upserts in one transaction. */
static void bench_batched(struct meta_db *db, const char *scheme)
{
    const int total = getenv("GPROF_BENCH") ? 200000 : 20000, batch = 1000;
    char host[64];
    double t0 = tu_now();
    for (int i = 0; i < total; i += batch) {
        struct gp_err err = {0};
        assert_int_equal(meta_begin(db, &err), 0);
        for (int j = i; j < i + batch; j++) {
            snprintf(host, sizeof(host), "fleet-%d", j % 10000);
            struct meta_heartbeat hb = {.hostname = host,
                                        .service_name = "fleet",
                                        .ip_address = "10.9.8.7",
                                        .last_command_id = "c",
                                        .received_command_ids = "[\"a\"]",
                                        .executed_command_ids = "[\"a\"]",
                                        .heartbeat_timestamp = 5000 + j};
            OK(meta_heartbeat_upsert(db, &hb, &err));
        }
        OK(meta_commit(db, &err));
    }
    double dt = tu_now() - t0;
    printf("# meta[%s]: batched (%d per transaction, 10k hosts): %.0f heartbeat upserts/s\n",
           scheme, batch, total / dt);
    struct gp_err err = {0};
    int64_t cnt;
    OK(meta_heartbeat_count(db, "fleet", 0, &cnt, &err));
    assert_int_equal(cnt, 10000);
}

static void test_threads_heartbeats(void **state)
{
    char eng[64];
    const int per_thread = getenv("GPROF_BENCH") ? 50000 : 5000;
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        for (int nthreads = 1; nthreads <= 4; nthreads *= 2) {
            pthread_t th[4];
            struct hb_thread a[4];
            double t0 = tu_now();
            for (int i = 0; i < nthreads; i++) {
                a[i] = (struct hb_thread){f.db, i, per_thread, 0};
                pthread_create(&th[i], NULL, hb_worker, &a[i]);
            }
            for (int i = 0; i < nthreads; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(a[i].fails, 0);
            }
            double dt = tu_now() - t0;
            printf("# meta[%s]: %d threads, one transaction each: %.0f heartbeat upserts+command "
                   "lookups/s\n",
                   tu_engine_name("GPROF_TEST_META", "sqlite", eng, sizeof(eng)), nthreads,
                   nthreads * per_thread / dt);
        }
        struct gp_err err = {0};
        int64_t cnt;
        OK(meta_heartbeat_count(f.db, "bench", 0, &cnt, &err));
        assert_int_equal(cnt, 4 * 2000);
        bench_batched(f.db, tu_engine_name("GPROF_TEST_META", "sqlite", eng, sizeof(eng)));
    }
}

/* ---- people and the audit log ------------------------------------------------------------ */

static int user_names(const struct meta_user *u, void *ctx)
{
    char *buf = ctx;
    strcat(buf, u->name);
    strcat(buf, ":");
    strcat(buf, meta_role_name(u->role));
    strcat(buf, ":");
    strcat(buf, u->services);
    strcat(buf, ";");
    return 0;
}

static int no_clear_secret(const struct meta_row *r, void *ctx)
{
    for (int i = 0; i < r->ncols; i++)
        if (r->cols[i].type == META_TEXT)
            assert_null(strstr((const char *)r->cols[i].p, (const char *)ctx));
    return 0;
}

static int count_tokens(const struct meta_token *t, void *ctx)
{
    (void)t;
    (*(int *)ctx)++;
    return 0;
}

struct audit_seen {
    int n;
    int64_t first_id;
    char first_who[64], first_target[64];
    int first_status;
};

static int audit_cb(const struct meta_audit *a, void *ctx)
{
    struct audit_seen *s = ctx;
    if (s->n++ == 0) {
        s->first_id = a->id;
        snprintf(s->first_who, sizeof(s->first_who), "%s", a->who);
        snprintf(s->first_target, sizeof(s->first_target), "%s", a->target);
        s->first_status = a->status;
    }
    return 0;
}

static void test_users_audit(void **state)
{
    (void)state;
    assert_int_equal(meta_role_parse("operator"), META_ROLE_OPERATOR);
    assert_int_equal(meta_role_parse("root"), META_ROLE_NONE);
    assert_string_equal(meta_role_name(META_ROLE_ADMIN), "admin");
    struct fx f;
    FOR_EACH_DRIVER(f)
    {
        struct gp_err err = {0};
        int64_t id;
        OK(meta_user_add(f.db, "alice", META_ROLE_OPERATOR, " payments, __web ,", "pw-1", &id,
                         &err));
        OK(meta_user_add(f.db, "bob", META_ROLE_VIEWER, NULL, "pw-2", NULL, &err));
        assert_int_equal(meta_user_add(f.db, "alice", META_ROLE_VIEWER, NULL, "x", NULL, &err),
                         -EEXIST);
        assert_int_equal(meta_user_add(f.db, "a b", META_ROLE_VIEWER, NULL, "x", NULL, &err),
                         -EINVAL);
        assert_int_equal(meta_user_add(f.db, "carol", 7, NULL, "x", NULL, &err), -EINVAL);
        assert_int_equal(meta_user_add(f.db, "carol", META_ROLE_ADMIN, NULL, "", NULL, &err),
                         -EINVAL);
        char names[512] = "";
        OK(meta_user_list(f.db, user_names, names, &err));
        assert_string_equal(names, "alice:operator:payments,web;bob:viewer:;");
        /* passwords: yescrypt, never stored in clear */
        struct meta_user u = {0};
        OK(meta_user_check_password(f.db, "alice", "pw-1", &u, &err));
        assert_int_equal(u.id, id);
        assert_int_equal(u.role, META_ROLE_OPERATOR);
        assert_string_equal(u.services, "payments,web");
        meta_user_clear(&u);
        assert_int_equal(meta_user_check_password(f.db, "alice", "pw-2", NULL, &err), -EACCES);
        assert_int_equal(meta_user_check_password(f.db, "nobody", "pw-1", NULL, &err), -EACCES);
        OK(meta_query(f.db, "SELECT * FROM users", NULL, 0, no_clear_secret, "pw-1", &err));
        OK(meta_query(f.db, "SELECT * FROM users", NULL, 0, no_clear_secret, "pw-2", &err));
        /* user tokens: hashed, revocable, not agent tokens */
        char tok[META_TOKEN_MAX], tok2[META_TOKEN_MAX];
        int64_t tid, tid2, got = 0;
        OK(meta_user_token_create(f.db, "alice", tok, sizeof(tok), &tid, &err));
        OK(meta_user_token_create(f.db, "bob", tok2, sizeof(tok2), &tid2, &err));
        assert_true(strncmp(tok, "gpu_", 4) == 0);
        assert_int_equal(meta_user_token_create(f.db, "nobody", tok2, sizeof(tok2), NULL, &err),
                         -ENOENT);
        OK(meta_user_token_validate(f.db, tok, &u, &got, &err));
        assert_string_equal(u.name, "alice");
        assert_int_equal(got, tid);
        meta_user_clear(&u);
        assert_int_equal(meta_token_validate(f.db, tok, NULL, NULL, 0, &err), -EACCES);
        OK(meta_query(f.db, "SELECT * FROM user_tokens", NULL, 0, no_clear_secret, tok + 4, &err));
        int n = 0;
        OK(meta_user_token_list(f.db, "alice", count_tokens, &n, &err));
        assert_int_equal(n, 1);
        OK(meta_user_token_revoke(f.db, tid, &err));
        assert_int_equal(meta_user_token_revoke(f.db, tid, &err), -ENOENT);
        assert_int_equal(meta_user_token_validate(f.db, tok, NULL, NULL, &err), -EACCES);
        /* sessions: expire, CSRF checked, deleted on logout and on a password change */
        char sid[META_TOKEN_MAX], csrf[META_TOKEN_MAX];
        int64_t now = 1700000000;
        OK(meta_session_create(f.db, id, now, 3600, sid, sizeof(sid), csrf, sizeof(csrf), &err));
        int csrf_ok = -1;
        OK(meta_session_get(f.db, sid, NULL, now + 10, &u, &csrf_ok, &err));
        assert_string_equal(u.name, "alice");
        assert_int_equal(csrf_ok, 0);
        meta_user_clear(&u);
        OK(meta_session_get(f.db, sid, csrf, now + 10, NULL, &csrf_ok, &err));
        assert_int_equal(csrf_ok, 1);
        OK(meta_session_get(f.db, sid, "gpc_other", now + 10, NULL, &csrf_ok, &err));
        assert_int_equal(csrf_ok, 0);
        assert_int_equal(meta_session_get(f.db, sid, csrf, now + 3601, NULL, NULL, &err), -EACCES);
        OK(meta_query(f.db, "SELECT * FROM user_sessions", NULL, 0, no_clear_secret, sid + 4,
                      &err));
        OK(meta_session_delete(f.db, sid, &err));
        assert_int_equal(meta_session_get(f.db, sid, csrf, now + 10, NULL, NULL, &err), -EACCES);
        OK(meta_session_create(f.db, id, now, 3600, sid, sizeof(sid), csrf, sizeof(csrf), &err));
        OK(meta_user_set_password(f.db, "alice", "pw-3", &err));
        assert_int_equal(meta_session_get(f.db, sid, csrf, now + 10, NULL, NULL, &err), -EACCES);
        OK(meta_user_check_password(f.db, "alice", "pw-3", NULL, &err));
        assert_int_equal(meta_user_set_password(f.db, "nobody", "x", &err), -ENOENT);
        /* role and services change in place; a live session sees the new role at once */
        OK(meta_session_create(f.db, id, now, 3600, sid, sizeof(sid), csrf, sizeof(csrf), &err));
        OK(meta_user_set_role(f.db, "bob", META_ROLE_ADMIN, " web ,, db", &err));
        OK(meta_user_set_role(f.db, "alice", META_ROLE_VIEWER, NULL, &err));
        names[0] = '\0';
        OK(meta_user_list(f.db, user_names, names, &err));
        assert_string_equal(names, "alice:viewer:;bob:admin:web,db;");
        OK(meta_session_get(f.db, sid, csrf, now + 10, &u, NULL, &err));
        assert_int_equal(u.role, META_ROLE_VIEWER);
        meta_user_clear(&u);
        assert_int_equal(meta_user_set_role(f.db, "nobody", META_ROLE_VIEWER, NULL, &err), -ENOENT);
        assert_int_equal(meta_user_set_role(f.db, "bob", 9, NULL, &err), -EINVAL);
        assert_int_equal(meta_user_set_role(f.db, "bob", META_ROLE_NONE, NULL, &err), -EINVAL);
        OK(meta_user_set_role(f.db, "alice", META_ROLE_OPERATOR, "payments", &err));
        /* removal takes tokens and sessions with it */
        OK(meta_user_token_create(f.db, "alice", tok, sizeof(tok), NULL, &err));
        OK(meta_session_create(f.db, id, now, 3600, sid, sizeof(sid), csrf, sizeof(csrf), &err));
        OK(meta_user_remove(f.db, "alice", &err));
        assert_int_equal(meta_user_remove(f.db, "alice", &err), -ENOENT);
        assert_int_equal(meta_user_token_validate(f.db, tok, NULL, NULL, &err), -EACCES);
        assert_int_equal(meta_session_get(f.db, sid, csrf, now + 10, NULL, NULL, &err), -EACCES);
        assert_int_equal(meta_user_get(f.db, "alice", NULL, &err), -ENOENT);
        OK(meta_user_get(f.db, "bob", NULL, &err));
        /* audit log: appended, newest first, since and limit */
        struct meta_audit a = {.at = 1000,
                               .who = "alice",
                               .address = "10.0.0.1",
                               .action = "profile_request start",
                               .target = "payments: h1",
                               .result = "ok",
                               .status = 200};
        OK(meta_audit_append(f.db, &a, &err));
        a.at = 2000;
        a.who = "anonymous";
        a.target = NULL; /* stored as "" */
        a.result = "denied";
        a.status = 401;
        a.detail = "authentication required";
        OK(meta_audit_append(f.db, &a, &err));
        struct audit_seen seen = {0};
        OK(meta_audit_list(f.db, 0, 0, audit_cb, &seen, &err));
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.first_who, "anonymous");
        assert_string_equal(seen.first_target, "");
        assert_int_equal(seen.first_status, 401);
        memset(&seen, 0, sizeof(seen));
        OK(meta_audit_list(f.db, 1500, 0, audit_cb, &seen, &err));
        assert_int_equal(seen.n, 1);
        memset(&seen, 0, sizeof(seen));
        OK(meta_audit_list(f.db, 0, 1, audit_cb, &seen, &err));
        assert_int_equal(seen.n, 1);
        assert_string_equal(seen.first_who, "anonymous");
        /* inside another transaction the append refuses rather than committing it */
        OK(meta_begin(f.db, &err));
        assert_int_equal(meta_audit_append(f.db, &a, &err), -EBUSY);
        meta_rollback(f.db);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_driver_basics),
            cmocka_unit_test(test_reentrant_query),
            cmocka_unit_test(test_reopen_keeps_data),
            cmocka_unit_test(test_services),
            cmocka_unit_test(test_tokens),
            cmocka_unit_test(test_users_audit),
            cmocka_unit_test(test_profiles_outbox),
            cmocka_unit_test(test_outbox_claims),
            cmocka_unit_test(test_outbox_parked),
            cmocka_unit_test(test_adhoc_settings),
            cmocka_unit_test(test_control_plane),
            cmocka_unit_test(test_threads_heartbeats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
