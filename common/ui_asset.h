/* ui_asset.h — files of ui-static/ embedded at build time (ui-static/embed.cmake): the table
 * type, lookup by name and MIME types. common/ embeds only the viewer; the coordinator the app. */
#ifndef GPROF_COMMON_UI_ASSET_H
#define GPROF_COMMON_UI_ASSET_H

#include <stddef.h>

/* One embedded file (data is NUL-terminated too). */
struct gp_ui_asset {
    const char *name; /* path below ui-static/, e.g. "flamegraph.js" */
    const unsigned char *data;
    size_t len;
};

/* The flame graph viewer inlined by common/html.c, in inlining order (CSS, then JS modules,
 * dependencies first), terminated by an entry whose name is NULL. */
extern const struct gp_ui_asset gp_viewer_assets[];

/* Finds an embedded file by name in a NULL-terminated table; NULL when there is none. */
const struct gp_ui_asset *gp_ui_asset_find(const struct gp_ui_asset *table, const char *name);
/* Content-Type for a file name by extension ("text/javascript; charset=utf-8", …). */
const char *gp_ui_mime(const char *name);

#endif
