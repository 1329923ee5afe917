/* cmd_limits.h — the bounds of a profiling command, shared by the coordinator (request
 * validation) and the agent (command parser) so one never accepts what the other refuses. */
#ifndef GPROF_COMMON_CMD_LIMITS_H
#define GPROF_COMMON_CMD_LIMITS_H

#define GP_CMD_ID_MAX       80    /* bytes of a command id, with its NUL */
#define GP_CMD_MIN_FREQ     1     /* Hz */
#define GP_CMD_MAX_FREQ     1000  /* Hz */
#define GP_CMD_MIN_DURATION 1     /* seconds */
#define GP_CMD_MAX_DURATION 86400 /* seconds (24 h) */

#endif
