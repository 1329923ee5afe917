/* results.h — the agent's local results: every session kept in STATE_DIR/results as .col and
 * .html (newest linked as last_profile.col / last_flamegraph.html), oldest removed past a bound. */
#ifndef GPROF_AGENT_RESULTS_H
#define GPROF_AGENT_RESULTS_H

#include <stddef.h>
#include <time.h>

#include "common/err.h"
#include "common/profile.h"
#include "common/strbuf.h"

struct gp_results {
    char dir[4096];
    unsigned keep; /* sessions kept */
};

struct gp_result_paths {
    char col[4200], html[4200];
    char id[40]; /* upload id: a UUID, the same for every retry of this session */
    time_t start, end;
};

/* Creates STATE_DIR/results (0750) when needed. */
int gp_results_open(struct gp_results *r, const char *state_dir, unsigned keep, struct gp_err *err);
/* Names the session's files, profile_<end UTC>.col and .html, and its upload id (out), and
 * renders its collapsed text as uploaded (col, no trailing newline) and its HTML flame graph
 * (html); writes nothing, so the caller can spool the upload before keeping the local copy. */
int gp_results_render(struct gp_results *r, struct gp_profile *p, struct strbuf *col,
                      struct strbuf *html, struct gp_result_paths *out, struct gp_err *err);
/* Writes what gp_results_render made (atomically), updates the last_* links, removes the
 * oldest beyond `keep`. */
int gp_results_keep(struct gp_results *r, const struct gp_result_paths *out, struct strbuf *col,
                    const struct strbuf *html, struct gp_err *err);
void gp_results_close(struct gp_results *r);

#endif
