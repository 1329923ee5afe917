/* bpf.c — the eBPF sampler engine: loads bpf/profile.bpf.c, attaches it to one perf_event
 * per online CPU, flips its double buffer and drains the inactive one, forwards process events.
 * A little over 800 lines: loading, the flip and the drain share the skeleton and its map fds;
 * what stands alone is in perf_event.c, tgids.c and uw_maps.c (the unwind tables' maps). */
#include "agent/sampler/bpf_features.h"
#include "agent/sampler/engine.h"
#include "agent/sampler/perf_event.h"
#include "agent/sampler/tgids.h"
#include "agent/sampler/uw_maps.h"
#include "agent/unwind/unwind_user.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "bpf/profile.h"
#include "bpf/unwind.h"
#include "bpf/profile.skel.h"
#include "bpf/profile_compat.skel.h"
#include "common/log.h"

#define KERNEL_ENOTSUPP 524 /* the kernel-internal "operation not supported" */

/* A stack loaded during one drain (open addressing on the stack's hash). */
struct stack_slot {
    uint64_t h; /* 0 = empty */
    int32_t err;
    uint32_t off, n;
};

struct bpf_sampler {
    struct gp_sampler base;
    struct profile_bpf *skel;
    int ncpu_possible;
    int *cpus, ncpus;
    int *pfds;               /* one per online CPU; owned by links[i] once attached */
    struct bpf_link **links; /* perf_event links */
    struct bpf_link *exec_link, *exit_link;
    struct ring_buffer *rb;
    int started, stopped;

    /* event delivery (poll_events thread) */
    void (*ev_cb)(const struct gp_proc_event *, void *);
    void *ev_ctx;
    struct gp_u32set leader_gone; /* processes whose leader exited while other threads live on */

    /* drain state (drain thread) */
    pthread_mutex_t drain_lock;
    uint32_t active;
    uint64_t drains, drained;
    uint32_t count_entries, stack_entries;
    uint32_t keys_cap;         /* count_entries + every CPU's front slots */
    struct gp_count_key *keys; /* one drain's counted keys and their counts */
    uint64_t *vals;
    struct gp_front *fronts;  /* one buffer's front tables, ncpu_possible of them */
    struct stack_slot *slots; /* stacks loaded in the current drain */
    uint32_t slots_cap, nslots;
    uint64_t *ips; /* their addresses */
    size_t ips_len, ips_cap;
    struct gp_stack value; /* lookup buffer */
    uint64_t *batch_keys;  /* read_stacks' buffers (GP_STACK_BATCH each) */
    struct gp_stack *batch_vals;
    int no_stack_batch;                      /* the kernel has no batch ops on hash maps */
    struct gp_cpu_state *seq_now, *seq_then; /* per-CPU state snapshots, ncpu_possible each */

    struct gp_uw_registry *uw; /* mirrored into the unwinder's maps while open, or NULL */
    int uw_client;             /* as which client of uw (a shared registry) */
    struct gp_uw_maps *uw_maps;
    int uw_loop;           /* the unwinder loaded is gp_unwind_loop (bpf_loop), not gp_unwind */
    uint32_t uw_procs_cap; /* processes the unwinder's process map holds */
};

/* Processes a host-wide session's unwinder serves on kernels that need its map preallocated
 * (< 6.1; bpf_features.h): ~4 MiB of kernel memory. */
#define GP_UW_PROCS_PREALLOC 1024

/* ---- libbpf log routing: process-wide, set once; the last warning is kept per thread so an
 * open that fails can quote it. ---- */

static __thread char libbpf_last[256];
static pthread_once_t libbpf_print_once = PTHREAD_ONCE_INIT;

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof(line), fmt, ap);
    size_t n = strlen(line);
    while (n && line[n - 1] == '\n')
        line[--n] = '\0';
    if (level == LIBBPF_WARN && n) {
        size_t m = n < sizeof(libbpf_last) - 1 ? n : sizeof(libbpf_last) - 1;
        memcpy(libbpf_last, line, m);
        libbpf_last[m] = '\0';
    }
    if (level != LIBBPF_DEBUG)
        gp_debug("libbpf: %s", line);
    return 0;
}

static void libbpf_setup(void)
{
    libbpf_set_print(libbpf_print_fn);
}

/* ---- helpers ---- */

static uint32_t round_pow2(uint32_t v)
{
    uint32_t p = 1;
    while (p < v && p < (1u << 30))
        p <<= 1;
    return p;
}

static int counts_fd(struct bpf_sampler *b, uint32_t idx)
{
    return bpf_map__fd(idx ? b->skel->maps.counts1 : b->skel->maps.counts0);
}

static int stacks_fd(struct bpf_sampler *b, uint32_t idx)
{
    return bpf_map__fd(idx ? b->skel->maps.stacks1 : b->skel->maps.stacks0);
}

static int read_inflight(struct bpf_sampler *b, struct gp_cpu_state *vals)
{
    uint32_t zero = 0;
    return bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.cpustate), &zero, vals);
}

/* After active_idx changed: wait until no program that may have read the old value is still
 * writing (each CPU's sequence is odd while a sample is inside a buffer). */
static void wait_inflight(struct bpf_sampler *b)
{
    if (read_inflight(b, b->seq_then))
        return;
    for (int spins = 0; spins < 200000; spins++) {
        int busy = 0;
        for (int c = 0; c < b->ncpu_possible; c++)
            if (b->seq_then[c].seq & 1)
                busy = 1;
        if (!busy)
            return;
        struct timespec ts = {0, 20000};
        nanosleep(&ts, NULL);
        if (read_inflight(b, b->seq_now))
            return;
        for (int c = 0; c < b->ncpu_possible; c++)
            if (b->seq_now[c].seq != b->seq_then[c].seq)
                b->seq_then[c].seq = 0; /* that CPU moved on: its writer finished */
    }
    gp_warn("sampler: a BPF program stayed inside a buffer for >4 s; draining anyway");
}

static uint64_t stat_sum(const struct bpf_sampler *b, uint32_t idx)
{
    uint64_t vals[b->ncpu_possible];
    if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.stats), &idx, vals))
        return 0;
    uint64_t s = 0;
    for (int c = 0; c < b->ncpu_possible; c++)
        s += vals[c];
    return s;
}

static int slots_grow(struct bpf_sampler *b)
{
    uint32_t ncap = b->slots_cap ? b->slots_cap * 2 : 1024;
    struct stack_slot *ns = calloc(ncap, sizeof(*ns));
    if (!ns)
        return -ENOMEM;
    for (uint32_t i = 0; i < b->slots_cap; i++) {
        if (!b->slots[i].h)
            continue;
        uint32_t j = (uint32_t)b->slots[i].h & (ncap - 1);
        while (ns[j].h)
            j = (j + 1) & (ncap - 1);
        ns[j] = b->slots[i];
    }
    free(b->slots);
    b->slots = ns;
    b->slots_cap = ncap;
    return 0;
}

/* The slot of stack h, a new empty one (*fresh set) if it has none yet; NULL on OOM. */
static struct stack_slot *slot_of(struct bpf_sampler *b, uint64_t h, int *fresh)
{
    *fresh = 0;
    if ((b->nslots + 1) * 2 > b->slots_cap && slots_grow(b))
        return NULL;
    uint32_t m = b->slots_cap - 1, j = (uint32_t)h & m;
    for (; b->slots[j].h; j = (j + 1) & m)
        if (b->slots[j].h == h)
            return &b->slots[j];
    struct stack_slot *sl = &b->slots[j];
    sl->h = h;
    sl->err = 0;
    sl->n = 0;
    sl->off = 0;
    b->nslots++;
    *fresh = 1;
    return sl;
}

/* Copies a stack read from the map into the drain's addresses and its slot. */
static void slot_fill(struct bpf_sampler *b, struct stack_slot *sl, const struct gp_stack *v)
{
    uint32_t n = v->n < GP_MAX_STACK_DEPTH ? v->n : GP_MAX_STACK_DEPTH;
    if (b->ips_cap - b->ips_len < n) {
        size_t ncap = b->ips_cap ? b->ips_cap * 2 : 64 * GP_MAX_STACK_DEPTH;
        uint64_t *nips = realloc(b->ips, ncap * sizeof(*nips));
        if (!nips) {
            sl->err = -ENOMEM;
            return;
        }
        b->ips = nips;
        b->ips_cap = ncap;
    }
    memcpy(b->ips + b->ips_len, v->ips, n * sizeof(uint64_t));
    sl->off = (uint32_t)b->ips_len;
    sl->n = n;
    b->ips_len += n;
}

/* Looks a stack up (once per drain), removing it from the stack map, unless read_stacks has
 * loaded it already. NULL on OOM. */
static struct stack_slot *get_stack(struct bpf_sampler *b, int fd, uint64_t h)
{
    int fresh;
    struct stack_slot *sl = slot_of(b, h, &fresh);
    if (!sl || !fresh)
        return sl;
    int rc = bpf_map_lookup_and_delete_elem(fd, &h, &b->value);
    if (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -KERNEL_ENOTSUPP) {
        rc = bpf_map_lookup_elem(fd, &h, &b->value);
        if (rc == 0)
            bpf_map_delete_elem(fd, &h);
    }
    if (rc)
        sl->err = rc;
    else
        slot_fill(b, sl, &b->value);
    return sl;
}

/* Stacks read from the map per system call by read_stacks (~66 KiB of buffers). */
#define GP_STACK_BATCH 64

/* Loads every stack of the stack map into the drain's slots, deleting them from the map: one
 * system call per GP_STACK_BATCH stacks instead of one per stack (a busy host has hundreds of
 * new stacks a second, and on a VM every call is a world switch). What it cannot read in batches
 * (no batch ops before 5.6; a hash bucket larger than the buffer) get_stack reads one at a time. */
static void read_stacks(struct bpf_sampler *b, int sfd)
{
    if (b->no_stack_batch)
        return;
    if (!b->batch_keys) {
        b->batch_keys = malloc(GP_STACK_BATCH * sizeof(*b->batch_keys));
        b->batch_vals = malloc(GP_STACK_BATCH * sizeof(*b->batch_vals));
        if (!b->batch_keys || !b->batch_vals) {
            free(b->batch_keys);
            free(b->batch_vals);
            b->batch_keys = NULL;
            b->batch_vals = NULL;
            return;
        }
    }
    uint32_t in_batch = 0, out_batch = 0; /* a hash map's batch token: a bucket index */
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    for (int first = 1;; first = 0) {
        uint32_t count = GP_STACK_BATCH;
        int rc = bpf_map_lookup_and_delete_batch(sfd, first ? NULL : &in_batch, &out_batch,
                                                 b->batch_keys, b->batch_vals, &count, &opts);
        if (rc && rc != -ENOENT) {
            if (first && (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -KERNEL_ENOTSUPP))
                b->no_stack_batch = 1;
            return;
        }
        for (uint32_t i = 0; i < count; i++) {
            int fresh;
            struct stack_slot *sl = slot_of(b, b->batch_keys[i], &fresh);
            if (!sl)
                return;
            if (fresh)
                slot_fill(b, sl, &b->batch_vals[i]);
        }
        if (rc == -ENOENT || count == 0)
            return;
        in_batch = out_batch;
    }
}

/* Offsets (not pointers: b->ips may move while later stacks load) of one stack's addresses. */
static void resolve(struct bpf_sampler *b, int sfd, uint64_t h, uint32_t *off, uint32_t *n,
                    int *err)
{
    *off = 0;
    *n = 0;
    *err = 0;
    if (h == GP_STACK_NONE)
        return;
    if (h == GP_STACK_FULL) {
        *err = -ENOSPC;
        return;
    }
    if (h < GP_STACK_FIRST_HASH) {
        *err = -EFAULT;
        return;
    }
    struct stack_slot *sl = get_stack(b, sfd, h);
    if (!sl) {
        *err = -ENOMEM;
        return;
    }
    if (sl->err) {
        *err = sl->err;
        return;
    }
    *off = sl->off;
    *n = sl->n;
}

/* Moves the counted slots of every CPU's front table of buffer idx into keys/vals from index 0,
 * and clears the tables. Returns the number moved or -errno. */
static int read_fronts(struct bpf_sampler *b, uint32_t idx)
{
    int fd = bpf_map__fd(b->skel->maps.front);
    if (bpf_map_lookup_elem(fd, &idx, b->fronts))
        return -errno;
    uint32_t total = 0;
    for (int c = 0; c < b->ncpu_possible; c++)
        for (uint32_t i = 0; i < GP_FRONT_SLOTS; i++) {
            const struct gp_count_slot *sl = &b->fronts[c].slots[i];
            if (!sl->count)
                continue;
            b->keys[total] = sl->key;
            b->vals[total++] = sl->count;
        }
    if (total == 0)
        return 0;
    memset(b->fronts, 0, (size_t)b->ncpu_possible * sizeof(*b->fronts));
    if (bpf_map_update_elem(fd, &idx, b->fronts, BPF_ANY))
        return -errno;
    return (int)total;
}

/* Reads every entry of one count map into keys/vals from index `total`, deleting it. Returns
 * the number of entries in keys/vals then, or -errno. */
static int read_counts(struct bpf_sampler *b, int cfd, uint32_t total)
{
    uint32_t in_batch = 0, out_batch = 0;
    int first = 1;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    for (;;) {
        uint32_t count = b->keys_cap - total;
        if (count == 0)
            break;
        int rc = bpf_map_lookup_and_delete_batch(cfd, first ? NULL : &in_batch, &out_batch,
                                                 b->keys + total, b->vals + total, &count, &opts);
        if (rc && rc != -ENOENT) {
            if (first && (rc == -EINVAL || rc == -EOPNOTSUPP || rc == -KERNEL_ENOTSUPP))
                break; /* no batch ops: iterate below */
            return rc;
        }
        total += count;
        if (rc == -ENOENT)
            return (int)total;
        if (count == 0)
            break; /* no progress: finish by iterating */
        in_batch = out_batch;
        first = 0;
    }
    /* Iterate + delete (old kernels, or leftovers beyond the buffer). */
    struct gp_count_key k;
    while (total < b->keys_cap && bpf_map_get_next_key(cfd, NULL, &k) == 0) {
        if (bpf_map_lookup_elem(cfd, &k, &b->vals[total]) == 0)
            b->keys[total++] = k;
        bpf_map_delete_elem(cfd, &k);
    }
    return (int)total;
}

static int drain_buffer(struct bpf_sampler *b, uint32_t idx,
                        void (*cb)(const struct gp_raw_sample *, void *), void *ctx,
                        struct gp_err *err)
{
    int cfd = counts_fd(b, idx), sfd = stacks_fd(b, idx);
    int n = read_fronts(b, idx);
    if (n < 0)
        return gp_err_set(err, n, "draining the BPF front tables: %s", strerror(-n));
    n = read_counts(b, cfd, (uint32_t)n);
    if (n < 0)
        return gp_err_set(err, n, "draining BPF count map: %s", strerror(-n));
    if (b->slots)
        memset(b->slots, 0, b->slots_cap * sizeof(*b->slots));
    b->nslots = 0;
    b->ips_len = 0;
    if (n > 0)
        read_stacks(b, sfd);

    struct res {
        uint32_t u, k, nu, nk;
        int ue, ke;
    };
    struct res *r = malloc((size_t)(n ? n : 1) * sizeof(*r));
    if (!r)
        return gp_err_set(err, -ENOMEM, "out of memory draining samples");
    for (int i = 0; i < n; i++) {
        resolve(b, sfd, b->keys[i].user_stack, &r[i].u, &r[i].nu, &r[i].ue);
        resolve(b, sfd, b->keys[i].kernel_stack, &r[i].k, &r[i].nk, &r[i].ke);
    }
    /* Stacks of samples that were dropped (count map full) are still in the map: clear it. */
    uint64_t next;
    while (bpf_map_get_next_key(sfd, NULL, &next) == 0)
        if (bpf_map_delete_elem(sfd, &next))
            break;
    for (int i = 0; i < n; i++) {
        struct gp_raw_sample s = {0};
        const struct gp_count_key *k = &b->keys[i];
        s.tgid = k->tgid;
        s.tid = k->pid;
        memcpy(s.comm, k->comm, sizeof(s.comm));
        s.comm[sizeof(s.comm) - 1] = '\0';
        s.user_ips = r[i].nu ? b->ips + r[i].u : NULL;
        s.nuser = r[i].nu;
        s.kernel_ips = r[i].nk ? b->ips + r[i].k : NULL;
        s.nkernel = r[i].nk;
        s.user_err = r[i].ue;
        s.kernel_err = r[i].ke;
        s.count = b->vals[i];
        b->drained += s.count;
        if (cb)
            cb(&s, ctx);
    }
    free(r);
    return n;
}

/* ---- ops ---- */

static int bpf_start(struct gp_sampler *s, struct gp_err *err)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    if (b->started && !b->stopped)
        return 0;
    if (b->stopped) { /* restart after stop: re-enable the events */
        for (int i = 0; i < b->ncpus; i++)
            if (b->pfds[i] >= 0 && ioctl(b->pfds[i], PERF_EVENT_IOC_ENABLE, 0))
                return gp_err_set(err, -errno, "enabling perf event on cpu %d: %s", b->cpus[i],
                                  strerror(errno));
        b->stopped = 0;
        return 0;
    }
    b->exec_link = bpf_program__attach(b->skel->progs.gp_exec);
    if (!b->exec_link) {
        int rc = -errno;
        b->exec_link = NULL;
        return gp_err_set(err, rc, "attaching to raw tracepoint sched_process_exec: %s",
                          strerror(-rc));
    }
    b->exit_link = bpf_program__attach(b->skel->progs.gp_exit);
    if (!b->exit_link) {
        int rc = -errno;
        b->exit_link = NULL;
        return gp_err_set(err, rc, "attaching to raw tracepoint sched_process_exit: %s",
                          strerror(-rc));
    }
    for (int i = 0; i < b->ncpus; i++) {
        if (b->pfds[i] < 0)
            continue;
        b->links[i] = bpf_program__attach_perf_event(b->skel->progs.gp_sample, b->pfds[i]);
        if (!b->links[i]) {
            int rc = -errno;
            b->links[i] = NULL;
            return gp_err_set(err, rc, "attaching the BPF sampler to cpu %d: %s", b->cpus[i],
                              strerror(-rc));
        }
    }
    b->started = 1;
    return 0;
}

static void bpf_stop(struct gp_sampler *s)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    if (!b->started || b->stopped)
        return;
    for (int i = 0; i < b->ncpus; i++)
        if (b->pfds[i] >= 0)
            ioctl(b->pfds[i], PERF_EVENT_IOC_DISABLE, 0);
    b->stopped = 1;
}

static void deliver(struct bpf_sampler *b, enum gp_proc_event_type type, uint32_t tgid,
                    const char *comm)
{
    struct gp_proc_event ev = {.type = type, .tgid = tgid};
    strncpy(ev.comm, comm, sizeof(ev.comm) - 1); /* ev.comm stays NUL-terminated */
    b->ev_cb(&ev, b->ev_ctx);
}

/* The process's last thread is gone: forget it (so a reused pid is announced again). */
static void process_ended(struct bpf_sampler *b, uint32_t tgid, const char *comm)
{
    gp_u32set_del(&b->leader_gone, tgid);
    bpf_map_delete_elem(bpf_map__fd(b->skel->maps.seen), &tgid);
    deliver(b, GP_PROC_EXIT, tgid, comm);
}

/* A thread of tracked process tgid exited. The process ends with its last thread; its leader
 * may exit first (even before sampling started). */
static void thread_exited(struct bpf_sampler *b, uint32_t tgid, uint32_t tid, const char *comm)
{
    if (tid != tgid && !gp_u32set_has(&b->leader_gone, tgid) && !gp_sampler_leader_dead(tgid))
        return; /* a worker of a live process */
    if (gp_sampler_threads_left(tgid)) {
        gp_u32set_add(&b->leader_gone, tgid);
        return;
    }
    process_ended(b, tgid, comm);
}

static int handle_event(void *ctx, void *data, size_t size)
{
    struct bpf_sampler *b = ctx;
    if (size >= sizeof(struct gp_uw_miss_raw) && b->ev_cb &&
        ((const struct gp_uw_miss_raw *)data)->type == GP_BPF_UW_MISS) {
        const struct gp_uw_miss_raw *m = data;
        struct gp_proc_event ev = {.type = GP_PROC_UW_MISS, .tgid = m->tgid, .addr = m->pc};
        b->ev_cb(&ev, b->ev_ctx);
        return 0;
    }
    if (size < sizeof(struct gp_proc_event_raw) || !b->ev_cb)
        return 0;
    const struct gp_proc_event_raw *raw = data;
    char comm[sizeof(raw->comm) + 1];
    memcpy(comm, raw->comm, sizeof(raw->comm));
    comm[sizeof(raw->comm)] = '\0';
    switch (raw->type) {
    case GP_BPF_PROC_EXIT:
        thread_exited(b, raw->tgid, raw->pid, comm);
        break;
    case GP_BPF_PROC_EXEC:
        deliver(b, GP_PROC_EXEC, raw->tgid, comm);
        break;
    default:
        deliver(b, GP_PROC_SEEN, raw->tgid, comm);
        break;
    }
    return 0;
}

static int bpf_poll_events(struct gp_sampler *s, int timeout_ms,
                           void (*cb)(const struct gp_proc_event *, void *), void *ctx)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    b->ev_cb = cb;
    b->ev_ctx = ctx;
    int rc = ring_buffer__poll(b->rb, timeout_ms);
    if (b->leader_gone.n && cb) {
        uint32_t gone[64];
        size_t n = gp_sampler_ended(&b->leader_gone, gone, 64);
        for (size_t i = 0; i < n; i++)
            process_ended(b, gone[i], "");
    }
    b->ev_cb = NULL;
    if (rc == -EINTR)
        return 0;
    return rc;
}

static int bpf_drain(struct gp_sampler *s, void (*cb)(const struct gp_raw_sample *, void *),
                     void *ctx, struct gp_err *err)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    pthread_mutex_lock(&b->drain_lock);
    uint32_t old = b->active;
    b->active = old ^ 1;
    __atomic_store_n(&b->skel->bss->active_idx, b->active, __ATOMIC_SEQ_CST);
    wait_inflight(b);
    int total = drain_buffer(b, old, cb, ctx, err);
    if (total >= 0 && (b->stopped || !b->started)) {
        /* Nothing samples any more: the other buffer is complete too. */
        int more = drain_buffer(b, b->active, cb, ctx, err);
        total = more < 0 ? more : total + more;
    }
    if (total >= 0)
        b->drains++;
    pthread_mutex_unlock(&b->drain_lock);
    return total;
}

static int bpf_add_tgid(struct gp_sampler *s, uint32_t tgid, struct gp_err *err)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    uint8_t one = 1;
    int rc = bpf_map_update_elem(bpf_map__fd(b->skel->maps.pid_filter), &tgid, &one, BPF_ANY);
    if (rc == -E2BIG)
        return gp_err_set(err, rc, "pid filter full (%d processes)", GP_MAX_FILTER_PIDS);
    if (rc)
        return gp_err_set(err, rc, "updating the BPF pid filter: %s", strerror(-rc));
    __atomic_store_n(&b->skel->bss->filter_on, 1, __ATOMIC_SEQ_CST);
    return 0;
}

static int bpf_remove_tgid(struct gp_sampler *s, uint32_t tgid)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    return bpf_map_delete_elem(bpf_map__fd(b->skel->maps.pid_filter), &tgid);
}

static void bpf_stats(const struct gp_sampler *s, struct gp_sampler_stats *out)
{
    const struct bpf_sampler *b = (const struct bpf_sampler *)s;
    out->samples = 0;
    uint32_t zero = 0;
    struct gp_cpu_state cs[b->ncpu_possible];
    if (bpf_map_lookup_elem(bpf_map__fd(b->skel->maps.cpustate), &zero, cs) == 0)
        for (int c = 0; c < b->ncpu_possible; c++)
            out->samples += cs[c].samples;
    out->user_stack_errors = stat_sum(b, GP_STAT_USTACK_ERR);
    out->kernel_stack_errors = stat_sum(b, GP_STAT_KSTACK_ERR);
    out->map_full = stat_sum(b, GP_STAT_MAP_FULL);
    out->filtered = stat_sum(b, GP_STAT_FILTERED);
    out->events_lost = stat_sum(b, GP_STAT_EVENTS_LOST);
    for (int i = 0; i < GP_UW_STOP_N; i++) /* same order as enum gp_uw_stop */
        out->unwind_stops[i] = stat_sum(b, GP_STAT_UW_END + (uint32_t)i);
    out->unwind_frames = stat_sum(b, GP_STAT_UW_FRAMES);
    out->user_stacks_kernel_fp = stat_sum(b, GP_STAT_USTACK_KERNEL_FP);
    out->lost = 0;
    out->drains = __atomic_load_n(&b->drains, __ATOMIC_RELAXED);
    out->drained = __atomic_load_n(&b->drained, __ATOMIC_RELAXED);
}

static int bpf_runtime(const struct gp_sampler *s, uint64_t *run_time_ns, uint64_t *run_cnt)
{
    const struct bpf_sampler *b = (const struct bpf_sampler *)s;
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    uint32_t len = sizeof(info);
    int rc = bpf_obj_get_info_by_fd(bpf_program__fd(b->skel->progs.gp_sample), &info, &len);
    if (rc)
        return rc;
    *run_time_ns = info.run_time_ns;
    *run_cnt = info.run_cnt;
    return 0;
}

static void bpf_close(struct gp_sampler *s)
{
    struct bpf_sampler *b = (struct bpf_sampler *)s;
    if (b->uw_maps) {
        gp_uw_registry_set_sink_c(b->uw, b->uw_client, NULL);
        gp_uw_maps_close(b->uw_maps);
    }
    if (b->rb)
        ring_buffer__free(b->rb);
    for (int i = 0; i < b->ncpus; i++) {
        if (b->links && b->links[i])
            bpf_link__destroy(b->links[i]); /* also closes the perf event fd */
        else if (b->pfds && b->pfds[i] >= 0)
            close(b->pfds[i]);
    }
    if (b->exec_link)
        bpf_link__destroy(b->exec_link);
    if (b->exit_link)
        bpf_link__destroy(b->exit_link);
    if (b->skel)
        profile_bpf__destroy(b->skel);
    pthread_mutex_destroy(&b->drain_lock);
    free(b->links);
    free(b->pfds);
    free(b->cpus);
    free(b->keys);
    free(b->vals);
    free(b->fronts);
    free(b->slots);
    free(b->ips);
    free(b->batch_keys);
    free(b->batch_vals);
    free(b->seq_now);
    free(b->leader_gone.slot);
    free(b->seq_then);
    free(b);
}

int gp_sampler_enable_bpf_stats(void)
{
    return bpf_enable_stats(BPF_STATS_RUN_TIME);
}

static const struct gp_sampler_ops bpf_ops = {
        .kind = GP_SAMPLER_BPF,
        .start = bpf_start,
        .stop = bpf_stop,
        .poll_events = bpf_poll_events,
        .drain = bpf_drain,
        .add_tgid = bpf_add_tgid,
        .remove_tgid = bpf_remove_tgid,
        .stats = bpf_stats,
        .bpf_runtime = bpf_runtime,
        .close = bpf_close,
};

/* Sizes the unwinder's maps for the registry's budget before load (or leaves the unwinder out). */
static int uw_prepare(struct bpf_sampler *b, const struct gp_sampler_opts *o, struct gp_err *err)
{
    b->uw = o->unwind;
    b->uw_client = o->unwind_client;
    /* One walker is loaded: the whole walk in one run where the kernel has bpf_loop (5.17+),
     * else GP_UW_FRAMES_PER_CALL frames per tail call (5.15, 5.16). */
    const struct gp_bpf_features *ft = gp_bpf_features();
    int loop = b->uw && !o->uw_no_loop && ft->loop;
    bpf_program__set_autoload(b->skel->progs.gp_unwind_loop, loop);
    bpf_program__set_autoload(b->skel->progs.gp_unwind, b->uw && !loop);
    b->uw_loop = loop;
    if (!b->uw)
        return 0;
    struct gp_uw_registry_stats st;
    gp_uw_registry_stats_c(b->uw, b->uw_client, &st);
    /* The arrays are allocated whole when the maps are created: for chosen processes room for
     * 4x the tables they map now (at least 16 MiB; of a shared registry only this session's
     * processes count: its maps hold only their tables); host-wide, where the tables are still
     * being built, 64 MiB (~8 million rows); within the budget either way. */
    uint64_t cap = o->npids ? st.client_kernel_bytes * 4 : (uint64_t)64 << 20;
    if (cap < (16u << 20))
        cap = 16u << 20;
    if (cap > st.max_bytes)
        cap = st.max_bytes;
    uint32_t rows, pages;
    gp_uw_maps_size(cap, &rows, &pages);
    if (bpf_map__set_max_entries(b->skel->maps.uw_keys, rows / GP_UW_KEYS_PER_BLOCK) ||
        bpf_map__set_max_entries(b->skel->maps.uw_rules, rows / GP_UW_RULES_PER_BLOCK) ||
        bpf_map__set_max_entries(b->skel->maps.uw_pages, pages / GP_UW_PAGES_PER_BLOCK))
        return gp_err_set(err, -EINVAL, "sizing the BPF unwind maps failed");
    b->skel->rodata->uw_enabled = 1;
    static int told; /* once per process */
    if (!ft->noprealloc_hash && b->uw_procs_cap < GP_UW_MAX_PROCS &&
        !__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
        gp_info("unwind: this kernel's BPF (< 6.1) needs the process map preallocated: unwind "
                "tables serve at most %u processes at once (host-wide; 4x the pids of a "
                "targeted session), the others walk frame pointers",
                b->uw_procs_cap);
    return 0;
}

/* Before load: what the kernel lacks (bpf_features.h) turns into the programs' fallbacks. */
static int old_kernel_prepare(struct bpf_sampler *b, const struct gp_sampler_opts *o,
                              struct gp_err *err)
{
    const struct gp_bpf_features *ft = gp_bpf_features();
    b->skel->rodata->have_task_regs = ft->task_pt_regs ? 1 : 0;
    /* The notices once per process (the agent opens a sampler per session). */
    static int told;
    int tell = !__atomic_exchange_n(&told, 1, __ATOMIC_RELAXED);
    if (!ft->task_pt_regs && tell)
        gp_info("sampler: this kernel has no bpf_task_pt_regs (5.15+): the user stacks of samples "
                "taken in kernel mode are walked by frame pointers (counted in the header as "
                "user_stacks_kernel_fp)");
    b->uw_procs_cap = GP_UW_MAX_PROCS;
    if (ft->noprealloc_hash)
        return 0;
    /* Every hash map the programs reach is preallocated: the count and stack maps of both
     * buffers (inner maps count: the verifier checks the outer maps' templates) and the
     * unwinder's process map. */
    struct bpf_map *pre[] = {b->skel->maps.counts0, b->skel->maps.counts1, b->skel->maps.stacks0,
                             b->skel->maps.stacks1,
                             /* the templates (libbpf's maps outside the object: flags only) */
                             bpf_map__inner_map(b->skel->maps.counts_of),
                             bpf_map__inner_map(b->skel->maps.stacks_of)};
    for (size_t i = 0; i < sizeof(pre) / sizeof(pre[0]); i++)
        if (!pre[i] || bpf_map__set_map_flags(pre[i], 0))
            return gp_err_set(err, -EINVAL, "preallocating the BPF count and stack maps failed");
    if (tell)
        gp_info("sampler: this kernel's BPF (< 6.1) needs the maps of perf_event programs "
                "preallocated: %.1f MiB of kernel memory for the count and stack maps",
                (double)(2 * ((uint64_t)b->count_entries * (sizeof(struct gp_count_key) + 8) +
                              (uint64_t)b->stack_entries * (sizeof(struct gp_stack) + 8))) /
                        (1 << 20));
    /* Preallocated at GP_UW_MAX_PROCS the unwinder's process map would hold 64 MiB: a session
     * of chosen processes gets room for 4x as many (at least 64), a host-wide one
     * GP_UW_PROCS_PREALLOC. */
    uint32_t cap = 1;
    if (o->unwind)
        cap = o->npids ? (uint32_t)(o->npids * 4 < 64 ? 64 : o->npids * 4) : GP_UW_PROCS_PREALLOC;
    if (cap > GP_UW_MAX_PROCS)
        cap = GP_UW_MAX_PROCS;
    b->uw_procs_cap = cap;
    if (bpf_map__set_map_flags(b->skel->maps.uw_procs, 0) ||
        bpf_map__set_max_entries(b->skel->maps.uw_procs, cap))
        return gp_err_set(err, -EINVAL, "sizing the BPF unwinder's process map failed");
    return 0;
}

/* After load: the unwinder's tail call and the registry's tables into the maps. */
static int uw_attach(struct bpf_sampler *b, struct gp_err *err)
{
    if (!b->uw)
        return 0;
    uint32_t zero = 0;
    int pfd =
            bpf_program__fd(b->uw_loop ? b->skel->progs.gp_unwind_loop : b->skel->progs.gp_unwind);
    if (bpf_map_update_elem(bpf_map__fd(b->skel->maps.uw_prog), &zero, &pfd, BPF_ANY))
        return gp_err_set(err, -errno, "installing the BPF unwinder: %s", strerror(errno));
    struct gp_uw_maps_fds fds = {
            .keys = bpf_map__fd(b->skel->maps.uw_keys),
            .rules = bpf_map__fd(b->skel->maps.uw_rules),
            .pages = bpf_map__fd(b->skel->maps.uw_pages),
            .tables = bpf_map__fd(b->skel->maps.uw_tables),
            .procs = bpf_map__fd(b->skel->maps.uw_procs),
            .rows_cap = bpf_map__max_entries(b->skel->maps.uw_keys) * GP_UW_KEYS_PER_BLOCK,
            .pages_cap = bpf_map__max_entries(b->skel->maps.uw_pages) * GP_UW_PAGES_PER_BLOCK};
    struct gp_uw_sink sink;
    int rc = gp_uw_maps_open(&fds, &b->uw_maps, &sink, err);
    if (rc)
        return rc;
    rc = gp_uw_registry_set_sink_c(b->uw, b->uw_client, &sink);
    if (rc)
        gp_warn("unwind: mirroring the tables into the BPF maps: %s", strerror(-rc));
    return 0;
}

/* 0 when the variables' sections of the compat object (opened in s) and of profile.bpf.o have
 * the same sizes and initial values, so profile_bpf's skeleton addresses the same variables. */
static int compat_layout_check(struct profile_bpf *s)
{
    size_t sz = 0;
    const void *main_elf = profile_bpf__elf_bytes(&sz);
    struct bpf_object *m = bpf_object__open_mem(main_elf, sz, NULL);
    if (!m)
        return -errno;
    int rc = 0;
    const char *sec[] = {".rodata", ".bss"};
    struct bpf_map *mine[] = {s->maps.rodata, s->maps.bss};
    for (int i = 0; i < 2 && !rc; i++) {
        struct bpf_map *theirs = bpf_object__find_map_by_name(m, sec[i]);
        size_t a = 0, b = 0;
        const void *va = bpf_map__initial_value(mine[i], &a);
        const void *vb = theirs ? bpf_map__initial_value(theirs, &b) : NULL;
        if (!va || !vb || a != b || memcmp(va, vb, a)) {
            gp_error("sampler: bpf/profile_compat.bpf.o does not match profile.bpf.o (%s: %zu "
                     "and %zu bytes): rebuild",
                     sec[i], a, b);
            rc = -EINVAL;
        }
    }
    bpf_object__close(m);
    return rc;
}

/* profile_bpf's skeleton, on the object built for kernels without atomic fetch (< 5.12) where
 * the verifier refuses those instructions: same maps, programs and variables (the sizes of the
 * variables' sections are checked), other instructions. NULL with errno on failure. */
static struct profile_bpf *skel_open(void)
{
    if (gp_bpf_features()->atomic_fetch)
        return profile_bpf__open();
    struct profile_bpf *s = calloc(1, sizeof(*s));
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = profile_bpf__create_skeleton(s);
    if (!rc) {
        size_t sz = 0;
        s->skeleton->data = profile_compat_bpf__elf_bytes(&sz);
        s->skeleton->data_sz = sz;
        rc = bpf_object__open_skeleton(s->skeleton, NULL);
    }
    if (!rc)
        rc = compat_layout_check(s);
    if (rc) {
        profile_bpf__destroy(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

/* Says why loading failed and what to do. */
static int load_error(int rc, struct gp_err *err)
{
    char btf[160] = "";
    if (access("/sys/kernel/btf/vmlinux", R_OK) != 0)
        snprintf(btf, sizeof(btf),
                 "; note: the kernel has no BTF (/sys/kernel/btf/vmlinux "
                 "missing, needs CONFIG_DEBUG_INFO_BTF=y)");
    if (rc == -EPERM || rc == -EACCES) {
        return gp_err_set(err, rc,
                          "loading the BPF sampler: %s; run as root or grant CAP_BPF and "
                          "CAP_PERFMON (setcap cap_bpf,cap_perfmon+ep), or use --sampler perf%s",
                          strerror(-rc), btf);
    }
    return gp_err_set(err, rc, "loading the BPF sampler: %s%s%s; use --sampler perf%s",
                      strerror(rc < 0 ? -rc : rc), libbpf_last[0] ? " — " : "", libbpf_last, btf);
}

/* Verifier statistics on request (gp_sampler_opts.verifier_stats): one log per program. */
#define VSTATS_PROGS        8
#define VSTATS_LOG_LEN      (64 * 1024)
#define VSTATS_FULL_LOG_LEN (64u << 20)
struct vstats {
    int n;
    const char *name[VSTATS_PROGS];
    char *log[VSTATS_PROGS];
};

static void vstats_free(struct vstats *vs)
{
    for (int i = 0; i < vs->n; i++)
        free(vs->log[i]);
    vs->n = 0;
}

static int vstats_prepare(struct bpf_object *obj, const struct gp_sampler_opts *o,
                          struct vstats *vs, struct gp_err *err)
{
    if (!o->verifier_stats)
        return 0;
    struct bpf_program *p;
    bpf_object__for_each_program(p, obj)
    {
        if (!bpf_program__autoload(p) || vs->n == VSTATS_PROGS)
            continue;
        int level = o->verifier_log_level ? o->verifier_log_level : 4;
        size_t len = level == 4 ? VSTATS_LOG_LEN : VSTATS_FULL_LOG_LEN;
        char *buf = calloc(1, len);
        if (!buf)
            return gp_err_set(err, -ENOMEM, "out of memory");
        vs->name[vs->n] = bpf_program__name(p);
        vs->log[vs->n++] = buf;
        if (bpf_program__set_log_buf(p, buf, len) || bpf_program__set_log_level(p, level))
            return gp_err_set(err, -EINVAL, "setting the verifier log of %s failed",
                              bpf_program__name(p));
    }
    return 0;
}

static void vstats_report(struct vstats *vs, const struct gp_sampler_opts *o)
{
    for (int i = 0; i < vs->n; i++)
        o->verifier_stats(o->verifier_ctx, vs->name[i], vs->log[i]);
    vstats_free(vs);
}

int gp_sampler_bpf_open(const struct gp_sampler_opts *o, struct gp_sampler **out, int *bpf_failed,
                        struct gp_err *err)
{
    struct vstats vs = {0};
    *out = NULL;
    if (bpf_failed)
        *bpf_failed = 0;
    pthread_once(&libbpf_print_once, libbpf_setup);
    libbpf_last[0] = '\0';

    uint32_t *tgids = NULL;
    if (o->npids) {
        tgids = calloc(o->npids, sizeof(*tgids));
        if (!tgids)
            return gp_err_set(err, -ENOMEM, "out of memory");
        for (size_t i = 0; i < o->npids; i++) {
            int rc = gp_sampler_resolve_tgid(o->pids[i], &tgids[i], err);
            if (rc) {
                free(tgids);
                return rc;
            }
        }
        if (o->npids > GP_MAX_FILTER_PIDS) {
            free(tgids);
            return gp_err_set(err, -E2BIG, "too many pids (%zu, at most %d)", o->npids,
                              GP_MAX_FILTER_PIDS);
        }
    }

    struct bpf_sampler *b = calloc(1, sizeof(*b));
    if (!b) {
        free(tgids);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    b->base.ops = &bpf_ops;
    pthread_mutex_init(&b->drain_lock, NULL);
    int rc = gp_sampler_online_cpus(&b->cpus, &b->ncpus, err);
    if (rc)
        goto fail;
    b->pfds = malloc(b->ncpus * sizeof(*b->pfds));
    b->links = calloc(b->ncpus, sizeof(*b->links));
    if (!b->pfds || !b->links) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0; i < b->ncpus; i++)
        b->pfds[i] = -1;

    /* perf events first: their errors (permissions, PMU, frequency) apply to both engines. */
    struct perf_event_attr attr;
    gp_sampler_event_attr(o, &attr);
    int opened = 0;
    for (int i = 0; i < b->ncpus; i++) {
        int fd = gp_sampler_open_cpu_event(&attr, b->cpus[i], err);
        if (fd == -ENODEV) /* CPU went offline meanwhile */
            continue;
        if (fd < 0) {
            rc = fd;
            goto fail;
        }
        b->pfds[i] = fd;
        opened++;
    }
    if (!opened) {
        rc = gp_err_set(err, -ENODEV, "no online CPU accepted a perf event");
        goto fail;
    }

    if (bpf_failed)
        *bpf_failed = 1;
    b->ncpu_possible = libbpf_num_possible_cpus();
    if (b->ncpu_possible <= 0) {
        rc = gp_err_set(err, b->ncpu_possible ? b->ncpu_possible : -EIO,
                        "cannot count possible CPUs");
        goto fail;
    }
    /* Room for about four seconds of distinct samples per buffer (drains run every second). */
    uint64_t per_s = (uint64_t)attr.sample_freq * (uint64_t)b->ncpus;
    uint32_t def = round_pow2((uint32_t)(per_s * 4 < (1u << 30) ? per_s * 4 : (1u << 30)));
    def = def < 4096 ? 4096 : def > 65536 ? 65536 : def;
    b->count_entries = o->count_entries ? o->count_entries : def;
    b->stack_entries = o->stack_entries ? o->stack_entries : def;
    b->keys_cap = b->count_entries + (uint32_t)b->ncpu_possible * GP_FRONT_SLOTS;
    b->keys = malloc((size_t)b->keys_cap * sizeof(*b->keys));
    b->vals = malloc((size_t)b->keys_cap * sizeof(*b->vals));
    b->fronts = calloc(b->ncpu_possible, sizeof(*b->fronts));
    b->seq_now = calloc(b->ncpu_possible, sizeof(*b->seq_now));
    b->seq_then = calloc(b->ncpu_possible, sizeof(*b->seq_then));
    if (!b->keys || !b->vals || !b->fronts || !b->seq_now || !b->seq_then) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }

    b->skel = skel_open();
    if (!b->skel) {
        rc = gp_err_set(err, -errno ? -errno : -EINVAL, "opening the BPF sampler object: %s%s%s",
                        strerror(errno), libbpf_last[0] ? " — " : "", libbpf_last);
        goto fail;
    }
    b->skel->rodata->include_idle = o->include_idle ? 1 : 0;
    if (o->front_slots) {
        if (o->front_slots > GP_FRONT_SLOTS || (o->front_slots & (o->front_slots - 1))) {
            rc = gp_err_set(err, -EINVAL, "front_slots must be a power of two up to %d, not %u",
                            GP_FRONT_SLOTS, o->front_slots);
            goto fail;
        }
        b->skel->rodata->front_mask = o->front_slots - 1;
    }
    b->skel->bss->filter_on = o->npids ? 1 : 0;
    b->skel->bss->active_idx = 0;
    struct bpf_map *cm[] = {b->skel->maps.counts0, b->skel->maps.counts1};
    struct bpf_map *sm[] = {b->skel->maps.stacks0, b->skel->maps.stacks1};
    for (int i = 0; i < 2; i++) {
        if (bpf_map__set_max_entries(cm[i], b->count_entries) ||
            bpf_map__set_max_entries(sm[i], b->stack_entries)) {
            rc = gp_err_set(err, -EINVAL, "sizing BPF maps failed");
            goto fail;
        }
    }
    rc = old_kernel_prepare(b, o, err);
    if (rc)
        goto fail;
    rc = uw_prepare(b, o, err);
    if (rc)
        goto fail;
    rc = vstats_prepare(b->skel->obj, o, &vs, err);
    if (rc)
        goto fail;
    rc = profile_bpf__load(b->skel);
    vstats_report(&vs, o);
    if (rc) {
        rc = load_error(rc, err);
        goto fail;
    }
    rc = uw_attach(b, err);
    if (rc)
        goto fail;
    for (size_t i = 0; i < o->npids; i++) {
        uint8_t one = 1;
        rc = bpf_map_update_elem(bpf_map__fd(b->skel->maps.pid_filter), &tgids[i], &one, BPF_ANY);
        if (rc) {
            rc = gp_err_set(err, rc, "filling the BPF pid filter: %s", strerror(-rc));
            goto fail;
        }
    }
    b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), handle_event, b, NULL);
    if (!b->rb) {
        rc = gp_err_set(err, -errno, "opening the BPF event ring: %s", strerror(errno));
        goto fail;
    }
    free(tgids);
    if (bpf_failed)
        *bpf_failed = 0;
    *out = &b->base;
    return 0;
fail:
    vstats_free(&vs);
    free(tgids);
    bpf_close(&b->base);
    return rc;
}
