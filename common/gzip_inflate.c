/* gzip_inflate.c — gzip inflation with an output cap: a libdeflate fast path for whole gzip
 * bodies, zlib for the rest and for the error message. Its own object file, so programs that
 * only compress (gprofctl, gprof-agent) do not load libdeflate. */
#include "common/gzip.h"

#include <endian.h>
#include <errno.h>
#include <libdeflate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define GZ_FHCRC 0x02

/* A gzip member starts here (magic, deflate) and carries no header CRC (libdeflate skips it
 * unchecked where zlib verifies it). */
static int plain_gzip_member(const unsigned char *p, size_t n)
{
    return n >= 18 && p[0] == 0x1f && p[1] == 0x8b && p[2] == 8 && !(p[3] & GZ_FHCRC);
}

int gz_inflate_fast(const void *in, size_t in_len, size_t max_out, char **out, size_t *out_len)
{
    const unsigned char *src = in;
    *out = NULL;
    *out_len = 0;
    if (!plain_gzip_member(src, in_len))
        return -EAGAIN;
    /* The last member's trailer holds its size (mod 2^32): exact for the usual single member.
     * A size below the input's means concatenated members (or incompressible data): then
     * guess generously, since too small a buffer means decoding a member again. Untouched
     * capacity costs no memory. */
    uint32_t isize;
    memcpy(&isize, src + in_len - 4, 4);
    isize = le32toh(isize);
    size_t cap = (size_t)isize >= in_len ? (size_t)isize : in_len * 16 + 1024;
    if (cap > max_out + 1)
        cap = max_out + 1;
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    char *buf = d ? malloc(cap + 1) : NULL;
    if (!buf) {
        libdeflate_free_decompressor(d);
        return -ENOMEM;
    }
    size_t pos = 0, len = 0;
    int rc = 0;
    while (pos < in_len) {
        if (!plain_gzip_member(src + pos, in_len - pos)) {
            rc = -EAGAIN;
            break;
        }
        size_t used = 0, got = 0;
        enum libdeflate_result r = libdeflate_gzip_decompress_ex(d, src + pos, in_len - pos,
                                                                 buf + len, cap - len, &used, &got);
        if (r == LIBDEFLATE_SUCCESS) {
            pos += used;
            len += got;
            continue;
        }
        if (r != LIBDEFLATE_INSUFFICIENT_SPACE) {
            rc = -EAGAIN; /* zlib finds and words the problem */
            break;
        }
        if (cap > max_out) {
            rc = -EFBIG; /* zlib decides between a bomb and corrupt data, as before */
            break;
        }
        size_t ncap = cap * 4 > max_out + 1 ? max_out + 1 : cap * 4;
        char *nb = realloc(buf, ncap + 1);
        if (!nb) {
            rc = -ENOMEM;
            break;
        }
        buf = nb;
        cap = ncap; /* and decode this member again */
    }
    libdeflate_free_decompressor(d);
    if (rc == 0 && len > max_out)
        rc = -EFBIG;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int gz_inflate(const void *in, size_t in_len, size_t max_out, char **out, size_t *out_len,
               struct gp_err *err)
{
    int frc = gz_inflate_fast(in, in_len, max_out, out, out_len);
    if (frc == 0)
        return 0;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return gp_err_set(err, -ENOMEM, "cannot initialise zlib");
    size_t cap = in_len * 4 + 1024;
    if (cap > max_out + 1)
        cap = max_out + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        inflateEnd(&zs);
        return gp_err_set(err, -ENOMEM, "out of memory decompressing %zu bytes", in_len);
    }
    zs.next_in = (Bytef *)in;
    size_t left = in_len, len = 0;
    int zrc = Z_OK, rc = 0;
    for (;;) {
        if (zs.avail_in == 0 && left) {
            uInt chunk = left > (1u << 30) ? (1u << 30) : (uInt)left;
            zs.avail_in = chunk;
            left -= chunk;
        }
        if (len == cap) {
            if (cap > max_out) {
                rc = gp_err_set(err, -EFBIG, "gzip bomb: body decompresses to more than %zu bytes",
                                max_out);
                break;
            }
            size_t ncap = cap * 2;
            if (ncap > max_out + 1)
                ncap = max_out + 1;
            char *nb = realloc(buf, ncap + 1);
            if (!nb) {
                rc = gp_err_set(err, -ENOMEM, "out of memory decompressing body");
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t room = cap - len;
        zs.next_out = (Bytef *)buf + len;
        zs.avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
        uInt before = zs.avail_out;
        zrc = inflate(&zs, Z_NO_FLUSH);
        len += before - zs.avail_out;
        if (zrc == Z_STREAM_END) {
            /* concatenated gzip members are legal; continue with the next one */
            if (zs.avail_in == 0 && left == 0)
                break;
            if (inflateReset(&zs) != Z_OK) {
                rc = gp_err_set(err, -EINVAL, "invalid gzip body: cannot reset stream");
                break;
            }
            continue;
        }
        if (zrc == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            rc = gp_err_set(err, -EINVAL, "invalid gzip body: truncated after %zu compressed bytes",
                            in_len);
            break;
        }
        if (zrc != Z_OK && zrc != Z_BUF_ERROR) {
            rc = gp_err_set(err, -EINVAL, "invalid gzip body at compressed byte %lu: %s",
                            (unsigned long)zs.total_in, zs.msg ? zs.msg : "corrupt data");
            break;
        }
        if (len > max_out) {
            rc = gp_err_set(err, -EFBIG, "gzip bomb: body decompresses to more than %zu bytes",
                            max_out);
            break;
        }
    }
    inflateEnd(&zs);
    if (rc == 0 && len > max_out)
        rc = gp_err_set(err, -EFBIG, "gzip bomb: body decompresses to more than %zu bytes",
                        max_out);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}
