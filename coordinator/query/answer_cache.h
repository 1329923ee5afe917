/* answer_cache.h — finished flame-graph answers (the bytes sent, gzip'd or not) kept per request
 * and index generation, so a repeated or re-opened view is served without reading the index. */
#ifndef GPROF_COORD_QUERY_ANSWER_CACHE_H
#define GPROF_COORD_QUERY_ANSWER_CACHE_H

#include <stddef.h>
#include <stdint.h>

/* What is sent besides the body. */
struct answer_meta {
    const char *ctype;     /* Content-Type, a static string */
    char disposition[256]; /* Content-Disposition, "" = none */
    int gzip;              /* the body is gzip'd (Content-Encoding: gzip) */
};

struct answer_cache;

/* A cache holding at most max_bytes of bodies (least recently used dropped first); NULL when
 * max_bytes is 0 (every call below accepts NULL and then does nothing). */
struct answer_cache *answer_cache_new(size_t max_bytes);
void answer_cache_free(struct answer_cache *c);

/* On a hit for key at generation gen (0 = unknown: never a hit): 1, a malloc'd copy of the body
 * in *body / *len and its meta. 0 on a miss (entries of other generations are dropped). */
int answer_cache_get(struct answer_cache *c, const char *key, uint64_t gen, char **body,
                     size_t *len, struct answer_meta *meta);
/* Keeps a copy of body for key at gen (gen 0, an oversized body or no memory: nothing kept). */
void answer_cache_put(struct answer_cache *c, const char *key, uint64_t gen, const char *body,
                      size_t len, const struct answer_meta *meta);

/* Hits and misses so far (for tests and /metrics). */
void answer_cache_stats(struct answer_cache *c, uint64_t *hits, uint64_t *misses);

#endif
