/* static_api.c — serves the web UI: GET / (index.html), GET /ui/<file> (the files of ui-static/
 * embedded at build time) and GET /favicon.ico (a small SVG icon) with their MIME type, ETag
 * revalidation and a strict CSP. The files hold no secrets, so they need no credentials; the API
 * calls they make do. */
#include "coordinator/api/api.h"
#include "common/ui_asset.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Scripts, styles and data only from this origin; no inline script, no framing, no forms. */
#define UI_CSP                                                                                     \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "connect-src 'self'; frame-src 'self' blob:; frame-ancestors 'none'; base-uri 'none'; "        \
    "form-action 'none'"

#define MAX_ETAGS 64

/* Every file of ui-static/, embedded into the coordinator alone (coordinator/CMakeLists.txt). */
extern const struct gp_ui_asset gp_app_assets[];

/* What is served: the embedded files, or the same names read from ui_dir (api_ui_load_dir). */
static const struct gp_ui_asset *ui_assets = gp_app_assets;
static struct gp_ui_asset *disk_assets;

/* The tab icon: three flame-graph bars, widest at the base, in the UI's accent colours. Browsers
 * ask for /favicon.ico whatever index.html links, so it is served there (as SVG, which they read
 * by its type) and a missing icon is not an error in the console. */
static const char favicon_svg[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\">"
        "<rect x=\"1\" y=\"11\" width=\"14\" height=\"4\" rx=\"1\" fill=\"#e2571e\"/>"
        "<rect x=\"1\" y=\"6\" width=\"10\" height=\"4\" rx=\"1\" fill=\"#ef8a3c\"/>"
        "<rect x=\"3\" y=\"1\" width=\"5\" height=\"4\" rx=\"1\" fill=\"#f5b552\"/></svg>\n";
static const struct gp_ui_asset favicon = {"favicon.svg", (const unsigned char *)favicon_svg,
                                           sizeof(favicon_svg) - 1};
static char favicon_etag[24];

/* ETags of the embedded files, computed once (the files never change while we run). */
static char etags[MAX_ETAGS][24];
static pthread_once_t etags_once = PTHREAD_ONCE_INIT;

static void etag_make(const struct gp_ui_asset *a, char out[24])
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
    for (size_t k = 0; k < a->len; k++) {
        h ^= a->data[k];
        h *= 1099511628211ULL;
    }
    snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

static void etags_init(void)
{
    size_t i = 0;
    for (const struct gp_ui_asset *a = ui_assets; a->name && i < MAX_ETAGS; a++, i++)
        etag_make(a, etags[i]);
    etag_make(&favicon, favicon_etag);
}

static const char *etag_of(const struct gp_ui_asset *a)
{
    pthread_once(&etags_once, etags_init);
    if (a == &favicon)
        return favicon_etag;
    size_t i = (size_t)(a - ui_assets);
    return i < MAX_ETAGS ? etags[i] : NULL;
}

/* The whole of dir/name into a NUL-terminated buffer; 0 or an error naming the file. */
static int read_ui_file(const char *dir, const char *name, struct gp_ui_asset *out,
                        struct gp_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return gp_err_set(err, -ENAMETOOLONG, "ui_dir %s: path too long", dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return gp_err_set(err, -errno,
                          "ui_dir %s: cannot read %s: %s (reinstall the UI there "
                          "or unset ui_dir to serve the built-in copy)",
                          dir, name, strerror(errno));
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (cap - len < 4096) {
            unsigned char *nb = cap > (64u << 20) ? NULL : realloc(buf, cap * 2 + 8192);
            if (!nb) {
                rc = gp_err_set(err, -ENOMEM, "ui_dir %s: %s is too large or out of memory", dir,
                                name);
                break;
            }
            buf = nb;
            cap = cap * 2 + 8192;
        }
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                rc = gp_err_set(err, -EIO, "ui_dir %s: cannot read %s", dir, name);
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    out->name = name;
    out->data = buf;
    out->len = len;
    return 0;
}

void api_ui_unload_dir(void)
{
    if (!disk_assets)
        return;
    for (struct gp_ui_asset *a = disk_assets; a->name; a++)
        free((void *)a->data);
    free(disk_assets);
    disk_assets = NULL;
    ui_assets = gp_app_assets;
}

int api_ui_load_dir(const char *dir, struct gp_err *err)
{
    size_t n = 0;
    while (gp_app_assets[n].name)
        n++;
    struct gp_ui_asset *t = calloc(n + 1, sizeof(*t));
    if (!t)
        return gp_err_set(err, -ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = read_ui_file(dir, gp_app_assets[i].name, &t[i], err);
        if (rc) {
            for (size_t k = 0; k < i; k++)
                free((void *)t[k].data);
            free(t);
            return rc;
        }
    }
    api_ui_unload_dir();
    disk_assets = t;
    ui_assets = t;
    return 0;
}

void api_ui_static(const struct http_req *r, struct http_resp *w, void *ctx)
{
    (void)ctx;
    const char *name = "index.html";
    if (strncmp(r->path, "/ui/", 4) == 0 && r->path[4])
        name = r->path + 4;
    const struct gp_ui_asset *a = NULL;
    if (!strcmp(r->path, "/favicon.ico") || !strcmp(name, favicon.name))
        a = &favicon;
    else
        a = gp_ui_asset_find(ui_assets, name);
    if (!a) {
        http_resp_msg(w, 404, "no UI file '%.80s'; the UI is at /", name);
        return;
    }
    const char *etag = etag_of(a);
    const char *inm = http_header(r, "If-None-Match");
    if (etag && inm && strstr(inm, etag)) {
        http_resp_empty(w, 304);
    } else {
        char *body = malloc(a->len + 1);
        if (!body) {
            http_resp_msg(w, 500, "out of memory");
            return;
        }
        memcpy(body, a->data, a->len);
        body[a->len] = '\0';
        http_resp_raw(w, 200, gp_ui_mime(a->name), body, a->len);
    }
    w->content_type = gp_ui_mime(a->name);
    /* Revalidate every time (file names carry no version), cheap with the ETag. */
    w->headers[0][0] = "Cache-Control";
    w->headers[0][1] = "no-cache";
    w->headers[1][0] = "Content-Security-Policy";
    w->headers[1][1] = UI_CSP;
    w->headers[2][0] = "Referrer-Policy";
    w->headers[2][1] = "no-referrer";
    if (etag) {
        w->headers[3][0] = "ETag";
        w->headers[3][1] = etag;
    }
}
