/* proctable.c — the agent's process table and its listeners (see proctable.h). */
#include "agent/procs/proctable.h"
#include "agent/procs/procinfo.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUCKETS        4096
#define LIVENESS_EVERY 16 /* gc calls between checks for processes that vanished silently */
#define CNAME_SLOTS    64 /* container id -> name, so runtime state is parsed once per container */

struct entry {
    struct gp_proc p; /* first: a gp_proc pointer is an entry pointer */
    void *data[GP_PROCTABLE_MAX_LISTENERS];
    struct entry *next;
};

struct cname {
    char id[65];
    char name[128];
};

struct gp_proctable {
    struct entry *buckets[BUCKETS];
    struct gp_proctable_listener l[GP_PROCTABLE_MAX_LISTENERS];
    int used[GP_PROCTABLE_MAX_LISTENERS];
    struct cname cnames[CNAME_SLOTS];
    size_t cname_next;
    uint64_t nprocs, nexited, gc_calls;
};

static struct entry *entry_of(const struct gp_proc *p)
{
    return (struct entry *)((char *)p - offsetof(struct entry, p));
}

void *gp_proc_data(const struct gp_proc *p, int listener_id)
{
    return entry_of(p)->data[listener_id];
}

void gp_proc_set_data(const struct gp_proc *p, int listener_id, void *data)
{
    entry_of(p)->data[listener_id] = data;
}

static struct entry **slot_of(struct gp_proctable *t, uint32_t tgid)
{
    struct entry **pp = &t->buckets[tgid % BUCKETS];
    while (*pp && (*pp)->p.tgid != tgid)
        pp = &(*pp)->next;
    return pp;
}

const struct gp_proc *gp_proctable_find(const struct gp_proctable *t, uint32_t tgid)
{
    for (struct entry *e = t->buckets[tgid % BUCKETS]; e; e = e->next)
        if (e->p.tgid == tgid)
            return &e->p;
    return NULL;
}

/* ---- listeners ---- */

static void tell_seen(struct gp_proctable *t, const struct gp_proc *p, int is_exec)
{
    for (int i = 0; i < GP_PROCTABLE_MAX_LISTENERS; i++)
        if (t->used[i] && t->l[i].seen)
            t->l[i].seen(t->l[i].ctx, p, is_exec);
}

static void tell_dropped(struct gp_proctable *t, uint32_t tgid)
{
    for (int i = 0; i < GP_PROCTABLE_MAX_LISTENERS; i++)
        if (t->used[i] && t->l[i].dropped)
            t->l[i].dropped(t->l[i].ctx, tgid);
}

static void for_each(struct gp_proctable *t, void (*fn)(struct gp_proctable *, struct entry *, int),
                     int arg)
{
    for (size_t b = 0; b < BUCKETS; b++)
        for (struct entry *e = t->buckets[b]; e; e = e->next)
            fn(t, e, arg);
}

static void announce(struct gp_proctable *t, struct entry *e, int id)
{
    if (!e->p.exited && t->l[id].seen)
        t->l[id].seen(t->l[id].ctx, &e->p, 0);
}

static void forget(struct gp_proctable *t, struct entry *e, int id)
{
    if (t->l[id].dropped)
        t->l[id].dropped(t->l[id].ctx, e->p.tgid);
    e->data[id] = NULL;
}

int gp_proctable_add_listener(struct gp_proctable *t, const struct gp_proctable_listener *l)
{
    for (int i = 0; i < GP_PROCTABLE_MAX_LISTENERS; i++) {
        if (!t->used[i]) {
            t->l[i] = *l;
            t->used[i] = 1;
            for_each(t, announce, i);
            return i;
        }
    }
    return -ENOSPC;
}

void gp_proctable_remove_listener(struct gp_proctable *t, int id)
{
    if (id < 0 || id >= GP_PROCTABLE_MAX_LISTENERS || !t->used[id])
        return;
    for_each(t, forget, id);
    t->used[id] = 0;
    memset(&t->l[id], 0, sizeof(t->l[id]));
}

/* ---- entries ---- */

int gp_proctable_new(struct gp_proctable **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

/* Unlinks the entry at *slot after telling the listeners, and frees it. */
static void drop(struct gp_proctable *t, struct entry **slot)
{
    struct entry *e = *slot;
    tell_dropped(t, e->p.tgid); /* still findable during the calls */
    *slot = e->next;
    t->nprocs--;
    if (e->p.exited)
        t->nexited--;
    gp_maps_free(&e->p.maps);
    free(e);
}

void gp_proctable_free(struct gp_proctable *t)
{
    if (!t)
        return;
    for (size_t b = 0; b < BUCKETS; b++)
        while (t->buckets[b])
            drop(t, &t->buckets[b]);
    free(t);
}

/* starttime and, when not NULL, ppid and comm from /proc/PID/stat; -ESRCH when gone. */
static int read_stat(uint32_t tgid, uint64_t *st, uint32_t *ppid, char comm[16])
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", tgid);
    char *b;
    int rc = gp_read_file(path, &b, NULL);
    if (rc < 0)
        return rc == -ENOENT ? -ESRCH : rc;
    rc = gp_proc_stat_parse(b, st, ppid, comm);
    free(b);
    return rc;
}

/* Reads the container again at every note of a live process: a runtime moves its process into
 * the container's cgroup after it started (before its exec), so the first note may be early. */
static void container_facts(struct gp_proctable *t, struct gp_proc *p)
{
    char rt[32], id[sizeof(p->container_id)];
    if (gp_proc_container_id(p->tgid, id, sizeof(id), rt, sizeof(rt)) < 0)
        return; /* gone: keep what was captured while it lived */
    if (!strcmp(id, p->container_id) && (!id[0] || p->container_name[0]))
        return; /* unchanged */
    memcpy(p->container_id, id, sizeof(id));
    p->container_name[0] = '\0';
    if (!p->container_id[0])
        return;
    for (size_t i = 0; i < CNAME_SLOTS; i++) {
        if (strcmp(t->cnames[i].id, p->container_id) == 0) {
            snprintf(p->container_name, sizeof(p->container_name), "%s", t->cnames[i].name);
            return;
        }
    }
    gp_container_name_lookup("/", rt, p->container_id, p->container_name,
                             sizeof(p->container_name));
    struct cname *c = &t->cnames[t->cname_next++ % CNAME_SLOTS];
    snprintf(c->id, sizeof(c->id), "%s", p->container_id);
    snprintf(c->name, sizeof(c->name), "%s", p->container_name);
}

/* Replaces the maps snapshot; a zombie has no maps, so an empty read keeps what it had. */
static int read_maps(struct gp_proc *p)
{
    struct gp_maps maps;
    struct gp_err err = {0};
    int rc = gp_maps_read(p->tgid, 1, &maps, &err);
    if (rc < 0)
        return rc;
    if (maps.n == 0 && p->maps.n > 0) {
        gp_maps_free(&maps);
        return 0;
    }
    gp_maps_free(&p->maps);
    p->maps = maps;
    return 0;
}

int gp_proctable_note(struct gp_proctable *t, uint32_t tgid, int is_exec)
{
    uint64_t start;
    uint32_t ppid = 0;
    char comm[16];
    int rc = read_stat(tgid, &start, &ppid, comm);
    if (rc < 0)
        return rc;
    struct entry **slot = slot_of(t, tgid);
    struct entry *e = *slot;
    if (e && e->p.exited && e->p.starttime == start)
        return 0; /* the same process, dead or a zombie: keep the snapshot taken while it lived */
    if (e &&
        e->p.starttime != start) { /* the pid was reused: the old entry goes with its process */
        drop(t, slot);
        e = NULL;
        slot = slot_of(t, tgid);
    }
    int fresh = !e;
    if (fresh) {
        e = calloc(1, sizeof(*e));
        if (!e)
            return -ENOMEM;
        e->p.tgid = tgid;
        e->p.starttime = start;
        e->p.ppid = ppid;
        if (gp_proc_nspid(tgid, &e->p.nspid) < 0)
            e->p.nspid = tgid;
        e->p.other_mntns = gp_proc_other_mntns(tgid) == 1;
    }
    container_facts(t, &e->p);
    memcpy(e->p.comm, comm, sizeof(e->p.comm)); /* exec changes it */
    rc = read_maps(&e->p);
    if (rc < 0) {
        if (fresh)
            free(e);
        return rc;
    }
    if (fresh) {
        *slot = e;
        t->nprocs++;
    }
    tell_seen(t, &e->p, is_exec);
    return 0;
}

int gp_proctable_refresh_maps(struct gp_proctable *t, uint32_t tgid)
{
    struct entry *e = *slot_of(t, tgid);
    if (!e)
        return -ENOENT;
    if (e->p.exited)
        return -ESRCH;
    int rc = read_maps(&e->p);
    if (rc < 0)
        return rc;
    tell_seen(t, &e->p, 0);
    return 0;
}

void gp_proctable_exit(struct gp_proctable *t, uint32_t tgid)
{
    struct entry *e = *slot_of(t, tgid);
    if (!e || e->p.exited)
        return;
    e->p.exited = 1;
    t->nexited++;
    for (int i = 0; i < GP_PROCTABLE_MAX_LISTENERS; i++)
        if (t->used[i] && t->l[i].exited)
            t->l[i].exited(t->l[i].ctx, &e->p);
}

static void check_liveness(struct gp_proctable *t)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        for (struct entry *e = t->buckets[b]; e; e = e->next) {
            uint64_t st;
            if (!e->p.exited && (read_stat(e->p.tgid, &st, NULL, NULL) < 0 || st != e->p.starttime))
                gp_proctable_exit(t, e->p.tgid);
        }
    }
}

void gp_proctable_gc(struct gp_proctable *t)
{
    for (size_t b = 0; b < BUCKETS; b++) {
        struct entry **pp = &t->buckets[b];
        while (*pp) {
            if ((*pp)->p.exited)
                drop(t, pp);
            else
                pp = &(*pp)->next;
        }
    }
    if (++t->gc_calls % LIVENESS_EVERY == 0)
        check_liveness(t);
}

void gp_proctable_stats(const struct gp_proctable *t, struct gp_proctable_stats *out)
{
    out->processes = t->nprocs;
    out->exited = t->nexited;
}
