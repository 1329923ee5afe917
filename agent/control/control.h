/* control.h — the agent's local control socket (/run/gprof/agent.sock, mode 0600 so only root
 * talks to it): one JSON request line in, one JSON answer line out, handled on its own thread. */
#ifndef GPROF_AGENT_CONTROL_CONTROL_H
#define GPROF_AGENT_CONTROL_CONTROL_H

#include <json-c/json.h>

#include "common/err.h"

#define GP_CONTROL_SOCKET_DEFAULT "/run/gprof/agent.sock"
#define GP_CONTROL_MAX_LINE       (64 * 1024)

/* Answers one request; returns a new JSON object ({"ok":false,"error":...} on failure). */
typedef json_object *(*gp_control_handler)(json_object *req, void *ctx);

struct gp_control;

/* What the server answers to one request line (NUL-terminated): h's answer, or an error object
 * when the line is not a JSON object. */
json_object *gp_control_answer(const char *line, gp_control_handler h, void *ctx);
/* The client's reading of an answer line: 0 with *resp, or -EPROTO when it is not JSON. */
int gp_control_parse_answer(const char *line, json_object **resp, struct gp_err *err);

/* Creates the parent directory (0755) when missing, replaces a stale socket, binds, chmods 0600
 * and starts the accept thread. An address already served by a live agent is -EADDRINUSE. */
int gp_control_start(const char *path, gp_control_handler h, void *ctx, struct gp_control **out,
                     struct gp_err *err);
/* Stops the thread and removes the socket. */
void gp_control_stop(struct gp_control *c);

/* Client side (gprofctl): sends req, waits up to timeout_s for the answer. Errors say what to do
 * (agent not running, permission denied). */
int gp_control_call(const char *path, json_object *req, double timeout_s, json_object **resp,
                    struct gp_err *err);

#endif
