/* base64.h — RFC 4648 base64, the encoding gProfiler uses for `htmlblob` in profile headers.
 * Decoding is strict about the alphabet and padding but skips whitespace (line-wrapped input). */
#ifndef GPROF_COMMON_BASE64_H
#define GPROF_COMMON_BASE64_H

#include <stddef.h>

#include "common/err.h"
#include "common/strbuf.h"

/* Appends base64(in) to out. Returns 0 or -ENOMEM. */
int gp_base64_encode(const void *in, size_t n, struct strbuf *out);
/* Appends the decoded bytes to out. Returns 0, -EINVAL (message says at which offset) or
 * -ENOMEM. */
int gp_base64_decode(const char *in, size_t n, struct strbuf *out, struct gp_err *err);

#endif
