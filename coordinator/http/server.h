/* server.h — the coordinator's HTTP front: libmicrohttpd (epoll thread pool, keep-alive), a small
 * routing table, body accumulation with size limits, gzip request bodies and response helpers. */
#ifndef GPROF_COORD_HTTP_SERVER_H
#define GPROF_COORD_HTTP_SERVER_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/strbuf.h"

struct MHD_Connection;

struct http_req {
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    char *body; /* decoded body (gunzipped when Content-Encoding: gzip), NUL-terminated */
    size_t body_len;
    size_t wire_len;  /* bytes received on the wire */
    const char *wire; /* those bytes (the gzip stream when was_gzip), valid during the handler */
    bool was_gzip;
};

struct http_resp {
    int status;
    const char *content_type; /* static string; default application/json */
    char *body;               /* malloc'd, owned by the response */
    size_t len;
    char disposition[256]; /* Content-Disposition when non-empty */
    char allow[64];        /* Allow header (405) when non-empty */
    char set_cookie[320];  /* Set-Cookie value when non-empty (sessions, api/session_api.c) */
    char retry_after[16];  /* Retry-After header (429, 503) when non-empty */
    /* Extra headers (name, value) with static lifetime, e.g. Cache-Control; unused slots NULL. */
    const char *headers[4][2];
};

typedef void (*http_handler_fn)(const struct http_req *req, struct http_resp *resp, void *ctx);
/* Runs once the request header is in, before any body byte is read (req->body is NULL): return
 * true to go on, or false after filling resp (e.g. 401), which is sent at once; the body is
 * then never read. who ("" on entry, whosz bytes): the hook names there the caller it
 * authenticated, a stable key the per-identity rate limit counts on (HTTP_R_RATE_LIMITED); left
 * empty, the limit counts per client address. One credential lookup serves both. */
typedef bool (*http_pre_fn)(const struct http_req *req, struct http_resp *resp, char *who,
                            size_t whosz, void *ctx);

enum {
    HTTP_R_PREFIX = 1u << 0,        /* path is a prefix ("/ui/") */
    HTTP_R_NEED_LENGTH = 1u << 1,   /* Content-Length required (411 otherwise) */
    HTTP_R_OFFLOAD = 1u << 2,       /* CPU-heavy: run in the worker pool, connection suspended,
                                       so the event-loop threads keep answering others */
    HTTP_R_LARGE_INFLATE = 1u << 3, /* a gzip body may inflate up to opts.max_decompressed;
                                       other routes stop inflating at their wire limit */
    HTTP_R_RATE_LIMITED = 1u << 4,  /* a control endpoint: opts.control_rate per identity (429):
                                       the name the pre hook gives, else "ip:ADDR" */
};

struct http_route {
    const char *method; /* "GET", "POST", ... ; GET routes also answer HEAD */
    const char *path;
    unsigned flags;
    size_t max_body; /* wire bytes; 0 = the server default */
    http_handler_fn fn;
    void *ctx;
    http_pre_fn pre; /* optional: authenticate from the header before reading the body */
};

struct http_opts {
    const char *listen;        /* "ADDR:PORT", "[v6]:PORT" */
    unsigned threads;          /* thread pool size (0 = number of CPUs) */
    unsigned timeout_s;        /* idle connection / request timeout */
    size_t max_body;           /* default wire limit for a request body */
    size_t max_decompressed;   /* gunzipped cap of HTTP_R_LARGE_INFLATE routes (bomb -> 413) */
    unsigned max_connections;  /* beyond it new connections are closed at once */
    unsigned max_conns_per_ip; /* connections from one address (0 = no limit) */
    unsigned header_timeout_s; /* whole request header deadline (0 = none) */
    unsigned body_timeout_s;   /* whole request body deadline after its header (0 = none) */
    double control_rate;       /* HTTP_R_RATE_LIMITED requests per second per identity (0 = off) */
    unsigned control_burst;    /* bucket size of that limit */
    unsigned workers;          /* pool for HTTP_R_OFFLOAD routes (0 = same as threads) */
    /* Host / Origin checks (see guard.h): */
    bool check_host;             /* refuse a Host that is not ours (DNS rebinding) */
    const char *allowed_hosts;   /* extra Host names, comma separated */
    const char *allowed_origins; /* extra origins for state-changing requests */
    /* HTTPS (see tls.h): both PEM files, or both NULL for plain HTTP */
    const char *tls_cert, *tls_key;
};

struct http_server;

int http_parse_listen(const char *listen, char *host, size_t hostsz, uint16_t *port,
                      struct gp_err *err);
/* True when the address is 127.0.0.0/8, ::1 or "localhost". */
bool http_addr_is_loopback(const char *host);
/* Same for a listen string ("ADDR:PORT"); false when it does not parse. */
bool http_listen_is_loopback(const char *listen);

int http_server_start(const struct http_opts *o, const struct http_route *routes, size_t nroutes,
                      struct http_server **out, struct gp_err *err);
/* The port actually bound (useful with port 0). */
uint16_t http_server_port(const struct http_server *s);
/* Stops accepting, waits up to grace_ms for requests in progress, then stops the daemon. */
void http_server_stop(struct http_server *s, unsigned grace_ms);
/* Reads the TLS certificate and key files again (SIGHUP): new connections get the new
 * certificate, open ones keep theirs. -ENOTSUP without TLS; on error the old one stays. */
int http_server_reload_tls(struct http_server *s, struct gp_err *err);
/* The request counters (stats.h) in Prometheus text. */
void http_server_metrics(const struct http_server *s, struct strbuf *sb);
/* Requests being served right now. */
unsigned http_server_inflight(const struct http_server *s);

/* Request accessors (values are borrowed from the connection). */
const char *http_query(const struct http_req *r, const char *key);
/* Calls cb for every value of a repeatable query parameter; returns how many. */
size_t http_query_each(const struct http_req *r, const char *key,
                       void (*cb)(const char *value, void *ctx), void *ctx);
const char *http_header(const struct http_req *r, const char *name);
/* Client IP as text ("127.0.0.1"); "" when unknown. */
void http_client_ip(const struct http_req *r, char *buf, size_t bufsz);

/* Response helpers; they free any previous body. */
void http_resp_json(struct http_resp *resp, int status, json_object *o); /* takes o */
void http_resp_msg(struct http_resp *resp, int status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4))); /* {"message": "..."} */
void http_resp_raw(struct http_resp *resp, int status, const char *ctype, char *body,
                   size_t len); /* takes body */
void http_resp_empty(struct http_resp *resp, int status);

#endif
