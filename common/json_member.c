/* json_member.c — locate and decode one top-level string member without a full JSON parse. */
#include "common/json_member.h"

#include <string.h>

static size_t skip_ws(const char *d, size_t i, size_t len)
{
    while (i < len && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
        i++;
    return i;
}

/* d[i] is '"': returns the offset of the closing quote, or len when there is none. Sets
 * *escaped when the string holds a backslash. */
static size_t string_end(const char *d, size_t i, size_t len, int *escaped)
{
    i++;
    for (;;) {
        const char *q = memchr(d + i, '"', len - i);
        if (!q)
            return len;
        size_t k = (size_t)(q - d), bs = 0;
        /* a quote preceded by an odd number of backslashes is escaped */
        while (k - bs > i && d[k - bs - 1] == '\\')
            bs++;
        if (!*escaped && memchr(d + i, '\\', k - i))
            *escaped = 1;
        if (bs % 2 == 0)
            return k;
        i = k + 1;
    }
}

/* Skips one value starting at d[i]; returns the offset after it, or len when malformed. */
static size_t skip_value(const char *d, size_t i, size_t len)
{
    if (i >= len)
        return len;
    if (d[i] == '"') {
        int esc = 0;
        size_t e = string_end(d, i, len, &esc);
        return e < len ? e + 1 : len;
    }
    if (d[i] == '{' || d[i] == '[') {
        size_t depth = 0;
        while (i < len) {
            char c = d[i];
            if (c == '"') {
                int esc = 0;
                size_t e = string_end(d, i, len, &esc);
                if (e >= len)
                    return len;
                i = e + 1;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return len;
    }
    /* number or literal: up to the next delimiter */
    while (i < len && d[i] != ',' && d[i] != '}' && d[i] != ']' && d[i] != ' ' && d[i] != '\t' &&
           d[i] != '\n' && d[i] != '\r')
        i++;
    return i;
}

int gp_json_find_string_member(const char *doc, size_t len, const char *key, size_t *qstart,
                               size_t *qend)
{
    size_t klen = strlen(key), i = skip_ws(doc, 0, len);
    int found = 0;
    if (i >= len || doc[i] != '{')
        return 0;
    i = skip_ws(doc, i + 1, len);
    if (i < len && doc[i] == '}')
        return 0;
    for (;;) {
        if (i >= len || doc[i] != '"')
            return 0;
        int esc = 0;
        size_t ke = string_end(doc, i, len, &esc);
        if (ke >= len || esc)
            return 0;
        int match = ke - i - 1 == klen && memcmp(doc + i + 1, key, klen) == 0;
        i = skip_ws(doc, ke + 1, len);
        if (i >= len || doc[i] != ':')
            return 0;
        i = skip_ws(doc, i + 1, len);
        if (match) {
            if (found || i >= len || doc[i] != '"')
                return 0;
            size_t ve = string_end(doc, i, len, &esc);
            if (ve >= len)
                return 0;
            *qstart = i;
            *qend = ve;
            found = 1;
            i = ve + 1;
        } else {
            size_t e = skip_value(doc, i, len);
            if (e >= len || e == i)
                return 0;
            i = e;
        }
        i = skip_ws(doc, i, len);
        if (i < len && doc[i] == ',') {
            i = skip_ws(doc, i + 1, len);
            continue;
        }
        return i < len && doc[i] == '}' && found;
    }
}

int gp_json_unescape_simple(const char *s, size_t n, char *out, size_t *outlen)
{
    size_t o = 0, i = 0;
    while (i < n) {
        const char *bs = memchr(s + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (s + i)) : n - i;
        if (memchr(s + i, '\0', run))
            return 0;
        memcpy(out + o, s + i, run);
        o += run;
        i += run;
        if (!bs)
            break;
        if (i + 1 >= n)
            return 0;
        char c;
        switch (s[i + 1]) {
        case '"':
            c = '"';
            break;
        case '\\':
            c = '\\';
            break;
        case '/':
            c = '/';
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        default:
            return 0; /* \u and invalid escapes: the full parser decides */
        }
        out[o++] = c;
        i += 2;
    }
    out[o] = '\0';
    *outlen = o;
    return 1;
}
