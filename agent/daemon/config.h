/* config.h — gprof-agent's configuration: flags, then the config file, then GPROF_* environment
 * variables, checked and read into one struct (also on SIGHUP). */
#ifndef GPROF_AGENT_DAEMON_CONFIG_H
#define GPROF_AGENT_DAEMON_CONFIG_H

#include <stdint.h>

#include "agent/sampler/sampler.h"
#include "common/config.h"
#include "common/err.h"

struct agent_cfg {
    const char *coordinator, *service, *token, *state_dir, *hostname, *control_socket;
    int64_t duration, frequency, keep, heartbeat_interval, upload_wait;
    uint64_t spool_max, symbol_cache;
    uint64_t unwind_tables_max;  /* 0: frame pointers only */
    const char *debuginfod_urls; /* NULL: $DEBUGINFOD_URLS */
    int64_t debuginfod_timeout;
    uint64_t debuginfod_max_size;
    int continuous;
    const char *ca_file;        /* NULL: the system CA store */
    int no_verify;              /* accept any coordinator certificate (insecure, logged) */
    const char *metrics_listen; /* NULL: no local /metrics */
    enum gp_sampler_kind kind;
    int explicit_sampler;
    char token_buf[512];
};

/* Flags, then the config file, then the environment, into a fresh config (*out, which the
 * strings of a point into). Returns 0, 1 when --help or --version was answered (exit 0), or a
 * negative errno with a message. */
int gp_agent_read_config(int argc, char **argv, struct gp_config **out, struct agent_cfg *a,
                         struct gp_err *err);

#endif
