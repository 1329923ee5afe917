/* backends/clickhouse/ch_http.c — the ClickHouse HTTP interface through libcurl (gp_curl): a
 * small pool of easy handles (kept-alive connections), one POST per statement, and the mapping
 * of failures to "retry later" (-EAGAIN: unreachable, timed out, transient server codes) versus
 * "rejected" (-EIO with the server's message). */
#include "coordinator/backends/clickhouse/ch_internal.h"
#include "common/curl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static CURL *take(struct chx *x)
{
    CURL *c = NULL;
    pthread_mutex_lock(&x->mu);
    if (x->npool)
        c = x->pool[--x->npool];
    pthread_mutex_unlock(&x->mu);
    return c ? c : gp_curl.easy_init();
}

static void give(struct chx *x, CURL *c)
{
    pthread_mutex_lock(&x->mu);
    if (x->npool < CH_POOL_MAX) {
        x->pool[x->npool++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&x->mu);
    if (c)
        gp_curl.easy_cleanup(c);
}

void ch_http_close(struct chx *x)
{
    for (int i = 0; i < x->npool; i++)
        gp_curl.easy_cleanup(x->pool[i]);
    x->npool = 0;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    struct strbuf *sb = ud;
    return sb_append(sb, p, sz * n) < 0 ? 0 : sz * n;
}

/* ClickHouse error codes that mean "try again later", not "this statement is wrong". */
static int transient_code(int code)
{
    static const int codes[] = {159, 164, 202, 203, 209, 210, 216, 241,
                                242, 252, 279, 285, 319, 425, 999, 1000};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (codes[i] == code)
            return 1;
    return 0;
}

static void append_param(struct strbuf *url, CURL *c, const char *k, const char *v)
{
    char *e = gp_curl.easy_escape(c, v, 0);
    sb_printf(url, "%s%s=%s", url->len && url->buf[url->len - 1] == '?' ? "" : "&", k, e ? e : "");
    gp_curl.free(e);
}

/* An external table sent with a query (multipart/form-data, RowBinary): the query reads it by
 * name, so a long list of values costs no SQL parsing on the server. */
struct ch_ext {
    const char *name, *structure;
    const void *data;
    size_t len;
};

/* The multipart body carrying e, with a boundary that does not occur in its data. */
static int multipart_body(const struct ch_ext *e, struct strbuf *body, char *ctype, size_t ctsz)
{
    char boundary[64];
    for (unsigned salt = 0;; salt++) {
        snprintf(boundary, sizeof(boundary), "gprof-ext-%08x-%zu", 0x5bd1e995u * (salt + 1),
                 e->len);
        if (!e->len || !memmem(e->data, e->len, boundary, strlen(boundary)))
            break;
    }
    snprintf(ctype, ctsz, "Content-Type: multipart/form-data; boundary=%s", boundary);
    sb_printf(body,
              "--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
              "Content-Type: application/octet-stream\r\n\r\n",
              boundary, e->name, e->name);
    sb_append(body, e->data, e->len);
    sb_printf(body, "\r\n--%s--\r\n", boundary);
    return body->oom ? -ENOMEM : 0;
}

static int perform(struct chx *x, const char *base, const char *db, const char *sql,
                   const void *body, size_t bodylen, const struct ch_ext *ext, const char *settings,
                   const char *query_id, struct strbuf *out, struct gp_err *err)
{
    CURL *c = take(x);
    if (!c)
        return gp_err_set(err, -ENOMEM, "clickhouse: cannot create an HTTP handle");
    struct strbuf url = STRBUF_INIT, resp = STRBUF_INIT, mp = STRBUF_INIT;
    struct curl_slist *hdrs = NULL;
    char ctype[128];
    sb_printf(&url, "%s?", base);
    if (db)
        append_param(&url, c, "database", db);
    if (body || ext)
        append_param(&url, c, "query", sql);
    if (ext) {
        char k[80];
        snprintf(k, sizeof(k), "%s_structure", ext->name);
        append_param(&url, c, k, ext->structure);
        snprintf(k, sizeof(k), "%s_format", ext->name);
        append_param(&url, c, k, "RowBinary");
        if (multipart_body(ext, &mp, ctype, sizeof(ctype)) == 0 &&
            !(hdrs = gp_curl.slist_append(NULL, ctype)))
            mp.oom = 1;
        body = mp.buf;
        bodylen = mp.len;
    }
    if (query_id)
        append_param(&url, c, "query_id", query_id);
    if (settings) /* "&k=v..." */
        sb_puts(&url, url.buf[url.len - 1] == '?' && *settings == '&' ? settings + 1 : settings);
    if (url.oom || mp.oom) {
        sb_free(&url);
        sb_free(&mp);
        if (hdrs)
            gp_curl.slist_free_all(hdrs);
        give(x, c);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    gp_curl.easy_reset(c);
    if (hdrs)
        gp_curl.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    gp_curl.easy_setopt(c, CURLOPT_URL, sb_str(&url));
    gp_curl.easy_setopt(c, CURLOPT_POST, 1L);
    gp_curl.easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : sql);
    gp_curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? bodylen : strlen(sql)));
    gp_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    gp_curl.easy_setopt(c, CURLOPT_WRITEDATA, out ? out : &resp);
    gp_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    gp_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    gp_curl.easy_setopt(c, CURLOPT_TIMEOUT, x->timeout_s);
    if (x->user) {
        gp_curl.easy_setopt(c, CURLOPT_USERNAME, x->user);
        gp_curl.easy_setopt(c, CURLOPT_PASSWORD, x->password ? x->password : "");
    }
    size_t out0 = out ? out->len : 0;
    CURLcode cc = gp_curl.easy_perform(c);
    long status = 0;
    gp_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int rc = 0;
    if (cc != CURLE_OK) {
        rc = gp_err_set(err, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EAGAIN,
                        "clickhouse at %s unreachable: %s (will retry)", base,
                        gp_curl.easy_strerror(cc));
    } else if (status != 200) {
        struct strbuf *b = out ? out : &resp;
        const char *msg = b->len > out0 ? b->buf + out0 : "";
        int code = 0;
        const char *cp = strstr(msg, "Code: ");
        if (cp)
            code = atoi(cp + 6);
        int transient = status == 503 || status == 502 || status == 504 || transient_code(code);
        size_t ml = b->len - out0;
        while (ml && (msg[ml - 1] == '\n' || msg[ml - 1] == '\r'))
            ml--;
        rc = gp_err_set(err, transient ? -EAGAIN : -EIO, "clickhouse at %s: HTTP %ld: %.*s%s", base,
                        status, (int)(ml > 400 ? 400 : ml), msg, transient ? " (will retry)" : "");
        if (out)
            out->len = out0;
    }
    if (out && out->oom)
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    sb_free(&url);
    sb_free(&resp);
    sb_free(&mp);
    if (hdrs) {
        gp_curl.easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
        gp_curl.slist_free_all(hdrs);
    }
    give(x, c);
    return rc;
}

int ch_exec(struct chx *x, const char *sql, const void *body, size_t bodylen, const char *settings,
            const char *query_id, struct strbuf *out, struct gp_err *err)
{
    return perform(x, x->base_url, NULL, sql, body, bodylen, NULL, settings, query_id, out, err);
}

int ch_exec_ext(struct chx *x, const char *sql, const char *name, const char *structure,
                const void *data, size_t len, const char *settings, struct strbuf *out,
                struct gp_err *err)
{
    struct ch_ext e = {name, structure, data, len};
    return perform(x, x->base_url, NULL, sql, NULL, 0, &e, settings, NULL, out, err);
}

int ch_exec_at(struct chx *x, const char *base_url, const char *db, const char *sql,
               struct strbuf *out, struct gp_err *err)
{
    return perform(x, base_url, db, sql, NULL, 0, NULL, NULL, NULL, out, err);
}
