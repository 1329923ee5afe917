/* server.c — libmicrohttpd glue: routing, body limits, gzip, responses. */
#include "coordinator/http/server.h"
#include "coordinator/http/conns.h"
#include "coordinator/http/guard.h"
#include "coordinator/http/ratelimit.h"
#include "coordinator/http/stats.h"
#include "coordinator/http/tls.h"
#include "common/gzip.h"
#include "common/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct http_server {
    struct MHD_Daemon *d;
    /* worker pool for HTTP_R_OFFLOAD routes (connection suspended meanwhile); the job queue is
     * bounded by max_connections: a job is a suspended connection, one request at a time */
    pthread_mutex_t jmu;
    pthread_cond_t jcv;
    struct req_state *jhead, *jtail;
    pthread_t *workers;
    unsigned nworkers;
    bool jstop;
    struct http_route *routes;
    size_t nroutes;
    struct http_opts opts;
    uint16_t port;
    atomic_uint inflight;
    struct http_conns *conns;
    struct http_guard guard;
    struct http_tls *tls;      /* NULL: plain HTTP */
    struct http_stats *stats;  /* responses by route and status, latency (metrics) */
    struct http_ratelimit *rl; /* HTTP_R_RATE_LIMITED routes; NULL = no limit */
};

/* Per-request state, kept in MHD's con_cls. */
struct req_state {
    const struct http_route *route;
    struct timespec t0; /* the request header was complete */
    char *buf;
    size_t len, cap, limit;
    size_t expect; /* Content-Length (within limit): the body buffer is sized once */
    bool too_large;
    bool rejected; /* a response was queued before the body arrived */
    /* offloaded requests: 1 = queued/running in a worker, 2 = response ready */
    int phase;
    struct MHD_Connection *conn;
    char *method, *url;
    struct http_resp resp;
    struct req_state *next_job;
};

int http_parse_listen(const char *listen, char *host, size_t hostsz, uint16_t *port,
                      struct gp_err *err)
{
    const char *colon;
    const char *h = listen;
    size_t hl;
    if (!listen || !*listen)
        return gp_err_set(err, -EINVAL, "listen address is empty; use ADDR:PORT (127.0.0.1:8080)");
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':')
            return gp_err_set(err, -EINVAL, "listen '%s': expected [IPv6]:PORT", listen);
        h = listen + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon)
            return gp_err_set(err, -EINVAL, "listen '%s': expected ADDR:PORT (127.0.0.1:8080)",
                              listen);
        hl = (size_t)(colon - listen);
    }
    if (hl == 0 || hl >= hostsz)
        return gp_err_set(err, -EINVAL, "listen '%s': missing or too long address", listen);
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || p < 0 || p > 65535)
        return gp_err_set(err, -EINVAL, "listen '%s': port must be 0..65535", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)p;
    return 0;
}

bool http_addr_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    struct in_addr a;
    if (inet_pton(AF_INET, host, &a) == 1)
        return (ntohl(a.s_addr) >> 24) == 127;
    return false;
}

bool http_listen_is_loopback(const char *listen)
{
    char host[256];
    uint16_t port;
    struct gp_err err = {0};
    return http_parse_listen(listen, host, sizeof(host), &port, &err) == 0 &&
           http_addr_is_loopback(host);
}

/* ---- responses ----------------------------------------------------------------------- */

static void resp_reset(struct http_resp *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->len = 0;
}

void http_resp_raw(struct http_resp *resp, int status, const char *ctype, char *body, size_t len)
{
    resp_reset(resp);
    resp->status = status;
    resp->content_type = ctype;
    resp->body = body;
    resp->len = len;
}

void http_resp_empty(struct http_resp *resp, int status)
{
    resp_reset(resp);
    resp->status = status;
}

void http_resp_json(struct http_resp *resp, int status, json_object *o)
{
    resp_reset(resp);
    if (!o) {
        resp->status = 500;
        resp->content_type = "application/json";
        resp->body = strdup("{\"message\":\"out of memory\"}");
        resp->len = resp->body ? strlen(resp->body) : 0;
        return;
    }
    size_t n;
    const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    resp->body = malloc(n + 1);
    if (resp->body) {
        memcpy(resp->body, s, n + 1);
        resp->len = n;
    }
    resp->status = resp->body ? status : 500;
    resp->content_type = "application/json";
    json_object_put(o);
}

void http_resp_msg(struct http_resp *resp, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object *o = json_object_new_object();
    if (o)
        json_object_object_add(o, "message", json_object_new_string(msg));
    http_resp_json(resp, status, o);
}

/* ---- request accessors --------------------------------------------------------------- */

const char *http_query(const struct http_req *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

struct each_ctx {
    const char *key;
    void (*cb)(const char *, void *);
    void *ctx;
    size_t n;
};

static enum MHD_Result each_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct each_ctx *e = cls;
    (void)kind;
    if (key && strcmp(key, e->key) == 0) {
        e->cb(value ? value : "", e->ctx);
        e->n++;
    }
    return MHD_YES;
}

size_t http_query_each(const struct http_req *r, const char *key,
                       void (*cb)(const char *value, void *ctx), void *ctx)
{
    struct each_ctx e = {key, cb, ctx, 0};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, each_iter, &e);
    return e.n;
}

const char *http_header(const struct http_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void http_client_ip(const struct http_req *r, char *buf, size_t bufsz)
{
    buf[0] = '\0';
    const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)bufsz);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, (socklen_t)bufsz);
}

/* ---- dispatch ------------------------------------------------------------------------ */

static bool method_matches(const char *route_method, const char *method)
{
    if (strcmp(route_method, method) == 0)
        return true;
    return strcmp(route_method, "GET") == 0 && strcmp(method, "HEAD") == 0;
}

static bool path_matches(const struct http_route *rt, const char *path)
{
    if (rt->flags & HTTP_R_PREFIX)
        return strncmp(path, rt->path, strlen(rt->path)) == 0;
    return strcmp(path, rt->path) == 0;
}

/* Finds the route; when only the method is wrong fills allow and returns NULL with *wrong=1. */
static const struct http_route *find_route(const struct http_server *s, const char *path,
                                           const char *method, char *allow, size_t allowsz,
                                           bool *wrong_method)
{
    *wrong_method = false;
    allow[0] = '\0';
    for (size_t i = 0; i < s->nroutes; i++) {
        const struct http_route *rt = &s->routes[i];
        if (!path_matches(rt, path))
            continue;
        if (method_matches(rt->method, method))
            return rt;
        *wrong_method = true;
        size_t l = strlen(allow);
        snprintf(allow + l, allowsz - l, "%s%s", l ? ", " : "", rt->method);
    }
    return NULL;
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *r)
{
    struct MHD_Response *mr;
    if (r->body && r->len) {
        mr = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
        if (mr)
            r->body = NULL;
    } else {
        mr = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    free(r->body);
    r->body = NULL;
    if (!mr)
        return MHD_NO;
    if (r->status != 204)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
    if (r->disposition[0])
        MHD_add_response_header(mr, "Content-Disposition", r->disposition);
    if (r->allow[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_ALLOW, r->allow);
    if (r->set_cookie[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
    if (r->retry_after[0])
        MHD_add_response_header(mr, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    for (size_t i = 0; i < sizeof(r->headers) / sizeof(r->headers[0]); i++)
        if (r->headers[i][0] && r->headers[i][1])
            MHD_add_response_header(mr, r->headers[i][0], r->headers[i][1]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, mr);
    MHD_destroy_response(mr);
    return ret;
}

/* Counts the response of st's request by route and status, and its latency. */
static void record(struct http_server *s, const struct req_state *st, int status)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double sec = (double)(t1.tv_sec - st->t0.tv_sec) + (double)(t1.tv_nsec - st->t0.tv_nsec) / 1e9;
    http_stats_record(s->stats, st->route ? (size_t)(st->route - s->routes) : s->nroutes, status,
                      sec);
}

static enum MHD_Result respond(struct http_server *s, struct req_state *st,
                               struct MHD_Connection *conn, struct http_resp *r)
{
    record(s, st, r->status);
    return send_resp(conn, r);
}

static enum MHD_Result quick(struct http_server *s, struct req_state *st,
                             struct MHD_Connection *conn, int status, const char *allow,
                             const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static enum MHD_Result quick(struct http_server *s, struct req_state *st,
                             struct MHD_Connection *conn, int status, const char *allow,
                             const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct http_resp r = {0};
    http_resp_msg(&r, status, "%s", msg);
    if (allow)
        snprintf(r.allow, sizeof(r.allow), "%s", allow);
    return respond(s, st, conn, &r);
}

/* Decodes the body and runs the handler; fills resp (also for decoding errors). */
static void process(struct http_server *s, struct req_state *st, struct MHD_Connection *conn,
                    const char *method, const char *url, struct http_resp *resp)
{
    struct http_req req = {.conn = conn, .method = method, .path = url, .wire_len = st->len};
    const char *enc =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
    struct gp_err err = {0};
    if (enc && strcasecmp(enc, "identity") != 0) {
        if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "x-gzip") != 0 &&
            strcasecmp(enc, "deflate") != 0) {
            http_resp_msg(resp, 415, "unsupported Content-Encoding '%.40s'; use gzip", enc);
            return;
        }
        if (st->len) {
            /* inflation stops at the route's bound: nothing is decoded beyond it */
            size_t max_out = (st->route->flags & HTTP_R_LARGE_INFLATE) ? s->opts.max_decompressed
                                                                       : st->limit;
            int rc = gz_inflate(st->buf, st->len, max_out, &req.body, &req.body_len, &err);
            if (rc == -EFBIG) {
                http_resp_msg(resp, 413, "%s (the limit of %s %s)", err.msg, method, url);
                return;
            }
            if (rc) {
                http_resp_msg(resp, rc == -ENOMEM ? 500 : 400, "%s", err.msg);
                return;
            }
        }
        req.was_gzip = true;
        req.wire = st->buf; /* stays owned by st until the request completes */
    } else {
        if (st->len + 1 > st->cap) {
            char *nb = realloc(st->buf, st->len + 1);
            if (!nb) {
                http_resp_msg(resp, 500, "out of memory");
                return;
            }
            st->buf = nb;
            st->cap = st->len + 1;
        }
        if (!st->buf) {
            st->buf = strdup("");
            if (!st->buf) {
                http_resp_msg(resp, 500, "out of memory");
                return;
            }
        }
        st->buf[st->len] = '\0';
        req.body = st->buf;
        req.body_len = st->len;
        req.wire = st->buf;
        st->buf = NULL;
    }
    if (!req.body) {
        req.body = strdup("");
        if (!req.body) {
            http_resp_msg(resp, 500, "out of memory");
            return;
        }
    }
    st->route->fn(&req, resp, st->route->ctx);
    free(req.body);
}

static void *worker_main(void *arg)
{
    struct http_server *s = arg;
    pthread_mutex_lock(&s->jmu);
    for (;;) {
        while (!s->jhead && !s->jstop)
            pthread_cond_wait(&s->jcv, &s->jmu);
        struct req_state *st = s->jhead;
        if (!st)
            break; /* stopping and drained */
        s->jhead = st->next_job;
        if (!s->jhead)
            s->jtail = NULL;
        pthread_mutex_unlock(&s->jmu);
        st->resp = (struct http_resp){.status = 500, .content_type = "application/json"};
        process(s, st, st->conn, st->method, st->url, &st->resp);
        st->phase = 2;
        MHD_resume_connection(st->conn);
        pthread_mutex_lock(&s->jmu);
    }
    pthread_mutex_unlock(&s->jmu);
    return NULL;
}

struct qs_ctx {
    char buf[1024];
    size_t len;
};

static enum MHD_Result qs_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    struct qs_ctx *q = cls;
    (void)kind;
    if (q->len < sizeof(q->buf))
        q->len += (size_t)snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%c%s%s%s",
                                   q->len ? '&' : '?', key ? key : "", value ? "=" : "",
                                   value ? value : "");
    return MHD_YES;
}

/* Debug access log; the query keeps no agent token (?key= is redacted). */
static void log_request(struct MHD_Connection *conn, const char *method, const char *url)
{
    if (gp_log_get_level() < GP_LOG_DEBUG)
        return;
    struct qs_ctx q = {.len = 0};
    q.buf[0] = '\0';
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, qs_iter, &q);
    char red[1024];
    http_redact_query(q.buf, red, sizeof(red));
    char line[1400];
    snprintf(line, sizeof(line), "%s %.200s%s", method, url, red);
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    gp_debug("http: %s", line);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct http_server *s = cls;
    (void)version;
    struct req_state *st = *con_cls;
    if (!st) {
        st = calloc(1, sizeof(*st));
        if (!st)
            return MHD_NO;
        *con_cls = st;
        clock_gettime(CLOCK_MONOTONIC, &st->t0);
        atomic_fetch_add(&s->inflight, 1);
        if (!http_conns_header_done(conn))
            return MHD_NO; /* answered 408 by the header deadline meanwhile */
        log_request(conn, method, url);
        char gmsg[512];
        int gst = http_guard_check(
                &s->guard, method, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"),
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"), gmsg, sizeof(gmsg));
        if (gst) {
            st->rejected = true;
            return quick(s, st, conn, gst, NULL, "%s", gmsg);
        }
        char allow[64];
        bool wrong;
        st->route = find_route(s, url, method, allow, sizeof(allow), &wrong);
        if (!st->route) {
            st->rejected = true;
            if (wrong)
                return quick(s, st, conn, 405, allow, "method %s not allowed on %s; use %s", method,
                             url, allow);
            return quick(s, st, conn, 404, NULL, "no such endpoint: %s %s", method, url);
        }
        char id[128] = "";
        if (st->route->pre) {
            /* authenticate from the header: a refused request never has its body read */
            struct http_req pre = {.conn = conn, .method = method, .path = url};
            struct http_resp r = {.status = 500, .content_type = "application/json"};
            if (!st->route->pre(&pre, &r, id, sizeof(id), st->route->ctx)) {
                st->rejected = true;
                return respond(s, st, conn, &r);
            }
            free(r.body);
        }
        if ((st->route->flags & HTTP_R_RATE_LIMITED) && s->rl) {
            if (!id[0]) { /* no hook named the caller: count per address */
                struct http_req who = {.conn = conn, .method = method, .path = url};
                char ip[64];
                http_client_ip(&who, ip, sizeof(ip));
                snprintf(id, sizeof(id), "ip:%s", ip);
            }
            unsigned retry = 1;
            if (!http_ratelimit_take(s->rl, id, http_ratelimit_now_ms(), &retry)) {
                st->rejected = true;
                struct http_resp r = {0};
                http_resp_msg(&r, 429,
                              "too many control requests from %s (control_rate %g/s, burst %u); "
                              "retry after %u s",
                              id, s->opts.control_rate, s->opts.control_burst, retry);
                snprintf(r.retry_after, sizeof(r.retry_after), "%u", retry);
                return respond(s, st, conn, &r);
            }
        }
        st->limit = st->route->max_body ? st->route->max_body : s->opts.max_body;
        const char *cl =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if ((st->route->flags & HTTP_R_NEED_LENGTH) && !cl) {
            st->rejected = true;
            return quick(s, st, conn, 411, NULL, "Content-Length header is required");
        }
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno || end == cl || *end) {
                st->rejected = true;
                return quick(s, st, conn, 400, NULL, "malformed Content-Length header '%.40s'", cl);
            }
            if (n > st->limit) {
                st->rejected = true;
                return quick(s, st, conn, 413, NULL,
                             "request body of %llu bytes exceeds the limit of %zu bytes", n,
                             st->limit);
            }
            st->expect = (size_t)n;
        }
        if (st->expect ||
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
            http_conns_body_wait(s->conns, conn); /* the body deadline (408) starts */
        return MHD_YES;
    }
    if (st->rejected) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->too_large || st->len + n > st->limit) {
            st->too_large = true;
            free(st->buf);
            st->buf = NULL;
            st->len = st->cap = 0;
            return MHD_YES;
        }
        if (st->len + n + 1 > st->cap) {
            size_t cap = st->cap ? st->cap * 2 : st->expect ? st->expect + 1 : 16384;
            while (cap < st->len + n + 1)
                cap *= 2;
            if (cap > st->limit + 1)
                cap = st->limit + 1;
            char *nb = realloc(st->buf, cap);
            if (!nb)
                return MHD_NO;
            st->buf = nb;
            st->cap = cap;
        }
        memcpy(st->buf + st->len, upload_data, n);
        st->len += n;
        return MHD_YES;
    }
    /* The whole body is here. */
    if (st->phase == 0 && !http_conns_body_done(conn))
        return MHD_NO; /* answered 408 by the body deadline meanwhile */
    if (st->too_large)
        return quick(s, st, conn, 413, NULL, "request body exceeds the limit of %zu bytes",
                     st->limit);
    if (st->phase == 2)
        return respond(s, st, conn, &st->resp);
    if (st->phase == 1)
        return MHD_YES; /* still running in a worker */
    if ((st->route->flags & HTTP_R_OFFLOAD) && s->nworkers) {
        st->method = strdup(method);
        st->url = strdup(url);
        if (!st->method || !st->url)
            return MHD_NO;
        st->conn = conn;
        st->phase = 1;
        MHD_suspend_connection(conn);
        pthread_mutex_lock(&s->jmu);
        st->next_job = NULL;
        if (s->jtail)
            s->jtail->next_job = st;
        else
            s->jhead = st;
        s->jtail = st;
        pthread_cond_signal(&s->jcv);
        pthread_mutex_unlock(&s->jmu);
        return MHD_YES;
    }
    struct http_resp resp = {.status = 500, .content_type = "application/json"};
    process(s, st, conn, method, url, &resp);
    return respond(s, st, conn, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *s = cls;
    (void)toe;
    http_conns_request_done(s->conns, conn);
    struct req_state *st = *con_cls;
    if (st) {
        free(st->buf);
        free(st->method);
        free(st->url);
        free(st->resp.body);
        free(st);
        *con_cls = NULL;
        atomic_fetch_sub(&s->inflight, 1);
    }
}

static void stop_workers(struct http_server *s);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    gp_debug("http: %s", msg);
}

int http_server_start(const struct http_opts *o, const struct http_route *routes, size_t nroutes,
                      struct http_server **out, struct gp_err *err)
{
    char host[256];
    uint16_t port;
    int rc = http_parse_listen(o->listen, host, sizeof(host), &port, err);
    if (rc)
        return rc;
    struct addrinfo hints = {
            .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *ai = NULL;
    char portstr[8];
    snprintf(portstr, sizeof(portstr), "%u", port);
    int grc = getaddrinfo(host, portstr, &hints, &ai);
    if (grc != 0 || !ai)
        return gp_err_set(err, -EINVAL, "cannot resolve listen address '%s': %s", host,
                          gai_strerror(grc));
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s) {
        freeaddrinfo(ai);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    s->opts = *o;
    s->opts.allowed_hosts = s->opts.allowed_origins = NULL; /* copied into the guard */
    char gmsg[256];
    if (http_guard_init(&s->guard, host, o->check_host, o->allowed_hosts, o->allowed_origins, gmsg,
                        sizeof(gmsg)) != 0) {
        free(s);
        freeaddrinfo(ai);
        return gp_err_set(err, -EINVAL, "%s", gmsg);
    }
    unsigned max_conns = o->max_connections ? o->max_connections : 4096;
    unsigned idle_s = o->timeout_s ? o->timeout_s : 30;
    rc = http_conns_start(max_conns, o->header_timeout_s, o->body_timeout_s, idle_s,
                          o->tls_cert || o->tls_key, &s->conns, err);
    if (rc)
        goto fail;
    rc = http_ratelimit_new("control rate limit", o->control_rate, o->control_burst, &s->rl, err);
    if (rc)
        goto fail;
    if (!s->opts.max_body)
        s->opts.max_body = 4u << 20;
    if (!s->opts.max_decompressed)
        s->opts.max_decompressed = 64u << 20;
    s->routes = calloc(nroutes, sizeof(*routes));
    if (!s->routes) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    memcpy(s->routes, routes, nroutes * sizeof(*routes));
    s->nroutes = nroutes;
    s->stats = http_stats_new(nroutes);
    if (!s->stats) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    unsigned threads = o->threads;
    if (!threads) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 2;
    }
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (o->tls_cert || o->tls_key) {
        if (!o->tls_cert || !o->tls_key || !*o->tls_cert || !*o->tls_key)
            rc = gp_err_set(err, -EINVAL, "HTTPS needs both tls_cert and tls_key");
        else if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
                 MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES)
            rc = gp_err_set(err, -ENOTSUP,
                            "this libmicrohttpd is built without HTTPS support; install "
                            "Debian's libmicrohttpd12 (built with GnuTLS)");
        else
            rc = http_tls_open(o->tls_cert, o->tls_key, &s->tls, err);
        if (rc)
            goto fail;
        flags |= MHD_USE_TLS;
    }
    pthread_mutex_init(&s->jmu, NULL);
    pthread_cond_init(&s->jcv, NULL);
    s->nworkers = o->workers ? o->workers : threads;
    s->workers = calloc(s->nworkers, sizeof(pthread_t));
    if (!s->workers) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < s->nworkers; i++) {
        int prc = pthread_create(&s->workers[i], NULL, worker_main, s);
        if (prc) {
            s->nworkers = i;
            rc = gp_err_set(err, -prc, "cannot start HTTP worker threads: %s", strerror(prc));
            goto fail;
        }
    }
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    /* The cap is enforced by the accept policy, which closes a connection beyond it at once;
     * MHD's own limit (per pool thread) is set out of its way, since at that limit MHD stops
     * accepting and leaves new connections queued in the backlog. */
    s->d = MHD_start_daemon(
            flags, port, http_conns_accept, s->conns, on_request, s, MHD_OPTION_EXTERNAL_LOGGER,
            mhd_log, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
            MHD_OPTION_CONNECTION_TIMEOUT, idle_s, MHD_OPTION_CONNECTION_LIMIT,
            max_conns * threads + threads, MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_conns_per_ip,
            MHD_OPTION_NOTIFY_CONNECTION, http_conns_notify, s->conns, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
            /* TLS: the certificate comes from tls.c at each handshake (swapped on reload);
             * without TLS MHD ignores the option list's end early */
            s->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, http_tls_mhd_callback(),
            MHD_OPTION_END);
    if (!s->d) {
        int e = errno ? errno : EADDRINUSE;
        rc = gp_err_set(err, -e, "cannot listen on %s: %s; is another process using the port?",
                        o->listen, strerror(e));
        goto fail;
    }
    freeaddrinfo(ai);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    *out = s;
    return 0;

fail: /* whatever was taken so far (each free takes NULL) */
    if (s->workers)
        stop_workers(s);
    http_tls_free(s->tls);
    http_stats_free(s->stats);
    free(s->routes);
    http_conns_free(s->conns);
    http_ratelimit_free(s->rl);
    free(s);
    freeaddrinfo(ai);
    return rc;
}

/* Lets the workers finish every queued job, then joins them. */
static void stop_workers(struct http_server *s)
{
    pthread_mutex_lock(&s->jmu);
    s->jstop = true;
    pthread_cond_broadcast(&s->jcv);
    pthread_mutex_unlock(&s->jmu);
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    free(s->workers);
    s->workers = NULL;
    s->nworkers = 0;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

int http_server_reload_tls(struct http_server *s, struct gp_err *err)
{
    if (!s->tls)
        return gp_err_set(err, -ENOTSUP, "the server runs without TLS");
    return http_tls_reload(s->tls, err);
}

void http_server_metrics(const struct http_server *s, struct strbuf *sb)
{
    http_stats_write(s->stats, s->routes, sb);
}

unsigned http_server_inflight(const struct http_server *s)
{
    return atomic_load(&((struct http_server *)s)->inflight);
}

void http_server_stop(struct http_server *s, unsigned grace_ms)
{
    if (!s)
        return;
    MHD_socket ls = MHD_quiesce_daemon(s->d);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    for (unsigned waited = 0; waited < grace_ms && atomic_load(&s->inflight) > 0; waited += 10) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    stop_workers(s); /* resumes every suspended connection before the daemon stops */
    MHD_stop_daemon(s->d);
    http_tls_free(s->tls);
    http_conns_free(s->conns);
    http_ratelimit_free(s->rl);
    http_stats_free(s->stats);
    free(s->routes);
    free(s);
}
