/* hash.h — the one non-cryptographic hash gprof uses for interning and stack keys
 * (64-bit FNV-1a variant with a final avalanche); stable across runs and hosts. */
#ifndef GPROF_COMMON_HASH_H
#define GPROF_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GP_HASH_SEED 0xcbf29ce484222325ULL

static inline uint64_t gp_hash_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static inline uint64_t gp_hash_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

#endif
