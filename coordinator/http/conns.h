/* conns.h — the coordinator's open connections: a global cap enforced at accept (refused at
 * once, never queued) and deadlines for each whole request header and body (slowloris, 408). */
#ifndef GPROF_COORD_HTTP_CONNS_H
#define GPROF_COORD_HTTP_CONNS_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/err.h"

struct http_conns;

/* max_conns: connections served at once; header_timeout_s: seconds a new connection may take
 * to send a complete request header (0 = no deadline); a kept-alive connection gets its idle
 * timeout (MHD closes it when idle) plus that for its next header; body_timeout_s: seconds
 * from the end of the header to the end of the body (0 = none). A connection past a deadline
 * is answered 408 (plain HTTP; over TLS it is only closed) and closed. Starts the watcher. */
int http_conns_start(unsigned max_conns, unsigned header_timeout_s, unsigned body_timeout_s,
                     unsigned idle_timeout_s, bool tls, struct http_conns **out,
                     struct gp_err *err);
/* Stops the watcher and frees the registry; call after MHD_stop_daemon. */
void http_conns_free(struct http_conns *c);

/* MHD callbacks: MHD_OPTION_NOTIFY_CONNECTION and the accept policy (cls = the http_conns). */
void http_conns_notify(void *cls, struct MHD_Connection *conn, void **socket_context,
                       enum MHD_ConnectionNotificationCode code);
enum MHD_Result http_conns_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/* The request header of conn is complete (stops its deadline) / a body is expected (its
 * deadline starts; never call it once a response is queued) / the body is complete (stops it)
 * / its request ended (the next header's deadline starts). header_done and body_done return
 * false when the deadline passed and 408 was sent meanwhile: drop the connection (MHD_NO). */
bool http_conns_header_done(struct MHD_Connection *conn);
void http_conns_body_wait(struct http_conns *c, struct MHD_Connection *conn);
bool http_conns_body_done(struct MHD_Connection *conn);
void http_conns_request_done(struct http_conns *c, struct MHD_Connection *conn);

#endif
