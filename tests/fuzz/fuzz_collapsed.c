/* fuzz_collapsed.c — the collapsed-stack parser on arbitrary bytes (it parses untrusted uploads):
 * must never crash, leak or hang; accepted input must survive a write/parse round trip, and
 * gp_collapsed_validate must agree with the parser (same code, message and stats). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/collapsed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Any names at all, written by the writer, must parse back: the bytes after the first are
 * cut at '\n' into frame names (arbitrary bytes, ';', control characters, broken UTF-8). */
static void writer_round_trip(const uint8_t *data, size_t size)
{
    struct gp_profile *p = gp_profile_new();
    const char *names[64];
    char *copy = strndup((const char *)data, size);
    if (!p || !copy)
        abort();
    uint32_t n = 0;
    for (char *tok = copy, *next; tok && n < 64; tok = next) {
        next = strchr(tok, '\n');
        if (next)
            *next++ = '\0';
        names[n++] = tok;
    }
    const char *comm = n ? names[0] : ""; /* empty names are written as "[unknown]" */
    if (gp_profile_add(p, size & 7, n > 1 ? names[1] : "", comm, n > 2 ? names + 2 : NULL,
                       n > 2 ? n - 2 : 0, 1 + (size & 3)))
        abort();
    struct strbuf sb = STRBUF_INIT;
    struct gp_err err = {0};
    struct gp_profile *q = NULL;
    if (gp_collapsed_write(p, &sb, &err))
        abort();
    if (gp_collapsed_parse(sb.buf, sb.len, NULL, &q, &err) ||
        gp_profile_total(q) != gp_profile_total(p))
        abort();
    gp_profile_free(q);
    sb_free(&sb);
    free(copy);
    gp_profile_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size && (data[0] & 0xc0) == 0xc0) {
        writer_round_trip(data + 1, size - 1);
        return 0;
    }
    /* The first byte picks the options, so every layout/header mode is explored. */
    struct gp_collapsed_parse_opts o = {0};
    if (size) {
        o.layout = (enum gp_collapsed_layout)(data[0] % 3);
        o.header = (data[0] >> 2) & 1 ? GP_COLLAPSED_HEADER_REQUIRED : GP_COLLAPSED_HEADER_OPTIONAL;
        o.reject_zero_counts = (data[0] >> 3) & 1;
        o.max_frames = (data[0] >> 4) & 1 ? 8 : 0;
        o.max_line = (data[0] >> 5) & 1 ? 64 : 0;
        o.max_stacks = size > 1 && (data[1] & 3) == 3 ? 2 : 0; /* validate's fallback */
    }
    struct gp_profile *p = NULL;
    struct gp_err err = {0}, verr = {0};
    struct gp_collapsed_stats st = {0}, vst = {0};
    const char *text = (const char *)data + (size ? 1 : 0);
    size_t len = size ? size - 1 : 0;
    o.stats = &st;
    int rc = gp_collapsed_parse(text, len, &o, &p, &err);
    o.stats = &vst;
    int vrc = gp_collapsed_validate(text, len, &o, &verr);
    if (vrc != rc || strcmp(verr.msg, err.msg) != 0 || memcmp(&st, &vst, sizeof(st)) != 0)
        abort(); /* validate-only must decide and explain exactly like the parser */
    if (rc) {
        if (p || err.msg[0] == '\0')
            abort(); /* a failure must explain itself and leave no profile */
        return 0;
    }
    /* Round trip: what we write, we parse back to the same totals. */
    struct strbuf sb = STRBUF_INIT;
    if (gp_collapsed_write(p, &sb, &err) == 0) {
        struct gp_profile *q = NULL;
        struct gp_collapsed_parse_opts o2 = {.header = GP_COLLAPSED_HEADER_REQUIRED,
                                             .layout = GP_COLLAPSED_V2,
                                             .max_frames = UINT32_MAX - 1,
                                             .max_line = (size_t)-1 >> 1};
        if (gp_collapsed_parse(sb.buf, sb.len, &o2, &q, &err) != 0)
            abort();
        if (gp_profile_total(q) != gp_profile_total(p) ||
            gp_profile_nstacks(q) != gp_profile_nstacks(p))
            abort();
        gp_profile_free(q);
    }
    sb_free(&sb);
    gp_profile_free(p);
    return 0;
}
