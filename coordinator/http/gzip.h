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
/* gzip-compresses in (level 6). */
int gz_deflate(const void *in, size_t in_len, char **out, size_t *out_len, struct gp_err *err);

#endif
