/* command.h — one profiling command as the agent understands it: parsed and validated from a
 * heartbeat's `profiling_command` (or from gprofctl), so slots never see a malformed request. */
#ifndef GPROF_AGENT_COMMANDS_COMMAND_H
#define GPROF_AGENT_COMMANDS_COMMAND_H

#include <json-c/json.h>
#include <stddef.h>
#include <time.h>

#include "common/cmd_limits.h" /* id, frequency and duration bounds, shared with the coordinator */
#include "common/err.h"

#define GP_CMD_MAX_PIDS 256

enum gp_cmd_type { GP_CMD_START = 0, GP_CMD_STOP = 1 };
/* Priority classes, highest first. */
enum gp_cmd_class { GP_CLASS_STOP = 0, GP_CLASS_ADHOC = 1, GP_CLASS_CONTINUOUS = 2 };
#define GP_CLASS_COUNT 3

struct gp_command {
    char id[GP_CMD_ID_MAX];
    enum gp_cmd_type type;
    int continuous;
    unsigned duration_s;
    unsigned freq_hz;
    int pids[GP_CMD_MAX_PIDS];
    size_t npids;
    int stop_host;          /* stop: host level (everything command-started) */
    int stop_level_process; /* start re-issued by a process-level stop (pids removed) */
    unsigned max_processes;
    int enable_perfspect;
    int local; /* from gprofctl on this host: no completion to a coordinator */
    time_t received;
};

enum gp_cmd_class gp_command_class(const struct gp_command *c);

/* Parses {"command_type", "combined_config": {...}} for command id.
 * Returns 0 when valid; 1 when target_hostnames excludes hostname (skip it silently);
 * -EINVAL with the reason in err (to report `failed`): unknown command_type, frequency outside
 * 1–1000 Hz, duration outside 1 s–24 h, a pid that is not a positive number, too many pids.
 * out->id and out->type are filled even when invalid. */
int gp_command_parse(const char *id, json_object *profiling_command, const char *hostname,
                     struct gp_command *out, struct gp_err *err);

/* A short description for logs and status: "adhoc start 10 s at 99 Hz, pids 12,34". */
void gp_command_describe(const struct gp_command *c, char *buf, size_t len);

#endif
