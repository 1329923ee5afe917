/* control_json.h — the control plane's JSON: agents' and users' messages in, its answers out
 * (control_messages.c), and the encodings of its stored texts (control_json.c, cj_codec). */
#ifndef GPROF_COORD_API_CONTROL_JSON_H
#define GPROF_COORD_API_CONTROL_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "coordinator/control/codec.h"
#include "coordinator/control/command.h"
#include "coordinator/control/plane.h"

/* The encodings the control plane stores and sends (cp_plane_opts.codec). */
extern const struct cp_codec cj_codec;

/* Validates a profile request object; messages say which field is wrong and why. */
int cj_request_parse(json_object *body, struct cp_request *out, struct gp_err *err);
/* combined_config JSON (new object) and back. */
json_object *cj_config_to_json(const struct cp_config *c);
int cj_config_from_json(json_object *o, struct cp_config *out, struct gp_err *err);
/* additional_args: a JSON object as a cp_args tree (NULL o or not an object: -EINVAL), back. */
int cj_args_from_json(json_object *o, struct cp_args **out);
json_object *cj_args_to_json(const struct cp_args *a);

/* The control plane's operations on JSON messages. Each returns 0 with *resp (JSON to send)
 * and *status (HTTP status), or a negative errno for internal failures (err set). Validation
 * problems are answered, not returned as errors. */
/* The heartbeat answer is text (built once per command, copied per heartbeat). */
int cj_heartbeat(struct cp_plane *p, json_object *body, int64_t now, char **resp, size_t *resp_len,
                 int *status, struct gp_err *err);
int cj_profile_request(struct cp_plane *p, json_object *body, bool dry_run, int64_t now,
                       json_object **resp, int *status, struct gp_err *err);
int cj_bulk_request(struct cp_plane *p, json_object *body, int64_t now, json_object **resp,
                    int *status, struct gp_err *err);
/* service: as cp_plane_completion's. */
int cj_completion(struct cp_plane *p, json_object *body, const char *service, int64_t now,
                  json_object **resp, int *status, struct gp_err *err);

#endif
