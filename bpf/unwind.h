/* unwind.h — the kernel layout of the unwind tables and per-process mappings that the BPF
 * unwinder (unwind.bpf.h) reads and the BPF sampler (agent/sampler/bpf.c) writes.
 *
 * A table's rows live in global arrays at a range of row indexes g: the row's search key (2
 * bytes) at keys[g / 32].key[g % 32] and its rule, packed into 4 bytes (gp_uw_rule_pack), at
 * rules[g / 16].rule[g % 16]: 6 bytes a row. A page index per table (one u32 per 1 KiB of code:
 * the row in effect where the page starts) narrows a lookup to the rows of one page, and a key
 * is the row's pc relative to the start of the page it is searched in (1..1024), so the search
 * reads 32 keys to a cache line (a page holds ~20 rows of real code: one or two lines), then
 * one line for the rule: no rule-id indirection. */
#ifndef GPROF_BPF_UNWIND_H
#define GPROF_BPF_UNWIND_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define GP_UW_PAGE_SHIFT      10
#define GP_UW_KEYS_PER_BLOCK  32
#define GP_UW_RULES_PER_BLOCK 16
#define GP_UW_PAGES_PER_BLOCK 16
#define GP_UW_ROW_ALIGN       32   /* a table's rows start at a multiple of this */
#define GP_UW_MAX_TABLES      8192 /* table ids 1..GP_UW_MAX_TABLES-1 */
#define GP_UW_MAX_MAPPINGS    128  /* mappings with a table per process */
#define GP_UW_MAX_PROCS       16384
#define GP_UW_SEARCH_STEPS    11 /* binary search steps: up to 2048 rows in one 1 KiB page */
/* Frames one run of gp_unwind walks before it tail-calls itself where the kernel has no
 * bpf_loop (5.15, 5.16): 32 runs (the tail-call limit) cover 127 frames. */
#define GP_UW_FRAMES_PER_CALL 4

/* ucontext at the signal frame's stack pointer (x86-64 rt_sigframe: uc_mcontext at 40). */
#define GP_UW_SIG_RBP (40 + 80)
#define GP_UW_SIG_RSP (40 + 120)
#define GP_UW_SIG_RIP (40 + 128)

struct gp_uw_key_block {
    __u16 key[GP_UW_KEYS_PER_BLOCK];
};

struct gp_uw_rule_block {
    __u32 rule[GP_UW_RULES_PER_BLOCK];
};

struct gp_uw_page_block {
    __u32 row[GP_UW_PAGES_PER_BLOCK];
};

/* A rule in 4 bytes: bits 0-2 the kind (enum gp_uw_cfa of agent/unwind/table.h), bits 3-15
 * the RBP save offset / 8 (signed: CFA - 32 KiB .. CFA + 32 KiB), bits 16-31 the CFA offset
 * (signed). An RBP offset that is not a multiple of 8 (no compiler emits one on x86-64) packs
 * as GP_UW_PACK_UNKNOWN: the walk stops there and counts it, as for any rule not modelled. */
#define GP_UW_PACK_UNKNOWN 5
static inline __u32 gp_uw_rule_pack(__u32 kind, __s32 cfa_off, __s32 fp_off)
{
    if ((fp_off & 7) || kind > 7)
        return GP_UW_PACK_UNKNOWN;
    return (kind & 7) | ((__u32)(fp_off / 8) & 0x1fff) << 3 | (__u32)(__u16)cfa_off << 16;
}
static inline __u32 gp_uw_rule_kind(__u32 r)
{
    return r & 7;
}
static inline __s32 gp_uw_rule_cfa_off(__u32 r)
{
    return (__s32)r >> 16;
}
static inline __s32 gp_uw_rule_fp_off(__u32 r)
{
    return ((__s32)(r << 16) >> 19) * 8;
}

/* The search key of a row whose pc is off bytes past its table's base: off relative to the
 * start of the page holding off - 1 (1..1024). Row 0 (off 0) is never compared. */
static inline __u16 gp_uw_row_key(__u32 off)
{
    return off ? (__u16)(((off - 1) & ((1u << GP_UW_PAGE_SHIFT) - 1)) + 1) : 0;
}

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

/* A mapping [start[i], end) of a process (start is kept apart, see gp_uw_kproc). */
struct gp_uw_kmap {
    __u64 end;
    __u64 bias; /* runtime address - ELF virtual address */
    __u32 table;
    __u32 pad;
};

/* The mappings with a table of one process (the `uw_procs` hash, by tgid), sorted by start. The
 * starts are an array of their own, 8 to a cache line: the search for a pc reads one or two
 * lines of them, then the one line of the mapping found. */
struct gp_uw_kproc {
    __u32 n;
    /* Unique to this set of mappings (a new one at every update of the process, never reused):
     * the rule cache's entries of the process are tagged with it, so a change of one process's
     * mappings (a table built, a library loaded) leaves every other process's entries valid. */
    __u32 gen;
    __u64 start[GP_UW_MAX_MAPPINGS];
    struct gp_uw_kmap m[GP_UW_MAX_MAPPINGS];
};

/* Bytes of user stack one read copies into the walk state's window (a power of two): the
 * frames of a walk lie next to each other, so one read serves many of them. */
#define GP_UW_WIN 512

/* Rows cached per CPU (a power of two): the callers of a process's hot code are the same from
 * sample to sample, and a hit costs one line of the scratch instead of the lines of a lookup
 * (process mappings, table descriptor, page index, keys, rule). */
#define GP_UW_CACHE 128

/* The rule found for address pc of process tgid while its mappings were at generation gen
 * (gp_uw_kproc.gen; packed: gp_uw_rule_pack; kind UW_NONE: no table). */
struct gp_uw_centry {
    __u64 pc;
    __u32 tgid, gen;
    __u32 rule;
    __u32 pad;
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
    __u32 tgid, gen;         /* the walk's process and its mappings' generation */
#ifdef GP_BPF_WALK_TIMING
    __u64 t0; /* bpf_ktime_get_ns() at uw_begin */
#endif
    /* Kept from sample to sample (uw_begin does not clear it): an entry of another generation
     * of its process's mappings is stale (user space gives the process a new one at every
     * change; a table a process maps is never removed or replaced under it). */
    struct gp_uw_centry cache[GP_UW_CACHE];
};

/* Kernel bytes a table of nrows rows spanning span bytes of code takes in this layout (rows
 * rounded to GP_UW_ROW_ALIGN, page entries to whole blocks, plus its descriptor): 6 bytes a row
 * and 4 per KiB of code (libc: ~0.2 bytes a row). */
static inline __u64 gp_uw_kernel_bytes(__u64 nrows, __u64 span)
{
    __u64 rows = (nrows + GP_UW_ROW_ALIGN - 1) / GP_UW_ROW_ALIGN * GP_UW_ROW_ALIGN;
    __u64 pages = (span >> GP_UW_PAGE_SHIFT) + 2;
    pages = (pages + GP_UW_PAGES_PER_BLOCK - 1) / GP_UW_PAGES_PER_BLOCK * GP_UW_PAGES_PER_BLOCK;
    return rows * 6 + pages * 4 + sizeof(struct gp_uw_ktable);
}

#endif
