/* outfmt.h — the output formats gprofctl writes with -o FILE: which one a file name's extension
 * names, and the list of known extensions for the error when it names none. */
#ifndef GPROF_CLI_OUTFMT_H
#define GPROF_CLI_OUTFMT_H

#include <stdbool.h>

enum gpctl_fmt {
    GPCTL_FMT_NONE,
    GPCTL_FMT_COLLAPSED,
    GPCTL_FMT_HTML,
    GPCTL_FMT_PPROF,
    GPCTL_FMT_JSON
};

/* The format PATH's extension names (case-sensitive), or GPCTL_FMT_NONE; .json only when
 * with_json (flamegraph writes the flame tree JSON, record does not). */
enum gpctl_fmt gpctl_format_from_path(const char *path, bool with_json);

/* "x, y or z": the extensions gpctl_format_from_path knows, for an error message. */
const char *gpctl_format_extensions(bool with_json);

#endif
