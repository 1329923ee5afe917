/* user_cli.h — the `gprof-coordinator user ...` commands on an open metadata store: add, passwd,
 * remove, list, token, tokens, revoke-token; each change is written to the audit log. */
#ifndef GPROF_COORD_USER_CLI_H
#define GPROF_COORD_USER_CLI_H

#include "coordinator/store/meta/meta.h"

#include <stdio.h>

struct user_cli_args {
    const char *verb;     /* add | passwd | remove | list | token | tokens | revoke-token */
    const char *name;     /* the user (the token id for revoke-token) */
    const char *role;     /* add: viewer | operator | admin */
    const char *services; /* add: comma-separated, NULL = every service */
};

/* Runs one command; passwords are read from in (one line). Returns the process exit code
 * (0 ok, 1 failed, 2 usage) after printing what happened (stdout) or why not (stderr). */
int user_cli_run(struct meta_db *db, const struct user_cli_args *a, FILE *in);

#endif
