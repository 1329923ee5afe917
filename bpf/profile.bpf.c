// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* profile.bpf.c — the CPU sampler: a perf_event program that counts samples in the kernel by
 * (tgid, pid, user stack, kernel stack, comm) into one of two buffers user space flips between
 * (each: a per-CPU front table, a count map for the keys the front cannot hold, a stack map),
 * plus tracepoints that report process exec/exit so maps can be read while processes live.
 *
 * It reads no kernel-internal structure, only UAPI ones (the perf_event context and the user
 * registers, whose layout is ABI), so it needs no CO-RE relocation: libbpf never has to load
 * and parse the kernel's 5 MB BTF, which cost ~40 ms of every `gprofctl record`. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/bpf_perf_event.h>
#include <linux/ptrace.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "profile.h"
#include "unwind.h"

struct task_struct; /* only passed to helpers, never read */

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set before load. */
const volatile __u8 include_idle = 0;
const volatile __u32 front_mask = GP_FRONT_SLOTS - 1; /* slots used of each front table - 1 */
const volatile __u8 uw_enabled = 0; /* 1: processes in uw_procs are walked by unwind tables */
/* What the kernel offers (agent/sampler/bpf_features.c); the verifier knows these constants and
 * never looks at the branch a kernel cannot run. */
const volatile __u8 have_task_regs = 1; /* bpf_task_pt_regs (5.15+) */

/* Written by user space through the mmapped .bss while running. */
__u32 active_idx = 0; /* which buffer (0/1) samples go to */
__u32 filter_on = 0;  /* 1: only tgids in pid_filter are sampled */

#ifdef GP_BPF_WALK_TIMING
/* Benchmark builds only (cmake -DGPROF_BPF_WALK_TIMING=ON): table walks timed from uw_begin to
 * uw_end (bpf_ktime_get_ns), their count and frames, read from the .bss by bench/uw_walk_ns.sh. */
__u64 uw_walk_ns = 0;
__u64 uw_walks = 0;
__u64 uw_walk_frames = 0;
__u64 uw_walk_reads = 0;    /* user stack reads (window misses) */
__u64 uw_walk_read_ns = 0;  /* time in them */
__u64 uw_walk_entry_ns = 0; /* uw_begin to the start of gp_unwind_loop's frames */
__u64 uw_walk_lookups = 0;  /* frames whose rule was not in the per-CPU cache (a table lookup) */
#endif

/* Not preallocated: entries are taken as samples need them, so loading the program does not
 * fill (and charge) tens of megabytes of kernel memory up front. */
struct count_map {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, GP_DEFAULT_COUNTS);
    __type(key, struct gp_count_key);
    __type(value, __u64);
};

struct stack_map {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, GP_DEFAULT_STACKS);
    __type(key, __u64);
    __type(value, struct gp_stack);
};

struct count_map counts0 SEC(".maps"), counts1 SEC(".maps");
struct stack_map stacks0 SEC(".maps"), stacks1 SEC(".maps");

/* The two buffers are reached through arrays of maps indexed by active_idx, so the sampling
 * code exists once: the verifier checks it once instead of once per buffer. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct count_map);
} counts_of SEC(".maps") = {.values = {&counts0, &counts1}};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, 2);
    __type(key, __u32);
    __array(values, struct stack_map);
} stacks_of SEC(".maps") = {.values = {&stacks0, &stacks1}};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, GP_MAX_FILTER_PIDS);
    __type(key, __u32);
    __type(value, __u8);
} pid_filter SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, GP_SEEN_ENTRIES);
    __type(key, __u32);
    __type(value, __u8);
} seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, GP_STAT_MAX);
    __type(key, __u32);
    __type(value, __u64);
} stats SEC(".maps");

/* Per-CPU sequence (odd while a sample is writing into a buffer: user space waits for every odd
 * value it sees after a flip to change, so no writer is left in the buffer it drains) and the
 * last tgid known to be in `seen`, which saves the LRU lookup on most samples. */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_cpu_state);
} cpustate SEC(".maps");

/* The per-CPU front tables of the two buffers (key: the buffer index). */
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 2);
    __type(key, __u32);
    __type(value, struct gp_front);
} front SEC(".maps");

/* Per-CPU scratch where a sample's key and stacks are assembled before they are counted and
 * stored. */
struct gp_scratch {
    struct gp_count_key key;
    struct gp_stack user;
    struct gp_stack kernel;
    struct gp_uw_state uw;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_scratch);
} scratch SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, GP_RINGBUF_BYTES);
} events SEC(".maps");

/* For counters only the perf_event program touches: it does not nest on a CPU. */
static __always_inline void stat_inc(__u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(&stats, &idx);
    if (v)
        *v += 1;
}

/* For counters shared with the raw tracepoint programs, which a sample may interrupt. */
static __always_inline void stat_inc_atomic(__u32 idx)
{
    __u64 *v = bpf_map_lookup_elem(&stats, &idx);
    if (v)
        __sync_fetch_and_add(v, 1);
}

static __always_inline void emit(__u32 type, __u32 tgid, __u32 pid)
{
    struct gp_proc_event_raw *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e) {
        stat_inc_atomic(GP_STAT_EVENTS_LOST);
        return;
    }
    e->type = type;
    e->tgid = tgid;
    e->pid = pid;
    e->pad = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_ringbuf_submit(e, 0);
}

/* The stack hash: FNV-style mixing per address, finished with the address count and a
 * murmur finalizer; values below GP_STACK_FIRST_HASH are moved up (they are GP_STACK_*). */
#define HASH_SEED 0xcbf29ce484222325ULL

static __always_inline __u64 hash_mix(__u64 h, __u64 ip)
{
    h = (h ^ ip) * 0x100000001b3ULL;
    return h ^ (h >> 29);
}

static __always_inline __u64 hash_finish(__u64 h, __u32 n)
{
    h ^= n;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h < GP_STACK_FIRST_HASH ? h + GP_STACK_FIRST_HASH : h;
}

#include "unwind.bpf.h"

/* Walks the user stack by frame pointers, hashing as it goes. Unlike the kernel's walker (what
 * bpf_get_stackid and bpf_get_stack use) it reads a frame only where one can be: the first at
 * or above the stack pointer, each next one above the last, all within GP_MAX_FRAME_SIZE. The
 * kernel's walker reads whatever the frame pointer holds, and in code built without frame
 * pointers (or at the outermost frame) that read faults: about 2 µs in a VM, on nearly every
 * sample. Returns the stack's hash. The depth reached is only stored (st->n) and hashed, never
 * branched on after the loop, so the verifier prunes the paths that leave the loop at different
 * depths (a branch on it, even far below, makes it check everything after the loop once per
 * depth: it once took 262,000 instructions where 20,000 were enough). */
static __always_inline __u64 walk_user(__u64 ip, __u64 sp, __u64 fp, struct gp_stack *st)
{
    __u64 h = hash_mix(HASH_SEED, ip);
    __u32 n = 1;
    st->ips[0] = ip;
    if (fp >= sp && fp - sp <= GP_MAX_FRAME_SIZE) {
        for (int i = 1; i < GP_MAX_STACK_DEPTH; i++) {
            __u64 frame[2]; /* saved frame pointer, return address */
            if (fp & 7)
                break;
            if (bpf_probe_read_user(frame, sizeof(frame), (const void *)fp))
                break;
            if (frame[1] == 0)
                break;
            st->ips[i] = frame[1];
            h = hash_mix(h, frame[1]);
            n = i + 1;
            if (frame[0] <= fp || frame[0] - fp > GP_MAX_FRAME_SIZE)
                break;
            fp = frame[0];
        }
    }
    st->n = n;
    return hash_finish(h, n);
}

/* Hashes the kernel stack bpf_get_stack left in st (n addresses; it zero-fills the rest). */
static __always_inline __u64 hash_kernel(const struct gp_stack *st, __u32 n)
{
    __u64 h = HASH_SEED;
    for (int i = 0; i < GP_MAX_STACK_DEPTH; i++) {
        if (st->ips[i] == 0)
            break;
        h = hash_mix(h, st->ips[i]);
    }
    return hash_finish(h, n);
}

/* Stores the stack in the map under its hash h unless it is there; returns h or GP_STACK_FULL. */
static __always_inline __u64 store_stack(void *stacks, struct gp_stack *st, __u64 h, __u32 err_stat)
{
    if (bpf_map_lookup_elem(stacks, &h))
        return h;
    long rc = bpf_map_update_elem(stacks, &h, st, BPF_NOEXIST);
    if (rc && rc != -17 /* EEXIST: stored meanwhile by another CPU */) {
        stat_inc(err_stat);
        return GP_STACK_FULL;
    }
    return h;
}

/* The front slot of a key: its stack hashes are hashes already; the pid spreads threads that
 * run the same code. */
static __always_inline __u32 front_slot(const struct gp_count_key *k)
{
    __u64 h = k->user_stack ^ (k->kernel_stack * 0x9e3779b97f4a7c15ULL) ^
              ((__u64)k->pid * 0xc2b2ae3d27d4eb4fULL);
    return (__u32)(h ^ (h >> 32)) & front_mask & (GP_FRONT_SLOTS - 1);
}

static __always_inline int same_key(const struct gp_count_key *a, const struct gp_count_key *b)
{
    const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
    return x[0] == y[0] && x[1] == y[1] && x[2] == y[2] && x[3] == y[3] && x[4] == y[4];
}

/* Stores the sample's walked stacks (those whose key is a hash) in buffer idx's stack map unless
 * they are there; a stack that does not fit turns into GP_STACK_FULL in the key. */
static __always_inline void store_stacks(__u32 idx, struct gp_scratch *sc, struct gp_count_key *key)
{
    int user = key->user_stack >= GP_STACK_FIRST_HASH;
    int kernel = key->kernel_stack >= GP_STACK_FIRST_HASH;
    void *stacks = bpf_map_lookup_elem(&stacks_of, &idx);
    if (!stacks) { /* cannot happen: idx is 0 or 1 */
        key->user_stack = user ? GP_STACK_FULL : key->user_stack;
        key->kernel_stack = kernel ? GP_STACK_FULL : key->kernel_stack;
        return;
    }
    if (user)
        key->user_stack = store_stack(stacks, &sc->user, key->user_stack, GP_STAT_USTACK_ERR);
    if (kernel)
        key->kernel_stack = store_stack(stacks, &sc->kernel, key->kernel_stack, GP_STAT_KSTACK_ERR);
}

/* Counts a key whose front slot another key holds, in buffer idx's count map. */
static __always_inline void count_in_map(__u32 idx, struct gp_scratch *sc, struct gp_count_key *key)
{
    void *counts = bpf_map_lookup_elem(&counts_of, &idx);
    if (!counts) { /* cannot happen: idx is 0 or 1 */
        stat_inc(GP_STAT_MAP_FULL);
        return;
    }
    __u64 *val = bpf_map_lookup_elem(counts, key);
    if (val) {
        __sync_fetch_and_add(val, 1);
        return;
    }
    store_stacks(idx, sc, key);
    __u64 one = 1;
    long err = bpf_map_update_elem(counts, key, &one, BPF_NOEXIST);
    if (err == -17) { /* EEXIST: another CPU inserted the same key meanwhile */
        val = bpf_map_lookup_elem(counts, key);
        if (val) {
            __sync_fetch_and_add(val, 1);
            return;
        }
    }
    if (err)
        stat_inc(GP_STAT_MAP_FULL);
}

/* Fills the key of a sample in scratch: its stacks are walked into scratch and hashed, not stored
 * yet. ip, sp, fp: the interrupted registers (user ones when kernel_mode is 0). The key is built
 * in map memory, whose contents the verifier does not track, and the kernel stack is taken
 * first, so every path reaches the user stack walk and the counting with the same state: the
 * verifier checks each once (a key on the BPF stack, or a kernel_mode still live after the walk,
 * made it check them once per combination). */
static __always_inline void make_key(struct bpf_perf_event_data *ctx, struct gp_scratch *sc,
                                     __u32 tgid, __u32 pid, int kernel_mode, __u64 ip, __u64 sp,
                                     __u64 fp)
{
    struct gp_count_key *key = &sc->key;
    key->tgid = tgid;
    key->pid = pid;
    key->kernel_stack = GP_STACK_NONE;
    key->user_stack = GP_STACK_NONE;
    if (kernel_mode) {
        long bytes = bpf_get_stack(ctx, sc->kernel.ips, sizeof(sc->kernel.ips), 0);
        if (bytes > 0) {
            sc->kernel.n = (__u32)bytes / 8;
            key->kernel_stack = hash_kernel(&sc->kernel, sc->kernel.n);
        } else {
            stat_inc(GP_STAT_KSTACK_ERR);
            key->kernel_stack = GP_STACK_FAILED;
        }
        if (have_task_regs) {
            /* The user registers saved at kernel entry (direct loads from the task's pt_regs, no
             * probe reads). */
            struct pt_regs *u = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
            ip = u ? PT_REGS_IP(u) : 0;
            sp = u ? PT_REGS_SP(u) : 0;
            fp = u ? PT_REGS_FP(u) : 0;
        } else {
            /* No way to the user registers (< 5.15): the kernel's frame-pointer walk of the
             * user stack, counted; nothing below runs (ip 0). */
            bytes = bpf_get_stack(ctx, sc->user.ips, sizeof(sc->user.ips), BPF_F_USER_STACK);
            if (bytes > 0) {
                sc->user.n = (__u32)bytes / 8;
                key->user_stack = hash_kernel(&sc->user, sc->user.n);
                stat_inc(GP_STAT_USTACK_KERNEL_FP);
            }
            ip = 0;
        }
    }
    bpf_get_current_comm(key->comm, sizeof(key->comm));
    /* Kernel threads (and io workers) have no user context: their saved registers are zero. */
    if (ip != 0 && !(ip >> 63)) {
        /* A process with unwind tables is walked by gp_unwind, which finishes the sample; when
         * the tail call fails it is walked by frame pointers here. */
        const struct gp_uw_kproc *kp = uw_enabled ? bpf_map_lookup_elem(&uw_procs, &tgid) : NULL;
        if (kp) {
            uw_begin(sc, ip, sp, fp, kp->gen);
            bpf_tail_call(ctx, &uw_prog, 0);
        }
        key->user_stack = walk_user(ip, sp, fp, &sc->user);
    }
}

/* Counts the key made in scratch in buffer idx. Its stacks are stored only when the key is new to
 * the buffer: a counted key means its stacks were stored before it was counted. At 99 Hz a sample
 * starts with cold caches and TLB (on hosts with page table isolation and no PCID every kernel
 * entry empties the TLB), where a hash map lookup is a chain of dependent misses: outer map, map,
 * bucket, element. The common case, a key this CPU counted before, touches one slot of its front
 * table instead. No atomics: only this CPU writes its front table, and perf_event programs do not
 * nest. */
static __always_inline void count_key(__u32 idx, struct gp_front *fr, struct gp_scratch *sc)
{
    struct gp_count_key *key = &sc->key;
    struct gp_count_slot *slot = &fr->slots[front_slot(key)];
    if (slot->count && same_key(&slot->key, key)) {
        slot->count++;
        return;
    }
    if (slot->count) {
        count_in_map(idx, sc, key);
        return;
    }
    store_stacks(idx, sc, key);
    slot->key = *key;
    slot->count = 1;
}

/* Counts the sample whose key and stacks are in scratch, and announces a new process. */
static __always_inline void finish_sample(struct gp_scratch *sc, __u32 tgid)
{
    __u32 zero = 0, one = 1;
    struct gp_cpu_state *cs = bpf_map_lookup_elem(&cpustate, &zero);
    /* Both front tables are looked up before the barrier below, so their map lines load while
     * it waits; active_idx picks one after it. */
    struct gp_front *fr0 = bpf_map_lookup_elem(&front, &zero);
    struct gp_front *fr1 = bpf_map_lookup_elem(&front, &one);
    if (!cs || !fr0 || !fr1)
        return;
    cs->samples++; /* here, not in `stats`: this cache line is touched anyway */
    /* A fetching atomic is a full barrier: the increment is visible before active_idx is read
     * (barrier_var keeps the fetched value live so clang emits the fetching form). */
#ifndef GP_BPF_PRE_5_12
    __u64 prev = __sync_fetch_and_add(&cs->seq, 1);
    barrier_var(prev);
#else
    /* The build for kernels < 5.12 (bpf/CMakeLists.txt): the add without fetch (BPF_XADD), a
     * locked instruction on x86 (a full barrier there too); other architectures' JITs of those
     * kernels order it more weakly. */
    __sync_fetch_and_add(&cs->seq, 1);
#endif
    __u32 idx = *(volatile __u32 *)&active_idx & 1;
    count_key(idx, idx ? fr1 : fr0, sc);
    __sync_fetch_and_add(&cs->seq, 1);

    /* First sample of a process: tell user space. (A sample taken while the process exits, after
     * its exit event, announces it again; user space then finds it gone.) */
    if (cs->last_seen != tgid) {
        if (!bpf_map_lookup_elem(&seen, &tgid)) {
            __u8 one = 1;
            if (bpf_map_update_elem(&seen, &tgid, &one, BPF_NOEXIST) == 0)
                emit(GP_BPF_PROC_SEEN, tgid, tgid);
        }
        cs->last_seen = tgid;
    }
}

static __always_inline int wanted(__u32 tgid)
{
    return !filter_on || bpf_map_lookup_elem(&pid_filter, &tgid) != NULL;
}

SEC("perf_event")
int gp_sample(struct bpf_perf_event_data *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32, pid = (__u32)id;

    if (pid == 0 && !include_idle)
        return 0;
    if (!wanted(tgid)) {
        stat_inc(GP_STAT_FILTERED);
        return 0;
    }
    /* Kernel addresses have the top bit set on every 64-bit architecture we build for. The
     * context is read here, once, so no load of it is shared with the task-register path (the
     * verifier refuses a context access through a computed pointer). */
    __u64 ip = PT_REGS_IP(&ctx->regs), sp = PT_REGS_SP(&ctx->regs), fp = PT_REGS_FP(&ctx->regs);
    barrier_var(ip);
    barrier_var(sp);
    barrier_var(fp);
    int kernel_mode = (ip >> 63) != 0;

    __u32 zero = 0;
    struct gp_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
    if (!sc) /* cannot happen for array maps; keeps the verifier happy */
        return 0;
    /* The key first, outside the buffer: a drain waits only while a sample counts (its
     * sequence is odd), not while it walks stacks. */
    make_key(ctx, sc, tgid, pid, kernel_mode, ip, sp, fp);

    finish_sample(sc, tgid);
    return 0;
}

SEC("raw_tp/sched_process_exec")
int gp_exec(void *ctx)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bpf_map_lookup_elem(&seen, &tgid) || (filter_on && bpf_map_lookup_elem(&pid_filter, &tgid)))
        emit(GP_BPF_PROC_EXEC, tgid, tgid);
    return 0;
}

SEC("raw_tp/sched_process_exit")
int gp_exit(void *ctx)
{
    __u64 id = bpf_get_current_pid_tgid();
    __u32 tgid = id >> 32, pid = (__u32)id;
    /* Every thread exit of a tracked process is reported: the process ends with its last thread
     * and its leader may exit first, which user space tells from /proc (the thread counts live
     * in kernel structures this program does not read). It forgets the process in `seen`. */
    if (!bpf_map_lookup_elem(&seen, &tgid) &&
        !(filter_on && bpf_map_lookup_elem(&pid_filter, &tgid)))
        return 0;
    if (pid == tgid) {
        __u32 zero = 0;
        struct gp_cpu_state *cs = bpf_map_lookup_elem(&cpustate, &zero);
        if (cs && cs->last_seen == tgid)
            cs->last_seen = 0;
    }
    emit(GP_BPF_PROC_EXIT, tgid, pid);
    return 0;
}
