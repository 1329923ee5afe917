/* command.h — the pure control-plane rules: validating profiling requests, building, merging
 * and stopping per-host command configs, status machines and fleet limits. No I/O, no clock. */
#ifndef GPROF_COORD_CONTROL_COMMAND_H
#define GPROF_COORD_CONTROL_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "coordinator/control/args.h"

enum cp_type { CP_START = 0, CP_STOP = 1 };
enum cp_stop_level { CP_STOP_NONE = 0, CP_STOP_PROCESS = 1, CP_STOP_HOST = 2 };

#define CP_MAX_PIDS  4096
#define CP_MAX_HOSTS 100000

/* One host's command configuration (what goes to the agent as combined_config). */
struct cp_config {
    enum cp_type type;
    bool continuous;
    int duration;  /* seconds, > 0 */
    int frequency; /* Hz, > 0 */
    char mode[16]; /* cpu | allocation | none */
    int32_t *pids; /* sorted, unique; npids == 0 means "every process" */
    size_t npids;
    enum cp_stop_level stop_level;
    struct cp_args *extra; /* additional_args (owned, may be NULL), merged flat */
};

struct cp_target {
    char *hostname;
    int32_t *pids; /* sorted unique; NULL/0 when the request named none for that host */
    size_t npids;
};

/* A validated POST /api/metrics/profile_request body. */
struct cp_request {
    char *service_name;
    enum cp_type type;
    bool continuous;
    int duration, frequency;
    char mode[16];
    enum cp_stop_level stop_level; /* for stop requests: PROCESS (default) or HOST */
    struct cp_target *targets;     /* empty: every active host of the service (start only) */
    size_t ntargets;
    struct cp_args *additional_args; /* owned, may be NULL */
    bool dry_run;
};

void cp_config_init(struct cp_config *c);
void cp_config_free(struct cp_config *c);
int cp_config_copy(struct cp_config *dst, const struct cp_config *src);
void cp_request_free(struct cp_request *r);

/* Checks a request's fields together (the api layer has read and bounded each one): the
 * agent's limits on duration and frequency, and what each stop level needs. */
int cp_request_check(const struct cp_request *r, struct gp_err *err);
/* Sorts and deduplicates a pid set in place; the new count. */
size_t cp_pids_normalize(int32_t *v, size_t n);
/* A hostname a request may name: the shared identifier rule (common/ident.h), and no space or
 * path separator; false with why set otherwise. */
bool cp_hostname_ok(const char *h, size_t len, char *why, size_t whysz);
/* "host", "process" or NULL (CP_STOP_NONE). */
const char *cp_stop_level_name(enum cp_stop_level l);

/* The start config a request asks for on one target (pids from that target). */
int cp_config_for_target(const struct cp_request *r, const struct cp_target *t,
                         struct cp_config *out, struct gp_err *err);

/* Merges a new start into the host's unfinished start: union of pids (empty = all processes
 * wins), max duration and frequency, OR of continuous, latest mode, additional_args merged
 * (incoming keys win). Both must be CP_START. */
int cp_merge(const struct cp_config *current, const struct cp_config *incoming,
             struct cp_config *out, struct gp_err *err);

/* Process-level stop of stop_pids against the host's current command (may be NULL):
 * a start with pids loses them (host-level stop when none remain); otherwise a stop command
 * naming the pids. */
int cp_process_stop(const struct cp_config *current, const int32_t *stop_pids, size_t n,
                    struct cp_config *out, struct gp_err *err);
/* A host-level stop: ends every session on the host. */
void cp_host_stop(struct cp_config *out);

/* Sorted-unique helpers on pid sets. */
int cp_pids_union(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t **out,
                  size_t *nout);
int cp_pids_minus(const int32_t *a, size_t na, const int32_t *b, size_t nb, int32_t **out,
                  size_t *nout);

/* Status machines. */
enum cp_cmd_status { CMD_PENDING = 0, CMD_SENT, CMD_COMPLETED, CMD_FAILED, CMD_NSTATUS };
enum cp_req_status { REQ_PENDING = 0, REQ_ASSIGNED, REQ_COMPLETED, REQ_FAILED, REQ_CANCELLED };

const char *cp_cmd_status_name(enum cp_cmd_status s);
int cp_cmd_status_parse(const char *s, enum cp_cmd_status *out);
const char *cp_req_status_name(enum cp_req_status s);
int cp_req_status_parse(const char *s, enum cp_req_status *out);
/* Legal command transitions: pending->sent, sent->completed|failed, and same-state repeats. */
bool cp_cmd_transition_ok(enum cp_cmd_status from, enum cp_cmd_status to);
/* A request's status from its executions (one per command and host): cancelled when every
 * one was superseded; else, ignoring cancelled ones: all pending -> pending; any delivered or
 * partly done -> assigned; all done -> failed if any failed, else completed. n == 0 -> pending. */
enum cp_req_status cp_request_rollup(const enum cp_req_status *exec, size_t n);

/* "active" or "offline" (no heartbeat for 3 intervals). Times in seconds. */
const char *cp_host_liveness(int64_t last_heartbeat, int64_t now, int64_t interval);

/* Fleet limits for a request that would profile `request_hosts` hosts of which
 * `already_in_selection` already profile: at most max_hosts per request, and the hosts
 * profiling at once (busy_outside + request_hosts) at most max_share_pct % of active ones
 * (at least 1). 0 = ok, -E2BIG with a message otherwise. */
int cp_check_limits(size_t request_hosts, size_t max_hosts, size_t busy_outside,
                    size_t active_hosts, unsigned max_share_pct, struct gp_err *err);

#endif
