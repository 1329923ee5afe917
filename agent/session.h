/* session.h — one profiling session: a sampler drained about once a second into a symbolizer and
 * an aggregated profile with its gProfiler header. Used by `gprofctl record` and the agent's slots.
 */
#ifndef GPROF_AGENT_SESSION_H
#define GPROF_AGENT_SESSION_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

#include "agent/header.h"
#include "agent/sampler/sampler.h"
#include "agent/symbols/symbolizer.h"
#include "common/err.h"
#include "common/profile.h"

struct gp_session_opts {
    struct gp_sampler_opts sampler; /* kind, event, frequency, pids (none = whole host) */
    int auto_fallback;              /* fall back to the perf sampler when BPF cannot load */
    double duration_s;              /* 0 = until stopped or every target pid has exited */
    unsigned drain_interval_ms;     /* 0 = 1000 */
    const char *hostname;           /* NULL = gethostname() */
    const char *const *debug_dirs;  /* extra debug-file directories (NULL = defaults) */
    size_t ndebug_dirs;
    size_t symbol_cache_bytes; /* ELF symbol cache budget (0 = the symbolizer's default) */
    size_t unwind_tables_max;  /* kernel bytes for unwind tables (0 = the default) */
    int no_unwind_tables;      /* frame pointers only (no .eh_frame tables) */
    /* The agent's unwind registry, shared by its sessions (gp_uw_registry_ref): a table is built
     * once for the continuous and the ad hoc profile. NULL: the session builds its own. */
    struct gp_uw_registry *shared_uw;
    int unwind_lazy; /* host-wide with the BPF sampler: 0 = lazy tables (the binaries samples land
                        in), < 0 = every mapped binary's table when its process is noted */
    int unwind_running_first;      /* host-wide (gprofctl record): the start-up scan notes only the
                                      processes with a thread on CPU (state R); a process asleep then
                                      is noted at its first sample, lazily (BPF sampler: exe + libc,
                                      the rest on a miss); one started after the session eagerly */
    const char *run_mode;          /* recorded in the header: "record", "continuous", "adhoc" */
    int keep_running;              /* continuous: run() is called again for the next session;
                                      samples after the last drain go to the next one */
    void (*started_cb)(void *ctx); /* called once sampling runs (e.g. to let a command exec) */
    void *started_ctx;
};

/* What a session did, for progress lines and the final summary. */
struct gp_session_progress {
    double elapsed_s, duration_s;
    uint64_t samples; /* samples aggregated so far */
    uint64_t dropped; /* samples or stacks lost (stack-map errors, full maps, ring loss) */
    uint64_t frames, frames_unresolved;
    unsigned targets_alive; /* targeted pids still running (0 when profiling the whole host) */
    double finish_s;        /* after sampling ended: the final drain and symbolization */
};

typedef void (*gp_session_progress_cb)(const struct gp_session_progress *p, void *ctx);

struct gp_session;

/* The session's cumulative sampler stats and frame counts (for agent/counters.h). */
struct gp_counter_snap;
void gp_session_snapshot(const struct gp_session *s, struct gp_counter_snap *out);

/* Opens the sampler (BPF, or perf with a notice when auto_fallback allows) and the symbolizer.
 * notice receives a one-line message when the fallback was taken ("" otherwise). */
int gp_session_open(const struct gp_session_opts *o, struct gp_session **out, char *notice,
                    size_t notice_len, struct gp_err *err);
/* Starts sampling and runs until the duration ends, *stop becomes non-zero, or every targeted pid
 * has exited. progress (may be NULL) is called after every drain. */
int gp_session_run(struct gp_session *s, volatile sig_atomic_t *stop, gp_session_progress_cb cb,
                   void *ctx, struct gp_err *err);
/* Adds or removes a target pid while running (ad hoc sessions). */
int gp_session_add_pid(struct gp_session *s, int pid, struct gp_err *err);
int gp_session_remove_pid(struct gp_session *s, int pid);
/* The profile of the last run with its header filled in (the caller owns it); the next run starts
 * a fresh one, so back-to-back runs give contiguous sessions. extra (may be NULL) supplies
 * cpu_avg, mem_avg and service for the header. NULL on out of memory. */
struct gp_profile *gp_session_take_profile(struct gp_session *s,
                                           const struct gp_header_info *extra);
void gp_session_progress(const struct gp_session *s, struct gp_session_progress *out);
/* Pids that exited while being profiled, for the "pid N exited after X s" message. */
size_t gp_session_exited_targets(const struct gp_session *s, int *pids, double *after_s,
                                 size_t max);
enum gp_sampler_kind gp_session_sampler_kind(const struct gp_session *s);
void gp_session_close(struct gp_session *s);

#endif
