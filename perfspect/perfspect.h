/* perfspect.h — the public API of PerfSpect-style counter sessions: open (pids or system-wide),
 * run beside a profiling session in another thread, stop, and read the report (table/JSON/HTML). */
#ifndef GPROF_PERFSPECT_PERFSPECT_H
#define GPROF_PERFSPECT_PERFSPECT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/strbuf.h"

struct ps_session;
struct ps_report;

/* Called from the thread inside ps_session_run() after every interval was added to the report
 * (idx is the interval's index, ps_report_ninterval(r) - 1). Must not free r. */
typedef void (*ps_interval_cb)(const struct ps_report *r, size_t idx, void *ctx);

struct ps_options {
    const pid_t *pids; /* processes to count (all their threads, and children born later
                          through inherit); npids == 0 means system-wide, per CPU */
    size_t npids;
    unsigned interval_ms;   /* 0 = 1000 */
    double duration_s;      /* 0 = until ps_session_stop() (or every target pid exited) */
    int no_hardware;        /* 1 = only software counters, do not try the PMU */
    const char *sysfs_root; /* NULL = "/sys"; tests point it at a recorded tree */
    ps_interval_cb on_interval;
    void *cb_ctx;
    /* Internal seam for `gprofctl stat -- cmd`: a child stopped before exec. When set, counters
     * are opened with enable_on_exec on pids[0] and ps_session_start() does not enable them. */
    int enable_on_exec;
};

/* Opens the counters (nothing is counted before ps_session_start). Fails only when not even the
 * software counters can be opened (no such pid, permission); missing hardware counters are
 * recorded in the report, not an error. */
int ps_session_open(const struct ps_options *o, struct ps_session **out, struct gp_err *err);
/* Enables the counters and takes the first reading. */
int ps_session_start(struct ps_session *s, struct gp_err *err);
/* Blocks, adding one interval every interval_ms until the duration elapsed, ps_session_stop()
 * was called or every target pid exited; then takes a last (partial) interval. Run it in the
 * thread of your choice; returns 0 or a negative errno with err filled. */
int ps_session_run(struct ps_session *s, struct gp_err *err);
/* Convenience for running beside a profiling session: ps_session_start + ps_session_run in a new
 * thread; ps_session_join stops it (when stop is 1), waits, and returns the thread's result
 * (0 or negative errno; err filled). Call join exactly once after a successful spawn. */
int ps_session_spawn(struct ps_session *s, struct gp_err *err);
int ps_session_join(struct ps_session *s, int stop, struct gp_err *err);
/* Asks ps_session_run() to finish (thread-safe, async-signal-safe). */
void ps_session_stop(struct ps_session *s);
/* The report (owned by the session; valid until ps_session_free or take). While ps_session_run
 * runs in another thread, read it only from the on_interval callback, or after it returned. */
const struct ps_report *ps_session_report(const struct ps_session *s);
/* Moves the report out of the session; the caller frees it with ps_report_free. */
struct ps_report *ps_session_take_report(struct ps_session *s);
/* Closes every counter. NULL-safe. */
void ps_session_free(struct ps_session *s);

/* Replays a recorded fixture (tests/perfspect/README.md describes the format) through the same
 * code as a live session. */
int ps_replay_buffer(const char *data, size_t len, struct ps_report **out, struct gp_err *err);
int ps_replay_file(const char *path, struct ps_report **out, struct gp_err *err);

void ps_report_free(struct ps_report *r);

/* --- reading the report --- */

/* Summary of one derived metric over the session. value is the whole-session figure (ratios of
 * totals, or the mean for gauges); mean/p95/min/max are over the intervals where it existed. */
struct ps_stat {
    double value;
    int has_value;
    double mean, p95, min, max;
    size_t n; /* intervals in which the metric had a value; 0 = absent */
};

/* Metric keys are the JSON names ("ipc", "cpi", "cs_per_s", "tma_retiring_pct", …; see
 * ps_metric_names()). Return 0, or -ENOENT when the metric is absent (never a made-up 0). */
int ps_report_metric(const struct ps_report *r, const char *key, struct ps_stat *out);
int ps_report_interval_metric(const struct ps_report *r, size_t idx, const char *key, double *v);
/* Whole-session count of an event by its perf name ("context-switches", "minor-faults",
 * "cycles"…), multiplexing-scaled. -ENOENT when not counted. running_pct may be NULL. */
int ps_report_event_total(const struct ps_report *r, const char *event, double *count,
                          double *running_pct);
size_t ps_report_ninterval(const struct ps_report *r);
/* 1 when at least one hardware counter was counted. */
int ps_report_hw_available(const struct ps_report *r);
/* "hardware counters not available on this host: <reason>", or NULL when they are. */
const char *ps_report_hw_line(const struct ps_report *r);
/* Refused events: number, and name/reason of the i-th. */
size_t ps_report_nrefused(const struct ps_report *r);
const char *ps_report_refused(const struct ps_report *r, size_t i, const char **reason);
/* NULL-terminated list of metric keys. */
const char *const *ps_metric_names(void);

/* --- output --- */

/* perf-stat-like table: events, derived metrics (value, mean, p95) with one line on meaning. */
int ps_report_print_table(const struct ps_report *r, FILE *f);
/* One interval as `perf stat -I` lines (time, value, name). */
int ps_report_print_interval(const struct ps_report *r, size_t idx, FILE *f);
/* {"target", "hardware", "events", "summary", "intervals"}; absent values are null. */
int ps_report_json(const struct ps_report *r, json_object **out, struct gp_err *err);
/* A self-contained HTML page (inline SVG charts, no script, no network). */
int ps_report_html(const struct ps_report *r, struct strbuf *out, struct gp_err *err);
/* Adds gProfiler's header fields to a profile header (gp_profile_header()):
 * "hwmetrics": {display name: "value"} with only measured metrics, and
 * "htmlblob": base64(gzip(ps_report_html)). */
int ps_header_fields(const struct ps_report *r, json_object *header, struct gp_err *err);

#endif
