/* hostmetrics.h — host-wide CPU and memory utilisation over a session, as gProfiler reports them
 * in `cpu_avg` / `mem_avg`: CPU busy % between two /proc/stat reads, mean of memory-used samples.
 */
#ifndef GPROF_AGENT_HOSTMETRICS_H
#define GPROF_AGENT_HOSTMETRICS_H

#include <stdint.h>

struct gp_hostmetrics {
    uint64_t busy0, total0; /* /proc/stat at the start of the window */
    double mem_sum;
    unsigned mem_n;
};

/* Starts a window. Returns 0 or -errno. */
int gp_hostmetrics_begin(struct gp_hostmetrics *m);
/* Adds one memory-used sample (call every few seconds). */
void gp_hostmetrics_sample(struct gp_hostmetrics *m);
/* Ends the window: CPU busy % and mean memory used %; -1 where unknown. Starts the next window. */
void gp_hostmetrics_end(struct gp_hostmetrics *m, double *cpu_avg, double *mem_avg);

#endif
