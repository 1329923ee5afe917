/* html.h — the self-contained HTML flame graph (viewer JS/CSS from ui-static/ inlined, data as
 * JSON) and access to the viewer files embedded at build time, which the coordinator serves. */
#ifndef GPROF_COMMON_HTML_H
#define GPROF_COMMON_HTML_H

#include <stddef.h>

#include "common/err.h"
#include "common/profile.h"
#include "common/strbuf.h"

/* One file of ui-static/, embedded by ui-static/embed.cmake (data is NUL-terminated too). */
struct gp_ui_asset {
    const char *name; /* path under ui-static/, e.g. "flamegraph/model.js" */
    const unsigned char *data;
    size_t len;
};

/* All embedded files, terminated by an entry whose name is NULL. */
extern const struct gp_ui_asset gp_ui_assets[];

/* Finds an embedded file by name ("viewer.html"); NULL when there is none. */
const struct gp_ui_asset *gp_ui_asset_find(const char *name);
/* Content-Type for a file name by extension ("text/javascript; charset=utf-8", …). */
const char *gp_ui_mime(const char *name);

/* Appends one self-contained HTML page (no network access, strict CSP) showing p as a flame
 * graph: the viewer's CSS and JS inlined, the stacks as collapsed text "comm;frame;…;frame
 * count" (app index and container omitted, as gProfiler's HTML does) plus a metadata object
 * (title, hostname, times, frequency, sampler, totals — never the whole header, which may hold
 * tokens) in <script type="application/json">. title may be NULL ("gprof flame graph"). */
int gp_html_write(struct gp_profile *p, const char *title, struct strbuf *out, struct gp_err *err);

/* Same page for a Performance Studio tree ({"name","value","children"}) given as JSON text;
 * meta_json is a JSON object text or NULL. Used by the coordinator's format=html exports. */
int gp_html_write_tree(const char *tree_json, size_t len, const char *meta_json, const char *title,
                       struct strbuf *out, struct gp_err *err);

#endif
