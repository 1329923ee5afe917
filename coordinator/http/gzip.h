/* gzip.h — bounded decompression of gzip/zlib request bodies, so a small upload cannot expand
 * into unbounded memory (gzip bomb); also a one-shot gzip compressor for tests and replies. */
#ifndef GPROF_COORD_HTTP_GZIP_H
#define GPROF_COORD_HTTP_GZIP_H

#include <stddef.h>

#include "common/err.h"

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
/* gzip-compresses in (level 6). */
int gz_deflate(const void *in, size_t in_len, char **out, size_t *out_len, struct gp_err *err);

#endif
