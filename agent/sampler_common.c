/* sampler_common.c — the sampler interface's dispatch (ops vtable), automatic engine choice with
 * a fallback notice, and the perf_event/CPU/pid helpers both engines use. */
#include "agent/sampler.h"
#include "agent/sampler_ops.h"
#include "common/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

const char *gp_sampler_kind_name(enum gp_sampler_kind k)
{
    return k == GP_SAMPLER_PERF ? "perf" : "bpf";
}

const char *gp_sample_event_name(enum gp_sample_event e)
{
    return e == GP_EVENT_CYCLES ? "cycles" : "cpu-clock";
}

int gp_sampler_parse_kind(const char *s, enum gp_sampler_kind *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "bpf"))
        *out = GP_SAMPLER_BPF;
    else if (!strcmp(s, "perf"))
        *out = GP_SAMPLER_PERF;
    else
        return -EINVAL;
    return 0;
}

int gp_sample_event_parse(const char *s, enum gp_sample_event *out)
{
    if (!s)
        return -EINVAL;
    if (!strcmp(s, "cpu-clock"))
        *out = GP_EVENT_CPU_CLOCK;
    else if (!strcmp(s, "cycles"))
        *out = GP_EVENT_CYCLES;
    else
        return -EINVAL;
    return 0;
}

int gp_sampler_open(const struct gp_sampler_opts *o, struct gp_sampler **out, struct gp_err *err)
{
    *out = NULL;
    if (!o)
        return gp_err_set(err, -EINVAL, "sampler options missing");
    if (o->npids && !o->pids)
        return gp_err_set(err, -EINVAL, "sampler options: npids without pids");
    if (o->kind == GP_SAMPLER_PERF)
        return gp_sampler_perf_open(o, out, err);
    return gp_sampler_bpf_open(o, out, NULL, err);
}

int gp_sampler_open_auto(const struct gp_sampler_opts *o, struct gp_sampler **out, char *notice,
                         size_t notice_len, struct gp_err *err)
{
    if (notice && notice_len)
        notice[0] = '\0';
    if (o && o->kind == GP_SAMPLER_PERF)
        return gp_sampler_open(o, out, err);
    if (!o)
        return gp_sampler_open(o, out, err);
    struct gp_err berr = {0};
    int bpf_failed = 0;
    int rc = gp_sampler_bpf_open(o, out, &bpf_failed, &berr);
    if (rc == 0)
        return 0;
    /* Errors before the BPF stage (no such pid, perf_event_open refused, no PMU) would hit the
     * perf engine the same way: report them as they are. */
    if (!bpf_failed) {
        if (err)
            *err = berr;
        return rc;
    }
    struct gp_sampler_opts po = *o;
    po.kind = GP_SAMPLER_PERF;
    struct gp_err perr = {0};
    int prc = gp_sampler_perf_open(&po, out, &perr);
    if (prc) {
        return gp_err_set(err, prc, "BPF sampler unavailable (%s); perf_event sampler too: %s",
                          berr.msg, perr.msg);
    }
    if (notice && notice_len)
        snprintf(notice, notice_len, "BPF sampler unavailable (%s); using the perf_event sampler",
                 berr.msg);
    return 0;
}

enum gp_sampler_kind gp_sampler_kind(const struct gp_sampler *s)
{
    return s->ops->kind;
}

int gp_sampler_start(struct gp_sampler *s, struct gp_err *err)
{
    return s->ops->start(s, err);
}

void gp_sampler_stop(struct gp_sampler *s)
{
    s->ops->stop(s);
}

int gp_sampler_poll_events(struct gp_sampler *s, int timeout_ms,
                           void (*cb)(const struct gp_proc_event *, void *), void *ctx)
{
    return s->ops->poll_events(s, timeout_ms, cb, ctx);
}

int gp_sampler_drain(struct gp_sampler *s, void (*cb)(const struct gp_raw_sample *, void *),
                     void *ctx, struct gp_err *err)
{
    return s->ops->drain(s, cb, ctx, err);
}

int gp_sampler_add_pid(struct gp_sampler *s, int pid, struct gp_err *err)
{
    uint32_t tgid;
    int rc = gp_sampler_resolve_tgid(pid, &tgid, err);
    if (rc)
        return rc;
    return s->ops->add_tgid(s, tgid, err);
}

int gp_sampler_remove_pid(struct gp_sampler *s, int pid)
{
    if (pid <= 0)
        return -EINVAL;
    int rc = s->ops->remove_tgid(s, (uint32_t)pid);
    if (rc == -ENOENT) { /* maybe a thread id of a filtered process */
        uint32_t tgid;
        if (gp_sampler_resolve_tgid(pid, &tgid, NULL) == 0 && tgid != (uint32_t)pid)
            rc = s->ops->remove_tgid(s, tgid);
    }
    return rc;
}

void gp_sampler_stats(const struct gp_sampler *s, struct gp_sampler_stats *out)
{
    memset(out, 0, sizeof(*out));
    s->ops->stats(s, out);
}

int gp_sampler_bpf_runtime(const struct gp_sampler *s, uint64_t *run_time_ns, uint64_t *run_cnt)
{
    if (!s->ops->bpf_runtime)
        return -EOPNOTSUPP;
    return s->ops->bpf_runtime(s, run_time_ns, run_cnt);
}

void gp_sampler_close(struct gp_sampler *s)
{
    if (s)
        s->ops->close(s);
}

/* ---- helpers ---- */

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

/* ---- sets of tgids ---- */

uint32_t gp_u32_hash(uint32_t v)
{
    return (uint32_t)gp_hash_mix(v + 0x9e3779b97f4a7c15ULL);
}

int gp_u32set_has(const struct gp_u32set *s, uint32_t v)
{
    if (!s->cap)
        return 0;
    for (uint32_t i = gp_u32_hash(v) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == v)
            return 1;
        if (s->slot[i] == 0)
            return 0;
    }
}

int gp_u32set_add(struct gp_u32set *s, uint32_t v)
{
    if (v == 0 || gp_u32set_has(s, v))
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 64;
        uint32_t *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        for (uint32_t i = 0; i < s->cap; i++) {
            uint32_t x = s->slot[i];
            if (!x)
                continue;
            uint32_t j = gp_u32_hash(x) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = x;
        }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    uint32_t i = gp_u32_hash(v) & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = v;
    s->n++;
    return 1;
}

int gp_u32set_del(struct gp_u32set *s, uint32_t v)
{
    if (!s->cap)
        return 0;
    uint32_t m = s->cap - 1, i = gp_u32_hash(v) & m;
    while (s->slot[i] != v) {
        if (s->slot[i] == 0)
            return 0;
        i = (i + 1) & m;
    }
    s->slot[i] = 0;
    s->n--;
    for (uint32_t j = (i + 1) & m; s->slot[j]; j = (j + 1) & m) {
        uint32_t x = s->slot[j], home = gp_u32_hash(x) & m;
        /* move x into the hole if the hole lies on its probe path */
        if (((j - home) & m) >= ((j - i) & m)) {
            s->slot[i] = x;
            s->slot[j] = 0;
            i = j;
        }
    }
    return 1;
}

/* ---- the end of a process ---- */

/* Whether a thread other than the leader of tgid is still alive (not a zombie). */
int gp_sampler_threads_left(uint32_t tgid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%u/task", tgid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int alive = 0;
    struct dirent *de;
    while (!alive && (de = readdir(d))) {
        unsigned long tid = strtoul(de->d_name, NULL, 10);
        if (tid == 0 || tid == tgid)
            continue;
        char stat[128], buf[512];
        snprintf(stat, sizeof(stat), "/proc/%u/task/%lu/stat", tgid, tid);
        int fd = open(stat, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')'); /* state follows the comm, which may hold ')' */
        if (rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X' && rp[2] != 'x')
            alive = 1;
    }
    closedir(d);
    return alive;
}

/* Has the thread-group leader exited (a zombie, or gone)? */
int gp_sampler_leader_dead(uint32_t tgid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X' || rp[2] == 'x';
}

size_t gp_sampler_ended(const struct gp_u32set *leader_gone, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < leader_gone->cap && n < max; i++) {
        uint32_t tgid = leader_gone->slot[i];
        if (tgid && !gp_sampler_threads_left(tgid))
            out[n++] = tgid;
    }
    return n;
}
