/* control_handlers.h — gprof-agent's answers on the local control socket (gprofctl start, stop,
 * status, result), one JSON request in, one JSON reply out. */
#ifndef GPROF_AGENT_DAEMON_CONTROL_HANDLERS_H
#define GPROF_AGENT_DAEMON_CONTROL_HANDLERS_H

#include <json-c/json.h>

#include "agent/daemon/state.h"

/* The control socket's handler (ctx: the agent); returns the reply the caller owns. */
json_object *gp_agent_on_control(json_object *req, void *ctx);

#endif
