/* test_pprof.c — pprof export: gzip framing, string table, sample types, leaf-first locations,
 * one Function per distinct frame, comm as root frame and label, times from the header.
 * Also a tool for tests/integration/test_pprof.sh: `unit_pprof --convert IN.col OUT.pb.gz`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/collapsed.h"
#include "common/pprof.h"
#include "common/pprof_profile.pb-c.h"

static Gprof__Pprof__Profile *decode(const struct strbuf *gz)
{
    assert_true(gz->len > 18);
    assert_int_equal((unsigned char)gz->buf[0], 0x1f);
    assert_int_equal((unsigned char)gz->buf[1], 0x8b);
    size_t cap = 1 << 20;
    unsigned char *raw = malloc(cap);
    assert_non_null(raw);
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz->buf;
    z.avail_in = (uInt)gz->len;
    z.next_out = raw;
    z.avail_out = (uInt)cap;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    inflateEnd(&z);
    Gprof__Pprof__Profile *pr = gprof__pprof__profile__unpack(NULL, n, raw);
    free(raw);
    assert_non_null(pr);
    return pr;
}

static const char *str(const Gprof__Pprof__Profile *pr, int64_t i)
{
    assert_true(i >= 0 && (size_t)i < pr->n_string_table);
    return pr->string_table[i];
}

static const char *loc_name(const Gprof__Pprof__Profile *pr, uint64_t loc_id)
{
    for (size_t i = 0; i < pr->n_location; i++) {
        if (pr->location[i]->id != loc_id)
            continue;
        assert_int_equal(pr->location[i]->n_line, 1);
        uint64_t fid = pr->location[i]->line[0]->function_id;
        for (size_t k = 0; k < pr->n_function; k++)
            if (pr->function[k]->id == fid)
                return str(pr, pr->function[k]->name);
    }
    fail_msg("location %llu not found", (unsigned long long)loc_id);
    return NULL;
}

static void test_structure(void **state)
{
    struct gp_profile *p = gp_profile_new();
    const char *a[] = {"main", "work", "hot"};
    const char *b[] = {"main", "cold"};
    assert_int_equal(gp_profile_add(p, 0, "", "app", a, 3, 70), 0);
    assert_int_equal(gp_profile_add(p, 0, "box", "app", b, 2, 30), 0);
    json_object *h = gp_profile_header(p);
    json_object_object_add(h, "start_time", json_object_new_string("2026-01-02T03:04:05Z"));
    json_object_object_add(h, "end_time", json_object_new_string("2026-01-02T03:05:05.5+00:00"));
    struct strbuf gz = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_pprof_write(p, 100, &gz, &err), 0);
    Gprof__Pprof__Profile *pr = decode(&gz);

    assert_string_equal(str(pr, 0), "");
    assert_int_equal(pr->n_sample_type, 2);
    assert_string_equal(str(pr, pr->sample_type[0]->type), "samples");
    assert_string_equal(str(pr, pr->sample_type[0]->unit), "count");
    assert_string_equal(str(pr, pr->sample_type[1]->type), "cpu");
    assert_string_equal(str(pr, pr->sample_type[1]->unit), "nanoseconds");
    assert_non_null(pr->period_type);
    assert_int_equal(pr->period, 10000000);
    assert_int_equal(pr->time_nanos, 1767323045LL * 1000000000LL);
    assert_int_equal(pr->duration_nanos, 60500000000LL);
    /* main, work, hot, cold + the comm "app" */
    assert_int_equal(pr->n_function, 5);
    assert_int_equal(pr->n_location, 5);
    assert_int_equal(pr->n_mapping, 1);
    assert_true(pr->mapping[0]->has_functions);

    assert_int_equal(pr->n_sample, 2);
    Gprof__Pprof__Sample *s = pr->sample[0];
    assert_int_equal(s->n_value, 2);
    assert_int_equal(s->value[0], 70);
    assert_int_equal(s->value[1], 70 * 10000000LL);
    assert_int_equal(s->n_location_id, 4);
    assert_string_equal(loc_name(pr, s->location_id[0]), "hot"); /* leaf first */
    assert_string_equal(loc_name(pr, s->location_id[2]), "main");
    assert_string_equal(loc_name(pr, s->location_id[3]), "app"); /* comm is the root */
    assert_int_equal(s->n_label, 1);
    assert_string_equal(str(pr, s->label[0]->key), "comm");
    assert_string_equal(str(pr, s->label[0]->str), "app");
    Gprof__Pprof__Sample *t = pr->sample[1];
    assert_int_equal(t->n_label, 2);
    assert_string_equal(str(pr, t->label[1]->key), "container");
    assert_string_equal(str(pr, t->label[1]->str), "box");
    /* "main" is shared: one location for both samples */
    assert_int_equal(s->location_id[2], t->location_id[1]);
    /* the comm's Function is marked as a process, not code */
    for (size_t k = 0; k < pr->n_function; k++)
        if (!strcmp(str(pr, pr->function[k]->name), "app"))
            assert_string_equal(str(pr, pr->function[k]->filename), "[process]");

    gprof__pprof__profile__free_unpacked(pr, NULL);
    sb_free(&gz);
    gp_profile_free(p);
}

static void test_frequency_from_header_or_none(void **state)
{
    struct gp_profile *p = gp_profile_new();
    const char *a[] = {"f"};
    assert_int_equal(gp_profile_add(p, 0, "", "x", a, 1, 3), 0);
    struct strbuf gz = STRBUF_INIT;
    /* no frequency anywhere: only samples/count */
    assert_int_equal(gp_pprof_write(p, 0, &gz, NULL), 0);
    Gprof__Pprof__Profile *pr = decode(&gz);
    assert_int_equal(pr->n_sample_type, 1);
    assert_int_equal(pr->sample[0]->n_value, 1);
    assert_int_equal(pr->time_nanos, 0);
    gprof__pprof__profile__free_unpacked(pr, NULL);
    /* frequency in the header's metadata, epoch-second times */
    json_object *md = json_object_new_object();
    json_object_object_add(md, "sampling_frequency", json_object_new_int(99));
    json_object_object_add(gp_profile_header(p), "metadata", md);
    json_object_object_add(gp_profile_header(p), "start_time", json_object_new_int(1700000000));
    json_object_object_add(gp_profile_header(p), "end_time", json_object_new_double(1700000010.0));
    assert_int_equal(gp_profile_frequency(p), 99);
    sb_reset(&gz);
    assert_int_equal(gp_pprof_write(p, 0, &gz, NULL), 0);
    pr = decode(&gz);
    assert_int_equal(pr->n_sample_type, 2);
    assert_int_equal(pr->period, 1000000000 / 99);
    assert_int_equal(pr->sample[0]->value[1], 3LL * (1000000000 / 99));
    assert_int_equal(pr->time_nanos, 1700000000LL * 1000000000LL);
    assert_int_equal(pr->duration_nanos, 10LL * 1000000000LL);
    gprof__pprof__profile__free_unpacked(pr, NULL);
    sb_free(&gz);
    gp_profile_free(p);
}

static void test_header_times(void **state)
{
    struct gp_profile *p = gp_profile_new();
    json_object *h = gp_profile_header(p);
    double s, e;
    assert_int_equal(gp_profile_time_range(p, &s, &e), -ENOENT);
    json_object_object_add(h, "start_time", json_object_new_string("2026-01-02T05:04:05+02:00"));
    json_object_object_add(h, "end_time", json_object_new_string("2026-01-02 03:04:06.25"));
    assert_int_equal(gp_profile_time_range(p, &s, &e), 0);
    assert_true(s == 1767323045.0);
    assert_true(e == 1767323046.25);
    json_object_object_add(h, "start_time", json_object_new_int64(1767323045123LL)); /* ms */
    json_object_object_add(h, "end_time", json_object_new_string("yesterday"));
    assert_int_equal(gp_profile_time_range(p, &s, &e), -ENOENT);
    assert_true(s > 1767323045.12 && s < 1767323045.13);
    /* frequency: strings and nonsense */
    json_object_object_add(h, "frequency", json_object_new_string("49"));
    assert_int_equal(gp_profile_frequency(p), 49);
    json_object_object_add(h, "frequency", json_object_new_int(-5));
    assert_int_equal(gp_profile_frequency(p), 0);
    gp_profile_free(p);
}

static void test_empty_and_frameless(void **state)
{
    struct gp_profile *p = gp_profile_new();
    struct strbuf gz = STRBUF_INIT;
    assert_int_equal(gp_pprof_write(p, 99, &gz, NULL), 0);
    Gprof__Pprof__Profile *pr = decode(&gz);
    assert_int_equal(pr->n_sample, 0);
    gprof__pprof__profile__free_unpacked(pr, NULL);
    assert_int_equal(gp_profile_add(p, 0, "", "idle", NULL, 0, 4), 0);
    sb_reset(&gz);
    assert_int_equal(gp_pprof_write(p, 99, &gz, NULL), 0);
    pr = decode(&gz);
    assert_int_equal(pr->n_sample, 1);
    assert_int_equal(pr->sample[0]->n_location_id, 1);
    assert_string_equal(loc_name(pr, pr->sample[0]->location_id[0]), "idle");
    gprof__pprof__profile__free_unpacked(pr, NULL);
    sb_free(&gz);
    gp_profile_free(p);
}

static int convert(const char *in, const char *out)
{
    FILE *f = fopen(in, "rb");
    if (!f) {
        perror(in);
        return 1;
    }
    struct strbuf text = STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_append(&text, buf, n);
    fclose(f);
    struct gp_profile *p = NULL;
    struct gp_err err = {0};
    struct strbuf gz = STRBUF_INIT;
    if (gp_collapsed_parse(text.buf, text.len, NULL, &p, &err) || gp_pprof_write(p, 0, &gz, &err)) {
        fprintf(stderr, "%s: %s\n", in, err.msg);
        return 1;
    }
    FILE *o = fopen(out, "wb");
    if (!o || fwrite(gz.buf, 1, gz.len, o) != gz.len || fclose(o)) {
        perror(out);
        return 1;
    }
    gp_profile_free(p);
    sb_free(&gz);
    sb_free(&text);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--convert"))
        return convert(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_structure),
            cmocka_unit_test(test_frequency_from_header_or_none),
            cmocka_unit_test(test_header_times),
            cmocka_unit_test(test_empty_and_frameless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
