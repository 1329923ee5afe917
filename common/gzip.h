/* gzip.h — one-shot gzip compression for uploads and exports (zlib, gzip container).
 * Decompression of untrusted input lives with its bound in the coordinator's HTTP layer. */
#ifndef GPROF_COMMON_GZIP_H
#define GPROF_COMMON_GZIP_H

#include <stddef.h>

#include "common/err.h"
#include "common/strbuf.h"

/* Appends gzip(in) to out. level 1..9 (0 = default 6). Returns 0 or -ENOMEM / -EIO. */
int gp_gzip_compress(const void *in, size_t len, int level, struct strbuf *out, struct gp_err *err);

#endif
