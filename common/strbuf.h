/* strbuf.h — a growable byte buffer, always NUL-terminated, used to build text output.
 * Allocation failures are sticky: after one, every append is a no-op and sb->oom is set. */
#ifndef GPROF_COMMON_STRBUF_H
#define GPROF_COMMON_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *buf;
    size_t len;
    size_t cap;
    int oom;
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

int sb_reserve(struct strbuf *sb, size_t extra);
int sb_append(struct strbuf *sb, const void *data, size_t n);
int sb_puts(struct strbuf *sb, const char *s);
int sb_putc(struct strbuf *sb, char c);
int sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal, quotes included. */
int sb_json_str(struct strbuf *sb, const char *s);
/* Appends s with HTML/JS-safe escaping of '<', '>', '&' as \u00XX (for JSON inside <script>). */
int sb_json_str_html(struct strbuf *sb, const char *s, size_t n);
/* Appends s as HTML text or attribute value: & < > " ' become entities. */
int sb_html_text(struct strbuf *sb, const char *s);
/* Returns the buffer (caller owns it, free()) and resets sb. Never NULL unless oom. */
char *sb_detach(struct strbuf *sb, size_t *len);
void sb_reset(struct strbuf *sb);
void sb_free(struct strbuf *sb);
/* Returns a NUL-terminated view, "" for an empty buffer. */
const char *sb_str(const struct strbuf *sb);

#endif
