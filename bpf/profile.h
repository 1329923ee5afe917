/* profile.h — the structs, map limits and counter indexes that profile.bpf.c and the user-space
 * sampler (agent/sampler/bpf.c) both see; change them in one place so both sides agree. */
#ifndef GPROF_BPF_PROFILE_H
#define GPROF_BPF_PROFILE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GP_TASK_COMM_LEN   16
#define GP_MAX_STACK_DEPTH 127 /* kernel.perf_event_max_stack default */
#define GP_MAX_FILTER_PIDS 1024
#define GP_SEEN_ENTRIES    16384
#define GP_RINGBUF_BYTES   (256 * 1024)
#define GP_DEFAULT_COUNTS  16384      /* per buffer; user space sizes them before load */
#define GP_DEFAULT_STACKS  16384      /* per buffer */
#define GP_MAX_FRAME_SIZE  (8u << 20) /* a caller's frame lies at most this far above */

/* Stacks are stored by content: the key is a 64-bit hash of the addresses, so two different
 * stacks never fight for one slot (bpf_get_stackid's buckets do: -EEXIST). Values below
 * GP_STACK_FIRST_HASH are not hashes but say why there is no stack: */
#define GP_STACK_NONE       0 /* not walked (user-mode sample: no kernel stack) or no user mm */
#define GP_STACK_FULL       1 /* the stack map was full */
#define GP_STACK_FAILED     2 /* the kernel could not walk it */
#define GP_STACK_FIRST_HASH 16

struct gp_stack {
    __u32 n; /* addresses used in ips, leaf first */
    __u32 pad;
    __u64 ips[GP_MAX_STACK_DEPTH];
};

/* Key of the in-kernel aggregation: one count per distinct (process, thread, stacks, comm). */
struct gp_count_key {
    __u32 tgid;
    __u32 pid;
    __u64 user_stack;   /* hash (key in the stack map) or GP_STACK_* */
    __u64 kernel_stack; /* same */
    char comm[GP_TASK_COMM_LEN];
};

/* Per-CPU front of the count map, one per buffer: a direct-mapped table of the keys this CPU
 * counted, so a repeated key costs one cold line instead of a walk through a hash map. A key
 * whose slot another key holds is counted in the count map; user space adds both up. */
#define GP_FRONT_SLOTS 256 /* a power of two */

struct gp_count_slot {
    struct gp_count_key key;
    __u64 count; /* 0: the slot is free */
};

struct gp_front {
    struct gp_count_slot slots[GP_FRONT_SLOTS];
};

/* Per-CPU state of the sampling program (the `cpustate` map). */
struct gp_cpu_state {
    __u64 seq;       /* odd while a sample is writing into a buffer (see the drain) */
    __u64 samples;   /* samples that passed the idle and pid filters */
    __u32 last_seen; /* tgid last announced or found in `seen` on this CPU */
    __u32 pad;
};

/* Process lifecycle events sent through the ring buffer. */
enum gp_bpf_proc_event {
    GP_BPF_PROC_SEEN = 0, /* first sample of this tgid */
    GP_BPF_PROC_EXEC = 1,
    GP_BPF_PROC_EXIT = 2, /* a thread (pid) of a tracked process exited; user space tells
                             from /proc whether it was the last one */
    GP_BPF_UW_MISS = 3,   /* a table walk found no table at pc (struct gp_uw_miss_raw) */
};

/* Lazy unwind tables: the table walk of process tgid found no table at pc; user space builds
 * the table of the binary there if it waits for one. At most GP_UW_MISS_PER_WINDOW a CPU per
 * 2^27 ns (~134 ms), and none while the ring is half full (process events come first). */
#define GP_UW_MISS_PER_WINDOW 32
struct gp_uw_miss_raw {
    __u32 type;
    __u32 tgid;
    __u64 pc;
};

struct gp_proc_event_raw {
    __u32 type;
    __u32 tgid;
    __u32 pid;
    __u32 pad;
    char comm[GP_TASK_COMM_LEN];
};

/* Per-CPU counters (the `stats` map; the sample count is in gp_cpu_state). Invariant once
 * sampling has stopped and both buffers are drained: samples == drained counts (front tables and
 * count maps) + MAP_FULL. */
enum gp_bpf_stat {
    GP_STAT_USTACK_ERR = 0, /* user stack not stored (stack map full) */
    GP_STAT_KSTACK_ERR,     /* kernel stack not walked (bpf_get_stack failed) or not stored */
    GP_STAT_MAP_FULL,       /* count map full: sample dropped */
    GP_STAT_FILTERED,       /* samples of processes outside the pid filter */
    GP_STAT_EVENTS_LOST,    /* ring buffer full: process event dropped */
    /* Walks of the table unwinder (unwind.bpf.h), by why they stopped (in the order of enum
     * gp_uw_stop, agent/unwind/unwind_user.h), and their frames. */
    GP_STAT_UW_END,      /* reached the end (outermost frame, return address 0) */
    GP_STAT_UW_NO_TABLE, /* no table there and the frame-pointer step failed */
    GP_STAT_UW_UNKNOWN,  /* a rule the tables do not model */
    GP_STAT_UW_READ_ERR, /* a stack read failed or the frame was implausible */
    GP_STAT_UW_DEPTH,    /* GP_MAX_STACK_DEPTH frames (or the tail-call limit) reached */
    GP_STAT_UW_FRAMES,   /* user frames those walks produced */
    /* user stacks of samples taken in kernel mode walked by the kernel's frame-pointer walker
     * (bpf_get_stack, BPF_F_USER_STACK), on kernels without bpf_task_pt_regs (< 5.15): no
     * table walk for them */
    GP_STAT_USTACK_KERNEL_FP,
    GP_STAT_MAX,
};

#endif
