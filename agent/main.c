/* main.c — gprof-agent: profiles the host continuously in back-to-back sessions, keeps every
 * result in its state directory, uploads through a durable spool, takes profiling commands from
 * a coordinator's heartbeats and from gprofctl over the local control socket. This file is the
 * lifecycle (start, main loop, SIGHUP reload, shutdown); daemon/ holds the configuration, command
 * dispatch and control-socket handlers. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "agent/daemon/config.h"
#include "agent/daemon/control_handlers.h"
#include "agent/daemon/dispatch.h"
#include "agent/daemon/metrics.h"
#include "agent/daemon/state.h"
#include "agent/symbols/debuginfod.h"
#include "agent/symbols/kallsyms_cache.h"
#include "agent/unwind/registry.h"
#include "common/curl_tls.h"
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
    if (gp_agent_read_config(argc, argv, &c, &n, &err)) {
        gp_error("SIGHUP: configuration not reloaded: %s", err.msg);
        return;
    }
    if (strcmp(n.service, ag->service) ||
        strcmp(n.hostname ? n.hostname : "", ag->cfg.hostname ? ag->cfg.hostname : "") ||
        strcmp(n.coordinator ? n.coordinator : "", ag->coordinator) ||
        strcmp(n.state_dir, ag->state_dir))
        gp_warn("SIGHUP: coordinator, service, hostname and state_dir changes need a restart");
    if (strcmp(n.ca_file ? n.ca_file : "", ag->cfg.ca_file ? ag->cfg.ca_file : "") ||
        n.no_verify != ag->cfg.no_verify ||
        strcmp(n.metrics_listen ? n.metrics_listen : "",
               ag->cfg.metrics_listen ? ag->cfg.metrics_listen : ""))
        gp_warn("SIGHUP: ca_file, no_verify and metrics_listen changes need a restart");
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
        gp_agent_start_continuous(ag);
    /* the old strings stay valid until here: ag->cfg now points into the new config */
    ag->cfg.coordinator = n.coordinator;
    ag->cfg.service = n.service;
    ag->cfg.token = NULL;
    ag->cfg.state_dir = n.state_dir;
    ag->cfg.hostname = n.hostname;
    ag->cfg.control_socket = n.control_socket;
    ag->cfg.ca_file = n.ca_file;
    ag->cfg.no_verify = n.no_verify;
    ag->cfg.metrics_listen = n.metrics_listen;
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
    gp_agent_queue_completion(
            ag, id, 0, -1, "the agent restarted during this session; its samples were lost", NULL);
}

/* Stops and frees what main started, in dependency order; each step takes what is not started
 * (NULL). `graceful` (a SIGTERM after the main loop ran): completions are sent and the spool gets
 * one quick try; after a failed start nothing is sent. */
static void release(struct agent *ag, struct gp_uw_registry *uw, const char *spool_dir,
                    int graceful)
{
    gp_control_stop(ag->control);
    gp_metrics_http_stop(ag->metrics_http);
    if (ag->sender)
        gp_sender_cancel_waits(ag->sender);
    gp_adhoc_close(ag->adhoc);
    gp_cont_close(ag->cont);
    gp_uw_registry_free(uw); /* after the sessions sharing it */
    if (graceful && ag->coordinator[0])
        gp_agent_flush_completions(ag);
    if (ag->sender) {
        gp_sender_stop(ag->sender, graceful ? 5 : 0); /* one quick try; the rest stays spooled */
        struct gp_spool_stats ss;
        gp_spool_stats(ag->spool, &ss);
        if (ss.items)
            gp_info("%zu profile%s stay spooled in %s for the next start", ss.items,
                    ss.items == 1 ? "" : "s", spool_dir);
    }
    gp_spool_close(ag->spool);
    gp_cmdmgr_close(ag->mgr);
    gp_completions_close(ag->pending);
    gp_results_close(&ag->results);
    gp_results_close(&ag->adhoc_results);
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
    static struct agent ag;           /* large; lives for the whole run */
    struct gp_uw_registry *uw = NULL; /* the agent's unwind registry (below) */
    if (getenv("JOURNAL_STREAM"))
        gp_log_set_journal(1);
    int rc = gp_agent_read_config(argc, argv, &c, &ag.cfg, &err);
    if (rc > 0)
        return 0;
    if (rc) {
        gp_error("%s", err.msg);
        return 1;
    }
    struct agent_cfg *a = &ag.cfg;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gp_curl_tls_set(a->ca_file, a->no_verify);
    gp_curl_tls_warn("gprof-agent");
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
        goto fail;
    }
    /* before any thread starts: libdebuginfod is configured through the environment */
    char dfd_cache[2100];
    snprintf(dfd_cache, sizeof(dfd_cache), "%s/debuginfod", ag.state_dir);
    struct gp_debuginfod_cfg dc = {.urls = a->debuginfod_urls,
                                   .cache_dir = dfd_cache,
                                   .timeout_s = (unsigned)a->debuginfod_timeout,
                                   .max_bytes = a->debuginfod_max_size};
    if (gp_debuginfod_configure(&dc, &err) < 0) {
        gp_error("%s", err.msg);
        goto fail;
    }
    ag.hb = (struct gp_hb_client){.base_url = ag.coordinator,
                                  .token = ag.token[0] ? ag.token : NULL,
                                  .service = ag.service,
                                  .hostname = ag.hostname,
                                  .timeout_s = 10};
    if (ag.coordinator[0]) {
        if (gp_spool_open(spool_dir, a->spool_max, &ag.spool, &err)) {
            gp_error("%s", err.msg);
            goto fail;
        }
        struct gp_sender_opts so = {.target = {.base_url = ag.coordinator,
                                               .token = ag.token[0] ? ag.token : NULL,
                                               .service = ag.service,
                                               .hostname = ag.hostname,
                                               .timeout_s = 20}};
        if (gp_sender_start(ag.spool, &so, &ag.sender, &err)) {
            gp_error("%s", err.msg);
            goto fail;
        }
    }
    if (a->metrics_listen) {
        if (gp_metrics_http_start(&ag, a->metrics_listen, &ag.metrics_http, &err)) {
            gp_error("%s", err.msg);
            goto fail;
        }
        gp_info("serving the agent's counters on http://%s/metrics", a->metrics_listen);
    }
    /* One unwind registry for the agent: the continuous and the ad hoc sessions share its tables
     * (each built once), each session's sampler holding the tables its own processes map. */
    if (a->unwind_tables_max) {
        struct gp_uw_registry_opts ro = {.max_bytes = (size_t)a->unwind_tables_max};
        if (gp_uw_registry_new(&ro, &uw, &err)) {
            gp_error("%s", err.msg);
            goto fail;
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
                              .unwind_tables_max = (size_t)a->unwind_tables_max,
                              .uw = uw,
                              .on_done = gp_agent_on_adhoc_done,
                              .ctx = &ag};
    if (gp_cont_open(&env, &ag.cont, &err) || gp_adhoc_open(&env, &ag.adhoc, &err)) {
        gp_error("%s", err.msg);
        goto fail;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (a->continuous && gp_agent_start_continuous(&ag))
        goto fail;
    const char *smp = gp_cont_sampler(ag.cont); /* what actually loaded, after any fallback */
    gp_hb_probe_facts(&ag.facts, smp ? smp : a->kind == GP_SAMPLER_PERF ? "perf" : "bpf");
    if (gp_control_start(a->control_socket, gp_agent_on_control, &ag, &ag.control, &err))
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
            if (gp_agent_heartbeat(&ag) == 0) {
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
        gp_agent_dispatch(&ag);
        if (ag.coordinator[0] && ag.last_hb_ok && ag.last_hb_ok == ag.last_hb)
            gp_agent_flush_completions(&ag);
        if (mono() >= next_notify) {
            notify_status(&ag);
            next_notify = mono() + 1;
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    gp_info("stopping: finishing the current sessions");
    sd_notify(0, "STOPPING=1\nSTATUS=finishing the current sessions");
    release(&ag, uw, spool_dir, 1);
    gp_config_free(c);
    curl_global_cleanup();
    pthread_mutex_destroy(&ag.mu);
    gp_info("stopped");
    return 0;

fail: /* a failed start: what started is stopped and freed, so the exit leaks nothing either */
    release(&ag, uw, spool_dir, 0);
    gp_config_free(c);
    curl_global_cleanup();
    pthread_mutex_destroy(&ag.mu);
    return 1;
}
