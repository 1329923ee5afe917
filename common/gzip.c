/* gzip.c — one-shot gzip compression with zlib (the inflating half is gzip_inflate.c). */
#include "common/gzip.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int gp_gzip_compress(const void *in, size_t len, int level, struct strbuf *out, struct gp_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, level > 0 ? level : 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
        Z_OK)
        return gp_err_set(err, -ENOMEM, "cannot initialise zlib");
    zs.next_in = (Bytef *)in;
    size_t left = len;
    int zrc = Z_OK;
    while (zrc != Z_STREAM_END) {
        if (zs.avail_in == 0 && left) {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.avail_in = chunk;
            left -= chunk;
        }
        size_t room = deflateBound(&zs, zs.avail_in) + 64;
        if (sb_reserve(out, room)) {
            deflateEnd(&zs);
            return gp_err_set(err, -ENOMEM, "out of memory compressing %zu bytes", len);
        }
        zs.next_out = (Bytef *)out->buf + out->len;
        zs.avail_out = (uInt)(room > (1u << 30) ? (1u << 30) : room);
        uInt before = zs.avail_out;
        zrc = deflate(&zs, left ? Z_NO_FLUSH : Z_FINISH);
        out->len += before - zs.avail_out;
        out->buf[out->len] = '\0';
        if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR) {
            deflateEnd(&zs);
            return gp_err_set(err, -EIO, "zlib deflate failed: %s", zs.msg ? zs.msg : "error");
        }
    }
    deflateEnd(&zs);
    return 0;
}

int gz_deflate(const void *in, size_t in_len, int level, char **out, size_t *out_len,
               struct gp_err *err)
{
    struct strbuf sb = STRBUF_INIT;
    int rc = gp_gzip_compress(in, in_len, level, &sb, err);
    if (rc < 0) {
        sb_free(&sb);
        return rc;
    }
    *out = sb_detach(&sb, out_len);
    return *out ? 0 : gp_err_set(err, -ENOMEM, "out of memory compressing %zu bytes", in_len);
}
