/* unwind.h — the kernel layout of the unwind tables and per-process mappings that the BPF
 * unwinder (unwind.bpf.h) reads and the BPF sampler (agent/sampler/bpf.c) writes.
 *
 * A table's rows live in global arrays at a range of row indexes g: the row's pc (relative to
 * the table's base, 4 bytes) at pcs[g / 16].pc[g % 16] and its rule id (2 bytes, into the
 * deduplicated rules array) at rule_ids[g / 32].id[g % 32]: 6 bytes a row, and a binary search
 * reads only the pcs, 16 to a cache line. A page index per table (one u32 per 4 KiB of code:
 * the row in effect where the page starts) narrows the search to the rows of one page. */
#ifndef GPROF_BPF_UNWIND_H
#define GPROF_BPF_UNWIND_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GP_UW_PAGE_SHIFT      12
#define GP_UW_PCS_PER_BLOCK   16
#define GP_UW_IDS_PER_BLOCK   32
#define GP_UW_PAGES_PER_BLOCK 16
#define GP_UW_ROW_ALIGN       32   /* a table's rows start at a multiple of this */
#define GP_UW_MAX_TABLES      8192 /* table ids 1..GP_UW_MAX_TABLES-1 */
#define GP_UW_MAX_RULES       65536
#define GP_UW_MAX_MAPPINGS    128 /* mappings with a table per process */
#define GP_UW_MAX_PROCS       16384
#define GP_UW_SEARCH_STEPS    13 /* binary search steps: up to 8192 rows in one page */
/* Frames one run of gp_unwind walks before it tail-calls itself where the kernel has no
 * bpf_loop (5.15, 5.16): 32 runs (the tail-call limit) cover 127 frames. */
#define GP_UW_FRAMES_PER_CALL 4

/* ucontext at the signal frame's stack pointer (x86-64 rt_sigframe: uc_mcontext at 40). */
#define GP_UW_SIG_RBP (40 + 80)
#define GP_UW_SIG_RSP (40 + 120)
#define GP_UW_SIG_RIP (40 + 128)

struct gp_uw_pc_block {
    __u32 pc[GP_UW_PCS_PER_BLOCK];
};

struct gp_uw_id_block {
    __u16 id[GP_UW_IDS_PER_BLOCK];
};

struct gp_uw_page_block {
    __u32 row[GP_UW_PAGES_PER_BLOCK];
};

/* One distinct rule (enum gp_uw_cfa of agent/unwind/table.h in cfa). */
struct gp_uw_krule {
    __u8 cfa;
    __u8 pad;
    __s16 cfa_off;
    __s16 fp_off;
    __s16 pad2;
};

/* A table (the `uw_tables` array, by id). Row pcs are relative to base (an ELF virtual
 * address); an address at or past base + span has no row. */
struct gp_uw_ktable {
    __u64 base;
    __u32 span;
    __u32 row0; /* global index of its first row */
    __u32 nrows;
    __u32 page0; /* global index of its first page entry; npages + 1 entries */
    __u32 npages;
    __u32 pad;
};

struct gp_uw_kmap {
    __u64 start, end; /* [start, end) */
    __u64 bias;       /* runtime address - ELF virtual address */
    __u32 table;
    __u32 pad;
};

/* The mappings with a table of one process (the `uw_procs` hash, by tgid), sorted by start. */
struct gp_uw_kproc {
    __u32 n;
    __u32 pad;
    struct gp_uw_kmap m[GP_UW_MAX_MAPPINGS];
};

/* Bytes of user stack one read copies into the walk state's window (a power of two): the
 * frames of a walk lie next to each other, so one read serves many of them. */
#define GP_UW_WIN 512

/* Rows cached per CPU (a power of two): the callers of a process's hot code are the same from
 * sample to sample, and a hit costs one line of the scratch instead of the six pages of a
 * lookup (process mappings, table descriptor, page index, pcs, rule ids, rules). */
#define GP_UW_CACHE 128

/* The rule found for address pc of process tgid while uw_gen was gen (cfa UW_NONE: no table). */
struct gp_uw_centry {
    __u64 pc;
    __u32 tgid, gen;
    __u8 cfa;
    __u8 pad;
    __s16 cfa_off, fp_off;
    __s16 pad2;
};

/* Walk state kept in the per-CPU scratch between the runs of gp_unwind. */
struct gp_uw_state {
    __u64 pc, sp, fp;
    __u64 hash;
    __u32 n;     /* addresses in the user stack so far */
    __u32 exact; /* pc is not a return address (the leaf, or interrupted by a signal) */
    __u32 calls; /* runs of gp_unwind so far */
    __u32 tmp;   /* an index passed through memory, so the verifier does not track its origin */
    /* The mapping of the last lookup and its table's descriptor (mend 0: none yet): a walk
     * mostly stays in one binary, so most frames skip the mapping search and the descriptor. */
    __u64 mstart, mend, mbias, tbase;
    __u32 tspan, tpage0;
    /* User stack [wbase, wbase + wlen) copied by the last read (wlen 0: none). */
    __u64 wbase;
    __u32 wlen;
    __u32 stop; /* gp_unwind_loop: why the walk stopped (in memory: see unwind.bpf.h) */
    __u8 win[GP_UW_WIN + 8]; /* + 8: a masked offset may start a read in the last byte */
    __u32 tgid, gen;         /* the walk's process and uw_gen when it began */
#ifdef GP_BPF_WALK_TIMING
    __u64 t0; /* bpf_ktime_get_ns() at uw_begin */
#endif
    /* Kept from sample to sample (uw_begin does not clear it): entries of another uw_gen are
     * stale, since user space bumps it after every change of the tables or mappings. */
    struct gp_uw_centry cache[GP_UW_CACHE];
};

/* Kernel bytes a table of nrows rows spanning span bytes of code takes in this layout (rows
 * rounded to GP_UW_ROW_ALIGN, page entries to whole blocks, plus its descriptor). */
static inline __u64 gp_uw_kernel_bytes(__u64 nrows, __u64 span)
{
    __u64 rows = (nrows + GP_UW_ROW_ALIGN - 1) / GP_UW_ROW_ALIGN * GP_UW_ROW_ALIGN;
    __u64 pages = (span >> GP_UW_PAGE_SHIFT) + 2;
    pages = (pages + GP_UW_PAGES_PER_BLOCK - 1) / GP_UW_PAGES_PER_BLOCK * GP_UW_PAGES_PER_BLOCK;
    return rows * 6 + pages * 4 + sizeof(struct gp_uw_ktable);
}

#endif
