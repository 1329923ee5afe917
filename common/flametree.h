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
    size_t max_nodes;    /* keep only the heaviest N nodes below root; 0 = all. Values stay exact:
                            a kept node's value still counts the samples of its dropped children,
                            so root.value is always the profile total. */
    size_t max_stacks;   /* only the heaviest N stacks (of each side of a diff) create nodes; the
                            others add their samples along the part of their path that exists,
                            so values stay exact and root.value is the total. 0 = all. */
    double min_fraction; /* drop nodes (with their subtrees) of fewer samples than this share of
                            root's (weight max(before, after) in a diff); 0 = none. A kept node's
                            value still counts its dropped children, so widths stay exact; the
                            compact format then adds "minValue", "prunedNodes" and each kept
                            node's own "self" samples (exact, the dropped children excluded). */
};

/* The smallest value a node keeps under min_fraction f of total (ceil(total * f), at least 1). */
uint64_t gp_flametree_min_value(uint64_t total, double f);

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

/* Frame kinds of the compact format, from a frame's suffix: _[k] kernel; _[p], _[pe] Python;
 * _[j], _[i], _[0], _[1] (Java), _[net], _[rb], _[php], _[nd] managed runtimes ("jit");
 * everything else (and _[pn], Python's native frames) native. */
enum { GP_KIND_NATIVE = 0, GP_KIND_KERNEL = 1, GP_KIND_PYTHON = 2, GP_KIND_JIT = 3 };
int gp_frame_kind(const char *name);

/* The same tree in the compact format (README "Compact flame graph tree"): a names table and
 * per-node arrays in pre-order, children by name, written straight into out:
 * {"format":"gprof-flame-compact","version":1,"total":T,"nodes":N,"diff":false,
 *  "kinds":["native","kernel","python","jit"],"names":["root",…],"nameKind":[0,…],
 *  "depth":[0,…],"name":[0,…],"value":[T,…]}. A diff has "diff":true, "totalBefore" and a
 * "before" array ("value" = after). With min_fraction: "minValue":V,"prunedNodes":K after
 * "nodes", and a "self" array (the after side's in a diff). Returns 0 or -ENOMEM. */
int gp_flametree_compact(struct gp_profile *p, const struct gp_flametree_opts *o,
                         struct strbuf *out, struct gp_err *err);
int gp_flametree_diff_compact(struct gp_profile *before, struct gp_profile *after,
                              const struct gp_flametree_opts *o, struct strbuf *out,
                              struct gp_err *err);

#endif
