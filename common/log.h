/* log.h — leveled logging to stderr (journald picks it up under systemd).
 * One global level; messages carry a syslog priority prefix when GPROF_LOG_JOURNAL is set. */
#ifndef GPROF_COMMON_LOG_H
#define GPROF_COMMON_LOG_H

enum gp_log_level { GP_LOG_ERROR = 0, GP_LOG_WARN, GP_LOG_INFO, GP_LOG_DEBUG };

void gp_log_set_level(enum gp_log_level level);
enum gp_log_level gp_log_get_level(void);
/* Parses "error|warn|info|debug"; returns -1 for anything else. */
int gp_log_parse_level(const char *s);
/* Prefix every line with "<N>" priorities (for journald) instead of a timestamp. */
void gp_log_set_journal(int on);
void gp_log(enum gp_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define gp_error(...) gp_log(GP_LOG_ERROR, __VA_ARGS__)
#define gp_warn(...)  gp_log(GP_LOG_WARN, __VA_ARGS__)
#define gp_info(...)  gp_log(GP_LOG_INFO, __VA_ARGS__)
#define gp_debug(...) gp_log(GP_LOG_DEBUG, __VA_ARGS__)

#endif
