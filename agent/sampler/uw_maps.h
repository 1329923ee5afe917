/* uw_maps.h — the BPF sampler's side of the unwind registry: a sink that writes tables and
 * per-process mappings into the unwinder's maps (layout in bpf/unwind.h). */
#ifndef GPROF_AGENT_SAMPLER_UW_MAPS_H
#define GPROF_AGENT_SAMPLER_UW_MAPS_H

#include <stdint.h>

#include "agent/unwind/registry.h"
#include "common/err.h"

/* The map fds (owned by the caller) and the capacities they were created with. */
struct gp_uw_maps_fds {
    int keys, rules, pages, tables, procs;
    uint32_t rows_cap;  /* rows: keys holds rows_cap / 32 blocks, rules rows_cap / 16 */
    uint32_t pages_cap; /* page entries: pages holds pages_cap / 16 blocks */
};

struct gp_uw_maps;

/* Capacities for a budget of cap_bytes kernel bytes (rows and page entries, see
 * gp_uw_kernel_bytes). */
void gp_uw_maps_size(uint64_t cap_bytes, uint32_t *rows_cap, uint32_t *pages_cap);
/* Maps the arrays; fills *sink with callbacks on the returned object. */
int gp_uw_maps_open(const struct gp_uw_maps_fds *fds, struct gp_uw_maps **out,
                    struct gp_uw_sink *sink, struct gp_err *err);
void gp_uw_maps_close(struct gp_uw_maps *m);

#endif
