/* main.c — gprof-agent: profiles the host continuously in back-to-back sessions, keeps every
 * result in its state directory and uploads it to a coordinator when one is configured. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "agent/header.h"
#include "agent/hostmetrics.h"
#include "agent/results.h"
#include "agent/session.h"
#include "agent/uploader.h"
#include "common/collapsed.h"
#include "common/config.h"
#include "common/log.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static const char *const known_keys[] = {
        "coordinator", "service",   "token",   "token_file",   "state_dir", "hostname",
        "duration",    "frequency", "sampler", "keep_results", "log_level", NULL,
};

static const char usage_text[] =
        "usage: gprof-agent [--config FILE] [--coordinator URL] [--service NAME] [--token T]\n"
        "                   [--token-file FILE] [--state-dir DIR] [--hostname H] [-d SECONDS]\n"
        "                   [-F HZ] [--sampler bpf|perf] [--keep-results N] [--log-level L]\n"
        "\n"
        "Profiles the whole host in back-to-back sessions of -d seconds (default 60) at -F Hz\n"
        "(default 11). Each session is kept in STATE_DIR/results (newest as last_profile.col and\n"
        "last_flamegraph.html) and, with --coordinator, uploaded as a gProfiler agent does.\n"
        "Every option is also a key in the config file (default /etc/gprof/agent.conf; `key =\n"
        "value`, dashes become underscores) and a GPROF_<KEY> environment variable.\n";

struct agent_cfg {
    const char *coordinator, *service, *token, *state_dir, *hostname;
    int64_t duration, frequency, keep;
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
    if (!a->state_dir)
        a->state_dir = "/var/lib/gprof-agent";
    if (!a->service)
        a->service = "default";
    if ((rc = gp_config_get_i64(c, "duration", 60, 1, 86400, &a->duration, err)) ||
        (rc = gp_config_get_i64(c, "frequency", 11, 1, 1000, &a->frequency, err)) ||
        (rc = gp_config_get_i64(c, "keep_results", 60, 1, 100000, &a->keep, err)))
        return rc;
    const char *tf = gp_config_get(c, "token_file");
    if (!a->token && tf) {
        if ((rc = read_token_file(tf, a->token_buf, sizeof(a->token_buf), err)))
            return rc;
        a->token = a->token_buf;
    }
    const char *s = gp_config_get(c, "sampler");
    a->kind = GP_SAMPLER_BPF;
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
            {"sampler", required_argument, NULL, 7},
            {"keep-results", required_argument, NULL, 8},
            {"log-level", required_argument, NULL, 9},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {0},
    };
    static const char *const keys[] = {
            [1] = "coordinator", [2] = "service",      [3] = "token",
            [4] = "token_file",  [5] = "state_dir",    [6] = "hostname",
            [7] = "sampler",     [8] = "keep_results", [9] = "log_level"};
    int o, rc;
    while ((o = getopt_long(argc, argv, "c:d:F:hV", opts, NULL)) != -1) {
        const char *key = NULL;
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
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        case 'V':
            printf("gprof-agent %s\n", GPROF_VERSION);
            return 1;
        default:
            if (o >= 1 && o <= 9) {
                key = keys[o];
                break;
            }
            fputs(usage_text, stderr);
            return gp_err_set(err, -EINVAL, "invalid arguments");
        }
        if ((rc = gp_config_set(c, key, optarg, GP_CFG_FLAG, err)))
            return rc;
    }
    if (optind < argc)
        return gp_err_set(err, -EINVAL, "unexpected argument '%s'", argv[optind]);
    return 0;
}

static void on_progress(const struct gp_session_progress *p, void *ctx)
{
    struct gp_hostmetrics *m = ctx;
    gp_hostmetrics_sample(m);
    sd_notify(0, "WATCHDOG=1");
}

int main(int argc, char **argv)
{
    struct gp_err err = {0};
    struct gp_config *c = gp_config_new();
    const char *config_path = NULL;
    struct agent_cfg a = {0};
    if (!c) {
        fprintf(stderr, "gprof-agent: out of memory\n");
        return 1;
    }
    if (getenv("JOURNAL_STREAM"))
        gp_log_set_journal(1);
    int rc = parse_args(argc, argv, c, &config_path, &err);
    if (rc > 0) {
        gp_config_free(c);
        return 0;
    }
    if (!rc) {
        const char *path = config_path ? config_path : "/etc/gprof/agent.conf";
        if (config_path || access(path, F_OK) == 0)
            rc = gp_config_load_file(c, path, known_keys, &err);
    }
    if (!rc)
        rc = gp_config_load_env(c, "GPROF_", known_keys, &err);
    if (!rc)
        rc = load_config(c, &a, &err);
    if (rc) {
        gp_error("%s", err.msg);
        gp_config_free(c);
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);

    struct gp_results res;
    if (gp_results_open(&res, a.state_dir, (unsigned)a.keep, &err)) {
        gp_error("%s", err.msg);
        return 1;
    }
    char hostname[256];
    if (a.hostname)
        snprintf(hostname, sizeof(hostname), "%s", a.hostname);
    else if (gethostname(hostname, sizeof(hostname) - 1))
        snprintf(hostname, sizeof(hostname), "localhost");

    struct gp_session_opts so = {
            .sampler = {.kind = a.kind,
                        .event = GP_EVENT_CPU_CLOCK,
                        .freq_hz = (unsigned)a.frequency},
            .auto_fallback = !a.explicit_sampler,
            .duration_s = (double)a.duration,
            .hostname = hostname,
            .run_mode = "continuous",
            .keep_running = 1,
    };
    struct gp_session *s;
    char notice[256];
    if (gp_session_open(&so, &s, notice, sizeof(notice), &err)) {
        gp_error("%s", err.msg);
        return 1;
    }
    if (notice[0])
        gp_warn("%s", notice);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct gp_upload_target target = {.base_url = a.coordinator,
                                      .token = a.token,
                                      .service = a.service,
                                      .hostname = hostname,
                                      .timeout_s = 30};
    char gpid[64] = "";
    time_t spawn = time(NULL);
    unsigned long sessions = 0;
    struct gp_hostmetrics hm;
    gp_hostmetrics_begin(&hm);
    gp_info("profiling the host in %llds sessions at %lld Hz (%s sampler)%s%s",
            (long long)a.duration, (long long)a.frequency,
            gp_session_sampler_kind(s) == GP_SAMPLER_BPF ? "bpf" : "perf",
            a.coordinator ? ", uploading to " : "", a.coordinator ? a.coordinator : "");
    sd_notify(0, "READY=1\nSTATUS=profiling");
    int status = 0;
    while (!status) {
        if (gp_session_run(s, &g_stop, on_progress, &hm, &err)) {
            gp_error("%s", err.msg);
            status = 1;
            break;
        }
        struct gp_header_info extra = {.service = a.service};
        gp_hostmetrics_end(&hm, &extra.cpu_avg, &extra.mem_avg);
        struct gp_profile *p = gp_session_take_profile(s, &extra);
        if (!p) {
            gp_error("out of memory building the session's profile");
            status = 1;
            break;
        }
        struct gp_result_paths rp;
        struct strbuf col = STRBUF_INIT;
        if (gp_results_write(&res, p, &col, &rp, &err))
            gp_error("keeping the session's result: %s", err.msg);
        sessions++;
        if (a.coordinator && col.len) {
            json_object *md = json_object_object_get(gp_profile_header(p), "metadata");
            struct gp_upload u = {.profile = col.buf,
                                  .profile_len = col.len,
                                  .spawn = spawn,
                                  .cpu_avg = extra.cpu_avg,
                                  .mem_avg = extra.mem_avg,
                                  .upload_id = rp.id};
            (void)md;
            u.start = rp.start;
            u.end = rp.end;
            if (gp_upload_profile(&target, &u, gpid, sizeof(gpid), &err))
                gp_warn("session %lu kept locally (%s), not uploaded: %s", sessions, rp.col,
                        err.msg);
        }
        sd_notifyf(0, "STATUS=%lu sessions; last %s", sessions, rp.col);
        sb_free(&col);
        gp_profile_free(p);
        if (g_stop)
            break;
    }
    sd_notify(0, "STOPPING=1");
    gp_session_close(s);
    gp_results_close(&res);
    gp_config_free(c);
    curl_global_cleanup();
    gp_info("stopped after %lu sessions", sessions);
    return status;
}
