/* metrics.h — the agent's counters for operators: a JSON object for `gprofctl status --json` and
 * Prometheus text on an optional local GET /metrics (metrics_listen, loopback only, off). */
#ifndef GPROF_AGENT_DAEMON_METRICS_H
#define GPROF_AGENT_DAEMON_METRICS_H

#include <json-c/json.h>

#include "common/err.h"
#include "common/strbuf.h"

struct agent;
struct gp_metrics_http;

/* samples, drops by reason, frames and symbolization rate, uploads, spool, heartbeats. */
json_object *gp_agent_metrics_json(struct agent *ag);
void gp_agent_metrics_prom(struct agent *ag, struct strbuf *sb);

/* Serves GET /metrics on listen ("127.0.0.1:PORT", "[::1]:PORT"); any other address is refused
 * (-EPERM) with a message. */
int gp_metrics_http_start(struct agent *ag, const char *listen, struct gp_metrics_http **out,
                          struct gp_err *err);
void gp_metrics_http_stop(struct gp_metrics_http *m);

#endif
