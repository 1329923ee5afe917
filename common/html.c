/* html.c — one self-contained HTML flame graph page from the embedded ui-static/ viewer. */
#include "common/html.h"
#include "common/base64.h"
#include "common/collapsed.h"
#include "common/flametree.h"
#include "common/gzip.h"
#include "common/pprof.h"
#include "common/ui_asset.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && strcmp(name + n - e, ext) == 0;
}

/* Inline script text must not close its element or open an HTML comment. */
static int script_safe(const struct gp_ui_asset *a)
{
    const char *s = (const char *)a->data;
    for (size_t i = 0; i + 2 <= a->len; i++) {
        if (s[i] != '<')
            continue;
        if (a->len - i >= 8 && strncasecmp(s + i, "</script", 8) == 0)
            return 0;
        if (a->len - i >= 4 && strncmp(s + i, "<!--", 4) == 0)
            return 0;
    }
    return 1;
}

/* Appends a module's text without its `import` lines (everything is one inline module). */
static void put_module(struct strbuf *out, const struct gp_ui_asset *a)
{
    const char *s = (const char *)a->data, *end = s + a->len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *e = nl ? nl + 1 : end;
        if (!(e - s >= 7 && strncmp(s, "import ", 7) == 0))
            sb_append(out, s, (size_t)(e - s));
        s = e;
    }
    sb_putc(out, '\n');
}

static int page(const char *title, const char *data_json, size_t data_len, struct strbuf *out,
                struct gp_err *err)
{
    size_t ncss = 0, njs = 0;
    for (const struct gp_ui_asset *a = gp_viewer_assets; a->name; a++) {
        int js = has_ext(a->name, ".js"), css = has_ext(a->name, ".css");
        ncss += css;
        njs += js;
        if ((js && !script_safe(a)) || (css && strstr((const char *)a->data, "</style")))
            return gp_err_set(err, -EINVAL,
                              "html: the embedded viewer file %s contains '</script', "
                              "'<!--' or '</style' and cannot be inlined",
                              a->name);
    }
    if (!ncss || !njs)
        return gp_err_set(err, -ENOENT,
                          "html: the viewer is missing from this build (GPROF_UI_VIEWER_FILES "
                          "in ui-static/CMakeLists.txt); rebuild gprof");
    sb_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                 "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
                 "<meta name=\"generator\" content=\"gprof " GPROF_VERSION "\">\n<title>");
    sb_html_text(out, title && *title ? title : "gprof flame graph");
    sb_puts(out, "</title>\n<style>\n");
    for (const struct gp_ui_asset *a = gp_viewer_assets; a->name; a++)
        if (has_ext(a->name, ".css"))
            sb_append(out, a->data, a->len);
    sb_puts(out, "</style>\n</head>\n<body>\n<script id=\"gp-data\" type=\"application/json\">");
    sb_append(out, data_json, data_len);
    sb_puts(out, "</script>\n<script type=\"module\">\n");
    for (const struct gp_ui_asset *a = gp_viewer_assets; a->name; a++)
        if (has_ext(a->name, ".js"))
            put_module(out, a);
    sb_puts(out, "</script>\n</body>\n</html>\n");
    if (out->oom)
        return gp_err_set(err, -ENOMEM, "html: out of memory");
    return 0;
}

/* ---- metadata -------------------------------------------------------------------------- */

/* Looks key up at the top level, then in "metadata", "gprof" and "metadata.run_arguments"
 * (where gProfiler and gprof agents put these facts). */
static json_object *lookup(json_object *h, const char *key)
{
    json_object *v = NULL, *o = NULL, *md = NULL;
    if (!h)
        return NULL;
    if (json_object_object_get_ex(h, key, &v) && v)
        return v;
    if (json_object_object_get_ex(h, "metadata", &md) &&
        json_object_is_type(md, json_type_object) && json_object_object_get_ex(md, key, &v) && v)
        return v;
    if (json_object_object_get_ex(h, "gprof", &o) && json_object_is_type(o, json_type_object) &&
        json_object_object_get_ex(o, key, &v) && v)
        return v;
    if (md && json_object_object_get_ex(md, "run_arguments", &o) &&
        json_object_is_type(o, json_type_object) && json_object_object_get_ex(o, key, &v) && v)
        return v;
    return NULL;
}

/* Sum of the numbers in the header's gprof.drops object (samples the sampler lost). */
static int64_t drops_total(json_object *h)
{
    json_object *gp, *drops;
    int64_t sum = 0;
    if (!h || !json_object_object_get_ex(h, "gprof", &gp) ||
        !json_object_object_get_ex(gp, "drops", &drops) ||
        !json_object_is_type(drops, json_type_object))
        return 0;
    json_object_object_foreach(drops, k, v)
    {
        (void)k;
        if (json_object_is_type(v, json_type_int))
            sum += json_object_get_int64(v);
    }
    return sum;
}

/* Copies the first scalar found under one of keys (top level or "metadata") as meta[name]. */
static void copy_scalar(json_object *meta, json_object *h, const char *name,
                        const char *const *keys)
{
    for (; *keys; keys++) {
        json_object *v = lookup(h, *keys);
        if (!v)
            continue;
        enum json_type t = json_object_get_type(v);
        if (t == json_type_string || t == json_type_int || t == json_type_double ||
            t == json_type_boolean) {
            json_object_object_add(meta, name, json_object_get(v));
            return;
        }
    }
}

static json_object *make_meta(struct gp_profile *p, const char *title)
{
    json_object *h = gp_profile_header(p), *meta = json_object_new_object();
    if (!meta)
        return NULL;
    static const char *const k_host[] = {"hostname", "host", NULL};
    static const char *const k_start[] = {"start_time", NULL};
    static const char *const k_end[] = {"end_time", NULL};
    static const char *const k_sampler[] = {"sampler", NULL};
    static const char *const k_event[] = {"event", "sampling_event", NULL};
    static const char *const k_agent[] = {"agent_version", NULL};
    static const char *const k_kernel[] = {"kernel_release", "kernel", NULL};
    static const char *const k_mode[] = {"profiling_mode", NULL};
    static const char *const k_cmd[] = {"command", "target", NULL};
    json_object_object_add(meta, "title",
                           json_object_new_string(title && *title ? title : "gprof flame graph"));
    copy_scalar(meta, h, "hostname", k_host);
    copy_scalar(meta, h, "start_time", k_start);
    copy_scalar(meta, h, "end_time", k_end);
    copy_scalar(meta, h, "sampler", k_sampler);
    copy_scalar(meta, h, "event", k_event);
    copy_scalar(meta, h, "agent_version", k_agent);
    copy_scalar(meta, h, "kernel", k_kernel);
    copy_scalar(meta, h, "profiling_mode", k_mode);
    copy_scalar(meta, h, "command", k_cmd);
    unsigned f = gp_profile_frequency(p);
    if (f)
        json_object_object_add(meta, "frequency", json_object_new_int64(f));
    double s = 0, e = 0;
    gp_profile_time_range(p, &s, &e);
    if (s > 0)
        json_object_object_add(meta, "start_epoch", json_object_new_double(s));
    if (e > 0)
        json_object_object_add(meta, "end_epoch", json_object_new_double(e));
    int64_t drops = drops_total(h);
    if (drops > 0)
        json_object_object_add(meta, "drops", json_object_new_int64(drops));
    json_object_object_add(meta, "samples", json_object_new_int64((int64_t)gp_profile_total(p)));
    json_object_object_add(meta, "stacks", json_object_new_int64((int64_t)gp_profile_nstacks(p)));
    return meta;
}

/* Appends a JSON text (already valid JSON) with '<', '>', '&' as \u00XX. Valid JSON has
 * those characters only inside strings, where the escapes mean the same. */
static void put_json_html(struct strbuf *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '<')
            sb_puts(out, "\\u003c");
        else if (*s == '>')
            sb_puts(out, "\\u003e");
        else if (*s == '&')
            sb_puts(out, "\\u0026");
        else
            sb_putc(out, *s);
    }
}

static int write_data(struct strbuf *data, const char *meta_text, const char *format,
                      const char *payload, size_t payload_len)
{
    sb_puts(data, "{\"meta\":");
    put_json_html(data, meta_text ? meta_text : "{}");
    sb_printf(data, ",\"format\":\"%s\",\"data\":", format);
    sb_json_str_html(data, payload, payload_len);
    sb_putc(data, '}');
    return data->oom ? -ENOMEM : 0;
}

/* Compact trees above this size are embedded gzip'd and base64'd; smaller ones as plain text
 * (readable, and grep finds their frames). */
#define PLAIN_MAX (1u << 20)

int gp_html_write(struct gp_profile *p, const char *title, struct strbuf *out, struct gp_err *err)
{
    /* The tree in the compact format: a million samples in 100k stacks take a few MB
     * gzip'd instead of the tens of MB of collapsed text; the page inflates it with
     * DecompressionStream. */
    struct strbuf tree = STRBUF_INIT, b64 = STRBUF_INIT, data = STRBUF_INIT;
    int rc = gp_flametree_compact(p, NULL, &tree, err);
    if (rc)
        return rc;
    const char *format = "compact";
    if (tree.len > PLAIN_MAX) {
        struct strbuf gz = STRBUF_INIT;
        rc = gp_gzip_compress(tree.buf, tree.len, 6, &gz, err);
        if (rc == 0 && (gp_base64_encode(gz.buf, gz.len, &b64) || b64.oom))
            rc = gp_err_set(err, -ENOMEM, "html: out of memory encoding the tree");
        sb_free(&gz);
        sb_free(&tree);
        if (rc) {
            sb_free(&b64);
            return rc;
        }
        tree = b64;
        b64 = (struct strbuf)STRBUF_INIT;
        format = "compact-gzip-base64";
    }
    json_object *meta = make_meta(p, title);
    const char *mt = meta ? json_object_to_json_string_ext(
                                    meta, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
                          : NULL;
    if (!mt || write_data(&data, mt, format, sb_str(&tree), tree.len))
        rc = gp_err_set(err, -ENOMEM, "html: out of memory building the data");
    else
        rc = page(title, sb_str(&data), data.len, out, err);
    if (meta)
        json_object_put(meta);
    sb_free(&tree);
    sb_free(&data);
    return rc;
}

int gp_html_write_tree(const char *tree_json, size_t len, const char *meta_json, const char *title,
                       struct strbuf *out, struct gp_err *err)
{
    struct strbuf data = STRBUF_INIT;
    json_object *meta = NULL;
    if (meta_json) {
        meta = json_tokener_parse(meta_json);
        if (!meta || !json_object_is_type(meta, json_type_object)) {
            if (meta)
                json_object_put(meta);
            return gp_err_set(err, -EINVAL, "html: metadata is not a JSON object");
        }
    } else if (!(meta = json_object_new_object())) {
        return gp_err_set(err, -ENOMEM, "html: out of memory");
    }
    if (title && *title)
        json_object_object_add(meta, "title", json_object_new_string(title));
    const char *mt = json_object_to_json_string_ext(meta, JSON_C_TO_STRING_PLAIN |
                                                                  JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc;
    if (!mt || write_data(&data, mt, "tree", tree_json, len))
        rc = gp_err_set(err, -ENOMEM, "html: out of memory building the data");
    else
        rc = page(title, sb_str(&data), data.len, out, err);
    json_object_put(meta);
    sb_free(&data);
    return rc;
}
