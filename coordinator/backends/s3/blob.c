/* backends/s3/blob.c — the S3 blob engine: objects at s3://BUCKET/PREFIX/<key>; put is one
 * PUT (S3 makes it atomic: a reader sees the old or the new object, never part of one), get,
 * HEAD for stat, HEAD + DELETE for delete (S3 deletes silently what is absent), ListObjectsV2
 * pages for list. Requests, signing and retries: request.c. */
#include "coordinator/backends/s3/s3.h"
#include "coordinator/store/blob/blob.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s3_open(const struct store_engine_options *opts, void **impl, struct gp_err *err)
{
    struct s3_client *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = s3_client_init(s, opts, err);
    if (rc < 0) {
        free(s);
        return rc;
    }
    /* One small list at open: a wrong endpoint, bucket, region or key fails here, with a message
     * saying which, rather than at the first upload. */
    struct strbuf q = STRBUF_INIT;
    sb_puts(&q, "list-type=2&max-keys=1&prefix=");
    s3_uri_encode(&q, s->conf.prefix);
    struct s3_resp r = {0};
    rc = q.oom ? gp_err_set(err, -ENOMEM, "out of memory")
               : s3_request(s, S3_GET, NULL, q.buf, NULL, 0, 1 << 20, &r, err);
    sb_free(&q);
    if (rc == 0 && r.status != 200)
        rc = s3_status_error(s, &r, err, "listing bucket %s", s->conf.bucket);
    s3_resp_free(&r);
    if (rc < 0) {
        s3_client_free(s);
        free(s);
        return rc;
    }
    *impl = s;
    return 0;
}

static void s3_close(void *impl)
{
    struct s3_client *s = impl;
    if (!s)
        return;
    s3_client_free(s);
    free(s);
}

/* The object name of key: the store's prefix and the key. */
static int full_key(struct s3_client *s, const char *key, char *out, size_t outsz,
                    struct gp_err *err)
{
    int w = snprintf(out, outsz, "%s%s", s->conf.prefix, key);
    if (w < 0 || (size_t)w >= outsz)
        return gp_err_set(err, -EINVAL, "blob key %s is too long with the store's prefix", key);
    return 0;
}

#define FULL_MAX (2 * BLOB_KEY_MAX + 2)

static int s3_put(void *impl, const char *key, const void *data, size_t len, struct gp_err *err)
{
    struct s3_client *s = impl;
    char k[FULL_MAX];
    int rc = full_key(s, key, k, sizeof(k), err);
    if (rc < 0)
        return rc;
    struct s3_resp r;
    if ((rc = s3_request(s, S3_PUT, k, NULL, data, len, 1 << 20, &r, err)) < 0)
        return gp_err_prefix(err, "storing blob %s", key), rc;
    if (r.status != 200)
        rc = s3_status_error(s, &r, err, "storing blob %s", key);
    s3_resp_free(&r);
    return rc;
}

static int s3_get(void *impl, const char *key, void **data, size_t *len, size_t max,
                  struct gp_err *err)
{
    struct s3_client *s = impl;
    char k[FULL_MAX];
    int rc = full_key(s, key, k, sizeof(k), err);
    if (rc < 0)
        return rc;
    struct s3_resp r;
    if ((rc = s3_request(s, S3_GET, k, NULL, NULL, 0, max, &r, err)) < 0) {
        if (rc == -EFBIG)
            return gp_err_set(err, -EFBIG, "blob %s is more than the %zu bytes allowed", key, max);
        return gp_err_prefix(err, "reading blob %s", key), rc;
    }
    if (r.status == 200) {
        size_t n = r.body.len;
        char *b = n ? sb_detach(&r.body, &n) : malloc(1);
        if (!b) {
            s3_resp_free(&r);
            return gp_err_set(err, -ENOMEM, "out of memory reading blob %s", key);
        }
        *data = b;
        *len = n;
        return 0;
    }
    if (r.status == 404 && strstr(sb_str(&r.body), "NoSuchBucket") == NULL)
        rc = gp_err_set(err, -ENOENT, "blob %s not found", key);
    else
        rc = s3_status_error(s, &r, err, "reading blob %s", key);
    s3_resp_free(&r);
    return rc;
}

static int s3_stat(void *impl, const char *key, uint64_t *size, struct gp_err *err)
{
    struct s3_client *s = impl;
    char k[FULL_MAX];
    int rc = full_key(s, key, k, sizeof(k), err);
    if (rc < 0)
        return rc;
    struct s3_resp r;
    if ((rc = s3_request(s, S3_HEAD, k, NULL, NULL, 0, 1 << 20, &r, err)) < 0)
        return gp_err_prefix(err, "looking up blob %s", key), rc;
    if (r.status == 200)
        *size = r.length;
    else if (r.status == 404)
        rc = gp_err_set(err, -ENOENT, "blob %s not found", key);
    else
        rc = s3_status_error(s, &r, err, "looking up blob %s", key);
    s3_resp_free(&r);
    return rc;
}

static int s3_del(void *impl, const char *key, struct gp_err *err)
{
    struct s3_client *s = impl;
    uint64_t size;
    int rc = s3_stat(impl, key, &size, err);
    if (rc < 0)
        return rc;
    char k[FULL_MAX];
    if ((rc = full_key(s, key, k, sizeof(k), err)) < 0)
        return rc;
    struct s3_resp r;
    if ((rc = s3_request(s, S3_DELETE, k, NULL, NULL, 0, 1 << 20, &r, err)) < 0)
        return gp_err_prefix(err, "deleting blob %s", key), rc;
    if (r.status != 204 && r.status != 200)
        rc = s3_status_error(s, &r, err, "deleting blob %s", key);
    s3_resp_free(&r);
    return rc;
}

struct list_ctx {
    size_t strip; /* length of the store's prefix */
    blob_list_cb cb;
    void *ctx;
};

static int list_one(const char *key, uint64_t size, void *v)
{
    struct list_ctx *l = v;
    if (strlen(key) <= l->strip || !blob_key_valid(key + l->strip))
        return 0; /* not ours (written by something else under the prefix) */
    return l->cb(key + l->strip, size, l->ctx);
}

static int s3_list(void *impl, const char *prefix, blob_list_cb cb, void *ctx, struct gp_err *err)
{
    struct s3_client *s = impl;
    char p[FULL_MAX];
    int rc = full_key(s, prefix, p, sizeof(p), err);
    if (rc < 0)
        return rc;
    struct list_ctx l = {strlen(s->conf.prefix), cb, ctx};
    char *token = NULL;
    do {
        /* parameters in canonical (sorted) order, values encoded as signing wants */
        struct strbuf q = STRBUF_INIT;
        if (token) {
            sb_puts(&q, "continuation-token=");
            s3_uri_encode(&q, token);
            sb_putc(&q, '&');
        }
        sb_puts(&q, "list-type=2&");
        if (s->conf.max_keys)
            sb_printf(&q, "max-keys=%d&", s->conf.max_keys);
        sb_puts(&q, "prefix=");
        s3_uri_encode(&q, p);
        free(token);
        token = NULL;
        struct s3_resp r = {0};
        rc = q.oom ? gp_err_set(err, -ENOMEM, "out of memory")
                   : s3_request(s, S3_GET, NULL, q.buf, NULL, 0, 64 << 20, &r, err);
        sb_free(&q);
        if (rc < 0)
            return gp_err_prefix(err, "listing blobs %s", prefix), rc;
        int truncated = 0;
        if (r.status != 200) {
            rc = s3_status_error(s, &r, err, "listing blobs %s", prefix);
        } else {
            rc = s3_xml_list(r.body.buf, r.body.len, list_one, &l, &truncated, &token, err);
        }
        s3_resp_free(&r);
        if (rc != 0 || !truncated)
            break;
    } while (token);
    free(token);
    return rc;
}

const struct blob_store_ops blob_s3_ops = {
        .version = BLOB_STORE_OPS_VERSION,
        .open = s3_open,
        .close = s3_close,
        .put = s3_put,
        .get = s3_get,
        .del = s3_del,
        .stat = s3_stat,
        .list = s3_list,
};
