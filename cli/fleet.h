/* fleet.h — the coordinator calls that start/stop profiling on hosts or a service, used by
 * `gprofctl start|stop` with --coordinator (cli/agentctl.c). */
#ifndef GPROF_CLI_FLEET_H
#define GPROF_CLI_FLEET_H

#include <json-c/json.h>

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
