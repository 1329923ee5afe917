/* test_html.c — the self-contained HTML export: one file, viewer inlined without imports, data
 * embedded safely (no way to close the script element from a frame name), curated metadata.
 * Also the generator for tests/integration/test_html_browser.sh (see generate() below):
 *   unit_html --generate IN.col OUT.html [TITLE]     (collapsed text, with or without header) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/base64.h"
#include "common/collapsed.h"
#include "common/flametree.h"
#include "common/gzip.h"
#include "common/html.h"
#include "common/ui_asset.h"

/* the coordinator's app (coordinator/CMakeLists.txt embeds it; tests link every library) */
extern const struct gp_ui_asset gp_app_assets[];

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static struct gp_profile *make(void)
{
    struct gp_profile *p = gp_profile_new();
    const char *a[] = {"main", "evil</script><img src=x onerror=alert(1)>&amp;", "hot"};
    const char *b[] = {"main", "cold"};
    assert_int_equal(gp_profile_add(p, 3, "box", "app", a, 3, 7), 0);
    assert_int_equal(gp_profile_add(p, 0, "", "app", b, 2, 3), 0);
    json_object *h = gp_profile_header(p), *md = json_object_new_object(),
                *ra = json_object_new_object();
    json_object_object_add(md, "hostname", json_object_new_string("web-1"));
    json_object_object_add(md, "kernel_release", json_object_new_string("6.1.0"));
    json_object_object_add(h, "metadata", md);
    json_object_object_add(ra, "server_token", json_object_new_string("SECRET-TOKEN-123"));
    json_object_object_add(h, "run_arguments", ra);
    json_object_object_add(h, "sampling_frequency", json_object_new_int(99));
    json_object_object_add(h, "sampling_event", json_object_new_string("cpu-clock"));
    json_object *gp = json_object_new_object(), *drops = json_object_new_object();
    json_object_object_add(drops, "lost", json_object_new_int(3));
    json_object_object_add(drops, "map_full", json_object_new_int(4));
    json_object_object_add(gp, "drops", drops);
    json_object_object_add(gp, "sampler", json_object_new_string("bpf"));
    json_object_object_add(h, "gprof", gp);
    json_object_object_add(h, "start_time", json_object_new_string("2026-01-02T03:04:05Z"));
    json_object_object_add(h, "end_time", json_object_new_string("2026-01-02T03:05:05Z"));
    return p;
}

/* Returns the parsed JSON of <script id="gp-data">. */
static json_object *data_of(const char *html)
{
    const char *open = "<script id=\"gp-data\" type=\"application/json\">";
    const char *s = strstr(html, open);
    assert_non_null(s);
    s += strlen(open);
    const char *e = strstr(s, "</script>");
    assert_non_null(e);
    char *j = strndup(s, (size_t)(e - s));
    json_object *o = json_tokener_parse(j);
    free(j);
    assert_non_null(o);
    return o;
}

static void test_page(void **state)
{
    struct gp_profile *p = make();
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_html_write(p, "CPU <web-1> & co", &sb, &err), 0);
    const char *h = sb_str(&sb);
    assert_true(strncmp(h, "<!DOCTYPE html>", 15) == 0);
    assert_non_null(strstr(h, "<title>CPU &lt;web-1&gt; &amp; co</title>"));
    assert_non_null(strstr(h, "Content-Security-Policy"));
    assert_non_null(strstr(h, "default-src 'none'"));
    /* exactly two script elements, closed exactly twice: the data and the module */
    assert_int_equal(count(h, "<script"), 2);
    assert_int_equal(count(h, "</script"), 2);
    assert_int_equal(count(h, "<style>"), 1);
    /* no external resources, no import lines left in the inline module */
    assert_null(strstr(h, "src=\"flamegraph"));
    assert_null(strstr(h, "href=\"flamegraph"));
    assert_null(strstr(h, "\nimport "));
    assert_non_null(strstr(h, "function mountViewer"));
    assert_non_null(strstr(h, ".gp-graph"));
    /* the header's secrets never reach the page */
    assert_null(strstr(h, "SECRET-TOKEN-123"));
    assert_null(strstr(h, "server_token"));

    json_object *d = data_of(h), *meta, *v;
    assert_true(json_object_object_get_ex(d, "meta", &meta));
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "hostname")), "web-1");
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "kernel")), "6.1.0");
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "title")),
                        "CPU <web-1> & co");
    assert_int_equal(json_object_get_int(json_object_object_get(meta, "frequency")), 99);
    assert_int_equal(json_object_get_int(json_object_object_get(meta, "samples")), 10);
    assert_int_equal(json_object_get_int(json_object_object_get(meta, "drops")), 7);
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "sampler")), "bpf");
    assert_string_equal(json_object_get_string(json_object_object_get(meta, "event")), "cpu-clock");
    assert_int_equal(json_object_get_int64(json_object_object_get(meta, "start_epoch")),
                     1767323045);
    assert_int_equal(json_object_get_int64(json_object_object_get(meta, "end_epoch")), 1767323105);
    assert_true(json_object_object_get_ex(d, "format", &v));
    assert_string_equal(json_object_get_string(v), "compact");
    /* the compact tree; app index and container are omitted, like gProfiler's HTML */
    assert_true(json_object_object_get_ex(d, "data", &v));
    struct strbuf want = STRBUF_INIT;
    assert_int_equal(gp_flametree_compact(p, NULL, &want, &err), 0);
    assert_string_equal(json_object_get_string(v), sb_str(&want));
    assert_non_null(strstr(sb_str(&want), "\"evil</script><img src=x onerror=alert(1)>&amp;\""));
    assert_non_null(strstr(sb_str(&want), "\"value\":[10,10,10,3,7,7]"));
    sb_free(&want);
    json_object_put(d);
    sb_free(&sb);
    gp_profile_free(p);
}

/* A tree above 1 MiB is embedded gzip'd and base64'd, and decodes to the same compact text. */
static void test_big_page_gzip(void **state)
{
    struct gp_profile *p = gp_profile_new();
    char a[32], b[32];
    for (int i = 0; i < 40000; i++) {
        snprintf(a, sizeof(a), "outer_function_%d", i % 200);
        snprintf(b, sizeof(b), "inner_function_%d", i);
        const char *f[] = {"main", a, b};
        assert_int_equal(gp_profile_add(p, 0, "", "app", f, 3, 1 + (uint64_t)(i % 5)), 0);
    }
    struct strbuf sb = STRBUF_INIT, gz = STRBUF_INIT, want = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(gp_html_write(p, NULL, &sb, &err), 0);
    json_object *d = data_of(sb_str(&sb)), *v;
    assert_string_equal(json_object_get_string(json_object_object_get(d, "format")),
                        "compact-gzip-base64");
    v = json_object_object_get(d, "data");
    assert_int_equal(gp_base64_decode(json_object_get_string(v),
                                      (size_t)json_object_get_string_len(v), &gz, &err),
                     0);
    char *tree = NULL;
    size_t tlen = 0;
    assert_int_equal(gz_inflate(gz.buf, gz.len, 64u << 20, &tree, &tlen, &err), 0);
    assert_int_equal(gp_flametree_compact(p, NULL, &want, &err), 0);
    assert_true(want.len > (1u << 20));
    assert_string_equal(tree, sb_str(&want));
    assert_true(sb.len < want.len / 2);
    free(tree);
    json_object_put(d);
    sb_free(&sb);
    sb_free(&gz);
    sb_free(&want);
    gp_profile_free(p);
}

static void test_tree_page(void **state)
{
    const char *tree = "{\"name\":\"root\",\"value\":3,\"children\":[{\"name\":\"a</script>\","
                       "\"value\":3,\"children\":[]}]}";
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    assert_int_equal(
            gp_html_write_tree(tree, strlen(tree), "{\"hostname\":\"h<1>\"}", NULL, &sb, &err), 0);
    assert_int_equal(count(sb_str(&sb), "</script"), 2);
    json_object *d = data_of(sb_str(&sb));
    assert_string_equal(json_object_get_string(json_object_object_get(d, "format")), "tree");
    assert_string_equal(json_object_get_string(json_object_object_get(d, "data")), tree);
    assert_string_equal(json_object_get_string(json_object_object_get(
                                json_object_object_get(d, "meta"), "hostname")),
                        "h<1>");
    json_object_put(d);
    sb_reset(&sb);
    assert_int_equal(gp_html_write_tree(tree, strlen(tree), "[1]", NULL, &sb, &err), -EINVAL);
    assert_string_equal(err.msg, "html: metadata is not a JSON object");
    sb_free(&sb);
}

static void test_assets(void **state)
{
    const struct gp_ui_asset *a = gp_ui_asset_find(gp_viewer_assets, "flamegraph/model.js");
    assert_non_null(a);
    assert_true(a->len > 1000);
    assert_int_equal(a->data[a->len], '\0');
    assert_non_null(gp_ui_asset_find(gp_viewer_assets, "flamegraph/widget.js"));
    assert_non_null(gp_ui_asset_find(gp_viewer_assets, "flamegraph/viewer.js"));
    assert_non_null(gp_ui_asset_find(gp_viewer_assets, "viewer.js"));
    assert_non_null(gp_ui_asset_find(gp_viewer_assets, "flamegraph.css"));
    assert_null(gp_ui_asset_find(gp_viewer_assets, "../etc/passwd"));
    /* the viewer alone: the app pages are the coordinator's, named by their path */
    assert_null(gp_ui_asset_find(gp_viewer_assets, "app.js"));
    assert_null(gp_ui_asset_find(gp_viewer_assets, "index.html"));
    assert_non_null(gp_ui_asset_find(gp_app_assets, "pages/profiles.js"));
    assert_null(gp_ui_asset_find(gp_app_assets, "profiles.js"));
    assert_non_null(gp_ui_asset_find(gp_app_assets, "viewer.html"));
    assert_string_equal(gp_ui_mime("viewer.js"), "text/javascript; charset=utf-8");
    assert_string_equal(gp_ui_mime("a.css"), "text/css; charset=utf-8");
    assert_string_equal(gp_ui_mime("viewer.html"), "text/html; charset=utf-8");
    /* every embedded script can be inlined */
    for (const struct gp_ui_asset *x = gp_viewer_assets; x->name; x++) {
        if (!strstr(x->name, ".js"))
            continue;
        assert_null(strcasestr((const char *)x->data, "</script"));
        assert_null(strstr((const char *)x->data, "<!--"));
    }
}

static struct gp_profile *load(const char *in)
{
    FILE *f = fopen(in, "rb");
    if (!f) {
        perror(in);
        return NULL;
    }
    struct strbuf text = STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sb_append(&text, buf, n);
    fclose(f);
    struct gp_profile *p = NULL;
    struct gp_err err = {0};
    if (gp_collapsed_parse(text.buf, text.len, NULL, &p, &err))
        fprintf(stderr, "%s: %s\n", in, err.msg);
    sb_free(&text);
    return p;
}

static int save(const struct strbuf *html, const char *out)
{
    FILE *o = fopen(out, "wb");
    if (!o || fwrite(html->buf, 1, html->len, o) != html->len || fclose(o)) {
        perror(out);
        return 1;
    }
    return 0;
}

/* --generate IN.col OUT.html [TITLE]: the export as gprofctl writes it.
 * --generate-tree IN.col OUT.html [TITLE]: the page from Performance Studio tree JSON.
 * --generate-diff BEFORE.col AFTER.col OUT.html [TITLE]: the page from a diff tree. */
static int generate(int argc, char **argv)
{
    struct strbuf html = STRBUF_INIT, tree = STRBUF_INIT;
    struct gp_err err = {0};
    int diff = !strcmp(argv[1], "--generate-diff");
    if (diff && argc < 5)
        return 2;
    struct gp_profile *p = load(argv[2]), *q = diff ? load(argv[3]) : NULL;
    const char *out = argv[diff ? 4 : 3],
               *title = argc > (diff ? 5 : 4) ? argv[diff ? 5 : 4] : NULL;
    if (!p || (diff && !q))
        return 1;
    int rc;
    if (!strcmp(argv[1], "--generate"))
        rc = gp_html_write(p, title, &html, &err);
    else if ((rc = diff ? gp_flametree_diff_json(p, q, NULL, &tree, &err)
                        : gp_flametree_json(p, NULL, &tree, &err)) == 0)
        rc = gp_html_write_tree(tree.buf, tree.len, NULL, title, &html, &err);
    if (rc) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    rc = save(&html, out);
    gp_profile_free(p);
    gp_profile_free(q);
    sb_free(&html);
    sb_free(&tree);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strncmp(argv[1], "--generate", 10))
        return generate(argc, argv);
    const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_page),
            cmocka_unit_test(test_big_page_gzip),
            cmocka_unit_test(test_tree_page),
            cmocka_unit_test(test_assets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
