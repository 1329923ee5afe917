/* slots.h — the two profiler slots of the agent, each a thread with its own session (and so its
 * own sampler): ContinuousProfilerSlot (back-to-back sessions, each kept and spooled) and
 * AdhocProfilerSlot (one targeted session per command); they run side by side. */
#ifndef GPROF_AGENT_SLOTS_H
#define GPROF_AGENT_SLOTS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <time.h>

#include "agent/commands/command.h"
#include "agent/results.h"
#include "agent/sampler/sampler.h"
#include "agent/sender.h"
#include "agent/spool.h"
#include "common/err.h"

/* How an ad hoc session ended, for completion reports and gprofctl. */
struct gp_slot_result {
    char command_id[GP_CMD_ID_MAX];
    int local;
    int ok;                /* 1 completed, 0 failed */
    double execution_time; /* seconds */
    char error[4800];
    char html[4200], col[4200]; /* local result files ("" when none) */
    char url[2048];             /* coordinator URL of the result ("" without coordinator) */
    unsigned long long samples;
};

typedef void (*gp_slot_done_cb)(const struct gp_slot_result *r, void *ctx);

struct gp_slot_env {
    const char *hostname, *service;
    const char *coordinator; /* NULL = keep results locally only */
    enum gp_sampler_kind kind;
    int auto_fallback;
    struct gp_spool *spool; /* NULL without a coordinator */
    struct gp_sender *sender;
    struct gp_results *results; /* continuous results */
    struct gp_results *adhoc_results;
    time_t spawn;
    double upload_wait_s;      /* ad hoc: how long to wait for the upload before reporting */
    size_t symbol_cache_bytes; /* per session; 0 = the symbolizer's default */
    size_t unwind_tables_max;  /* kernel bytes of unwind tables; 0 = frame pointers only */
    struct gp_uw_registry *uw; /* the unwind tables shared by the slots' sessions, or NULL */
    gp_slot_done_cb on_done;
    void *ctx;
};

/* ---- continuous ---- */
struct gp_cont_slot;
int gp_cont_open(const struct gp_slot_env *env, struct gp_cont_slot **out, struct gp_err *err);
/* (Re)starts back-to-back sessions; a running one finishes its current session (kept and spooled)
 * first. command_id NULL = from the configuration. Returns after the new thread started. */
int gp_cont_start(struct gp_cont_slot *s, unsigned freq_hz, unsigned duration_s,
                  const char *command_id, struct gp_err *err);
/* Ends the current session (kept and spooled) and joins the thread. */
void gp_cont_stop(struct gp_cont_slot *s);
bool gp_cont_running(struct gp_cont_slot *s);
/* The command that started it ("" = configuration). */
void gp_cont_command(struct gp_cont_slot *s, char *buf, size_t len);
unsigned long gp_cont_sessions(struct gp_cont_slot *s);
/* The sampler the running (or last) session uses: "bpf", "perf", or NULL before the first. */
const char *gp_cont_sampler(struct gp_cont_slot *s);
/* {"slot":"continuous", ...} or NULL when idle. */
json_object *gp_cont_status(struct gp_cont_slot *s);
void gp_cont_close(struct gp_cont_slot *s);

/* ---- ad hoc ---- */
struct gp_adhoc_slot;
int gp_adhoc_open(const struct gp_slot_env *env, struct gp_adhoc_slot **out, struct gp_err *err);
/* Starts one session for the command. -EBUSY while another runs; -ESRCH (err says which) when
 * none of the pids exists. */
int gp_adhoc_start(struct gp_adhoc_slot *s, const struct gp_command *c, struct gp_err *err);
/* A start re-issued for the running session (pids changed by a process-level stop or a merged
 * request): the session adopts the command id and its pid set. -EBUSY when it cannot (idle, or
 * whole-host session). */
int gp_adhoc_adopt(struct gp_adhoc_slot *s, const struct gp_command *c);
/* Process-level stop: removes pids; the session ends when none remain. Returns how many of them
 * the session had. */
int gp_adhoc_remove_pids(struct gp_adhoc_slot *s, const int *pids, size_t n);
/* Host-level stop: the session ends now (its result is still kept and reported). */
void gp_adhoc_stop(struct gp_adhoc_slot *s);
/* Waits for the thread of a finished session (call from the dispatcher). */
void gp_adhoc_reap(struct gp_adhoc_slot *s);
bool gp_adhoc_busy(struct gp_adhoc_slot *s);
/* Progress of the running command (false when idle or another id). */
bool gp_adhoc_progress(struct gp_adhoc_slot *s, const char *command_id, double *elapsed,
                       double *duration, unsigned long long *samples);
json_object *gp_adhoc_status(struct gp_adhoc_slot *s);
void gp_adhoc_close(struct gp_adhoc_slot *s);

/* The coordinator URL of an ad hoc result uploaded with upload_id at start. */
void gp_adhoc_result_url(const char *coordinator, const char *service, const char *hostname,
                         time_t start, const char *upload_id, char *buf, size_t len);

#endif
