/* codec.h — how the control plane's stored texts and cached heartbeat answers are encoded: an
 * interface the control plane calls and the api layer implements (api/control_json.c). */
#ifndef GPROF_COORD_CONTROL_CODEC_H
#define GPROF_COORD_CONTROL_CODEC_H

#include <stddef.h>

#include "coordinator/control/command.h"

struct cp_codec {
    /* A command's combined_config as stored, and back; NULL text when out of memory. */
    char *(*config_render)(const struct cp_config *c);
    int (*config_parse)(const char *text, struct cp_config *out, struct gp_err *err);
    /* A command's request id list: each id in order (stops at the first non-zero return of
     * cb, which it returns), and a new list with rid appended unless already there (text
     * NULL = an empty list; NULL when out of memory). */
    int (*ids_each)(const char *text, int (*cb)(const char *id, void *ctx), void *ctx);
    char *(*ids_append)(const char *text, const char *rid);
    /* A request's target_hosts and additional_args as stored (NULL when out of memory). */
    char *(*targets_render)(const struct cp_target *t, size_t n);
    char *(*args_render)(const struct cp_args *a);
    /* The heartbeat answer that delivers a command (built once per command, sent as is). */
    char *(*heartbeat_answer)(const char *command_id, const char *command_type,
                              const char *combined_config, size_t *len);
};

#endif
