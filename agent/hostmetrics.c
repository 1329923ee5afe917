/* hostmetrics.c — /proc/stat and /proc/meminfo readers. */
#include "agent/hostmetrics.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int read_cpu(uint64_t *busy, uint64_t *total)
{
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return -errno;
    unsigned long long v[10] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
                   &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
    fclose(f);
    if (n < 4)
        return -EINVAL;
    /* user nice system idle iowait irq softirq steal (guest is inside user) */
    uint64_t idle = v[3] + v[4], t = 0;
    for (int i = 0; i < 8; i++)
        t += v[i];
    *busy = t - idle;
    *total = t;
    return 0;
}

static double mem_used_pct(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -1;
    char line[128];
    unsigned long long total = 0, avail = 0, v;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
            total = v;
        else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
            avail = v;
    }
    fclose(f);
    return total ? 100.0 * (double)(total - avail) / (double)total : -1;
}

int gp_hostmetrics_begin(struct gp_hostmetrics *m)
{
    memset(m, 0, sizeof(*m));
    int rc = read_cpu(&m->busy0, &m->total0);
    gp_hostmetrics_sample(m);
    return rc;
}

void gp_hostmetrics_sample(struct gp_hostmetrics *m)
{
    double v = mem_used_pct();
    if (v >= 0) {
        m->mem_sum += v;
        m->mem_n++;
    }
}

void gp_hostmetrics_end(struct gp_hostmetrics *m, double *cpu_avg, double *mem_avg)
{
    uint64_t busy, total;
    *cpu_avg = -1;
    if (m->total0 && read_cpu(&busy, &total) == 0 && total > m->total0)
        *cpu_avg = 100.0 * (double)(busy - m->busy0) / (double)(total - m->total0);
    gp_hostmetrics_sample(m);
    *mem_avg = m->mem_n ? m->mem_sum / m->mem_n : -1;
    gp_hostmetrics_begin(m);
}
