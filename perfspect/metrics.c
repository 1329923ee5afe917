/* metrics.c — derived metrics from one interval's scaled counts: rates, CPI/IPC, mispredicts,
 * misses per kilo-instruction, stalls, and TMA level 1 from Intel's topdown events. */
#include "perfspect/internal.h"

#include <pthread.h>
#include <string.h>

static const struct ps_metric_info metrics[PS_M_COUNT] = {
        [PS_M_CPU_UTIL] = {"cpu_util_pct", "CPU utilization %", "%", PS_MK_RATIO,
                           "busy share of all host CPUs: (user+nice+system+irq+softirq+steal) / "
                           "all time, /proc/stat"},
        [PS_M_CPU_USER] = {"cpu_user_pct", "CPU utilization % in user mode", "%", PS_MK_RATIO,
                           "host CPU time in user mode (user+nice), /proc/stat"},
        [PS_M_CPU_SYSTEM] = {"cpu_system_pct", "CPU utilization % in kernel mode", "%", PS_MK_RATIO,
                             "host CPU time in the kernel (system+irq+softirq), /proc/stat"},
        [PS_M_CPU_IOWAIT] = {"cpu_iowait_pct", "CPU iowait %", "%", PS_MK_RATIO,
                             "idle host CPU time with I/O outstanding, /proc/stat"},
        [PS_M_MEM_USED_MB] = {"mem_used_mb", "memory used (MB)", "MB", PS_MK_GAUGE,
                              "host memory in use: MemTotal - MemAvailable, /proc/meminfo"},
        [PS_M_RSS_MB] = {"rss_mb", "target resident memory (MB)", "MB", PS_MK_GAUGE,
                         "resident set of the target processes, /proc/PID/statm"},
        [PS_M_CPUS_UTILIZED] = {"cpus_utilized", "CPUs utilized", "CPUs", PS_MK_RATIO,
                                "task-clock / wall time: CPUs kept busy by the target (all CPUs "
                                "when system-wide)"},
        [PS_M_CS_PER_S] =
                {"cs_per_s", "context switches per sec", "/s", PS_MK_RATIO,
                 "times a thread of the target (pids or host) was switched out, per second"},
        [PS_M_MIGRATIONS_PER_S] = {"migrations_per_s", "CPU migrations per sec", "/s", PS_MK_RATIO,
                                   "times a thread of the target moved to another CPU, per second"},
        [PS_M_MINFLT_PER_S] = {"minor_faults_per_s", "minor page faults per sec", "/s", PS_MK_RATIO,
                               "page faults served without I/O, per second"},
        [PS_M_MAJFLT_PER_S] = {"major_faults_per_s", "major page faults per sec", "/s", PS_MK_RATIO,
                               "page faults that waited for I/O, per second"},
        [PS_M_FREQ_GHZ] = {"freq_ghz", "CPU operating frequency (in GHz)", "GHz", PS_MK_RATIO,
                           "cycles / task-clock: average clock while running"},
        [PS_M_CPI] = {"cpi", "CPI", "", PS_MK_RATIO,
                      "cycles per instruction; lower is better (~0.25 is the 4-wide ideal)"},
        [PS_M_IPC] = {"ipc", "IPC", "", PS_MK_RATIO, "instructions per cycle; 1/CPI"},
        [PS_M_BR_MISS_PCT] = {"branch_mispredict_pct", "branch misprediction ratio %", "%",
                              PS_MK_RATIO, "branch-misses / branch-instructions"},
        [PS_M_L1D_MPKI] = {"l1d_mpki", "L1D MPKI", "", PS_MK_RATIO,
                           "L1 data cache load misses per 1000 instructions"},
        [PS_M_LLC_MPKI] = {"llc_mpki", "LLC MPKI", "", PS_MK_RATIO,
                           "last-level cache load misses per 1000 instructions"},
        [PS_M_DTLB_MPKI] = {"dtlb_mpki", "DTLB load MPKI", "", PS_MK_RATIO,
                            "data TLB load misses per 1000 instructions"},
        [PS_M_CACHE_MISS_PCT] = {"cache_miss_pct", "cache miss %", "%", PS_MK_RATIO,
                                 "cache-misses / cache-references (last-level cache)"},
        [PS_M_FE_STALL_PCT] = {"frontend_stall_pct", "frontend stalled cycles %", "%", PS_MK_RATIO,
                               "stalled-cycles-frontend / cycles"},
        [PS_M_BE_STALL_PCT] = {"backend_stall_pct", "backend stalled cycles %", "%", PS_MK_RATIO,
                               "stalled-cycles-backend / cycles"},
        [PS_M_TMA_FRONTEND] = {"tma_frontend_bound_pct", "TMA_Frontend_Bound(%)", "%", PS_MK_RATIO,
                               "issue slots lost because the front end delivered no uops"},
        [PS_M_TMA_BAD_SPEC] = {"tma_bad_speculation_pct", "TMA_Bad_Speculation(%)", "%",
                               PS_MK_RATIO, "issue slots wasted on mispredicted or cleared uops"},
        [PS_M_TMA_BACKEND] = {"tma_backend_bound_pct", "TMA_Backend_Bound(%)", "%", PS_MK_RATIO,
                              "issue slots stalled waiting for execution units or memory"},
        [PS_M_TMA_RETIRING] = {"tma_retiring_pct", "TMA_Retiring(%)", "%", PS_MK_RATIO,
                               "issue slots that retired useful uops"},
};

const struct ps_metric_info *ps_metric_info(enum ps_metric m)
{
    return (int)m >= 0 && m < PS_M_COUNT ? &metrics[m] : NULL;
}

int ps_metric_by_key(const char *key)
{
    for (int m = 0; m < PS_M_COUNT; m++)
        if (!strcmp(metrics[m].key, key))
            return m;
    return -1;
}

static const char *metric_names[PS_M_COUNT + 1];

static void fill_names(void)
{
    for (int m = 0; m < PS_M_COUNT; m++)
        metric_names[m] = metrics[m].key;
    metric_names[PS_M_COUNT] = NULL;
}

const char *const *ps_metric_names(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_names);
    return metric_names;
}

static void set(double *val, int *present, enum ps_metric m, double v)
{
    val[m] = v;
    present[m] = 1;
}

#define HAVE(e) (ev[e].present)
#define V(e)    (ev[e].scaled)

void ps_metrics_compute(const struct ps_evval *ev, const struct ps_procdelta *pd, double dt_s,
                        enum ps_topdown td, double *val, int *present)
{
    memset(present, 0, sizeof(int) * PS_M_COUNT);
    for (int m = 0; m < PS_M_COUNT; m++)
        val[m] = 0;
    /* /proc/stat: shares of all jiffies that passed on the host. */
    if (pd->have_procstat) {
        const struct ps_procstat *d = &pd->d;
        double busy = (double)(d->user + d->nice + d->system + d->irq + d->softirq + d->steal);
        double all = busy + (double)(d->idle + d->iowait);
        if (all > 0) {
            set(val, present, PS_M_CPU_UTIL, 100.0 * busy / all);
            set(val, present, PS_M_CPU_USER, 100.0 * (double)(d->user + d->nice) / all);
            set(val, present, PS_M_CPU_SYSTEM,
                100.0 * (double)(d->system + d->irq + d->softirq) / all);
            set(val, present, PS_M_CPU_IOWAIT, 100.0 * (double)d->iowait / all);
        }
    }
    if (pd->have_mem)
        set(val, present, PS_M_MEM_USED_MB, pd->mem_used_kb / 1024.0);
    if (pd->have_rss)
        set(val, present, PS_M_RSS_MB, pd->rss_kb / 1024.0);
    if (dt_s > 0) {
        if (HAVE(PS_EV_TASK_CLOCK))
            set(val, present, PS_M_CPUS_UTILIZED, V(PS_EV_TASK_CLOCK) / 1e9 / dt_s);
        if (HAVE(PS_EV_CONTEXT_SWITCHES))
            set(val, present, PS_M_CS_PER_S, V(PS_EV_CONTEXT_SWITCHES) / dt_s);
        if (HAVE(PS_EV_CPU_MIGRATIONS))
            set(val, present, PS_M_MIGRATIONS_PER_S, V(PS_EV_CPU_MIGRATIONS) / dt_s);
        if (HAVE(PS_EV_MINOR_FAULTS))
            set(val, present, PS_M_MINFLT_PER_S, V(PS_EV_MINOR_FAULTS) / dt_s);
        if (HAVE(PS_EV_MAJOR_FAULTS))
            set(val, present, PS_M_MAJFLT_PER_S, V(PS_EV_MAJOR_FAULTS) / dt_s);
    }
    /* Hardware ratios: only when every input was counted and the denominator is not 0. */
    double cyc = V(PS_EV_CYCLES), ins = V(PS_EV_INSTRUCTIONS);
    int hc = HAVE(PS_EV_CYCLES) && cyc > 0, hi = HAVE(PS_EV_INSTRUCTIONS) && ins > 0;
    if (hc && HAVE(PS_EV_TASK_CLOCK) && V(PS_EV_TASK_CLOCK) > 0)
        set(val, present, PS_M_FREQ_GHZ, cyc / V(PS_EV_TASK_CLOCK));
    if (hc && hi) {
        set(val, present, PS_M_CPI, cyc / ins);
        set(val, present, PS_M_IPC, ins / cyc);
    }
    if (HAVE(PS_EV_BRANCHES) && HAVE(PS_EV_BRANCH_MISSES) && V(PS_EV_BRANCHES) > 0)
        set(val, present, PS_M_BR_MISS_PCT, 100.0 * V(PS_EV_BRANCH_MISSES) / V(PS_EV_BRANCHES));
    if (hi && HAVE(PS_EV_L1D_LOAD_MISSES))
        set(val, present, PS_M_L1D_MPKI, 1000.0 * V(PS_EV_L1D_LOAD_MISSES) / ins);
    if (hi && HAVE(PS_EV_LLC_LOAD_MISSES))
        set(val, present, PS_M_LLC_MPKI, 1000.0 * V(PS_EV_LLC_LOAD_MISSES) / ins);
    if (hi && HAVE(PS_EV_DTLB_LOAD_MISSES))
        set(val, present, PS_M_DTLB_MPKI, 1000.0 * V(PS_EV_DTLB_LOAD_MISSES) / ins);
    if (HAVE(PS_EV_CACHE_REFERENCES) && HAVE(PS_EV_CACHE_MISSES) && V(PS_EV_CACHE_REFERENCES) > 0)
        set(val, present, PS_M_CACHE_MISS_PCT,
            100.0 * V(PS_EV_CACHE_MISSES) / V(PS_EV_CACHE_REFERENCES));
    if (hc && HAVE(PS_EV_STALLED_FRONTEND))
        set(val, present, PS_M_FE_STALL_PCT, 100.0 * V(PS_EV_STALLED_FRONTEND) / cyc);
    if (hc && HAVE(PS_EV_STALLED_BACKEND))
        set(val, present, PS_M_BE_STALL_PCT, 100.0 * V(PS_EV_STALLED_BACKEND) / cyc);

    /* TMA level 1.
     * PERF_METRICS (Ice Lake and later): the kernel reports each topdown-* event as
     * slots x (its 8-bit fraction / 255). As perf does, the four are divided by their sum (not
     * by slots), so rounding in the 8-bit fractions cannot make them add up to more than 100%:
     *   X_pct = 100 * topdown-X / (retiring + bad-spec + fe-bound + be-bound).
     * Legacy (Skylake to Cascade Lake; Yasin's TMA, tools/perf/Documentation/topdown.txt):
     *   total = topdown-total-slots (sysfs scale applied: 4 or 2 x CPU_CLK_UNHALTED)
     *   Frontend_Bound  = fetch-bubbles / total
     *   Bad_Speculation = (slots-issued - slots-retired + recovery-bubbles) / total
     *   Retiring        = slots-retired / total
     *   Backend_Bound   = 1 - (Frontend_Bound + Bad_Speculation + Retiring)  */
    if (td == PS_TD_PERF_METRICS && HAVE(PS_EV_TD_RETIRING) && HAVE(PS_EV_TD_BAD_SPEC) &&
        HAVE(PS_EV_TD_FE_BOUND) && HAVE(PS_EV_TD_BE_BOUND)) {
        double sum = V(PS_EV_TD_RETIRING) + V(PS_EV_TD_BAD_SPEC) + V(PS_EV_TD_FE_BOUND) +
                     V(PS_EV_TD_BE_BOUND);
        if (sum > 0) {
            set(val, present, PS_M_TMA_FRONTEND, 100.0 * V(PS_EV_TD_FE_BOUND) / sum);
            set(val, present, PS_M_TMA_BAD_SPEC, 100.0 * V(PS_EV_TD_BAD_SPEC) / sum);
            set(val, present, PS_M_TMA_BACKEND, 100.0 * V(PS_EV_TD_BE_BOUND) / sum);
            set(val, present, PS_M_TMA_RETIRING, 100.0 * V(PS_EV_TD_RETIRING) / sum);
        }
    } else if (td == PS_TD_LEGACY && HAVE(PS_EV_TD_TOTAL_SLOTS) && HAVE(PS_EV_TD_SLOTS_ISSUED) &&
               HAVE(PS_EV_TD_SLOTS_RETIRED) && HAVE(PS_EV_TD_FETCH_BUBBLES) &&
               HAVE(PS_EV_TD_RECOVERY_BUBBLES) && V(PS_EV_TD_TOTAL_SLOTS) > 0) {
        double total = V(PS_EV_TD_TOTAL_SLOTS);
        double fe = V(PS_EV_TD_FETCH_BUBBLES) / total;
        double bs = (V(PS_EV_TD_SLOTS_ISSUED) - V(PS_EV_TD_SLOTS_RETIRED) +
                     V(PS_EV_TD_RECOVERY_BUBBLES)) /
                    total;
        double ret = V(PS_EV_TD_SLOTS_RETIRED) / total;
        double be = 1.0 - (fe + bs + ret);
        set(val, present, PS_M_TMA_FRONTEND, 100.0 * fe);
        set(val, present, PS_M_TMA_BAD_SPEC, 100.0 * bs);
        set(val, present, PS_M_TMA_BACKEND, 100.0 * be);
        set(val, present, PS_M_TMA_RETIRING, 100.0 * ret);
    }
}
