/* tls_pool.c — per-thread connections through a pthread key, tracked in a list for shutdown. */
#include "coordinator/store/tls_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tls_node {
    struct tls_pool *pool;
    void *conn;
    struct tls_node *prev, *next;
};

struct tls_pool {
    pthread_key_t key;
    pthread_mutex_t mu;
    struct tls_node *head;
    int count;
    tls_pool_open_fn open;
    tls_pool_close_fn close;
    void *ctx;
};

static void unlink_node(struct tls_pool *p, struct tls_node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        p->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    p->count--;
}

/* Runs at thread exit for every thread that opened a connection. */
static void thread_exit(void *v)
{
    struct tls_node *n = v;
    struct tls_pool *p = n->pool;
    pthread_mutex_lock(&p->mu);
    unlink_node(p, n);
    pthread_mutex_unlock(&p->mu);
    p->close(p->ctx, n->conn);
    free(n);
}

int tls_pool_new(tls_pool_open_fn open, tls_pool_close_fn close, void *ctx, struct tls_pool **out,
                 struct gp_err *err)
{
    struct tls_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = pthread_key_create(&p->key, thread_exit);
    if (rc) {
        free(p);
        return gp_err_set(err, -rc, "pthread_key_create: %s", strerror(rc));
    }
    pthread_mutex_init(&p->mu, NULL);
    p->open = open;
    p->close = close;
    p->ctx = ctx;
    *out = p;
    return 0;
}

int tls_pool_get(struct tls_pool *p, void **conn, struct gp_err *err)
{
    struct tls_node *n = pthread_getspecific(p->key);
    if (n) {
        *conn = n->conn;
        return 0;
    }
    n = calloc(1, sizeof(*n));
    if (!n)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = p->open(p->ctx, &n->conn, err);
    if (rc < 0) {
        free(n);
        return rc;
    }
    n->pool = p;
    pthread_mutex_lock(&p->mu);
    n->next = p->head;
    if (p->head)
        p->head->prev = n;
    p->head = n;
    p->count++;
    pthread_mutex_unlock(&p->mu);
    rc = pthread_setspecific(p->key, n);
    if (rc) {
        pthread_mutex_lock(&p->mu);
        unlink_node(p, n);
        pthread_mutex_unlock(&p->mu);
        p->close(p->ctx, n->conn);
        free(n);
        return gp_err_set(err, -rc, "pthread_setspecific: %s", strerror(rc));
    }
    *conn = n->conn;
    return 0;
}

int tls_pool_count(struct tls_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int c = p->count;
    pthread_mutex_unlock(&p->mu);
    return c;
}

void tls_pool_free(struct tls_pool *p)
{
    if (!p)
        return;
    /* The calling thread's own slot would otherwise dangle if it outlives the pool. */
    pthread_setspecific(p->key, NULL);
    pthread_key_delete(p->key);
    pthread_mutex_lock(&p->mu);
    struct tls_node *n = p->head;
    p->head = NULL;
    pthread_mutex_unlock(&p->mu);
    while (n) {
        struct tls_node *next = n->next;
        p->close(p->ctx, n->conn);
        free(n);
        n = next;
    }
    pthread_mutex_destroy(&p->mu);
    free(p);
}
