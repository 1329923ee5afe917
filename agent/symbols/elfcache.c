/* elfcache.c — the LRU cache of ELF symbol tables (see elfcache.h). */
#include "agent/symbols/elfcache.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct keynode {
    struct gp_elf_key key;
    struct gp_elf_entry *entry;
    struct keynode *next_bucket; /* chain in the identity table */
    struct keynode *next_alias;  /* other identities of the same entry */
};

struct gp_elf_entry {
    struct gp_elfsyms *syms;
    struct keynode *keys;
    struct gp_elf_entry *next_bid; /* chain in the build-id table */
    struct gp_elf_entry *lru_prev, *lru_next;
    unsigned pins;
};

#define NBUCKETS 1024

struct gp_elfcache {
    size_t budget;
    struct keynode *by_key[NBUCKETS];
    struct gp_elf_entry *by_bid[NBUCKETS];
    struct gp_elf_entry *lru_head, *lru_tail; /* head = most recently used */
    uint64_t generation;
    struct gp_elfcache_stats st;
};

static size_t key_bucket(const struct gp_elf_key *k)
{
    uint64_t h = gp_hash_bytes(GP_HASH_SEED, k, sizeof(*k));
    return (size_t)(gp_hash_mix(h) % NBUCKETS);
}

static size_t bid_bucket(const uint8_t *id, size_t len)
{
    return (size_t)(gp_hash_mix(gp_hash_bytes(GP_HASH_SEED, id, len)) % NBUCKETS);
}

static int key_eq(const struct gp_elf_key *a, const struct gp_elf_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

void gp_elf_key_from_stat(const struct stat *st, struct gp_elf_key *k)
{
    memset(k, 0, sizeof(*k));
    k->dev = st->st_dev;
    k->ino = st->st_ino;
    k->size = (uint64_t)st->st_size;
    k->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

int gp_elfcache_new(size_t budget, struct gp_elfcache **out)
{
    struct gp_elfcache *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->budget = budget;
    *out = c;
    return 0;
}

static void lru_unlink(struct gp_elfcache *c, struct gp_elf_entry *e)
{
    if (e->lru_prev)
        e->lru_prev->lru_next = e->lru_next;
    else
        c->lru_head = e->lru_next;
    if (e->lru_next)
        e->lru_next->lru_prev = e->lru_prev;
    else
        c->lru_tail = e->lru_prev;
    e->lru_prev = e->lru_next = NULL;
}

static void lru_push_head(struct gp_elfcache *c, struct gp_elf_entry *e)
{
    e->lru_prev = NULL;
    e->lru_next = c->lru_head;
    if (c->lru_head)
        c->lru_head->lru_prev = e;
    c->lru_head = e;
    if (!c->lru_tail)
        c->lru_tail = e;
}

static void touch(struct gp_elfcache *c, struct gp_elf_entry *e)
{
    if (c->lru_head == e)
        return;
    lru_unlink(c, e);
    lru_push_head(c, e);
}

static void entry_destroy(struct gp_elfcache *c, struct gp_elf_entry *e)
{
    for (struct keynode *k = e->keys, *nk; k; k = nk) {
        nk = k->next_alias;
        struct keynode **pp = &c->by_key[key_bucket(&k->key)];
        while (*pp && *pp != k)
            pp = &(*pp)->next_bucket;
        if (*pp)
            *pp = k->next_bucket;
        free(k);
    }
    if (e->syms->build_id_len) {
        struct gp_elf_entry **pp = &c->by_bid[bid_bucket(e->syms->build_id, e->syms->build_id_len)];
        while (*pp && *pp != e)
            pp = &(*pp)->next_bid;
        if (*pp)
            *pp = e->next_bid;
    }
    lru_unlink(c, e);
    c->st.entries--;
    gp_elfsyms_free(e->syms);
    free(e);
}

void gp_elfcache_free(struct gp_elfcache *c)
{
    if (!c)
        return;
    while (c->lru_head)
        entry_destroy(c, c->lru_head);
    free(c);
}

struct gp_elf_entry *gp_elfcache_find(struct gp_elfcache *c, const struct gp_elf_key *k)
{
    for (struct keynode *n = c->by_key[key_bucket(k)]; n; n = n->next_bucket) {
        if (key_eq(&n->key, k)) {
            touch(c, n->entry);
            return n->entry;
        }
    }
    return NULL;
}

struct gp_elf_entry *gp_elfcache_find_build_id(struct gp_elfcache *c, const uint8_t *id, size_t len)
{
    if (!len)
        return NULL;
    for (struct gp_elf_entry *e = c->by_bid[bid_bucket(id, len)]; e; e = e->next_bid)
        if (e->syms->build_id_len == len && memcmp(e->syms->build_id, id, len) == 0)
            return e;
    return NULL;
}

static int add_key(struct gp_elfcache *c, struct gp_elf_entry *e, const struct gp_elf_key *k)
{
    struct keynode *n = calloc(1, sizeof(*n));
    if (!n)
        return -ENOMEM;
    n->key = *k;
    n->entry = e;
    size_t b = key_bucket(k);
    n->next_bucket = c->by_key[b];
    c->by_key[b] = n;
    n->next_alias = e->keys;
    e->keys = n;
    return 0;
}

int gp_elfcache_get(struct gp_elfcache *c, int fd, const struct gp_elf_key *k,
                    const struct gp_debug_search *ds, struct gp_elf_entry **out, struct gp_err *err)
{
    struct gp_elf_entry *e = gp_elfcache_find(c, k);
    if (e) {
        c->st.hits++;
        *out = e;
        return 0;
    }
    uint8_t bid[GP_BUILD_ID_MAX];
    int bl = gp_elf_build_id_fd(fd, bid, sizeof(bid));
    if (bl > 0) {
        if ((e = gp_elfcache_find_build_id(c, bid, (size_t)bl))) {
            if (add_key(c, e, k) < 0)
                return gp_err_set(err, -ENOMEM, "out of memory");
            touch(c, e);
            c->st.build_id_hits++;
            *out = e;
            return 0;
        }
    }
    struct gp_elfsyms *syms;
    int rc = gp_elfsyms_load_fd(fd, ds, &syms, err);
    if (rc < 0)
        return rc;
    e = calloc(1, sizeof(*e));
    if (!e) {
        gp_elfsyms_free(syms);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    e->syms = syms;
    if (add_key(c, e, k) < 0) {
        gp_elfsyms_free(syms);
        free(e);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    if (syms->build_id_len) {
        size_t b = bid_bucket(syms->build_id, syms->build_id_len);
        e->next_bid = c->by_bid[b];
        c->by_bid[b] = e;
    }
    lru_push_head(c, e);
    c->st.entries++;
    c->st.loads++;
    *out = e;
    return 0;
}

int gp_elfcache_insert(struct gp_elfcache *c, const struct gp_elf_key *k, struct gp_elfsyms *syms,
                       struct gp_elf_entry **out)
{
    struct gp_elf_entry *e = gp_elfcache_find(c, k);
    if (e) {
        gp_elfsyms_free(syms);
        *out = e;
        return 0;
    }
    if (syms->build_id_len) {
        if ((e = gp_elfcache_find_build_id(c, syms->build_id, syms->build_id_len))) {
            if (add_key(c, e, k) < 0) {
                gp_elfsyms_free(syms);
                return -ENOMEM;
            }
            touch(c, e);
            c->st.build_id_hits++;
            gp_elfsyms_free(syms);
            *out = e;
            return 0;
        }
    }
    e = calloc(1, sizeof(*e));
    if (!e) {
        gp_elfsyms_free(syms);
        return -ENOMEM;
    }
    e->syms = syms;
    if (add_key(c, e, k) < 0) {
        gp_elfsyms_free(syms);
        free(e);
        return -ENOMEM;
    }
    if (syms->build_id_len) {
        size_t b = bid_bucket(syms->build_id, syms->build_id_len);
        e->next_bid = c->by_bid[b];
        c->by_bid[b] = e;
    }
    lru_push_head(c, e);
    c->st.entries++;
    c->st.loads++;
    *out = e;
    return 0;
}

struct gp_elfsyms *gp_elf_entry_syms(struct gp_elf_entry *e)
{
    return e->syms;
}

void gp_elf_entry_pin(struct gp_elf_entry *e)
{
    e->pins++;
}

void gp_elf_entry_unpin(struct gp_elf_entry *e)
{
    if (e->pins)
        e->pins--;
}

static size_t total_bytes(const struct gp_elfcache *c)
{
    size_t b = 0;
    for (struct gp_elf_entry *e = c->lru_head; e; e = e->lru_next)
        b += e->syms->bytes;
    return b;
}

size_t gp_elfcache_trim(struct gp_elfcache *c)
{
    size_t bytes = total_bytes(c), evicted = 0;
    struct gp_elf_entry *e = c->lru_tail;
    while (e && bytes > c->budget) {
        struct gp_elf_entry *prev = e->lru_prev;
        if (!e->pins) {
            bytes -= e->syms->bytes;
            entry_destroy(c, e);
            evicted++;
        }
        e = prev;
    }
    if (evicted) {
        c->generation++;
        c->st.evictions += evicted;
    }
    return evicted;
}

uint64_t gp_elfcache_generation(const struct gp_elfcache *c)
{
    return c->generation;
}

void gp_elfcache_stats(const struct gp_elfcache *c, struct gp_elfcache_stats *out)
{
    *out = c->st;
    out->bytes = total_bytes(c);
}
