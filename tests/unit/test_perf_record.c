/* test_perf_record.c — parsing the perf engine's sample records (agent/sampler/perf_record.c):
 * the fields of a well-formed record, and every truncation or oversized length refused without
 * reading past the record (each record sits in a heap block of exactly its size, so ASan sees
 * any overread). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

#include "agent/sampler/perf_record.h"

struct builder {
    uint8_t buf[4096];
    size_t n;
};

static void u32(struct builder *b, uint32_t v)
{
    memcpy(b->buf + b->n, &v, 4);
    b->n += 4;
}

static void u64(struct builder *b, uint64_t v)
{
    memcpy(b->buf + b->n, &v, 8);
    b->n += 8;
}

/* header, pid/tid, a 3-entry callchain, then (with_user) abi, regs, stack of ssize bytes of
 * which dyn are valid */
static void build(struct builder *b, int with_user, uint64_t abi, uint64_t ssize, uint64_t dyn)
{
    memset(b, 0, sizeof(*b));
    b->n = sizeof(struct perf_event_header);
    u32(b, 1234);
    u32(b, 1235);
    u64(b, 3);
    u64(b, PERF_CONTEXT_KERNEL);
    u64(b, 0xffffffff81000010ULL);
    u64(b, 0xffffffff81000020ULL);
    if (with_user) {
        u64(b, abi);
        if (abi != PERF_SAMPLE_REGS_ABI_NONE) {
            u64(b, 0x7ffd00000100ULL); /* bp */
            u64(b, 0x7ffd00000000ULL); /* sp */
            u64(b, 0x401234);          /* ip */
        }
        u64(b, ssize);
        for (uint64_t i = 0; i < ssize; i++)
            b->buf[b->n++] = (uint8_t)i;
        if (ssize)
            u64(b, dyn);
    }
    struct perf_event_header h = {.type = PERF_RECORD_SAMPLE, .size = (uint16_t)b->n};
    memcpy(b->buf, &h, sizeof(h));
}

/* Parses the first size bytes of b from a heap block of exactly that size. */
static int parse(const struct builder *b, size_t size, int with_user, struct gp_perf_sample *out,
                 uint8_t **block)
{
    *block = malloc(size ? size : 1);
    assert_non_null(*block);
    memcpy(*block, b->buf, size);
    return gp_perf_sample_parse(*block, size, with_user, out);
}

static void well_formed(void **state)
{
    (void)state;
    struct builder b;
    struct gp_perf_sample s;
    uint8_t *blk;
    build(&b, 1, PERF_SAMPLE_REGS_ABI_64, 64, 40);
    assert_int_equal(parse(&b, b.n, 1, &s, &blk), 0);
    assert_int_equal(s.pid, 1234);
    assert_int_equal(s.tid, 1235);
    assert_int_equal(s.nr, 3);
    uint64_t ip;
    memcpy(&ip, s.chain + 8, 8);
    assert_int_equal(ip, 0xffffffff81000010ULL);
    assert_int_equal(s.abi, PERF_SAMPLE_REGS_ABI_64);
    assert_int_equal(s.bp, 0x7ffd00000100ULL);
    assert_int_equal(s.sp, 0x7ffd00000000ULL);
    assert_int_equal(s.ip, 0x401234);
    assert_int_equal(s.stack_len, 40); /* dyn_size: what the kernel could copy */
    assert_int_equal(s.stack[0], 0);
    assert_int_equal(s.stack[39], 39);
    free(blk);

    /* a dyn_size beyond the stack's size is clamped to it */
    build(&b, 1, PERF_SAMPLE_REGS_ABI_64, 16, 1000);
    assert_int_equal(parse(&b, b.n, 1, &s, &blk), 0);
    assert_int_equal(s.stack_len, 16);
    free(blk);

    /* no user context: no registers, a stack size of 0 and no dyn_size */
    build(&b, 1, PERF_SAMPLE_REGS_ABI_NONE, 0, 0);
    assert_int_equal(parse(&b, b.n, 1, &s, &blk), 0);
    assert_int_equal(s.abi, PERF_SAMPLE_REGS_ABI_NONE);
    assert_int_equal(s.ip, 0);
    assert_int_equal(s.stack_len, 0);
    free(blk);

    /* without user registers and stack: TID + CALLCHAIN only */
    build(&b, 0, 0, 0, 0);
    assert_int_equal(parse(&b, b.n, 0, &s, &blk), 0);
    assert_int_equal(s.nr, 3);
    assert_null(s.stack);
    free(blk);
}

/* Every record cut short is refused, never read past. */
static void truncated(void **state)
{
    (void)state;
    struct builder b;
    struct gp_perf_sample s;
    uint8_t *blk;
    const int layouts[][2] = {{1, PERF_SAMPLE_REGS_ABI_64}, {1, PERF_SAMPLE_REGS_ABI_NONE}, {0, 0}};
    for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
        int with_user = layouts[l][0];
        build(&b, with_user, (uint64_t)layouts[l][1], layouts[l][1] ? 24 : 0, 24);
        for (size_t size = 0; size < b.n; size++) {
            assert_int_equal(parse(&b, size, with_user, &s, &blk), -EINVAL);
            free(blk);
        }
        assert_int_equal(parse(&b, b.n, with_user, &s, &blk), 0);
        free(blk);
    }
}

/* Lengths inside the record that point past it: a callchain or stack bigger than the record,
 * including sizes that would overflow a multiplication or an addition. */
static void oversized_lengths(void **state)
{
    (void)state;
    struct builder b;
    struct gp_perf_sample s;
    uint8_t *blk;
    const size_t nr_at = sizeof(struct perf_event_header) + 8;
    const uint64_t bad_nr[] = {4, 1ULL << 61, UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad_nr) / sizeof(bad_nr[0]); i++) {
        build(&b, 0, 0, 0, 0);
        memcpy(b.buf + nr_at, &bad_nr[i], 8);
        assert_int_equal(parse(&b, b.n, 0, &s, &blk), -EINVAL);
        free(blk);
    }
    /* the stack size field: after header, ids, nr, 3 ips, abi, 3 regs */
    const size_t ssize_at = nr_at + 8 + 3 * 8 + 8 + 3 * 8;
    const uint64_t bad_ssize[] = {33, 1ULL << 63, UINT64_MAX};
    for (size_t i = 0; i < sizeof(bad_ssize) / sizeof(bad_ssize[0]); i++) {
        build(&b, 1, PERF_SAMPLE_REGS_ABI_64, 32, 32);
        memcpy(b.buf + ssize_at, &bad_ssize[i], 8);
        assert_int_equal(parse(&b, b.n, 1, &s, &blk), -EINVAL);
        free(blk);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(well_formed),
            cmocka_unit_test(truncated),
            cmocka_unit_test(oversized_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
