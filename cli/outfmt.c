/* outfmt.c — file extensions of gprofctl's output formats (see outfmt.h). */
#include <string.h>

#include "cli/outfmt.h"

static const struct {
    const char *ext;
    enum gpctl_fmt fmt;
} exts[] = {
        {".html", GPCTL_FMT_HTML},        {".htm", GPCTL_FMT_HTML},
        {".col", GPCTL_FMT_COLLAPSED},    {".txt", GPCTL_FMT_COLLAPSED},
        {".folded", GPCTL_FMT_COLLAPSED}, {".collapsed", GPCTL_FMT_COLLAPSED},
        {".pb.gz", GPCTL_FMT_PPROF},      {".pprof", GPCTL_FMT_PPROF},
        {".pb", GPCTL_FMT_PPROF},         {".json", GPCTL_FMT_JSON},
};

enum gpctl_fmt gpctl_format_from_path(const char *path, bool with_json)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        size_t k = strlen(exts[i].ext);
        if (n > k && !strcmp(path + n - k, exts[i].ext) && path[n - k - 1] != '/')
            return exts[i].fmt == GPCTL_FMT_JSON && !with_json ? GPCTL_FMT_NONE : exts[i].fmt;
    }
    return GPCTL_FMT_NONE;
}

const char *gpctl_format_extensions(bool with_json)
{
    return with_json ? ".html/.htm (flame graph), .col/.txt/.folded/.collapsed (collapsed), "
                       ".pb.gz/.pprof/.pb (pprof) or .json (flame tree)"
                     : ".html/.htm (flame graph), .col/.txt/.folded/.collapsed (collapsed) or "
                       ".pb.gz/.pprof/.pb (pprof)";
}
