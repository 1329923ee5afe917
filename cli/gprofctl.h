/* gprofctl.h — the verbs of the shell tool, one file each; main.c dispatches to them.
 * Each verb returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef GPROF_CLI_GPROFCTL_H
#define GPROF_CLI_GPROFCTL_H

int cmd_record(int argc, char **argv);
/* agentctl.c: the local agent over its control socket (or the fleet with --coordinator) */
int cmd_start(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_status(int argc, char **argv);
/* fleet.c: through a coordinator */
int cmd_hosts(int argc, char **argv);
int cmd_requests(int argc, char **argv);
int cmd_flamegraph(int argc, char **argv);
/* audit.c: the coordinator's audit log */
int cmd_audit(int argc, char **argv);

#endif
