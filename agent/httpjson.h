/* httpjson.h — small JSON-over-HTTP client on libcurl for the agent's control-plane calls
 * (heartbeat, command completion) and gprofctl's fleet verbs; uploads have their own module. */
#ifndef GPROF_AGENT_HTTPJSON_H
#define GPROF_AGENT_HTTPJSON_H

#include <json-c/json.h>

#include "common/err.h"

#include <stddef.h>

/* Reply caps. A heartbeat or completion reply carries at most one command (a few kilobytes):
 * the root agent refuses more, so a hostile coordinator cannot make it allocate. */
#define GP_HTTP_CONTROL_REPLY_MAX ((size_t)1 << 20)
#define GP_HTTP_FLEET_REPLY_MAX   ((size_t)64 << 20) /* gprofctl's listings of a fleet */
#define GP_HTTP_DOWNLOAD_MAX      ((size_t)64 << 20) /* gp_http_get_raw: flame graph pages */

/* Sends METHOD url with body (JSON text, may be NULL) and `Authorization: Bearer token` when
 * token is set. On any HTTP answer returns 0 with *status and *reply (parsed JSON or NULL when
 * the body is not JSON; caller puts it). A reply above max_reply bytes is refused as soon as it
 * goes past (-EMSGSIZE, the message says so). Network failures return -EAGAIN with a message
 * naming the URL. */
int gp_http_json(const char *method, const char *url, const char *token, const char *body,
                 long timeout_s, size_t max_reply, long *status, json_object **reply,
                 struct gp_err *err);
/* Like gp_http_json but keeps the raw body (for HTML downloads); *out is malloc'd. */
int gp_http_get_raw(const char *url, const char *token, long timeout_s, long *status, char **out,
                    size_t *out_len, struct gp_err *err);

#endif
