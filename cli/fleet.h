/* fleet.h — shared pieces of gprofctl's agent and fleet verbs: where the agent's socket and the
 * coordinator are, and the coordinator calls that start/stop profiling through it. */
#ifndef GPROF_CLI_FLEET_H
#define GPROF_CLI_FLEET_H

#include <json-c/json.h>

/* --socket, else GPROF_AGENT_SOCKET, else /run/gprof/agent.sock. */
const char *gpctl_socket(const char *flag);
/* --coordinator, else GPROF_COORDINATOR, else NULL; trailing '/' removed into buf. */
const char *gpctl_coordinator(const char *flag, char *buf, size_t len);
/* --token, else GPROF_UI_TOKEN / GPROF_TOKEN, else NULL. */
const char *gpctl_token(const char *flag);

struct gpctl_fleet_req {
    const char *coordinator, *token, *service;
    const char *hosts[64];
    size_t nhosts;
    const int *pids;
    size_t npids;
    long duration, frequency;
    int perfspect, stop, no_wait, json;
};

/* `gprofctl start|stop` aimed at the fleet. Returns the exit status. */
int gpctl_fleet_start_stop(const struct gpctl_fleet_req *r);

#endif
