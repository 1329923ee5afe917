/* httpjson.c — JSON requests over libcurl. */
#include "agent/httpjson.h"
#include "common/strbuf.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define MAX_REPLY (64u << 20)

static size_t collect(char *ptr, size_t size, size_t n, void *ctx)
{
    struct strbuf *sb = ctx;
    if (sb->len + size * n > MAX_REPLY)
        return 0; /* aborts the transfer */
    if (sb_append(sb, ptr, size * n))
        return 0;
    return size * n;
}

static int perform(const char *method, const char *url, const char *token, const char *body,
                   long timeout_s, long *status, struct strbuf *reply, struct gp_err *err)
{
    CURL *c = curl_easy_init();
    if (!c)
        return gp_err_set(err, -ENOMEM, "cannot initialise libcurl");
    struct curl_slist *h = NULL;
    struct strbuf auth = STRBUF_INIT;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, "Expect:");
    if (token && *token) {
        sb_printf(&auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, sb_str(&auth));
    }
    int rc = 0;
    if (!h || auth.oom) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    }
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout_s > 0 ? timeout_s : 30L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, reply);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        rc = gp_err_set(err, -EAGAIN, "%s %s failed: %s", method, url, curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
out:
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    sb_free(&auth);
    return rc;
}

int gp_http_json(const char *method, const char *url, const char *token, const char *body,
                 long timeout_s, long *status, json_object **reply, struct gp_err *err)
{
    struct strbuf sb = STRBUF_INIT;
    *reply = NULL;
    *status = 0;
    int rc = perform(method, url, token, body, timeout_s, status, &sb, err);
    if (!rc && sb.len)
        *reply = json_tokener_parse(sb_str(&sb));
    sb_free(&sb);
    return rc;
}

int gp_http_get_raw(const char *url, const char *token, long timeout_s, long *status, char **out,
                    size_t *out_len, struct gp_err *err)
{
    struct strbuf sb = STRBUF_INIT;
    *out = NULL;
    *status = 0;
    int rc = perform("GET", url, token, NULL, timeout_s, status, &sb, err);
    if (rc) {
        sb_free(&sb);
        return rc;
    }
    if (sb_reserve(&sb, 1)) {
        sb_free(&sb);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    sb.buf[sb.len] = '\0';
    *out = sb_detach(&sb, out_len);
    return 0;
}
