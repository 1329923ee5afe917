/* ident.c — validation of network-supplied names (see ident.h). */
#include "common/ident.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>

/* Decodes one UTF-8 sequence at s[0..n); returns its length, or 0 when it is malformed
 * (truncated, overlong, a surrogate or above U+10FFFF). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if ((c & 0xe0) == 0xc0) {
        need = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        need = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        need = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return need;
}

static int is_bidi_control(uint32_t cp)
{
    return cp == 0x061c || cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069);
}

int gp_ident_check(const char *s, size_t len, size_t max, char *why, size_t whysz)
{
    char tmp[1];
    if (!why || !whysz)
        why = tmp, whysz = sizeof(tmp);
    if (!s || len == 0) {
        snprintf(why, whysz, "is empty");
        return -EINVAL;
    }
    if (len > max) {
        snprintf(why, whysz, "is longer than %zu bytes (%zu)", max, len);
        return -EINVAL;
    }
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t k = utf8_decode(p + i, len - i, &cp);
        if (k == 0) {
            snprintf(why, whysz, "is not valid UTF-8 (byte 0x%02x at offset %zu)", p[i], i);
            return -EINVAL;
        }
        if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f)) {
            snprintf(why, whysz, "contains the control character U+%04X at offset %zu",
                     (unsigned)cp, i);
            return -EINVAL;
        }
        if (is_bidi_control(cp)) {
            snprintf(why, whysz, "contains U+%04X (a bidirectional control) at offset %zu",
                     (unsigned)cp, i);
            return -EINVAL;
        }
        i += k;
    }
    return 0;
}
