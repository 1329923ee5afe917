/* test_uw_maps.c — the kernel layout the BPF unwinder reads (agent/sampler/uw_maps.c): the page
 * index and row arrays give, for every address, the row a plain binary search finds, and every
 * update of a process's mappings gives it a new generation (the program's per-CPU rule cache's
 * tag). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/sampler/uw_maps.h"
#include "agent/unwind/table.h"
#include "bpf/unwind.h"

struct fixture {
    struct gp_uw_maps_fds fds;
    struct gp_uw_maps *m;
    struct gp_uw_sink sink;
    const struct gp_uw_key_block *keys;
    const struct gp_uw_rule_block *rules;
    const struct gp_uw_page_block *pages;
    size_t keys_len, rules_len, pages_len;
};

static int array(uint32_t value, uint32_t n, uint32_t flags)
{
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
    return bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, value, n, &o);
}

static const void *map_ro(int fd, size_t len)
{
    void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    return p == MAP_FAILED ? NULL : p;
}

static size_t page_round(size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (len + pg - 1) / pg * pg;
}

static int setup_cap(void **state, uint64_t cap)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    gp_uw_maps_size(cap, &f->fds.rows_cap, &f->fds.pages_cap);
    f->fds.keys = array(sizeof(struct gp_uw_key_block), f->fds.rows_cap / GP_UW_KEYS_PER_BLOCK,
                        BPF_F_MMAPABLE);
    if (f->fds.keys < 0) { /* not root, or no BPF here */
        free(f);
        *state = NULL;
        return 0;
    }
    f->fds.rules = array(sizeof(struct gp_uw_rule_block), f->fds.rows_cap / GP_UW_RULES_PER_BLOCK,
                         BPF_F_MMAPABLE);
    f->fds.pages = array(sizeof(struct gp_uw_page_block), f->fds.pages_cap / GP_UW_PAGES_PER_BLOCK,
                         BPF_F_MMAPABLE);
    f->fds.tables = array(sizeof(struct gp_uw_ktable), GP_UW_MAX_TABLES, 0);
    LIBBPF_OPTS(bpf_map_create_opts, ho, .map_flags = BPF_F_NO_PREALLOC);
    f->fds.procs = bpf_map_create(BPF_MAP_TYPE_HASH, NULL, 4, sizeof(struct gp_uw_kproc), 64, &ho);
    assert_true(f->fds.rules >= 0 && f->fds.pages >= 0 && f->fds.tables >= 0 && f->fds.procs >= 0);
    struct gp_err err = {0};
    assert_int_equal(gp_uw_maps_open(&f->fds, &f->m, &f->sink, &err), 0);
    f->keys_len = page_round((size_t)f->fds.rows_cap / GP_UW_KEYS_PER_BLOCK * 64);
    f->rules_len = page_round((size_t)f->fds.rows_cap / GP_UW_RULES_PER_BLOCK * 64);
    f->pages_len = page_round((size_t)f->fds.pages_cap / GP_UW_PAGES_PER_BLOCK * 64);
    f->keys = map_ro(f->fds.keys, f->keys_len);
    f->rules = map_ro(f->fds.rules, f->rules_len);
    f->pages = map_ro(f->fds.pages, f->pages_len);
    assert_true(f->keys && f->rules && f->pages);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_cap(state, 4u << 20);
}

/* 16 MiB: arrays of 4, 8 and 4 MiB, which uw_maps.c maps 2 MiB at a time as tables reach. */
static int setup_16(void **state)
{
    return setup_cap(state, 16u << 20);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    gp_uw_maps_close(f->m);
    munmap((void *)f->keys, f->keys_len);
    munmap((void *)f->rules, f->rules_len);
    munmap((void *)f->pages, f->pages_len);
    close(f->fds.keys);
    close(f->fds.rules);
    close(f->fds.pages);
    close(f->fds.tables);
    close(f->fds.procs);
    free(f);
    return 0;
}

/* What unwind.bpf.h's uw_find does after the mapping: the global row of table offset off
 * through the page index, or -1 outside the table. */
static int64_t kernel_row(const struct fixture *f, const struct gp_uw_ktable *kt, uint64_t vaddr)
{
    if (vaddr < kt->base || vaddr - kt->base >= kt->span)
        return -1;
    uint32_t off = (uint32_t)(vaddr - kt->base);
    uint32_t pi = kt->page0 + (off >> GP_UW_PAGE_SHIFT);
    uint32_t lo = f->pages[pi / GP_UW_PAGES_PER_BLOCK].row[pi % GP_UW_PAGES_PER_BLOCK];
    pi++;
    uint32_t hi = f->pages[pi / GP_UW_PAGES_PER_BLOCK].row[pi % GP_UW_PAGES_PER_BLOCK];
    uint32_t in = off & ((1u << GP_UW_PAGE_SHIFT) - 1);
    for (int i = 0; i < GP_UW_SEARCH_STEPS && lo < hi; i++) {
        uint32_t mid = lo + ((hi - lo + 1) >> 1);
        if (f->keys[mid / GP_UW_KEYS_PER_BLOCK].key[mid % GP_UW_KEYS_PER_BLOCK] <= in)
            lo = mid;
        else
            hi = mid - 1;
    }
    assert_true(lo >= hi); /* the search ended within its steps */
    return lo;
}

/* A fixture table: n rows from base, gaps of 1..max_gap bytes (some rows far apart, so pages
 * with no row start and pages with many both occur), rules from a small set. */
static struct gp_uw_table fixture_table(uint64_t base, size_t n, unsigned max_gap, unsigned seed)
{
    struct gp_uw_table t = {.e = calloc(n, sizeof(struct gp_uw_entry)), .n = n};
    assert_non_null(t.e);
    srand(seed);
    uint64_t pc = base;
    for (size_t i = 0; i < n; i++) {
        t.e[i].pc = pc;
        t.e[i].rule.cfa = (uint8_t)(i + 1 == n ? GP_UW_NONE : rand() % 3);
        static const int16_t cfa[] = {8, 16, 24, 4096, 32760, -32768, -8, 1, 32767};
        static const int16_t fp[] = {0, -16, -24, -56, -32768, 32760, 8, -4096};
        t.e[i].rule.cfa_off = (int16_t)(rand() % 2 ? 8 * (1 + rand() % 40) : cfa[rand() % 9]);
        t.e[i].rule.fp_off = fp[rand() % 8];
        pc += 1 + (unsigned)rand() % (i % 97 == 0 ? 9000 : max_gap);
    }
    return t;
}

static void check_table(struct fixture *f, uint32_t id, const struct gp_uw_table *t)
{
    struct gp_uw_ktable kt;
    assert_int_equal(bpf_map_lookup_elem(f->fds.tables, &id, &kt), 0);
    assert_int_equal(kt.nrows, t->n);
    uint64_t end = t->e[t->n - 1].pc;
    for (uint64_t a = t->e[0].pc - 16; a < end + 16; a++) {
        const struct gp_uw_entry *want = gp_uw_table_find(t, a);
        int64_t got = kernel_row(f, &kt, a);
        if (a < t->e[0].pc || a >= end) {
            assert_int_equal(got, -1);
            continue;
        }
        assert_non_null(want);
        assert_true(got >= kt.row0 && got < (int64_t)kt.row0 + (int64_t)kt.nrows);
        if ((uint64_t)(got - kt.row0) != (uint64_t)(want - t->e))
            fail_msg("table %u address %#llx: page index row %lld, binary search row %lld", id,
                     (unsigned long long)a, (long long)(got - kt.row0), (long long)(want - t->e));
        if (a != want->pc)
            continue;
        uint32_t g = (uint32_t)got;
        uint32_t kr = f->rules[g / GP_UW_RULES_PER_BLOCK].rule[g % GP_UW_RULES_PER_BLOCK];
        assert_int_equal(gp_uw_rule_kind(kr), want->rule.cfa);
        assert_int_equal(gp_uw_rule_cfa_off(kr), want->rule.cfa_off);
        assert_int_equal(gp_uw_rule_fp_off(kr), want->rule.fp_off);
    }
}

/* Every address of three tables (dense, sparse, one row a page apart) finds through the page
 * index the row gp_uw_table_find finds, also after a table in the middle is removed and a new
 * one fills its place. */
static void test_page_index_as_binary_search(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    struct gp_uw_table t[4] = {
            fixture_table(0x1000, 3000, 24, 1),
            fixture_table(0x400123, 500, 600, 2),
            fixture_table(0x7000, 40, 5000, 3),
            fixture_table(0x20000, 1200, 40, 4),
    };
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(f->sink.table_add(f->sink.ctx, i + 1, &t[i]), 0);
    for (uint32_t i = 0; i < 3; i++)
        check_table(f, i + 1, &t[i]);
    f->sink.table_remove(f->sink.ctx, 2);
    assert_int_equal(f->sink.table_add(f->sink.ctx, 4, &t[3]), 0);
    check_table(f, 1, &t[0]);
    check_table(f, 3, &t[2]);
    check_table(f, 4, &t[3]);
    for (int i = 0; i < 4; i++)
        free(t[i].e);
}

/* Tables past the first 2 MiB of every array: uw_maps.c maps more of an array as a table needs
 * it, and what it writes there is what the kernel's arrays hold. Full arrays refuse a table
 * (ENOSPC) and take one again where a removed one was. Each row is checked at its own address. */
static void test_tables_fill_every_window(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    enum { NT = 7, ROWS = 300000 };
    struct gp_uw_table t[NT + 1];
    uint32_t fitted = 0;
    for (uint32_t i = 0; i < NT; i++) {
        t[i] = fixture_table(0x1000 + ((uint64_t)i << 32), ROWS, 24, 10 + i);
        int rc = f->sink.table_add(f->sink.ctx, i + 1, &t[i]);
        if (rc) {
            assert_int_equal(rc, -ENOSPC); /* 2,097,152 rows hold six */
            break;
        }
        fitted++;
    }
    assert_int_equal(fitted, 6);
    f->sink.table_remove(f->sink.ctx, 1);
    t[NT] = fixture_table(0x1000 + ((uint64_t)NT << 32), ROWS, 24, 99);
    assert_int_equal(f->sink.table_add(f->sink.ctx, NT + 1, &t[NT]), 0);
    for (uint32_t i = 1; i <= NT; i++) {
        if (i >= fitted && i < NT)
            continue;
        struct gp_uw_ktable kt;
        assert_int_equal(bpf_map_lookup_elem(f->fds.tables, &(uint32_t){i + 1}, &kt), 0);
        for (size_t r = 0; r + 1 < t[i].n; r++) {
            int64_t got = kernel_row(f, &kt, t[i].e[r].pc);
            assert_int_equal(got, (int64_t)(kt.row0 + r));
            uint32_t g = (uint32_t)got;
            uint32_t kr = f->rules[g / GP_UW_RULES_PER_BLOCK].rule[g % GP_UW_RULES_PER_BLOCK];
            assert_int_equal(gp_uw_rule_kind(kr), t[i].e[r].rule.cfa);
        }
    }
    for (uint32_t i = 0; i <= NT; i++)
        free(t[i].e);
}

/* The 4-byte rules keep every kind and every CFA offset a row can hold, RBP offsets that are
 * multiples of 8 (what x86-64 compilers emit), and an RBP offset that does not fit is UNKNOWN
 * (the walk stops and counts it) rather than a wrong frame. */
static void test_rule_pack(void **state)
{
    (void)state;
    for (uint32_t kind = 0; kind <= GP_UW_NONE; kind++)
        for (int32_t cfa = -32768; cfa <= 32767; cfa += 127)
            for (int32_t fp = -32768; fp <= 32760; fp += 8 * 61) {
                uint32_t r = gp_uw_rule_pack(kind, cfa, fp);
                assert_int_equal(gp_uw_rule_kind(r), kind);
                assert_int_equal(gp_uw_rule_cfa_off(r), cfa);
                assert_int_equal(gp_uw_rule_fp_off(r), fp);
            }
    uint32_t r = gp_uw_rule_pack(GP_UW_CFA_SP, 16, -20);
    assert_int_equal(gp_uw_rule_kind(r), GP_UW_UNKNOWN);
    r = gp_uw_rule_pack(GP_UW_CFA_SP, 32767, 32760);
    assert_int_equal(gp_uw_rule_cfa_off(r), 32767);
    assert_int_equal(gp_uw_rule_fp_off(r), 32760);
    /* a row key is the pc within the page it is searched in: 1..page size */
    assert_int_equal(gp_uw_row_key(0), 0);
    assert_int_equal(gp_uw_row_key(1), 1);
    assert_int_equal(gp_uw_row_key(1u << GP_UW_PAGE_SHIFT), 1u << GP_UW_PAGE_SHIFT);
    assert_int_equal(gp_uw_row_key((1u << GP_UW_PAGE_SHIFT) + 1), 1);
}

/* The program caches rules per CPU tagged with the generation of the process's mappings it
 * read when its walk began: each update of a process's mappings must give it a generation never
 * used before (for any process: a tgid can be reused), or a walk would use a rule of the
 * process's old mappings; tables come and go without touching the other processes' tags. */
static void test_every_update_new_generation(void **state)
{
    struct fixture *f = *state;
    if (!f)
        skip();
    struct gp_uw_table t = fixture_table(0x1000, 100, 24, 5);
    assert_int_equal(f->sink.table_add(f->sink.ctx, 7, &t), 0);
    struct gp_uw_mapping mp = {
            .start = 0x555500001000, .end = 0x555500010000, .bias = 0x555500000000, .table_id = 7};
    struct gp_uw_kproc *kp = calloc(1, sizeof(*kp));
    assert_non_null(kp);
    uint32_t seen[8], n = 0, tgids[] = {4242, 4343, 4242, 4242};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(f->sink.proc_set(f->sink.ctx, tgids[i], &mp, 1), 0);
        assert_int_equal(bpf_map_lookup_elem(f->fds.procs, &tgids[i], kp), 0);
        assert_int_equal(kp->n, 1);
        assert_int_equal(kp->start[0], mp.start);
        assert_int_equal(kp->m[0].end, mp.end);
        assert_int_equal(kp->m[0].table, 7);
        assert_true(kp->gen != 0); /* the tag of empty cache entries */
        for (uint32_t j = 0; j < n; j++)
            assert_true(kp->gen != seen[j]);
        seen[n++] = kp->gen;
        if (i == 2) { /* gone and back (a tgid reused): a fresh generation too */
            f->sink.proc_remove(f->sink.ctx, tgids[i]);
            assert_int_not_equal(bpf_map_lookup_elem(f->fds.procs, &tgids[i], kp), 0);
        }
    }
    /* a table added or removed leaves a process's generation as it was */
    uint32_t before = seen[n - 1];
    struct gp_uw_table t2 = fixture_table(0x9000, 50, 24, 6);
    assert_int_equal(f->sink.table_add(f->sink.ctx, 8, &t2), 0);
    f->sink.table_remove(f->sink.ctx, 8);
    assert_int_equal(bpf_map_lookup_elem(f->fds.procs, &tgids[3], kp), 0);
    assert_int_equal(kp->gen, before);
    assert_int_equal(f->sink.proc_set(f->sink.ctx, 4242, NULL, 0), 0);
    assert_int_not_equal(bpf_map_lookup_elem(f->fds.procs, &tgids[3], kp), 0);
    f->sink.table_remove(f->sink.ctx, 7);
    free(kp);
    free(t.e);
    free(t2.e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_page_index_as_binary_search, setup, teardown),
            cmocka_unit_test_setup_teardown(test_every_update_new_generation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tables_fill_every_window, setup_16, teardown),
            cmocka_unit_test(test_rule_pack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
