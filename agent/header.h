/* header.h — the gProfiler-compatible `# {json}` header of a profile: host facts, run arguments
 * (never a token), sampling settings, and gprof's own counters (samples, drops, symbolization). */
#ifndef GPROF_AGENT_HEADER_H
#define GPROF_AGENT_HEADER_H

#include <time.h>

#include "agent/sampler/sampler.h"
#include "agent/symbols/symbolizer.h"
#include "agent/unwind/registry.h"
#include "common/profile.h"

struct gp_header_info {
    const char *hostname;
    const char *run_mode; /* "record", "continuous", "adhoc" */
    const char *sampler;  /* "bpf" | "perf" */
    const char *event;    /* "cpu-clock" | "cycles" */
    const char *service;  /* NULL outside the agent */
    unsigned freq_hz;
    time_t start, end;
    double duration_s;
    uint64_t samples;
    struct gp_sampler_stats sampler_stats;
    struct gp_symbolizer_stats symbol_stats;
    double cpu_avg, mem_avg;                   /* host-wide percentages; < 0 = unknown (null) */
    const struct gp_uw_registry_stats *unwind; /* unwind tables, or NULL (no gprof.unwind) */
};

/* Writes UTC time as gProfiler does: "YYYY-MM-DDTHH:MM:SS" (no zone). */
void gp_format_utc(time_t t, char *buf, size_t len);
/* Fills the profile's header object. Returns 0 or -ENOMEM. */
int gp_header_fill(struct gp_profile *p, const struct gp_header_info *hi);

#endif
