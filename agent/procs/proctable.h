/* proctable.h — the agent's one process table: tgid -> identity (comm, pids, start time, container,
 * mount namespace) and executable mappings, fed by process events and heard by listeners. */
#ifndef GPROF_AGENT_PROCS_PROCTABLE_H
#define GPROF_AGENT_PROCS_PROCTABLE_H

#include <stdint.h>

#include "agent/procs/maps.h"

/* What the table knows of one process. Read-only to everyone but the table; valid from the
 * listener call that announced it until the dropped() call for its tgid. */
struct gp_proc {
    uint32_t tgid;
    uint32_t nspid;     /* pid inside its pid namespace (tgid when the kernel has no NSpid line) */
    uint32_t ppid;      /* its image before its first exec was a copy of the parent's */
    uint64_t starttime; /* field 22 of /proc/PID/stat: tells a reused pid from the first */
    int other_mntns;    /* lives in another mount namespace than the agent */
    int exited;         /* exit seen: the entry stays until the next gp_proctable_gc() */
    char comm[16];
    char container_id[65];    /* 64 hex digits, "" on the host */
    char container_name[128]; /* "" on the host; the id's first 12 digits when no name is found */
    struct gp_maps maps;      /* executable mappings, sorted by start (kept when it turns zombie) */
};

/* A listener hears about every process of the table. Calls come from the thread that feeds the
 * table, inside gp_proctable_note() / _exit() / _gc() / _remove_listener() / _free().
 *   seen     a process was noted: first seen (a new entry), exec'd (is_exec), or its maps were
 *            re-read (a re-note of a live process, a miss after dlopen); p->maps is the new
 *            snapshot (a listener keeping per-mapping state re-syncs with it).
 *   exited   the process exited; its entry and maps stay until the next gc.
 *   dropped  the entry is about to be freed (by gc after an exit, when its pid was reused, or
 *            when the listener or the table goes away); gp_proctable_find(t, tgid) still returns
 *            it during the call, so a listener frees what it attached to it here.
 * Any callback may be NULL. */
struct gp_proctable_listener {
    void *ctx;
    void (*seen)(void *ctx, const struct gp_proc *p, int is_exec);
    void (*exited)(void *ctx, const struct gp_proc *p);
    void (*dropped)(void *ctx, uint32_t tgid);
};

#define GP_PROCTABLE_MAX_LISTENERS 8

struct gp_proctable;

int gp_proctable_new(struct gp_proctable **out);
/* Calls every listener's dropped() for every entry, then frees the table. */
void gp_proctable_free(struct gp_proctable *t);

/* Registers a listener (copied). It hears about processes noted from now on; entries already in
 * the table are announced to it now with seen(p, 0). Returns its id (>= 0, for the data slot
 * below) or -ENOSPC. */
int gp_proctable_add_listener(struct gp_proctable *t, const struct gp_proctable_listener *l);
/* Calls the listener's dropped() for every entry and forgets it. */
void gp_proctable_remove_listener(struct gp_proctable *t, int id);

/* Each listener may attach one pointer to each entry (its per-process state). */
void *gp_proc_data(const struct gp_proc *p, int listener_id);
void gp_proc_set_data(const struct gp_proc *p, int listener_id, void *data);

/* The process was seen (is_exec = 0) or exec'd (1): reads its identity, container and executable
 * mappings now, while it lives, then tells the listeners (seen). A live process already known
 * is read again (comm, container and maps change at exec; a runtime moves a process into its
 * container's cgroup after it started); an entry of the same process already marked exited (a
 * zombie) is kept as it is; an entry of an earlier process with the same pid is dropped first.
 * Cheap (tens of microseconds). Returns 0, -ESRCH when the process is already gone, or -errno. */
int gp_proctable_note(struct gp_proctable *t, uint32_t tgid, int is_exec);
/* Re-reads only the maps of a live process (code mapped after the snapshot) and tells the
 * listeners (seen, is_exec 0). 0, -ENOENT when not in the table, -ESRCH when gone, -errno. */
int gp_proctable_refresh_maps(struct gp_proctable *t, uint32_t tgid);
/* The process exited: marks it and tells the listeners (exited). Unknown tgids are ignored. */
void gp_proctable_exit(struct gp_proctable *t, uint32_t tgid);
/* Drops the processes marked exited (dropped), and every 16th call marks exited those that
 * vanished without an exit event (dropped at the next gc). Order per drain: take the samples,
 * name them, then gc: an exit seen before the gc never loses the names of samples taken. */
void gp_proctable_gc(struct gp_proctable *t);

/* The entry of tgid (live or exited, not yet collected), or NULL. */
const struct gp_proc *gp_proctable_find(const struct gp_proctable *t, uint32_t tgid);

struct gp_proctable_stats {
    uint64_t processes, exited; /* entries, and those of them marked exited */
};
void gp_proctable_stats(const struct gp_proctable *t, struct gp_proctable_stats *out);

#endif
