/* test_flametree.c — Performance Studio tree JSON: exact output, levels, truncation that keeps
 * totals right, the before/after diff, and the compact format decoding to the same tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "common/flametree.h"

static struct gp_profile *make(void)
{
    struct gp_profile *p = gp_profile_new();
    const char *a[] = {"main", "b_hot"};
    const char *b[] = {"main", "a_cold"};
    const char *c[] = {"main"};
    const char *d[] = {"zz"};
    assert_int_equal(gp_profile_add(p, 1, "", "app", a, 2, 6), 0);
    assert_int_equal(gp_profile_add(p, 2, "web", "app", b, 2, 3), 0);
    assert_int_equal(gp_profile_add(p, 0, "", "app", c, 1, 1), 0);
    assert_int_equal(gp_profile_add(p, 0, "db", "pg\"<x>", d, 1, 2), 0);
    return p;
}

static void check(struct gp_profile *p, const struct gp_flametree_opts *o, const char *want)
{
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_flametree_json(p, o, &sb, &err), 0);
    assert_string_equal(sb_str(&sb), want);
    /* and it is valid JSON */
    json_object *j = json_tokener_parse(sb_str(&sb));
    assert_non_null(j);
    json_object_put(j);
    sb_free(&sb);
}

static void test_default_levels(void **state)
{
    struct gp_profile *p = make();
    check(p, NULL,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"app\",\"value\":10,\"children\":["
          "{\"name\":\"main\",\"value\":10,\"children\":["
          "{\"name\":\"a_cold\",\"value\":3,\"children\":[]},"
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]}]},"
          "{\"name\":\"pg\\\"<x>\",\"value\":2,\"children\":["
          "{\"name\":\"zz\",\"value\":2,\"children\":[]}]}]}");
    gp_profile_free(p);
}

static void test_container_and_no_comm(void **state)
{
    struct gp_profile *p = make();
    struct gp_flametree_opts o = {.flags = GP_FLAMETREE_CONTAINER};
    check(p, &o,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"app\",\"value\":7,\"children\":["
          "{\"name\":\"main\",\"value\":7,\"children\":["
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]}]},"
          "{\"name\":\"db\",\"value\":2,\"children\":["
          "{\"name\":\"pg\\\"<x>\",\"value\":2,\"children\":["
          "{\"name\":\"zz\",\"value\":2,\"children\":[]}]}]},"
          "{\"name\":\"web\",\"value\":3,\"children\":["
          "{\"name\":\"app\",\"value\":3,\"children\":["
          "{\"name\":\"main\",\"value\":3,\"children\":["
          "{\"name\":\"a_cold\",\"value\":3,\"children\":[]}]}]}]}]}");
    struct gp_flametree_opts n = {.flags = GP_FLAMETREE_NO_COMM};
    check(p, &n,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"main\",\"value\":10,\"children\":["
          "{\"name\":\"a_cold\",\"value\":3,\"children\":[]},"
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]},"
          "{\"name\":\"zz\",\"value\":2,\"children\":[]}]}");
    gp_profile_free(p);
}

static void test_truncation_keeps_totals(void **state)
{
    struct gp_profile *p = make();
    /* the 3 heaviest nodes: app(10), main(10), b_hot(6); pg/zz/a_cold dropped, values exact */
    struct gp_flametree_opts o = {.max_nodes = 3};
    check(p, &o,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"app\",\"value\":10,\"children\":["
          "{\"name\":\"main\",\"value\":10,\"children\":["
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]}]}]}");
    /* ties: a child never survives without its parent */
    struct gp_profile *q = gp_profile_new();
    const char *f[] = {"a", "b", "c"};
    assert_int_equal(gp_profile_add(q, 0, "", "x", f, 3, 5), 0);
    struct gp_flametree_opts t = {.max_nodes = 2};
    check(q, &t,
          "{\"name\":\"root\",\"value\":5,\"children\":["
          "{\"name\":\"x\",\"value\":5,\"children\":["
          "{\"name\":\"a\",\"value\":5,\"children\":[]}]}]}");
    gp_profile_free(q);
    gp_profile_free(p);
}

static void test_max_stacks_keeps_totals(void **state)
{
    struct gp_profile *p = make();
    /* heaviest 2 stacks: app;main;b_hot (6) and app;main;a_cold (3). main;[self] (1) adds to
     * existing app/main; pg"<x>";zz (2) has no node and counts only in root. */
    struct gp_flametree_opts o = {.max_stacks = 2};
    check(p, &o,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"app\",\"value\":10,\"children\":["
          "{\"name\":\"main\",\"value\":10,\"children\":["
          "{\"name\":\"a_cold\",\"value\":3,\"children\":[]},"
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]}]}]}");
    struct gp_flametree_opts one = {.max_stacks = 1};
    check(p, &one,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"app\",\"value\":10,\"children\":["
          "{\"name\":\"main\",\"value\":10,\"children\":["
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]}]}]}");
    gp_profile_free(p);
}

static void test_empty_profile(void **state)
{
    struct gp_profile *p = gp_profile_new();
    check(p, NULL, "{\"name\":\"root\",\"value\":0,\"children\":[]}");
    gp_profile_free(p);
}

static void test_diff(void **state)
{
    struct gp_profile *before = gp_profile_new(), *after = gp_profile_new();
    const char *a[] = {"main", "old"};
    const char *b[] = {"main", "both"};
    const char *c[] = {"main", "new"};
    assert_int_equal(gp_profile_add(before, 0, "", "app", a, 2, 4), 0);
    assert_int_equal(gp_profile_add(before, 0, "", "app", b, 2, 6), 0);
    assert_int_equal(gp_profile_add(after, 0, "", "app", b, 2, 2), 0);
    assert_int_equal(gp_profile_add(after, 0, "", "app", c, 2, 7), 0);
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_flametree_diff_json(before, after, NULL, &sb, &err), 0);
    assert_string_equal(
            sb_str(&sb),
            "{\"name\":\"root\",\"value\":9,\"before\":10,\"after\":9,\"children\":["
            "{\"name\":\"app\",\"value\":9,\"before\":10,\"after\":9,\"children\":["
            "{\"name\":\"main\",\"value\":9,\"before\":10,\"after\":9,\"children\":["
            "{\"name\":\"both\",\"value\":2,\"before\":6,\"after\":2,\"children\":[]},"
            "{\"name\":\"new\",\"value\":7,\"before\":0,\"after\":7,\"children\":[]},"
            "{\"name\":\"old\",\"value\":0,\"before\":4,\"after\":0,\"children\":[]}]}]}]}");
    /* truncation ranks by max(before, after): new(7) and both(6) stay, old(4) goes */
    sb_reset(&sb);
    struct gp_flametree_opts o = {.max_nodes = 4};
    assert_int_equal(gp_flametree_diff_json(before, after, &o, &sb, &err), 0);
    assert_null(strstr(sb_str(&sb), "\"old\""));
    assert_non_null(strstr(sb_str(&sb), "\"new\""));
    assert_non_null(strstr(sb_str(&sb), "\"both\""));
    /* minFraction ranks by max(before, after) too: under ceil(10 * 0.5) = 5, old (4) goes, and
     * main's before still counts it (10), so both sides' widths stay exact */
    struct gp_flametree_opts mf = {.min_fraction = 0.5};
    sb_reset(&sb);
    assert_int_equal(gp_flametree_diff_json(before, after, &mf, &sb, &err), 0);
    assert_string_equal(
            sb_str(&sb),
            "{\"name\":\"root\",\"value\":9,\"before\":10,\"after\":9,\"children\":["
            "{\"name\":\"app\",\"value\":9,\"before\":10,\"after\":9,\"children\":["
            "{\"name\":\"main\",\"value\":9,\"before\":10,\"after\":9,\"children\":["
            "{\"name\":\"both\",\"value\":2,\"before\":6,\"after\":2,\"children\":[]},"
            "{\"name\":\"new\",\"value\":7,\"before\":0,\"after\":7,\"children\":[]}]}]}]}");
    sb_reset(&sb);
    assert_int_equal(gp_flametree_diff_compact(before, after, &mf, &sb, &err), 0);
    assert_non_null(strstr(sb_str(&sb), "\"nodes\":5,\"minValue\":5,\"prunedNodes\":1,"));
    assert_non_null(strstr(sb_str(&sb), "\"before\":[10,10,10,6,0]"));
    assert_non_null(strstr(sb_str(&sb), "\"self\":[0,0,0,2,7]"));
    sb_free(&sb);
    gp_profile_free(before);
    gp_profile_free(after);
}

static void test_many_nodes(void **state)
{
    /* 100k distinct leaves under one parent: names sorted bytewise, total exact, truncation */
    struct gp_profile *p = gp_profile_new();
    char name[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(name, sizeof(name), "f%06d", 99999 - i);
        const char *f[] = {"main", name};
        assert_int_equal(gp_profile_add(p, 0, "", "app", f, 2, (uint64_t)(i % 10) + 1), 0);
    }
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_flametree_json(p, NULL, &sb, &err), 0);
    json_object *j = json_tokener_parse(sb_str(&sb)), *v, *ch;
    assert_non_null(j);
    assert_true(json_object_object_get_ex(j, "value", &v));
    assert_int_equal(json_object_get_int64(v), 550000);
    json_object_object_get_ex(j, "children", &ch);
    json_object *main = json_object_array_get_idx(
            json_object_object_get(json_object_array_get_idx(ch, 0), "children"), 0);
    json_object *leaves = json_object_object_get(main, "children");
    assert_int_equal(json_object_array_length(leaves), 100000);
    assert_string_equal(json_object_get_string(json_object_object_get(
                                json_object_array_get_idx(leaves, 0), "name")),
                        "f000000");
    json_object_put(j);
    sb_reset(&sb);
    struct gp_flametree_opts o = {.max_nodes = 1000};
    assert_int_equal(gp_flametree_json(p, &o, &sb, &err), 0);
    j = json_tokener_parse(sb_str(&sb));
    main = json_object_array_get_idx(
            json_object_object_get(
                    json_object_array_get_idx(json_object_object_get(j, "children"), 0),
                    "children"),
            0);
    assert_int_equal(json_object_array_length(json_object_object_get(main, "children")), 998);
    assert_int_equal(json_object_get_int64(json_object_object_get(j, "value")), 550000);
    json_object_put(j);
    sb_free(&sb);
    gp_profile_free(p);
}

/* Walks a tree JSON node in pre-order (its children are already in name order) and checks the
 * compact arrays at *i against it. */
static void walk_compare(json_object *node, int depth, json_object *c, size_t *i, int diff)
{
    json_object *names = json_object_object_get(c, "names");
    size_t k = (*i)++;
    assert_int_equal(
            json_object_get_int(json_object_array_get_idx(json_object_object_get(c, "depth"), k)),
            depth);
    int id = json_object_get_int(json_object_array_get_idx(json_object_object_get(c, "name"), k));
    if (depth > 0)
        assert_string_equal(json_object_get_string(json_object_array_get_idx(names, (size_t)id)),
                            json_object_get_string(json_object_object_get(node, "name")));
    else
        assert_int_equal(id, 0);
    assert_int_equal(
            json_object_get_int64(json_object_array_get_idx(json_object_object_get(c, "value"), k)),
            json_object_get_int64(json_object_object_get(node, "value")));
    if (diff)
        assert_int_equal(json_object_get_int64(
                                 json_object_array_get_idx(json_object_object_get(c, "before"), k)),
                         json_object_get_int64(json_object_object_get(node, "before")));
    json_object *ch = json_object_object_get(node, "children");
    for (size_t j = 0; j < json_object_array_length(ch); j++)
        walk_compare(json_object_array_get_idx(ch, j), depth + 1, c, i, diff);
}

/* json_tokener_parse stops at 32 levels: a tree JSON node takes two (object, children). */
static json_object *parse_deep(const char *s)
{
    struct json_tokener *tok = json_tokener_new_ex(1000);
    assert_non_null(tok);
    json_object *o = json_tokener_parse_ex(tok, s, (int)strlen(s));
    json_tokener_free(tok);
    return o;
}

static void compare_formats(const char *json, const char *compact, int diff)
{
    json_object *j = parse_deep(json), *c = parse_deep(compact);
    assert_non_null(j);
    assert_non_null(c);
    size_t i = 0;
    walk_compare(j, 0, c, &i, diff);
    assert_int_equal(i, json_object_get_int64(json_object_object_get(c, "nodes")));
    assert_int_equal(i, json_object_array_length(json_object_object_get(c, "depth")));
    assert_int_equal(json_object_get_int64(json_object_object_get(c, "total")),
                     json_object_get_int64(json_object_object_get(j, "value")));
    /* one kind per name */
    assert_int_equal(json_object_array_length(json_object_object_get(c, "nameKind")),
                     json_object_array_length(json_object_object_get(c, "names")));
    json_object_put(j);
    json_object_put(c);
}

static void test_compact_exact(void **state)
{
    struct gp_profile *p = make();
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_flametree_compact(p, NULL, &sb, &err), 0);
    assert_string_equal(sb_str(&sb),
                        "{\"format\":\"gprof-flame-compact\",\"version\":1,\"total\":12,"
                        "\"nodes\":7,\"diff\":false,"
                        "\"kinds\":[\"native\",\"kernel\",\"python\",\"jit\"],"
                        "\"names\":[\"root\",\"app\",\"main\",\"a_cold\",\"b_hot\",\"pg\\\"<x>\","
                        "\"zz\"],\"nameKind\":[0,0,0,0,0,0,0],"
                        "\"depth\":[0,1,2,3,3,1,2],\"name\":[0,1,2,3,4,5,6],"
                        "\"value\":[12,10,10,3,6,2,2]}");
    sb_free(&sb);
    gp_profile_free(p);
}

/* minFraction: nodes under the threshold go with their subtrees, kept values still count them
 * (root stays the total), and "self" gives each kept node's own samples; both build paths print
 * the same bytes, and the tree JSON drops the same nodes. */
static void test_min_fraction(void **state)
{
    (void)state;
    struct gp_profile *p = make();
    static const char want[] =
            "{\"format\":\"gprof-flame-compact\",\"version\":1,\"total\":12,"
            "\"nodes\":5,\"minValue\":3,\"prunedNodes\":2,\"diff\":false,"
            "\"kinds\":[\"native\",\"kernel\",\"python\",\"jit\"],"
            "\"names\":[\"root\",\"app\",\"main\",\"a_cold\",\"b_hot\"],"
            "\"nameKind\":[0,0,0,0,0],\"depth\":[0,1,2,3,3],\"name\":[0,1,2,3,4],"
            "\"value\":[12,10,10,3,6],\"self\":[0,0,1,3,6]}";
    struct gp_flametree_opts fast = {.min_fraction = 0.25};
    struct gp_flametree_opts slow = {.min_fraction = 0.25, .max_nodes = SIZE_MAX};
    for (int k = 0; k < 2; k++) {
        struct strbuf sb = STRBUF_INIT;
        struct gp_err err = {0};
        assert_int_equal(gp_flametree_compact(p, k ? &slow : &fast, &sb, &err), 0);
        assert_string_equal(sb_str(&sb), want);
        sb_free(&sb);
    }
    check(p, &fast,
          "{\"name\":\"root\",\"value\":12,\"children\":["
          "{\"name\":\"app\",\"value\":10,\"children\":["
          "{\"name\":\"main\",\"value\":10,\"children\":["
          "{\"name\":\"a_cold\",\"value\":3,\"children\":[]},"
          "{\"name\":\"b_hot\",\"value\":6,\"children\":[]}]}]}]}");
    /* nothing under the threshold: every node, "prunedNodes":0, self of each */
    struct gp_flametree_opts all = {.min_fraction = 1.0 / 1000};
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_flametree_compact(p, &all, &sb, &err), 0);
    assert_non_null(strstr(sb_str(&sb), "\"nodes\":7,\"minValue\":1,\"prunedNodes\":0,"));
    assert_non_null(strstr(sb_str(&sb), "\"self\":[0,0,1,3,6,0,2]}"));
    sb_free(&sb);
    assert_int_equal(gp_flametree_min_value(1000000, 1.0 / 4000), 250);
    assert_int_equal(gp_flametree_min_value(1000001, 1.0 / 4000), 251);
    assert_int_equal(gp_flametree_min_value(10, 1e-9), 1);
    assert_int_equal(gp_flametree_min_value(10, 0), 0);
    gp_profile_free(p);
}

static void test_frame_kinds(void **state)
{
    assert_int_equal(gp_frame_kind("do_syscall_64_[k]"), GP_KIND_KERNEL);
    assert_int_equal(gp_frame_kind("run (app.py:12)_[p]"), GP_KIND_PYTHON);
    assert_int_equal(gp_frame_kind("PyEval_EvalFrame_[pn]"), GP_KIND_NATIVE);
    assert_int_equal(gp_frame_kind("java/lang/Thread.run_[j]"), GP_KIND_JIT);
    assert_int_equal(gp_frame_kind("Foo.bar_[0]"), GP_KIND_JIT);
    assert_int_equal(gp_frame_kind("main"), GP_KIND_NATIVE);
    assert_int_equal(gp_frame_kind("[k]"), GP_KIND_NATIVE);
    assert_int_equal(gp_frame_kind("_[k]"), GP_KIND_NATIVE);
    assert_int_equal(gp_frame_kind("a[x]_[k]"), GP_KIND_KERNEL);
    assert_int_equal(gp_frame_kind("Foo.bar_[php]"), GP_KIND_JIT);
    assert_int_equal(gp_frame_kind("a[k]"), GP_KIND_NATIVE);
    assert_int_equal(gp_frame_kind("operator[]"), GP_KIND_NATIVE);
}

/* A random profile of deep, branching stacks: the compact arrays decode to exactly the tree
 * JSON (names, depths, values, order), plain, truncated and as a diff. */
static void test_compact_equals_json(void **state)
{
    struct gp_profile *a = gp_profile_new(), *b = gp_profile_new();
    uint64_t seed = 42;
    char buf[40][24];
    const char *f[40];
    static const char *sfx[] = {"", "_[k]", "_[p]", "_[j]"};
    for (int s = 0; s < 20000; s++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint32_t n = 1 + (uint32_t)(seed >> 59) + (uint32_t)((seed >> 40) & 7);
        for (uint32_t k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            snprintf(buf[k], sizeof(buf[k]), "fn%u%s", (unsigned)((seed >> 33) % (3 + k * 2)),
                     sfx[(seed >> 20) & 3]);
            f[k] = buf[k];
        }
        struct gp_profile *p = (s & 1) ? a : b;
        assert_int_equal(gp_profile_add(p, 0, "", (s % 3) ? "app" : "db", f, n, 1 + (seed >> 61)),
                         0);
    }
    struct strbuf j = STRBUF_INIT, c = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_flametree_json(a, NULL, &j, &err), 0);
    assert_int_equal(gp_flametree_compact(a, NULL, &c, &err), 0);
    compare_formats(sb_str(&j), sb_str(&c), 0);
    struct gp_flametree_opts o = {.max_stacks = 500, .max_nodes = 3000};
    sb_reset(&j);
    sb_reset(&c);
    assert_int_equal(gp_flametree_json(a, &o, &j, &err), 0);
    assert_int_equal(gp_flametree_compact(a, &o, &c, &err), 0);
    compare_formats(sb_str(&j), sb_str(&c), 0);
    sb_reset(&j);
    sb_reset(&c);
    assert_int_equal(gp_flametree_diff_json(a, b, NULL, &j, &err), 0);
    assert_int_equal(gp_flametree_diff_compact(a, b, NULL, &c, &err), 0);
    compare_formats(sb_str(&j), sb_str(&c), 1);
    sb_free(&j);
    sb_free(&c);
    gp_profile_free(a);
    gp_profile_free(b);
}

static uint64_t rnd(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The whole-tree path (sorted stacks, no hash table) prints byte for byte what the general path
 * (the one truncation uses; max_nodes = SIZE_MAX keeps every node) prints, in both formats and
 * with every level option, on random profiles with shared prefixes, prefixes that are whole
 * stacks, a frame named like a comm, names needing escapes and names that sort bytewise. */
static void test_sorted_path_equals_general(void **state)
{
    (void)state;
    static const char *const names[] = {
            "main",  "app",  "b", "a",    "B", "\xc3\xa9t\xc3\xa9", "x\"q", "f_[k]", "g_[p]",
            "h_[j]", "root", "",  "a\\b", "zz"};
    const size_t nn = sizeof(names) / sizeof(names[0]);
    uint64_t x = 88172645463325252ULL;
#define RND() rnd(&x)
    for (int round = 0; round < 60; round++) {
        struct gp_profile *p = gp_profile_new();
        size_t nst = 1 + RND() % (round < 50 ? 40 : 3000);
        for (size_t i = 0; i < nst; i++) {
            const char *fr[24];
            uint32_t nf = (uint32_t)(RND() % 12);
            for (uint32_t k = 0; k < nf; k++)
                fr[k] = names[1 + RND() % (k < 3 ? 3 : nn - 2)];
            const char *cont = RND() % 3 ? "" : names[RND() % 4];
            const char *comm = names[RND() % 4];
            assert_int_equal(
                    gp_profile_add(p, (uint32_t)(RND() % 2), cont, comm, fr, nf, 1 + RND() % 50),
                    0);
        }
        static const unsigned flags[] = {0, GP_FLAMETREE_CONTAINER, GP_FLAMETREE_NO_COMM,
                                         GP_FLAMETREE_CONTAINER | GP_FLAMETREE_NO_COMM};
        for (size_t f = 0; f < 4; f++) {
            double mf = (round & 1) ? 0.02 : 0; /* and with minFraction's pruning */
            struct gp_flametree_opts fast = {.flags = flags[f], .min_fraction = mf};
            struct gp_flametree_opts slow = {
                    .flags = flags[f], .max_nodes = SIZE_MAX, .min_fraction = mf};
            for (int compact = 0; compact < 2; compact++) {
                struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
                struct gp_err err = {0};
                if (compact) {
                    assert_int_equal(gp_flametree_compact(p, &fast, &a, &err), 0);
                    assert_int_equal(gp_flametree_compact(p, &slow, &b, &err), 0);
                } else {
                    assert_int_equal(gp_flametree_json(p, &fast, &a, &err), 0);
                    assert_int_equal(gp_flametree_json(p, &slow, &b, &err), 0);
                }
                assert_string_equal(sb_str(&a), sb_str(&b));
                sb_free(&a);
                sb_free(&b);
            }
        }
        gp_profile_free(p);
    }
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_default_levels),
            cmocka_unit_test(test_container_and_no_comm),
            cmocka_unit_test(test_truncation_keeps_totals),
            cmocka_unit_test(test_max_stacks_keeps_totals),
            cmocka_unit_test(test_empty_profile),
            cmocka_unit_test(test_diff),
            cmocka_unit_test(test_many_nodes),
            cmocka_unit_test(test_compact_exact),
            cmocka_unit_test(test_frame_kinds),
            cmocka_unit_test(test_min_fraction),
            cmocka_unit_test(test_compact_equals_json),
            cmocka_unit_test(test_sorted_path_equals_general),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
