/* main.c — gprof-agent: profiles the host continuously in back-to-back sessions, keeps every
 * result in its state directory, uploads through a durable spool, takes profiling commands from
 * a coordinator's heartbeats and from gprofctl over the local control socket. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "agent/backoff.h"
#include "agent/commands/manager.h"
#include "agent/completions.h"
#include "agent/control/control.h"
#include "agent/heartbeat.h"
#include "agent/results.h"
#include "agent/sender.h"
#include "agent/slots.h"
#include "agent/spool.h"
#include "agent/symbols/kallsyms_cache.h"
#include "common/config.h"
#include "common/fsutil.h"
#include "common/log.h"

static volatile sig_atomic_t g_stop, g_reload;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop = 1;
}

static const char *const known_keys[] = {
        "coordinator",  "service",        "token",
        "token_file",   "state_dir",      "hostname",
        "duration",     "frequency",      "sampler",
        "keep_results", "log_level",      "heartbeat_interval",
        "continuous",   "control_socket", "spool_max",
        "upload_wait",  "symbol_cache",   NULL,
};

static const char usage_text[] =
        "usage: gprof-agent [--config FILE] [--coordinator URL] [--service NAME] [--token T]\n"
        "                   [--token-file FILE] [--state-dir DIR] [--hostname H]\n"
        "                   [--heartbeat-interval S] [--continuous | --no-continuous]\n"
        "                   [-d SECONDS] [-F HZ] [--sampler bpf|perf] [--keep-results N]\n"
        "                   [--control-socket PATH] [--spool-max SIZE] [--symbol-cache SIZE]\n"
        "                   [--log-level L]\n"
        "\n"
        "Profiles the whole host in back-to-back sessions of -d seconds (default 60) at -F Hz\n"
        "(default 11); --no-continuous waits for commands instead. Each session is kept in\n"
        "STATE_DIR/results (newest as last_profile.col and last_flamegraph.html) and, with\n"
        "--coordinator, uploaded through an on-disk spool (STATE_DIR/spool, bounded by\n"
        "--spool-max, default 256M) that survives outages and restarts. --symbol-cache\n"
        "(default 16M) bounds each session's cache of ELF symbol tables.\n"
        "\n"
        "With a coordinator the agent sends a heartbeat every --heartbeat-interval seconds\n"
        "(default 30, ±10%, backing off up to 5 min while it fails) and runs the profiling\n"
        "commands it answers with: ad hoc sessions (pids or the whole host) beside continuous\n"
        "profiling, process- and host-level stops. gprofctl talks to the agent over\n"
        "--control-socket (default /run/gprof/agent.sock, root only).\n"
        "\n"
        "Every option is also a key in the config file (default /etc/gprof/agent.conf; `key =\n"
        "value`, dashes become underscores) and a GPROF_<KEY> environment variable.\n"
        "Signals: SIGTERM/SIGINT finish and spool the current session and exit; SIGHUP reloads\n"
        "the configuration (log level, heartbeat interval, continuous settings).\n";

struct agent_cfg {
    const char *coordinator, *service, *token, *state_dir, *hostname, *control_socket;
    int64_t duration, frequency, keep, heartbeat_interval, upload_wait;
    uint64_t spool_max, symbol_cache;
    int continuous;
    enum gp_sampler_kind kind;
    int explicit_sampler;
    char token_buf[512];
};

static int read_token_file(const char *path, char *buf, size_t len, struct gp_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return gp_err_set(err, -errno, "cannot read token file %s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    return n ? 0 : gp_err_set(err, -EINVAL, "token file %s is empty", path);
}

static int load_config(struct gp_config *c, struct agent_cfg *a, struct gp_err *err)
{
    int rc;
    const char *lvl = gp_config_get(c, "log_level");
    if (lvl) {
        int l = gp_log_parse_level(lvl);
        if (l < 0)
            return gp_err_set(err, -EINVAL, "log_level '%s': use error, warn, info or debug", lvl);
        gp_log_set_level((enum gp_log_level)l);
    }
    a->coordinator = gp_config_get(c, "coordinator");
    a->service = gp_config_get(c, "service");
    a->token = gp_config_get(c, "token");
    a->state_dir = gp_config_get(c, "state_dir");
    a->hostname = gp_config_get(c, "hostname");
    a->control_socket = gp_config_get(c, "control_socket");
    if (!a->state_dir)
        a->state_dir = "/var/lib/gprof-agent";
    if (!a->service)
        a->service = "default";
    if (!a->control_socket)
        a->control_socket = GP_CONTROL_SOCKET_DEFAULT;
    if (a->coordinator && !*a->coordinator)
        a->coordinator = NULL;
    if ((rc = gp_config_get_i64(c, "duration", 60, 1, 86400, &a->duration, err)) ||
        (rc = gp_config_get_i64(c, "frequency", 11, 1, 1000, &a->frequency, err)) ||
        (rc = gp_config_get_i64(c, "keep_results", 60, 1, 100000, &a->keep, err)) ||
        (rc = gp_config_get_i64(c, "heartbeat_interval", 30, 1, 3600, &a->heartbeat_interval,
                                err)) ||
        (rc = gp_config_get_i64(c, "upload_wait", 20, 0, 600, &a->upload_wait, err)) ||
        (rc = gp_config_get_bool(c, "continuous", 1, &a->continuous, err)) ||
        (rc = gp_config_get_size(c, "spool_max", GP_SPOOL_DEFAULT_MAX, &a->spool_max, err)) ||
        (rc = gp_config_get_size(c, "symbol_cache", 16u << 20, &a->symbol_cache, err)))
        return rc;
    if (a->spool_max < 4096)
        return gp_err_set(err, -EINVAL, "spool_max %llu is too small: use at least 4K",
                          (unsigned long long)a->spool_max);
    const char *tf = gp_config_get(c, "token_file");
    if (!a->token && tf) {
        if ((rc = read_token_file(tf, a->token_buf, sizeof(a->token_buf), err)))
            return rc;
        a->token = a->token_buf;
    }
    const char *s = gp_config_get(c, "sampler");
    a->kind = GP_SAMPLER_BPF;
    a->explicit_sampler = 0;
    if (s) {
        a->explicit_sampler = 1;
        if (!strcmp(s, "perf"))
            a->kind = GP_SAMPLER_PERF;
        else if (strcmp(s, "bpf"))
            return gp_err_set(err, -EINVAL, "sampler '%s': use bpf or perf", s);
    }
    if (a->coordinator && strncmp(a->coordinator, "http://", 7) &&
        strncmp(a->coordinator, "https://", 8))
        return gp_err_set(err, -EINVAL, "coordinator '%s' must start with http:// or https://",
                          a->coordinator);
    return 0;
}

static int parse_args(int argc, char **argv, struct gp_config *c, const char **config_path,
                      struct gp_err *err)
{
    static const struct option opts[] = {
            {"config", required_argument, NULL, 'c'},
            {"coordinator", required_argument, NULL, 1},
            {"service", required_argument, NULL, 2},
            {"token", required_argument, NULL, 3},
            {"token-file", required_argument, NULL, 4},
            {"state-dir", required_argument, NULL, 5},
            {"hostname", required_argument, NULL, 6},
            {"duration", required_argument, NULL, 'd'},
            {"freq", required_argument, NULL, 'F'},
            {"frequency", required_argument, NULL, 'F'},
            {"sampler", required_argument, NULL, 7},
            {"keep-results", required_argument, NULL, 8},
            {"log-level", required_argument, NULL, 9},
            {"heartbeat-interval", required_argument, NULL, 10},
            {"control-socket", required_argument, NULL, 11},
            {"spool-max", required_argument, NULL, 12},
            {"upload-wait", required_argument, NULL, 13},
            {"symbol-cache", required_argument, NULL, 14},
            {"continuous", no_argument, NULL, 20},
            {"no-continuous", no_argument, NULL, 21},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {0},
    };
    static const char *const keys[] = {[1] = "coordinator",     [2] = "service",
                                       [3] = "token",           [4] = "token_file",
                                       [5] = "state_dir",       [6] = "hostname",
                                       [7] = "sampler",         [8] = "keep_results",
                                       [9] = "log_level",       [10] = "heartbeat_interval",
                                       [11] = "control_socket", [12] = "spool_max",
                                       [13] = "upload_wait",    [14] = "symbol_cache"};
    int o, rc;
    optind = 0; /* also used again on SIGHUP */
    while ((o = getopt_long(argc, argv, "c:d:F:hV", opts, NULL)) != -1) {
        const char *key = NULL, *val = optarg;
        switch (o) {
        case 'c':
            *config_path = optarg;
            continue;
        case 'd':
            key = "duration";
            break;
        case 'F':
            key = "frequency";
            break;
        case 20:
        case 21:
            key = "continuous";
            val = o == 20 ? "true" : "false";
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        case 'V':
            printf("gprof-agent %s\n", GPROF_VERSION);
            return 1;
        default:
            if (o >= 1 && o <= 14) {
                key = keys[o];
                break;
            }
            fputs(usage_text, stderr);
            return gp_err_set(err, -EINVAL, "invalid arguments");
        }
        if ((rc = gp_config_set(c, key, val, GP_CFG_FLAG, err)))
            return rc;
    }
    if (optind < argc)
        return gp_err_set(err, -EINVAL, "unexpected argument '%s'", argv[optind]);
    return 0;
}

/* Flags, then the config file, then the environment, into a fresh config. */
static int read_config(int argc, char **argv, struct gp_config **out, struct agent_cfg *a,
                       struct gp_err *err)
{
    struct gp_config *c = gp_config_new();
    const char *config_path = NULL;
    if (!c)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = parse_args(argc, argv, c, &config_path, err);
    if (!rc) {
        const char *path = config_path ? config_path : "/etc/gprof/agent.conf";
        if (config_path || access(path, F_OK) == 0)
            rc = gp_config_load_file(c, path, known_keys, err);
    }
    if (!rc)
        rc = gp_config_load_env(c, "GPROF_", known_keys, err);
    if (!rc)
        rc = load_config(c, a, err);
    if (rc) {
        gp_config_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The agent: slots, command manager, spool, heartbeat, control socket.
 */

#define MAX_RESULTS 64

struct agent {
    struct agent_cfg cfg;
    char hostname[256], service[256], coordinator[1024], token[512], state_dir[2048];
    char marker[2200]; /* STATE_DIR/adhoc_running: the ad hoc command in flight */
    struct gp_cmdmgr *mgr;
    struct gp_completions *pending; /* STATE_DIR/pending_completions: not yet acknowledged */
    struct gp_results results, adhoc_results;
    struct gp_spool *spool;
    struct gp_sender *sender;
    struct gp_cont_slot *cont;
    struct gp_adhoc_slot *adhoc;
    struct gp_control *control;
    struct gp_hb_client hb;
    struct gp_hb_facts facts;
    struct gp_backoff hb_backoff;
    time_t spawn;

    pthread_mutex_t mu;                        /* guards everything below */
    struct gp_slot_result recent[MAX_RESULTS]; /* ring of finished ad hoc sessions */
    size_t nrecent;
    time_t last_hb, last_hb_ok;
    char last_hb_error[512];
    unsigned long heartbeats, commands_run;
    unsigned long local_seq;
};

/* Keeps a completion for the coordinator, on disk before returning, so a restart still sends it. */
static void queue_completion(struct agent *ag, const char *id, int ok, double exec,
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
static void flush_completions(struct agent *ag)
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
static void on_adhoc_done(const struct gp_slot_result *r, void *ctx)
{
    struct agent *ag = ctx;
    /* the completion is on disk before the marker goes: a crash in between is not "failed" */
    if (!r->local)
        queue_completion(ag, r->command_id, r->ok, r->execution_time, r->ok ? NULL : r->error,
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
    queue_completion(ag, c->id, ok, exec, error, path);
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

static int start_config_continuous(struct agent *ag)
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
            start_config_continuous(ag);
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
static void dispatch(struct agent *ag)
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
            start_config_continuous(ag);
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
static int heartbeat(struct agent *ag)
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
            queue_completion(ag, id, 0, 0, perr.msg, NULL);
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

/* ---- control socket ---- */

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
    return o;
}

static json_object *on_control(json_object *req, void *ctx)
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

/* ---- lifecycle ---- */

static void notify_status(struct agent *ag)
{
    char ad[128] = "idle";
    json_object *h = gp_adhoc_status(ag->adhoc);
    if (h) {
        snprintf(ad, sizeof(ad), "running %s",
                 json_object_get_string(json_object_object_get(h, "command_id")));
        json_object_put(h);
    }
    char sp[96] = "";
    if (ag->spool) {
        struct gp_spool_stats ss;
        gp_spool_stats(ag->spool, &ss);
        snprintf(sp, sizeof(sp), "; spool %zu waiting", ss.items);
    }
    sd_notifyf(0, "WATCHDOG=1\nSTATUS=continuous: %s, %lu sessions; ad hoc: %s%s",
               gp_cont_running(ag->cont) ? "on" : "off", gp_cont_sessions(ag->cont), ad, sp);
}

static void apply_reload(struct agent *ag, int argc, char **argv, struct gp_config **cur)
{
    struct agent_cfg n = {0};
    struct gp_config *c;
    struct gp_err err = {0};
    if (read_config(argc, argv, &c, &n, &err)) {
        gp_error("SIGHUP: configuration not reloaded: %s", err.msg);
        return;
    }
    if (strcmp(n.service, ag->service) ||
        strcmp(n.hostname ? n.hostname : "", ag->cfg.hostname ? ag->cfg.hostname : "") ||
        strcmp(n.coordinator ? n.coordinator : "", ag->coordinator) ||
        strcmp(n.state_dir, ag->state_dir))
        gp_warn("SIGHUP: coordinator, service, hostname and state_dir changes need a restart");
    int restart = n.continuous != ag->cfg.continuous || n.frequency != ag->cfg.frequency ||
                  n.duration != ag->cfg.duration;
    ag->cfg.heartbeat_interval = n.heartbeat_interval;
    ag->cfg.continuous = n.continuous;
    ag->cfg.frequency = n.frequency;
    ag->cfg.duration = n.duration;
    ag->cfg.upload_wait = n.upload_wait;
    ag->results.keep = (unsigned)n.keep;
    ag->adhoc_results.keep = (unsigned)n.keep;
    char cmd[GP_CMD_ID_MAX];
    gp_cont_command(ag->cont, cmd, sizeof(cmd));
    if (restart && !cmd[0])
        start_config_continuous(ag);
    /* the old strings stay valid until here: ag->cfg now points into the new config */
    ag->cfg.coordinator = n.coordinator;
    ag->cfg.service = n.service;
    ag->cfg.token = NULL;
    ag->cfg.state_dir = n.state_dir;
    ag->cfg.hostname = n.hostname;
    ag->cfg.control_socket = n.control_socket;
    gp_config_free(*cur);
    *cur = c;
    gp_info("SIGHUP: configuration reloaded (heartbeat %llds, continuous %s, %lld s at %lld Hz)",
            (long long)n.heartbeat_interval, n.continuous ? "on" : "off", (long long)n.duration,
            (long long)n.frequency);
}

/* The ad hoc command a killed agent was running is reported failed, never run again. */
static void recover_marker(struct agent *ag)
{
    FILE *f = fopen(ag->marker, "re");
    if (!f)
        return;
    char id[GP_CMD_ID_MAX] = "";
    if (fgets(id, sizeof(id), f))
        id[strcspn(id, "\r\n")] = '\0';
    fclose(f);
    unlink(ag->marker);
    if (!id[0])
        return;
    if (gp_completions_has(ag->pending, id))
        return; /* it ended and its completion was kept just before the agent stopped */
    gp_warn("command %s was running when the agent stopped; it is reported failed, not re-run", id);
    queue_completion(ag, id, 0, -1,
                     "the agent restarted during this session; its samples were lost", NULL);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct gp_err err = {0};
    struct gp_config *c = NULL;
    static struct agent ag; /* large; lives for the whole run */
    if (getenv("JOURNAL_STREAM"))
        gp_log_set_journal(1);
    int rc = read_config(argc, argv, &c, &ag.cfg, &err);
    if (rc > 0)
        return 0;
    if (rc) {
        gp_error("%s", err.msg);
        return 1;
    }
    struct agent_cfg *a = &ag.cfg;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    pthread_mutex_init(&ag.mu, NULL);
    ag.spawn = time(NULL);
    if (a->hostname)
        snprintf(ag.hostname, sizeof(ag.hostname), "%s", a->hostname);
    else if (gethostname(ag.hostname, sizeof(ag.hostname) - 1))
        snprintf(ag.hostname, sizeof(ag.hostname), "localhost");
    snprintf(ag.service, sizeof(ag.service), "%s", a->service);
    snprintf(ag.coordinator, sizeof(ag.coordinator), "%s", a->coordinator ? a->coordinator : "");
    while (ag.coordinator[0] && ag.coordinator[strlen(ag.coordinator) - 1] == '/')
        ag.coordinator[strlen(ag.coordinator) - 1] = '\0';
    snprintf(ag.token, sizeof(ag.token), "%s", a->token ? a->token : "");
    snprintf(ag.state_dir, sizeof(ag.state_dir), "%s", a->state_dir);
    snprintf(ag.marker, sizeof(ag.marker), "%s/adhoc_running", ag.state_dir);

    char adhoc_dir[2100], spool_dir[2100];
    snprintf(adhoc_dir, sizeof(adhoc_dir), "%s/adhoc", ag.state_dir);
    snprintf(spool_dir, sizeof(spool_dir), "%s/spool", ag.state_dir);
    /* temp files a crash left: the state directory with results, adhoc/ and spool/, and the
     * kallsyms cache */
    size_t swept = 0, nswept;
    if (gp_tmp_sweep(ag.state_dir, 1, GP_SWEEP_PLAIN, &nswept) == 0)
        swept += nswept;
    if (gp_tmp_sweep(GP_KALLSYMS_CACHE_DIR, 0, GP_SWEEP_PLAIN, &nswept) == 0)
        swept += nswept;
    if (swept)
        gp_info("removed %zu stale temp file%s left by an earlier crash", swept,
                swept == 1 ? "" : "s");
    if (gp_results_open(&ag.results, ag.state_dir, (unsigned)a->keep, &err) ||
        gp_results_open(&ag.adhoc_results, adhoc_dir, (unsigned)a->keep, &err) ||
        gp_cmdmgr_open(ag.state_dir, &ag.mgr, &err) ||
        gp_completions_open(ag.state_dir, &ag.pending, &err)) {
        gp_error("%s", err.msg);
        return 1;
    }
    ag.hb = (struct gp_hb_client){.base_url = ag.coordinator,
                                  .token = ag.token[0] ? ag.token : NULL,
                                  .service = ag.service,
                                  .hostname = ag.hostname,
                                  .timeout_s = 10};
    if (ag.coordinator[0]) {
        if (gp_spool_open(spool_dir, a->spool_max, &ag.spool, &err)) {
            gp_error("%s", err.msg);
            return 1;
        }
        struct gp_sender_opts so = {.target = {.base_url = ag.coordinator,
                                               .token = ag.token[0] ? ag.token : NULL,
                                               .service = ag.service,
                                               .hostname = ag.hostname,
                                               .timeout_s = 20}};
        if (gp_sender_start(ag.spool, &so, &ag.sender, &err)) {
            gp_error("%s", err.msg);
            return 1;
        }
    }
    struct gp_slot_env env = {.hostname = ag.hostname,
                              .service = ag.service,
                              .coordinator = ag.coordinator[0] ? ag.coordinator : NULL,
                              .kind = a->kind,
                              .auto_fallback = !a->explicit_sampler,
                              .spool = ag.spool,
                              .sender = ag.sender,
                              .results = &ag.results,
                              .adhoc_results = &ag.adhoc_results,
                              .spawn = ag.spawn,
                              .upload_wait_s = (double)a->upload_wait,
                              .symbol_cache_bytes = (size_t)a->symbol_cache,
                              .on_done = on_adhoc_done,
                              .ctx = &ag};
    if (gp_cont_open(&env, &ag.cont, &err) || gp_adhoc_open(&env, &ag.adhoc, &err)) {
        gp_error("%s", err.msg);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (a->continuous && start_config_continuous(&ag))
        return 1;
    const char *smp = gp_cont_sampler(ag.cont); /* what actually loaded, after any fallback */
    gp_hb_probe_facts(&ag.facts, smp ? smp : a->kind == GP_SAMPLER_PERF ? "perf" : "bpf");
    if (gp_control_start(a->control_socket, on_control, &ag, &ag.control, &err))
        gp_warn("%s; gprofctl cannot reach this agent", err.msg);
    recover_marker(&ag);
    size_t npend = gp_completions_count(ag.pending);
    if (npend)
        gp_info("%zu command completion%s from before the restart wait%s for the coordinator",
                npend, npend == 1 ? "" : "s", npend == 1 ? "s" : "");
    gp_backoff_init(&ag.hb_backoff, (double)a->heartbeat_interval, 300, 0.1, 0);
    gp_info("gprof-agent %s on %s (service %s)%s%s; control socket %s", GPROF_VERSION, ag.hostname,
            ag.service, ag.coordinator[0] ? ", coordinator " : ", no coordinator", ag.coordinator,
            a->control_socket);
    sd_notify(0, "READY=1\nSTATUS=profiling");
    double next_hb = mono(), next_notify = 0;
    while (!g_stop) {
        if (g_reload) {
            g_reload = 0;
            apply_reload(&ag, argc, argv, &c);
            ag.hb_backoff.base_s = (double)ag.cfg.heartbeat_interval;
            next_hb = mono();
        }
        if (ag.coordinator[0] && mono() >= next_hb) {
            unsigned failures = ag.hb_backoff.failures;
            if (heartbeat(&ag) == 0) {
                gp_backoff_reset(&ag.hb_backoff);
                if (failures && ag.sender) /* the coordinator is back: send the spool now */
                    gp_sender_kick(ag.sender);
                next_hb = mono() +
                          gp_jitter((double)ag.cfg.heartbeat_interval, 0.1, &ag.hb_backoff.rng);
            } else {
                double d = gp_backoff_fail(&ag.hb_backoff);
                gp_debug("next heartbeat in %.1f s", d);
                next_hb = mono() + d;
            }
        }
        dispatch(&ag);
        if (ag.coordinator[0] && ag.last_hb_ok && ag.last_hb_ok == ag.last_hb)
            flush_completions(&ag);
        if (mono() >= next_notify) {
            notify_status(&ag);
            next_notify = mono() + 1;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    gp_info("stopping: finishing the current sessions");
    sd_notify(0, "STOPPING=1\nSTATUS=finishing the current sessions");
    gp_control_stop(ag.control);
    if (ag.sender)
        gp_sender_cancel_waits(ag.sender);
    gp_adhoc_close(ag.adhoc);
    gp_cont_close(ag.cont);
    if (ag.coordinator[0])
        flush_completions(&ag);
    if (ag.sender) {
        gp_sender_stop(ag.sender, 5); /* one quick try; what is left stays spooled */
        struct gp_spool_stats ss;
        gp_spool_stats(ag.spool, &ss);
        if (ss.items)
            gp_info("%zu profile%s stay spooled in %s for the next start", ss.items,
                    ss.items == 1 ? "" : "s", spool_dir);
    }
    gp_spool_close(ag.spool);
    gp_cmdmgr_close(ag.mgr);
    gp_completions_close(ag.pending);
    gp_results_close(&ag.results);
    gp_results_close(&ag.adhoc_results);
    gp_config_free(c);
    curl_global_cleanup();
    gp_info("stopped");
    return 0;
}
