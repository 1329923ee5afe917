/* unwind.bpf.h — the table unwinder: walks the user stack of a process whose binaries have
 * unwind tables (bpf/unwind.h), GP_UW_FRAMES_PER_CALL frames per run of gp_unwind, which then
 * tail-calls itself; the last run finishes the sample. Included by profile.bpf.c: it shares its
 * maps, scratch and counting code (one object, so one set of maps).
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
    __type(value, struct gp_uw_pc_block);
} uw_pcs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_uw_id_block);
} uw_ids SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(map_flags, BPF_F_MMAPABLE);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct gp_uw_page_block);
} uw_pages SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, GP_UW_MAX_RULES);
    __type(key, __u32);
    __type(value, struct gp_uw_krule);
} uw_rules SEC(".maps");

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

/* An index that addresses memory, laundered through map memory (see the top). */
static __always_inline __u32 uw_launder(struct gp_uw_state *s, __u32 v)
{
    s->tmp = v;
    return *(volatile __u32 *)&s->tmp;
}

/* The rule in effect at address pc of the process, or NULL when no table covers pc. */
static __always_inline const struct gp_uw_krule *uw_find(struct gp_uw_state *s,
                                                         const struct gp_uw_kproc *proc, __u64 pc)
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
        if (proc->m[k].start <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return NULL;
    __u32 k = uw_launder(s, lo - 1) & (GP_UW_MAX_MAPPINGS - 1);
    const struct gp_uw_kmap *m = &proc->m[k];
    if (pc >= m->end)
        return NULL;
    __u32 tid = m->table;
    const struct gp_uw_ktable *t = bpf_map_lookup_elem(&uw_tables, &tid);
    if (!t)
        return NULL;
    __u64 vaddr = pc - m->bias;
    if (vaddr < t->base || vaddr - t->base >= t->span)
        return NULL;
    __u32 off = (__u32)(vaddr - t->base);
    __u32 pi = t->page0 + (off >> GP_UW_PAGE_SHIFT);
    __u32 bk = pi / GP_UW_PAGES_PER_BLOCK;
    const struct gp_uw_page_block *pb = bpf_map_lookup_elem(&uw_pages, &bk);
    if (!pb)
        return NULL;
    __u32 rlo = pb->row[uw_launder(s, pi) & (GP_UW_PAGES_PER_BLOCK - 1)];
    pi++;
    bk = pi / GP_UW_PAGES_PER_BLOCK;
    pb = bpf_map_lookup_elem(&uw_pages, &bk);
    if (!pb)
        return NULL;
    __u32 rhi = pb->row[uw_launder(s, pi) & (GP_UW_PAGES_PER_BLOCK - 1)];
    /* The last row in [rlo, rhi] whose pc <= off (rlo's is: it is in effect at the page start). */
    for (int i = 0; i < GP_UW_SEARCH_STEPS; i++) {
        if (rlo >= rhi)
            break;
        __u32 mid = rlo + ((rhi - rlo + 1) >> 1);
        __u32 blk = mid / GP_UW_PCS_PER_BLOCK;
        const struct gp_uw_pc_block *b = bpf_map_lookup_elem(&uw_pcs, &blk);
        if (!b)
            return NULL;
        if (b->pc[uw_launder(s, mid) & (GP_UW_PCS_PER_BLOCK - 1)] <= off)
            rlo = mid;
        else
            rhi = mid - 1;
    }
    __u32 ib = rlo / GP_UW_IDS_PER_BLOCK;
    const struct gp_uw_id_block *ids = bpf_map_lookup_elem(&uw_ids, &ib);
    if (!ids)
        return NULL;
    __u32 rid = ids->id[uw_launder(s, rlo) & (GP_UW_IDS_PER_BLOCK - 1)];
    return bpf_map_lookup_elem(&uw_rules, &rid);
}

/* One frame: 0 to go on, or the GP_STAT_UW_* reason the walk stops. */
static __always_inline __u32 uw_step(struct gp_scratch *sc, const struct gp_uw_kproc *proc)
{
    struct gp_uw_state *s = &sc->uw;
    __u64 pc = s->pc, sp = s->sp, fp = s->fp;
    __u32 n = s->n;
    if (n >= GP_MAX_STACK_DEPTH)
        return GP_STAT_UW_DEPTH;
    const struct gp_uw_krule *rule = uw_find(s, proc, s->exact ? pc : pc - 1);
    __u32 kind = rule ? rule->cfa : UW_NONE;
    __s64 cfa_off = rule ? rule->cfa_off : 0, fp_off = rule ? rule->fp_off : 0;
    __u64 cfa, ra, nfp = fp;
    if (kind == UW_END)
        return GP_STAT_UW_END;
    if (kind == UW_UNKNOWN)
        return GP_STAT_UW_UNKNOWN;
    if (kind == UW_SIGNAL) {
        __u64 regs[3];
        if (bpf_probe_read_user(&regs[0], 8, (const void *)(sp + GP_UW_SIG_RBP)) ||
            bpf_probe_read_user(&regs[1], 8, (const void *)(sp + GP_UW_SIG_RSP)) ||
            bpf_probe_read_user(&regs[2], 8, (const void *)(sp + GP_UW_SIG_RIP)))
            return GP_STAT_UW_READ_ERR;
        if (regs[2] == 0)
            return GP_STAT_UW_END;
        sc->user.ips[n] = regs[2];
        s->hash = hash_mix(s->hash, regs[2]);
        s->n = n + 1;
        s->pc = regs[2];
        s->sp = regs[1];
        s->fp = regs[0];
        s->exact = 1; /* the interrupted instruction itself, not a return address */
        return 0;
    }
    if (kind == UW_CFA_SP || kind == UW_CFA_PLT || kind == UW_CFA_FP) {
        cfa = (kind == UW_CFA_FP ? fp : sp) + cfa_off;
        if (kind == UW_CFA_PLT && (pc & 15) >= 11)
            cfa += 8;
        if (cfa <= sp || cfa - sp > GP_MAX_FRAME_SIZE || (cfa & 7))
            return GP_STAT_UW_READ_ERR;
        if (bpf_probe_read_user(&ra, sizeof(ra), (const void *)(cfa - 8)))
            return GP_STAT_UW_READ_ERR;
        if (fp_off && bpf_probe_read_user(&nfp, sizeof(nfp), (const void *)(cfa + fp_off)))
            return GP_STAT_UW_READ_ERR;
    } else { /* no table covers pc: one frame-pointer step */
        __u64 frame[2];
        if ((fp & 7) || fp < sp || fp - sp > GP_MAX_FRAME_SIZE)
            return GP_STAT_UW_NO_TABLE;
        if (bpf_probe_read_user(frame, sizeof(frame), (const void *)fp))
            return GP_STAT_UW_NO_TABLE;
        cfa = fp + 16;
        ra = frame[1];
        nfp = frame[0];
    }
    if (ra == 0)
        return GP_STAT_UW_END;
    sc->user.ips[n] = ra;
    s->hash = hash_mix(s->hash, ra);
    s->n = n + 1;
    s->pc = ra;
    s->sp = cfa;
    s->fp = nfp;
    s->exact = 0;
    return 0;
}

/* Starts a table walk of the user stack from registers ip, sp, fp (the leaf is ip). */
static __always_inline void uw_begin(struct gp_scratch *sc, __u64 ip, __u64 sp, __u64 fp)
{
    sc->uw.pc = ip;
    sc->uw.sp = sp;
    sc->uw.fp = fp;
    sc->uw.hash = hash_mix(HASH_SEED, ip);
    sc->uw.n = 1;
    sc->uw.exact = 1;
    sc->uw.calls = 0;
    sc->user.ips[0] = ip;
}

static __always_inline void finish_sample(struct gp_scratch *sc, __u32 tgid);

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
    stat_inc(stop);
    __u32 fr = GP_STAT_UW_FRAMES;
    __u64 *v = bpf_map_lookup_elem(&stats, &fr);
    if (v)
        *v += sc->uw.n;
    sc->user.n = sc->uw.n;
    sc->key.user_stack = hash_finish(sc->uw.hash, sc->uw.n);
    finish_sample(sc, tgid);
    return 0;
}

#endif
