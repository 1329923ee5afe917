/* conns.c — connection cap and whole-header and body deadlines (see conns.h). MHD offers only
 * an idle timeout, which a client sending a byte every few seconds never trips: each connection
 * is registered here when it opens, and a watcher thread answers 408 on the socket of one whose
 * header or body is late and shuts it down. While a header or body is being received MHD writes
 * nothing on that socket, so the canned response cannot interleave with one of MHD's. The registry
 * lock is taken by MHD's close notification, which runs before MHD closes the socket, so the
 * watcher never touches a descriptor that was reused. */
#include "coordinator/http/conns.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct conn_entry {
    struct conn_entry *prev, *next;
    int fd;
    _Atomic int64_t deadline_ms; /* monotonic; 0 = a request is being served, -1 = late (408) */
    atomic_bool in_body;         /* the deadline is that of a body */
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
    int64_t body_ms;   /* from the end of a header to the end of its body */
    bool tls;          /* no canned 408 on a TLS socket: only closed */
    uint64_t late_header, late_body; /* closed since the last log line */
    int64_t last_header_log_ms, last_body_log_ms;
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

static const char resp_408[] = "HTTP/1.1 408 Request Timeout\r\n"
                               "Connection: close\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: %zu\r\n\r\n%s";

/* Answers 408 (best effort: the socket buffer of a connection that sent little is empty) and
 * shuts the socket down; the peer reads the response, then EOF, and MHD closes its end. */
static void close_late(const struct http_conns *c, struct conn_entry *e, bool body)
{
    if (!c->tls) {
        const char *msg = body ? "{\"message\":\"request body not received within "
                                 "body_timeout_s\"}"
                               : "{\"message\":\"request header not received within "
                                 "header_timeout_s\"}";
        char buf[512];
        int n = snprintf(buf, sizeof(buf), resp_408, strlen(msg), msg);
        if (n > 0 && (size_t)n < sizeof(buf))
            (void)send(e->fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
    shutdown(e->fd, SHUT_RDWR);
    e->shut = true;
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
        for (struct conn_entry *e = c->head; e; e = e->next) {
            int64_t d = atomic_load(&e->deadline_ms);
            /* claimed (-1) first: a header or body completing meanwhile sees it and the
             * server drops the connection instead of answering on it too */
            if (!e->shut && d > 0 && now > d &&
                atomic_compare_exchange_strong(&e->deadline_ms, &d, -1)) {
                bool body = atomic_load(&e->in_body);
                close_late(c, e, body);
                if (body)
                    c->late_body++;
                else
                    c->late_header++;
            }
        }
        /* one line per kind per burst of late connections, at most every 10 s */
        if (c->late_header && now - c->last_header_log_ms >= 10000) {
            gp_warn("http: answered 408 and closed %llu connection(s) that sent no complete "
                    "request header within %lld s (header_timeout_s)",
                    (unsigned long long)c->late_header, (long long)(c->header_ms / 1000));
            c->late_header = 0;
            c->last_header_log_ms = now;
        }
        if (c->late_body && now - c->last_body_log_ms >= 10000) {
            gp_warn("http: answered 408 and closed %llu connection(s) that sent no complete "
                    "request body within %lld s (body_timeout_s)",
                    (unsigned long long)c->late_body, (long long)(c->body_ms / 1000));
            c->late_body = 0;
            c->last_body_log_ms = now;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int http_conns_start(unsigned max_conns, unsigned header_timeout_s, unsigned body_timeout_s,
                     unsigned idle_timeout_s, bool tls, struct http_conns **out, struct gp_err *err)
{
    struct http_conns *c = calloc(1, sizeof(*c));
    if (!c)
        return gp_err_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->max_conns = max_conns;
    c->header_ms = (int64_t)header_timeout_s * 1000;
    c->next_ms = c->header_ms ? c->header_ms + (int64_t)idle_timeout_s * 1000 : 0;
    c->body_ms = (int64_t)body_timeout_s * 1000;
    c->tls = tls;
    if (c->header_ms || c->body_ms) {
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
        if (!c->header_ms && !c->body_ms)
            return;
        const union MHD_ConnectionInfo *ci =
                MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct conn_entry *e = ci ? calloc(1, sizeof(*e)) : NULL;
        if (!e)
            return; /* unwatched: only the idle timeout applies */
        e->fd = ci->connect_fd;
        atomic_store(&e->deadline_ms, c->header_ms ? mono_ms() + c->header_ms : 0);
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

bool http_conns_header_done(struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);
    return !e || atomic_exchange(&e->deadline_ms, 0) >= 0;
}

void http_conns_body_wait(struct http_conns *c, struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);
    if (!e || !c->body_ms)
        return;
    atomic_store(&e->in_body, true);
    atomic_store(&e->deadline_ms, mono_ms() + c->body_ms);
}

bool http_conns_body_done(struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);
    return !e || atomic_exchange(&e->deadline_ms, 0) >= 0;
}

void http_conns_request_done(struct http_conns *c, struct MHD_Connection *conn)
{
    struct conn_entry *e = entry_of(conn);
    if (!e)
        return;
    atomic_store(&e->in_body, false);
    atomic_store(&e->deadline_ms, c->next_ms ? mono_ms() + c->next_ms : 0);
}
