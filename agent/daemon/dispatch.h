/* dispatch.h — gprof-agent's commands: heartbeats that bring them, running them in priority
 * order on the two slots, and their completions (kept on disk until the coordinator has them). */
#ifndef GPROF_AGENT_DAEMON_DISPATCH_H
#define GPROF_AGENT_DAEMON_DISPATCH_H

#include "agent/daemon/state.h"

/* One heartbeat; a command it brings is queued. Returns 0 when the coordinator answered. */
int gp_agent_heartbeat(struct agent *ag);
/* Runs what can run now, in priority order (main thread). */
void gp_agent_dispatch(struct agent *ag);
/* Sends pending completions, oldest first (main thread), until the first retryable failure. */
void gp_agent_flush_completions(struct agent *ag);
/* Keeps a completion for the coordinator, on disk before returning. */
void gp_agent_queue_completion(struct agent *ag, const char *id, int ok, double exec,
                               const char *error, const char *path);
/* Starts (or stops) continuous profiling as the configuration says; 0 or -errno (logged). */
int gp_agent_start_continuous(struct agent *ag);
/* The ad hoc slot's on_done (ctx: the agent): completion, marker, recent results. */
void gp_agent_on_adhoc_done(const struct gp_slot_result *r, void *ctx);

#endif
