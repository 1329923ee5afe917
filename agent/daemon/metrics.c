/* metrics.c — the agent's counters as JSON and Prometheus text, and the local /metrics server
 * (libmicrohttpd, one thread, loopback only). */
#include "agent/daemon/metrics.h"
#include "agent/counters.h"
#include "agent/daemon/state.h"
#include "common/log.h"
#include "common/prom.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct figures {
    struct gp_counters_view c;
    unsigned long heartbeats, hb_failures;
    int have_spool;
    struct gp_spool_stats sp;
    struct gp_sender_stats se;
};

static void collect(struct agent *ag, struct figures *f)
{
    memset(f, 0, sizeof(*f));
    gp_counters_read(&f->c);
    pthread_mutex_lock(&ag->mu);
    f->heartbeats = ag->heartbeats;
    f->hb_failures = ag->hb_failures;
    pthread_mutex_unlock(&ag->mu);
    if (ag->spool && ag->sender) {
        f->have_spool = 1;
        gp_spool_stats(ag->spool, &f->sp);
        gp_sender_stats(ag->sender, &f->se);
    }
}

static double symbolized(const struct figures *f)
{
    return f->c.frames ? (double)(f->c.frames - f->c.unresolved) / (double)f->c.frames : 0;
}

json_object *gp_agent_metrics_json(struct agent *ag)
{
    struct figures f;
    collect(ag, &f);
    json_object *o = json_object_new_object();
    if (!o)
        return NULL;
    json_object_object_add(o, "sessions", json_object_new_int64((int64_t)f.c.sessions));
    json_object_object_add(o, "samples", json_object_new_int64((int64_t)f.c.samples));
    json_object *d = json_object_new_object();
    for (int i = 0; i < GP_DROP_N; i++)
        json_object_object_add(d, gp_counter_drop_names[i],
                               json_object_new_int64((int64_t)f.c.drops[i]));
    json_object_object_add(o, "drops", d);
    json_object_object_add(o, "frames", json_object_new_int64((int64_t)f.c.frames));
    json_object_object_add(o, "frames_unresolved", json_object_new_int64((int64_t)f.c.unresolved));
    json_object_object_add(o, "symbolized_ratio", json_object_new_double(symbolized(&f)));
    json_object_object_add(o, "heartbeats", json_object_new_int64((int64_t)f.heartbeats));
    json_object_object_add(o, "heartbeat_failures", json_object_new_int64((int64_t)f.hb_failures));
    json_object_object_add(o, "uploads", json_object_new_int64((int64_t)f.se.sent));
    json_object_object_add(o, "upload_failures",
                           json_object_new_int64((int64_t)f.se.failed_attempts));
    json_object_object_add(o, "uploads_refused", json_object_new_int64((int64_t)f.se.refused));
    json_object_object_add(o, "spool_bytes", json_object_new_int64((int64_t)f.sp.bytes));
    json_object_object_add(o, "spool_items", json_object_new_int64((int64_t)f.sp.items));
    json_object_object_add(o, "spool_dropped", json_object_new_int64((int64_t)f.sp.dropped));
    return o;
}

static void counter(struct strbuf *sb, const char *name, const char *help, uint64_t v)
{
    prom_family(sb, name, "counter", help);
    prom_u64(sb, name, NULL, 0, v);
}

static void gauge(struct strbuf *sb, const char *name, const char *help, double v)
{
    prom_family(sb, name, "gauge", help);
    prom_f64(sb, name, NULL, 0, v);
}

void gp_agent_metrics_prom(struct agent *ag, struct strbuf *sb)
{
    struct figures f;
    collect(ag, &f);
    struct prom_label ver = {"version", GPROF_VERSION};
    prom_family(sb, "gprof_agent_build_info", "gauge", "The running gprof-agent's version.");
    prom_u64(sb, "gprof_agent_build_info", &ver, 1, 1);
    counter(sb, "gprof_agent_sessions_total", "Profiling sessions finished.", f.c.sessions);
    counter(sb, "gprof_agent_samples_total", "Samples in the finished sessions.", f.c.samples);
    prom_family(sb, "gprof_agent_dropped_total", "counter",
                "Samples, stacks or records lost, by reason.");
    for (int i = 0; i < GP_DROP_N; i++) {
        struct prom_label l = {"reason", gp_counter_drop_names[i]};
        prom_u64(sb, "gprof_agent_dropped_total", &l, 1, f.c.drops[i]);
    }
    counter(sb, "gprof_agent_frames_total", "Frames of the sampled stacks.", f.c.frames);
    counter(sb, "gprof_agent_frames_unresolved_total", "Of those, frames left without a name.",
            f.c.unresolved);
    gauge(sb, "gprof_agent_symbolized_ratio", "Frames named / frames (0 before any session).",
          symbolized(&f));
    counter(sb, "gprof_agent_heartbeats_total", "Heartbeats sent.", f.heartbeats);
    counter(sb, "gprof_agent_heartbeat_failures_total", "Heartbeats that failed.", f.hb_failures);
    if (f.have_spool) {
        counter(sb, "gprof_agent_uploads_total", "Profiles the coordinator accepted.", f.se.sent);
        counter(sb, "gprof_agent_upload_failures_total", "Upload attempts that failed (retried).",
                f.se.failed_attempts);
        counter(sb, "gprof_agent_uploads_refused_total",
                "Profiles the coordinator refused for good.", f.se.refused);
        gauge(sb, "gprof_agent_spool_bytes", "Bytes waiting in the upload spool.",
              (double)f.sp.bytes);
        gauge(sb, "gprof_agent_spool_items", "Profiles waiting in the upload spool.",
              (double)f.sp.items);
        counter(sb, "gprof_agent_spool_dropped_total", "Spooled profiles dropped for space.",
                f.sp.dropped);
    }
}

/* ---- the local HTTP endpoint ----------------------------------------------------------- */

struct gp_metrics_http {
    struct MHD_Daemon *d;
    struct agent *ag;
};

static enum MHD_Result answer(struct MHD_Response *r, struct MHD_Connection *c, unsigned code)
{
    if (!r)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct gp_metrics_http *m = cls;
    (void)version;
    (void)upload;
    if (!*con_cls) { /* first call: header only */
        *con_cls = m;
        return MHD_YES;
    }
    if (*upload_size) { /* no body is wanted: drop it */
        *upload_size = 0;
        return MHD_YES;
    }
    if (strcmp(url, "/metrics") != 0)
        return answer(
                MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT),
                c, 404);
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return answer(MHD_create_response_from_buffer(19, (void *)"method not allowed\n",
                                                      MHD_RESPMEM_PERSISTENT),
                      c, 405);
    struct strbuf sb = STRBUF_INIT;
    gp_agent_metrics_prom(m->ag, &sb);
    size_t len;
    char *body = sb_detach(&sb, &len);
    if (!body)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, PROM_CONTENT_TYPE);
    return answer(r, c, 200);
}

int gp_metrics_http_start(struct agent *ag, const char *listen, struct gp_metrics_http **out,
                          struct gp_err *err)
{
    char host[128];
    const char *colon = strrchr(listen, ':');
    const char *h = listen;
    size_t hl = colon ? (size_t)(colon - listen) : 0;
    if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (!colon || !hl || hl >= sizeof(host))
        return gp_err_set(err, -EINVAL, "metrics_listen '%s': use 127.0.0.1:PORT", listen);
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
        return gp_err_set(err, -EINVAL, "metrics_listen '%s': use 127.0.0.1:PORT", listen);
    int loop = 0;
    if (ai->ai_family == AF_INET)
        loop = (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127;
    else if (ai->ai_family == AF_INET6)
        loop = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr);
    if (!loop) {
        freeaddrinfo(ai);
        return gp_err_set(err, -EPERM,
                          "metrics_listen '%s': the agent serves /metrics on a loopback address "
                          "only (127.0.0.1 or ::1); scrape it from this host or through a proxy",
                          listen);
    }
    struct gp_metrics_http *m = calloc(1, sizeof(*m));
    if (!m) {
        freeaddrinfo(ai);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    m->ag = ag;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    m->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                            MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!m->d) {
        int e = errno ? errno : EADDRINUSE;
        free(m);
        return gp_err_set(err, -e, "metrics_listen '%s': cannot listen: %s", listen, strerror(e));
    }
    *out = m;
    return 0;
}

void gp_metrics_http_stop(struct gp_metrics_http *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}
