/* blob/blob.c — the blob backend table, key validation and the struct blob_store wrappers that
 * validate every key before a backend sees it. */
#include "coordinator/store/blob/blob.h"
#include "coordinator/store/engines.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct blob_store {
    const struct blob_store_ops *ops;
    void *impl;
};

int blob_key_valid(const char *key)
{
    if (!key)
        return 0;
    size_t n = strnlen(key, BLOB_KEY_MAX + 1);
    if (n == 0 || n > BLOB_KEY_MAX || key[0] == '/' || key[n - 1] == '/')
        return 0;
    const char *comp = key;
    for (size_t i = 0; i <= n; i++) {
        char c = key[i];
        if (c == '/' || c == 0) {
            size_t len = (size_t)(key + i - comp);
            if (len == 0)
                return 0; /* "//" */
            if (comp[0] == '.')
                return 0; /* ".", "..", hidden names and backend temp files */
            comp = key + i + 1;
            continue;
        }
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

static int bad_key(const char *key, struct gp_err *err)
{
    return gp_err_set(err, -EINVAL,
                      "invalid blob key '%.80s': use 1..%d characters of A-Z a-z 0-9 . _ - /, "
                      "no empty component, none starting with '.'",
                      key ? key : "(null)", BLOB_KEY_MAX);
}

int blob_store_open(const char *spec, struct blob_store **out, struct gp_err *err)
{
    const struct store_engine *e;
    struct store_engine_options opts;
    int rc = store_engine_parse(spec, STORE_ROLE_BLOBS, &e, &opts, err);
    if (rc < 0)
        return rc;
    const struct blob_store_ops *ops = store_engine_vtable(e, STORE_ROLE_BLOBS);
    struct blob_store *bs = calloc(1, sizeof(*bs));
    if (!bs) {
        store_engine_options_free(&opts);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    bs->ops = ops;
    rc = ops->open(&opts, &bs->impl, err);
    store_engine_options_free(&opts);
    if (rc < 0) {
        free(bs);
        return rc;
    }
    *out = bs;
    return 0;
}

void blob_store_close(struct blob_store *bs)
{
    if (!bs)
        return;
    bs->ops->close(bs->impl);
    free(bs);
}

int blob_put(struct blob_store *bs, const char *key, const void *data, size_t len,
             struct gp_err *err)
{
    if (!blob_key_valid(key))
        return bad_key(key, err);
    return bs->ops->put(bs->impl, key, data, len, err);
}

int blob_get(struct blob_store *bs, const char *key, void **data, size_t *len, size_t max,
             struct gp_err *err)
{
    if (!blob_key_valid(key))
        return bad_key(key, err);
    return bs->ops->get(bs->impl, key, data, len, max, err);
}

int blob_delete(struct blob_store *bs, const char *key, struct gp_err *err)
{
    if (!blob_key_valid(key))
        return bad_key(key, err);
    return bs->ops->del(bs->impl, key, err);
}

int blob_stat(struct blob_store *bs, const char *key, uint64_t *size, struct gp_err *err)
{
    if (!blob_key_valid(key))
        return bad_key(key, err);
    return bs->ops->stat(bs->impl, key, size, err);
}

int blob_list(struct blob_store *bs, const char *prefix, blob_list_cb cb, void *ctx,
              struct gp_err *err)
{
    if (!prefix)
        prefix = "";
    /* A prefix is a key or a partial key; check what it contains, not its shape. */
    for (const char *p = prefix; *p; p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-' || c == '/';
        if (!ok || strstr(prefix, "..") || prefix[0] == '/')
            return bad_key(prefix, err);
    }
    return bs->ops->list(bs->impl, prefix, cb, ctx, err);
}
