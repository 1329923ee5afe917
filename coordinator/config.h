/* config.h — gprof-coordinator's settings: defaults, the config file (key = value), GPROF_*
 * environment variables and command-line flags (flag > env > file > default), validated. */
#ifndef GPROF_COORD_CONFIG_H
#define GPROF_COORD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define COORD_DEFAULT_LISTEN    "127.0.0.1:8080"
#define COORD_DEFAULT_STATE_DIR "/var/lib/gprof-coordinator"

/* Credentials of one store (config keys <role>_user, <role>_password, <role>_password_file),
 * used when the spec names none; "" = none. The password is never printed. */
struct coord_store_cred {
    char user[128];
    char password[256];
};

struct coord_config {
    char listen[128];
    char tls_cert[512], tls_key[512]; /* PEM files; both "" = plain HTTP */
    bool allow_plaintext;             /* plain HTTP on a non-loopback address */
    bool metrics_public;              /* GET /metrics without credentials */
    char state_dir[512];
    char meta[600], blobs[600], index[600]; /* "" = store defaults under state_dir */
    struct coord_store_cred cred[3];        /* meta, blobs, index (enum store_role order) */
    bool blob_spool;                        /* resolved: acknowledge uploads from a local spool */
    unsigned blob_spool_uploaders;          /* threads putting spooled uploads */
    uint64_t blob_spool_max_bytes;          /* spooled bodies before uploads put synchronously */
    bool auth;                              /* resolved: on/off */
    bool auth_auto;                         /* auth was decided by the listen address */
    char ui_token[256];
    char ui_basic_auth[256];
    char trusted_proxy_header[128]; /* e.g. X-Forwarded-User; "" = none */
    char trusted_proxies[1024];     /* addresses it is honoured from, comma separated */
    int64_t session_ttl_s;          /* UI session lifetime */
    unsigned http_threads;
    unsigned request_timeout_s;
    unsigned max_connections;
    bool max_connections_set;        /* given explicitly (else the default may be lowered to fit) */
    unsigned max_connections_per_ip; /* 0 = no limit */
    unsigned header_timeout_s;       /* whole request header deadline */
    unsigned body_timeout_s;         /* whole request body deadline (408) */
    double control_rate;             /* control requests per second per identity (0 = off) */
    unsigned control_burst;          /* bucket size of control_rate */
    double login_rate;               /* failed sign-ins per second per address and per name */
    unsigned login_burst;            /* bucket size of login_rate */
    char allowed_hosts[1024];        /* extra Host names ("*" = any) */
    char allowed_origins[1024];      /* extra origins for POST/PUT/DELETE */
    uint64_t max_upload_bytes;       /* compressed /api/v2/profiles body */
    uint64_t max_request_bytes;      /* other bodies */
    uint64_t max_decompressed_bytes; /* gzip bomb cap */
    int64_t heartbeat_interval_s;
    int64_t max_hosts_per_request;
    int64_t max_profiling_share_pct;
    int64_t max_tracked_hosts; /* (host, service) pairs remembered; least recently seen evicted */
    int64_t host_expiry_days;  /* hosts unseen this long are forgotten (-1 = never) */
    int64_t retention_days;
    int64_t stacks_count_default, stacks_count_max;
    int64_t answer_cache_mb; /* finished flame graphs kept (MiB, 0 = none) */
    int64_t indexer_poll_ms, retention_interval_s;
    char log_level[16];
    char ui_dir[512]; /* "" = serve the UI built into the binary */
    char config_file[512];
};

/* The settings every source may set (NULL-terminated). */
extern const char *const coord_config_keys[];

/* Loads defaults, then the file (--config or GPROF_CONFIG; a missing default file is fine),
 * env, flags. argv holds only the service flags (--config, --listen, --state-dir, and
 * --set key=value for anything else). Errors say which setting is wrong and how to fix it,
 * including the refusal to run without auth on a non-loopback address. */
int coord_config_load(struct coord_config *c, int argc, char **argv, struct gp_err *err);

#endif
