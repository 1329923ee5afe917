/* perf_event.c — the perf_event helpers both sampler engines share: online CPUs, the sampling
 * event's attributes, perf_event_open with actionable errors, sysctls, pid → tgid. */
#include "agent/sampler/perf_event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

int gp_sampler_read_sysctl(const char *name, int def)
{
    char path[256];
    snprintf(path, sizeof(path), "/proc/sys/%s", name);
    FILE *f = fopen(path, "re");
    if (!f)
        return def;
    int v = def;
    if (fscanf(f, "%d", &v) != 1)
        v = def;
    fclose(f);
    return v;
}

int gp_sampler_online_cpus(int **cpus, int *ncpus, struct gp_err *err)
{
    *cpus = NULL;
    *ncpus = 0;
    FILE *f = fopen("/sys/devices/system/cpu/online", "re");
    if (!f)
        return gp_err_set(err, -errno, "cannot open /sys/devices/system/cpu/online: %s",
                          strerror(errno));
    char buf[4096];
    if (!fgets(buf, sizeof(buf), f)) {
        fclose(f);
        return gp_err_set(err, -EIO, "cannot read /sys/devices/system/cpu/online");
    }
    fclose(f);
    int cap = 16, n = 0;
    int *v = malloc(cap * sizeof(*v));
    if (!v)
        return gp_err_set(err, -ENOMEM, "out of memory");
    for (char *p = buf; *p && *p != '\n';) {
        char *end;
        long a = strtol(p, &end, 10), b = a;
        if (end == p)
            break;
        if (*end == '-') {
            p = end + 1;
            b = strtol(p, &end, 10);
        }
        for (long c = a; c <= b; c++) {
            if (n == cap) {
                int *nv = realloc(v, 2 * cap * sizeof(*v));
                if (!nv) {
                    free(v);
                    return gp_err_set(err, -ENOMEM, "out of memory");
                }
                v = nv;
                cap *= 2;
            }
            v[n++] = (int)c;
        }
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0) {
        free(v);
        return gp_err_set(err, -EIO, "no online CPUs listed in /sys/devices/system/cpu/online");
    }
    *cpus = v;
    *ncpus = n;
    return 0;
}

void gp_sampler_event_attr(const struct gp_sampler_opts *o, struct perf_event_attr *attr)
{
    memset(attr, 0, sizeof(*attr));
    attr->size = sizeof(*attr);
    if (o->event == GP_EVENT_CYCLES) {
        attr->type = PERF_TYPE_HARDWARE;
        attr->config = PERF_COUNT_HW_CPU_CYCLES;
    } else {
        attr->type = PERF_TYPE_SOFTWARE;
        attr->config = PERF_COUNT_SW_CPU_CLOCK;
    }
    attr->freq = 1;
    attr->sample_freq = o->freq_hz ? o->freq_hz : GP_SAMPLER_DEFAULT_HZ;
    attr->disabled = 1;
}

int gp_sampler_open_cpu_event(struct perf_event_attr *attr, int cpu, struct gp_err *err)
{
    int fd = (int)syscall(SYS_perf_event_open, attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0)
        return fd;
    int e = errno;
    const char *ev = attr->type == PERF_TYPE_HARDWARE ? "cycles" : "cpu-clock";
    if (e == EACCES || e == EPERM) {
        int paranoid = gp_sampler_read_sysctl("kernel/perf_event_paranoid", 2);
        return gp_err_set(err, -e,
                          "perf_event_open(%s, cpu %d): %s; run as root or grant CAP_PERFMON "
                          "(setcap cap_perfmon,cap_bpf+ep), or allow system-wide sampling with "
                          "`sysctl kernel.perf_event_paranoid=-1` (now %d)",
                          ev, cpu, strerror(e), paranoid);
    }
    if (attr->type == PERF_TYPE_HARDWARE &&
        (e == ENOENT || e == EOPNOTSUPP || e == ENODEV || e == EINVAL)) {
        return gp_err_set(err, -EOPNOTSUPP,
                          "event cycles is not supported on this host (no hardware PMU, typical "
                          "in VMs); use --event cpu-clock");
    }
    if (e == EINVAL) {
        int max = gp_sampler_read_sysctl("kernel/perf_event_max_sample_rate", -1);
        if (attr->freq && max > 0 && attr->sample_freq > (uint64_t)max)
            return gp_err_set(err, -EINVAL,
                              "frequency %llu Hz exceeds kernel.perf_event_max_sample_rate (%d); "
                              "use a lower -F or raise the sysctl",
                              (unsigned long long)attr->sample_freq, max);
    }
    if (e == EMFILE || e == ENFILE)
        return gp_err_set(err, -e, "perf_event_open(%s, cpu %d): %s; raise the open-file limit", ev,
                          cpu, strerror(e));
    return gp_err_set(err, -e, "perf_event_open(%s, cpu %d): %s", ev, cpu, strerror(e));
}

int gp_sampler_resolve_tgid(int pid, uint32_t *tgid, struct gp_err *err)
{
    if (pid <= 0)
        return gp_err_set(err, -EINVAL, "invalid pid %d", pid);
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno == ENOENT)
            return gp_err_set(err, -ESRCH, "no such process: %d", pid);
        return gp_err_set(err, -errno, "cannot open %s: %s", path, strerror(errno));
    }
    char line[256];
    long t = -1;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, "Tgid:", 5)) {
            t = strtol(line + 5, NULL, 10);
            break;
        }
    }
    fclose(f);
    if (t <= 0)
        return gp_err_set(err, -ESRCH, "no such process: %d (no Tgid in %s)", pid, path);
    *tgid = (uint32_t)t;
    return 0;
}
