/* endpoints.h — where gprofctl's verbs talk to: the agent's control socket, the coordinator and
 * its token, from flags or the environment (shared by cli/agentctl.c and cli/fleet.c). */
#ifndef GPROF_CLI_ENDPOINTS_H
#define GPROF_CLI_ENDPOINTS_H

#include <stddef.h>

/* --socket, else GPROF_AGENT_SOCKET, else /run/gprof/agent.sock. */
const char *gpctl_socket(const char *flag);
/* --coordinator, else GPROF_COORDINATOR, else NULL; trailing '/' removed into buf. */
const char *gpctl_coordinator(const char *flag, char *buf, size_t len);
/* --token, else GPROF_UI_TOKEN / GPROF_TOKEN, else NULL. */
const char *gpctl_token(const char *flag);

/* Takes --ca-file FILE (alias --tls-ca-bundle; else GPROF_CA_FILE) and --no-verify out of a
 * verb's argv (up to a "--") and applies them to every HTTPS request (common/curl_tls.h);
 * -1 after printing an error. */
int gpctl_tls_options(int *argc, char **argv);

#endif
