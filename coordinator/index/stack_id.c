/* index/stack_id.c — stack identity for every index engine: string hashes cached per interned
 * pointer, combined in order into a 64-bit stack hash. */
#include "coordinator/index/stack_id.h"
#include "common/hash.h"

#include <stdlib.h>
#include <string.h>

static uint64_t str_hash(struct index_str_hashes *m, const char *s)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        const char **k = calloc(cap, sizeof(*k));
        uint64_t *v = calloc(cap, sizeof(*v));
        if (k && v) {
            for (size_t i = 0; i < m->cap; i++) {
                if (!m->keys[i])
                    continue;
                size_t j = gp_hash_mix((uint64_t)(uintptr_t)m->keys[i]) & (cap - 1);
                while (k[j])
                    j = (j + 1) & (cap - 1);
                k[j] = m->keys[i];
                v[j] = m->vals[i];
            }
            free(m->keys);
            free(m->vals);
            m->keys = k;
            m->vals = v;
            m->cap = cap;
        } else {
            free(k);
            free(v);
            if (!m->cap) /* no table at all: hash directly */
                return gp_hash_mix(gp_hash_bytes(GP_HASH_SEED, s, strlen(s) + 1));
        }
    }
    size_t i = gp_hash_mix((uint64_t)(uintptr_t)s) & (m->cap - 1);
    while (m->keys[i]) {
        if (m->keys[i] == s)
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    uint64_t h = gp_hash_mix(gp_hash_bytes(GP_HASH_SEED, s, strlen(s) + 1));
    if ((m->n + 1) * 2 <= m->cap) {
        m->keys[i] = s;
        m->vals[i] = h;
        m->n++;
    }
    return h;
}

void index_str_hashes_free(struct index_str_hashes *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* The stack identity: container, comm and frames in order (position matters). */
uint64_t index_stack_hash(struct index_str_hashes *m, const struct gp_stack_view *s)
{
    uint64_t h = GP_HASH_SEED;
    h = (h ^ str_hash(m, s->container)) * 0x9e3779b97f4a7c15ULL;
    h = (h ^ str_hash(m, s->comm)) * 0x9e3779b97f4a7c15ULL;
    for (uint32_t i = 0; i < s->nframes; i++) {
        h = (h << 31) | (h >> 33);
        h = (h ^ str_hash(m, s->frames[i])) * 0x9e3779b97f4a7c15ULL;
    }
    h = gp_hash_mix(h ^ s->nframes);
    return h ? h : 1;
}
