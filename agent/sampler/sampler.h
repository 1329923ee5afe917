/* sampler.h — CPU stack sampling of the host or of chosen processes, one interface over two
 * engines: eBPF on perf_event with in-kernel aggregation, and a plain perf_event mmap ring.
 *
 * Life cycle: open (checks permissions and the PMU, loads, opens one perf_event per online CPU,
 * nothing sampled yet) → start → { poll_events often (50–100 ms), drain about once a second }
 * → stop → drain (after stop, a drain empties everything, so the last counts are complete) →
 * close. Instances are independent (no globals): several may sample at once at different
 * frequencies. poll_events and drain may run on different threads; the other calls belong to
 * the thread that owns the instance. */
#ifndef GPROF_AGENT_SAMPLER_SAMPLER_H
#define GPROF_AGENT_SAMPLER_SAMPLER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct gp_uw_entry;

enum gp_sampler_kind { GP_SAMPLER_BPF, GP_SAMPLER_PERF };
enum gp_sample_event { GP_EVENT_CPU_CLOCK, GP_EVENT_CYCLES };

struct gp_sampler_opts {
    enum gp_sampler_kind kind;
    enum gp_sample_event event;
    unsigned freq_hz; /* samples per second per CPU; 0 = 99 */
    const int *pids;  /* processes to sample (a thread id selects its process); */
    size_t npids;     /* empty = the whole host */
    int include_idle; /* also count the idle task (pid 0) */
    /* Optional sizes, 0 = defaults. BPF: entries per count map / stack map (x2, double
     * buffered; stack entries are rounded up to a power of two), slots used of each per-CPU
     * front table (a power of two up to GP_FRONT_SLOTS; fewer only for tests, which use 1 to
     * send nearly every key through the count map). perf: ring pages per CPU. */
    uint32_t count_entries;
    uint32_t stack_entries;
    uint32_t front_slots;
    uint32_t perf_ring_pages;
    /* BPF: unwind tables (may be NULL: frame pointers only). The engine mirrors the registry
     * into its maps while open; processes noted in it are walked by their tables in BPF. */
    struct gp_uw_registry *unwind;
    int unwind_client; /* the session's client of that registry (gp_uw_registry_ref; 0: its own) */
    /* BPF: walk by tail calls (what 5.15 and 5.16 run) even where the kernel has bpf_loop. */
    int uw_no_loop;
    /* perf: unwind user stacks in user space with the unwind tables (agent/unwind/): each
     * sample carries the user RBP/RSP/RIP and perf_stack_bytes of user stack (0 = 16 KiB, a
     * multiple of 8 up to 63 KiB), walked with uw_lookup (the row of runtime address pc in
     * process tgid, NULL where no table covers it: frame pointers). NULL uw_lookup: the
     * kernel's frame-pointer callchain, nothing more captured. Called from poll_events and
     * drain, so it must be thread-safe. */
    const struct gp_uw_entry *(*uw_lookup)(void *ctx, uint32_t tgid, uint64_t pc);
    void *uw_ctx;
    /* optional, all three or none: one walk holds the tables of its process once (uw_hold,
     * uw_release on uw_ctx) and looks rows up on what uw_hold returned (uw_held_row), instead
     * of a uw_lookup per frame (gp_uw_registry_hold and friends) */
    const void *(*uw_hold)(void *ctx, uint32_t tgid);
    const struct gp_uw_entry *(*uw_held_row)(const void *held, uint64_t pc);
    void (*uw_release)(void *ctx);
    uint32_t perf_stack_bytes;
    /* BPF, diagnostics (tests/kernels/bpf_check.c): when set, each program is loaded with the
     * kernel's verifier statistics (log level 4) and verifier_stats gets its name and that log
     * ("processed N insns ..."; works on kernels without bpf_prog_info.verified_insns, < 5.16). */
    void (*verifier_stats)(void *ctx, const char *prog, const char *log);
    void *verifier_ctx;
    int verifier_log_level; /* 0: 4 (statistics only); 1 or 2: the whole log, up to 64 MiB */
};

/* One aggregated stack handed out by a drain; pointers are valid during the callback only. */
struct gp_raw_sample {
    uint32_t tgid, tid;
    char comm[16];
    const uint64_t *user_ips; /* leaf first, as the kernel reports */
    uint32_t nuser;
    const uint64_t *kernel_ips; /* leaf first; empty when the sample was taken in user mode */
    uint32_t nkernel;
    uint64_t count;
    /* 0, or the negative errno why a stack is missing although it should be there
     * (-ENOSPC: stack map full, -EFAULT: could not be walked); render e.g. "[lost stack]". */
    int user_err, kernel_err;
};

/* SEEN: first sample of a process (read its /proc/PID/maps now, while it lives); EXEC: a sampled
 * or filtered process exec'd (its maps changed); EXIT: a sampled or filtered process ended (its
 * last thread exited). */
enum gp_proc_event_type { GP_PROC_SEEN, GP_PROC_EXEC, GP_PROC_EXIT, GP_PROC_UW_MISS };
/* UW_MISS (BPF sampler): a table walk of process tgid found no table at addr (comm is empty):
 * the binary there may wait for its table (gp_uw_registry_miss). */
struct gp_proc_event {
    enum gp_proc_event_type type;
    uint32_t tgid;
    char comm[16];
    uint64_t addr; /* UW_MISS */
};

struct gp_uw_registry;

struct gp_sampler_stats {
    uint64_t samples;             /* samples taken of wanted processes */
    uint64_t user_stack_errors;   /* user stack could not be stored (stack map full) */
    uint64_t kernel_stack_errors; /* kernel stack could not be walked or stored */
    uint64_t map_full;            /* samples dropped: aggregation table full */
    uint64_t lost;                /* perf: records the kernel lost (ring full) */
    uint64_t drains;
    /* additions */
    uint64_t filtered;    /* samples of other processes, skipped by the pid filter */
    uint64_t events_lost; /* process events dropped (event ring full) */
    uint64_t drained;     /* sum of the counts handed out by drains */
    /* with unwind tables: user stacks walked by tables (in BPF, or in user space for perf), by
     * why the walk stopped (enum gp_uw_stop: end, no_table, unknown_rule, read_error,
     * depth_limit), the user frames those walks produced, and perf sample records too
     * short for what they announce (dropped) */
    uint64_t unwind_stops[5];
    uint64_t unwind_frames;
    uint64_t malformed;
    /* BPF on kernels without bpf_task_pt_regs (< 5.15): user stacks of samples taken in kernel
     * mode, walked by the kernel's frame-pointer walker instead of the unwind tables */
    uint64_t user_stacks_kernel_fp;
};

struct gp_sampler; /* opaque; implementations behind a small ops vtable */

/* Opens the engine o->kind asks for. Fails with a message saying what to do. */
int gp_sampler_open(const struct gp_sampler_opts *o, struct gp_sampler **out, struct gp_err *err);
/* Tries BPF unless o->kind is GP_SAMPLER_PERF; if BPF cannot load, falls back to perf and writes
 * a one-line notice ("BPF sampler unavailable (...); using the perf_event sampler"). notice is
 * "" when no fallback happened. gp_sampler_kind() tells which one was chosen. */
int gp_sampler_open_auto(const struct gp_sampler_opts *o, struct gp_sampler **out, char *notice,
                         size_t notice_len, struct gp_err *err);
enum gp_sampler_kind gp_sampler_kind(const struct gp_sampler *s);
const char *gp_sampler_kind_name(enum gp_sampler_kind k); /* "bpf" | "perf" */
const char *gp_sample_event_name(enum gp_sample_event e); /* "cpu-clock" | "cycles" */
/* Parses "bpf"/"perf" and "cpu-clock"/"cycles"; return 0 or -EINVAL. */
int gp_sampler_parse_kind(const char *s, enum gp_sampler_kind *out);
int gp_sample_event_parse(const char *s, enum gp_sample_event *out);

int gp_sampler_start(struct gp_sampler *s, struct gp_err *err);
/* Stops sampling (idempotent). Counts already taken stay until drained. */
void gp_sampler_stop(struct gp_sampler *s);
/* Delivers pending process events, waiting up to timeout_ms for one; returns how many, or a
 * negative errno. */
int gp_sampler_poll_events(struct gp_sampler *s, int timeout_ms,
                           void (*cb)(const struct gp_proc_event *, void *), void *ctx);
/* Hands out every count taken since the previous drain and forgets them; returns the number of
 * distinct stacks delivered or a negative errno. Sampling continues meanwhile, nothing is lost. */
int gp_sampler_drain(struct gp_sampler *s, void (*cb)(const struct gp_raw_sample *, void *),
                     void *ctx, struct gp_err *err);
/* Adds a process (a thread id selects its process) to the filter, while running. On a
 * whole-host sampler this switches to filtered sampling. -ESRCH when no such process. */
int gp_sampler_add_pid(struct gp_sampler *s, int pid, struct gp_err *err);
/* Removes a process from the filter; filtering stays on (an empty filter samples nothing). */
int gp_sampler_remove_pid(struct gp_sampler *s, int pid);
void gp_sampler_stats(const struct gp_sampler *s, struct gp_sampler_stats *out);
/* BPF: the programs' run time and run count while kernel BPF stats are on (sysctl
 * kernel.bpf_stats_enabled=1 or gp_sampler_enable_bpf_stats). -EOPNOTSUPP for perf. */
int gp_sampler_bpf_runtime(const struct gp_sampler *s, uint64_t *run_time_ns, uint64_t *run_cnt);
/* Turns kernel BPF run-time stats on for as long as the returned fd is open; -errno on error. */
int gp_sampler_enable_bpf_stats(void);
void gp_sampler_close(struct gp_sampler *s);

#endif
