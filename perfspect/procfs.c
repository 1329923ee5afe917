/* procfs.c — the software readings that do not come from perf_event: CPU time split from
 * /proc/stat, memory used from /proc/meminfo and the targets' resident set from /proc/PID/statm. */
#include "perfspect/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ps_read_procstat(struct ps_procstat *out)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return -errno;
    char line[512];
    int rc = -EINVAL;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, "cpu ", 4) != 0)
            continue;
        struct ps_procstat s = {0};
        int n = sscanf(line + 4,
                       "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                       " %" SCNu64 " %" SCNu64,
                       &s.user, &s.nice, &s.system, &s.idle, &s.iowait, &s.irq, &s.softirq,
                       &s.steal);
        if (n >= 4) {
            *out = s;
            rc = 0;
        }
        break;
    }
    fclose(f);
    return rc;
}

int ps_read_meminfo(uint64_t *used_kb, uint64_t *total_kb)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -errno;
    char line[256];
    uint64_t total = 0, avail = 0;
    int have_t = 0, have_a = 0;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %" SCNu64, &total) == 1)
            have_t = 1;
        else if (sscanf(line, "MemAvailable: %" SCNu64, &avail) == 1)
            have_a = 1;
    }
    fclose(f);
    if (!have_t || !have_a || avail > total)
        return -EINVAL;
    *used_kb = total - avail;
    *total_kb = total;
    return 0;
}

int ps_read_rss(const pid_t *pids, size_t npids, uint64_t *kb)
{
    uint64_t sum = 0;
    size_t ok = 0;
    long page_kb = sysconf(_SC_PAGESIZE) / 1024;
    for (size_t i = 0; i < npids; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/%d/statm", (int)pids[i]);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        uint64_t size, rss;
        if (fscanf(f, "%" SCNu64 " %" SCNu64, &size, &rss) == 2) {
            sum += rss * (uint64_t)page_kb;
            ok++;
        }
        fclose(f);
    }
    if (!ok)
        return -ESRCH;
    *kb = sum;
    return 0;
}

void ps_snapshot_clear(struct ps_snapshot *s)
{
    for (int ev = 0; ev < PS_EV_COUNT; ev++) {
        free(s->reads[ev]);
        s->reads[ev] = NULL;
        s->ninst[ev] = 0;
    }
}
