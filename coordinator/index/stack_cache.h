/* stack_cache.h — an index writer's memory of the stacks it has written: stack hash -> (engine
 * id, newest day written), open addressing grown by doubling, dropped whole at a cap. */
#ifndef GPROF_COORD_INDEX_STACK_CACHE_H
#define GPROF_COORD_INDEX_STACK_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define INDEX_STACK_CACHE_MAX (4u << 20) /* entries before the cache is dropped and rebuilt */

struct index_stack_cache_ent {
    uint64_t hash;    /* 0 = empty */
    int64_t id;       /* the engine's id of the stack (0 when it has none) */
    int64_t last_day; /* newest day the stack's row was written for */
};

/* Zero-initialise; release with index_stack_cache_clear. Not thread-safe (writer side). */
struct index_stack_cache {
    struct index_stack_cache_ent *slots;
    size_t cap, n;
};

/* The entry of hash, or NULL; valid until the next put or clear. */
struct index_stack_cache_ent *index_stack_cache_find(struct index_stack_cache *c, uint64_t hash);
/* Inserts or replaces hash's entry. Out of memory only forgets (a miss is only slower). */
void index_stack_cache_put(struct index_stack_cache *c, uint64_t hash, int64_t id,
                           int64_t last_day);
/* Forgets everything and frees the slots. */
void index_stack_cache_clear(struct index_stack_cache *c);

#endif
