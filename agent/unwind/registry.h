/* registry.h — the unwind tables of the binaries processes map (one per binary, shared and
 * reference-counted) and each process's executable mappings with their table and load bias. */
#ifndef GPROF_AGENT_UNWIND_REGISTRY_H
#define GPROF_AGENT_UNWIND_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "agent/procs/maps.h"
#include "agent/unwind/table.h"
#include "common/err.h"

#define GP_UW_TABLES_MAX_DEFAULT  ((size_t)256 << 20) /* unwind_tables_max: kernel bytes */
#define GP_UW_IDLE_KEEP_S_DEFAULT 300 /* a table no process maps stays this long (seconds) */
#define GP_UW_CLIENTS             4   /* sessions sharing one registry (gp_uw_registry_ref) */

/* One executable file mapping of a process that has a table: the row of runtime address a is
 * gp_uw_table_find(table, a - bias). */
struct gp_uw_mapping {
    uint64_t start, end; /* [start, end) */
    uint64_t bias;       /* runtime address - ELF virtual address */
    uint32_t table_id;   /* the sink's id of the table (>= 1) */
};

/* Where a BPF sampler mirrors the registry into its maps. Calls come with the registry's lock
 * held, from the thread that adds or removes processes. Every callback may be NULL. A table is
 * charged to max_bytes at its size in the kernel layout (gp_uw_kernel_bytes, bpf/unwind.h).
 *   table_add     load table t under id; -ENOSPC when the kernel maps have no room (the table
 *                 then counts as not fitting and its mappings unwind by frame pointers);
 *   table_remove  the last process mapping it is gone;
 *   proc_set      the mappings with tables of process tgid, sorted by start (replaces the
 *                 previous set; n == 0: the process has no table and walks by frame pointers);
 *   proc_remove   the process is gone. */
struct gp_uw_sink {
    void *ctx;
    int (*table_add)(void *ctx, uint32_t id, const struct gp_uw_table *t);
    void (*table_remove)(void *ctx, uint32_t id);
    int (*proc_set)(void *ctx, uint32_t tgid, const struct gp_uw_mapping *m, size_t n);
    void (*proc_remove)(void *ctx, uint32_t tgid);
};

struct gp_uw_registry_opts {
    size_t max_bytes;              /* budget of all tables in the kernel; 0 = the default */
    const char *const *debug_dirs; /* where separate debug files (.debug_frame) are searched; */
    size_t ndebug_dirs;            /* NULL = /usr/lib/debug */
    /* A table whose last process is gone stays built and loaded this long (seconds), or until
     * its room is needed: a binary run again and again (compilers, cron jobs, the next session
     * of a continuous profile) is not rebuilt. 0 = GP_UW_IDLE_KEEP_S_DEFAULT, < 0 = dropped
     * with the last process. */
    int idle_keep_s;
    /* Lazy tables: a process noted gets at once only the tables of its main executable, of
     * libc and of binaries already built; its other mappings wait until a sample's walk finds
     * no table in them (gp_uw_registry_miss). 0 = every mapping at once (gp_uw_registry_set_lazy
     * switches it later). */
    int lazy;
};

struct gp_uw_registry_stats {
    uint64_t tables;              /* tables loaded now */
    uint64_t tables_built;        /* tables built since start */
    uint64_t tables_not_fit;      /* tables not loaded: over the budget or the sink's room */
    uint64_t tables_failed;       /* binaries whose CFI could not be read (logged) */
    uint64_t rows;                /* rows of the tables loaded now */
    uint64_t kernel_bytes;        /* kernel bytes of the tables loaded now (sink's accounting) */
    uint64_t build_ns;            /* CPU time spent building tables */
    uint64_t processes;           /* processes known now */
    uint64_t max_bytes;           /* the budget (unwind_tables_max) */
    uint64_t tables_idle;         /* of tables: loaded but mapped by no process now (kept) */
    uint64_t tables_reused;       /* times an idle table served a process again (not rebuilt) */
    uint64_t tables_over_limit;   /* binaries left without a table: GP_UW_MAX_TABLES reached */
    uint64_t mappings_over_limit; /* mappings left to frame pointers: GP_UW_MAX_MAPPINGS of one
                                     process reached */
    /* Lazy tables (opts.lazy): */
    uint64_t tables_built_at_note; /* of tables_built: when a process was noted */
    uint64_t tables_built_on_miss; /* of tables_built: after a walk found no table there */
    uint64_t misses;               /* miss reports received (gp_uw_registry_miss) */
    uint64_t misses_ignored;       /* of misses: no pending mapping there (no CFI, a JIT...) */
    uint64_t mappings_pending;     /* now: mappings whose binary waits for its first miss */
    /* Sharing (gp_uw_registry_stats_c): the counters above are the registry's, for every
     * session sharing it; these are one client's (session's) own. */
    uint64_t sessions;              /* clients holding the registry now */
    uint64_t client_tables_built;   /* tables this client's notes and misses built */
    uint64_t client_built_at_note;  /* of them: when it noted a process */
    uint64_t client_built_on_miss;  /* of them: after its walks found no table */
    uint64_t client_build_ns;       /* CPU time of those builds */
    uint64_t client_misses;         /* miss reports it handed in */
    uint64_t client_misses_ignored; /* of them: nothing to build */
    uint64_t client_processes;      /* processes it noted, known now */
    uint64_t client_kernel_bytes;   /* kernel bytes of the tables those processes map */
};

struct gp_uw_registry;

int gp_uw_registry_new(const struct gp_uw_registry_opts *o, struct gp_uw_registry **out,
                       struct gp_err *err);
/* Drops the creator's reference (client 0, gp_uw_registry_unref): with no other client, frees
 * every table and calls nothing on the sink. */
void gp_uw_registry_free(struct gp_uw_registry *r);

/* Sharing one registry between sessions (the agent's continuous and ad hoc profiles): a table is
 * built once for all of them. Each session is a client: it takes a reference (the creator holds
 * client 0), notes and forgets processes and reports misses as that client, and its sampler
 * attaches the client's sink. A sink gets the processes its client noted and the tables they
 * map, so a session's kernel maps hold only what its own processes need, and a table that does
 * not fit one sampler's maps still serves the others.
 * gp_uw_registry_ref: a new client id (1..GP_UW_CLIENTS-1), or -EBUSY.
 * gp_uw_registry_unref: detaches the client's sink (calling nothing on it), forgets the
 *   processes no other client noted (their tables go idle, as at an exit) and frees the
 *   registry with the last reference.
 * The functions without _c act as client 0. */
int gp_uw_registry_ref(struct gp_uw_registry *r);
void gp_uw_registry_unref(struct gp_uw_registry *r, int client);
int gp_uw_registry_set_sink_c(struct gp_uw_registry *r, int client, const struct gp_uw_sink *sink);
int gp_uw_registry_add_process_c(struct gp_uw_registry *r, int client, uint32_t tgid,
                                 const struct gp_maps *maps, struct gp_err *err);
/* As gp_uw_registry_add_process_c, lazy (1) or eager (0) for this note whatever the client's
 * setting: a session that is eager for new processes and lazy for old ones. */
int gp_uw_registry_add_process_lazy_c(struct gp_uw_registry *r, int client, uint32_t tgid,
                                      const struct gp_maps *maps, int lazy, struct gp_err *err);
int gp_uw_registry_scan_c(struct gp_uw_registry *r, int client, const uint32_t *pids, size_t npids);
/* Stops only the scan this client started. */
void gp_uw_registry_cancel_scan_c(struct gp_uw_registry *r, int client);
void gp_uw_registry_set_lazy_c(struct gp_uw_registry *r, int client, int lazy);
int gp_uw_registry_miss_c(struct gp_uw_registry *r, int client, uint32_t tgid, uint64_t pc);
void gp_uw_registry_stats_c(struct gp_uw_registry *r, int client, struct gp_uw_registry_stats *out);

/* Attaches the sink (or detaches it with NULL) and replays the client's processes and the tables
 * they map into it, so a sampler opened after tables were built starts complete. 0 or -errno. */
int gp_uw_registry_set_sink(struct gp_uw_registry *r, const struct gp_uw_sink *sink);

/* Notes process tgid (first seen, exec'd, or its maps re-read): maps are its executable
 * mappings (NULL: read /proc/PID/maps now). Builds the tables of binaries not known yet, takes a
 * reference on each, drops those of mappings gone, and publishes the set. 0, -ESRCH when the
 * process is gone, -errno. A binary whose table cannot be built or does not fit is not an
 * error: its mappings unwind by frame pointers, and the stats count it. */
int gp_uw_registry_add_process(struct gp_uw_registry *r, uint32_t tgid, const struct gp_maps *maps,
                               struct gp_err *err);
/* Forgets process tgid (it exited: for every client); a table no other process maps goes idle. */
void gp_uw_registry_remove_process(struct gp_uw_registry *r, uint32_t tgid);
/* Notes every process of the host (pids == NULL) or the given ones, before sampling starts so
 * their first samples unwind. Processes that vanish meanwhile are skipped. Returns how many
 * were noted. */
int gp_uw_registry_scan(struct gp_uw_registry *r, const uint32_t *pids, size_t npids);
/* Makes a scan running on another thread return early (before freeing the registry). */
void gp_uw_registry_cancel_scan(struct gp_uw_registry *r);

/* The table and load bias covering addr in process tgid: the row for addr is
 * gp_uw_table_find(t, addr - *bias). NULL when no table covers addr (use frame pointers).
 * Thread-safe; the table stays valid until process tgid is next added or removed. */
const struct gp_uw_table *gp_uw_registry_lookup(struct gp_uw_registry *r, uint32_t tgid,
                                                uint64_t addr, uint64_t *bias);

/* The row in effect at runtime address pc of process tgid, or NULL (frame pointers there): the
 * perf sampler's uw_lookup (ctx is the registry). Valid like gp_uw_registry_lookup's table. */
const struct gp_uw_entry *gp_uw_registry_row(void *registry, uint32_t tgid, uint64_t pc);

/* One walk's lookups without a lock per frame (the perf sampler): hold returns process tgid's
 * mappings (NULL: none known; still call release) and keeps the registry read-locked until
 * release; held_row is gp_uw_registry_row on them, lock-free. Hold and release are called by
 * the same thread; nothing else of the registry may be called in between. */
const void *gp_uw_registry_hold(void *registry, uint32_t tgid);
const struct gp_uw_entry *gp_uw_registry_held_row(const void *held, uint64_t pc);
void gp_uw_registry_release(void *registry);

/* Lazy tables on (1) or off (0) for the processes noted from now on (see opts.lazy). */
void gp_uw_registry_set_lazy(struct gp_uw_registry *r, int lazy);

/* A walk of process tgid found no table at address pc (the BPF unwinder's miss report). When pc
 * lies in a mapping whose binary waits for its table (lazy), builds that table and publishes it
 * for every process that maps the binary: 1. 0 when there was nothing to build (pc is in code
 * without CFI, a JIT, or a table that did not fit; counted in misses_ignored). */
int gp_uw_registry_miss(struct gp_uw_registry *r, uint32_t tgid, uint64_t pc);

void gp_uw_registry_stats(struct gp_uw_registry *r, struct gp_uw_registry_stats *out);

#endif
