/* counts.h — sorted (stack id, count) vectors and their compact encoding (delta + LEB128
 * varints) used by index engines for a bucket's samples; plus an id -> count hash map. */
#ifndef GPROF_COORD_INDEX_COUNTS_H
#define GPROF_COORD_INDEX_COUNTS_H

#include <stddef.h>
#include <stdint.h>

struct count_pair {
    uint64_t id; /* > 0 */
    uint64_t count;
};

struct count_vec {
    struct count_pair *v;
    size_t n, cap;
};

void count_vec_free(struct count_vec *cv);
int count_vec_push(struct count_vec *cv, uint64_t id, uint64_t count);
/* Sorts by id and sums duplicates. */
void count_vec_normalize(struct count_vec *cv);
/* Appends the encoding of a normalized vector; *out is realloc'd. Returns 0 or -ENOMEM. */
int count_vec_encode(const struct count_vec *cv, unsigned char **out, size_t *len);
/* Decodes into cv (appended). -EINVAL on malformed data. */
int count_vec_decode(const void *data, size_t len, struct count_vec *cv);
/* out = a + b for normalized vectors (out must be distinct from both; it is reset first). */
int count_vec_merge(const struct count_vec *a, const struct count_vec *b, struct count_vec *out);

/* Calls fn for every pair of an encoded buffer without materialising it. */
int counts_foreach(const void *data, size_t len, void (*fn)(uint64_t id, uint64_t c, void *ctx),
                   void *ctx);

/* id -> count accumulator (open addressing). */
struct count_map {
    uint64_t *keys; /* 0 = empty */
    uint64_t *vals;
    size_t cap, n;
    int oom;
};
int count_map_add(struct count_map *m, uint64_t id, uint64_t c);
void count_map_free(struct count_map *m);

#endif
