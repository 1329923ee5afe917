/* stat.h — `gprofctl stat`: PerfSpect-style counters for the host, some pids or a command,
 * printed as a perf-stat-like table or JSON. main.c registers cmd_stat as the "stat" verb. */
#ifndef GPROF_CLI_STAT_H
#define GPROF_CLI_STAT_H

/* argv[0] is "stat". Returns the exit status: 0 ok, 1 failure, 2 usage error. */
int cmd_stat(int argc, char **argv);

#endif
