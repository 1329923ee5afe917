/* counts.c — sorted (id, count) vectors, varint codec and an id -> count hash map. */
#include "coordinator/index/counts.h"
#include "common/hash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void count_vec_free(struct count_vec *cv)
{
    free(cv->v);
    memset(cv, 0, sizeof(*cv));
}

static int reserve(struct count_vec *cv, size_t n)
{
    if (n <= cv->cap)
        return 0;
    size_t cap = cv->cap ? cv->cap : 64;
    while (cap < n)
        cap *= 2;
    struct count_pair *v = realloc(cv->v, cap * sizeof(*v));
    if (!v)
        return -ENOMEM;
    cv->v = v;
    cv->cap = cap;
    return 0;
}

int count_vec_push(struct count_vec *cv, uint64_t id, uint64_t count)
{
    if (reserve(cv, cv->n + 1) < 0)
        return -ENOMEM;
    cv->v[cv->n++] = (struct count_pair){id, count};
    return 0;
}

static int by_id(const void *a, const void *b)
{
    const struct count_pair *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

void count_vec_normalize(struct count_vec *cv)
{
    if (cv->n < 2)
        return;
    qsort(cv->v, cv->n, sizeof(cv->v[0]), by_id);
    size_t w = 0;
    for (size_t i = 1; i < cv->n; i++) {
        if (cv->v[i].id == cv->v[w].id)
            cv->v[w].count += cv->v[i].count;
        else
            cv->v[++w] = cv->v[i];
    }
    cv->n = w + 1;
}

static size_t put_varint(unsigned char *p, uint64_t x)
{
    size_t n = 0;
    while (x >= 0x80) {
        p[n++] = (unsigned char)(x | 0x80);
        x >>= 7;
    }
    p[n++] = (unsigned char)x;
    return n;
}

static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *x)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -EINVAL;
        unsigned char b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *x = v;
            return 0;
        }
    }
    return -EINVAL;
}

int count_vec_encode(const struct count_vec *cv, unsigned char **out, size_t *len)
{
    size_t need = cv->n * 20 + 1;
    unsigned char *buf = realloc(*out, need);
    if (!buf)
        return -ENOMEM;
    *out = buf;
    size_t n = 0;
    uint64_t prev = 0;
    for (size_t i = 0; i < cv->n; i++) {
        n += put_varint(buf + n, cv->v[i].id - prev);
        n += put_varint(buf + n, cv->v[i].count);
        prev = cv->v[i].id;
    }
    *len = n;
    return 0;
}

int counts_foreach(const void *data, size_t len, void (*fn)(uint64_t id, uint64_t c, void *ctx),
                   void *ctx)
{
    const unsigned char *p = data, *end = p + len;
    uint64_t id = 0;
    while (p < end) {
        uint64_t d, c;
        if (get_varint(&p, end, &d) < 0 || get_varint(&p, end, &c) < 0)
            return -EINVAL;
        id += d;
        fn(id, c, ctx);
    }
    return 0;
}

struct dec_ctx {
    struct count_vec *cv;
    int oom;
};

static void dec_fn(uint64_t id, uint64_t c, void *ctx)
{
    struct dec_ctx *d = ctx;
    if (!d->oom && count_vec_push(d->cv, id, c) < 0)
        d->oom = 1;
}

int count_vec_decode(const void *data, size_t len, struct count_vec *cv)
{
    struct dec_ctx d = {cv, 0};
    if (reserve(cv, cv->n + len / 3 + 1) < 0)
        return -ENOMEM;
    int rc = counts_foreach(data, len, dec_fn, &d);
    if (rc < 0)
        return rc;
    return d.oom ? -ENOMEM : 0;
}

int count_vec_merge(const struct count_vec *a, const struct count_vec *b, struct count_vec *out)
{
    out->n = 0;
    if (reserve(out, a->n + b->n) < 0)
        return -ENOMEM;
    size_t i = 0, j = 0;
    while (i < a->n || j < b->n) {
        if (j >= b->n || (i < a->n && a->v[i].id < b->v[j].id)) {
            out->v[out->n++] = a->v[i++];
        } else if (i >= a->n || b->v[j].id < a->v[i].id) {
            out->v[out->n++] = b->v[j++];
        } else {
            out->v[out->n++] = (struct count_pair){a->v[i].id, a->v[i].count + b->v[j].count};
            i++;
            j++;
        }
    }
    return 0;
}

static int map_grow(struct count_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *k = calloc(cap, sizeof(*k)), *v = calloc(cap, sizeof(*v));
    if (!k || !v) {
        free(k);
        free(v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i])
            continue;
        size_t h = gp_hash_mix(m->keys[i]) & (cap - 1);
        while (k[h])
            h = (h + 1) & (cap - 1);
        k[h] = m->keys[i];
        v[h] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = cap;
    return 0;
}

int count_map_add(struct count_map *m, uint64_t id, uint64_t c)
{
    if ((m->n + 1) * 2 > m->cap && map_grow(m) < 0) {
        m->oom = 1;
        return -ENOMEM;
    }
    size_t h = gp_hash_mix(id) & (m->cap - 1);
    while (m->keys[h] && m->keys[h] != id)
        h = (h + 1) & (m->cap - 1);
    if (!m->keys[h]) {
        m->keys[h] = id;
        m->n++;
    }
    m->vals[h] += c;
    return 0;
}

void count_map_free(struct count_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}
