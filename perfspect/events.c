/* events.c — the event catalogue (software, generic hardware and cache events, Intel topdown)
 * and what sysfs says about the core PMU: type, event strings, format bit layouts, counters. */
#include "perfspect/internal.h"

#include <cpuid.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HWC(cache, op, res) ((uint64_t)(cache) | ((uint64_t)(op) << 8) | ((uint64_t)(res) << 16))

/* Logical groups: 0 software (each alone), 1 core, 2 branches, 3 cache, 4 memory misses,
 * 5 stalls, 6 topdown (perf metrics), 7 legacy topdown. */
static const struct ps_event_info catalogue[PS_EV_COUNT] = {
        [PS_EV_TASK_CLOCK] = {"task-clock", PS_KIND_SW, PERF_TYPE_SOFTWARE,
                              PERF_COUNT_SW_TASK_CLOCK, 0, 0},
        [PS_EV_CONTEXT_SWITCHES] = {"context-switches", PS_KIND_SW, PERF_TYPE_SOFTWARE,
                                    PERF_COUNT_SW_CONTEXT_SWITCHES, 0, 0},
        [PS_EV_CPU_MIGRATIONS] = {"cpu-migrations", PS_KIND_SW, PERF_TYPE_SOFTWARE,
                                  PERF_COUNT_SW_CPU_MIGRATIONS, 0, 0},
        [PS_EV_MINOR_FAULTS] = {"minor-faults", PS_KIND_SW, PERF_TYPE_SOFTWARE,
                                PERF_COUNT_SW_PAGE_FAULTS_MIN, 0, 0},
        [PS_EV_MAJOR_FAULTS] = {"major-faults", PS_KIND_SW, PERF_TYPE_SOFTWARE,
                                PERF_COUNT_SW_PAGE_FAULTS_MAJ, 0, 0},
        [PS_EV_CYCLES] = {"cycles", PS_KIND_HW, PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES, 1, 1},
        [PS_EV_INSTRUCTIONS] = {"instructions", PS_KIND_HW, PERF_TYPE_HARDWARE,
                                PERF_COUNT_HW_INSTRUCTIONS, 1, 1},
        [PS_EV_REF_CYCLES] = {"ref-cycles", PS_KIND_HW, PERF_TYPE_HARDWARE,
                              PERF_COUNT_HW_REF_CPU_CYCLES, 1, 1},
        [PS_EV_BRANCHES] = {"branch-instructions", PS_KIND_HW, PERF_TYPE_HARDWARE,
                            PERF_COUNT_HW_BRANCH_INSTRUCTIONS, 2, 0},
        [PS_EV_BRANCH_MISSES] = {"branch-misses", PS_KIND_HW, PERF_TYPE_HARDWARE,
                                 PERF_COUNT_HW_BRANCH_MISSES, 2, 0},
        [PS_EV_CACHE_REFERENCES] = {"cache-references", PS_KIND_HW, PERF_TYPE_HARDWARE,
                                    PERF_COUNT_HW_CACHE_REFERENCES, 3, 0},
        [PS_EV_CACHE_MISSES] = {"cache-misses", PS_KIND_HW, PERF_TYPE_HARDWARE,
                                PERF_COUNT_HW_CACHE_MISSES, 3, 0},
        [PS_EV_L1D_LOAD_MISSES] = {"L1-dcache-load-misses", PS_KIND_HW, PERF_TYPE_HW_CACHE,
                                   HWC(PERF_COUNT_HW_CACHE_L1D, PERF_COUNT_HW_CACHE_OP_READ,
                                       PERF_COUNT_HW_CACHE_RESULT_MISS),
                                   4, 0},
        [PS_EV_LLC_LOAD_MISSES] = {"LLC-load-misses", PS_KIND_HW, PERF_TYPE_HW_CACHE,
                                   HWC(PERF_COUNT_HW_CACHE_LL, PERF_COUNT_HW_CACHE_OP_READ,
                                       PERF_COUNT_HW_CACHE_RESULT_MISS),
                                   4, 0},
        [PS_EV_DTLB_LOAD_MISSES] = {"dTLB-load-misses", PS_KIND_HW, PERF_TYPE_HW_CACHE,
                                    HWC(PERF_COUNT_HW_CACHE_DTLB, PERF_COUNT_HW_CACHE_OP_READ,
                                        PERF_COUNT_HW_CACHE_RESULT_MISS),
                                    4, 0},
        [PS_EV_STALLED_FRONTEND] = {"stalled-cycles-frontend", PS_KIND_HW, PERF_TYPE_HARDWARE,
                                    PERF_COUNT_HW_STALLED_CYCLES_FRONTEND, 5, 0},
        [PS_EV_STALLED_BACKEND] = {"stalled-cycles-backend", PS_KIND_HW, PERF_TYPE_HARDWARE,
                                   PERF_COUNT_HW_STALLED_CYCLES_BACKEND, 5, 0},
        [PS_EV_SLOTS] = {"slots", PS_KIND_SYSFS, 0, 0, 6, 1},
        [PS_EV_TD_RETIRING] = {"topdown-retiring", PS_KIND_SYSFS, 0, 0, 6, 1},
        [PS_EV_TD_BAD_SPEC] = {"topdown-bad-spec", PS_KIND_SYSFS, 0, 0, 6, 1},
        [PS_EV_TD_FE_BOUND] = {"topdown-fe-bound", PS_KIND_SYSFS, 0, 0, 6, 1},
        [PS_EV_TD_BE_BOUND] = {"topdown-be-bound", PS_KIND_SYSFS, 0, 0, 6, 1},
        [PS_EV_TD_TOTAL_SLOTS] = {"topdown-total-slots", PS_KIND_SYSFS, 0, 0, 7, 0},
        [PS_EV_TD_SLOTS_ISSUED] = {"topdown-slots-issued", PS_KIND_SYSFS, 0, 0, 7, 0},
        [PS_EV_TD_SLOTS_RETIRED] = {"topdown-slots-retired", PS_KIND_SYSFS, 0, 0, 7, 0},
        [PS_EV_TD_FETCH_BUBBLES] = {"topdown-fetch-bubbles", PS_KIND_SYSFS, 0, 0, 7, 0},
        [PS_EV_TD_RECOVERY_BUBBLES] = {"topdown-recovery-bubbles", PS_KIND_SYSFS, 0, 0, 7, 0},
};

const struct ps_event_info *ps_event_info(enum ps_ev ev)
{
    if ((int)ev < 0 || ev >= PS_EV_COUNT)
        return NULL;
    return &catalogue[ev];
}

int ps_event_by_name(const char *name)
{
    for (int i = 0; i < PS_EV_COUNT; i++)
        if (!strcmp(catalogue[i].name, name))
            return i;
    return -1;
}

/* Reads a small sysfs file into buf, trailing whitespace removed. */
static int read_small(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, size - 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        return -EIO;
    buf[n] = '\0';
    while (n && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return 0;
}

int ps_format_apply(const char *spec, uint64_t value, uint64_t *config)
{
    if (strncmp(spec, "config:", 7) != 0)
        return -EINVAL;
    const char *p = spec + 7;
    int shift = 0; /* bits of value consumed so far */
    uint64_t out = *config;
    while (*p) {
        char *end;
        long lo = strtol(p, &end, 10);
        if (end == p || lo < 0 || lo > 63)
            return -EINVAL;
        long hi = lo;
        p = end;
        if (*p == '-') {
            hi = strtol(p + 1, &end, 10);
            if (end == p + 1 || hi < lo || hi > 63)
                return -EINVAL;
            p = end;
        }
        int width = (int)(hi - lo + 1);
        uint64_t mask = width == 64 ? UINT64_MAX : ((UINT64_C(1) << width) - 1);
        uint64_t part = shift >= 64 ? 0 : (value >> shift) & mask;
        out = (out & ~(mask << lo)) | (part << lo);
        shift += width;
        if (*p == ',')
            p++;
        else if (*p)
            return -EINVAL;
    }
    if (shift < 64 && (value >> shift) != 0)
        return -EINVAL; /* does not fit */
    *config = out;
    return 0;
}

int ps_parse_event_string(const char *format_dir, const char *s, uint64_t *config,
                          struct gp_err *err)
{
    uint64_t cfg = 0;
    char term[64];
    const char *p = s;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof(term))
            return gp_err_set(err, -EINVAL, "bad sysfs event string \"%s\"", s);
        memcpy(term, p, n);
        term[n] = '\0';
        p += n;
        if (*p == ',')
            p++;
        char *eq = strchr(term, '=');
        uint64_t v = 1; /* a bare flag means 1 */
        if (eq) {
            *eq = '\0';
            char *end;
            errno = 0;
            v = strtoull(eq + 1, &end, 0);
            if (errno || end == eq + 1 || *end)
                return gp_err_set(err, -EINVAL, "bad value in sysfs event term \"%s=%s\"", term,
                                  eq + 1);
        }
        char path[4096], spec[128];
        snprintf(path, sizeof(path), "%s/%s", format_dir, term);
        int rc = read_small(path, spec, sizeof(spec));
        if (rc)
            return gp_err_set(err, -EINVAL, "sysfs event term \"%s\" has no format in %s", term,
                              format_dir);
        if (ps_format_apply(spec, v, &cfg))
            return gp_err_set(err, -EINVAL, "cannot place %s=%#" PRIx64 " with format \"%s\"", term,
                              v, spec);
    }
    *config = cfg;
    return 0;
}

/* General-purpose and fixed counters per logical CPU, from CPUID. */
static void detect_counters(int *gp, int *fixed)
{
    unsigned a, b, c, d;
    *gp = 4; /* a conservative guess; groups shrink on EINVAL/ENOSPC anyway */
    *fixed = 0;
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return;
    unsigned max = a;
    int intel = b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e; /* GenuineIntel */
    int amd = b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163;   /* AuthenticAMD */
    if (intel && max >= 0xa && __get_cpuid(0xa, &a, &b, &c, &d)) {
        int n = (a >> 8) & 0xff;
        if (n > 0)
            *gp = n;
        *fixed = d & 0x1f;
    } else if (amd && __get_cpuid(0x80000001, &a, &b, &c, &d)) {
        *gp = (c & (1u << 23)) ? 6 : 4; /* PerfCtrExtCore */
    }
}

void ps_pmu_probe(const char *sysfs_root, struct ps_pmu *pmu)
{
    memset(pmu, 0, sizeof(*pmu));
    if (!sysfs_root)
        sysfs_root = "/sys";
    char dir[2048], path[4096], buf[256];
    /* "cpu" everywhere but hybrid Intel parts, whose big cores are "cpu_core" */
    static const char *const names[] = {"cpu", "cpu_core"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]) && !pmu->present; i++) {
        snprintf(dir, sizeof(dir), "%s/bus/event_source/devices/%s", sysfs_root, names[i]);
        snprintf(path, sizeof(path), "%s/type", dir);
        if (read_small(path, buf, sizeof(buf)) == 0) {
            pmu->present = 1;
            pmu->type = (uint32_t)strtoul(buf, NULL, 10);
        }
    }
    detect_counters(&pmu->gp_counters, &pmu->fixed_counters);
    snprintf(path, sizeof(path), "%s/caps/num_gp_counters", dir); /* not standard; tests */
    if (read_small(path, buf, sizeof(buf)) == 0 && atoi(buf) > 0)
        pmu->gp_counters = atoi(buf);
    if (!pmu->present)
        return;
    char fmt[2100];
    snprintf(fmt, sizeof(fmt), "%s/format", dir);
    int n_pm = 0, n_legacy = 0;
    for (int ev = PS_EV_FIRST_TD; ev < PS_EV_COUNT; ev++) {
        snprintf(path, sizeof(path), "%s/events/%s", dir, catalogue[ev].name);
        if (read_small(path, buf, sizeof(buf)))
            continue;
        uint64_t cfg;
        if (ps_parse_event_string(fmt, buf, &cfg, NULL))
            continue;
        pmu->td[ev].type = pmu->type;
        pmu->td[ev].config = cfg;
        pmu->td[ev].scale = 1.0;
        snprintf(path, sizeof(path), "%s/events/%s.scale", dir, catalogue[ev].name);
        if (read_small(path, buf, sizeof(buf)) == 0) {
            double sc = strtod(buf, NULL);
            if (sc > 0)
                pmu->td[ev].scale = sc;
        }
        pmu->td_listed[ev] = 1;
        if (catalogue[ev].lgroup == 6)
            n_pm++;
        else
            n_legacy++;
    }
    if (n_pm == 5)
        pmu->topdown = PS_TD_PERF_METRICS;
    else if (n_legacy == 5)
        pmu->topdown = PS_TD_LEGACY;
}

/* GP counters an event needs. */
static int cost(enum ps_ev ev, int fixed_free)
{
    return catalogue[ev].fixed && fixed_free ? 0 : 1;
}

int ps_plan_groups(const int *wanted, int limit, int fixed_free, struct ps_group *out, int max)
{
    int ng = 0;
    if (limit < 1)
        limit = 1;
    /* Software events: one group each (they never compete for counters). */
    for (int ev = 0; ev < PS_EV_FIRST_HW && ng < max; ev++)
        if (wanted[ev]) {
            out[ng].n = 1;
            out[ng].ev[0] = (enum ps_ev)ev;
            ng++;
        }
    /* Topdown sets: one group each, slots (or total slots) first. */
    for (int lg = 6; lg <= 7; lg++) {
        struct ps_group g = {0};
        for (int ev = PS_EV_FIRST_TD; ev < PS_EV_COUNT; ev++)
            if (wanted[ev] && catalogue[ev].lgroup == lg && g.n < PS_MAX_GROUP)
                g.ev[g.n++] = (enum ps_ev)ev;
        if (g.n && ng < max)
            out[ng++] = g;
    }
    /* Hardware logical groups, first fit. */
    int first_hw = ng;
    int used[PS_EV_COUNT] = {0};
    for (int lg = 1; lg <= 5; lg++) {
        struct ps_group g = {0};
        int need = 0;
        for (int ev = PS_EV_FIRST_HW; ev < PS_EV_FIRST_TD; ev++)
            if (wanted[ev] && catalogue[ev].lgroup == lg) {
                g.ev[g.n++] = (enum ps_ev)ev;
                need += cost((enum ps_ev)ev, fixed_free);
            }
        if (!g.n)
            continue;
        int placed = 0;
        for (int i = first_hw; i < ng && !placed; i++) {
            if (used[i] + need <= limit && out[i].n + g.n <= PS_MAX_GROUP) {
                for (int k = 0; k < g.n; k++)
                    out[i].ev[out[i].n++] = g.ev[k];
                used[i] += need;
                placed = 1;
            }
        }
        if (placed)
            continue;
        /* A new group; a logical group wider than the PMU is cut into PMU-sized pieces. */
        int k = 0;
        while (k < g.n && ng < max) {
            struct ps_group piece = {0};
            int pn = 0;
            while (k < g.n && (pn + cost(g.ev[k], fixed_free) <= limit || piece.n == 0)) {
                pn += cost(g.ev[k], fixed_free);
                piece.ev[piece.n++] = g.ev[k++];
            }
            used[ng] = pn;
            out[ng++] = piece;
        }
    }
    return ng;
}
