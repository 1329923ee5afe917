/* loader.c — held binaries, read on first need (see loader.h). Holds live in a slab (an id is
 * the slot plus the slot's generation, so a stale id never touches a reused slot) and are found
 * by identity through hash chains. */
#include "agent/symbols/loader.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUCKETS 1024 /* a power of two */
#define NONE    UINT32_MAX

struct hold {
    struct gp_elf_key key;
    int fd, rootfd; /* fd < 0: the slot is free */
    char *path;
    uint32_t refs;
    uint32_t gen;
    uint32_t next;  /* next slot in the hash chain, or the free list */
    uint64_t order; /* when it was first held: take_any reads the oldest */
};

struct gp_loader {
    const char *const *dirs;
    size_t ndirs;
    struct hold *v;
    uint32_t n, cap;
    uint32_t free_head;
    uint32_t buckets[BUCKETS];
    size_t held;
    uint64_t order;
};

static uint32_t key_bucket(const struct gp_elf_key *k)
{
    uint64_t h = k->ino * 0x9e3779b97f4a7c15ULL ^ k->dev ^ (uint64_t)k->mtime_ns ^ k->size;
    return (uint32_t)(h ^ (h >> 32)) & (BUCKETS - 1);
}

static int key_eq(const struct gp_elf_key *a, const struct gp_elf_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

int gp_loader_new(const char *const *dirs, size_t ndirs, struct gp_loader **out)
{
    struct gp_loader *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->dirs = dirs;
    l->ndirs = ndirs;
    l->free_head = NONE;
    for (size_t i = 0; i < BUCKETS; i++)
        l->buckets[i] = NONE;
    *out = l;
    return 0;
}

static void close_hold(struct hold *h)
{
    if (h->fd >= 0)
        close(h->fd);
    if (h->rootfd >= 0)
        close(h->rootfd);
    free(h->path);
    h->fd = h->rootfd = -1;
    h->path = NULL;
}

void gp_loader_free(struct gp_loader *l)
{
    if (!l)
        return;
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].fd >= 0)
            close_hold(&l->v[i]);
    free(l->v);
    free(l);
}

static uint32_t find(const struct gp_loader *l, const struct gp_elf_key *k)
{
    for (uint32_t i = l->buckets[key_bucket(k)]; i != NONE; i = l->v[i].next)
        if (key_eq(&l->v[i].key, k))
            return i;
    return NONE;
}

/* Unlinks slot i from its chain, closes it and puts it on the free list. */
static void drop(struct gp_loader *l, uint32_t i)
{
    struct hold *h = &l->v[i];
    uint32_t *pp = &l->buckets[key_bucket(&h->key)];
    while (*pp != i)
        pp = &l->v[*pp].next;
    *pp = h->next;
    close_hold(h);
    h->gen++;
    h->next = l->free_head;
    l->free_head = i;
    l->held--;
}

static uint64_t id_of(const struct gp_loader *l, uint32_t i)
{
    return (uint64_t)l->v[i].gen << 32 | (i + 1);
}

uint64_t gp_loader_hold(struct gp_loader *l, const struct gp_elf_key *k, int fd, int rootfd,
                        char *path)
{
    uint32_t i = find(l, k);
    if (i != NONE) {
        close(fd);
        if (rootfd >= 0)
            close(rootfd);
        free(path);
        l->v[i].refs++;
        return id_of(l, i);
    }
    if (l->free_head != NONE) {
        i = l->free_head;
        l->free_head = l->v[i].next;
    } else {
        if (l->n == l->cap) {
            uint32_t nc = l->cap ? l->cap * 2 : 64;
            struct hold *nv = realloc(l->v, nc * sizeof(*nv));
            if (!nv) {
                close(fd);
                if (rootfd >= 0)
                    close(rootfd);
                free(path);
                return 0;
            }
            l->v = nv;
            l->cap = nc;
        }
        i = l->n++;
        l->v[i].gen = 1;
    }
    struct hold *h = &l->v[i];
    uint32_t b = key_bucket(k);
    h->key = *k;
    h->fd = fd;
    h->rootfd = rootfd;
    h->path = path;
    h->refs = 1;
    h->order = ++l->order;
    h->next = l->buckets[b];
    l->buckets[b] = i;
    l->held++;
    return id_of(l, i);
}

uint64_t gp_loader_ref(struct gp_loader *l, const struct gp_elf_key *k)
{
    uint32_t i = find(l, k);
    if (i == NONE)
        return 0;
    l->v[i].refs++;
    return id_of(l, i);
}

void gp_loader_release(struct gp_loader *l, uint64_t id)
{
    uint32_t i = (uint32_t)id - 1, gen = (uint32_t)(id >> 32);
    if (!id || i >= l->n || l->v[i].gen != gen || l->v[i].fd < 0)
        return;
    if (--l->v[i].refs == 0)
        drop(l, i);
}

/* Reads slot i's ELF and ends the hold. */
static struct gp_elfsyms *read_hold(struct gp_loader *l, uint32_t i)
{
    struct hold *h = &l->v[i];
    char root[64] = "";
    if (h->rootfd >= 0)
        snprintf(root, sizeof(root), "/proc/self/fd/%d", h->rootfd);
    struct gp_debug_search ds = {l->dirs, l->ndirs, root, h->path};
    struct gp_elfsyms *syms = NULL;
    struct gp_err err = {0};
    if (gp_elfsyms_load_fd(h->fd, &ds, &syms, &err) < 0) {
        gp_debug("symbols: %s: %s", h->path, err.msg);
        syms = NULL;
    }
    drop(l, i);
    return syms;
}

int gp_loader_take(struct gp_loader *l, const struct gp_elf_key *k, struct gp_elfsyms **syms)
{
    uint32_t i = find(l, k);
    if (i == NONE)
        return 0;
    *syms = read_hold(l, i);
    return 1;
}

int gp_loader_take_any(struct gp_loader *l, struct gp_elf_key *k, struct gp_elfsyms **syms)
{
    uint32_t best = NONE;
    for (uint32_t i = 0; i < l->n; i++)
        if (l->v[i].fd >= 0 && (best == NONE || l->v[i].order < l->v[best].order))
            best = i;
    if (best == NONE)
        return 0;
    *k = l->v[best].key;
    *syms = read_hold(l, best);
    return 1;
}

size_t gp_loader_pending(const struct gp_loader *l)
{
    return l->held;
}
