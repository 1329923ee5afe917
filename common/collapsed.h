/* collapsed.h — gProfiler's collapsed text format: a "# {json}" header line, then
 * "<app_idx>;<container>;<comm>;frame;…;frame <count>" lines; writer and hardened parser. */
#ifndef GPROF_COMMON_COLLAPSED_H
#define GPROF_COMMON_COLLAPSED_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/profile.h"
#include "common/strbuf.h"

/* ---- writer ---------------------------------------------------------------------------- */

enum {
    GP_COLLAPSED_NO_HEADER = 1 << 0,   /* omit the "# {json}" first line */
    GP_COLLAPSED_NO_PREFIX = 1 << 1,   /* lines are "comm;frame;…;frame count" (v1 / HTML data) */
    GP_COLLAPSED_SORTED = 1 << 2,      /* heaviest stack first instead of insertion order */
    GP_COLLAPSED_TRAILING_NL = 1 << 3, /* end the last line with '\n' (gProfiler does not) */
};

/* Appends the profile to out in gProfiler's layout: "# " + one-line JSON header, then one
 * line per stack, joined by '\n' with no trailing newline. Stacks with a zero count are not
 * written. Names are made safe for the format and for gp_collapsed_parse: ';' becomes '|'
 * (as gProfiler does for Java signatures), control characters other than tab become ' ',
 * bytes that are not UTF-8 become '?', an empty comm or frame becomes "[unknown]".
 * Returns 0 or -ENOMEM. */
int gp_collapsed_write(struct gp_profile *p, struct strbuf *out, struct gp_err *err);
int gp_collapsed_write_ex(struct gp_profile *p, unsigned flags, struct strbuf *out,
                          struct gp_err *err);

/* ---- parser ---------------------------------------------------------------------------- */

enum gp_collapsed_layout {
    GP_COLLAPSED_AUTO = 0, /* v2 when the first stack line starts "<digits>;x;y", else v1 */
    GP_COLLAPSED_V2,       /* "<app_idx>;<container>;<comm>;frames… count" (gProfiler v2 API) */
    GP_COLLAPSED_V1,       /* "<comm>;frames… count" (gProfiler v1 API, FlameGraph folded) */
};

enum gp_collapsed_header {
    GP_COLLAPSED_HEADER_OPTIONAL = 0, /* parsed when the first line starts with '#' */
    GP_COLLAPSED_HEADER_REQUIRED,     /* missing header is an error (agent uploads) */
};

#define GP_COLLAPSED_DEFAULT_MAX_LINE   (1u << 20)   /* 1 MiB per line */
#define GP_COLLAPSED_DEFAULT_MAX_FRAMES 4096u        /* frames per stack (comm excluded) */
#define GP_COLLAPSED_DEFAULT_MAX_TOTAL  (256u << 20) /* 256 MiB of text */
#define GP_COLLAPSED_DEFAULT_MAX_STACKS 4000000u     /* distinct stack lines */

struct gp_collapsed_stats {
    size_t lines;        /* stack lines accepted (blank lines not counted) */
    size_t zero_skipped; /* lines whose count was 0, skipped */
    uint64_t samples;    /* sum of accepted counts */
    int had_header;
};

/* Zero opts (or a NULL pointer) give: header optional, layout auto, default caps, zero
 * counts skipped. Zero counts are skipped by default because they carry no samples and
 * some tools emit them for filtered stacks; reject_zero_counts makes them an error. */
struct gp_collapsed_parse_opts {
    enum gp_collapsed_header header;
    enum gp_collapsed_layout layout;
    size_t max_line;     /* bytes per line, 0 = default */
    uint32_t max_frames; /* frames per stack, 0 = default */
    size_t max_total;    /* bytes of input, 0 = default */
    size_t max_stacks;   /* stack lines, 0 = default */
    int reject_zero_counts;
    struct gp_collapsed_stats *stats; /* optional, filled on success */
};

/* Parses text (len bytes, need not be NUL-terminated) into a new profile. Never crashes on
 * garbage: every malformed input returns -EINVAL with a message naming the line, e.g.
 * "line 12: count 'x1' is not a positive integer", "header: not valid JSON: …",
 * "line 3: missing ';' separators …"; caps return -E2BIG. The header (when present) becomes
 * the profile's header object; it must be a JSON object. Lines may end in "\n" or "\r\n";
 * blank lines and a trailing newline are accepted. Frames must be valid UTF-8 without
 * control characters and non-empty (the container may be empty). */
int gp_collapsed_parse(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                       struct gp_profile **out, struct gp_err *err);

/* Checks text exactly as gp_collapsed_parse would, with the same return codes, messages and
 * stats, without building a profile: for callers that only need to accept or reject (upload
 * validation). Several times faster and allocation-free except for the header's JSON. Only
 * input with more stack lines than max_stacks falls back to a full parse, since the cap counts
 * distinct stacks. */
int gp_collapsed_validate(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                          struct gp_err *err);

/* Same, adding the stacks into an existing profile (merging several uploads). The header,
 * when present, replaces p's header. On error p holds the lines before the bad one. */
int gp_collapsed_parse_into(const char *text, size_t len, const struct gp_collapsed_parse_opts *o,
                            struct gp_profile *p, struct gp_err *err);

#endif
