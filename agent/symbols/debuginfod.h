/* debuginfod.h — separate debug files fetched by build-id from debuginfod servers through
 * libdebuginfod (loaded on first use), on a worker thread, bounded in time and size. */
#ifndef GPROF_AGENT_SYMBOLS_DEBUGINFOD_H
#define GPROF_AGENT_SYMBOLS_DEBUGINFOD_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define GP_DEBUGINFOD_DEFAULT_TIMEOUT_S 30
#define GP_DEBUGINFOD_DEFAULT_MAX_BYTES (256ull << 20)

/* Each field left 0/NULL falls back to libdebuginfod's own variable, then to our default:
 *   urls       DEBUGINFOD_URLS (space-separated); "" turns fetching off
 *   cache_dir  DEBUGINFOD_CACHE_PATH, else libdebuginfod's (~/.cache/debuginfod_client);
 *              created 0700 when given
 *   timeout_s  DEBUGINFOD_TIMEOUT, else 30: the most one file may take, connection included
 *   max_bytes  DEBUGINFOD_MAXSIZE, else 256M: larger files are not fetched */
struct gp_debuginfod_cfg {
    const char *urls, *cache_dir;
    unsigned timeout_s;
    uint64_t max_bytes;
};

/* Process-wide: loads libdebuginfod and sets its environment (URLs, cache, bounds) for this
 * process. setenv() is not thread-safe: call it before other threads start (again only in
 * tests). Returns 1 when fetching is on (logged), 0 when off (no URLs, or libdebuginfod missing
 * at build or run time: a warning says what to install), or -errno (cache directory). */
int gp_debuginfod_configure(const struct gp_debuginfod_cfg *c, struct gp_err *err);
/* Did the last gp_debuginfod_configure() turn fetching on? */
int gp_debuginfod_enabled(void);

/* A fetch queue with its worker thread (started at the first request). */
struct gp_debuginfod;
int gp_debuginfod_new(struct gp_debuginfod **out);
/* Aborts the fetch in flight (within about a second), joins the worker, frees the queue. */
void gp_debuginfod_free(struct gp_debuginfod *d);
/* Queues a build-id; never waits for the network. A build-id fetched before is handed out
 * again by the next gp_debuginfod_take(); one that failed is not tried again. 0 or -ENOMEM. */
int gp_debuginfod_request(struct gp_debuginfod *d, const uint8_t *id, size_t len);
/* One fetched debug file not handed out yet: returns 1 with its build-id (id of GP_BUILD_ID_MAX
 * bytes, *len) and *path (malloc'd), or 0 when there is none. */
int gp_debuginfod_take(struct gp_debuginfod *d, uint8_t *id, size_t *len, char **path);

struct gp_debuginfod_stats {
    uint64_t requested, fetched, failed, pending;
};
void gp_debuginfod_stats(struct gp_debuginfod *d, struct gp_debuginfod_stats *out);

#endif
