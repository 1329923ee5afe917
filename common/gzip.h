/* gzip.h — the one gzip module: compression (zlib, gzip container) for uploads, exports and
 * stored blobs, and bounded decompression of untrusted bodies (gzip bomb cap, libdeflate fast
 * path, zlib fallback that words the error): gzip.c and gzip_inflate.c. */
#ifndef GPROF_COMMON_GZIP_H
#define GPROF_COMMON_GZIP_H

#include <stddef.h>

#include "common/err.h"
#include "common/strbuf.h"

/* Appends gzip(in) to out. level 1..9 (0 = default 6). Returns 0 or -ENOMEM / -EIO. */
int gp_gzip_compress(const void *in, size_t len, int level, struct strbuf *out, struct gp_err *err);
/* The same with libdeflate (gzip_deflate_fast.c; level 1..12, 0 = 6): whole buffer, several
 * times zlib's speed. For answers sent once; the bytes differ from zlib's. */
int gp_gzip_compress_fast(const void *in, size_t len, int level, struct strbuf *out,
                          struct gp_err *err);
/* gzip-compresses in at level (1..9, 0 = 6) into a malloc'd buffer (*out, *out_len). */
int gz_deflate(const void *in, size_t in_len, int level, char **out, size_t *out_len,
               struct gp_err *err);

/* Inflates in (gzip or zlib, auto-detected). Returns 0 and a NUL-terminated malloc'd buffer,
 * -EFBIG when the output would exceed max_out ("gzip bomb"), -EINVAL for corrupt or
 * truncated data (message says where), -ENOMEM. */
int gz_inflate(const void *in, size_t in_len, size_t max_out, char **out, size_t *out_len,
               struct gp_err *err);
/* The fast path of gz_inflate, also used on stored bodies: whole-buffer gzip decoding with
 * libdeflate (several times zlib's speed, CRC-32 included), concatenated members, output sized
 * from the gzip trailer. Returns 0 with a NUL-terminated malloc'd buffer, or a negative errno
 * when it declines — -EFBIG the output exceeds max_out, -ENOMEM, -EAGAIN not gzip, a header CRC
 * (FHCRC, which libdeflate does not check), corrupt or truncated data: the caller then runs
 * zlib, which accepts exactly what it accepted before and words the error. */
int gz_inflate_fast(const void *in, size_t in_len, size_t max_out, char **out, size_t *out_len);

#endif
