/* strbuf.c — growable byte buffer. */
#include "common/strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sb_reserve(struct strbuf *sb, size_t extra)
{
    if (sb->oom)
        return -ENOMEM;
    if (extra > SIZE_MAX - sb->len - 1) {
        sb->oom = 1;
        return -ENOMEM;
    }
    size_t need = sb->len + extra + 1;
    if (need <= sb->cap)
        return 0;
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *p = realloc(sb->buf, cap);
    if (!p) {
        sb->oom = 1;
        return -ENOMEM;
    }
    p[sb->len] = '\0'; /* the invariant: buf is always NUL-terminated */
    sb->buf = p;
    sb->cap = cap;
    return 0;
}

int sb_append(struct strbuf *sb, const void *data, size_t n)
{
    if (sb_reserve(sb, n))
        return -ENOMEM;
    if (n)
        memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
    return 0;
}

int sb_puts(struct strbuf *sb, const char *s)
{
    return sb_append(sb, s, strlen(s));
}

int sb_putc(struct strbuf *sb, char c)
{
    return sb_append(sb, &c, 1);
}

int sb_printf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if ((size_t)n < sizeof(small))
        return sb_append(sb, small, (size_t)n);
    if (sb_reserve(sb, (size_t)n))
        return -ENOMEM;
    va_start(ap, fmt);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb->len += (size_t)n;
    return 0;
}

static int json_escape(struct strbuf *sb, const char *s, size_t n, int html)
{
    static const char hex[] = "0123456789abcdef";
    if (sb_reserve(sb, n + 2))
        return -ENOMEM;
    sb_putc(sb, '"');
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int esc = c < 0x20 || c == '"' || c == '\\' || (html && (c == '<' || c == '>' || c == '&'));
        if (!esc)
            continue;
        sb_append(sb, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"':
            sb_puts(sb, "\\\"");
            break;
        case '\\':
            sb_puts(sb, "\\\\");
            break;
        case '\n':
            sb_puts(sb, "\\n");
            break;
        case '\t':
            sb_puts(sb, "\\t");
            break;
        case '\r':
            sb_puts(sb, "\\r");
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sb_append(sb, u, 6);
        }
        }
    }
    sb_append(sb, s + run, n - run);
    return sb_putc(sb, '"');
}

int sb_json_str(struct strbuf *sb, const char *s)
{
    return json_escape(sb, s, strlen(s), 0);
}

int sb_json_str_html(struct strbuf *sb, const char *s, size_t n)
{
    return json_escape(sb, s, n, 1);
}

int sb_html_text(struct strbuf *sb, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++) {
        switch (*s) {
        case '&':
            rc = sb_puts(sb, "&amp;");
            break;
        case '<':
            rc = sb_puts(sb, "&lt;");
            break;
        case '>':
            rc = sb_puts(sb, "&gt;");
            break;
        case '"':
            rc = sb_puts(sb, "&quot;");
            break;
        case '\'':
            rc = sb_puts(sb, "&#39;");
            break;
        default:
            rc = sb_putc(sb, *s);
        }
    }
    return rc;
}

char *sb_detach(struct strbuf *sb, size_t *len)
{
    if (sb->oom) {
        sb_free(sb);
        return NULL;
    }
    if (!sb->buf && sb_reserve(sb, 0))
        return NULL;
    char *p = sb->buf;
    if (len)
        *len = sb->len;
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    return p;
}

void sb_reset(struct strbuf *sb)
{
    sb->len = 0;
    if (sb->buf)
        sb->buf[0] = '\0';
}

void sb_free(struct strbuf *sb)
{
    free(sb->buf);
    sb->buf = NULL;
    sb->len = sb->cap = 0;
    sb->oom = 0;
}

const char *sb_str(const struct strbuf *sb)
{
    return sb->buf ? sb->buf : "";
}
