/* plane_internal.h — what the control plane's files share: the plane, its heartbeat cache
 * entries, the field bounds of agent messages, and the helpers each file offers the others. */
#ifndef GPROF_COORD_CONTROL_PLANE_INTERNAL_H
#define GPROF_COORD_CONTROL_PLANE_INTERNAL_H

#include "coordinator/control/command.h"
#include "coordinator/control/plane.h"

#include <pthread.h>
#include <stdarg.h>

#define NBUCKETS 16384

/* One (host, service) as seen by heartbeats, with its current command cached. A cache only:
 * an entry can be dropped at any time (its command is reloaded from the store on demand), at
 * worst losing one heartbeat not yet written. */
struct hb_entry {
    struct hb_entry *next;
    struct hb_entry *lru_prev, *lru_next; /* least recently seen first */
    uint64_t hash;
    char *host, *service;
    /* latest heartbeat, written behind */
    char ip[64];
    char *agent_version, *last_cmd, *received, *executed;
    int64_t ts;
    bool dirty;
    /* in memory only: the agent's running sessions (compact JSON, NULL when it does not say)
     * and the gap between its last two heartbeats, shown by host_status */
    char *sessions;
    int64_t gap;
    /* current command */
    bool cmd_loaded;
    int64_t cmd_loaded_at; /* time(NULL) when read from the store */
    bool deliver;          /* returned on heartbeats */
    bool pending;          /* status 'pending': first delivery marks it sent */
    char command_id[40];
    char *answer; /* heartbeat response text when deliver */
    size_t answer_len;
};

/* Inside a transaction: holds host's command against other coordinators sharing the store
 * until commit/rollback (write_mu serialises this process only). Lock hosts in strcmp order. */
int cpi_lock_host(struct cp_plane *p, const char *host, struct gp_err *err);

struct cp_plane {
    struct meta_db *db;
    struct cp_plane_opts o;
    pthread_mutex_t cache_mu; /* the table and entries */
    pthread_mutex_t write_mu; /* serialises command writes; taken before cache_mu */
    pthread_mutex_t flush_mu; /* one heartbeat flush at a time; taken before cache_mu */
    struct hb_entry *buckets[NBUCKETS];
    size_t nentries;
    struct hb_entry *lru_head, *lru_tail;
    struct cp_plane_stats stats; /* cache_mu (tracked: nentries) */
    int64_t last_expire;         /* flusher thread only */
    volatile int shutting_down;  /* read with __atomic */
    pthread_t flusher;
    bool flusher_running;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    bool stopping;
};

/* ---- hb_cache.c: the (host, service) table (cache_mu held unless said) --------------- */

struct hb_entry *cpi_entry_get(struct cp_plane *p, const char *host, const char *service,
                               bool create);
/* Seen now: the most recently seen. */
void cpi_lru_touch(struct cp_plane *p, struct hb_entry *e);
/* Loads the stored command of (host, service) into the cache (cache_mu not held). */
int cpi_load_command(struct cp_plane *p, const char *host, const char *service);
/* Re-reads the command of (host, service) into the cache. write_mu held. */
void cpi_refresh_entry(struct cp_plane *p, const char *host, const char *service);
/* Frees every entry (at close, no other thread left). */
void cpi_cache_free(struct cp_plane *p);
/* The writer thread: flushes heartbeats every flush_ms, expires hosts every expire_every_s. */
void *cpi_flusher_main(void *arg);

/* ---- state.c: stored state of commands, executions and requests --------------------- */

bool cpi_is_terminal(const char *status);
/* Whether a stored command still applies on the host (cfg NULL when unreadable). */
bool cpi_command_live(const struct meta_command *c, const struct cp_config *cfg);
/* Execution status of every request of c on its host. Inside a transaction. */
int cpi_set_executions(struct cp_plane *p, const struct meta_command *c, const char *status,
                       int64_t now, struct gp_err *err);
/* Recomputes and stores the status of request rid from its executions. In a transaction. */
int cpi_rollup_request(struct cp_plane *p, const char *rid, int64_t now, struct gp_err *err);
/* The same for every request id of a JSON array text (NULL = none). */
int cpi_rollup_command_requests(struct cp_plane *p, const char *request_ids, int64_t now,
                                struct gp_err *err);

/* Fills a reply (message printf-style). */
void cpi_reply(struct cp_reply *r, int status, bool success, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* ---- plane.c ------------------------------------------------------------------------- */

/* Whether cp_plane_shutdown was called. */
bool cpi_stopping(struct cp_plane *p);

#endif
