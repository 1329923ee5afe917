/* html.h — the self-contained HTML flame graph: the viewer JS/CSS embedded from ui-static/
 * (common/ui_asset.h) inlined, the data as JSON. */
#ifndef GPROF_COMMON_HTML_H
#define GPROF_COMMON_HTML_H

#include <stddef.h>

#include "common/err.h"
#include "common/profile.h"
#include "common/strbuf.h"

/* Appends one self-contained HTML page (no network access, strict CSP) showing p as a flame
 * graph: the viewer's CSS and JS inlined, the tree root → comm → frames (app index and container
 * omitted, as gProfiler's HTML does) in the compact format (flametree.h): as text (data format
 * "compact") up to 1 MiB, gzip'd and base64'd above ("compact-gzip-base64"), plus a metadata object
 * (title, hostname, times, frequency, sampler, totals — never the whole header, which may hold
 * tokens) in <script type="application/json">. title may be NULL ("gprof flame graph"). */
int gp_html_write(struct gp_profile *p, const char *title, struct strbuf *out, struct gp_err *err);

/* Same page for a Performance Studio tree ({"name","value","children"}) given as JSON text;
 * meta_json is a JSON object text or NULL. Used by the coordinator's format=html exports. */
int gp_html_write_tree(const char *tree_json, size_t len, const char *meta_json, const char *title,
                       struct strbuf *out, struct gp_err *err);

#endif
