/* httpjson.c — JSON requests over libcurl. */
#include "agent/httpjson.h"
#include "common/curl.h"
#include "common/curl_tls.h"
#include "common/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct sink {
    struct strbuf sb;
    size_t max;
    int too_big;
};

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
    struct sink *k = ctx;
    if (k->sb.len + size * n > k->max) {
        k->too_big = 1;
        return 0; /* aborts the transfer at once: nothing more is read */
    }
    if (sb_append(&k->sb, ptr, size * n))
        return 0;
    return size * n;
}

static int perform(const char *method, const char *url, const char *token, const char *body,
                   long timeout_s, size_t max_reply, long *status, struct sink *reply,
                   struct gp_err *err)
{
    reply->max = max_reply;
    CURL *c = gp_curl_handle();
    if (!c)
        return gp_err_set(err, -ENOMEM, "cannot initialise libcurl");
    struct curl_slist *h = NULL;
    struct strbuf auth = STRBUF_INIT;
    h = gp_curl.slist_append(h, "Content-Type: application/json");
    h = gp_curl.slist_append(h, "Accept: application/json");
    h = gp_curl.slist_append(h, "Expect:");
    if (token && *token) {
        sb_printf(&auth, "Authorization: Bearer %s", token);
        h = gp_curl.slist_append(h, sb_str(&auth));
    }
    int rc = 0;
    if (!h || auth.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    gp_curl.easy_setopt(c, CURLOPT_URL, url);
    gp_curl.easy_setopt(c, CURLOPT_HTTPHEADER, h);
    gp_curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        gp_curl.easy_setopt(c, CURLOPT_POSTFIELDS, body);
        gp_curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    gp_curl.easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
    gp_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    gp_curl.easy_setopt(c, CURLOPT_WRITEDATA, reply);
    /* a Content-Length above the cap is refused before the body is read */
    gp_curl.easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_reply);
    CURLcode cc = gp_curl.easy_perform(c);
    if (reply->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = gp_err_set(err, -EMSGSIZE,
                        "%s %s: the reply is larger than the %zu bytes allowed; refused (is this "
                        "the right coordinator?)",
                        method, url, max_reply);
        goto out;
    }
    if (cc != CURLE_OK) {
        char why[512];
        gp_curl_describe(cc, why, sizeof(why));
        rc = gp_err_set(err, -EAGAIN, "%s %s failed: %s", method, url, why);
        goto out;
    }
    gp_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
    gp_curl.slist_free_all(h);
    gp_curl.easy_cleanup(c);
    sb_free(&auth);
    return rc;
}

int gp_http_json(const char *method, const char *url, const char *token, const char *body,
                 long timeout_s, size_t max_reply, long *status, json_object **reply,
                 struct gp_err *err)
{
    struct sink k = {.sb = STRBUF_INIT};
    *reply = NULL;
    *status = 0;
    int rc = perform(method, url, token, body, timeout_s, max_reply, status, &k, err);
    if (!rc && k.sb.len)
        *reply = json_tokener_parse(sb_str(&k.sb));
    sb_free(&k.sb);
    return rc;
}

int gp_http_get_raw(const char *url, const char *token, long timeout_s, long *status, char **out,
                    size_t *out_len, struct gp_err *err)
{
    struct sink k = {.sb = STRBUF_INIT};
    *out = NULL;
    *status = 0;
    int rc = perform("GET", url, token, NULL, timeout_s, GP_HTTP_DOWNLOAD_MAX, status, &k, err);
    if (rc) {
        sb_free(&k.sb);
        return rc;
    }
    if (sb_reserve(&k.sb, 1)) {
        sb_free(&k.sb);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    k.sb.buf[k.sb.len] = '\0';
    *out = sb_detach(&k.sb, out_len);
    return 0;
}
