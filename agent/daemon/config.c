/* config.c — gprof-agent's options: the usage text, command-line flags, the config file and the
 * environment, checked into struct agent_cfg (see config.h). */
#include "agent/daemon/config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/control/control.h"
#include "agent/spool.h"
#include "agent/symbols/debuginfod.h"
#include "agent/unwind/registry.h"
#include "common/log.h"

static const char *const known_keys[] = {
        "coordinator",
        "service",
        "token",
        "token_file",
        "state_dir",
        "hostname",
        "duration",
        "frequency",
        "sampler",
        "keep_results",
        "log_level",
        "heartbeat_interval",
        "continuous",
        "control_socket",
        "spool_max",
        "upload_wait",
        "symbol_cache",
        "debuginfod_urls",
        "debuginfod_timeout",
        "debuginfod_max_size",
        "unwind_tables_max",
        "ca_file",
        "no_verify",
        "metrics_listen",
        NULL,
};

static const char usage_text[] =
        "usage: gprof-agent [--config FILE] [--coordinator URL] [--service NAME] [--token T]\n"
        "                   [--token-file FILE] [--state-dir DIR] [--hostname H]\n"
        "                   [--heartbeat-interval S] [--continuous | --no-continuous]\n"
        "                   [-d SECONDS] [-F HZ] [--sampler bpf|perf] [--keep-results N]\n"
        "                   [--control-socket PATH] [--spool-max SIZE] [--symbol-cache SIZE]\n"
        "                   [--debuginfod-urls URLS] [--unwind-tables-max SIZE]\n"
        "                   [--ca-file FILE] [--no-verify] [--metrics-listen ADDR:PORT]\n"
        "                   [--log-level L]\n"
        "\n"
        "Profiles the whole host in back-to-back sessions of -d seconds (default 60) at -F Hz\n"
        "(default 11); --no-continuous waits for commands instead. Each session is kept in\n"
        "STATE_DIR/results (newest as last_profile.col and last_flamegraph.html) and, with\n"
        "--coordinator, uploaded through an on-disk spool (STATE_DIR/spool, bounded by\n"
        "--spool-max, default 256M) that survives outages and restarts. --symbol-cache\n"
        "(default 16M) bounds each session's cache of ELF symbol tables.\n"
        "--debuginfod-urls (default: $DEBUGINFOD_URLS; \"\" = off) fetches the debug files of\n"
        "stripped binaries by build-id in the background into STATE_DIR/debuginfod, each within\n"
        "debuginfod_timeout seconds (default 30) and debuginfod_max_size bytes (default 256M).\n"
        "--unwind-tables-max (default 256M; 0: frame pointers only) bounds the kernel memory of\n"
        "the unwind tables that walk code built without frame pointers.\n"
        "An https:// coordinator's certificate is checked against the system CA store, or\n"
        "--ca-file FILE (PEM); --no-verify (as gProfiler's agent; --tls-ca-bundle is an alias of\n"
        "--ca-file) skips the check, insecure and logged as such. --metrics-listen serves the\n"
        "agent's counters as Prometheus text on GET /metrics at a loopback ADDR:PORT (off).\n"
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
        (rc = gp_config_get_size(c, "symbol_cache", 16u << 20, &a->symbol_cache, err)) ||
        (rc = gp_config_get_i64(c, "debuginfod_timeout", GP_DEBUGINFOD_DEFAULT_TIMEOUT_S, 1, 3600,
                                &a->debuginfod_timeout, err)) ||
        (rc = gp_config_get_size(c, "debuginfod_max_size", GP_DEBUGINFOD_DEFAULT_MAX_BYTES,
                                 &a->debuginfod_max_size, err)) ||
        (rc = gp_config_get_size(c, "unwind_tables_max", GP_UW_TABLES_MAX_DEFAULT,
                                 &a->unwind_tables_max, err)))
        return rc;
    a->debuginfod_urls = gp_config_get(c, "debuginfod_urls");
    a->ca_file = gp_config_get(c, "ca_file");
    a->metrics_listen = gp_config_get(c, "metrics_listen");
    if (a->metrics_listen && !*a->metrics_listen)
        a->metrics_listen = NULL;
    if ((rc = gp_config_get_bool(c, "no_verify", 0, &a->no_verify, err)))
        return rc;
    if (a->ca_file && *a->ca_file && access(a->ca_file, R_OK) != 0)
        return gp_err_set(err, -errno,
                          "ca_file %s: %s (give the PEM file of the CA that signed "
                          "the coordinator's certificate)",
                          a->ca_file, strerror(errno));
    if (a->debuginfod_max_size == 0)
        return gp_err_set(err, -EINVAL, "debuginfod_max_size 0: give a size such as 256M");
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
            {"debuginfod-urls", required_argument, NULL, 15},
            {"unwind-tables-max", required_argument, NULL, 16},
            {"ca-file", required_argument, NULL, 17},
            {"tls-ca-bundle", required_argument, NULL, 17},
            {"metrics-listen", required_argument, NULL, 18},
            {"no-verify", no_argument, NULL, 22},
            {"continuous", no_argument, NULL, 20},
            {"no-continuous", no_argument, NULL, 21},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {0},
    };
    static const char *const keys[] = {[1] = "coordinator",
                                       [2] = "service",
                                       [3] = "token",
                                       [4] = "token_file",
                                       [5] = "state_dir",
                                       [6] = "hostname",
                                       [7] = "sampler",
                                       [8] = "keep_results",
                                       [9] = "log_level",
                                       [10] = "heartbeat_interval",
                                       [11] = "control_socket",
                                       [12] = "spool_max",
                                       [13] = "upload_wait",
                                       [14] = "symbol_cache",
                                       [15] = "debuginfod_urls",
                                       [16] = "unwind_tables_max",
                                       [17] = "ca_file",
                                       [18] = "metrics_listen"};
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
        case 22:
            key = "no_verify";
            val = "true";
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        case 'V':
            printf("gprof-agent %s\n", GPROF_VERSION);
            return 1;
        default:
            if (o >= 1 && o <= 18) {
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
int gp_agent_read_config(int argc, char **argv, struct gp_config **out, struct agent_cfg *a,
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
