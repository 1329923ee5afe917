/* index/stack_cache.c — the index writers' stack cache (stack_cache.h). */
#include "coordinator/index/stack_cache.h"
#include "common/hash.h"

#include <stdlib.h>

void index_stack_cache_clear(struct index_stack_cache *c)
{
    free(c->slots);
    c->slots = NULL;
    c->cap = c->n = 0;
}

struct index_stack_cache_ent *index_stack_cache_find(struct index_stack_cache *c, uint64_t hash)
{
    if (!c->cap)
        return NULL;
    for (size_t i = gp_hash_mix(hash) & (c->cap - 1); c->slots[i].hash; i = (i + 1) & (c->cap - 1))
        if (c->slots[i].hash == hash)
            return &c->slots[i];
    return NULL;
}

void index_stack_cache_put(struct index_stack_cache *c, uint64_t hash, int64_t id, int64_t last_day)
{
    if (c->n >= INDEX_STACK_CACHE_MAX)
        index_stack_cache_clear(c);
    if ((c->n + 1) * 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4096;
        struct index_stack_cache_ent *n = calloc(cap, sizeof(*n));
        if (!n)
            return;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slots[i].hash)
                continue;
            size_t j = gp_hash_mix(c->slots[i].hash) & (cap - 1);
            while (n[j].hash)
                j = (j + 1) & (cap - 1);
            n[j] = c->slots[i];
        }
        free(c->slots);
        c->slots = n;
        c->cap = cap;
    }
    size_t i = gp_hash_mix(hash) & (c->cap - 1);
    while (c->slots[i].hash && c->slots[i].hash != hash)
        i = (i + 1) & (c->cap - 1);
    if (!c->slots[i].hash)
        c->n++;
    c->slots[i] = (struct index_stack_cache_ent){hash, id, last_day};
}
