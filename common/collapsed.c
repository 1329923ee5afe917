/* collapsed.c — writer and hardened parser for gProfiler's collapsed stacks + JSON header. */
#include "common/collapsed.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* ---- writer ---------------------------------------------------------------------------- */

static size_t utf8_seq_len(const unsigned char *s, size_t n);

/* Appends a name with what would break a collapsed line (or be refused by the parser)
 * replaced: ';' by '|', control characters but tab by ' ', bytes that are not UTF-8 by '?'. */
static void put_name(struct strbuf *out, const char *name)
{
    if (!*name) { /* only the container may be empty; see write_stack */
        sb_puts(out, "[unknown]");
        return;
    }
    const unsigned char *s = (const unsigned char *)name;
    size_t n = strlen(name), run = 0, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        char rep;
        size_t len = 1;
        if (c == ';')
            rep = '|';
        else if ((c < 0x20 && c != '\t') || c == 0x7f)
            rep = ' ';
        else if (c < 0x80) {
            i++;
            continue;
        } else if ((len = utf8_seq_len(s + i, n - i)) > 0) {
            i += len;
            continue;
        } else {
            rep = '?';
            len = 1;
        }
        sb_append(out, name + run, i - run);
        sb_putc(out, rep);
        i += len;
        run = i;
    }
    sb_append(out, name + run, i - run);
}

struct write_ctx {
    struct strbuf *out;
    unsigned flags;
    int first;
};

static int write_stack(const struct gp_stack_view *s, void *arg)
{
    struct write_ctx *w = arg;
    if (s->count == 0)
        return 0;
    if (!w->first)
        sb_putc(w->out, '\n');
    w->first = 0;
    if (!(w->flags & GP_COLLAPSED_NO_PREFIX)) {
        sb_printf(w->out, "%u;", s->app_idx);
        if (s->container[0])
            put_name(w->out, s->container);
        sb_putc(w->out, ';');
    }
    put_name(w->out, s->comm);
    for (uint32_t k = 0; k < s->nframes; k++) {
        sb_putc(w->out, ';');
        put_name(w->out, s->frames[k]);
    }
    sb_printf(w->out, " %llu", (unsigned long long)s->count);
    return w->out->oom ? -ENOMEM : 0;
}

int gp_collapsed_write_ex(struct gp_profile *p, unsigned flags, struct strbuf *out,
                          struct gp_err *err)
{
    struct write_ctx w = {.out = out, .flags = flags, .first = 1};
    if (!(flags & GP_COLLAPSED_NO_HEADER)) {
        const char *h = json_object_to_json_string_ext(
                gp_profile_header(p), JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!h)
            return gp_err_set(err, -ENOMEM, "collapsed: out of memory serializing the header");
        sb_puts(out, "# ");
        sb_puts(out, h);
        w.first = 0;
    }
    int rc = (flags & GP_COLLAPSED_SORTED) ? gp_profile_foreach_sorted(p, write_stack, &w)
                                           : gp_profile_foreach(p, write_stack, &w);
    if (!rc && (flags & GP_COLLAPSED_TRAILING_NL) && !w.first)
        sb_putc(out, '\n');
    if (rc || out->oom)
        return gp_err_set(err, -ENOMEM, "collapsed: out of memory writing %zu stacks",
                          gp_profile_nstacks(p));
    return 0;
}

int gp_collapsed_write(struct gp_profile *p, struct strbuf *out, struct gp_err *err)
{
    return gp_collapsed_write_ex(p, 0, out, err);
}

/* ---- parser ---------------------------------------------------------------------------- */

struct parser {
    const struct gp_collapsed_parse_opts *o;
    struct gp_profile *p; /* NULL: validate only, nothing is built */
    struct gp_err *err;
    size_t lineno;
    enum gp_collapsed_layout layout;
    uint32_t *ids;
    uint32_t ids_cap;
    struct gp_collapsed_stats st;
    int need_full; /* validate only: the distinct-stack cap needs the real profile */
};

/* Interns a name into the profile being built; validation only needs "not GP_NO_ID". */
static uint32_t intern(struct parser *ps, const char *s, size_t n)
{
    return ps->p ? gp_profile_intern(ps->p, s, n) : 0;
}

/* Shows at most 40 bytes of untrusted text inside an error message, printable ASCII only. */
static const char *quote(const char *s, size_t n, char buf[64])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (n > 40) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

/* Length of the valid UTF-8 sequence (2-4 bytes) starting at s, or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t need;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n <= need)
        return 0;
    for (size_t k = 1; k <= need; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return need + 1;
}

/* Returns the byte offset of the first invalid UTF-8 sequence or control character, or -1. */
static long bad_text_at(const unsigned char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    size_t i = 0;
    while (i < n) {
#ifdef __SSE2__
        /* 16 bytes at a time while they are all printable ASCII: as signed bytes, >= 0x80 is
         * negative, so "< 0x20" catches both ends */
        const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
        while (i + 16 <= n) {
            __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
            if (_mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del))))
                break;
            i += 16;
        }
#endif
        /* 8 bytes at a time while they are all printable ASCII (no byte < 0x20, 0x7f, >= 0x80) */
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            uint64_t y = x ^ (0x7f * ones);
            if ((((x - 0x20 * ones) & ~x) | ((y - ones) & ~y) | x) & highs)
                break; /* some byte < 0x20, == 0x7f or >= 0x80: look at them one by one */
            i += 8;
        }
        if (i >= n)
            break;
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return (long)i;
            i++;
            continue;
        }
        size_t len = utf8_seq_len(s + i, n - i);
        if (!len)
            return (long)i;
        i += len;
    }
    return -1;
}

static int parse_header(struct parser *ps, const char *s, size_t n)
{
    /* s points after '#'; gProfiler writes "# " + JSON. */
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    if (n > INT_MAX)
        return gp_err_set(ps->err, -E2BIG, "header: %zu bytes is too large", n);
    if (n == 0)
        return gp_err_set(ps->err, -EINVAL,
                          "header: not valid JSON: empty; expected '# {…}' on the first line");
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return gp_err_set(ps->err, -ENOMEM, "header: out of memory");
    json_object *h = json_tokener_parse_ex(tok, s, (int)n);
    enum json_tokener_error je = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    if (!h && je == json_tokener_continue) {
        /* A bare literal ("null", "12") needs a terminator: feed the end of the string. */
        h = json_tokener_parse_ex(tok, "", 1);
        je = json_tokener_get_error(tok);
        if (h || je == json_tokener_success)
            end = n;
        else
            je = json_tokener_continue; /* reported as "unexpected end of line" */
    }
    json_tokener_free(tok);
    if (!h && je == json_tokener_success)
        return gp_err_set(ps->err, -EINVAL, "header: not valid JSON: expected an object, got null");
    if (!h || je != json_tokener_success) {
        if (h)
            json_object_put(h);
        const char *why = je == json_tokener_continue ? "unexpected end of line"
                                                      : json_tokener_error_desc(je);
        return gp_err_set(ps->err, -EINVAL, "header: not valid JSON: %s (at byte %zu)", why, end);
    }
    while (end < n && (s[end] == ' ' || s[end] == '\t'))
        end++;
    if (end != n) {
        json_object_put(h);
        return gp_err_set(ps->err, -EINVAL, "header: not valid JSON: trailing data at byte %zu",
                          end);
    }
    if (!json_object_is_type(h, json_type_object)) {
        const char *type = json_type_to_name(json_object_get_type(h));
        json_object_put(h);
        return gp_err_set(ps->err, -EINVAL, "header: not valid JSON: expected an object, got %s",
                          type);
    }
    if (ps->p)
        gp_profile_set_header(ps->p, h);
    else
        json_object_put(h);
    ps->st.had_header = 1;
    return 0;
}

static int parse_u64(const char *s, size_t n, uint64_t *v)
{
    if (n == 0 || n > 20)
        return -1;
    uint64_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (r > (UINT64_MAX - d) / 10)
            return -1;
        r = r * 10 + d;
    }
    *v = r;
    return 0;
}

static int is_digits(const char *s, size_t n)
{
    if (n == 0 || n > 10)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

static int push_id(struct parser *ps, uint32_t *n, uint32_t id)
{
    if (*n == ps->ids_cap) {
        uint32_t cap = ps->ids_cap ? ps->ids_cap * 2 : 64;
        uint32_t *ids = realloc(ps->ids, cap * sizeof(*ids));
        if (!ids)
            return gp_err_set(ps->err, -ENOMEM, "line %zu: out of memory", ps->lineno);
        ps->ids = ids;
        ps->ids_cap = cap;
    }
    if (id == GP_NO_ID)
        return gp_err_set(ps->err, -ENOMEM, "line %zu: out of memory", ps->lineno);
    ps->ids[(*n)++] = id;
    return 0;
}

/* Validation only: counts the ';'-separated frames of s (n bytes) 8 bytes at a time. Returns 1
 * with *count when none is empty, 0 when one is (the caller's frame loop then names it). */
static int count_frames(const char *s, size_t n, size_t *count)
{
    const uint64_t ones = 0x0101010101010101ULL, low7 = 0x7f7f7f7f7f7f7f7fULL;
    const uint64_t semis = (uint64_t)';' * ones;
    if (n == 0 || s[0] == ';' || s[n - 1] == ';')
        return 0;
    size_t c = 0, i = 0;
    uint64_t prev = 0; /* bit 7 set when the byte before the current word is ';' */
#ifdef __SSE2__
    const __m128i semi = _mm_set1_epi8(';'), zero = _mm_setzero_si128();
    __m128i acc = zero; /* per-lane counts of ';' (each lane < 256: folded every 255 blocks) */
    unsigned prev16 = 0, blocks = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i e = _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(s + i)), semi);
        unsigned m = (unsigned)_mm_movemask_epi8(e);
        if (m & ((m << 1) | prev16))
            return 0; /* ";;": an empty frame */
        prev16 = m >> 15;
        acc = _mm_sub_epi8(acc, e);
        if (++blocks == 255 || i + 32 > n) {
            __m128i sum = _mm_sad_epu8(acc, zero);
            c += (size_t)_mm_cvtsi128_si32(sum) + (size_t)_mm_extract_epi16(sum, 4);
            acc = zero;
            blocks = 0;
        }
    }
    prev = prev16 ? 0x80 : 0;
#endif
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        x = le64toh(x);
        uint64_t t = x ^ semis;
        uint64_t m = ~(((t & low7) + low7) | t | low7); /* bit 7 of each byte that is ';' */
        if (m & ((m << 8) | prev))
            return 0; /* ";;": an empty frame */
        prev = (m >> 56) & 0x80;
        c += (size_t)(((m >> 7) * ones) >> 56); /* how many bytes flagged (at most 8) */
    }
    for (; i < n; i++) {
        if (s[i] != ';') {
            prev = 0;
            continue;
        }
        if (prev)
            return 0;
        prev = 1;
        c++;
    }
    *count = c + 1;
    return 1;
}

static int parse_stack_line(struct parser *ps, const char *s, size_t n)
{
    char q[64];
    size_t ln = ps->lineno;
    if (n > ps->o->max_line)
        return gp_err_set(ps->err, -E2BIG, "line %zu: %zu bytes is longer than the limit of %zu",
                          ln, n, ps->o->max_line);
    /* count: after the last space */
    const char *sp = memrchr(s, ' ', n);
    if (!sp)
        return gp_err_set(ps->err, -EINVAL,
                          "line %zu: missing count; expected 'frame;…;frame <count>'", ln);
    const char *cs = sp + 1;
    size_t cn = (size_t)(s + n - cs), sn = (size_t)(sp - s);
    uint64_t count;
    if (parse_u64(cs, cn, &count))
        return gp_err_set(ps->err, -EINVAL, "line %zu: count '%s' is not a positive integer", ln,
                          quote(cs, cn, q));
    if (count == 0) {
        if (ps->o->reject_zero_counts)
            return gp_err_set(ps->err, -EINVAL,
                              "line %zu: count is 0; every stack needs at least one sample", ln);
        ps->st.zero_skipped++;
        return 0;
    }
    long bad = bad_text_at((const unsigned char *)s, sn);
    if (bad >= 0)
        return gp_err_set(
                ps->err, -EINVAL,
                "line %zu: invalid UTF-8 or control character (byte 0x%02x) at column %ld", ln,
                (unsigned char)s[bad], bad + 1);

    if (ps->layout == GP_COLLAPSED_AUTO) {
        const char *a = memchr(s, ';', sn);
        const char *b = a ? memchr(a + 1, ';', (size_t)(s + sn - a - 1)) : NULL;
        ps->layout = (a && b && is_digits(s, (size_t)(a - s))) ? GP_COLLAPSED_V2 : GP_COLLAPSED_V1;
    }

    uint32_t app_idx = 0, container = GP_NO_ID, comm = GP_NO_ID, nf = 0;
    size_t field = 0;
    const char *f = s, *end = s + sn;
    int prefixed = ps->layout == GP_COLLAPSED_V2;
    for (;;) {
        size_t nframes;
        if (!ps->p && field == (prefixed ? 3u : 1u) &&
            count_frames(f, (size_t)(end - f), &nframes)) {
            /* validation: only the number of frames matters once none is empty */
            if (nframes > ps->o->max_frames)
                return gp_err_set(ps->err, -E2BIG, "line %zu: more than %u frames in one stack", ln,
                                  ps->o->max_frames);
            nf = (uint32_t)nframes;
            break;
        }
        const char *semi = memchr(f, ';', (size_t)(end - f));
        const char *fe = semi ? semi : end;
        size_t fl = (size_t)(fe - f);
        if (prefixed && field == 0) {
            uint64_t v;
            if (!semi)
                return gp_err_set(ps->err, -EINVAL,
                                  "line %zu: missing ';' separators; expected "
                                  "'<app_idx>;<container>;<comm>;frame;… <count>'",
                                  ln);
            if (parse_u64(f, fl, &v) || v >= UINT32_MAX)
                return gp_err_set(ps->err, -EINVAL,
                                  "line %zu: application index '%s' is not a non-negative integer",
                                  ln, quote(f, fl, q));
            app_idx = (uint32_t)v;
        } else if (prefixed && field == 1) {
            if (!semi)
                return gp_err_set(ps->err, -EINVAL,
                                  "line %zu: missing ';' separators; expected "
                                  "'<app_idx>;<container>;<comm>;frame;… <count>'",
                                  ln);
            container = intern(ps, f, fl);
        } else if (field == (prefixed ? 2u : 0u)) {
            if (fl == 0)
                return gp_err_set(ps->err, -EINVAL, "line %zu: empty process name (comm)", ln);
            comm = intern(ps, f, fl);
        } else {
            if (fl == 0)
                return gp_err_set(ps->err, -EINVAL, "line %zu: empty frame name at frame %u", ln,
                                  nf + 1);
            if (nf >= ps->o->max_frames)
                return gp_err_set(ps->err, -E2BIG, "line %zu: more than %u frames in one stack", ln,
                                  ps->o->max_frames);
            if (!ps->p) {
                nf++;
            } else {
                int rc = push_id(ps, &nf, intern(ps, f, fl));
                if (rc)
                    return rc;
            }
        }
        field++;
        if (!semi)
            break;
        f = semi + 1;
    }
    if (container == GP_NO_ID)
        container = intern(ps, "", 0);
    if (container == GP_NO_ID || comm == GP_NO_ID)
        return gp_err_set(ps->err, -ENOMEM, "line %zu: out of memory", ln);
    if (ps->st.samples > UINT64_MAX - count)
        return gp_err_set(ps->err, -EINVAL, "line %zu: the sum of counts overflows 64 bits", ln);
    if (!ps->p) {
        /* at most lines distinct stacks; beyond the cap only the real profile can tell */
        if (ps->st.lines + 1 > ps->o->max_stacks) {
            ps->need_full = 1;
            return 1;
        }
        ps->st.samples += count;
        ps->st.lines++;
        return 0;
    }
    if (gp_profile_add_ids(ps->p, app_idx, container, comm, ps->ids, nf, count))
        return gp_err_set(ps->err, -ENOMEM, "line %zu: out of memory", ln);
    if (gp_profile_nstacks(ps->p) > ps->o->max_stacks)
        return gp_err_set(ps->err, -E2BIG, "line %zu: more than %zu distinct stacks", ln,
                          ps->o->max_stacks);
    ps->st.samples += count;
    ps->st.lines++;
    return 0;
}

/* Parses into p, or only validates when p is NULL (returns 1 when that needs a full parse). */
static int parse_text(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                      struct gp_profile *p, struct gp_err *err)
{
    struct gp_collapsed_parse_opts opts = {0};
    if (o)
        opts = *o;
    if (!opts.max_line)
        opts.max_line = GP_COLLAPSED_DEFAULT_MAX_LINE;
    if (!opts.max_frames)
        opts.max_frames = GP_COLLAPSED_DEFAULT_MAX_FRAMES;
    if (!opts.max_total)
        opts.max_total = GP_COLLAPSED_DEFAULT_MAX_TOTAL;
    if (!opts.max_stacks)
        opts.max_stacks = GP_COLLAPSED_DEFAULT_MAX_STACKS;
    if (len > opts.max_total)
        return gp_err_set(err, -E2BIG, "collapsed input is %zu bytes; the limit is %zu", len,
                          opts.max_total);
    if (!text && len)
        return gp_err_set(err, -EINVAL, "collapsed input is NULL");

    struct parser ps = {.o = &opts, .p = p, .err = err, .layout = opts.layout};
    int rc = 0, seen_content = 0;
    size_t pos = 0;
    while (pos < len && !rc) {
        const char *s = text + pos;
        const char *nl = memchr(s, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - s) : len - pos;
        pos += n + (nl ? 1 : 0);
        ps.lineno++;
        while (n && (s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (ps.lineno == 1 && n && s[0] == '#') {
            rc = parse_header(&ps, s + 1, n - 1);
            seen_content = 1;
            continue;
        }
        size_t lead = 0;
        while (lead < n && (s[lead] == ' ' || s[lead] == '\t'))
            lead++;
        if (lead == n)
            continue; /* blank line */
        if (!seen_content && opts.header == GP_COLLAPSED_HEADER_REQUIRED)
            rc = gp_err_set(err, -EINVAL,
                            "line %zu: missing header; the first line must be '# {json}'",
                            ps.lineno);
        else
            rc = parse_stack_line(&ps, s, n);
        seen_content = 1;
    }
    if (!rc && !seen_content && opts.header == GP_COLLAPSED_HEADER_REQUIRED)
        rc = gp_err_set(err, -EINVAL, "line 1: missing header; the input is empty");
    free(ps.ids);
    if (!rc && opts.stats)
        *opts.stats = ps.st;
    return rc;
}

int gp_collapsed_parse_into(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                            struct gp_profile *p, struct gp_err *err)
{
    return parse_text(text, len, o, p, err);
}

int gp_collapsed_validate(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                          struct gp_err *err)
{
    int rc = parse_text(text, len, o, NULL, err);
    if (rc <= 0)
        return rc;
    /* more lines than max_stacks: whether they are distinct decides, so build the profile */
    struct gp_profile *p = NULL;
    rc = gp_collapsed_parse(text, len, o, &p, err);
    gp_profile_free(p);
    return rc;
}

int gp_collapsed_parse(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                       struct gp_profile **out, struct gp_err *err)
{
    *out = NULL;
    struct gp_profile *p = gp_profile_new();
    if (!p)
        return gp_err_set(err, -ENOMEM, "collapsed: out of memory");
    int rc = gp_collapsed_parse_into(text, len, o, p, err);
    if (rc) {
        gp_profile_free(p);
        return rc;
    }
    *out = p;
    return 0;
}
