/* perf.c — the perf_event fallback engine (no BPF): one mmap ring per CPU with
 * PERF_SAMPLE_TID|PERF_SAMPLE_CALLCHAIN (+ the user registers and stack, unwound here with the
 * unwind tables when given), aggregated in user space into the same drain output, pid filter in
 * user space, process events from first samples and COMM/EXIT records.
 * A little over 800 lines: the ring reader, the aggregation and the pid filter share the per-CPU
 * ring state; record parsing is in perf_record.c and the stack walk in agent/unwind/. */
#include "agent/sampler/engine.h"
#include "agent/sampler/perf_event.h"
#include "agent/sampler/perf_record.h"
#include "agent/sampler/tgids.h"
#include "agent/unwind/unwind_user.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bpf/profile.h"
#include "common/hash.h"
#include "common/log.h"

#define PERF_DEFAULT_PAGES 64
/* With user stacks (unwinding in user space): a sample is ~16.5 KiB; the ring holds 0.5 s of
 * samples at the frequency asked (the reader also builds the unwind tables of new processes,
 * which can take that long for a big binary): 256 pages (1 MiB) per CPU at 99 Hz, 4 MiB (the
 * most) at 999 Hz. 128 pages hold 0.3 s at 99 Hz and lost 2.7% of the records host-wide on a
 * busy 2-CPU host; at 999 Hz, 512 KiB lost 5% of them. */
#define PERF_UNWIND_PAGES     128
#define PERF_UNWIND_MAX_PAGES 1024
/* User stack copied per sample: 16 KiB holds ~20 frames of -O2 code with room to spare (perf's
 * own default of 8 KiB cuts deep C++ and interpreter stacks); the rest of the ring bandwidth. */
#define PERF_DEFAULT_STACK   (16u << 10)
#define PERF_MAX_STACK       (63u << 10) /* a record's size is a u16 */
#define PERF_DEFAULT_ENTRIES (1u << 16)
#define PERF_MAX_DEPTH       512
#define COMM_CACHE_SLOTS     4096
#define MAX_PENDING_EVENTS   65536

/* ---- user-space aggregation: interned stacks + counts ---- */

struct agg_stack {
    uint64_t h;
    uint32_t off, n;
};

struct agg_entry {
    uint64_t h;
    uint32_t tgid, tid;
    int32_t ustk, kstk; /* index into stacks, -1 = none */
    char comm[16];
    uint64_t count;
};

struct agg {
    struct agg_stack *stacks;
    uint32_t nstacks, stacks_cap;
    uint32_t *stack_idx; /* hash slots: index+1, 0 empty */
    uint32_t stack_idx_cap;
    uint64_t *ips;
    size_t nips, ips_cap;
    struct agg_entry *ents;
    uint32_t nents, ents_cap;
    uint32_t *ent_idx;
    uint32_t ent_idx_cap;
};

static void agg_reset(struct agg *a)
{
    a->nstacks = 0;
    a->nips = 0;
    a->nents = 0;
    if (a->stack_idx)
        memset(a->stack_idx, 0, a->stack_idx_cap * sizeof(uint32_t));
    if (a->ent_idx)
        memset(a->ent_idx, 0, a->ent_idx_cap * sizeof(uint32_t));
}

static void agg_free(struct agg *a)
{
    free(a->stacks);
    free(a->stack_idx);
    free(a->ips);
    free(a->ents);
    free(a->ent_idx);
    memset(a, 0, sizeof(*a));
}

/* Grows an index table to twice its size and rehashes with the hash each element carries. */
static int rehash(uint32_t **idx, uint32_t *cap, uint32_t n, const void *elems, size_t elem_size)
{
    uint32_t ncap = *cap ? *cap * 2 : 1024;
    uint32_t *ni = calloc(ncap, sizeof(*ni));
    if (!ni)
        return -ENOMEM;
    for (uint32_t k = 0; k < n; k++) {
        uint64_t h = *(const uint64_t *)((const char *)elems + k * elem_size);
        uint32_t j = (uint32_t)h & (ncap - 1);
        while (ni[j])
            j = (j + 1) & (ncap - 1);
        ni[j] = k + 1;
    }
    free(*idx);
    *idx = ni;
    *cap = ncap;
    return 0;
}

static int32_t agg_intern_stack(struct agg *a, const uint64_t *ips, uint32_t n)
{
    if (n == 0)
        return -1;
    uint64_t h = gp_hash_mix(gp_hash_bytes(GP_HASH_SEED, ips, n * sizeof(*ips)));
    if ((a->nstacks + 1) * 2 > a->stack_idx_cap &&
        rehash(&a->stack_idx, &a->stack_idx_cap, a->nstacks, a->stacks, sizeof(*a->stacks)))
        return -2;
    uint32_t m = a->stack_idx_cap - 1;
    uint32_t j = (uint32_t)h & m;
    for (; a->stack_idx[j]; j = (j + 1) & m) {
        struct agg_stack *s = &a->stacks[a->stack_idx[j] - 1];
        if (s->h == h && s->n == n && !memcmp(a->ips + s->off, ips, n * sizeof(*ips)))
            return (int32_t)(a->stack_idx[j] - 1);
    }
    if (a->nstacks == a->stacks_cap) {
        uint32_t ncap = a->stacks_cap ? a->stacks_cap * 2 : 256;
        struct agg_stack *ns = realloc(a->stacks, ncap * sizeof(*ns));
        if (!ns)
            return -2;
        a->stacks = ns;
        a->stacks_cap = ncap;
    }
    if (a->ips_cap - a->nips < n) {
        size_t ncap = a->ips_cap ? a->ips_cap * 2 : 8192;
        while (ncap - a->nips < n)
            ncap *= 2;
        uint64_t *ni = realloc(a->ips, ncap * sizeof(*ni));
        if (!ni)
            return -2;
        a->ips = ni;
        a->ips_cap = ncap;
    }
    memcpy(a->ips + a->nips, ips, n * sizeof(*ips));
    struct agg_stack *s = &a->stacks[a->nstacks];
    s->h = h;
    s->off = (uint32_t)a->nips;
    s->n = n;
    a->nips += n;
    a->stack_idx[j] = ++a->nstacks;
    return (int32_t)(a->nstacks - 1);
}

/* Adds one sample; returns 0, or -ENOSPC when the table is full, -ENOMEM. */
static int agg_add(struct agg *a, uint32_t max_ents, uint32_t tgid, uint32_t tid, const char *comm,
                   const uint64_t *uips, uint32_t nu, const uint64_t *kips, uint32_t nk)
{
    int32_t us = agg_intern_stack(a, uips, nu), ks = agg_intern_stack(a, kips, nk);
    if (us == -2 || ks == -2)
        return -ENOMEM;
    struct agg_entry key = {0};
    key.tgid = tgid;
    key.tid = tid;
    key.ustk = us;
    key.kstk = ks;
    memcpy(key.comm, comm, sizeof(key.comm));
    key.h = gp_hash_mix(
            gp_hash_bytes(GP_HASH_SEED, &key.tgid,
                          offsetof(struct agg_entry, count) - offsetof(struct agg_entry, tgid)));
    if ((a->nents + 1) * 2 > a->ent_idx_cap &&
        rehash(&a->ent_idx, &a->ent_idx_cap, a->nents, a->ents, sizeof(*a->ents)))
        return -ENOMEM;
    uint32_t m = a->ent_idx_cap - 1, j = (uint32_t)key.h & m;
    for (; a->ent_idx[j]; j = (j + 1) & m) {
        struct agg_entry *e = &a->ents[a->ent_idx[j] - 1];
        if (e->h == key.h && e->tgid == tgid && e->tid == tid && e->ustk == us && e->kstk == ks &&
            !memcmp(e->comm, key.comm, sizeof(key.comm))) {
            e->count++;
            return 0;
        }
    }
    if (a->nents >= max_ents)
        return -ENOSPC;
    if (a->nents == a->ents_cap) {
        uint32_t ncap = a->ents_cap ? a->ents_cap * 2 : 256;
        struct agg_entry *ne = realloc(a->ents, ncap * sizeof(*ne));
        if (!ne)
            return -ENOMEM;
        a->ents = ne;
        a->ents_cap = ncap;
    }
    key.count = 1;
    a->ents[a->nents] = key;
    a->ent_idx[j] = ++a->nents;
    return 0;
}

/* ---- the engine ---- */

struct perf_ring {
    int fd, cpu;
    void *base;
    size_t len;       /* mmap length */
    size_t data_size; /* power of two */
    size_t page;      /* the metadata page before the data */
};

struct comm_slot {
    uint32_t tid;
    char comm[16];
};

struct perf_sampler {
    struct gp_sampler base;
    pthread_mutex_t lock;       /* everything below except `spare` */
    pthread_mutex_t drain_lock; /* serializes drains (owns `spare`) */
    struct perf_ring *rings;
    int nrings;
    struct pollfd *pfds;
    int started, stopped;
    int include_idle;
    int filter_on;
    struct gp_u32set filter, seen;
    struct gp_u32set exited; /* leaders that exited: late samples must not announce them again */
    struct gp_u32set leader_gone; /* processes whose leader exited while other threads live on */
    struct agg cur, spare;
    uint32_t max_ents;
    struct comm_slot *comms; /* direct-mapped tid -> comm cache */
    struct gp_proc_event *pending;
    uint32_t npending, pending_cap;
    uint8_t *scratch;
    uint64_t uips[PERF_MAX_DEPTH], kips[PERF_MAX_DEPTH];
    const struct gp_uw_entry *(*uw_lookup)(void *ctx, uint32_t tgid, uint64_t pc);
    void *uw_ctx;
    const void *(*uw_hold)(void *ctx, uint32_t tgid);
    const struct gp_uw_entry *(*uw_held_row)(const void *held, uint64_t pc);
    void (*uw_release)(void *ctx);
    struct gp_sampler_stats st;
};

static void queue_event(struct perf_sampler *p, enum gp_proc_event_type type, uint32_t tgid,
                        const char *comm)
{
    if (p->npending == p->pending_cap) {
        if (p->pending_cap >= MAX_PENDING_EVENTS) {
            p->st.events_lost++;
            return;
        }
        uint32_t ncap = p->pending_cap ? p->pending_cap * 2 : 64;
        struct gp_proc_event *ne = realloc(p->pending, ncap * sizeof(*ne));
        if (!ne) {
            p->st.events_lost++;
            return;
        }
        p->pending = ne;
        p->pending_cap = ncap;
    }
    struct gp_proc_event *e = &p->pending[p->npending++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->tgid = tgid;
    snprintf(e->comm, sizeof(e->comm), "%s", comm);
}

static const char *comm_of(struct perf_sampler *p, uint32_t tgid, uint32_t tid)
{
    struct comm_slot *c = &p->comms[gp_u32_hash(tid) & (COMM_CACHE_SLOTS - 1)];
    if (c->tid == tid && c->comm[0])
        return c->comm;
    c->tid = tid;
    c->comm[0] = '\0';
    char path[96];
    snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", tgid, tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, c->comm, sizeof(c->comm) - 1);
        close(fd);
        if (n > 0) {
            c->comm[n] = '\0';
            char *nl = strchr(c->comm, '\n');
            if (nl)
                *nl = '\0';
        } else {
            c->comm[0] = '\0';
        }
    }
    if (!c->comm[0])
        snprintf(c->comm, sizeof(c->comm), "%s", tid == 0 ? "swapper" : "[unknown]");
    return c->comm;
}

static void set_comm(struct perf_sampler *p, uint32_t tid, const char *comm)
{
    struct comm_slot *c = &p->comms[gp_u32_hash(tid) & (COMM_CACHE_SLOTS - 1)];
    c->tid = tid;
    snprintf(c->comm, sizeof(c->comm), "%s", comm);
}

static void forget_comm(struct perf_sampler *p, uint32_t tid)
{
    struct comm_slot *c = &p->comms[gp_u32_hash(tid) & (COMM_CACHE_SLOTS - 1)];
    if (c->tid == tid)
        c->comm[0] = '\0';
}

static int wanted(struct perf_sampler *p, uint32_t tgid)
{
    return !p->filter_on || gp_u32set_has(&p->filter, tgid);
}

struct uw_lookup_ctx {
    const struct perf_sampler *p;
    uint32_t tgid;
    const void *held; /* with uw_hold: the process's tables, held for the walk */
};

static const struct gp_uw_entry *uw_lookup(void *ctx, uint64_t pc)
{
    const struct uw_lookup_ctx *c = ctx;
    if (c->p->uw_hold)
        return c->held ? c->p->uw_held_row(c->held, pc) : NULL;
    return c->p->uw_lookup(c->p->uw_ctx, c->tgid, pc);
}

/* Walks the user stack of a sample taken with the user registers and stack into p->uips;
 * returns the frame count. */
static uint32_t unwind_sample(struct perf_sampler *p, const struct gp_perf_sample *ps)
{
    /* no user context (kernel threads): no user stack, as with the BPF sampler */
    if (ps->abi == PERF_SAMPLE_REGS_ABI_NONE || ps->ip == 0 || (ps->ip >> 63))
        return 0;
    if (ps->abi != PERF_SAMPLE_REGS_ABI_64) { /* a 32-bit process: our tables are x86-64 */
        p->uips[0] = ps->ip;
        p->st.unwind_stops[GP_UW_STOP_NO_TABLE]++;
        p->st.unwind_frames++;
        return 1;
    }
    struct gp_uw_regs r = {.ip = ps->ip, .sp = ps->sp, .bp = ps->bp};
    struct gp_uw_stack_copy st = {.data = ps->stack, .len = ps->stack_len, .addr = ps->sp};
    struct uw_lookup_ctx lc = {.p = p, .tgid = ps->pid};
    if (p->uw_hold) /* one lock for the walk, none per frame */
        lc.held = p->uw_hold(p->uw_ctx, ps->pid);
    enum gp_uw_stop why;
    uint32_t n = gp_uw_walk(&r, &st, uw_lookup, &lc, p->uips, GP_MAX_STACK_DEPTH, &why);
    if (p->uw_hold)
        p->uw_release(p->uw_ctx);
    p->st.unwind_stops[why]++;
    p->st.unwind_frames += n;
    return n;
}

static void handle_sample(struct perf_sampler *p, const uint8_t *rec, size_t size)
{
    const struct perf_event_header *h = (const void *)rec;
    struct gp_perf_sample ps;
    if (gp_perf_sample_parse(rec, size, p->uw_lookup != NULL, &ps)) {
        p->st.malformed++;
        return;
    }
    uint32_t pid = ps.pid, tid = ps.tid;
    if (pid == 0 && !p->include_idle)
        return;
    if (!wanted(p, pid)) {
        p->st.filtered++;
        return;
    }
    p->st.samples++;
    uint32_t nu = 0, nk = 0;
    uint64_t ctx = (h->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_USER
                           ? PERF_CONTEXT_USER
                           : PERF_CONTEXT_KERNEL;
    for (uint64_t i = 0; i < ps.nr; i++) {
        uint64_t ip;
        memcpy(&ip, ps.chain + i * 8, 8);
        if (ip >= PERF_CONTEXT_MAX) {
            ctx = ip;
            continue;
        }
        if (ctx == PERF_CONTEXT_KERNEL && nk < PERF_MAX_DEPTH)
            p->kips[nk++] = ip;
        else if (ctx == PERF_CONTEXT_USER && nu < PERF_MAX_DEPTH)
            p->uips[nu++] = ip;
    }
    if (p->uw_lookup)
        nu = unwind_sample(p, &ps);
    const char *comm = comm_of(p, pid, tid);
    int rc = agg_add(&p->cur, p->max_ents, pid, tid, comm, p->uips, nu, p->kips, nk);
    if (rc)
        p->st.map_full++;
    if (!gp_u32set_has(&p->seen, pid) && !gp_u32set_has(&p->exited, pid) &&
        gp_u32set_add(&p->seen, pid) == 1)
        queue_event(p, GP_PROC_SEEN, pid, comm_of(p, pid, pid));
}

/* The last thread of process pid is gone: forget it and announce its exit once. */
static void process_ended(struct perf_sampler *p, uint32_t pid)
{
    gp_u32set_del(&p->leader_gone, pid);
    int was_seen = gp_u32set_del(&p->seen, pid);
    if (p->exited.n >= 65536) { /* bounded; forgetting only risks a late SEEN */
        free(p->exited.slot);
        memset(&p->exited, 0, sizeof(p->exited));
    }
    gp_u32set_add(&p->exited, pid);
    if (was_seen || (p->filter_on && gp_u32set_has(&p->filter, pid)))
        queue_event(p, GP_PROC_EXIT, pid, comm_of(p, pid, pid));
}

static void handle_record(struct perf_sampler *p, const uint8_t *rec, size_t size)
{
    const struct perf_event_header *h = (const void *)rec;
    const uint8_t *body = rec + sizeof(*h);
    size_t blen = size - sizeof(*h);
    switch (h->type) {
    case PERF_RECORD_SAMPLE:
        handle_sample(p, rec, size);
        break;
    case PERF_RECORD_LOST:
        if (blen >= 16) {
            uint64_t lost;
            memcpy(&lost, body + 8, 8);
            p->st.lost += lost;
        }
        break;
    case PERF_RECORD_LOST_SAMPLES:
        if (blen >= 8) {
            uint64_t lost;
            memcpy(&lost, body, 8);
            p->st.lost += lost;
        }
        break;
    case PERF_RECORD_COMM:
        if (blen > 8) {
            uint32_t pid, tid;
            memcpy(&pid, body, 4);
            memcpy(&tid, body + 4, 4);
            char comm[16] = {0};
            size_t n = blen - 8 < sizeof(comm) - 1 ? blen - 8 : sizeof(comm) - 1;
            memcpy(comm, body + 8, n);
            comm[n] = '\0';
            set_comm(p, tid, comm);
            if ((h->misc & PERF_RECORD_MISC_COMM_EXEC) &&
                (gp_u32set_has(&p->seen, pid) || (p->filter_on && gp_u32set_has(&p->filter, pid))))
                queue_event(p, GP_PROC_EXEC, pid, comm);
        }
        break;
    case PERF_RECORD_FORK:
        if (blen >= 16) {
            uint32_t pid, tid;
            memcpy(&pid, body, 4);
            memcpy(&tid, body + 8, 4);
            forget_comm(p, tid); /* a reused tid must not keep an old name */
            if (pid == tid)      /* a new process: its pid may be a reused one */
                gp_u32set_del(&p->exited, pid);
        }
        break;
    case PERF_RECORD_EXIT:
        if (blen >= 16) {
            uint32_t pid, tid;
            memcpy(&pid, body, 4);
            memcpy(&tid, body + 8, 4);
            int tracked = gp_u32set_has(&p->seen, pid) ||
                          (p->filter_on && gp_u32set_has(&p->filter, pid));
            /* The process ends with its last thread; the leader may exit first (even before
             * sampling started, so its own EXIT record was never seen). */
            if (pid != tid && !gp_u32set_has(&p->leader_gone, pid) &&
                !(tracked && gp_sampler_leader_dead(pid)))
                break;
            if (tracked && gp_sampler_threads_left(pid)) {
                gp_u32set_add(&p->leader_gone, pid);
                break;
            }
            process_ended(p, pid);
        }
        break;
    default:
        break;
    }
}

static void ring_copy(const struct perf_ring *r, uint64_t pos, void *dst, size_t n)
{
    const uint8_t *data = (const uint8_t *)r->base + r->page;
    size_t off = pos & (r->data_size - 1);
    size_t first = r->data_size - off < n ? r->data_size - off : n;
    memcpy(dst, data + off, first);
    if (first < n)
        memcpy((uint8_t *)dst + first, data, n - first);
}

/* Consumes every record in one ring. Called with p->lock held. */
static void read_ring(struct perf_sampler *p, struct perf_ring *r)
{
    struct perf_event_mmap_page *mp = r->base;
    uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = mp->data_tail;
    while (tail < head) {
        struct perf_event_header h;
        ring_copy(r, tail, &h, sizeof(h));
        if (h.size < sizeof(h) || h.size > head - tail) {
            tail = head; /* corrupt: skip what we have */
            break;
        }
        size_t off = tail & (r->data_size - 1);
        if (off + h.size <= r->data_size) { /* in one piece: read in place, no copy (a sample
                                               with a user stack copy is ~16 KiB) */
            handle_record(p, (const uint8_t *)r->base + r->page + off, h.size);
            tail += h.size;
            continue;
        }
        if (!p->scratch) { /* records are at most 64 KiB (u16 size) */
            p->scratch = malloc(65536);
            if (!p->scratch) {
                tail = head;
                p->st.lost++;
                break;
            }
        }
        ring_copy(r, tail, p->scratch, h.size);
        handle_record(p, p->scratch, h.size);
        tail += h.size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
}

static void read_all(struct perf_sampler *p)
{
    for (int i = 0; i < p->nrings; i++)
        read_ring(p, &p->rings[i]);
}

/* ---- ops ---- */

static int perf_start(struct gp_sampler *s, struct gp_err *err)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    for (int i = 0; i < p->nrings; i++)
        if (ioctl(p->rings[i].fd, PERF_EVENT_IOC_ENABLE, 0))
            return gp_err_set(err, -errno, "enabling perf event on cpu %d: %s", p->rings[i].cpu,
                              strerror(errno));
    p->started = 1;
    p->stopped = 0;
    return 0;
}

static void perf_stop(struct gp_sampler *s)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    for (int i = 0; i < p->nrings; i++)
        ioctl(p->rings[i].fd, PERF_EVENT_IOC_DISABLE, 0);
    p->stopped = 1;
}

static uint32_t take_pending(struct perf_sampler *p, struct gp_proc_event **out)
{
    uint32_t n = p->npending;
    *out = NULL;
    if (!n)
        return 0;
    struct gp_proc_event *copy = malloc(n * sizeof(*copy));
    if (!copy) {
        p->st.events_lost += n;
        p->npending = 0;
        return 0;
    }
    memcpy(copy, p->pending, n * sizeof(*copy));
    p->npending = 0;
    *out = copy;
    return n;
}

static int deliver(struct perf_sampler *p, void (*cb)(const struct gp_proc_event *, void *),
                   void *ctx)
{
    pthread_mutex_lock(&p->lock);
    read_all(p);
    if (p->leader_gone.n) {
        uint32_t gone[64];
        size_t n = gp_sampler_ended(&p->leader_gone, gone, 64);
        for (size_t i = 0; i < n; i++)
            process_ended(p, gone[i]);
    }
    struct gp_proc_event *evs;
    uint32_t n = take_pending(p, &evs);
    pthread_mutex_unlock(&p->lock);
    for (uint32_t i = 0; i < n; i++)
        if (cb)
            cb(&evs[i], ctx);
    free(evs);
    return (int)n;
}

static int perf_poll_events(struct gp_sampler *s, int timeout_ms,
                            void (*cb)(const struct gp_proc_event *, void *), void *ctx)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    int n = deliver(p, cb, ctx);
    if (n > 0 || timeout_ms == 0)
        return n;
    int rc = poll(p->pfds, p->nrings, timeout_ms);
    if (rc < 0 && errno != EINTR)
        return -errno;
    return deliver(p, cb, ctx);
}

static int perf_drain(struct gp_sampler *s, void (*cb)(const struct gp_raw_sample *, void *),
                      void *ctx, struct gp_err *err)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    pthread_mutex_lock(&p->drain_lock);
    pthread_mutex_lock(&p->lock);
    read_all(p);
    struct agg a = p->cur;
    p->cur = p->spare;
    pthread_mutex_unlock(&p->lock);

    uint64_t drained = 0;
    for (uint32_t i = 0; i < a.nents; i++) {
        const struct agg_entry *e = &a.ents[i];
        struct gp_raw_sample r = {0};
        r.tgid = e->tgid;
        r.tid = e->tid;
        memcpy(r.comm, e->comm, sizeof(r.comm));
        r.comm[sizeof(r.comm) - 1] = '\0';
        if (e->ustk >= 0) {
            r.user_ips = a.ips + a.stacks[e->ustk].off;
            r.nuser = a.stacks[e->ustk].n;
        }
        if (e->kstk >= 0) {
            r.kernel_ips = a.ips + a.stacks[e->kstk].off;
            r.nkernel = a.stacks[e->kstk].n;
        }
        r.count = e->count;
        drained += e->count;
        if (cb)
            cb(&r, ctx);
    }
    int n = (int)a.nents;
    agg_reset(&a);
    pthread_mutex_lock(&p->lock);
    p->spare = a;
    p->st.drains++;
    p->st.drained += drained;
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_unlock(&p->drain_lock);
    (void)err;
    return n;
}

static int perf_add_tgid(struct gp_sampler *s, uint32_t tgid, struct gp_err *err)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    pthread_mutex_lock(&p->lock);
    int rc = gp_u32set_add(&p->filter, tgid);
    if (rc >= 0)
        p->filter_on = 1;
    pthread_mutex_unlock(&p->lock);
    if (rc < 0)
        return gp_err_set(err, rc, "out of memory adding pid %u", tgid);
    return 0;
}

static int perf_remove_tgid(struct gp_sampler *s, uint32_t tgid)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    pthread_mutex_lock(&p->lock);
    int found = gp_u32set_del(&p->filter, tgid);
    pthread_mutex_unlock(&p->lock);
    return found ? 0 : -ENOENT;
}

static void perf_stats(const struct gp_sampler *s, struct gp_sampler_stats *out)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    pthread_mutex_lock(&p->lock);
    *out = p->st;
    pthread_mutex_unlock(&p->lock);
}

static void perf_close(struct gp_sampler *s)
{
    struct perf_sampler *p = (struct perf_sampler *)s;
    for (int i = 0; i < p->nrings; i++) {
        if (p->rings[i].base && p->rings[i].base != MAP_FAILED)
            munmap(p->rings[i].base, p->rings[i].len);
        if (p->rings[i].fd >= 0)
            close(p->rings[i].fd);
    }
    free(p->rings);
    free(p->pfds);
    free(p->filter.slot);
    free(p->seen.slot);
    free(p->exited.slot);
    free(p->leader_gone.slot);
    agg_free(&p->cur);
    agg_free(&p->spare);
    free(p->comms);
    free(p->pending);
    free(p->scratch);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->drain_lock);
    free(p);
}

static const struct gp_sampler_ops perf_ops = {
        .kind = GP_SAMPLER_PERF,
        .start = perf_start,
        .stop = perf_stop,
        .poll_events = perf_poll_events,
        .drain = perf_drain,
        .add_tgid = perf_add_tgid,
        .remove_tgid = perf_remove_tgid,
        .stats = perf_stats,
        .bpf_runtime = NULL,
        .close = perf_close,
};

int gp_sampler_perf_open(const struct gp_sampler_opts *o, struct gp_sampler **out,
                         struct gp_err *err)
{
    *out = NULL;
    struct perf_sampler *p = calloc(1, sizeof(*p));
    if (!p)
        return gp_err_set(err, -ENOMEM, "out of memory");
    p->base.ops = &perf_ops;
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->drain_lock, NULL);
    p->include_idle = o->include_idle;
    p->max_ents = o->count_entries ? o->count_entries : PERF_DEFAULT_ENTRIES;
    int rc = 0;
    int *cpus = NULL, ncpus = 0;
    p->comms = calloc(COMM_CACHE_SLOTS, sizeof(*p->comms));
    if (!p->comms) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < o->npids; i++) {
        uint32_t tgid;
        rc = gp_sampler_resolve_tgid(o->pids[i], &tgid, err);
        if (rc)
            goto fail;
        if (gp_u32set_add(&p->filter, tgid) < 0) {
            rc = gp_err_set(err, -ENOMEM, "out of memory");
            goto fail;
        }
    }
    p->filter_on = o->npids > 0;

    rc = gp_sampler_online_cpus(&cpus, &ncpus, err);
    if (rc)
        goto fail;
    p->rings = calloc(ncpus, sizeof(*p->rings));
    p->pfds = calloc(ncpus, sizeof(*p->pfds));
    if (!p->rings || !p->pfds) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    long page = sysconf(_SC_PAGESIZE);
    uint32_t stack_bytes = o->perf_stack_bytes ? o->perf_stack_bytes : PERF_DEFAULT_STACK;
    if (o->uw_lookup && (stack_bytes % 8 || stack_bytes > PERF_MAX_STACK)) {
        rc = gp_err_set(err, -EINVAL,
                        "perf user stack size must be a multiple of 8 up to %u bytes (got %u)",
                        PERF_MAX_STACK, stack_bytes);
        goto fail;
    }
    uint32_t pages = o->perf_ring_pages ? o->perf_ring_pages
                     : o->uw_lookup     ? PERF_UNWIND_PAGES
                                        : PERF_DEFAULT_PAGES;
    if (!o->perf_ring_pages && o->uw_lookup) { /* 0.5 s of samples at the frequency asked */
        uint64_t hz = o->freq_hz ? o->freq_hz : GP_SAMPLER_DEFAULT_HZ;
        while ((uint64_t)pages * page * 2 < hz * (stack_bytes + 512ULL) &&
               pages < PERF_UNWIND_MAX_PAGES)
            pages *= 2;
    }
    if (pages & (pages - 1)) {
        rc = gp_err_set(err, -EINVAL, "perf ring pages must be a power of two (got %u)", pages);
        goto fail;
    }
    if (o->uw_lookup && (uint64_t)pages * page < 2 * ((uint64_t)stack_bytes + 4096)) {
        rc = gp_err_set(err, -EINVAL,
                        "a perf ring of %u pages is too small for %u-byte user stack copies; use "
                        "at least %u pages",
                        pages, stack_bytes, PERF_UNWIND_PAGES);
        goto fail;
    }
    p->uw_lookup = o->uw_lookup;
    p->uw_ctx = o->uw_ctx;
    if (o->uw_hold && o->uw_held_row && o->uw_release) {
        p->uw_hold = o->uw_hold;
        p->uw_held_row = o->uw_held_row;
        p->uw_release = o->uw_release;
    }
    struct perf_event_attr attr;
    gp_sampler_event_attr(o, &attr);
    attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_CALLCHAIN;
    if (o->uw_lookup) { /* the kernel's callchain keeps the kernel part; the user part is ours */
        attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
        attr.sample_regs_user = GP_PERF_REGS_USER_MASK;
        attr.sample_stack_user = stack_bytes;
        attr.exclude_callchain_user = 1;
    }
    attr.comm = 1;
    attr.comm_exec = 1;
    attr.task = 1;
    attr.watermark = 1;
    attr.wakeup_watermark = (uint32_t)(pages * page / 2);
    for (int i = 0; i < ncpus; i++) {
        int fd = gp_sampler_open_cpu_event(&attr, cpus[i], err);
        if (fd == -ENODEV)
            continue;
        if (fd < 0) {
            rc = fd;
            goto fail;
        }
        struct perf_ring *r = &p->rings[p->nrings++];
        r->fd = fd;
        r->cpu = cpus[i];
        r->data_size = (size_t)pages * page;
        r->page = (size_t)page;
        r->len = r->data_size + page;
        r->base = mmap(NULL, r->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (r->base == MAP_FAILED) {
            r->base = NULL;
            rc = gp_err_set(err, -errno,
                            "mapping the perf ring of cpu %d (%zu KiB): %s; lower the ring size "
                            "or raise kernel.perf_event_mlock_kb",
                            cpus[i], r->len / 1024, strerror(errno));
            goto fail;
        }
        p->pfds[p->nrings - 1].fd = fd;
        p->pfds[p->nrings - 1].events = POLLIN;
    }
    if (!p->nrings) {
        rc = gp_err_set(err, -ENODEV, "no online CPU accepted a perf event");
        goto fail;
    }
    free(cpus);
    *out = &p->base;
    return 0;
fail:
    free(cpus);
    perf_close(&p->base);
    return rc;
}
