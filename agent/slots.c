/* slots.c — ContinuousProfilerSlot and AdhocProfilerSlot threads. */
#include "agent/slots.h"
#include "common/curl.h"
#include "agent/counters.h"
#include "agent/hostmetrics.h"
#include "agent/profile_limit.h"
#include "agent/session.h"
#include "common/collapsed.h"
#include "perfspect/perfspect.h"
#include "common/log.h"
#include "common/strbuf.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- shared: keep a finished session locally and spool it for upload ---- */

/* Spools the upload, then writes the result files: a kill -9 between the two leaves a session
 * uploaded but not kept locally, never one kept locally that is not uploaded. With
 * html_in_header the rendered flame graph travels in the header's flamegraph_html (ad hoc
 * results, as gProfiler does). */
static int keep_and_spool(const struct gp_slot_env *env, struct gp_results *res,
                          struct gp_profile *p, const char *kind, double cpu, double mem,
                          int html_in_header, struct gp_result_paths *rp, struct gp_err *err)
{
    struct strbuf col = STRBUF_INIT, html = STRBUF_INIT, up = STRBUF_INIT;
    int rc = gp_results_render(res, p, &col, &html, rp, err);
    if (!rc && env->spool) {
        const struct strbuf *body = &col;
        if (html_in_header) { /* the upload's header carries the HTML; the local .col does not */
            json_object_object_add(
                    gp_profile_header(p), "flamegraph_html",
                    json_object_new_string_len(html.buf ? html.buf : "", (int)html.len));
            rc = gp_collapsed_write(p, &up, err);
            body = &up;
        }
        struct gp_spool_meta m = {.start = rp->start,
                                  .end = rp->end,
                                  .spawn = env->spawn,
                                  .cpu_avg = cpu,
                                  .mem_avg = mem};
        snprintf(m.upload_id, sizeof(m.upload_id), "%s", rp->id);
        snprintf(m.kind, sizeof(m.kind), "%s", kind);
        if (!rc)
            rc = gp_spool_put(env->spool, &m, body->buf ? body->buf : "", body->len, NULL, err);
        if (!rc && env->sender)
            gp_sender_kick(env->sender);
    }
    if (!rc)
        rc = gp_results_keep(res, rp, &col, &html, err);
    sb_free(&col);
    sb_free(&html);
    sb_free(&up);
    return rc;
}

void gp_adhoc_result_url(const char *coordinator, const char *service, const char *hostname,
                         time_t start, const char *upload_id, char *buf, size_t len)
{
    char ts[32], hs[128];
    struct tm tm;
    gmtime_r(&start, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H-%M-%S", &tm);
    size_t n = 0;
    for (const char *q = hostname; *q && n + 1 < sizeof(hs); q++) {
        char c = *q;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        hs[n++] = ok ? c : '_';
    }
    if (!n)
        hs[n++] = 'x';
    hs[n] = '\0';
    if (hs[0] == '.')
        hs[0] = '_';
    char *esvc = gp_curl.easy_escape(NULL, service, 0);
    snprintf(buf, len,
             "%s/api/metrics/adhoc_flamegraph_content?serviceName=%s&filename=%s_%s_%s_"
             "adhoc_flamegraph.html",
             coordinator, esvc ? esvc : service, ts, upload_id, hs);
    gp_curl.free(esvc);
}

/* ======================= continuous ======================= */

struct gp_cont_slot {
    struct gp_slot_env env;
    pthread_mutex_t mu;
    pthread_t thr;
    int have_thr;
    volatile sig_atomic_t stop;
    struct gp_session *sess;
    unsigned freq, duration;
    char cmd[GP_CMD_ID_MAX];
    time_t started;
    unsigned long sessions;
    double elapsed;
    struct gp_hostmetrics hm;
    const char *sampler;         /* static string */
    struct gp_counter_snap last; /* counters.h: what the session had counted at its last run */
};

static void cont_progress(const struct gp_session_progress *p, void *ctx)
{
    struct gp_cont_slot *s = ctx;
    gp_hostmetrics_sample(&s->hm);
    pthread_mutex_lock(&s->mu);
    s->elapsed = p->elapsed_s;
    pthread_mutex_unlock(&s->mu);
}

static void *cont_run(void *arg)
{
    struct gp_cont_slot *s = arg;
    struct gp_err err = {0};
    gp_hostmetrics_begin(&s->hm);
    for (;;) {
        int rc = gp_session_run(s->sess, &s->stop, cont_progress, s, &err);
        if (rc) {
            gp_error("continuous profiling stopped: %s", err.msg);
            break;
        }
        struct gp_session_progress pr;
        gp_session_progress(s->sess, &pr);
        struct gp_counter_snap snap;
        gp_session_snapshot(s->sess, &snap);
        gp_counters_add_run(pr.samples, &snap, &s->last);
        struct gp_header_info extra = {.service = s->env.service};
        gp_hostmetrics_end(&s->hm, &extra.cpu_avg, &extra.mem_avg);
        if (s->stop && pr.elapsed_s < 0.5 && pr.samples == 0)
            break; /* stopped right after a session boundary: nothing to keep */
        struct gp_profile *p = gp_session_take_profile(s->sess, &extra);
        if (!p) {
            gp_error("out of memory building the session's profile");
            break;
        }
        struct gp_result_paths rp;
        if (keep_and_spool(&s->env, s->env.results, p, "continuous", extra.cpu_avg, extra.mem_avg,
                           0, &rp, &err))
            gp_error("continuous session not kept: %s", err.msg);
        else
            gp_info("continuous session %lu: %llu samples, %s%s", s->sessions + 1,
                    (unsigned long long)pr.samples, rp.col,
                    s->env.spool ? " (spooled for upload)" : "");
        gp_profile_free(p);
        malloc_trim(0); /* hand the session's freed heap back: RSS stays flat */
        pthread_mutex_lock(&s->mu);
        s->sessions++;
        pthread_mutex_unlock(&s->mu);
        if (s->stop)
            break;
    }
    return NULL;
}

int gp_cont_open(const struct gp_slot_env *env, struct gp_cont_slot **out, struct gp_err *err)
{
    struct gp_cont_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->env = *env;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

void gp_cont_stop(struct gp_cont_slot *s)
{
    if (!s->have_thr)
        return;
    s->stop = 1;
    pthread_join(s->thr, NULL);
    pthread_mutex_lock(&s->mu);
    s->have_thr = 0;
    pthread_mutex_unlock(&s->mu);
    gp_session_close(s->sess);
    s->sess = NULL;
}

int gp_cont_start(struct gp_cont_slot *s, unsigned freq_hz, unsigned duration_s,
                  const char *command_id, struct gp_err *err)
{
    gp_cont_stop(s);
    struct gp_session_opts so = {
            .sampler = {.kind = s->env.kind, .event = GP_EVENT_CPU_CLOCK, .freq_hz = freq_hz},
            .auto_fallback = s->env.auto_fallback,
            .duration_s = (double)duration_s,
            .hostname = s->env.hostname,
            .symbol_cache_bytes = s->env.symbol_cache_bytes,
            .unwind_tables_max = s->env.unwind_tables_max,
            .no_unwind_tables = s->env.unwind_tables_max == 0,
            .shared_uw = s->env.uw,
            .run_mode = "continuous",
            .keep_running = 1,
    };
    char notice[256];
    struct gp_session *sess;
    int rc = gp_session_open(&so, &sess, notice, sizeof(notice), err);
    if (rc)
        return rc;
    if (notice[0])
        gp_warn("%s", notice);
    pthread_mutex_lock(&s->mu);
    s->sess = sess;
    s->last = (struct gp_counter_snap){0}; /* a fresh session counts from zero */
    s->stop = 0;
    s->freq = freq_hz;
    s->duration = duration_s;
    snprintf(s->cmd, sizeof(s->cmd), "%s", command_id ? command_id : "");
    s->started = time(NULL);
    s->elapsed = 0;
    s->sampler = gp_sampler_kind_name(gp_session_sampler_kind(sess));
    pthread_mutex_unlock(&s->mu);
    rc = pthread_create(&s->thr, NULL, cont_run, s);
    if (rc) {
        gp_session_close(sess);
        s->sess = NULL;
        return gp_err_set(err, -rc, "cannot start the continuous profiling thread: %s",
                          strerror(rc));
    }
    s->have_thr = 1;
    gp_info("continuous profiling: %u s sessions at %u Hz (%s sampler)%s%s", duration_s, freq_hz,
            gp_sampler_kind_name(gp_session_sampler_kind(sess)), command_id ? ", command " : "",
            command_id ? command_id : "");
    return 0;
}

bool gp_cont_running(struct gp_cont_slot *s)
{
    pthread_mutex_lock(&s->mu);
    bool r = s->have_thr;
    pthread_mutex_unlock(&s->mu);
    return r;
}

void gp_cont_command(struct gp_cont_slot *s, char *buf, size_t len)
{
    pthread_mutex_lock(&s->mu);
    snprintf(buf, len, "%s", s->cmd);
    pthread_mutex_unlock(&s->mu);
}

unsigned long gp_cont_sessions(struct gp_cont_slot *s)
{
    pthread_mutex_lock(&s->mu);
    unsigned long n = s->sessions;
    pthread_mutex_unlock(&s->mu);
    return n;
}

const char *gp_cont_sampler(struct gp_cont_slot *s)
{
    pthread_mutex_lock(&s->mu);
    const char *r = s->sampler;
    pthread_mutex_unlock(&s->mu);
    return r;
}

json_object *gp_cont_status(struct gp_cont_slot *s)
{
    pthread_mutex_lock(&s->mu);
    json_object *o = NULL;
    if (s->have_thr && (o = json_object_new_object())) {
        json_object_object_add(o, "slot", json_object_new_string("continuous"));
        json_object_object_add(o, "command_id", s->cmd[0] ? json_object_new_string(s->cmd) : NULL);
        json_object_object_add(o, "source",
                               json_object_new_string(s->cmd[0] ? "command" : "config"));
        json_object_object_add(o, "frequency", json_object_new_int((int)s->freq));
        json_object_object_add(o, "duration", json_object_new_int((int)s->duration));
        json_object_object_add(o, "sampler",
                               s->sampler ? json_object_new_string(s->sampler) : NULL);
        json_object_object_add(o, "started", json_object_new_int64((int64_t)s->started));
        json_object_object_add(o, "sessions", json_object_new_int64((int64_t)s->sessions));
        json_object_object_add(o, "session_elapsed", json_object_new_double(s->elapsed));
    }
    pthread_mutex_unlock(&s->mu);
    return o;
}

void gp_cont_close(struct gp_cont_slot *s)
{
    if (!s)
        return;
    gp_cont_stop(s);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ======================= ad hoc ======================= */

struct gp_adhoc_slot {
    struct gp_slot_env env;
    pthread_mutex_t mu;
    pthread_t thr;
    int have_thr, finished, closing;
    volatile sig_atomic_t stop;
    struct gp_session *sess;
    struct gp_command cmd;     /* the command the session serves (adopt can change it) */
    int want[GP_CMD_MAX_PIDS]; /* the pid set wanted; applied in the session thread */
    size_t nwant;
    int have[GP_CMD_MAX_PIDS]; /* the pid set the session has */
    size_t nhave;
    int dirty;
    double elapsed;
    unsigned long long samples;
    struct gp_hostmetrics hm;
    struct ps_session *ps; /* PerfSpect counters beside the session (enable_perfspect) */
};

static int has_pid(const int *v, size_t n, int pid)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == pid)
            return 1;
    return 0;
}

/* In the session thread: bring the session's pids to the wanted set. */
static void adhoc_apply(struct gp_adhoc_slot *s)
{
    if (!s->dirty)
        return;
    s->dirty = 0;
    for (size_t i = 0; i < s->nhave;) {
        if (!has_pid(s->want, s->nwant, s->have[i])) {
            gp_session_remove_pid(s->sess, s->have[i]);
            gp_info("ad hoc %s: stopped profiling pid %d", s->cmd.id, s->have[i]);
            s->have[i] = s->have[--s->nhave];
        } else {
            i++;
        }
    }
    for (size_t i = 0; i < s->nwant; i++) {
        if (has_pid(s->have, s->nhave, s->want[i]))
            continue;
        struct gp_err err = {0};
        if (gp_session_add_pid(s->sess, s->want[i], &err) == 0) {
            s->have[s->nhave++] = s->want[i];
            gp_info("ad hoc %s: now also profiling pid %d", s->cmd.id, s->want[i]);
        } else {
            gp_warn("ad hoc %s: cannot add pid %d: %s", s->cmd.id, s->want[i], err.msg);
        }
    }
    if (!s->nhave)
        s->stop = 1; /* every pid was removed: the session ends */
}

static void adhoc_progress(const struct gp_session_progress *p, void *ctx)
{
    struct gp_adhoc_slot *s = ctx;
    gp_hostmetrics_sample(&s->hm);
    pthread_mutex_lock(&s->mu);
    s->elapsed = p->elapsed_s;
    s->samples = p->samples;
    adhoc_apply(s);
    pthread_mutex_unlock(&s->mu);
}

static void *adhoc_run(void *arg)
{
    struct gp_adhoc_slot *s = arg;
    struct gp_err err = {0};
    struct gp_slot_result r = {.ok = 0};
    gp_hostmetrics_begin(&s->hm);
    int rc = gp_session_run(s->sess, &s->stop, adhoc_progress, s, &err);
    struct ps_report *psr = NULL;
    if (s->ps) {
        struct gp_err perr = {0};
        if (ps_session_join(s->ps, 1, &perr))
            gp_warn("ad hoc %s: PerfSpect counters: %s", s->cmd.id, perr.msg);
        psr = ps_session_take_report(s->ps);
        ps_session_free(s->ps);
        s->ps = NULL;
        const char *hw = psr ? ps_report_hw_line(psr) : NULL;
        if (hw)
            gp_info("ad hoc %s: %s", s->cmd.id, hw);
    }
    struct gp_session_progress pr;
    gp_session_progress(s->sess, &pr);
    struct gp_counter_snap snap, none = {0};
    gp_session_snapshot(s->sess, &snap);
    gp_counters_add_run(pr.samples, &snap, &none);
    pthread_mutex_lock(&s->mu);
    struct gp_command cmd = s->cmd;
    pthread_mutex_unlock(&s->mu);
    snprintf(r.command_id, sizeof(r.command_id), "%s", cmd.id);
    r.local = cmd.local;
    r.execution_time = pr.elapsed_s;
    r.samples = pr.samples;
    if (rc) {
        snprintf(r.error, sizeof(r.error), "%s", err.msg);
    } else {
        struct gp_header_info extra = {.service = s->env.service};
        gp_hostmetrics_end(&s->hm, &extra.cpu_avg, &extra.mem_avg);
        struct gp_profile *p = gp_session_take_profile(s->sess, &extra);
        struct gp_result_paths rp;
        if (p && psr) {
            struct gp_err perr = {0};
            if (ps_header_fields(psr, gp_profile_header(p), &perr))
                gp_warn("ad hoc %s: PerfSpect results not attached: %s", cmd.id, perr.msg);
        }
        if (p && !cmd.npids && cmd.max_processes) {
            /* max_processes limits whole-host sessions only: named pids are all wanted */
            struct gp_profile_limit_stats ls;
            if (gp_profile_limit_processes(&p, cmd.max_processes, &ls, &err)) {
                gp_profile_free(p);
                p = NULL;
            } else if (ls.processes_dropped) {
                gp_info("ad hoc %s: max_processes %u: kept %zu of %zu processes, dropped %llu "
                        "of %llu samples",
                        cmd.id, cmd.max_processes, ls.processes - ls.processes_dropped,
                        ls.processes, (unsigned long long)ls.samples_dropped,
                        (unsigned long long)ls.samples);
            }
        }
        if (!p) {
            snprintf(r.error, sizeof(r.error), "%s",
                     err.msg[0] ? err.msg : "out of memory building the profile");
        } else if (keep_and_spool(&s->env, s->env.adhoc_results, p, "adhoc", extra.cpu_avg,
                                  extra.mem_avg, 1, &rp, &err)) {
            snprintf(r.error, sizeof(r.error), "keeping the result failed: %s", err.msg);
        } else {
            r.ok = 1;
            snprintf(r.html, sizeof(r.html), "%s", rp.html);
            snprintf(r.col, sizeof(r.col), "%s", rp.col);
            if (s->env.coordinator && s->env.spool) {
                gp_adhoc_result_url(s->env.coordinator, s->env.service, s->env.hostname, rp.start,
                                    rp.id, r.url, sizeof(r.url));
                int w = s->env.sender && !s->closing
                                ? gp_sender_wait(s->env.sender, rp.id, s->env.upload_wait_s)
                                : -EAGAIN;
                if (w == -EAGAIN)
                    gp_warn("ad hoc %s: result not uploaded yet (coordinator unreachable); it "
                            "stays spooled and will appear at %s",
                            cmd.id, r.url);
                else if (w) {
                    r.ok = 0;
                    snprintf(r.error, sizeof(r.error),
                             "the coordinator refused the result; it is kept at %s", rp.html);
                    r.url[0] = '\0';
                }
            }
        }
        gp_profile_free(p);
    }
    ps_report_free(psr);
    gp_info("ad hoc %s %s after %.1f s: %llu samples%s%s%s%s", cmd.id,
            r.ok ? "completed" : "failed", r.execution_time, r.samples, r.html[0] ? ", " : "",
            r.html, r.error[0] ? ": " : "", r.error);
    if (s->env.on_done)
        s->env.on_done(&r, s->env.ctx);
    pthread_mutex_lock(&s->mu);
    s->finished = 1;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int gp_adhoc_open(const struct gp_slot_env *env, struct gp_adhoc_slot **out, struct gp_err *err)
{
    struct gp_adhoc_slot *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->env = *env;
    pthread_mutex_init(&s->mu, NULL);
    *out = s;
    return 0;
}

static int pid_exists(int pid)
{
    char p[64];
    snprintf(p, sizeof(p), "/proc/%d", pid);
    return access(p, F_OK) == 0;
}

void gp_adhoc_reap(struct gp_adhoc_slot *s)
{
    pthread_mutex_lock(&s->mu);
    int join = s->have_thr && s->finished;
    pthread_mutex_unlock(&s->mu);
    if (!join)
        return;
    pthread_join(s->thr, NULL);
    gp_session_close(s->sess);
    pthread_mutex_lock(&s->mu);
    s->sess = NULL;
    s->have_thr = 0;
    s->finished = 0;
    pthread_mutex_unlock(&s->mu);
}

bool gp_adhoc_busy(struct gp_adhoc_slot *s)
{
    gp_adhoc_reap(s);
    pthread_mutex_lock(&s->mu);
    bool r = s->have_thr;
    pthread_mutex_unlock(&s->mu);
    return r;
}

int gp_adhoc_start(struct gp_adhoc_slot *s, const struct gp_command *c, struct gp_err *err)
{
    if (gp_adhoc_busy(s))
        return gp_err_set(err, -EBUSY, "an ad hoc session is already running");
    int pids[GP_CMD_MAX_PIDS];
    size_t n = 0;
    char missing[256] = "";
    size_t ml = 0;
    for (size_t i = 0; i < c->npids; i++) {
        if (pid_exists(c->pids[i]))
            pids[n++] = c->pids[i];
        else if (ml < sizeof(missing) - 16)
            ml += (size_t)snprintf(missing + ml, sizeof(missing) - ml, "%s%d", ml ? ", " : "",
                                   c->pids[i]);
    }
    if (c->npids && !n)
        return gp_err_set(err, -ESRCH, "no such process: %s", missing);
    if (missing[0])
        gp_warn("ad hoc %s: no such process %s; profiling the others", c->id, missing);
    struct gp_session_opts so = {
            .sampler = {.kind = s->env.kind,
                        .event = GP_EVENT_CPU_CLOCK,
                        .freq_hz = c->freq_hz,
                        .pids = n ? pids : NULL,
                        .npids = n},
            .auto_fallback = s->env.auto_fallback,
            .duration_s = (double)c->duration_s,
            .hostname = s->env.hostname,
            .symbol_cache_bytes = s->env.symbol_cache_bytes,
            .unwind_tables_max = s->env.unwind_tables_max,
            .no_unwind_tables = s->env.unwind_tables_max == 0,
            .shared_uw = s->env.uw,
            .run_mode = "adhoc",
    };
    char notice[256];
    struct gp_session *sess;
    int rc = gp_session_open(&so, &sess, notice, sizeof(notice), err);
    if (rc)
        return rc;
    if (notice[0])
        gp_warn("%s", notice);
    struct ps_session *ps = NULL;
    if (c->enable_perfspect) {
        pid_t ppids[GP_CMD_MAX_PIDS];
        for (size_t i = 0; i < n; i++)
            ppids[i] = pids[i];
        struct ps_options po = {.pids = n ? ppids : NULL, .npids = n};
        struct gp_err perr = {0};
        if (ps_session_open(&po, &ps, &perr) || ps_session_spawn(ps, &perr)) {
            gp_warn("ad hoc %s: PerfSpect counters unavailable, profiling without them: %s", c->id,
                    perr.msg);
            ps_session_free(ps);
            ps = NULL;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->ps = ps;
    s->sess = sess;
    s->cmd = *c;
    memcpy(s->have, pids, n * sizeof(int));
    memcpy(s->want, pids, n * sizeof(int));
    s->nhave = s->nwant = n;
    s->dirty = 0;
    s->stop = 0;
    s->finished = 0;
    s->elapsed = 0;
    s->samples = 0;
    rc = pthread_create(&s->thr, NULL, adhoc_run, s);
    if (rc) {
        s->ps = NULL;
        pthread_mutex_unlock(&s->mu);
        if (ps) {
            ps_session_join(ps, 1, NULL);
            ps_session_free(ps);
        }
        gp_session_close(sess);
        s->sess = NULL;
        return gp_err_set(err, -rc, "cannot start the ad hoc profiling thread: %s", strerror(rc));
    }
    s->have_thr = 1;
    pthread_mutex_unlock(&s->mu);
    char d[256];
    gp_command_describe(c, d, sizeof(d));
    gp_info("ad hoc %s started: %s", c->id, d);
    return 0;
}

int gp_adhoc_adopt(struct gp_adhoc_slot *s, const struct gp_command *c)
{
    if (!gp_adhoc_busy(s))
        return -EBUSY;
    pthread_mutex_lock(&s->mu);
    if (s->finished || s->stop || !s->nwant || !c->npids) {
        pthread_mutex_unlock(&s->mu);
        return -EBUSY;
    }
    char old[GP_CMD_ID_MAX];
    snprintf(old, sizeof(old), "%s", s->cmd.id);
    int local = s->cmd.local;
    s->cmd = *c;
    s->cmd.local = local && c->local;
    s->nwant = 0;
    for (size_t i = 0; i < c->npids; i++)
        s->want[s->nwant++] = c->pids[i];
    s->dirty = 1;
    pthread_mutex_unlock(&s->mu);
    gp_info("ad hoc session of %s continues as %s with %zu pid%s", old, c->id, c->npids,
            c->npids == 1 ? "" : "s");
    return 0;
}

int gp_adhoc_remove_pids(struct gp_adhoc_slot *s, const int *pids, size_t n)
{
    if (!gp_adhoc_busy(s))
        return 0;
    int hit = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < s->nwant; i++) {
            if (s->want[i] == pids[k]) {
                s->want[i] = s->want[--s->nwant];
                hit++;
                break;
            }
        }
    }
    if (hit) {
        s->dirty = 1;
        if (!s->nwant)
            s->stop = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

void gp_adhoc_stop(struct gp_adhoc_slot *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->have_thr)
        s->stop = 1;
    pthread_mutex_unlock(&s->mu);
}

bool gp_adhoc_progress(struct gp_adhoc_slot *s, const char *command_id, double *elapsed,
                       double *duration, unsigned long long *samples)
{
    pthread_mutex_lock(&s->mu);
    bool r = s->have_thr && !s->finished && !strcmp(s->cmd.id, command_id);
    if (r) {
        *elapsed = s->elapsed;
        *duration = s->cmd.duration_s;
        *samples = s->samples;
    }
    pthread_mutex_unlock(&s->mu);
    return r;
}

json_object *gp_adhoc_status(struct gp_adhoc_slot *s)
{
    pthread_mutex_lock(&s->mu);
    json_object *o = NULL;
    if (s->have_thr && !s->finished && (o = json_object_new_object())) {
        json_object_object_add(o, "slot", json_object_new_string("adhoc"));
        json_object_object_add(o, "command_id", json_object_new_string(s->cmd.id));
        json_object_object_add(o, "source",
                               json_object_new_string(s->cmd.local ? "gprofctl" : "command"));
        json_object_object_add(o, "frequency", json_object_new_int((int)s->cmd.freq_hz));
        json_object_object_add(o, "duration", json_object_new_int((int)s->cmd.duration_s));
        json_object_object_add(o, "elapsed", json_object_new_double(s->elapsed));
        json_object_object_add(o, "samples", json_object_new_int64((int64_t)s->samples));
        json_object *pids = json_object_new_array();
        for (size_t i = 0; i < s->nwant; i++)
            json_object_array_add(pids, json_object_new_int(s->want[i]));
        json_object_object_add(o, "pids", pids);
    }
    pthread_mutex_unlock(&s->mu);
    return o;
}

void gp_adhoc_close(struct gp_adhoc_slot *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    if (s->have_thr)
        s->stop = 1;
    int have = s->have_thr;
    pthread_mutex_unlock(&s->mu);
    if (have) {
        pthread_join(s->thr, NULL);
        gp_session_close(s->sess);
    }
    pthread_mutex_destroy(&s->mu);
    free(s);
}
