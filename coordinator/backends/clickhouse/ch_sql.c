/* backends/clickhouse/ch_sql.c — SQL text for ClickHouse built from untrusted values: string
 * literals and identifiers escaped so no value can end its literal, index_like patterns as
 * byte-wise RE2 regexes, the index predicate tree as an expression; and RowBinary encoding
 * (inserts) and decoding (results), which need no escaping at all. */
#include "coordinator/backends/clickhouse/ch_internal.h"

#include <errno.h>
#include <string.h>

void ch_sql_str(struct strbuf *sb, const char *s)
{
    sb_putc(sb, '\'');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\'' || *p == '\\') {
            sb_putc(sb, '\\');
            sb_putc(sb, (char)*p);
        } else if (*p < 0x20 || *p == 0x7f) {
            sb_printf(sb, "\\x%02X", *p);
        } else {
            sb_putc(sb, (char)*p);
        }
    }
    sb_putc(sb, '\'');
}

void ch_sql_ident(struct strbuf *sb, const char *s)
{
    sb_putc(sb, '`');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '`' || *p == '\\')
            sb_putc(sb, '\\');
        sb_putc(sb, (char)*p);
    }
    sb_putc(sb, '`');
}

/* Length of the valid UTF-8 sequence at p (0 when invalid). */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = *p >= 0xf0 && *p <= 0xf4 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc2 && *p < 0xe0 ? 2 : 0;
    if (*p >= 0xf5)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return n;
}

int ch_like_regex(struct strbuf *sb, const char *pat)
{
    /* RE2 in ClickHouse runs in UTF-8 mode: "." is a code point, so "_" is \C (one byte). */
    sb_puts(sb, "^");
    for (const unsigned char *p = (const unsigned char *)pat; *p;) {
        if (*p == '%') {
            sb_puts(sb, "\\C*");
            p++;
        } else if (*p == '_') {
            sb_puts(sb, "\\C");
            p++;
        } else if ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                   (*p >= 'A' && *p <= 'Z')) {
            sb_putc(sb, (char)*p++);
        } else if (*p < 0x80) {
            sb_printf(sb, "\\x{%02x}", *p++);
        } else {
            size_t n = utf8_len(p);
            if (!n)
                return -EINVAL;
            sb_append(sb, p, n);
            p += n;
        }
    }
    sb_puts(sb, "$");
    return 0;
}

int ch_pred_sql(struct strbuf *sb, const struct index_pred *p,
                const char *const cols[INDEX_NFIELDS])
{
    if (!p) {
        sb_putc(sb, '1');
        return 0;
    }
    const char *col = (unsigned)p->field < INDEX_NFIELDS && cols[p->field] ? cols[p->field] : "''";
    switch (p->op) {
    case INDEX_OP_AND:
    case INDEX_OP_OR:
        if (!p->nkids) {
            sb_putc(sb, '1');
            return 0;
        }
        sb_putc(sb, '(');
        for (size_t i = 0; i < p->nkids; i++) {
            if (i)
                sb_puts(sb, p->op == INDEX_OP_AND ? " AND " : " OR ");
            int rc = ch_pred_sql(sb, p->kids[i], cols);
            if (rc < 0)
                return rc;
        }
        sb_putc(sb, ')');
        return 0;
    case INDEX_OP_IN:
    case INDEX_OP_NOT_IN: {
        size_t n = 0;
        for (size_t i = 0; i < p->nvals; i++)
            n += p->vals[i] != NULL; /* a NULL entry matches nothing (index_pred_match) */
        if (!n) {
            sb_putc(sb, p->op == INDEX_OP_IN ? '0' : '1');
            return 0;
        }
        sb_printf(sb, "(%s %sIN (", col, p->op == INDEX_OP_NOT_IN ? "NOT " : "");
        for (size_t i = 0, k = 0; i < p->nvals; i++) {
            if (!p->vals[i])
                continue;
            if (k++)
                sb_putc(sb, ',');
            ch_sql_str(sb, p->vals[i]);
        }
        sb_puts(sb, "))");
        return 0;
    }
    case INDEX_OP_LIKE: {
        if (!p->nvals || !p->vals[0]) {
            sb_putc(sb, '0');
            return 0;
        }
        struct strbuf re = STRBUF_INIT;
        int rc = ch_like_regex(&re, p->vals[0]);
        if (rc == 0) {
            sb_printf(sb, "match(%s, ", col);
            ch_sql_str(sb, sb_str(&re));
            sb_putc(sb, ')');
        }
        sb_free(&re);
        return rc;
    }
    }
    sb_putc(sb, '0');
    return 0;
}

static void host_list(struct strbuf *sb, const struct index_strlist *l, const char *col, int not )
{
    if (!l->n)
        return;
    sb_printf(sb, " AND %s %sIN (", col, not ? "NOT " : "");
    for (size_t i = 0; i < l->n; i++) {
        if (i)
            sb_putc(sb, ',');
        ch_sql_str(sb, l->v[i] ? l->v[i] : "");
    }
    sb_putc(sb, ')');
}

void ch_host_lists_sql(struct strbuf *sb, const struct index_filter *f, const char *col)
{
    if (!f)
        return;
    host_list(sb, &f->host_in, col, 0);
    host_list(sb, &f->host_out, col, 1);
}

/* ---- RowBinary ---- */

void rb_u8(struct strbuf *sb, uint8_t v)
{
    sb_append(sb, &v, 1);
}

void rb_u32(struct strbuf *sb, uint32_t v)
{
    unsigned char b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    sb_append(sb, b, 4);
}

void rb_u64(struct strbuf *sb, uint64_t v)
{
    unsigned char b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    sb_append(sb, b, 8);
}

void rb_f64(struct strbuf *sb, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    rb_u64(sb, u);
}

void rb_varint(struct strbuf *sb, uint64_t v)
{
    unsigned char b[10];
    size_t n = 0;
    do {
        b[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    sb_append(sb, b, n);
}

void rb_str(struct strbuf *sb, const char *s, size_t n)
{
    rb_varint(sb, n);
    sb_append(sb, s, n);
}

static int need(struct rb_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return 0;
    }
    return 1;
}

uint8_t rd_u8(struct rb_reader *r)
{
    return need(r, 1) ? *r->p++ : 0;
}

uint32_t rd_u32(struct rb_reader *r)
{
    if (!need(r, 4))
        return 0;
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | r->p[i];
    r->p += 4;
    return v;
}

uint64_t rd_u64(struct rb_reader *r)
{
    if (!need(r, 8))
        return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | r->p[i];
    r->p += 8;
    return v;
}

int64_t rd_i64(struct rb_reader *r)
{
    return (int64_t)rd_u64(r);
}

double rd_f64(struct rb_reader *r)
{
    uint64_t u = rd_u64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

uint64_t rd_varint(struct rb_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (!need(r, 1))
            return 0;
        uint8_t b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

const char *rd_str(struct rb_reader *r, size_t *n)
{
    uint64_t len = rd_varint(r);
    if (!need(r, len)) {
        *n = 0;
        return "";
    }
    const char *s = (const char *)r->p;
    r->p += len;
    *n = (size_t)len;
    return s;
}
