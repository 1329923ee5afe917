/* flametree.h — Performance Studio's flame graph tree JSON ({"name","value","children"},
 * children sorted by name) built from a gp_profile, with truncation and a before/after diff. */
#ifndef GPROF_COMMON_FLAMETREE_H
#define GPROF_COMMON_FLAMETREE_H

#include <stddef.h>

#include "common/err.h"
#include "common/profile.h"
#include "common/strbuf.h"

enum {
    GP_FLAMETREE_CONTAINER = 1 << 0, /* a container level above comm (stacks without one skip it) */
    GP_FLAMETREE_NO_COMM = 1 << 1,   /* no process-name level: frames start under root */
};

struct gp_flametree_opts {
    unsigned flags; /* GP_FLAMETREE_*; 0 = root → comm → frames (app index, container skipped) */
    size_t max_nodes;  /* keep only the heaviest N nodes below root; 0 = all. Values stay exact:
                          a kept node's value still counts the samples of its dropped children,
                          so root.value is always the profile total. */
    size_t max_stacks; /* only the heaviest N stacks (of each side of a diff) create nodes; the
                          others add their samples along the part of their path that exists,
                          so values stay exact and root.value is the total. 0 = all. */
};

/* Appends {"name":"root","value":N,"children":[{"name":…,"value":…,"children":[…]},…]}.
 * Every node has "children" (an empty array for leaves); names are bytewise sorted. o may be
 * NULL. Returns 0 or -ENOMEM. */
int gp_flametree_json(struct gp_profile *p, const struct gp_flametree_opts *o, struct strbuf *out,
                      struct gp_err *err);

/* The union of both profiles' trees; each node carries "before" and "after" sample counts and
 * "value" = after (so a frame that disappeared has value 0 and before > 0). Truncation ranks
 * nodes by max(before, after). Root: {"name":"root","value":A,"before":B,"after":A,…}. */
int gp_flametree_diff_json(struct gp_profile *before, struct gp_profile *after,
                           const struct gp_flametree_opts *o, struct strbuf *out,
                           struct gp_err *err);

#endif
