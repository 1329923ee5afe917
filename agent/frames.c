/* frames.c — a drain's distinct frames and its stacks of frame indices (see frames.h). */
#include "agent/frames.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct stack {
    uint32_t container, comm, n;
    size_t first; /* index of its first frame in ids */
    uint64_t count;
};

struct gp_frameset {
    struct gp_frame_entry *v; /* distinct frames */
    size_t n, cap;
    uint32_t *slots; /* open addressing: index + 1 into v, 0 = empty */
    size_t nslots;   /* a power of two, at least twice n */
    uint32_t *ids;   /* the frames of every stack, stack after stack */
    size_t nids, capids;
    struct stack *stacks;
    size_t nstacks, capstacks;
    uint32_t *names; /* scratch for one stack's names */
    size_t capnames;
};

int gp_frameset_new(struct gp_frameset **out)
{
    struct gp_frameset *f = calloc(1, sizeof(*f));
    if (!f)
        return -ENOMEM;
    f->nslots = 4096;
    f->slots = calloc(f->nslots, sizeof(*f->slots));
    if (!f->slots) {
        free(f);
        return -ENOMEM;
    }
    *out = f;
    return 0;
}

void gp_frameset_free(struct gp_frameset *f)
{
    if (!f)
        return;
    free(f->v);
    free(f->slots);
    free(f->ids);
    free(f->stacks);
    free(f->names);
    free(f);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_frame(const struct gp_frame *k)
{
    return mix(k->mapping[0] ^ mix(k->mapping[1] ^ mix(k->offset ^ (uint64_t)k->kind)));
}

static int same(const struct gp_frame *a, const struct gp_frame *b)
{
    return a->offset == b->offset && a->mapping[0] == b->mapping[0] &&
           a->mapping[1] == b->mapping[1] && a->kind == b->kind;
}

static int grow_slots(struct gp_frameset *f)
{
    size_t ns = f->nslots * 2;
    uint32_t *s = calloc(ns, sizeof(*s));
    if (!s)
        return -ENOMEM;
    for (size_t i = 0; i < f->n; i++) {
        size_t j = hash_frame(&f->v[i].frame) & (ns - 1);
        while (s[j])
            j = (j + 1) & (ns - 1);
        s[j] = (uint32_t)i + 1;
    }
    free(f->slots);
    f->slots = s;
    f->nslots = ns;
    return 0;
}

/* The index of frame k, added (with its namer's inputs) when new. */
static uint32_t intern(struct gp_frameset *f, const struct gp_frame *k, uint32_t tgid,
                       uint64_t addr)
{
    size_t mask = f->nslots - 1, j = hash_frame(k) & mask;
    for (; f->slots[j]; j = (j + 1) & mask)
        if (same(&f->v[f->slots[j] - 1].frame, k))
            return f->slots[j] - 1;
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 1024;
        struct gp_frame_entry *nv = nc < GP_FRAME_NONE ? realloc(f->v, nc * sizeof(*nv)) : NULL;
        if (!nv)
            return GP_FRAME_NONE;
        f->v = nv;
        f->cap = nc;
    }
    uint32_t idx = (uint32_t)f->n++;
    f->v[idx] = (struct gp_frame_entry){.frame = *k, .tgid = tgid, .addr = addr};
    f->slots[j] = idx + 1;
    if (f->n * 2 >= f->nslots && grow_slots(f) < 0) {
        f->slots[j] = 0; /* keep the table consistent: forget the new frame */
        f->n--;
        return GP_FRAME_NONE;
    }
    return idx;
}

uint32_t gp_frameset_native(struct gp_frameset *f, uint32_t tgid, const struct gp_proc *p,
                            uint64_t addr)
{
    const struct gp_map *g = p ? gp_maps_find(&p->maps, addr) : NULL;
    struct gp_frame k = {.kind = GP_FRAME_NATIVE};
    k.mapping[0] = tgid;
    k.mapping[1] = g ? g->start : 0;
    k.offset = addr - k.mapping[1];
    return intern(f, &k, tgid, addr);
}

uint32_t gp_frameset_kernel(struct gp_frameset *f, uint64_t addr)
{
    struct gp_frame k = {.kind = GP_FRAME_KERNEL, .offset = addr};
    return intern(f, &k, 0, addr);
}

uint32_t gp_frameset_lost(struct gp_frameset *f)
{
    struct gp_frame k = {.kind = GP_FRAME_LOST};
    return intern(f, &k, 0, 0);
}

int gp_frameset_add_stack(struct gp_frameset *f, uint32_t container, uint32_t comm,
                          const uint32_t *frames, uint32_t n, uint64_t count)
{
    for (uint32_t i = 0; i < n; i++)
        if (frames[i] == GP_FRAME_NONE)
            return -ENOMEM;
    if (f->nids + n > f->capids) {
        size_t nc = f->capids ? f->capids : 4096;
        while (nc < f->nids + n)
            nc *= 2;
        uint32_t *ni = realloc(f->ids, nc * sizeof(*ni));
        if (!ni)
            return -ENOMEM;
        f->ids = ni;
        f->capids = nc;
    }
    if (f->nstacks == f->capstacks) {
        size_t nc = f->capstacks ? f->capstacks * 2 : 1024;
        struct stack *ns = realloc(f->stacks, nc * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        f->stacks = ns;
        f->capstacks = nc;
    }
    memcpy(f->ids + f->nids, frames, n * sizeof(*frames));
    f->stacks[f->nstacks++] = (struct stack){
            .container = container, .comm = comm, .n = n, .first = f->nids, .count = count};
    f->nids += n;
    return 0;
}

size_t gp_frameset_count(const struct gp_frameset *f)
{
    return f->n;
}

struct gp_frame_entry *gp_frameset_entry(struct gp_frameset *f, size_t i)
{
    return &f->v[i];
}

static void reset(struct gp_frameset *f)
{
    memset(f->slots, 0, f->nslots * sizeof(*f->slots));
    f->n = f->nids = f->nstacks = 0;
}

int gp_frameset_emit(struct gp_frameset *f, struct gp_profile *prof, uint64_t *frames,
                     uint64_t *unresolved)
{
    int rc = 0;
    for (size_t s = 0; s < f->nstacks && !rc; s++) {
        const struct stack *st = &f->stacks[s];
        if (st->n > f->capnames) {
            uint32_t *nn = realloc(f->names, st->n * sizeof(*nn));
            if (!nn) {
                rc = -ENOMEM;
                break;
            }
            f->names = nn;
            f->capnames = st->n;
        }
        for (uint32_t i = 0; i < st->n; i++) {
            const struct gp_frame_entry *e = &f->v[f->ids[st->first + i]];
            f->names[i] = e->name;
            if (e->frame.kind != GP_FRAME_LOST) {
                ++*frames;
                *unresolved += !e->resolved;
            }
        }
        rc = gp_profile_add_ids(prof, 0, st->container, st->comm, f->names, st->n, st->count);
    }
    reset(f);
    return rc;
}
