/* perfmap.c — perf-PID.map parsing (see perfmap.h). */
#include "agent/symbols/perfmap.h"
#include "agent/symbols/demangle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads a hex number ("0x" optional) at *p, never past end nor across a line: strtoull would skip
 * leading whitespace, newlines included, and needs a terminator. Returns 0 and moves *p past
 * it, or -1 (no digit, or more than 64 bits). */
static int parse_hex(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        s += 2;
    uint64_t v = 0;
    const char *digits = s;
    for (; s < end; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            break;
        if (v >> 60)
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    if (s == digits)
        return -1;
    *out = v;
    *p = s;
    return 0;
}

int gp_perfmap_parse(const char *text, size_t len, struct gp_rangetab *t, struct gp_err *err)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* a partial last line is still being written */
        const char *r = p;
        uint64_t start, size;
        /* "START SIZE name": each field ends where the next begins, all inside this line */
        int ok = parse_hex(&r, nl, &start) == 0 && r < nl && *r == ' ';
        if (ok) {
            r++;
            ok = parse_hex(&r, nl, &size) == 0 && r + 1 < nl && *r == ' ' && size > 0;
        }
        if (ok) {
            const char *name = r + 1;
            size_t nlen = (size_t)(nl - name);
            while (nlen && name[nlen - 1] == '\r')
                nlen--;
            char tmp[512];
            char *dm = NULL;
            if (nlen < sizeof(tmp)) {
                memcpy(tmp, name, nlen);
                tmp[nlen] = '\0';
                dm = gp_demangle(tmp);
            }
            int rc = dm ? gp_rangetab_add(t, start, size, dm, strlen(dm), NULL)
                        : gp_rangetab_add(t, start, size, name, nlen, NULL);
            free(dm);
            if (rc < 0) {
                gp_rangetab_free(t);
                return gp_err_set(err, -ENOMEM, "out of memory reading perf map");
            }
        }
        p = nl + 1;
    }
    gp_rangetab_finish(t, 0);
    return 0;
}
