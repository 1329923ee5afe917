/* gprofctl.h — the verbs of the shell tool, one file each; main.c dispatches to them.
 * Each verb returns the process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef GPROF_CLI_GPROFCTL_H
#define GPROF_CLI_GPROFCTL_H

int cmd_record(int argc, char **argv);

#endif
