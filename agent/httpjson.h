/* httpjson.h — small JSON-over-HTTP client on libcurl for the agent's control-plane calls
 * (heartbeat, command completion) and gprofctl's fleet verbs; uploads have their own module. */
#ifndef GPROF_AGENT_HTTPJSON_H
#define GPROF_AGENT_HTTPJSON_H

#include <json-c/json.h>

#include "common/err.h"

/* Sends METHOD url with body (JSON text, may be NULL) and `Authorization: Bearer token` when
 * token is set. On any HTTP answer returns 0 with *status and *reply (parsed JSON or NULL when
 * the body is not JSON; caller puts it). Network failures return -EAGAIN with a message naming
 * the URL. */
int gp_http_json(const char *method, const char *url, const char *token, const char *body,
                 long timeout_s, long *status, json_object **reply, struct gp_err *err);
/* Like gp_http_json but keeps the raw body (for HTML downloads); *out is malloc'd. */
int gp_http_get_raw(const char *url, const char *token, long timeout_s, long *status, char **out,
                    size_t *out_len, struct gp_err *err);

#endif
