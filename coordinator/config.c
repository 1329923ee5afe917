/* config.c — coordinator settings (see config.h). */
#include "coordinator/config.h"
#include "coordinator/http/ratelimit.h"
#include "common/config.h"
#include "common/log.h"
#include "coordinator/http/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const char *const coord_config_keys[] = {"listen",
                                         "tls_cert",
                                         "tls_key",
                                         "allow_plaintext",
                                         "metrics_public",
                                         "state_dir",
                                         "meta",
                                         "blobs",
                                         "index",
                                         "blob_spool",
                                         "blob_spool_uploaders",
                                         "blob_spool_max_bytes",
                                         "meta_user",
                                         "meta_password",
                                         "meta_password_file",
                                         "blobs_user",
                                         "blobs_password",
                                         "blobs_password_file",
                                         "index_user",
                                         "index_password",
                                         "index_password_file",
                                         "auth",
                                         "ui_token",
                                         "ui_basic_auth",
                                         "trusted_proxy_header",
                                         "trusted_proxies",
                                         "session_ttl_s",
                                         "http_threads",
                                         "request_timeout_s",
                                         "max_connections",
                                         "max_connections_per_ip",
                                         "header_timeout_s",
                                         "body_timeout_s",
                                         "control_rate",
                                         "control_burst",
                                         "login_rate",
                                         "login_burst",
                                         "allowed_hosts",
                                         "allowed_origins",
                                         "max_upload_bytes",
                                         "max_request_bytes",
                                         "max_decompressed_bytes",
                                         "heartbeat_interval_s",
                                         "max_hosts_per_request",
                                         "max_profiling_share_pct",
                                         "max_tracked_hosts",
                                         "host_expiry_days",
                                         "retention_days",
                                         "stacks_count_default",
                                         "stacks_count_max",
                                         "answer_cache_mb",
                                         "indexer_poll_ms",
                                         "retention_interval_s",
                                         "log_level",
                                         "ui_dir",
                                         NULL};

#define DEFAULT_CONFIG_FILE "/etc/gprof/coordinator.conf"

static int copy_str(char *dst, size_t dsz, const char *v, const char *key, struct gp_err *err)
{
    if (strlen(v) >= dsz)
        return gp_err_set(err, -EINVAL, "setting %s is longer than %zu characters", key, dsz - 1);
    strcpy(dst, v);
    return 0;
}

/* The first line of path (a secret: never echoed), without its newline. */
static int read_password_file(const char *path, const char *key, char *out, size_t sz,
                              struct gp_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return gp_err_set(err, -errno, "setting %s: cannot read %s: %s", key, path,
                          strerror(errno));
    if (!fgets(out, (int)sz, f))
        out[0] = 0;
    fclose(f);
    out[strcspn(out, "\r\n")] = 0;
    if (!out[0])
        return gp_err_set(err, -EINVAL, "setting %s: %s is empty", key, path);
    return 0;
}

/* A rate limit's two keys, NAME_rate ("10/s", "600/m", 0 = off) and NAME_burst. */
static int get_limit(struct gp_config *cfg, const char *name, const char *def_rate,
                     int64_t def_burst, double *rate, unsigned *burst, struct gp_err *err)
{
    char key[64];
    snprintf(key, sizeof(key), "%s_rate", name);
    const char *v = gp_config_get(cfg, key);
    int rc = http_ratelimit_parse_rate(key, v ? v : def_rate, rate, err);
    if (rc)
        return rc;
    int64_t x;
    snprintf(key, sizeof(key), "%s_burst", name);
    if ((rc = gp_config_get_i64(cfg, key, def_burst, 1, 1000000, &x, err)))
        return rc;
    *burst = (unsigned)x;
    return 0;
}

int coord_config_load(struct coord_config *c, int argc, char **argv, struct gp_err *err)
{
    memset(c, 0, sizeof(*c));
    struct gp_config *cfg = gp_config_new();
    if (!cfg)
        return gp_err_set(err, -ENOMEM, "out of memory");
    int rc = 0;
    const char *file = getenv("GPROF_CONFIG");
    bool file_explicit = file != NULL;
    for (int i = 0; i < argc && rc == 0; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *key = NULL;
        char kbuf[128];
        if (strncmp(a, "--", 2) != 0) {
            rc = gp_err_set(err, -EINVAL, "unexpected argument '%s' (see --help)", a);
            break;
        }
        const char *eq = strchr(a, '=');
        if (eq) {
            snprintf(kbuf, sizeof(kbuf), "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            snprintf(kbuf, sizeof(kbuf), "%s", a + 2);
            if (i + 1 >= argc) {
                rc = gp_err_set(err, -EINVAL, "option --%s needs a value", kbuf);
                break;
            }
            val = argv[++i];
        }
        key = kbuf;
        if (strcmp(key, "config") == 0) {
            file = val;
            file_explicit = true;
            continue;
        }
        if (strcmp(key, "set") == 0) {
            const char *e2 = strchr(val, '=');
            if (!e2) {
                rc = gp_err_set(err, -EINVAL, "--set needs key=value, got '%s'", val);
                break;
            }
            snprintf(kbuf, sizeof(kbuf), "%.*s", (int)(e2 - val), val);
            val = e2 + 1;
        }
        bool known = false;
        char norm[128];
        snprintf(norm, sizeof(norm), "%s", key);
        for (char *p = norm; *p; p++)
            if (*p == '-')
                *p = '_';
        for (int k = 0; coord_config_keys[k]; k++)
            known |= strcmp(coord_config_keys[k], norm) == 0;
        if (!known) {
            rc = gp_err_set(err, -EINVAL, "unknown option --%s (see --help)", key);
            break;
        }
        rc = gp_config_set(cfg, norm, val, GP_CFG_FLAG, err);
    }
    if (rc == 0 && file) {
        if (access(file, F_OK) == 0 || file_explicit)
            rc = gp_config_load_file(cfg, file, coord_config_keys, err);
        snprintf(c->config_file, sizeof(c->config_file), "%s", file);
    } else if (rc == 0 && access(DEFAULT_CONFIG_FILE, R_OK) == 0) {
        rc = gp_config_load_file(cfg, DEFAULT_CONFIG_FILE, coord_config_keys, err);
        snprintf(c->config_file, sizeof(c->config_file), "%s", DEFAULT_CONFIG_FILE);
    }
    if (rc == 0)
        rc = gp_config_load_env(cfg, "GPROF_", coord_config_keys, err);
    if (rc)
        goto out;

    const char *v;
    v = gp_config_get(cfg, "listen");
    if ((rc = copy_str(c->listen, sizeof(c->listen), v ? v : COORD_DEFAULT_LISTEN, "listen", err)))
        goto out;
    v = gp_config_get(cfg, "state_dir");
    if ((rc = copy_str(c->state_dir, sizeof(c->state_dir), v ? v : COORD_DEFAULT_STATE_DIR,
                       "state_dir", err)))
        goto out;
    if ((v = gp_config_get(cfg, "meta")) &&
        (rc = copy_str(c->meta, sizeof(c->meta), v, "meta", err)))
        goto out;
    if ((v = gp_config_get(cfg, "blobs")) &&
        (rc = copy_str(c->blobs, sizeof(c->blobs), v, "blobs", err)))
        goto out;
    if ((v = gp_config_get(cfg, "index")) &&
        (rc = copy_str(c->index, sizeof(c->index), v, "index", err)))
        goto out;
    v = gp_config_get(cfg, "blob_spool");
    if (!v || strcasecmp(v, "auto") == 0) {
        c->blob_spool = c->blobs[0] && strncmp(c->blobs, "fs:", 3) != 0;
    } else if (strcasecmp(v, "on") == 0 || strcasecmp(v, "off") == 0) {
        c->blob_spool = strcasecmp(v, "on") == 0;
    } else {
        rc = gp_err_set(err, -EINVAL, "setting blob_spool must be auto, on or off, got '%.40s'", v);
        goto out;
    }
    {
        int64_t n;
        if ((rc = gp_config_get_i64(cfg, "blob_spool_uploaders", 4, 1, 64, &n, err)) ||
            (rc = gp_config_get_size(cfg, "blob_spool_max_bytes", UINT64_C(1) << 30,
                                     &c->blob_spool_max_bytes, err)))
            goto out;
        c->blob_spool_uploaders = (unsigned)n;
    }
    for (int r = 0; r < 3; r++) {
        static const char *const role[] = {"meta", "blobs", "index"};
        struct coord_store_cred *cr = &c->cred[r];
        char key[32];
        snprintf(key, sizeof(key), "%s_user", role[r]);
        if ((v = gp_config_get(cfg, key)) &&
            (rc = copy_str(cr->user, sizeof(cr->user), v, key, err)))
            goto out;
        snprintf(key, sizeof(key), "%s_password", role[r]);
        if ((v = gp_config_get(cfg, key)) &&
            (rc = copy_str(cr->password, sizeof(cr->password), v, key, err)))
            goto out;
        snprintf(key, sizeof(key), "%s_password_file", role[r]);
        if ((v = gp_config_get(cfg, key)) && *v && !cr->password[0] && /* "" = unset */
            (rc = read_password_file(v, key, cr->password, sizeof(cr->password), err)))
            goto out;
    }
    if ((v = gp_config_get(cfg, "ui_token")) &&
        (rc = copy_str(c->ui_token, sizeof(c->ui_token), v, "ui_token", err)))
        goto out;
    if ((v = gp_config_get(cfg, "ui_basic_auth"))) {
        if (*v && !strchr(v, ':')) {
            rc = gp_err_set(err, -EINVAL, "setting ui_basic_auth must be user:password");
            goto out;
        }
        if ((rc = copy_str(c->ui_basic_auth, sizeof(c->ui_basic_auth), v, "ui_basic_auth", err)))
            goto out;
    }
    if ((v = gp_config_get(cfg, "tls_cert")) &&
        (rc = copy_str(c->tls_cert, sizeof(c->tls_cert), v, "tls_cert", err)))
        goto out;
    if ((v = gp_config_get(cfg, "tls_key")) &&
        (rc = copy_str(c->tls_key, sizeof(c->tls_key), v, "tls_key", err)))
        goto out;
    if (!c->tls_cert[0] != !c->tls_key[0]) {
        rc = gp_err_set(err, -EINVAL,
                        "setting %s is missing: HTTPS needs both tls_cert (--tls-cert, the PEM "
                        "certificate chain) and tls_key (--tls-key, its PEM private key)",
                        c->tls_cert[0] ? "tls_key" : "tls_cert");
        goto out;
    }
    int flag;
    if ((rc = gp_config_get_bool(cfg, "allow_plaintext", 0, &flag, err)))
        goto out;
    c->allow_plaintext = flag;
    if ((rc = gp_config_get_bool(cfg, "metrics_public", 0, &flag, err)))
        goto out;
    c->metrics_public = flag;
    if ((v = gp_config_get(cfg, "ui_dir")) &&
        (rc = copy_str(c->ui_dir, sizeof(c->ui_dir), v, "ui_dir", err)))
        goto out;
    v = gp_config_get(cfg, "log_level");
    snprintf(c->log_level, sizeof(c->log_level), "%s", v ? v : "info");
    if (gp_log_parse_level(c->log_level) < 0) {
        rc = gp_err_set(err, -EINVAL, "setting log_level must be error, warn, info or debug");
        goto out;
    }
    int64_t x;
    if ((rc = gp_config_get_i64(cfg, "http_threads", 0, 0, 256, &x, err)))
        goto out;
    c->http_threads = (unsigned)x;
    if ((rc = gp_config_get_i64(cfg, "request_timeout_s", 30, 1, 3600, &x, err)))
        goto out;
    c->request_timeout_s = (unsigned)x;
    if ((rc = gp_config_get_i64(cfg, "max_connections", 4096, 16, 1000000, &x, err)))
        goto out;
    c->max_connections = (unsigned)x;
    c->max_connections_set = gp_config_get(cfg, "max_connections") != NULL;
    if ((rc = gp_config_get_i64(cfg, "max_connections_per_ip", 64, 0, 1000000, &x, err)))
        goto out;
    c->max_connections_per_ip = (unsigned)x;
    if ((rc = gp_config_get_i64(cfg, "header_timeout_s", 10, 1, 3600, &x, err)))
        goto out;
    c->header_timeout_s = (unsigned)x;
    if ((rc = gp_config_get_i64(cfg, "body_timeout_s", 60, 0, 86400, &x, err)))
        goto out;
    c->body_timeout_s = (unsigned)x;
    if ((rc = get_limit(cfg, "control", "10/s", 20, &c->control_rate, &c->control_burst, err)) ||
        (rc = get_limit(cfg, "login", "6/m", 10, &c->login_rate, &c->login_burst, err)))
        goto out;
    if ((v = gp_config_get(cfg, "allowed_hosts")) &&
        (rc = copy_str(c->allowed_hosts, sizeof(c->allowed_hosts), v, "allowed_hosts", err)))
        goto out;
    if ((v = gp_config_get(cfg, "allowed_origins")) &&
        (rc = copy_str(c->allowed_origins, sizeof(c->allowed_origins), v, "allowed_origins", err)))
        goto out;
    if ((v = gp_config_get(cfg, "trusted_proxy_header")) &&
        (rc = copy_str(c->trusted_proxy_header, sizeof(c->trusted_proxy_header), v,
                       "trusted_proxy_header", err)))
        goto out;
    if ((v = gp_config_get(cfg, "trusted_proxies")) &&
        (rc = copy_str(c->trusted_proxies, sizeof(c->trusted_proxies), v, "trusted_proxies", err)))
        goto out;
    if (c->trusted_proxy_header[0] && !c->trusted_proxies[0]) {
        rc = gp_err_set(err, -EINVAL,
                        "trusted_proxy_header needs trusted_proxies (the reverse proxy's "
                        "addresses, e.g. 127.0.0.1)");
        goto out;
    }
    if ((rc = gp_config_get_i64(cfg, "session_ttl_s", 12 * 3600, 60, 90 * 86400, &c->session_ttl_s,
                                err)))
        goto out;
    if ((rc = gp_config_get_size(cfg, "max_upload_bytes", 4u << 20, &c->max_upload_bytes, err)) ||
        (rc = gp_config_get_size(cfg, "max_request_bytes", 1u << 20, &c->max_request_bytes, err)) ||
        (rc = gp_config_get_size(cfg, "max_decompressed_bytes", 128u << 20,
                                 &c->max_decompressed_bytes, err)))
        goto out;
    if ((rc = gp_config_get_i64(cfg, "heartbeat_interval_s", 30, 1, 86400, &c->heartbeat_interval_s,
                                err)) ||
        (rc = gp_config_get_i64(cfg, "max_hosts_per_request", 100, 0, 1000000,
                                &c->max_hosts_per_request, err)) ||
        (rc = gp_config_get_i64(cfg, "max_profiling_share_pct", 100, 0, 100,
                                &c->max_profiling_share_pct, err)) ||
        (rc = gp_config_get_i64(cfg, "max_tracked_hosts", 100000, 1, 10000000,
                                &c->max_tracked_hosts, err)) ||
        (rc = gp_config_get_i64(cfg, "host_expiry_days", 7, -1, 3650, &c->host_expiry_days, err)) ||
        (rc = gp_config_get_i64(cfg, "retention_days", 30, -1, 36500, &c->retention_days, err)) ||
        (rc = gp_config_get_i64(cfg, "stacks_count_default", 10000, 1, 10000000,
                                &c->stacks_count_default, err)) ||
        (rc = gp_config_get_i64(cfg, "stacks_count_max", 1000000, 1, 100000000,
                                &c->stacks_count_max, err)) ||
        (rc = gp_config_get_i64(cfg, "answer_cache_mb", 64, 0, 65536, &c->answer_cache_mb, err)) ||
        (rc = gp_config_get_i64(cfg, "indexer_poll_ms", 500, 10, 600000, &c->indexer_poll_ms,
                                err)) ||
        (rc = gp_config_get_i64(cfg, "retention_interval_s", 3600, 1, 864000,
                                &c->retention_interval_s, err)))
        goto out;
    if (c->host_expiry_days == 0) {
        rc = gp_err_set(err, -EINVAL,
                        "setting host_expiry_days must be >= 1 (or -1 = never forget hosts)");
        goto out;
    }
    if (c->retention_days == 0) {
        rc = gp_err_set(err, -EINVAL, "setting retention_days must be >= 1 (or -1 = keep forever)");
        goto out;
    }

    char host[256];
    uint16_t port;
    if ((rc = http_parse_listen(c->listen, host, sizeof(host), &port, err)))
        goto out;
    bool loopback = http_addr_is_loopback(host);
    v = gp_config_get(cfg, "auth");
    if (!v || strcasecmp(v, "auto") == 0) {
        c->auth = !loopback;
        c->auth_auto = true;
    } else {
        int b;
        if (gp_parse_bool(v, &b) != 0) {
            rc = gp_err_set(err, -EINVAL, "setting auth must be on, off or auto, got '%s'", v);
            goto out;
        }
        c->auth = b;
    }
    if (!loopback && !c->tls_cert[0] && !c->allow_plaintext) {
        rc = gp_err_set(err, -EPERM,
                        "refusing to listen on %s without TLS: agent tokens, credentials and "
                        "profiles would cross the network in clear text. Set tls_cert and tls_key "
                        "(--tls-cert FILE --tls-key FILE), or allow_plaintext = on "
                        "(--allow-plaintext on) if the network is trusted",
                        c->listen);
        goto out;
    }
    if (!c->auth && !loopback) {
        rc = gp_err_set(err, -EPERM,
                        "refusing to listen on %s with auth = off: anyone on the network could "
                        "upload profiles and start profiling. Set auth = on (and ui_token or "
                        "ui_basic_auth for the UI), or listen on 127.0.0.1",
                        c->listen);
        goto out;
    }
out:
    gp_config_free(cfg);
    return rc;
}
