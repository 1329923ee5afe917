/* answer_cache.c — an LRU of finished answers keyed by request text and index generation; one
 * mutex (a lookup is a few dozen string compares next to a query of hundreds of ms). */
#include "coordinator/query/answer_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ENTRIES 256

struct entry {
    struct entry *prev, *next; /* most recent first */
    char *key;
    uint64_t gen;
    char *body;
    size_t len;
    struct answer_meta meta;
};

struct answer_cache {
    pthread_mutex_t mu;
    struct entry *head, *tail;
    size_t bytes, max_bytes, n;
    uint64_t hits, misses;
};

struct answer_cache *answer_cache_new(size_t max_bytes)
{
    if (!max_bytes)
        return NULL;
    struct answer_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    pthread_mutex_init(&c->mu, NULL);
    c->max_bytes = max_bytes;
    return c;
}

static void unlink_entry(struct answer_cache *c, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

/* Puts e first: the most recently used. */
static void push_front(struct answer_cache *c, struct entry *e)
{
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void drop(struct answer_cache *c, struct entry *e)
{
    unlink_entry(c, e);
    c->bytes -= e->len + strlen(e->key);
    c->n--;
    free(e->key);
    free(e->body);
    free(e);
}

void answer_cache_free(struct answer_cache *c)
{
    if (!c)
        return;
    while (c->head)
        drop(c, c->head);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

int answer_cache_get(struct answer_cache *c, const char *key, uint64_t gen, char **body,
                     size_t *len, struct answer_meta *meta)
{
    if (!c || !gen)
        return 0;
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    for (struct entry *e = c->head, *next; e; e = next) {
        next = e->next;
        if (e->gen != gen) { /* the index changed since: never valid again */
            drop(c, e);
            continue;
        }
        if (hit || strcmp(e->key, key) != 0)
            continue;
        char *copy = malloc(e->len ? e->len : 1);
        if (!copy)
            break;
        memcpy(copy, e->body, e->len);
        *body = copy;
        *len = e->len;
        *meta = e->meta;
        unlink_entry(c, e);
        push_front(c, e);
        hit = 1;
    }
    if (hit)
        c->hits++;
    else
        c->misses++;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void answer_cache_put(struct answer_cache *c, const char *key, uint64_t gen, const char *body,
                      size_t len, const struct answer_meta *meta)
{
    size_t klen = key ? strlen(key) : 0;
    if (!c || !gen || !key || len + klen > c->max_bytes / 2)
        return;
    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return;
    e->key = strdup(key);
    e->body = malloc(len ? len : 1);
    if (!e->key || !e->body) {
        free(e->key);
        free(e->body);
        free(e);
        return;
    }
    memcpy(e->body, body, len);
    e->len = len;
    e->gen = gen;
    e->meta = *meta;
    pthread_mutex_lock(&c->mu);
    for (struct entry *o = c->head, *next; o; o = next) { /* same key: the newer answer wins */
        next = o->next;
        if (o->gen != gen || strcmp(o->key, key) == 0)
            drop(c, o);
    }
    push_front(c, e);
    c->bytes += len + klen;
    c->n++;
    while (c->tail && c->tail != e && (c->bytes > c->max_bytes || c->n > MAX_ENTRIES))
        drop(c, c->tail);
    pthread_mutex_unlock(&c->mu);
}

void answer_cache_stats(struct answer_cache *c, uint64_t *hits, uint64_t *misses)
{
    *hits = *misses = 0;
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->mu);
}
