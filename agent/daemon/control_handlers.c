/* control_handlers.c — gprof-agent's answers on the local control socket: start and stop queue
 * a local command, status describes the agent, result follows one command (see the header). */
#include "agent/daemon/control_handlers.h"
#include "agent/daemon/metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"

static json_object *ok_obj(void)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(1));
    return o;
}

static json_object *err_obj(const char *msg)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(0));
    json_object_object_add(o, "error", json_object_new_string(msg));
    return o;
}

static void local_id(struct agent *ag, char *buf, size_t len)
{
    pthread_mutex_lock(&ag->mu);
    unsigned long n = ++ag->local_seq;
    pthread_mutex_unlock(&ag->mu);
    snprintf(buf, len, "local-%ld-%d-%lu", (long)time(NULL), (int)getpid(), n);
}

static json_object *ctl_start_stop(struct agent *ag, json_object *req, int stop)
{
    json_object *pc = json_object_new_object(), *cfg = json_object_new_object(), *v;
    json_object_object_add(pc, "command_type", json_object_new_string(stop ? "stop" : "start"));
    json_object_object_add(cfg, "command_type", json_object_new_string(stop ? "stop" : "start"));
    json_object_object_add(cfg, "continuous", json_object_new_boolean(0));
    static const char *const pass[] = {"pids",       "duration", "frequency", "enable_perfspect",
                                       "stop_level", NULL};
    for (const char *const *k = pass; *k; k++)
        if (json_object_object_get_ex(req, *k, &v))
            json_object_object_add(cfg, *k, json_object_get(v));
    json_object_object_add(pc, "combined_config", cfg);
    char id[GP_CMD_ID_MAX];
    local_id(ag, id, sizeof(id));
    struct gp_command c;
    struct gp_err err = {0};
    int rc = gp_command_parse(id, pc, ag->hostname, &c, &err);
    json_object_put(pc);
    if (rc)
        return err_obj(rc < 0 ? err.msg : "not for this host");
    c.local = 1;
    if (gp_cmdmgr_offer(ag->mgr, &c) <= 0)
        return err_obj("cannot queue the command");
    char d[512];
    gp_command_describe(&c, d, sizeof(d));
    gp_info("gprofctl command %s: %s", id, d);
    json_object *o = ok_obj();
    json_object_object_add(o, "command_id", json_object_new_string(id));
    return o;
}

static json_object *result_json(const struct gp_slot_result *r)
{
    json_object *o = ok_obj();
    json_object_object_add(o, "command_id", json_object_new_string(r->command_id));
    json_object_object_add(o, "state", json_object_new_string(r->ok ? "completed" : "failed"));
    json_object_object_add(o, "execution_time", json_object_new_double(r->execution_time));
    json_object_object_add(o, "samples", json_object_new_int64((int64_t)r->samples));
    if (r->error[0])
        json_object_object_add(o, "error", json_object_new_string(r->error));
    if (r->html[0])
        json_object_object_add(o, "html", json_object_new_string(r->html));
    if (r->col[0])
        json_object_object_add(o, "col", json_object_new_string(r->col));
    if (r->url[0])
        json_object_object_add(o, "url", json_object_new_string(r->url));
    return o;
}

static json_object *ctl_result(struct agent *ag, const char *id)
{
    double el, du;
    unsigned long long samples;
    if (gp_adhoc_progress(ag->adhoc, id, &el, &du, &samples)) {
        json_object *o = ok_obj();
        json_object_object_add(o, "command_id", json_object_new_string(id));
        json_object_object_add(o, "state", json_object_new_string("running"));
        json_object_object_add(o, "elapsed", json_object_new_double(el));
        json_object_object_add(o, "duration", json_object_new_double(du));
        json_object_object_add(o, "samples", json_object_new_int64((int64_t)samples));
        return o;
    }
    pthread_mutex_lock(&ag->mu);
    size_t n = ag->nrecent < MAX_RESULTS ? ag->nrecent : MAX_RESULTS;
    for (size_t i = 0; i < n; i++) {
        const struct gp_slot_result *r = &ag->recent[(ag->nrecent - 1 - i) % MAX_RESULTS];
        if (!strcmp(r->command_id, id)) {
            json_object *o = result_json(r);
            pthread_mutex_unlock(&ag->mu);
            return o;
        }
    }
    pthread_mutex_unlock(&ag->mu);
    struct gp_command q[GP_CMDMGR_QUEUE_MAX * GP_CLASS_COUNT];
    size_t nq = gp_cmdmgr_list(ag->mgr, q, sizeof(q) / sizeof(q[0]));
    for (size_t i = 0; i < nq && i < sizeof(q) / sizeof(q[0]); i++) {
        if (!strcmp(q[i].id, id)) {
            json_object *o = ok_obj();
            json_object_object_add(o, "command_id", json_object_new_string(id));
            json_object_object_add(o, "state", json_object_new_string("queued"));
            json_object_object_add(o, "position", json_object_new_int((int)i));
            return o;
        }
    }
    if (gp_cmdmgr_executed(ag->mgr, id)) {
        /* executed but not finished yet: between dispatch and the thread's first progress */
        json_object *o = ok_obj();
        json_object_object_add(o, "command_id", json_object_new_string(id));
        json_object_object_add(o, "state", json_object_new_string("running"));
        json_object_object_add(o, "elapsed", json_object_new_double(0));
        return o;
    }
    return err_obj("unknown command id");
}

static json_object *ctl_status(struct agent *ag)
{
    json_object *o = ok_obj();
    json_object_object_add(o, "agent_version", json_object_new_string("gprof " GPROF_VERSION));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(o, "hostname", json_object_new_string(ag->hostname));
    json_object_object_add(o, "service", json_object_new_string(ag->service));
    json_object_object_add(o, "coordinator",
                           ag->coordinator[0] ? json_object_new_string(ag->coordinator) : NULL);
    json_object_object_add(o, "state_dir", json_object_new_string(ag->state_dir));
    json_object_object_add(o, "sampler", json_object_new_string(ag->facts.sampler));
    json_object_object_add(o, "uptime", json_object_new_int64((int64_t)(time(NULL) - ag->spawn)));
    json_object *slots = json_object_new_object();
    json_object *c = gp_cont_status(ag->cont), *h = gp_adhoc_status(ag->adhoc);
    json_object_object_add(slots, "continuous", c);
    json_object_object_add(slots, "adhoc", h);
    json_object_object_add(o, "slots", slots);
    json_object_object_add(o, "continuous_sessions",
                           json_object_new_int64((int64_t)gp_cont_sessions(ag->cont)));
    struct gp_command q[GP_CMDMGR_QUEUE_MAX * GP_CLASS_COUNT];
    size_t nq = gp_cmdmgr_list(ag->mgr, q, sizeof(q) / sizeof(q[0]));
    json_object *qa = json_object_new_array();
    for (size_t i = 0; i < nq && i < sizeof(q) / sizeof(q[0]); i++) {
        char d[512];
        gp_command_describe(&q[i], d, sizeof(d));
        json_object *e = json_object_new_object();
        json_object_object_add(e, "command_id", json_object_new_string(q[i].id));
        json_object_object_add(e, "what", json_object_new_string(d));
        json_object_array_add(qa, e);
    }
    json_object_object_add(o, "queue", qa);
    pthread_mutex_lock(&ag->mu);
    json_object *hb = json_object_new_object();
    json_object_object_add(hb, "interval", json_object_new_int64(ag->cfg.heartbeat_interval));
    json_object_object_add(hb, "count", json_object_new_int64((int64_t)ag->heartbeats));
    json_object_object_add(hb, "last", json_object_new_int64((int64_t)ag->last_hb));
    json_object_object_add(hb, "last_ok", json_object_new_int64((int64_t)ag->last_hb_ok));
    json_object_object_add(hb, "error",
                           ag->last_hb_error[0] ? json_object_new_string(ag->last_hb_error) : NULL);
    json_object_object_add(hb, "pending_completions",
                           json_object_new_int((int)gp_completions_count(ag->pending)));
    json_object_object_add(o, "heartbeat", ag->coordinator[0] ? hb : NULL);
    if (!ag->coordinator[0])
        json_object_put(hb);
    json_object_object_add(o, "commands_run", json_object_new_int64((int64_t)ag->commands_run));
    json_object *recent = json_object_new_array();
    size_t n = ag->nrecent < 5 ? ag->nrecent : 5;
    for (size_t i = 0; i < n; i++)
        json_object_array_add(recent,
                              result_json(&ag->recent[(ag->nrecent - 1 - i) % MAX_RESULTS]));
    pthread_mutex_unlock(&ag->mu);
    json_object_object_add(o, "recent", recent);
    if (ag->spool) {
        struct gp_spool_stats ss;
        struct gp_sender_stats st;
        gp_spool_stats(ag->spool, &ss);
        gp_sender_stats(ag->sender, &st);
        json_object *sp = json_object_new_object();
        json_object_object_add(sp, "items", json_object_new_int64((int64_t)ss.items));
        json_object_object_add(sp, "bytes", json_object_new_int64((int64_t)ss.bytes));
        json_object_object_add(sp, "max_bytes", json_object_new_int64((int64_t)ss.max_bytes));
        json_object_object_add(sp, "dropped", json_object_new_int64((int64_t)ss.dropped));
        json_object_object_add(sp, "sent", json_object_new_int64((int64_t)st.sent));
        json_object_object_add(sp, "failed_attempts",
                               json_object_new_int64((int64_t)st.failed_attempts));
        json_object_object_add(sp, "refused", json_object_new_int64((int64_t)st.refused));
        json_object_object_add(sp, "last_success", json_object_new_int64((int64_t)st.last_success));
        json_object_object_add(sp, "next_retry", json_object_new_int64((int64_t)st.next_retry));
        json_object_object_add(sp, "last_error",
                               st.last_error[0] ? json_object_new_string(st.last_error) : NULL);
        json_object_object_add(o, "spool", sp);
    }
    json_object_object_add(o, "counters", gp_agent_metrics_json(ag));
    return o;
}

json_object *gp_agent_on_control(json_object *req, void *ctx)
{
    struct agent *ag = ctx;
    json_object *v;
    const char *cmd = json_object_object_get_ex(req, "cmd", &v) ? json_object_get_string(v) : NULL;
    if (!cmd)
        return err_obj("missing \"cmd\"");
    if (!strcmp(cmd, "start"))
        return ctl_start_stop(ag, req, 0);
    if (!strcmp(cmd, "stop"))
        return ctl_start_stop(ag, req, 1);
    if (!strcmp(cmd, "status"))
        return ctl_status(ag);
    if (!strcmp(cmd, "result")) {
        const char *id =
                json_object_object_get_ex(req, "command_id", &v) ? json_object_get_string(v) : NULL;
        return id ? ctl_result(ag, id) : err_obj("missing \"command_id\"");
    }
    return err_obj("unknown cmd: use start, stop, status or result");
}
