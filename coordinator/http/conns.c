/* conns.c — connection cap and whole-header deadline (see conns.h). MHD offers only an idle
 * timeout, which a client sending a byte every few seconds never trips: each connection is
 * registered here when it opens, and a watcher thread shuts down the socket of one whose
 * header is late. The registry lock is taken by MHD's close notification, which runs before
 * MHD closes the socket, so the watcher never touches a descriptor that was reused. */
#include "coordinator/http/conns.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct conn_entry {
    struct conn_entry *prev, *next;
    int fd;
    _Atomic int64_t deadline_ms; /* monotonic; 0 = a request is being served */
    bool shut;
};

struct http_conns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t watcher;
    bool running, stop;
    struct conn_entry *head;
    unsigned max_conns;
    int64_t header_ms; /* header deadline of a new connection */
    int64_t next_ms;   /* of the next request on a kept-alive one: idle timeout + header_ms */
    atomic_uint open;
    atomic_uint_fast64_t refused;
    int64_t last_refuse_log_ms;
    uint64_t refused_logged;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *watch_main(void *arg)
{
    struct http_conns *c = arg;
    pthread_mutex_lock(&c->mu);
    while (!c->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 250 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        int64_t now = mono_ms();
        unsigned n = 0;
        for (struct conn_entry *e = c->head; e; e = e->next) {
            int64_t d = atomic_load(&e->deadline_ms);
            if (!e->shut && d && now > d) {
                /* the peer sees EOF; MHD sees the socket end and closes the connection */
                shutdown(e->fd, SHUT_RDWR);
                e->shut = true;
                n++;
            }
        }
        if (n)
            gp_warn("http: closed %u connection(s) that sent no complete request header within "
                    "%lld s (header_timeout_s)",
                    n, (long long)(c->header_ms / 1000));
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int http_conns_start(unsigned max_conns, unsigned header_timeout_s, unsigned idle_timeout_s,
                     struct http_conns **out, struct gp_err *err)
{
    struct http_conns *c = calloc(1, sizeof(*c));
    if (!c)
        return gp_err_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->max_conns = max_conns;
    c->header_ms = (int64_t)header_timeout_s * 1000;
    c->next_ms = c->header_ms ? c->header_ms + (int64_t)idle_timeout_s * 1000 : 0;
    if (c->header_ms) {
        int rc = pthread_create(&c->watcher, NULL, watch_main, c);
        if (rc) {
            pthread_cond_destroy(&c->cv);
            pthread_mutex_destroy(&c->mu);
            free(c);
            return gp_err_set(err, -rc, "cannot start the connection watcher: %s", strerror(rc));
        }
        c->running = true;
    }
    *out = c;
    return 0;
}

void http_conns_free(struct http_conns *c)
{
    if (!c)
        return;
    if (c->running) {
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        pthread_cond_signal(&c->cv);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->watcher, NULL);
    }
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code)
{
    struct http_conns *c = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        /* counted in open by http_conns_accept already */
        *socket_context = NULL;
        if (!c->header_ms)
            return;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_entry *e = ci ? calloc(1, sizeof(*e)) : NULL;
        if (!e)
            return; /* unwatched: only the idle timeout applies */
        e->fd = ci->connect_fd;
        atomic_store(&e->deadline_ms, mono_ms() + c->header_ms);
        pthread_mutex_lock(&c->mu);
        e->next = c->head;
        if (c->head)
            c->head->prev = e;
        c->head = e;
        pthread_mutex_unlock(&c->mu);
        *socket_context = e;
        return;
    }
    /* MHD_CONNECTION_NOTIFY_CLOSED: the socket is still open here */
    atomic_fetch_sub(&c->open, 1);
    struct conn_entry *e = *socket_context;
    if (!e)
        return;
    pthread_mutex_lock(&c->mu);
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&c->mu);
    free(e);
    *socket_context = NULL;
}

enum MHD_Result http_conns_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct http_conns *c = cls;
    (void)addr;
    (void)addrlen;
    /* The slot is taken here, atomically, so concurrent accepts in the pool threads cannot
     * overshoot the cap; MHD_CONNECTION_NOTIFY_CLOSED gives it back. (MHD failing to set up
     * an accepted connection after this — out of memory — would keep a slot.) */
    unsigned n = atomic_load(&c->open);
    while (n < c->max_conns)
        if (atomic_compare_exchange_weak(&c->open, &n, n + 1))
            return MHD_YES;
    uint64_t total = atomic_fetch_add(&c->refused, 1) + 1;
    int64_t now = mono_ms();
    pthread_mutex_lock(&c->mu);
    if (now - c->last_refuse_log_ms >= 10000) {
        gp_warn("http: %u connections open (max_connections): refused %llu new connection(s)",
                c->max_conns, (unsigned long long)(total - c->refused_logged));
        c->last_refuse_log_ms = now;
        c->refused_logged = total;
    }
    pthread_mutex_unlock(&c->mu);
    return MHD_NO;
}

static struct conn_entry *entry_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void http_conns_header_done(struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);
    if (e)
        atomic_store(&e->deadline_ms, 0);
}

void http_conns_request_done(struct http_conns *c, struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);
    if (e && c->next_ms)
        atomic_store(&e->deadline_ms, mono_ms() + c->next_ms);
}
