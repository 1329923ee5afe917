/* plane.h — the control plane service: profiling requests become one current command per
 * (host, service), heartbeats deliver them, completions close them; on top of the meta store.
 * Heartbeats are answered from memory and written behind (flushed about once a second). */
#ifndef GPROF_COORD_CONTROL_PLANE_H
#define GPROF_COORD_CONTROL_PLANE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "coordinator/control/codec.h"
#include "coordinator/control/command.h"
#include "coordinator/store/meta/meta.h"

struct cp_plane_opts {
    int64_t heartbeat_interval;   /* seconds the agents wait between heartbeats (30) */
    size_t max_hosts_per_request; /* 0 = unlimited */
    unsigned max_share_pct; /* hosts of a service profiling at once, % of active; 0/100 = off */
    unsigned flush_ms;      /* heartbeat write-behind period (1000) */
    /* (host, service) pairs kept, in memory and in host_heartbeats; beyond it the least
     * recently seen is forgotten (CP_DEFAULT_MAX_TRACKED_HOSTS when 0) */
    size_t max_tracked_hosts;
    int64_t host_expiry_s;   /* hosts unseen this long are forgotten (7 days when 0; <0 never) */
    unsigned expire_every_s; /* how often the writer thread expires hosts (60 when 0) */
    const struct cp_codec *codec; /* required: how stored texts and answers are encoded */
    /* Several coordinators share the store: a heartbeat re-reads its host's command from the
     * store when the cached one is this many seconds old (a request made through another
     * coordinator reaches the agent). 0 = never: this process is the store's only writer. */
    unsigned command_recheck_s;
};

#define CP_DEFAULT_MAX_TRACKED_HOSTS 100000
#define CP_DEFAULT_HOST_EXPIRY_S     (7 * 86400)

/* Counters for operators and tests. */
struct cp_plane_stats {
    size_t tracked;            /* (host, service) pairs in memory */
    uint64_t evicted;          /* forgotten because max_tracked_hosts was reached */
    uint64_t expired;          /* forgotten from memory because unseen for host_expiry_s */
    uint64_t rows_expired;     /* host_heartbeats rows deleted (age or cap) */
    uint64_t hosts_scan_steps; /* full-scan steps of the last request's active-host lookup */
    uint64_t bulk_interrupted; /* bulk items not submitted because the plane was stopping */
};

struct cp_plane;

int cp_plane_open(struct meta_db *db, const struct cp_plane_opts *o, struct cp_plane **out,
                  struct gp_err *err);
/* Stops the flusher and writes pending heartbeats. */
void cp_plane_close(struct cp_plane *p);
/* Writes pending heartbeats now. */
int cp_plane_flush(struct cp_plane *p, struct gp_err *err);
/* Forgets hosts unseen since now - host_expiry_s, in memory and in the store, and caps the
 * stored rows at max_tracked_hosts (the writer thread runs it every expire_every_s). */
int cp_plane_expire(struct cp_plane *p, int64_t now, struct gp_err *err);
/* Asks long work (a bulk request) to stop between items; called on SIGTERM, before the HTTP
 * server waits for requests in progress. */
void cp_plane_shutdown(struct cp_plane *p);
void cp_plane_stats(struct cp_plane *p, struct cp_plane_stats *out);

/* Each returns 0 or a negative errno for internal failures (err set); the caller has
 * checked each field of the message (types and bounds), what remains is answered, not
 * returned as an error. */

/* One heartbeat. The texts the plane keeps as they are; ownership passes to the plane. */
struct cp_heartbeat {
    const char *hostname, *service_name;                      /* required */
    const char *ip_address, *agent_version, *last_command_id; /* NULL when absent */
    char *received, *executed; /* command id lists as stored (NULL when absent) */
    char *sessions; /* the agent's running sessions as shown by host_status (NULL: not sent) */
};
/* *resp: the current command's heartbeat answer (codec->heartbeat_answer, copied), NULL when
 * the host has no command to receive. */
int cp_plane_heartbeat(struct cp_plane *p, struct cp_heartbeat *hb, int64_t now, char **resp,
                       size_t *resp_len, struct gp_err *err);

/* What the caller says back: an HTTP status, success and a message for a person. */
struct cp_reply {
    int status;
    bool success;
    char message[768];
};

/* A submitted (or dry-run) profiling request: what each host gets. */
struct cp_host_plan {
    char *hostname;
    const char *action;  /* created, merged, replaced, stop_host, stop_process, pids_removed */
    char command_id[40]; /* "" on a dry run */
    struct cp_config config;
};
struct cp_submission {
    struct cp_reply reply; /* when not success, nothing else is set */
    char request_id[40];   /* "" on a dry run */
    struct cp_host_plan *hosts;
    size_t nhosts;
};
void cp_submission_free(struct cp_submission *s);
/* One validated request (r->dry_run: plan only). */
int cp_plane_submit(struct cp_plane *p, const struct cp_request *r, int64_t now,
                    struct cp_submission *out, struct gp_err *err);
/* Between the items of a bulk request: true (and counted) when the plane is stopping, so the
 * rest is answered 503, not run. */
bool cp_plane_bulk_refused(struct cp_plane *p);

/* An agent's report that a command ended. */
struct cp_completion {
    const char *command_id, *hostname;
    const char *status;                       /* "completed" or "failed" */
    int64_t execution_time;                   /* seconds, -1 when not given */
    const char *error_message, *results_path; /* NULL when absent */
};
/* service: the only service whose commands the caller may complete (its token's), NULL = any
 * (auth off); a command of another service is answered 404, as if it did not exist. */
int cp_plane_completion(struct cp_plane *p, const struct cp_completion *c, const char *service,
                        int64_t now, struct cp_reply *out, struct gp_err *err);

/* host_status: the hosts matching f (filters as in the reference), newest heartbeat first, after
 * writing pending heartbeats; liveness from the server's receive times. */
struct cp_host_view {
    const struct meta_heartbeat *host;
    const struct meta_command *command; /* NULL when the host has no command */
    const char *liveness;               /* cp_host_liveness */
};
int cp_plane_hosts(struct cp_plane *p, const struct meta_host_filter *f, int64_t now,
                   int (*cb)(const struct cp_host_view *v, void *ctx), void *ctx,
                   struct gp_err *err);
/* What only the cache knows about (host, service): *sessions, its agent's running sessions as
 * compact JSON (malloc'd; NULL when it does not report them or the coordinator restarted since
 * its last heartbeat), and *interval_s, the gap between its last two heartbeats (else the
 * configured interval). 0 or -ENOMEM. */
int cp_plane_host_cached(struct cp_plane *p, const char *host, const char *service, char **sessions,
                         int64_t *interval_s);
/* A profiling request (-ENOENT when unknown) and its executions, oldest first. */
int cp_plane_request(struct cp_plane *p, const char *request_id, struct meta_request *out,
                     struct gp_err *err);
int cp_plane_request_executions(struct cp_plane *p, const char *request_id,
                                int (*cb)(const struct meta_execution *e, void *ctx), void *ctx,
                                struct gp_err *err);

#endif
