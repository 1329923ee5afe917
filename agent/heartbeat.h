/* heartbeat.h — the agent's side of the control protocol: the heartbeat body (gProfiler's fields
 * plus agent version, capabilities and running sessions), its answer, and command completion. */
#ifndef GPROF_AGENT_HEARTBEAT_H
#define GPROF_AGENT_HEARTBEAT_H

#include <json-c/json.h>

#include "agent/commands/manager.h"
#include "common/err.h"

struct gp_hb_client {
    const char *base_url;
    const char *token; /* may be NULL */
    const char *service;
    const char *hostname;
    long timeout_s; /* 0 = 30 */
};

/* Host facts sent with every heartbeat, found once at startup. */
struct gp_hb_facts {
    char ip[64];
    char sampler[16];      /* "bpf" | "perf" */
    char hw_events[8][32]; /* hardware events perf_event_open accepts here */
    unsigned nhw_events;
};

/* Finds the local address used to reach the network (127.0.0.1 when there is none) and which
 * hardware events this machine supports. */
void gp_hb_probe_facts(struct gp_hb_facts *f, const char *sampler);

/* The heartbeat body; running_sessions (may be NULL) is taken over. */
json_object *gp_hb_body(const struct gp_hb_client *c, const struct gp_hb_facts *f,
                        struct gp_cmdmgr *m, json_object *running_sessions);

/* POSTs the heartbeat. On success returns 0 and, when the answer carries a command, sets
 * *command_id (malloc'd) and *profiling_command (caller puts); both NULL otherwise. */
int gp_hb_send(const struct gp_hb_client *c, json_object *body, char **command_id,
               json_object **profiling_command, struct gp_err *err);

/* Reads the coordinator's answer (HTTP status and JSON body, reply may be NULL) as gp_hb_send
 * does: an error for a non-200 status, else the command, if any, in *command_id and
 * *profiling_command (a new reference). */
int gp_hb_reply(const char *base_url, long status, json_object *reply, char **command_id,
                json_object **profiling_command, struct gp_err *err);
/* POSTs a command completion. status "completed" or "failed"; error/results_path may be NULL;
 * execution_time_s < 0 = omitted. -EAGAIN marks a failure worth retrying. */
int gp_hb_complete(const struct gp_hb_client *c, const char *command_id, const char *status,
                   double execution_time_s, const char *error, const char *results_path,
                   struct gp_err *err);

#endif
