/* request.c — signed S3 requests over libcurl (CURLOPT_AWS_SIGV4 through gp_curl): the URL,
 * the payload hash and Content-MD5 (so a body cut short is refused by the server), a pool of
 * handles that keeps connections, and retries with exponential backoff and jitter on connection
 * errors, timeouts, 5xx, 408 and 429 within a bounded total time. */
#include "coordinator/backends/s3/s3.h"
#include "common/backoff.h"
#include "common/base64.h"
#include "common/curl.h"
#include "common/log.h"

#include <errno.h>
#include <stdarg.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    gp_curl.global_init(CURL_GLOBAL_DEFAULT);
}

int s3_client_init(struct s3_client *s, const struct store_engine_options *opts, struct gp_err *err)
{
    memset(s, 0, sizeof(*s));
    int rc = s3_conf_init(&s->conf, opts, err);
    if (rc < 0)
        return rc;
    pthread_once(&curl_once, curl_init_once);
    pthread_mutex_init(&s->mu, NULL);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->rng = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uintptr_t)s;
    return 0;
}

void s3_client_free(struct s3_client *s)
{
    for (int i = 0; i < s->nidle; i++)
        gp_curl.easy_cleanup(s->idle[i]);
    s->nidle = 0;
    pthread_mutex_destroy(&s->mu);
    s3_conf_free(&s->conf);
}

static CURL *handle_get(struct s3_client *s)
{
    CURL *c = NULL;
    pthread_mutex_lock(&s->mu);
    if (s->nidle)
        c = s->idle[--s->nidle];
    pthread_mutex_unlock(&s->mu);
    if (c)
        gp_curl.easy_reset(c); /* keeps its live connection */
    else
        c = gp_curl.easy_init();
    return c;
}

static void handle_put(struct s3_client *s, CURL *c)
{
    pthread_mutex_lock(&s->mu);
    if (s->nidle < S3_POOL_MAX) {
        s->idle[s->nidle++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    if (c)
        gp_curl.easy_cleanup(c);
}

int s3_uri_encode(struct strbuf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~')
            sb_putc(b, (char)c);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            sb_append(b, e, 3);
        }
    }
    return b->oom ? -ENOMEM : 0;
}

static int digest(const char *name, const void *data, size_t len, unsigned char *out,
                  unsigned *outlen)
{
    const EVP_MD *md = strcmp(name, "md5") == 0 ? EVP_md5() : EVP_sha256();
    return EVP_Digest(data, len, out, outlen, md, NULL) == 1 ? 0 : -EIO;
}

struct body_sink {
    struct strbuf *sb;
    size_t max;
    int too_big;
};

static size_t on_write(char *p, size_t sz, size_t n, void *ctx)
{
    struct body_sink *k = ctx;
    size_t len = sz * n;
    if (k->max && k->sb->len + len > k->max) {
        k->too_big = 1;
        return 0; /* aborts the transfer */
    }
    return sb_append(k->sb, p, len) < 0 ? 0 : len;
}

/* Builds the request headers: payload hash (signed), Content-MD5 for a body, session token. */
static struct curl_slist *headers(struct s3_client *s, enum s3_method m, const void *body,
                                  size_t len, int *fail)
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hl = 0;
    char line[256];
    struct curl_slist *l = NULL, *n;
    if (digest("sha256", m == S3_PUT ? body : "", m == S3_PUT ? len : 0, h, &hl) < 0) {
        *fail = 1;
        return NULL;
    }
    int w = snprintf(line, sizeof(line), "x-amz-content-sha256: ");
    for (unsigned i = 0; i < hl; i++)
        w += snprintf(line + w, sizeof(line) - (size_t)w, "%02x", h[i]);
    l = gp_curl.slist_append(l, line);
    if (l && m == S3_PUT) {
        struct strbuf b64 = STRBUF_INIT;
        if (digest("md5", body, len, h, &hl) < 0 || gp_base64_encode(h, hl, &b64) < 0 || b64.oom) {
            sb_free(&b64);
            gp_curl.slist_free_all(l);
            *fail = 1;
            return NULL;
        }
        snprintf(line, sizeof(line), "Content-MD5: %s", sb_str(&b64));
        sb_free(&b64);
        n = gp_curl.slist_append(l, line);
        l = n ? gp_curl.slist_append(n, "Content-Type: application/octet-stream") : NULL;
        l = l ? gp_curl.slist_append(l, "Expect:") : NULL;
    }
    if (l && s->conf.session_token) {
        struct strbuf t = STRBUF_INIT;
        sb_printf(&t, "x-amz-security-token: %s", s->conf.session_token);
        n = t.oom ? NULL : gp_curl.slist_append(l, t.buf);
        if (t.buf)
            explicit_bzero(t.buf, t.len);
        sb_free(&t);
        l = n;
    }
    if (!l)
        *fail = 1;
    return l;
}

static int retryable_curl(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static int retryable_status(long st)
{
    return st >= 500 || st == 408 || st == 429;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *method_name(enum s3_method m)
{
    return m == S3_PUT ? "PUT" : m == S3_HEAD ? "HEAD" : m == S3_DELETE ? "DELETE" : "GET";
}

/* One attempt. Returns the CURLcode; resp->status and body filled on an answer. */
static CURLcode attempt(struct s3_client *s, CURL *c, enum s3_method m, const char *url,
                        struct curl_slist *hdrs, const void *body, size_t len,
                        struct body_sink *sink, struct s3_resp *resp, char *errbuf)
{
    const struct s3_conf *cf = &s->conf;
    char sigv4[96];
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3", cf->region);
    gp_curl.easy_setopt(c, CURLOPT_URL, url);
    gp_curl.easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
    gp_curl.easy_setopt(c, CURLOPT_USERNAME, cf->access_key);
    gp_curl.easy_setopt(c, CURLOPT_PASSWORD, cf->secret_key);
    gp_curl.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    gp_curl.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    gp_curl.easy_setopt(c, CURLOPT_TIMEOUT_MS, cf->timeout_ms);
    gp_curl.easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, cf->connect_timeout_ms);
    gp_curl.easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    gp_curl.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    gp_curl.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    gp_curl.easy_setopt(c, CURLOPT_WRITEDATA, sink);
    switch (m) {
    case S3_HEAD:
        gp_curl.easy_setopt(c, CURLOPT_NOBODY, 1L);
        break;
    case S3_DELETE:
        gp_curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    case S3_PUT:
        gp_curl.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
        gp_curl.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        gp_curl.easy_setopt(c, CURLOPT_POSTFIELDS, len ? body : "");
        break;
    case S3_GET:
        break;
    }
    errbuf[0] = 0;
    sb_reset(sink->sb);
    sink->too_big = 0;
    resp->status = 0;
    CURLcode cc = gp_curl.easy_perform(c);
    if (cc == CURLE_OK) {
        gp_curl.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_off_t cl = -1;
        gp_curl.easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        resp->length = cl > 0 ? (uint64_t)cl : 0;
    }
    return cc;
}

int s3_request(struct s3_client *s, enum s3_method m, const char *key, const char *query,
               const void *body, size_t len, size_t max, struct s3_resp *resp, struct gp_err *err)
{
    const struct s3_conf *cf = &s->conf;
    memset(resp, 0, sizeof(*resp));
    struct strbuf url = STRBUF_INIT;
    sb_puts(&url, cf->base);
    if (key)
        sb_puts(&url, key); /* keys are [A-Za-z0-9._/-]: nothing to escape */
    if (query && *query) {
        sb_putc(&url, '?');
        sb_puts(&url, query);
    }
    int fail = 0;
    struct curl_slist *hdrs = url.oom ? NULL : headers(s, m, body, len, &fail);
    CURL *c = hdrs ? handle_get(s) : NULL;
    if (!c) {
        if (hdrs)
            gp_curl.slist_free_all(hdrs);
        sb_free(&url);
        return gp_err_set(err, -ENOMEM,
                          "s3: cannot set up a request (out of memory or libcurl "
                          "unavailable)");
    }
    struct body_sink sink = {.sb = &resp->body, .max = max};
    struct gp_backoff bo;
    pthread_mutex_lock(&s->mu);
    uint64_t seed = gp_rand_next(&s->rng) | 1;
    pthread_mutex_unlock(&s->mu);
    gp_backoff_init(&bo, 0.05, 2.0, 0.5, seed);
    char errbuf[CURL_ERROR_SIZE];
    int64_t t0 = now_ms();
    int rc = 0, tries = 0;
    for (;;) {
        tries++;
        __atomic_add_fetch(&s->attempts, 1, __ATOMIC_RELAXED);
        CURLcode cc = attempt(s, c, m, url.buf, hdrs, body, len, &sink, resp, errbuf);
        if (sink.too_big) {
            rc = gp_err_set(err, -EFBIG, "blob %s is more than the %zu bytes allowed", key, max);
            break;
        }
        int again = cc != CURLE_OK ? retryable_curl(cc) : retryable_status(resp->status);
        if (cc == CURLE_OK && !again)
            break;
        int64_t spent = now_ms() - t0;
        double d = gp_backoff_fail(&bo);
        if (!again || spent + (int64_t)(d * 1000) > cf->retry_ms) {
            if (cc == CURLE_OK)
                break; /* the last answer (a 5xx) is the caller's to report */
            const char *what = errbuf[0] ? errbuf : gp_curl.easy_strerror(cc);
            /* -EBUSY: the store is unavailable, not the data bad; uploads answer 503 and
             * the indexer stops its pass and comes back, counting no attempt */
            int code = retryable_curl(cc) ? -EBUSY : -EIO;
            rc = gp_err_set(err, code,
                            "s3: %s %s%s failed after %d attempt%s in %.1f s: %s; check that the "
                            "S3 endpoint %s://%s is up and reachable (spec endpoint=, "
                            "retry_seconds=, timeout=)",
                            method_name(m), cf->base, key ? key : "", tries, tries == 1 ? "" : "s",
                            (double)spent / 1000, what, cf->scheme, cf->hostport);
            break;
        }
        __atomic_add_fetch(&s->retries, 1, __ATOMIC_RELAXED);
        gp_debug("s3: %s %s: %s, retry %d in %.0f ms", method_name(m), key ? key : "",
                 cc != CURLE_OK ? gp_curl.easy_strerror(cc) : "server error", tries, d * 1000);
        struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
        nanosleep(&ts, NULL);
    }
    gp_curl.slist_free_all(hdrs);
    sb_free(&url);
    if (rc < 0) {
        gp_curl.easy_cleanup(c); /* a failed connection is not worth keeping */
        sb_free(&resp->body);
    } else {
        handle_put(s, c);
    }
    return rc;
}

void s3_resp_free(struct s3_resp *r)
{
    sb_free(&r->body);
}

int s3_status_error(struct s3_client *s, const struct s3_resp *r, struct gp_err *err,
                    const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    char code[64], msg[256];
    s3_xml_error(r->body.buf ? r->body.buf : "", r->body.len, code, sizeof(code), msg, sizeof(msg));
    const struct s3_conf *cf = &s->conf;
    if (strcmp(code, "NoSuchBucket") == 0 || (r->status == 404 && !code[0] && !what[0]))
        return gp_err_set(err, -ENXIO,
                          "s3: bucket '%s' does not exist at %s://%s: create it or fix the "
                          "blobs spec",
                          cf->bucket, cf->scheme, cf->hostport);
    if (r->status == 403 || r->status == 401 || strcmp(code, "InvalidAccessKeyId") == 0 ||
        strcmp(code, "SignatureDoesNotMatch") == 0)
        return gp_err_set(err, -EACCES,
                          "s3: %s refused (%ld %s%s%s): check the access key id and secret key "
                          "(from %s), the bucket's permissions and region=%s",
                          what, r->status, code[0] ? code : "Forbidden", msg[0] ? ": " : "", msg,
                          cf->cred_source, cf->region);
    if (r->status == 301 || strcmp(code, "PermanentRedirect") == 0 ||
        strcmp(code, "AuthorizationHeaderMalformed") == 0)
        return gp_err_set(err, -EINVAL,
                          "s3: %s: bucket '%s' is in another region or needs another style (%ld "
                          "%s): fix region= or style= in the blobs spec",
                          what, cf->bucket, r->status, code);
    if (r->status == 404)
        return gp_err_set(err, -ENOENT, "s3: %s: not found", what);
    if (strcmp(code, "BadDigest") == 0 || strcmp(code, "XAmzContentSHA256Mismatch") == 0 ||
        strcmp(code, "IncompleteBody") == 0)
        return gp_err_set(err, -EIO, "s3: %s: the server received a damaged body (%s)", what, code);
    /* 5xx / 429 after every retry: -EBUSY, which the API answers with 503 (retry later) */
    return gp_err_set(err, retryable_status(r->status) ? -EBUSY : -EIO,
                      "s3: %s: the server answered %ld%s%s%s%s%s", what, r->status,
                      code[0] ? " " : "", code, msg[0] ? " (" : "", msg, msg[0] ? ")" : "");
}
