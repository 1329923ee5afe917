/* unwind.bpf.h — the table unwinder: walks the user stack of a process whose binaries have
 * unwind tables (bpf/unwind.h) and finishes the sample. Two programs walk the same way; user
 * space loads one: gp_unwind_loop (the whole walk in one run through bpf_loop, 5.17+) or, where
 * the kernel has no bpf_loop, gp_unwind (GP_UW_FRAMES_PER_CALL frames per run, then it
 * tail-calls itself). Included by profile.bpf.c: it shares its maps, scratch and counting code
 * (one object, so one set of maps).
 *
 * What a sample costs is mostly cold memory (at 99 Hz the caches and TLB hold other tasks'
 * lines), so a frame touches as little as it can: the mapping and table descriptor of the last
 * lookup are kept in the walk state (most frames stay in one binary), and the user stack is
 * copied a window at a time (one helper call serves the return address and saved RBP of many
 * frames).
 *
 * Verifier notes: every index the searches compute goes through memory (uw.tmp) before it
 * addresses an array, so the verifier does not mark the search bounds precise and prunes the
 * paths of each search step instead of checking every combination of them. */
#ifndef GPROF_BPF_UNWIND_BPF_H
#define GPROF_BPF_UNWIND_BPF_H

#include "unwind.h"

/* Values of enum gp_uw_cfa (agent/unwind/table.h). */
#define UW_CFA_SP  0
#define UW_CFA_FP  1
#define UW_CFA_PLT 2
#define UW_SIGNAL  3
#define UW_END     4
#define UW_UNKNOWN 5
#define UW_NONE    6

/* Sized by user space before load (0 rows: no process unwinds by tables). */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_uw_key_block);
} uw_keys SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_uw_rule_block);
} uw_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_uw_page_block);
} uw_pages SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, GP_UW_MAX_TABLES);
    __type(key, __u32);
    __type(value, struct gp_uw_ktable);
} uw_tables SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, GP_UW_MAX_PROCS);
    __type(key, __u32);
    __type(value, struct gp_uw_kproc);
} uw_procs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, __u32);
} uw_prog SEC(".maps");

/* Lazy tables: the per-CPU budget of miss reports (window: ktime >> 27, n: sent in it). */
struct gp_uw_miss_budget {
    __u64 window;
    __u32 n;
    __u32 pad;
};

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_uw_miss_budget);
} uw_miss_budget SEC(".maps");

/* Reports to user space that no table covers pc in process tgid (struct gp_uw_miss_raw): the
 * binary there may have none built yet (lazy tables, agent/unwind/registry.c). 1 when the report
 * went out, 0 when the budget or the ring held it back (the caller then keeps no cached answer
 * for pc, so the next walk there reports it again). */
static __always_inline int uw_report_miss(__u32 tgid, __u64 pc)
{
    __u32 zero = 0;
    struct gp_uw_miss_budget *b = bpf_map_lookup_elem(&uw_miss_budget, &zero);
    if (!b)
        return 0;
    __u64 w = bpf_ktime_get_ns() >> 27;
    if (b->window != w) {
        b->window = w;
        b->n = 0;
    }
    if (b->n >= GP_UW_MISS_PER_WINDOW ||
        bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) > GP_RINGBUF_BYTES / 2)
        return 0;
    struct gp_uw_miss_raw *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
    if (!e)
        return 0;
    b->n++;
    e->type = GP_BPF_UW_MISS;
    e->tgid = tgid;
    e->pc = pc;
    bpf_ringbuf_submit(e, 0);
    return 1;
}

/* An index that addresses memory, laundered through map memory (see the top). */
static __always_inline __u32 uw_launder(struct gp_uw_state *s, __u32 v)
{
    s->tmp = v;
    return *(volatile __u32 *)&s->tmp;
}

/* Finds the mapping with a table covering pc in the process and keeps it and its table's
 * descriptor in s; 0 when none does (s keeps what it held). */
static __always_inline int uw_map(struct gp_uw_state *s, const struct gp_uw_kproc *proc, __u64 pc)
{
    /* Bounds the verifier knows as constants would make it decide each step's branch and keep
     * every path apart: hi comes from memory as an unknown (mid is masked anyway). */
    __u32 lo = 0, hi = proc->n;
    if (hi > GP_UW_MAX_MAPPINGS)
        hi = uw_launder(s, GP_UW_MAX_MAPPINGS);
    for (int i = 0; i < 8; i++) { /* the first mapping starting above pc */
        if (lo >= hi)
            break;
        __u32 mid = (lo + hi) >> 1;
        __u32 k = uw_launder(s, mid) & (GP_UW_MAX_MAPPINGS - 1);
        if (proc->start[k] <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    __u32 k = uw_launder(s, lo - 1) & (GP_UW_MAX_MAPPINGS - 1);
    const struct gp_uw_kmap *m = &proc->m[k];
    if (pc >= m->end)
        return 0;
    __u32 tid = m->table;
    const struct gp_uw_ktable *t = bpf_map_lookup_elem(&uw_tables, &tid);
    if (!t)
        return 0;
    s->mstart = proc->start[k];
    s->mend = m->end;
    s->mbias = m->bias;
    s->tbase = t->base;
    s->tspan = t->span;
    s->tpage0 = t->page0;
    return 1;
}

/* uw_find's answer where no table covers the address (a packed rule never has kind 7). */
#define UW_NO_ROW 0xffffffffu

/* From 5.12 on uw_find is a global function: the verifier checks it once, with unknown
 * arguments, instead of once per walk state that reaches a call (that is most of
 * gp_unwind_loop's verification time). Older verifiers take no pointer arguments there: inlined
 * for them. */
#ifdef GP_BPF_PRE_5_12
#define UW_FIND_LINKAGE static __always_inline
#else
#define UW_FIND_LINKAGE __noinline
#endif

/* The packed rule (gp_uw_rule_pack) in effect at address pc of the process, or UW_NO_ROW when
 * no table covers pc. Reads the page index (one line), the page's keys (one or two lines) and the
 * rule (one line). */
UW_FIND_LINKAGE __u32 uw_find(struct gp_uw_state *s, const struct gp_uw_kproc *proc, __u64 pc)
{
    if (!s || !proc) /* what a global function is given may be NULL, for the verifier */
        return UW_NO_ROW;
    if ((pc < s->mstart || pc >= s->mend) && !uw_map(s, proc, pc))
        return UW_NO_ROW;
    __u64 vaddr = pc - s->mbias, base = s->tbase;
    if (vaddr < base || vaddr - base >= s->tspan)
        return UW_NO_ROW;
    __u32 off = (__u32)(vaddr - base);
    __u32 pi = s->tpage0 + (off >> GP_UW_PAGE_SHIFT);
    __u32 bk = pi / GP_UW_PAGES_PER_BLOCK;
    const struct gp_uw_page_block *pb = bpf_map_lookup_elem(&uw_pages, &bk);
    if (!pb)
        return UW_NO_ROW;
    __u32 rlo = pb->row[uw_launder(s, pi) & (GP_UW_PAGES_PER_BLOCK - 1)];
    pi++;
    if (pi % GP_UW_PAGES_PER_BLOCK == 0) {
        bk = pi / GP_UW_PAGES_PER_BLOCK;
        pb = bpf_map_lookup_elem(&uw_pages, &bk);
        if (!pb)
            return UW_NO_ROW;
    }
    __u32 rhi = pb->row[uw_launder(s, pi) & (GP_UW_PAGES_PER_BLOCK - 1)];
    /* The last row in [rlo, rhi] whose pc <= off (rlo's is: it is in effect at the page start).
     * Rows after rlo have their pc in (page start, page end], and their key is that pc less
     * the page start. */
    __u32 in = off & ((1u << GP_UW_PAGE_SHIFT) - 1);
    for (int i = 0; i < GP_UW_SEARCH_STEPS; i++) {
        if (rlo >= rhi)
            break;
        __u32 mid = rlo + ((rhi - rlo + 1) >> 1);
        __u32 blk = mid / GP_UW_KEYS_PER_BLOCK;
        const struct gp_uw_key_block *b = bpf_map_lookup_elem(&uw_keys, &blk);
        if (!b)
            return UW_NO_ROW;
        if (b->key[uw_launder(s, mid) & (GP_UW_KEYS_PER_BLOCK - 1)] <= in)
            rlo = mid;
        else
            rhi = mid - 1;
    }
    __u32 rb = rlo / GP_UW_RULES_PER_BLOCK;
    const struct gp_uw_rule_block *rules = bpf_map_lookup_elem(&uw_rules, &rb);
    if (!rules)
        return UW_NO_ROW;
    return rules->rule[uw_launder(s, rlo) & (GP_UW_RULES_PER_BLOCK - 1)];
}

/* One read of user stack [base, base + len) into the window; 0, or -1 when unreadable. */
static __always_inline int uw_fill(struct gp_uw_state *s, __u64 base, __u64 len)
{
#ifdef GP_BPF_WALK_TIMING
    __u64 r0 = bpf_ktime_get_ns();
    long rc = bpf_probe_read_user(s->win, len, (const void *)base);
    __sync_fetch_and_add(&uw_walk_read_ns, bpf_ktime_get_ns() - r0);
    __sync_fetch_and_add(&uw_walk_reads, 1);
    return rc ? -1 : 0;
#else
    return bpf_probe_read_user(s->win, len, (const void *)base) ? -1 : 0;
#endif
}

/* The 8 bytes of user stack at addr into *out, through the window; 0, or -1 when unreadable. A
 * new window starts up to 64 bytes below addr (the saved RBP lies below the return address)
 * and ends at the end of addr's page: it reads only what an 8-byte read at addr would need
 * mapped, so it fails exactly where that read would. (A 2 KiB window that crosses pages halves
 * the reads but not the time: the cost is the stack's cold lines, not the calls.) */
static __always_inline int uw_read(struct gp_uw_state *s, __u64 addr, __u64 *out)
{
    __u64 off = addr - s->wbase;
    if (addr < s->wbase || off + 8 > s->wlen) {
        __u64 back = addr & 4095;
        if (back > 64)
            back = 64;
        __u64 base = addr - back;
        __u64 len = 4096 - (base & 4095);
        if (len > GP_UW_WIN)
            len = GP_UW_WIN;
        if (len < back + 8) /* addr's 8 bytes cross the page end */
            len = back + 8;
        s->wlen = 0;
        if (uw_fill(s, base, len))
            return -1;
        s->wbase = base;
        s->wlen = len;
        off = back;
    }
    *out = *(__u64 *)&s->win[off & (GP_UW_WIN - 1)];
    return 0;
}

/* One frame: 0 to go on, or the GP_STAT_UW_* reason the walk stops. */
static __always_inline __u32 uw_step(struct gp_scratch *sc, const struct gp_uw_kproc *proc)
{
    struct gp_uw_state *s = &sc->uw;
    __u64 pc = s->pc, sp = s->sp, fp = s->fp;
    __u32 n = s->n;
    if (n >= GP_MAX_STACK_DEPTH)
        return GP_STAT_UW_DEPTH;
    __u64 at = s->exact ? pc : pc - 1;
    __u32 slot = uw_launder(s, (__u32)((at * 0x9e3779b97f4a7c15ULL) >> 40)) & (GP_UW_CACHE - 1);
    struct gp_uw_centry *ce = &s->cache[slot];
    __u32 rule;
    if (ce->pc == at && ce->tgid == s->tgid && ce->gen == s->gen) {
        rule = ce->rule;
    } else {
        rule = uw_find(s, proc, at);
#ifdef GP_BPF_WALK_TIMING
        __sync_fetch_and_add(&uw_walk_lookups, 1);
#endif
        /* A miss is cached only once reported: one held back by the budget would otherwise
         * stay unreported while the entry lives (for ever on a CPU the process has to itself),
         * and the binary's lazy table would never be built. */
        int keep = 1;
        if (rule == UW_NO_ROW) {
            keep = uw_report_miss(s->tgid, at);
            rule = UW_NONE;
        }
        if (keep) {
            ce->pc = at;
            ce->tgid = s->tgid;
            ce->gen = s->gen;
            ce->rule = rule;
        }
    }
    __u32 kind = gp_uw_rule_kind(rule);
    __s64 cfa_off = gp_uw_rule_cfa_off(rule), fp_off = gp_uw_rule_fp_off(rule);
    /* Where the caller's pc, rbp and (signal frames) rsp are read: 0 = not read. */
    __u64 cfa, ra_at, fp_at = 0, sp_at = 0;
    __u32 fail = GP_STAT_UW_READ_ERR;
    if (kind == UW_END)
        return GP_STAT_UW_END;
    if (kind == UW_UNKNOWN || kind > UW_NONE) /* not a rule of table.h: never guess */
        return GP_STAT_UW_UNKNOWN;
    if (kind == UW_SIGNAL) { /* the interrupted registers, from the ucontext at sp */
        cfa = 0;
        ra_at = sp + GP_UW_SIG_RIP;
        fp_at = sp + GP_UW_SIG_RBP;
        sp_at = sp + GP_UW_SIG_RSP;
    } else if (kind == UW_CFA_SP || kind == UW_CFA_PLT || kind == UW_CFA_FP) {
        cfa = (kind == UW_CFA_FP ? fp : sp) + cfa_off;
        if (kind == UW_CFA_PLT && (pc & 15) >= 11)
            cfa += 8;
        if (cfa <= sp || cfa - sp > GP_MAX_FRAME_SIZE)
            return GP_STAT_UW_READ_ERR;
        ra_at = cfa - 8;
        if (fp_off)
            fp_at = cfa + fp_off;
    } else { /* no table covers pc: one frame-pointer step */
        if ((fp & 7) || fp < sp || fp - sp > GP_MAX_FRAME_SIZE)
            return GP_STAT_UW_NO_TABLE;
        cfa = fp + 16;
        ra_at = fp + 8;
        fp_at = fp;
        fail = GP_STAT_UW_NO_TABLE;
    }
    __u64 ra, nfp = fp, nsp = cfa;
    if (uw_read(s, ra_at, &ra))
        return fail;
    if (fp_at && uw_read(s, fp_at, &nfp))
        return fail;
    if (sp_at && uw_read(s, sp_at, &nsp))
        return fail;
    if (ra == 0)
        return GP_STAT_UW_END;
    /* A mask the verifier can see (n < GP_MAX_STACK_DEPTH already, so a no-op the compiler would
     * drop without the barrier): the bound checked above does not reach a slot address computed
     * before it and kept across the call of uw_find, nor, on the verifiers before 5.11, copies of
     * n (no find_equal_scalars). */
    asm volatile("" : "+r"(n));
    n &= 127;
    sc->user.ips[n] = ra;
    s->hash = hash_mix(s->hash, ra);
    s->n = n + 1;
    s->pc = ra;
    s->sp = nsp;
    s->fp = nfp;
    s->exact = kind == UW_SIGNAL; /* the interrupted instruction itself, not a return address */
    return 0;
}

/* Starts a table walk of the user stack from registers ip, sp, fp (the leaf is ip) of a process
 * whose mappings are at generation gen (gp_uw_kproc.gen: the rule cache's tag). */
static __always_inline void uw_begin(struct gp_scratch *sc, __u64 ip, __u64 sp, __u64 fp, __u32 gen)
{
    sc->uw.pc = ip;
    sc->uw.sp = sp;
    sc->uw.fp = fp;
    sc->uw.hash = hash_mix(HASH_SEED, ip);
    sc->uw.n = 1;
    sc->uw.exact = 1;
    sc->uw.calls = 0;
    sc->uw.tgid = sc->key.tgid;
    sc->uw.gen = gen;
    sc->uw.mstart = 0;
    sc->uw.mend = 0;
    sc->uw.wlen = 0;
    sc->user.ips[0] = ip;
#ifdef GP_BPF_WALK_TIMING
    sc->uw.t0 = bpf_ktime_get_ns();
#endif
}

static __always_inline void finish_sample(struct gp_scratch *sc, __u32 tgid);

/* Counts why the walk stopped and its frames, and finishes the sample. */
static __always_inline void uw_end(struct gp_scratch *sc, __u32 tgid, __u32 stop)
{
    stat_inc(stop);
    __u32 fr = GP_STAT_UW_FRAMES;
    __u64 *v = bpf_map_lookup_elem(&stats, &fr);
    if (v)
        *v += sc->uw.n;
    sc->user.n = sc->uw.n;
    sc->key.user_stack = hash_finish(sc->uw.hash, sc->uw.n);
#ifdef GP_BPF_WALK_TIMING
    __sync_fetch_and_add(&uw_walk_ns, bpf_ktime_get_ns() - sc->uw.t0);
    __sync_fetch_and_add(&uw_walks, 1);
    __sync_fetch_and_add(&uw_walk_frames, sc->uw.n);
#endif
    finish_sample(sc, tgid);
}

SEC("perf_event")
int gp_unwind(struct bpf_perf_event_data *ctx)
{
    __u32 zero = 0;
    struct gp_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
    if (!sc)
        return 0;
    __u32 tgid = sc->key.tgid;
    __u32 stop = GP_STAT_UW_NO_TABLE;
    const struct gp_uw_kproc *proc = bpf_map_lookup_elem(&uw_procs, &tgid);
    if (proc) {
        stop = 0;
        for (int i = 0; i < GP_UW_FRAMES_PER_CALL; i++) {
            stop = uw_step(sc, proc);
            if (stop)
                break;
        }
    }
    if (!stop) {
        sc->uw.calls++;
        bpf_tail_call(ctx, &uw_prog, 0);
        stop = GP_STAT_UW_DEPTH; /* the kernel's tail-call limit */
    }
    uw_end(sc, tgid, stop);
    return 0;
}

struct uw_loop_ctx {
    struct gp_scratch *sc;
    const struct gp_uw_kproc *proc;
};

/* The stop reason goes to the scratch, which the verifier does not track: in the context it
 * would make it check the callback once per value. */
static long uw_loop_step(__u64 i, void *data)
{
    struct uw_loop_ctx *c = data;
    __u32 stop = uw_step(c->sc, c->proc);
    if (!stop)
        return 0;
    c->sc->uw.stop = stop;
    return 1;
}

SEC("perf_event")
int gp_unwind_loop(struct bpf_perf_event_data *ctx)
{
    __u32 zero = 0;
    struct gp_scratch *sc = bpf_map_lookup_elem(&scratch, &zero);
    if (!sc)
        return 0;
    __u32 tgid = sc->key.tgid;
    const struct gp_uw_kproc *proc = bpf_map_lookup_elem(&uw_procs, &tgid);
#ifdef GP_BPF_WALK_TIMING
    __sync_fetch_and_add(&uw_walk_entry_ns, bpf_ktime_get_ns() - sc->uw.t0);
#endif
    /* GP_MAX_STACK_DEPTH steps reach the depth check of uw_step. */
    sc->uw.stop = proc ? GP_STAT_UW_DEPTH : GP_STAT_UW_NO_TABLE;
    if (proc) {
        struct uw_loop_ctx c = {.sc = sc, .proc = proc};
        bpf_loop(GP_MAX_STACK_DEPTH, uw_loop_step, &c, 0);
    }
    uw_end(sc, tgid, uw_launder(&sc->uw, sc->uw.stop));
    return 0;
}

#endif
