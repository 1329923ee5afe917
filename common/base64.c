/* base64.c — RFC 4648 base64 encoder and strict decoder. */
#include "common/base64.h"

#include <errno.h>
#include <stdint.h>

static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int gp_base64_encode(const void *in, size_t n, struct strbuf *out)
{
    const unsigned char *p = in;
    if (sb_reserve(out, (n + 2) / 3 * 4))
        return -ENOMEM;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {tbl[(v >> 18) & 63], tbl[(v >> 12) & 63], i + 1 < n ? tbl[(v >> 6) & 63] : '=',
                     i + 2 < n ? tbl[v & 63] : '='};
        sb_append(out, q, 4);
    }
    return out->oom ? -ENOMEM : 0;
}

static int value_of(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int gp_base64_decode(const char *in, size_t n, struct strbuf *out, struct gp_err *err)
{
    if (sb_reserve(out, n / 4 * 3 + 3))
        return gp_err_set(err, -ENOMEM, "out of memory decoding base64");
    uint32_t acc = 0;
    int have = 0, pad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = value_of(c);
        if (v < 0 || pad)
            return gp_err_set(err, -EINVAL, "invalid base64 at offset %zu", i);
        acc = acc << 6 | (uint32_t)v;
        if (++have == 4) {
            char b[3] = {(char)(acc >> 16), (char)(acc >> 8), (char)acc};
            sb_append(out, b, 3);
            acc = 0;
            have = 0;
        }
    }
    if (have == 1 || pad > 2 || (pad && have + pad != 4))
        return gp_err_set(err, -EINVAL, "invalid base64: truncated or wrongly padded input");
    if (have == 2) {
        char b = (char)(acc >> 4);
        sb_append(out, &b, 1);
    } else if (have == 3) {
        char b[2] = {(char)(acc >> 10), (char)(acc >> 2)};
        sb_append(out, b, 2);
    }
    return out->oom ? gp_err_set(err, -ENOMEM, "out of memory decoding base64") : 0;
}
