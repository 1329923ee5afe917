/* internal.h — the data model shared inside perfspect/: the event catalogue, readings
 * (snapshots), intervals, derived metrics and the report; live sessions and replays both feed it.
 */
#ifndef GPROF_PERFSPECT_INTERNAL_H
#define GPROF_PERFSPECT_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "perfspect/perfspect.h"

/* Every event a session may count. Software first, then generic hardware, then sysfs topdown. */
enum ps_ev {
    PS_EV_TASK_CLOCK,
    PS_EV_CONTEXT_SWITCHES,
    PS_EV_CPU_MIGRATIONS,
    PS_EV_MINOR_FAULTS,
    PS_EV_MAJOR_FAULTS,
    PS_EV_CYCLES, /* first hardware event */
    PS_EV_INSTRUCTIONS,
    PS_EV_REF_CYCLES,
    PS_EV_BRANCHES,
    PS_EV_BRANCH_MISSES,
    PS_EV_CACHE_REFERENCES,
    PS_EV_CACHE_MISSES,
    PS_EV_L1D_LOAD_MISSES,
    PS_EV_LLC_LOAD_MISSES,
    PS_EV_DTLB_LOAD_MISSES,
    PS_EV_STALLED_FRONTEND,
    PS_EV_STALLED_BACKEND,
    PS_EV_SLOTS, /* first topdown event (sysfs cpu/events) */
    PS_EV_TD_RETIRING,
    PS_EV_TD_BAD_SPEC,
    PS_EV_TD_FE_BOUND,
    PS_EV_TD_BE_BOUND,
    PS_EV_TD_TOTAL_SLOTS,
    PS_EV_TD_SLOTS_ISSUED,
    PS_EV_TD_SLOTS_RETIRED,
    PS_EV_TD_FETCH_BUBBLES,
    PS_EV_TD_RECOVERY_BUBBLES,
    PS_EV_COUNT
};
#define PS_EV_FIRST_HW PS_EV_CYCLES
#define PS_EV_FIRST_TD PS_EV_SLOTS

enum ps_ev_kind { PS_KIND_SW, PS_KIND_HW, PS_KIND_SYSFS };

struct ps_event_info {
    const char *name; /* perf's name, also the sysfs file name for topdown events */
    enum ps_ev_kind kind;
    uint32_t type; /* PERF_TYPE_* for SW/HW; resolved from sysfs for PS_KIND_SYSFS */
    uint64_t config;
    int lgroup; /* logical group: events whose ratios need them counted together */
    int fixed;  /* can live on an Intel fixed counter (does not use a GP counter) */
};
const struct ps_event_info *ps_event_info(enum ps_ev ev);
/* Event id by perf name, or -1. */
int ps_event_by_name(const char *name);

/* Which topdown set the CPU PMU lists in sysfs. */
enum ps_topdown { PS_TD_NONE, PS_TD_PERF_METRICS, PS_TD_LEGACY };

/* A resolved event: what perf_event_open needs, plus the sysfs scale. */
struct ps_event_attr {
    uint32_t type;
    uint64_t config;
    double scale;
};

/* What sysfs says about the core PMU. */
struct ps_pmu {
    int present;   /* <root>/bus/event_source/devices/cpu exists */
    uint32_t type; /* its perf type */
    enum ps_topdown topdown;
    struct ps_event_attr td[PS_EV_COUNT]; /* valid for topdown events listed */
    int td_listed[PS_EV_COUNT];
    int gp_counters;    /* general-purpose counters per logical CPU (guess when unknown) */
    int fixed_counters; /* Intel fixed counters (0 elsewhere) */
};
/* Reads <root>/bus/event_source/devices/cpu/ (type, format/, events/). Never fails: missing
 * pieces leave present/topdown at 0/NONE. */
void ps_pmu_probe(const char *sysfs_root, struct ps_pmu *pmu);
/* Parses a sysfs event string ("event=0x00,umask=0x80" — terms as <format dir> defines them)
 * into config. Returns 0 or -EINVAL with err naming the bad term. */
int ps_parse_event_string(const char *format_dir, const char *s, uint64_t *config,
                          struct gp_err *err);
/* Places value into config along a sysfs format spec ("config:0-7,32-35"). -EINVAL if the spec
 * is not about `config` or the value does not fit. */
int ps_format_apply(const char *spec, uint64_t value, uint64_t *config);

/* --- group planning (pure) --- */
#define PS_MAX_GROUP 16
struct ps_group {
    int n;
    enum ps_ev ev[PS_MAX_GROUP];
};
/* Packs the requested events (in catalogue order) into groups: events of one logical group stay
 * together, logical groups are packed first-fit while the GP counters they need stay <= limit
 * (fixed-counter events are free when fixed_free), topdown events form their own group led by
 * slots. Returns the number of groups written (<= max). */
int ps_plan_groups(const int *wanted, int limit, int fixed_free, struct ps_group *out, int max);

/* --- opening with fallback --- */
struct perf_event_attr;
/* perf_event_open seam: returns an fd or a negative errno. */
typedef int (*ps_open_fn)(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                          unsigned long flags, void *ctx);
int ps_sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu, int group_fd,
                           unsigned long flags, void *ctx);

/* One place counters are opened at: a CPU (pid -1) or a thread (cpu -1). */
struct ps_instance {
    pid_t pid;
    int cpu;
};

struct ps_counters {
    int ninst;
    struct ps_instance *inst;
    int *fd[PS_EV_COUNT];           /* [ninst] each, -1 where closed; NULL = event not open */
    int leader[PS_EV_COUNT];        /* 1 when the event leads its group */
    int refused_errno[PS_EV_COUNT]; /* > 0 when the kernel refused the event */
    int open_errno_hw; /* errno of the first refused hardware event (for the reason line) */
    int ngroups;       /* groups actually opened (after fallbacks) */
    struct ps_group groups[PS_EV_COUNT];
};
/* Opens each group on every instance. Groups refused with EINVAL/ENOSPC are split (logical
 * groups, then single events); an event refused on its own is recorded in refused_errno.
 * Instances whose thread vanished (ESRCH) are dropped. */
int ps_counters_open(struct ps_counters *c, const struct ps_group *groups, int ngroups,
                     const struct ps_event_attr *attrs, const struct ps_instance *inst, int ninst,
                     int inherit, int enable_on_exec, ps_open_fn open_fn, void *open_ctx,
                     struct gp_err *err);
void ps_counters_close(struct ps_counters *c);

/* --- readings --- */
struct ps_read {
    uint64_t value, enabled, running;
};

/* Cumulative jiffies of the "cpu" line of /proc/stat. */
struct ps_procstat {
    uint64_t user, nice, system, idle, iowait, irq, softirq, steal;
};

/* Everything read at one instant; cumulative counts (deltas are taken by the engine). */
struct ps_snapshot {
    uint64_t t_ns;                      /* CLOCK_MONOTONIC */
    int ninst[PS_EV_COUNT];             /* 0 = event not counted */
    struct ps_read *reads[PS_EV_COUNT]; /* [ninst] each */
    int have_procstat;
    struct ps_procstat procstat;
    int have_mem;
    uint64_t mem_used_kb, mem_total_kb;
    int have_rss;
    uint64_t rss_kb;
};
void ps_snapshot_clear(struct ps_snapshot *s); /* frees reads */

int ps_read_procstat(struct ps_procstat *out);
int ps_read_meminfo(uint64_t *used_kb, uint64_t *total_kb);
/* Resident set of the pids (sum), kB. */
int ps_read_rss(const pid_t *pids, size_t npids, uint64_t *kb);

/* --- derived metrics --- */
enum ps_metric {
    PS_M_CPU_UTIL,
    PS_M_CPU_USER,
    PS_M_CPU_SYSTEM,
    PS_M_CPU_IOWAIT,
    PS_M_MEM_USED_MB,
    PS_M_RSS_MB,
    PS_M_CPUS_UTILIZED,
    PS_M_CS_PER_S,
    PS_M_MIGRATIONS_PER_S,
    PS_M_MINFLT_PER_S,
    PS_M_MAJFLT_PER_S,
    PS_M_FREQ_GHZ,
    PS_M_CPI,
    PS_M_IPC,
    PS_M_BR_MISS_PCT,
    PS_M_L1D_MPKI,
    PS_M_LLC_MPKI,
    PS_M_DTLB_MPKI,
    PS_M_CACHE_MISS_PCT,
    PS_M_FE_STALL_PCT,
    PS_M_BE_STALL_PCT,
    PS_M_TMA_FRONTEND,
    PS_M_TMA_BAD_SPEC,
    PS_M_TMA_BACKEND,
    PS_M_TMA_RETIRING,
    PS_M_COUNT
};
enum ps_mkind { PS_MK_RATIO, PS_MK_GAUGE }; /* ratio of totals vs. mean of samples */

struct ps_metric_info {
    const char *key;     /* JSON key */
    const char *display; /* hwmetrics / table name (PerfSpect-like) */
    const char *unit;
    enum ps_mkind kind;
    const char *meaning; /* one line for the table */
};
const struct ps_metric_info *ps_metric_info(enum ps_metric m);
int ps_metric_by_key(const char *key);

/* One event over one interval (or the whole session). */
struct ps_evval {
    int present;   /* counted (possibly 0 because nothing ran) */
    double scaled; /* sum over instances of value * enabled / running, times the sysfs scale */
    uint64_t raw, enabled, running;
};

/* Software inputs of one interval. */
struct ps_procdelta {
    int have_procstat;
    struct ps_procstat d;
    int have_mem;
    double mem_used_kb;
    int have_rss;
    double rss_kb;
};

/* Computes every metric it can; present[m] says which. */
void ps_metrics_compute(const struct ps_evval *ev, const struct ps_procdelta *pd, double dt_s,
                        enum ps_topdown td, double *val, int *present);

struct ps_interval {
    double t_s; /* end of the interval, seconds since start */
    double dt_s;
    struct ps_evval ev[PS_EV_COUNT];
    struct ps_procdelta pd;
    double m[PS_M_COUNT];
    int mp[PS_M_COUNT];
};

struct ps_refusal {
    enum ps_ev ev;
    char reason[128];
};

struct ps_report {
    /* target */
    int system_wide;
    pid_t *pids;
    size_t npids;
    int ncpus;
    unsigned interval_ms;
    long long started_unix; /* wall clock at start, seconds */
    char hostname[256];
    /* hardware */
    int hw_tried;
    char hw_line[640]; /* empty when hardware counters were counted */
    enum ps_topdown topdown;
    int gp_counters;
    double ev_scale[PS_EV_COUNT];
    int ev_counted[PS_EV_COUNT]; /* opened */
    struct ps_refusal refused[PS_EV_COUNT];
    size_t nrefused;
    /* data */
    struct ps_interval *iv;
    size_t niv, cap;
    /* engine state */
    struct ps_snapshot prev;
    int have_prev;
    uint64_t t0_ns;
};

struct ps_report *ps_report_new(void);
/* Takes deltas against the previous snapshot and appends an interval (the first snapshot only
 * sets the baseline). Takes ownership of s's reads. */
int ps_report_push(struct ps_report *r, struct ps_snapshot *s, struct gp_err *err);
/* Whole-session totals of one event; present only if present in every interval. */
void ps_report_totals(const struct ps_report *r, struct ps_evval *tot, struct ps_procdelta *pd,
                      double *dt_s);
/* Fills the summary of metric m. */
void ps_report_stat(const struct ps_report *r, enum ps_metric m, struct ps_stat *out);
/* Records a refused event with strerror(errnum) (or reason when not NULL). */
void ps_report_refuse(struct ps_report *r, enum ps_ev ev, int errnum, const char *reason);

#endif
