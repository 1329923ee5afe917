/* test_store.c — the coordinator store end to end: ingest (blob + row + outbox) -> indexer ->
 * exact merged query; duplicate uploads; outbox replay after reopening; replay after a crash
 * between index commit and outbox removal; downsampling; unparsable uploads; retention; ad hoc
 * files; the background thread; and the crash test (a child ingesting and indexing is
 * SIGKILLed at a random moment: every acknowledged profile is queryable exactly once and both
 * databases pass integrity_check). Measures ingests per second (reported, not asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "common/collapsed.h"
#include "coordinator/store/ingest.h"
#include "coordinator/store/store.h"
#include "coordinator/store/store_internal.h"
#include "test_store_util.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <zlib.h>

#define OK(expr)                                                                                   \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0)                                                                               \
            fail_msg("%s = %d: %s", #expr, rc_, err.msg);                                          \
    } while (0)

/* Opens a store in dir on the engines under test (GPROF_TEST_META, GPROF_TEST_BLOBS,
 * GPROF_TEST_INDEX; default sqlite, fs, sqlite there, as the coordinator's defaults). */
static int open_engines_x(const char *dir, int poll_ms, const char *index_params,
                          struct coord_store **s, struct gp_err *err)
{
    char *meta = tu_engine_spec("GPROF_TEST_META", "sqlite", dir, "meta.db");
    char *blobs = tu_engine_spec("GPROF_TEST_BLOBS", "fs", dir, "profiles");
    char *index = tu_engine_spec("GPROF_TEST_INDEX", "sqlite", dir, "index.db");
    if (index && index_params && strstr(index, "://")) { /* a network engine's spec parameters */
        char *x = NULL;
        if (asprintf(&x, "%s%c%s", index, strchr(index, '?') ? '&' : '?', index_params) < 0)
            x = NULL;
        free(index);
        index = x;
    }
    struct coord_store_config cfg = {.state_dir = dir,
                                     .meta = meta,
                                     .blobs = blobs,
                                     .index = index,
                                     .indexer_poll_ms = poll_ms};
    int rc = meta && blobs && index ? coord_store_open(&cfg, s, err)
                                    : gp_err_set(err, -ENOMEM, "out of memory");
    free(meta);
    free(blobs);
    free(index);
    return rc;
}

static int open_engines(const char *dir, int poll_ms, struct coord_store **s, struct gp_err *err)
{
    return open_engines_x(dir, poll_ms, NULL, s, err);
}

static struct coord_store *open_store(const char *dir)
{
    struct coord_store *s = NULL;
    struct gp_err err = {0};
    OK(open_engines(dir, 20, &s, &err));
    return s;
}

/* The collapsed text of p as an agent uploads it. Caller frees. */
static char *collapsed(struct gp_profile *p, size_t *len)
{
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    json_object_object_add(gp_profile_header(p), "hostname", json_object_new_string("x"));
    OK(gp_collapsed_write(p, &sb, &err));
    return sb_detach(&sb, len);
}

static int64_t ingest(struct coord_store *s, const char *svc, const char *host, int64_t start,
                      const char *upload, const char *text, size_t len)
{
    struct gp_err err = {0};
    struct ingest_request r = {.service = svc,
                               .hostname = host,
                               .start_time = start,
                               .end_time = start + 60,
                               .cpu_avg = 5,
                               .mem_avg = 20,
                               .continuous = 1,
                               .upload_id = upload,
                               .text = text,
                               .text_len = len};
    int64_t id = 0;
    OK(coord_ingest(s, &r, &id, &err));
    assert_true(id > 0);
    return id;
}

static char *query(struct coord_store *s, const char *svc, int64_t a, int64_t b, uint64_t *total)
{
    struct gp_err err = {0};
    struct gp_profile *out = gp_profile_new();
    struct index_query q = {.service = svc, .start = a, .end = b};
    struct index_query_stats st;
    OK(index_query(s->index, &q, out, &st, &err));
    if (total)
        *total = st.total_samples;
    char *c = tu_canon(out);
    gp_profile_free(out);
    return c;
}

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void test_ingest_index_query(void **state)
{
    char *dir = tu_tmpdir("store");
    struct coord_store *s = open_store(dir);
    struct gp_err err = {0};
    int64_t t = now_s() / 3600 * 3600 - 7200;
    struct gp_profile *ref = gp_profile_new();
    int64_t ids[5];
    for (int i = 0; i < 5; i++) {
        struct gp_profile *p = tu_profile(4, (uint64_t)i, 120, 9);
        gp_profile_merge(ref, p);
        size_t len;
        char *text = collapsed(p, &len);
        char up[32];
        snprintf(up, sizeof(up), "up-%d", i);
        ids[i] = ingest(s, "my svc!", i % 2 ? "host/1" : "host 2", t + i * 60, up, text, len);
        free(text);
        gp_profile_free(p);
    }
    /* the row, the blob (gzip of the text) and the outbox are there before any indexing */
    struct meta_profile row;
    OK(meta_profile_get(s->meta, ids[1], &row, &err));
    assert_string_equal(row.service, "mysvc");
    assert_string_equal(row.hostname, "host/1");
    assert_int_equal(row.indexed, 0);
    /* laid out as Performance Studio's: products/<service>/stacks/<day>/... */
    assert_int_equal(strncmp(row.blob_key, "products/mysvc/stacks/", 22), 0);
    assert_non_null(strstr(row.blob_key, "_up-1_host_1.col.gz"));
    void *gz;
    size_t gzlen;
    OK(blob_get(s->blobs, row.blob_key, &gz, &gzlen, 0, &err));
    assert_int_equal((int64_t)gzlen, row.size);
    assert_int_equal(((unsigned char *)gz)[0], 0x1f);
    assert_int_equal(((unsigned char *)gz)[1], 0x8b);
    free(gz);
    meta_profile_clear(&row);
    int64_t pending;
    OK(meta_outbox_pending(s->meta, &pending, &err));
    assert_int_equal(pending, 5);
    char *empty = query(s, "mysvc", t - 60, t + 3600, NULL);
    assert_string_equal(empty, "");
    free(empty);

    size_t done = 0;
    OK(coord_indexer_run(s, 0, &done, &err));
    assert_int_equal(done, 5);
    OK(meta_outbox_pending(s->meta, &pending, &err));
    assert_int_equal(pending, 0);
    OK(meta_profile_get(s->meta, ids[4], &row, &err));
    assert_int_equal(row.indexed, 1);
    meta_profile_clear(&row);
    char *want = tu_canon(ref), *got = query(s, "mysvc", t - 60, t + 3600, NULL);
    assert_string_equal(got, want);
    free(got);

    /* a retried upload is stored once and counted once */
    struct gp_profile *p0 = tu_profile(4, 0, 120, 9);
    size_t len;
    char *text = collapsed(p0, &len);
    assert_int_equal(ingest(s, "mysvc", "host 2", t, "up-0", text, len), ids[0]);
    free(text);
    gp_profile_free(p0);
    OK(coord_indexer_run(s, 0, &done, &err));
    assert_int_equal(done, 0);
    got = query(s, "mysvc", t - 60, t + 3600, NULL);
    assert_string_equal(got, want);
    free(got);

    /* a crash after the index committed but before the outbox row went: replay is a no-op */
    OK(meta_outbox_add(s->meta, ids[2], &err));
    OK(coord_indexer_run(s, 0, &done, &err));
    assert_int_equal(done, 1);
    struct coord_index_stats st;
    coord_indexer_stats(s, &st);
    assert_int_equal(st.indexed, 5);
    assert_int_equal(st.already, 1);
    got = query(s, "mysvc", t - 60, t + 3600, NULL);
    assert_string_equal(got, want);
    free(got);
    free(want);
    gp_profile_free(ref);

    /* the agent's body stored as received is indexed from its "profile" member */
    {
        struct gp_profile *pe = tu_profile(21, 21, 60, 6);
        size_t tl;
        char *tx = collapsed(pe, &tl);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "hostname", json_object_new_string("h"));
        json_object_object_add(o, "profile", json_object_new_string_len(tx, (int)tl));
        size_t jl;
        const char *js = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &jl);
        unsigned char body[1 << 16];
        z_stream z = {0};
        deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        z.next_in = (Bytef *)js;
        z.avail_in = (uInt)jl;
        z.next_out = body;
        z.avail_out = sizeof(body);
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        struct ingest_request r = {.service = "envsvc",
                                   .hostname = "h",
                                   .start_time = t,
                                   .end_time = t + 60,
                                   .cpu_avg = -1,
                                   .mem_avg = -1,
                                   .upload_id = "env-1",
                                   .envelope_gz = body,
                                   .envelope_gz_len = z.total_out};
        deflateEnd(&z);
        int64_t eid;
        OK(coord_ingest(s, &r, &eid, &err));
        OK(coord_indexer_run(s, 0, &done, &err));
        OK(meta_profile_get(s->meta, eid, &row, &err));
        assert_int_equal(row.indexed, 1);
        assert_non_null(strstr(row.blob_key, ".json.gz"));
        meta_profile_clear(&row);
        char *wanted = tu_canon(pe), *have = query(s, "envsvc", t - 60, t + 60, NULL);
        assert_string_equal(have, wanted);
        free(wanted);
        free(have);
        json_object_put(o);
        free(tx);
        gp_profile_free(pe);
    }

    /* invalid requests */
    struct ingest_request bad = {.service = "!!", .hostname = "h", .text = "x", .text_len = 1};
    int64_t id;
    assert_int_equal(coord_ingest(s, &bad, &id, &err), -EINVAL);
    bad.service = "ok";
    bad.hostname = "a\nb";
    assert_int_equal(coord_ingest(s, &bad, &id, &err), -EINVAL);
    bad.hostname = "h";
    bad.upload_id = "../../etc";
    assert_int_equal(coord_ingest(s, &bad, &id, &err), -EINVAL);
    bad.upload_id = NULL;
    bad.start_time = 100;
    bad.end_time = 50;
    assert_int_equal(coord_ingest(s, &bad, &id, &err), -EINVAL);
    coord_store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static int64_t pending_items(struct coord_store *s)
{
    struct gp_err err = {0};
    int64_t n = -1;
    OK(meta_outbox_pending(s->meta, &n, &err));
    return n;
}

/* Batches by rows and by time across indexer passes, as the index engine asks
 * (index_batch_policy: ClickHouse 100,000 stacks / 1,000 ms by default, SQLite none): held items
 * stay in the outbox, unindexed, until their batch is added; rows or age end a batch; stopping
 * the background thread adds what it holds. */
static void test_indexer_batches(void **state)
{
    (void)state;
    char *dir = tu_tmpdir("store");
    struct gp_err err = {0};
    struct coord_store *s = NULL;
    OK(open_engines(dir, 20, &s, &err));
    size_t brows;
    int bms;
    index_batch_policy(s->index, &brows, &bms);
    int64_t t = now_s() / 60 * 60 - 600;
    struct gp_profile *ref = gp_profile_new();
    int64_t ids[3];
    for (int i = 0; i < 3; i++) {
        struct gp_profile *p = tu_profile(5, (uint64_t)i + 40, 100, 8);
        gp_profile_merge(ref, p);
        size_t len;
        char *text = collapsed(p, &len);
        char up[32];
        snprintf(up, sizeof(up), "batch-%d", i);
        ids[i] = ingest(s, "bsvc", "h", t + i * 60, up, text, len);
        free(text);
        gp_profile_free(p);
    }
    char *want = tu_canon(ref);
    gp_profile_free(ref);
    size_t done = 0;
    int wait_ms = 0;
    double t0 = tu_now();
    OK(coord_indexer_pass(s, 64, &done, &wait_ms, &err));
    assert_int_equal(done, 3);
    if (brows) { /* 300 stacks < brows: held, still in the outbox, not in the index */
        assert_true(bms > 0);
        assert_true(wait_ms > 0 && wait_ms <= bms);
        assert_int_equal(pending_items(s), 3);
        for (int i = 0; i < 3; i++)
            assert_int_equal(index_has(s->index, ids[i], &err), 0);
        /* a pass before the batch time claims nothing new and adds nothing */
        OK(coord_indexer_pass(s, 64, &done, &wait_ms, &err));
        assert_int_equal(done, 0);
        if (tu_now() - t0 < bms / 2000.0) {
            assert_int_equal(index_has(s->index, ids[0], &err), 0);
            assert_true(wait_ms > 0);
        }
        usleep((useconds_t)wait_ms * 1000 + 20000);
        OK(coord_indexer_pass(s, 64, &done, &wait_ms, &err));
        assert_int_equal(done, 0);
    }
    /* due by age (or never held): added, outbox empty, nothing held */
    assert_int_equal(wait_ms, -1);
    assert_int_equal(pending_items(s), 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(index_has(s->index, ids[i], &err), 1);
    char *got = query(s, "bsvc", t - 60, t + 3600, NULL);
    assert_string_equal(got, want);
    free(got);
    free(want);

    /* more held items than one metadata statement takes (64 ids): all recorded */
    {
        struct gp_profile *sp = tu_profile(5, 90, 3, 4);
        size_t sl;
        char *st = collapsed(sp, &sl);
        int64_t many[70];
        for (int i = 0; i < 70; i++) {
            char up[32];
            snprintf(up, sizeof(up), "batch-many-%d", i);
            many[i] = ingest(s, "bsvc", "h", t + 600 + i * 60, up, st, sl);
        }
        OK(coord_indexer_pass(s, 0, &done, &wait_ms, &err));
        assert_int_equal(done, 70);
        OK(coord_indexer_flush(s, &err));
        assert_int_equal(pending_items(s), 0);
        for (int i = 0; i < 70; i++)
            assert_int_equal(index_has(s->index, many[i], &err), 1);
        struct meta_profile row;
        OK(meta_profile_get(s->meta, many[69], &row, &err));
        assert_int_equal(row.indexed, 1);
        meta_profile_clear(&row);
        free(st);
        gp_profile_free(sp);
    }

    /* the background thread stopped while it holds items adds them first */
    struct gp_profile *p = tu_profile(5, 77, 50, 8);
    size_t len;
    char *text = collapsed(p, &len);
    OK(coord_store_start(s, &err));
    int64_t id4 = ingest(s, "bsvc", "h", t + 240, "batch-stop", text, len);
    coord_store_kick(s);
    /* stop once the thread holds the item, or added it (engines that do not batch): a fixed
     * sleep lost that race under load */
    for (int i = 0; i < 1000 && coord_indexer_held(s) == 0 && !index_has(s->index, id4, &err); i++)
        usleep(10000);
    coord_store_stop(s);
    assert_int_equal(index_has(s->index, id4, &err), 1);
    assert_int_equal(pending_items(s), 0);
    coord_store_close(s);

    /* by rows: a batch of batch_rows=60 stacks is added as soon as the claim fills it */
    s = NULL;
    OK(open_engines_x(dir, 20, "batch_rows=60&batch_ms=30000", &s, &err));
    index_batch_policy(s->index, &brows, &bms);
    int64_t id5 = ingest(s, "bsvc", "h", t + 300, "batch-rows", text, len);
    OK(coord_indexer_pass(s, 64, &done, &wait_ms, &err));
    assert_int_equal(done, 1);
    if (brows) { /* 50 stacks: held for up to 30 s */
        assert_int_equal(brows, 60);
        assert_true(wait_ms > 1000);
        assert_int_equal(index_has(s->index, id5, &err), 0);
        struct gp_profile *big = tu_profile(5, 78, 100, 8);
        size_t blen;
        char *btext = collapsed(big, &blen);
        ingest(s, "bsvc", "h", t + 360, "batch-rows-2", btext, blen);
        free(btext);
        gp_profile_free(big);
        OK(coord_indexer_pass(s, 64, &done, &wait_ms, &err));
        assert_int_equal(done, 1);
    }
    assert_int_equal(wait_ms, -1);
    assert_int_equal(index_has(s->index, id5, &err), 1);
    assert_int_equal(pending_items(s), 0);
    free(text);
    gp_profile_free(p);
    coord_store_close(s);
    tu_rmrf(dir);
    free(dir);
}

static void test_replay_downsample_failures(void **state)
{
    char *dir = tu_tmpdir("store");
    struct gp_err err = {0};
    int64_t t = now_s() / 60 * 60 - 600;
    struct gp_profile *p = tu_profile(6, 6, 80, 7);
    size_t len;
    char *text = collapsed(p, &len);
    struct coord_store *s = open_store(dir);
    for (int i = 0; i < 3; i++) {
        char up[16];
        snprintf(up, sizeof(up), "r%d", i);
        ingest(s, "svc", "h", t + i, up, text, len);
    }
    /* closed before indexing: the outbox survives the restart */
    coord_store_close(s);
    s = open_store(dir);
    size_t done;
    OK(coord_indexer_run(s, 0, &done, &err));
    assert_int_equal(done, 3);
    uint64_t total;
    free(query(s, "svc", t - 60, t + 600, &total));
    assert_int_equal(total, 3 * gp_profile_total(p));

    /* downsampling: threshold 1 drops everything from the index, not from storage */
    OK(meta_service_set_sample_threshold(s->meta, "svc", 1.0, &err));
    int64_t id = ingest(s, "svc", "h", t + 10, "ds1", text, len);
    OK(coord_indexer_run(s, 0, &done, &err));
    struct meta_profile row;
    OK(meta_profile_get(s->meta, id, &row, &err));
    assert_int_equal(row.indexed, 2);
    meta_profile_clear(&row);
    free(query(s, "svc", t - 60, t + 600, &total));
    assert_int_equal(total, 3 * gp_profile_total(p));
    /* threshold 0.5: about half, and the same half on every replay */
    OK(meta_service_set_sample_threshold(s->meta, "svc", 0.5, &err));
    for (int i = 0; i < 40; i++) {
        char up[16];
        snprintf(up, sizeof(up), "half%d", i);
        ingest(s, "svc", "h", t + 20, up, text, len);
    }
    OK(coord_indexer_run(s, 0, &done, &err));
    struct coord_index_stats st;
    coord_indexer_stats(s, &st);
    assert_true(st.skipped > 1 + 5 && st.skipped < 1 + 35);
    OK(meta_service_set_sample_threshold(s->meta, "svc", 0, &err));

    /* an unparsable upload is marked failed and leaves the outbox */
    const char *junk = "# {}\nthis is not collapsed";
    id = ingest(s, "svc", "h", t, "junk", junk, strlen(junk));
    OK(coord_indexer_run(s, 0, &done, &err));
    OK(meta_profile_get(s->meta, id, &row, &err));
    assert_int_equal(row.indexed, 3);
    meta_profile_clear(&row);
    int64_t pending;
    OK(meta_outbox_pending(s->meta, &pending, &err));
    assert_int_equal(pending, 0);

    /* ad hoc HTML */
    struct ingest_adhoc a = {.service = "svc",
                             .hostname = "h",
                             .filename = "flame_1.html",
                             .start_time = t,
                             .end_time = t + 60,
                             .html = "<html></html>",
                             .html_len = 13};
    OK(coord_ingest_adhoc(s, &a, &id, &err));
    void *html;
    size_t hl;
    OK(coord_adhoc_read(s, "svc", "flame_1.html", &html, &hl, &err));
    assert_int_equal(hl, 13);
    assert_memory_equal(html, "<html></html>", 13);
    free(html);
    assert_int_equal(coord_adhoc_read(s, "svc", "../../meta.db", &html, &hl, &err), -EINVAL);
    assert_int_equal(coord_adhoc_read(s, "svc", "nope.html", &html, &hl, &err), -ENOENT);
    a.filename = "../x.html";
    assert_int_equal(coord_ingest_adhoc(s, &a, &id, &err), -EINVAL);
    a.filename = ".hidden";
    assert_int_equal(coord_ingest_adhoc(s, &a, &id, &err), -EINVAL);
    coord_store_close(s);
    free(text);
    gp_profile_free(p);
    tu_rmrf(dir);
    free(dir);
}

static int count_blobs(const char *key, uint64_t size, void *ctx)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_retention(void **state)
{
    char *dir = tu_tmpdir("store");
    struct coord_store *s = open_store(dir);
    struct gp_err err = {0};
    int64_t now = now_s();
    struct gp_profile *p = tu_profile(8, 8, 50, 5);
    size_t len;
    char *text = collapsed(p, &len);
    int64_t old = ingest(s, "svc", "h", now - 40 * 86400, "old", text, len);
    int64_t mid = ingest(s, "svc", "h", now - 10 * 86400, "mid", text, len);
    int64_t fresh = ingest(s, "svc", "h", now - 600, "new", text, len);
    struct ingest_adhoc a = {.service = "svc",
                             .hostname = "h",
                             .filename = "old.html",
                             .start_time = now - 40 * 86400,
                             .end_time = now - 40 * 86400,
                             .html = "x",
                             .html_len = 1};
    OK(coord_ingest_adhoc(s, &a, NULL, &err));
    size_t done;
    OK(coord_indexer_run(s, 0, &done, &err));
    assert_int_equal(done, 3);
    int nb = 0;
    OK(blob_list(s->blobs, "", count_blobs, &nb, &err));
    assert_int_equal(nb, 4);

    /* an orphan: a blob whose row never committed, in a date directory about to expire */
    char okey[128], dkey[128];
    OK(coord_ingest_blob_key("svc", now - 33 * 86400, "orphan", "h", okey, sizeof(okey)));
    OK(blob_put(s->blobs, okey, "x", 1, &err));
    /* a blob in a recent date directory is never swept, referenced or not */
    OK(coord_ingest_blob_key("svc", now - 5 * 86400, "young", "h", dkey, sizeof(dkey)));
    OK(blob_put(s->blobs, dkey, "x", 1, &err));
    int64_t days;
    OK(coord_store_retention_days(s, &days, &err));
    assert_int_equal(days, 30);
    struct coord_retention_stats rs;
    OK(coord_retention_run(s, now, &rs, &err));
    assert_int_equal(rs.profiles, 1);
    assert_int_equal(rs.adhoc, 1);
    assert_int_equal(rs.index_profiles, 1);
    assert_int_equal(rs.orphans, 1);
    uint64_t bsz;
    assert_int_equal(blob_stat(s->blobs, okey, &bsz, &err), -ENOENT);
    OK(blob_stat(s->blobs, dkey, &bsz, &err));
    OK(blob_delete(s->blobs, dkey, &err));
    struct meta_profile row;
    assert_int_equal(meta_profile_get(s->meta, old, &row, &err), -ENOENT);
    OK(meta_profile_get(s->meta, mid, &row, &err));
    meta_profile_clear(&row);
    assert_int_equal(index_has(s->index, old, &err), 0);
    assert_int_equal(index_has(s->index, mid, &err), 1);
    nb = 0;
    OK(blob_list(s->blobs, "", count_blobs, &nb, &err));
    assert_int_equal(nb, 2);

    /* PerfSpect reports (named by their end time, as the upload API stores them): an expired one
     * goes, a fresh one stays; a host's "latest" pointer goes with the report it names */
    char rold[128], rnew[128], r2old[128], ts[32];
    struct tm tm;
    time_t t = (time_t)(now - 40 * 86400);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H-%M-%S", gmtime_r(&t, &tm));
    snprintf(rold, sizeof(rold), "perfspect/svc/h/%s_u1.html", ts);
    snprintf(r2old, sizeof(r2old), "perfspect/svc/h2/%s_u2.html", ts);
    t = (time_t)(now - 600);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H-%M-%S", gmtime_r(&t, &tm));
    snprintf(rnew, sizeof(rnew), "perfspect/svc/h/%s_u3.html", ts);
    OK(blob_put(s->blobs, rold, "<html>", 6, &err));
    OK(blob_put(s->blobs, r2old, "<html>", 6, &err));
    OK(blob_put(s->blobs, rnew, "<html>", 6, &err));
    OK(blob_put(s->blobs, "perfspect/svc/h/latest", rnew, strlen(rnew), &err));
    OK(blob_put(s->blobs, "perfspect/svc/h2/latest", r2old, strlen(r2old), &err));
    OK(coord_retention_run(s, now, &rs, &err));
    assert_int_equal(rs.profiles, 0);
    assert_int_equal(rs.perfspect, 2);
    assert_int_equal(blob_stat(s->blobs, rold, &bsz, &err), -ENOENT);
    assert_int_equal(blob_stat(s->blobs, r2old, &bsz, &err), -ENOENT);
    assert_int_equal(blob_stat(s->blobs, "perfspect/svc/h2/latest", &bsz, &err), -ENOENT);
    OK(blob_stat(s->blobs, rnew, &bsz, &err));
    OK(blob_stat(s->blobs, "perfspect/svc/h/latest", &bsz, &err));
    OK(blob_delete(s->blobs, rnew, &err));
    OK(blob_delete(s->blobs, "perfspect/svc/h/latest", &err));

    /* the setting wins over the configuration */
    OK(meta_setting_set(s->meta, META_SETTING_RETENTION_DAYS, "7", &err));
    OK(coord_retention_run(s, now, &rs, &err));
    assert_int_equal(rs.profiles, 1);
    assert_int_equal(index_has(s->index, mid, &err), 0);
    assert_int_equal(index_has(s->index, fresh, &err), 1);
    uint64_t total;
    free(query(s, "svc", now - 50 * 86400, now + 60, &total));
    assert_int_equal(total, gp_profile_total(p));
    OK(meta_setting_set(s->meta, META_SETTING_RETENTION_DAYS, "-1", &err));
    OK(coord_retention_run(s, now + 100 * 86400, &rs, &err));
    assert_int_equal(rs.profiles, 0);
    coord_store_close(s);
    free(text);
    gp_profile_free(p);
    tu_rmrf(dir);
    free(dir);
}

static void test_background_thread(void **state)
{
    char *dir = tu_tmpdir("store");
    struct coord_store *s = open_store(dir);
    struct gp_err err = {0};
    OK(coord_store_start(s, &err));
    assert_int_equal(coord_store_start(s, &err), -EALREADY);
    struct gp_profile *p = tu_profile(9, 9, 30, 5);
    size_t len;
    char *text = collapsed(p, &len);
    int64_t id = ingest(s, "svc", "h", now_s() - 60, NULL, text, len);
    int ok = 0;
    for (int i = 0; i < 500 && !ok; i++) {
        ok = index_has(s->index, id, &err) == 1;
        if (!ok)
            usleep(10000);
    }
    assert_true(ok);
    coord_store_stop(s);
    coord_store_stop(s); /* idempotent */
    coord_store_close(s);
    free(text);
    gp_profile_free(p);
    tu_rmrf(dir);
    free(dir);
}

/* ---- crash test ------------------------------------------------------------------------- */

static void child_ingest_forever(const char *dir, int fd, const char *text, size_t len)
{
    struct coord_store *s;
    struct gp_err err = {0};
    if (open_engines(dir, 5, &s, &err) < 0 || coord_store_start(s, &err) < 0)
        _exit(2);
    int64_t t = (int64_t)time(NULL) - 300;
    for (int i = 0;; i++) {
        char up[32];
        snprintf(up, sizeof(up), "crash-%d", i);
        struct ingest_request r = {.service = "crash",
                                   .hostname = i % 2 ? "c1" : "c2",
                                   .start_time = t + i % 120,
                                   .end_time = t + i % 120 + 60,
                                   .cpu_avg = -1,
                                   .mem_avg = -1,
                                   .upload_id = up,
                                   .text = text,
                                   .text_len = len};
        int64_t id;
        if (coord_ingest(s, &r, &id, &err) < 0)
            _exit(3);
        /* acknowledged: tell the parent, like the HTTP layer answering 200 */
        if (write(fd, &id, sizeof(id)) != sizeof(id))
            _exit(4);
    }
}

static int count_rows(const struct meta_profile *p, void *ctx)
{
    (*(int64_t *)ctx)++;
    return 0;
}

static void test_crash_kill9(void **state)
{
    struct gp_profile *p = tu_profile(12, 12, 150, 12);
    size_t len;
    char *text = collapsed(p, &len);
    uint64_t per = gp_profile_total(p);
    uint64_t seed = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    int rounds = getenv("GPROF_BENCH") ? 6 : 3;
    for (int round = 0; round < rounds; round++) {
        char *dir = tu_tmpdir("crash");
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child_ingest_forever(dir, pfd[1], text, len);
        }
        close(pfd[1]);
        int64_t *acked = NULL;
        size_t nacked = 0, cap = 0;
        double deadline = tu_now() + 0.2 + (double)(tu_rand(&seed) % 800) / 1000.0;
        while (tu_now() < deadline) {
            int64_t id;
            ssize_t r = read(pfd[0], &id, sizeof(id));
            if (r != sizeof(id))
                break;
            if (nacked == cap) {
                cap = cap ? cap * 2 : 256;
                acked = realloc(acked, cap * sizeof(*acked));
            }
            acked[nacked++] = id;
        }
        kill(pid, SIGKILL);
        /* ids already in the pipe were acknowledged too */
        int64_t id;
        while (read(pfd[0], &id, sizeof(id)) == sizeof(id)) {
            if (nacked == cap) {
                cap = cap ? cap * 2 : 256;
                acked = realloc(acked, cap * sizeof(*acked));
            }
            acked[nacked++] = id;
        }
        close(pfd[0]);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));

        struct coord_store *s = open_store(dir);
        struct gp_err err = {0};
        size_t done;
        OK(coord_indexer_run(s, 0, &done, &err));
        for (size_t i = 0; i < nacked; i++)
            if (index_has(s->index, acked[i], &err) != 1)
                fail_msg("acknowledged profile %lld is not indexed", (long long)acked[i]);
        int64_t rows = 0;
        OK(meta_profile_list(s->meta, "crash", 0, INT64_MAX, 0, count_rows, &rows, &err));
        assert_true(rows >= (int64_t)nacked);
        uint64_t total;
        free(query(s, "crash", 0, now_s() + 86400, &total));
        if (total != (uint64_t)rows * per)
            fail_msg("index holds %llu samples for %lld stored profiles of %llu",
                     (unsigned long long)total, (long long)rows, (unsigned long long)per);
        int ok = 0;
        char msg[256];
        OK(meta_check(s->meta, &ok, msg, sizeof(msg), &err));
        assert_int_equal(ok, 1);
        OK(index_check(s->index, &ok, msg, sizeof(msg), &err));
        assert_int_equal(ok, 1);
        struct coord_index_stats st;
        coord_indexer_stats(s, &st);
        printf("# crash round %d: %zu acknowledged, %lld stored, %zu indexed after restart "
               "(%llu already indexed)\n",
               round, nacked, (long long)rows, done, (unsigned long long)st.already);
        coord_store_close(s);
        free(acked);
        tu_rmrf(dir);
        free(dir);
    }
    free(text);
    gp_profile_free(p);
}

struct ing_thread {
    struct coord_store *s;
    const char *text;
    size_t len;
    int n, fails;
};

static void *ingest_worker(void *v)
{
    struct ing_thread *t = v;
    for (int i = 0; i < t->n; i++) {
        struct gp_err err = {0};
        struct ingest_request r = {.service = "bench",
                                   .hostname = "h",
                                   .start_time = now_s() - 60,
                                   .end_time = now_s(),
                                   .cpu_avg = -1,
                                   .mem_avg = -1,
                                   .text = t->text,
                                   .text_len = t->len};
        int64_t id;
        if (coord_ingest(t->s, &r, &id, &err) < 0)
            t->fails++;
    }
    return NULL;
}

struct env_thread {
    struct coord_store *s;
    const void *body;
    size_t len;
    int n, fails;
};

static void *env_worker(void *v)
{
    struct env_thread *t = v;
    for (int i = 0; i < t->n; i++) {
        struct gp_err err = {0};
        struct ingest_request r = {.service = "bench",
                                   .hostname = "h",
                                   .start_time = now_s() - 60,
                                   .end_time = now_s(),
                                   .cpu_avg = -1,
                                   .mem_avg = -1,
                                   .envelope_gz = t->body,
                                   .envelope_gz_len = t->len};
        int64_t id;
        if (coord_ingest(t->s, &r, &id, &err) < 0)
            t->fails++;
    }
    return NULL;
}

static void test_bench_ingest(void **state)
{
    char *dir = tu_tmpdir("store");
    struct coord_store *s = open_store(dir);
    struct gp_err err = {0};
    struct {
        const char *what;
        unsigned stacks, depth;
        int n;
    } cases[] = {
            {"small (100 stacks x 10 frames)", 100, 10, getenv("GPROF_BENCH") ? 800 : 160},
            {"realistic (2000 stacks x 40 frames)", 2000, 40, getenv("GPROF_BENCH") ? 200 : 16},
    };
    for (size_t c = 0; c < 2; c++) {
        struct gp_profile *p = tu_profile(13, 13, cases[c].stacks, cases[c].depth);
        size_t len;
        char *text = collapsed(p, &len);
        double t0 = tu_now();
        for (int i = 0; i < cases[c].n; i++)
            ingest(s, "bench", "h", now_s() - 60, NULL, text, len);
        double dt = tu_now() - t0;
        printf("# store: ingest %s, %zu bytes of text, 1 thread: %.0f ingests/s (%.2f ms each)\n",
               cases[c].what, len, cases[c].n / dt, dt * 1e3 / cases[c].n);
        /* concurrent uploads, as the HTTP thread pool makes them: commits are grouped */
        for (int nt = 4; nt <= 16; nt *= 4) {
            pthread_t th[16];
            struct ing_thread a[16];
            t0 = tu_now();
            for (int i = 0; i < nt; i++) {
                a[i] = (struct ing_thread){s, text, len, cases[c].n / 4, 0};
                pthread_create(&th[i], NULL, ingest_worker, &a[i]);
            }
            for (int i = 0; i < nt; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(a[i].fails, 0);
            }
            dt = tu_now() - t0;
            printf("# store: ingest %s, %d threads: %.0f ingests/s\n", cases[c].what, nt,
                   nt * (cases[c].n / 4) / dt);
        }
        /* the same with the text gzip'd by the caller (body reuse) */
        unsigned char *gz = malloc(compressBound((uLong)len) + 64);
        z_stream zs = {0};
        deflateInit2(&zs, 1, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
        zs.next_in = (Bytef *)text;
        zs.avail_in = (uInt)len;
        zs.next_out = gz;
        zs.avail_out = (uInt)(compressBound((uLong)len) + 64);
        deflate(&zs, Z_FINISH);
        size_t gzlen = zs.total_out;
        deflateEnd(&zs);
        t0 = tu_now();
        for (int i = 0; i < cases[c].n; i++) {
            struct ingest_request r = {.service = "bench",
                                       .hostname = "h",
                                       .start_time = now_s() - 60,
                                       .end_time = now_s(),
                                       .cpu_avg = -1,
                                       .mem_avg = -1,
                                       .gz = gz,
                                       .gz_len = gzlen};
            int64_t id;
            OK(coord_ingest(s, &r, &id, &err));
        }
        dt = tu_now() - t0;
        printf("# store: ingest %s pre-gzip'd (%zu bytes): %.0f ingests/s (%.2f ms each)\n",
               cases[c].what, gzlen, cases[c].n / dt, dt * 1e3 / cases[c].n);
        /* the agent's gzip'd body stored as received, from 4 threads */
        {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "start_time", json_object_new_string("x"));
            json_object_object_add(o, "profile", json_object_new_string_len(text, (int)len));
            size_t jl;
            const char *js = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &jl);
            unsigned char *body = malloc(compressBound((uLong)jl) + 64);
            z_stream z2 = {0};
            deflateInit2(&z2, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
            z2.next_in = (Bytef *)js;
            z2.avail_in = (uInt)jl;
            z2.next_out = body;
            z2.avail_out = (uInt)(compressBound((uLong)jl) + 64);
            deflate(&z2, Z_FINISH);
            size_t blen = z2.total_out;
            deflateEnd(&z2);
            json_object_put(o);
            struct env_thread a[4];
            pthread_t th[4];
            t0 = tu_now();
            for (int i = 0; i < 4; i++) {
                a[i] = (struct env_thread){s, body, blen, cases[c].n / 4, 0};
                pthread_create(&th[i], NULL, env_worker, &a[i]);
            }
            for (int i = 0; i < 4; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(a[i].fails, 0);
            }
            dt = tu_now() - t0;
            printf("# store: ingest %s, agent body stored as received (%zu bytes), 4 threads: "
                   "%.0f ingests/s\n",
                   cases[c].what, blen, 4 * (cases[c].n / 4) / dt);
            free(body);
        }
        t0 = tu_now();
        size_t done;
        OK(coord_indexer_run(s, 0, &done, &err));
        dt = tu_now() - t0;
        printf("# store: indexer (read blob, gunzip, parse, index add): %.1f profiles/s\n",
               done / dt);
        free(gz);
        free(text);
        gp_profile_free(p);
    }
    coord_store_close(s);
    tu_rmrf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ingest_index_query),
            cmocka_unit_test(test_replay_downsample_failures),
            cmocka_unit_test(test_indexer_batches),
            cmocka_unit_test(test_retention),
            cmocka_unit_test(test_background_thread),
            cmocka_unit_test(test_crash_kill9),
            cmocka_unit_test(test_bench_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
