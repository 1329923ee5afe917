/* profile.c — aggregated stacks with interned strings (open-addressing hash tables). */
#include "common/profile.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK (64 * 1024)

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
};

struct stack_rec {
    uint64_t hash;
    uint64_t count;
    uint32_t app_idx, container, comm;
    uint32_t nframes;
    size_t frames_off; /* into frame_pool */
};

struct gp_profile {
    /* interned strings */
    struct arena_chunk *arena;
    const char **strs;
    uint64_t *str_hash;
    uint32_t nstrs, strs_cap;
    uint32_t *str_table; /* open addressing: id+1, 0 = empty */
    uint32_t str_table_cap;

    /* stacks */
    struct stack_rec *stacks;
    size_t nstacks, stacks_cap;
    uint32_t *frame_pool;
    size_t pool_len, pool_cap;
    size_t *stack_table; /* index+1, 0 = empty */
    size_t stack_table_cap;
    uint64_t total;

    json_object *header;
    /* scratch for views */
    const char **view_frames;
    uint32_t view_cap;
};

struct gp_profile *gp_profile_new(void)
{
    return calloc(1, sizeof(struct gp_profile));
}

void gp_profile_free(struct gp_profile *p)
{
    if (!p)
        return;
    for (struct arena_chunk *c = p->arena, *n; c; c = n) {
        n = c->next;
        free(c);
    }
    free(p->strs);
    free(p->str_hash);
    free(p->str_table);
    free(p->stacks);
    free(p->frame_pool);
    free(p->stack_table);
    free(p->view_frames);
    if (p->header)
        json_object_put(p->header);
    free(p);
}

static char *arena_alloc(struct gp_profile *p, size_t n)
{
    struct arena_chunk *c = p->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->used = 0;
        c->cap = cap;
        c->next = p->arena;
        p->arena = c;
    }
    char *r = c->data + c->used;
    c->used += n;
    return r;
}

static int str_table_grow(struct gp_profile *p)
{
    uint32_t cap = p->str_table_cap ? p->str_table_cap * 2 : 1024;
    uint32_t *t = calloc(cap, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (uint32_t id = 0; id < p->nstrs; id++) {
        uint32_t i = (uint32_t)p->str_hash[id] & (cap - 1);
        while (t[i])
            i = (i + 1) & (cap - 1);
        t[i] = id + 1;
    }
    free(p->str_table);
    p->str_table = t;
    p->str_table_cap = cap;
    return 0;
}

/* The interning table's hash (in memory only, never stored): 8 bytes per step instead of
 * gp_hash_bytes' one, since a realistic upload interns ~80,000 names (1.6 MB of text). */
static uint64_t name_hash(const char *s, size_t len)
{
    uint64_t h = GP_HASH_SEED ^ (len * 0x9e3779b97f4a7c15ULL), w;
    for (; len >= 8; s += 8, len -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ (w * 0xff51afd7ed558ccdULL)) * 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 29;
    }
    if (len) {
        w = 0;
        memcpy(&w, s, len);
        h = (h ^ (w * 0xff51afd7ed558ccdULL)) * 0xc4ceb9fe1a85ec53ULL;
    }
    return gp_hash_mix(h);
}

uint32_t gp_profile_intern(struct gp_profile *p, const char *s, size_t len)
{
    uint64_t h = name_hash(s, len);
    if ((uint64_t)(p->nstrs + 1) * 2 > p->str_table_cap && str_table_grow(p))
        return GP_NO_ID;
    uint32_t mask = p->str_table_cap - 1;
    uint32_t i = (uint32_t)h & mask;
    for (; p->str_table[i]; i = (i + 1) & mask) {
        uint32_t id = p->str_table[i] - 1;
        if (p->str_hash[id] == h && strncmp(p->strs[id], s, len) == 0 && p->strs[id][len] == '\0')
            return id;
    }
    if (p->nstrs == p->strs_cap) {
        uint32_t cap = p->strs_cap ? p->strs_cap * 2 : 1024;
        const char **ns = realloc(p->strs, cap * sizeof(*ns));
        if (!ns)
            return GP_NO_ID;
        p->strs = ns;
        uint64_t *nh = realloc(p->str_hash, cap * sizeof(*nh));
        if (!nh)
            return GP_NO_ID;
        p->str_hash = nh;
        p->strs_cap = cap;
    }
    char *copy = arena_alloc(p, len + 1);
    if (!copy)
        return GP_NO_ID;
    memcpy(copy, s, len);
    copy[len] = '\0';
    uint32_t id = p->nstrs++;
    p->strs[id] = copy;
    p->str_hash[id] = h;
    p->str_table[i] = id + 1;
    return id;
}

const char *gp_profile_str(const struct gp_profile *p, uint32_t id)
{
    return id < p->nstrs ? p->strs[id] : "";
}

static uint64_t stack_hash(uint32_t app_idx, uint32_t container, uint32_t comm,
                           const uint32_t *frames, uint32_t n)
{
    uint32_t head[3] = {app_idx, container, comm};
    uint64_t h = gp_hash_bytes(GP_HASH_SEED, head, sizeof(head));
    h = gp_hash_bytes(h, frames, n * sizeof(*frames));
    return gp_hash_mix(h);
}

static int stack_table_grow(struct gp_profile *p)
{
    size_t cap = p->stack_table_cap ? p->stack_table_cap * 2 : 1024;
    size_t *t = calloc(cap, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (size_t k = 0; k < p->nstacks; k++) {
        size_t i = p->stacks[k].hash & (cap - 1);
        while (t[i])
            i = (i + 1) & (cap - 1);
        t[i] = k + 1;
    }
    free(p->stack_table);
    p->stack_table = t;
    p->stack_table_cap = cap;
    return 0;
}

int gp_profile_add_ids(struct gp_profile *p, uint32_t app_idx, uint32_t container_id,
                       uint32_t comm_id, const uint32_t *frame_ids, uint32_t nframes,
                       uint64_t count)
{
    if (container_id == GP_NO_ID || comm_id == GP_NO_ID)
        return -ENOMEM;
    for (uint32_t k = 0; k < nframes; k++)
        if (frame_ids[k] == GP_NO_ID)
            return -ENOMEM;
    uint64_t h = stack_hash(app_idx, container_id, comm_id, frame_ids, nframes);
    if ((p->nstacks + 1) * 2 > p->stack_table_cap && stack_table_grow(p))
        return -ENOMEM;
    size_t mask = p->stack_table_cap - 1, i = h & mask;
    for (; p->stack_table[i]; i = (i + 1) & mask) {
        struct stack_rec *r = &p->stacks[p->stack_table[i] - 1];
        if (r->hash == h && r->app_idx == app_idx && r->container == container_id &&
            r->comm == comm_id && r->nframes == nframes &&
            (nframes == 0 ||
             memcmp(p->frame_pool + r->frames_off, frame_ids, nframes * sizeof(*frame_ids)) == 0)) {
            r->count += count;
            p->total += count;
            return 0;
        }
    }
    if (p->nstacks == p->stacks_cap) {
        size_t cap = p->stacks_cap ? p->stacks_cap * 2 : 256;
        struct stack_rec *ns = realloc(p->stacks, cap * sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        p->stacks = ns;
        p->stacks_cap = cap;
    }
    if (p->pool_len + nframes > p->pool_cap) {
        size_t cap = p->pool_cap ? p->pool_cap : 4096;
        while (cap < p->pool_len + nframes)
            cap *= 2;
        uint32_t *np = realloc(p->frame_pool, cap * sizeof(*np));
        if (!np)
            return -ENOMEM;
        p->frame_pool = np;
        p->pool_cap = cap;
    }
    if (nframes) /* frame_pool and frame_ids may be NULL for a frameless stack */
        memcpy(p->frame_pool + p->pool_len, frame_ids, nframes * sizeof(*frame_ids));
    p->stacks[p->nstacks] = (struct stack_rec){
            .hash = h,
            .count = count,
            .app_idx = app_idx,
            .container = container_id,
            .comm = comm_id,
            .nframes = nframes,
            .frames_off = p->pool_len,
    };
    p->pool_len += nframes;
    p->stack_table[i] = ++p->nstacks;
    p->total += count;
    return 0;
}

int gp_profile_add(struct gp_profile *p, uint32_t app_idx, const char *container, const char *comm,
                   const char *const *frames, uint32_t nframes, uint64_t count)
{
    uint32_t stackbuf[128], *ids = stackbuf;
    if (nframes > 128 && !(ids = malloc(nframes * sizeof(*ids))))
        return -ENOMEM;
    for (uint32_t k = 0; k < nframes; k++)
        ids[k] = gp_profile_intern(p, frames[k], strlen(frames[k]));
    uint32_t cid =
            gp_profile_intern(p, container ? container : "", container ? strlen(container) : 0);
    uint32_t mid = gp_profile_intern(p, comm ? comm : "", comm ? strlen(comm) : 0);
    int rc = gp_profile_add_ids(p, app_idx, cid, mid, ids, nframes, count);
    if (ids != stackbuf)
        free(ids);
    return rc;
}

static int view_of(const struct gp_profile *pc, const struct stack_rec *r, struct gp_stack_view *v)
{
    struct gp_profile *p = (struct gp_profile *)pc; /* scratch only */
    if (r->nframes > p->view_cap) {
        uint32_t cap = r->nframes < 64 ? 64 : r->nframes * 2;
        const char **nf = realloc(p->view_frames, cap * sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        p->view_frames = nf;
        p->view_cap = cap;
    }
    for (uint32_t k = 0; k < r->nframes; k++)
        p->view_frames[k] = p->strs[p->frame_pool[r->frames_off + k]];
    *v = (struct gp_stack_view){
            .app_idx = r->app_idx,
            .container = p->strs[r->container],
            .comm = p->strs[r->comm],
            .nframes = r->nframes,
            .frames = p->view_frames,
            .count = r->count,
    };
    return 0;
}

int gp_profile_merge(struct gp_profile *dst, const struct gp_profile *src)
{
    uint32_t buf[256], *ids = buf;
    size_t cap = 256;
    int rc = 0;
    for (size_t k = 0; k < src->nstacks && !rc; k++) {
        const struct stack_rec *r = &src->stacks[k];
        if (r->nframes > cap) {
            uint32_t *n = malloc(r->nframes * sizeof(*n));
            if (!n) {
                rc = -ENOMEM;
                break;
            }
            if (ids != buf)
                free(ids);
            ids = n;
            cap = r->nframes;
        }
        for (uint32_t f = 0; f < r->nframes; f++) {
            const char *s = src->strs[src->frame_pool[r->frames_off + f]];
            ids[f] = gp_profile_intern(dst, s, strlen(s));
        }
        const char *c = src->strs[r->container], *m = src->strs[r->comm];
        rc = gp_profile_add_ids(dst, r->app_idx, gp_profile_intern(dst, c, strlen(c)),
                                gp_profile_intern(dst, m, strlen(m)), ids, r->nframes, r->count);
    }
    if (ids != buf)
        free(ids);
    return rc;
}

size_t gp_profile_nstacks(const struct gp_profile *p)
{
    return p->nstacks;
}

uint32_t gp_profile_nstrs(const struct gp_profile *p)
{
    return p->nstrs;
}

int gp_profile_stack_ids(const struct gp_profile *p, size_t k, struct gp_stack_ids *out)
{
    if (k >= p->nstacks)
        return -ERANGE;
    const struct stack_rec *r = &p->stacks[k];
    *out = (struct gp_stack_ids){
            .app_idx = r->app_idx,
            .container = r->container,
            .comm = r->comm,
            .nframes = r->nframes,
            .frames = r->nframes ? p->frame_pool + r->frames_off : NULL,
            .count = r->count,
    };
    return 0;
}

uint64_t gp_profile_total(const struct gp_profile *p)
{
    return p->total;
}

int gp_profile_foreach(const struct gp_profile *p, gp_stack_cb cb, void *ctx)
{
    struct gp_stack_view v;
    for (size_t k = 0; k < p->nstacks; k++) {
        if (view_of(p, &p->stacks[k], &v))
            return -ENOMEM;
        int rc = cb(&v, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

static int by_count_desc(const void *a, const void *b, void *base)
{
    const struct stack_rec *x = (const struct stack_rec *)base + *(const size_t *)a;
    const struct stack_rec *y = (const struct stack_rec *)base + *(const size_t *)b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

int gp_profile_foreach_sorted(const struct gp_profile *p, gp_stack_cb cb, void *ctx)
{
    size_t *order = malloc((p->nstacks ? p->nstacks : 1) * sizeof(*order));
    if (!order)
        return -ENOMEM;
    for (size_t k = 0; k < p->nstacks; k++)
        order[k] = k;
    qsort_r(order, p->nstacks, sizeof(*order), by_count_desc, p->stacks);
    int rc = 0;
    struct gp_stack_view v;
    for (size_t k = 0; k < p->nstacks && !rc; k++) {
        rc = view_of(p, &p->stacks[order[k]], &v);
        if (!rc)
            rc = cb(&v, ctx);
    }
    free(order);
    return rc;
}

json_object *gp_profile_header(struct gp_profile *p)
{
    if (!p->header)
        p->header = json_object_new_object();
    return p->header;
}

void gp_profile_set_header(struct gp_profile *p, json_object *h)
{
    if (p->header)
        json_object_put(p->header);
    p->header = h;
}
