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

static int perform(struct chx *x, const char *base, const char *db, const char *sql,
                   const void *body, size_t bodylen, const char *settings, const char *query_id,
                   struct strbuf *out, struct gp_err *err)
{
    CURL *c = take(x);
    if (!c)
        return gp_err_set(err, -ENOMEM, "clickhouse: cannot create an HTTP handle");
    struct strbuf url = STRBUF_INIT, resp = STRBUF_INIT;
    sb_printf(&url, "%s?", base);
    if (db)
        append_param(&url, c, "database", db);
    if (body)
        append_param(&url, c, "query", sql);
    if (query_id)
        append_param(&url, c, "query_id", query_id);
    if (settings) /* "&k=v..." */
        sb_puts(&url, url.buf[url.len - 1] == '?' && *settings == '&' ? settings + 1 : settings);
    if (url.oom) {
        sb_free(&url);
        give(x, c);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    gp_curl.easy_reset(c);
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
    give(x, c);
    return rc;
}

int ch_exec(struct chx *x, const char *sql, const void *body, size_t bodylen, const char *settings,
            const char *query_id, struct strbuf *out, struct gp_err *err)
{
    return perform(x, x->base_url, NULL, sql, body, bodylen, settings, query_id, out, err);
}

int ch_exec_at(struct chx *x, const char *base_url, const char *db, const char *sql,
               struct strbuf *out, struct gp_err *err)
{
    return perform(x, base_url, db, sql, NULL, 0, NULL, NULL, out, err);
}
