/* endpoints.c — where gprofctl's verbs talk to: flags first, then the environment. */
#include "cli/endpoints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>
#include <stdbool.h>

#include "agent/control/control.h"
#include "common/curl_tls.h"

const char *gpctl_socket(const char *flag)
{
    if (flag)
        return flag;
    const char *e = getenv("GPROF_AGENT_SOCKET");
    return e && *e ? e : GP_CONTROL_SOCKET_DEFAULT;
}

const char *gpctl_coordinator(const char *flag, char *buf, size_t len)
{
    const char *c = flag ? flag : getenv("GPROF_COORDINATOR");
    if (!c || !*c)
        return NULL;
    snprintf(buf, len, "%s", c);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == '/')
        buf[--n] = '\0';
    return buf;
}

const char *gpctl_token(const char *flag)
{
    if (flag)
        return flag;
    const char *e = getenv("GPROF_UI_TOKEN");
    if (!e || !*e)
        e = getenv("GPROF_TOKEN");
    return e && *e ? e : NULL;
}

int gpctl_tls_options(int *argc, char **argv)
{
    const char *ca = getenv("GPROF_CA_FILE");
    bool no_verify = false;
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { /* a command to run (record, stat) keeps its own flags */
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--no-verify")) {
            no_verify = true;
        } else if (!strcmp(a, "--ca-file") || !strcmp(a, "--tls-ca-bundle")) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "gprofctl: %s needs a file (the PEM of the coordinator's CA)\n", a);
                return -1;
            }
            ca = argv[++i];
        } else if (!strncmp(a, "--ca-file=", 10)) {
            ca = a + 10;
        } else {
            argv[out++] = argv[i];
        }
    }
    argv[out] = NULL;
    *argc = out;
    if (ca && *ca && access(ca, R_OK) != 0) {
        fprintf(stderr, "gprofctl: --ca-file %s: %s\n", ca, strerror(errno));
        return -1;
    }
    gp_curl_tls_set(ca, no_verify);
    gp_curl_tls_warn("gprofctl");
    return 0;
}
