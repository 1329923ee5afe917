/* stack_id.h — the engine-neutral identity of an indexed stack: a 64-bit hash of container,
 * comm and frames in order, with a per-profile cache of string hashes (strings are interned). */
#ifndef GPROF_COORD_INDEX_STACK_ID_H
#define GPROF_COORD_INDEX_STACK_ID_H

#include "common/profile.h"

#include <stddef.h>
#include <stdint.h>

/* Strings of one gp_profile are interned (one pointer per distinct string), so each string is
 * hashed once per add; zero-initialise, release with index_str_hashes_free. */
struct index_str_hashes {
    const char **keys;
    uint64_t *vals;
    size_t cap, n;
};

void index_str_hashes_free(struct index_str_hashes *m);
/* The stack identity (never 0); equal stacks of any profile get the same value. */
uint64_t index_stack_hash(struct index_str_hashes *m, const struct gp_stack_view *s);

#endif
