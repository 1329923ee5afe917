/* dispatch.c — gprof-agent's commands: heartbeats that bring them, running them in priority
 * order on the two slots, and their completions (see dispatch.h). */
#include "agent/daemon/dispatch.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "common/log.h"

/* Keeps a completion for the coordinator, on disk before returning, so a restart still sends it. */
void gp_agent_queue_completion(struct agent *ag, const char *id, int ok, double exec,
                               const char *error, const char *path)
{
    if (!ag->coordinator[0])
        return;
    struct gp_completion c = {.ok = ok, .exec = exec};
    snprintf(c.id, sizeof(c.id), "%s", id);
    snprintf(c.error, sizeof(c.error), "%s", error ? error : "");
    snprintf(c.path, sizeof(c.path), "%s", path ? path : "");
    struct gp_err err = {0};
    if (gp_completions_push(ag->pending, &c, &err))
        gp_error("%s", err.msg);
}

/* Sends pending completions, oldest first (main thread). Stops at the first retryable failure;
 * a completion leaves the queue (and the file) once the coordinator acknowledged it, or refused
 * it for good. */
void gp_agent_flush_completions(struct agent *ag)
{
    struct gp_completion c;
    while (gp_completions_peek(ag->pending, &c)) {
        struct gp_err err = {0};
        int rc = gp_hb_complete(&ag->hb, c.id, c.ok ? "completed" : "failed", c.exec,
                                c.error[0] ? c.error : NULL, c.path[0] ? c.path : NULL, &err);
        if (rc == -EAGAIN) {
            gp_debug("completion of %s deferred: %s", c.id, err.msg);
            return;
        }
        if (rc)
            gp_warn("%s", err.msg);
        else
            gp_info("reported %s: %s%s%s", c.id, c.ok ? "completed" : "failed",
                    c.path[0] ? ", " : "", c.path);
        if (gp_completions_ack(ag->pending, c.id, &err)) {
            gp_error("%s", err.msg);
            return;
        }
    }
}

static void write_marker(struct agent *ag, const char *id)
{
    size_t n = strlen(id);
    char *line = malloc(n + 1);
    if (!line)
        return;
    memcpy(line, id, n);
    line[n] = '\n';
    gp_atomic_write(ag->marker, line, n + 1, 0600);
    free(line);
}

/* Called on the ad hoc thread when its session really ended. */
void gp_agent_on_adhoc_done(const struct gp_slot_result *r, void *ctx)
{
    struct agent *ag = ctx;
    /* the completion is on disk before the marker goes: a crash in between is not "failed" */
    if (!r->local)
        gp_agent_queue_completion(ag, r->command_id, r->ok, r->execution_time,
                                  r->ok ? NULL : r->error,
                                  r->ok ? (r->url[0] ? r->url : r->html) : NULL);
    unlink(ag->marker);
    pthread_mutex_lock(&ag->mu);
    ag->recent[ag->nrecent++ % MAX_RESULTS] = *r;
    pthread_mutex_unlock(&ag->mu);
}

static void report_command(struct agent *ag, const struct gp_command *c, int ok, double exec,
                           const char *error, const char *path)
{
    if (c->local) {
        struct gp_slot_result r = {.local = 1, .ok = ok, .execution_time = exec};
        snprintf(r.command_id, sizeof(r.command_id), "%.*s", GP_CMD_ID_MAX - 1, c->id);
        snprintf(r.error, sizeof(r.error), "%s", error ? error : "");
        pthread_mutex_lock(&ag->mu);
        ag->recent[ag->nrecent++ % MAX_RESULTS] = r;
        pthread_mutex_unlock(&ag->mu);
        return;
    }
    gp_agent_queue_completion(ag, c->id, ok, exec, error, path);
}

static void mark_executed(struct agent *ag, const char *id)
{
    struct gp_err err = {0};
    if (gp_cmdmgr_mark_executed(ag->mgr, id, &err))
        gp_error("%s (a restart could run command %s again)", err.msg, id);
    pthread_mutex_lock(&ag->mu);
    ag->commands_run++;
    pthread_mutex_unlock(&ag->mu);
}

int gp_agent_start_continuous(struct agent *ag)
{
    struct gp_err err = {0};
    if (!ag->cfg.continuous) {
        gp_cont_stop(ag->cont);
        return 0;
    }
    int rc = gp_cont_start(ag->cont, (unsigned)ag->cfg.frequency, (unsigned)ag->cfg.duration, NULL,
                           &err);
    if (rc)
        gp_error("cannot start continuous profiling: %s", err.msg);
    return rc;
}

static void run_stop(struct agent *ag, const struct gp_command *c)
{
    mark_executed(ag, c->id);
    if (c->stop_host) {
        struct gp_command dropped[GP_CMDMGR_QUEUE_MAX];
        size_t n = gp_cmdmgr_clear_class(ag->mgr, GP_CLASS_ADHOC, dropped, GP_CMDMGR_QUEUE_MAX);
        for (size_t i = 0; i < n && i < GP_CMDMGR_QUEUE_MAX; i++) {
            mark_executed(ag, dropped[i].id);
            report_command(ag, &dropped[i], 0, 0, "cancelled by a host-level stop before it ran",
                           NULL);
        }
        if (gp_adhoc_busy(ag->adhoc))
            gp_adhoc_stop(ag->adhoc);
        char cmd[GP_CMD_ID_MAX];
        gp_cont_command(ag->cont, cmd, sizeof(cmd));
        if (cmd[0]) { /* continuous profiling a command started: back to the configuration */
            gp_cont_stop(ag->cont);
            gp_agent_start_continuous(ag);
        }
        gp_info("host-level stop %s: command-started profiling ended", c->id);
    } else {
        int hit = gp_adhoc_remove_pids(ag->adhoc, c->pids, c->npids);
        gp_info("process-level stop %s: %d of %zu pid%s removed from the ad hoc session", c->id,
                hit, c->npids, c->npids == 1 ? "" : "s");
    }
    report_command(ag, c, 1, 0, NULL, NULL);
}

static void coordinator_service_url(struct agent *ag, char *buf, size_t len)
{
    char *e = curl_easy_escape(NULL, ag->service, 0);
    snprintf(buf, len, "%s/api/flamegraph?serviceName=%s", ag->coordinator, e ? e : ag->service);
    curl_free(e);
}

/* Runs what can run now, in priority order (main thread). */
void gp_agent_dispatch(struct agent *ag)
{
    struct gp_command c;
    struct gp_err err = {0};
    gp_adhoc_reap(ag->adhoc);
    while (gp_cmdmgr_peek_class(ag->mgr, GP_CLASS_STOP, &c)) {
        gp_cmdmgr_remove(ag->mgr, c.id);
        run_stop(ag, &c);
    }
    if (gp_cmdmgr_peek_class(ag->mgr, GP_CLASS_ADHOC, &c)) {
        if (gp_adhoc_busy(ag->adhoc)) {
            /* a start re-issued for the running session (pids removed or merged) */
            if (c.npids && gp_adhoc_adopt(ag->adhoc, &c) == 0) {
                gp_cmdmgr_remove(ag->mgr, c.id);
                mark_executed(ag, c.id);
                if (!c.local)
                    write_marker(ag, c.id);
            }
        } else {
            gp_cmdmgr_remove(ag->mgr, c.id);
            mark_executed(ag, c.id); /* before it runs: a restart never runs it again */
            if (!c.local)
                write_marker(ag, c.id);
            if (gp_adhoc_start(ag->adhoc, &c, &err)) {
                unlink(ag->marker);
                gp_warn("ad hoc %s failed to start: %s", c.id, err.msg);
                report_command(ag, &c, 0, 0, err.msg, NULL);
            }
        }
    }
    if (gp_cmdmgr_peek_class(ag->mgr, GP_CLASS_CONTINUOUS, &c)) {
        gp_cmdmgr_remove(ag->mgr, c.id);
        mark_executed(ag, c.id);
        if (gp_cont_start(ag->cont, c.freq_hz, c.duration_s, c.id, &err)) {
            report_command(ag, &c, 0, 0, err.msg, NULL);
            gp_agent_start_continuous(ag);
        } else {
            char url[2048] = "";
            if (ag->coordinator[0])
                coordinator_service_url(ag, url, sizeof(url));
            /* continuous profiling has no end: it is reported once it runs */
            report_command(ag, &c, 1, 0, NULL, url[0] ? url : NULL);
        }
    }
}

static json_object *running_sessions(struct agent *ag)
{
    json_object *a = json_object_new_array();
    json_object *c = gp_cont_status(ag->cont), *h = gp_adhoc_status(ag->adhoc);
    if (c)
        json_object_array_add(a, c);
    if (h)
        json_object_array_add(a, h);
    return a;
}

/* One heartbeat; returns 0 when the coordinator answered. */
int gp_agent_heartbeat(struct agent *ag)
{
    struct gp_err err = {0};
    json_object *body = gp_hb_body(&ag->hb, &ag->facts, ag->mgr, running_sessions(ag));
    if (!body)
        return -ENOMEM;
    char *id = NULL;
    json_object *pc = NULL;
    int rc = gp_hb_send(&ag->hb, body, &id, &pc, &err);
    json_object_put(body);
    pthread_mutex_lock(&ag->mu);
    ag->last_hb = time(NULL);
    ag->heartbeats++;
    if (!rc)
        ag->last_hb_ok = ag->last_hb;
    else
        ag->hb_failures++;
    snprintf(ag->last_hb_error, sizeof(ag->last_hb_error), "%s", rc ? err.msg : "");
    pthread_mutex_unlock(&ag->mu);
    if (rc) {
        gp_warn("%s", err.msg);
        return rc;
    }
    if (id && !gp_cmdmgr_seen(ag->mgr, id)) {
        struct gp_command c;
        struct gp_err perr = {0};
        int prc = gp_command_parse(id, pc, ag->hostname, &c, &perr);
        char d[512];
        if (prc < 0) {
            gp_warn("command %s refused: %s", id, perr.msg);
            gp_cmdmgr_note_received(ag->mgr, id);
            mark_executed(ag, id);
            gp_agent_queue_completion(ag, id, 0, 0, perr.msg, NULL);
        } else if (prc > 0) {
            gp_info("command %s is not for this host (target_hostnames)", id);
            gp_cmdmgr_note_received(ag->mgr, id);
        } else {
            gp_command_describe(&c, d, sizeof(d));
            if (gp_cmdmgr_offer(ag->mgr, &c) > 0)
                gp_info("command %s received: %s", id, d);
        }
    }
    free(id);
    json_object_put(pc);
    return 0;
}
