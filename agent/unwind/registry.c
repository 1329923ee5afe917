/* registry.c — unwind tables per binary (build-id, else device + inode + mtime), shared by the
 * processes that map the binary and dropped with the last; per process its mappings with table
 * and load bias; shared by up to GP_UW_CLIENTS sessions (clients), each mirroring the processes
 * it noted, and the tables they map, into its own sink (its BPF sampler's maps). */
#include "agent/unwind/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "agent/symbols/elfsyms.h"
#include "bpf/unwind.h"
#include "common/log.h"

struct load {
    uint64_t off, vaddr, filesz;
};

/* One binary. t == NULL: no table (could not be built, or did not fit); the entry stays while
 * processes map the binary so it is not tried again for each of them. */
struct tab {
    uint8_t bid[GP_BUILD_ID_MAX];
    size_t bidlen;
    uint64_t dev, ino; /* as /proc/PID/maps shows them: the fast key */
    int64_t mtime_ns;
    struct load *loads;
    size_t nloads;
    struct gp_uw_table *t;
    uint32_t id; /* sink id, >= 1, when t */
    unsigned refs;
    uint64_t kbytes;      /* charged to the budget when t */
    unsigned in_sink;     /* a bit per client whose sink holds the table */
    unsigned sink_failed; /* a bit per client whose sink had no room for it */
    unsigned mark;        /* stats: counted for a client already */
    double idle_since;    /* refs == 0: when the last process mapping it went (monotonic s) */
};

/* A mapping whose binary has no table entry yet (lazy): built at its first miss. */
struct pend {
    uint64_t start, end, offset, inode;
    uint32_t dev_major, dev_minor;
    char *path;
};

struct proc {
    uint32_t tgid;
    size_t cap;              /* of m, mtab and refs: the executable mappings noted */
    struct gp_uw_mapping *m; /* mappings with a loaded table, sorted by start */
    struct tab **mtab;       /* their tables */
    size_t n;
    struct tab **refs; /* distinct tables (also the negative ones) this process holds */
    size_t nrefs;
    struct pend *pend; /* lazy: mappings waiting for a miss */
    size_t npend;
    unsigned owners; /* a bit per client that noted the process */
};

/* What one client's calls cost (tables built while noting its processes or on its misses). */
struct client_stats {
    uint64_t built, at_note, on_miss, build_ns, misses, misses_ignored;
};

struct gp_uw_registry {
    pthread_rwlock_t lock; /* readers: the perf sampler's walks; writers: everything else */
    size_t max_bytes, used_bytes;
    const char *const *debug_dirs;
    size_t ndebug_dirs;
    struct gp_uw_sink sink[GP_UW_CLIENTS];
    unsigned sinks;   /* a bit per client with a sink */
    unsigned clients; /* a bit per client holding a reference (bit 0: the creator) */
    struct client_stats cst[GP_UW_CLIENTS];
    struct tab **tabs; /* by id - 1 (NULL = free id) */
    size_t ntabs, captabs;
    struct proc **procs; /* sorted by tgid */
    size_t nprocs, capprocs;
    double idle_keep_s; /* how long a table no process maps stays built and loaded; <0: none */
    struct gp_uw_registry_stats st;
    int logged_tables_limit, logged_mappings_limit; /* said once in the log */
    int cancel[GP_UW_CLIENTS];                      /* atomic: the client's scan stops */
    int lazy[GP_UW_CLIENTS];                        /* opts.lazy, per client */
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const default_debug_dirs[] = {"/usr/lib/debug"};

int gp_uw_registry_new(const struct gp_uw_registry_opts *o, struct gp_uw_registry **out,
                       struct gp_err *err)
{
    struct gp_uw_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return gp_err_set(err, -ENOMEM, "out of memory");
    pthread_rwlock_init(&r->lock, NULL);
    r->max_bytes = o && o->max_bytes ? o->max_bytes : GP_UW_TABLES_MAX_DEFAULT;
    r->idle_keep_s = !o || !o->idle_keep_s ? GP_UW_IDLE_KEEP_S_DEFAULT
                     : o->idle_keep_s < 0  ? -1
                                           : o->idle_keep_s;
    r->debug_dirs = o && o->debug_dirs ? o->debug_dirs : default_debug_dirs;
    r->ndebug_dirs = o && o->debug_dirs ? o->ndebug_dirs : 1;
    r->lazy[0] = o && o->lazy;
    r->clients = 1;
    *out = r;
    return 0;
}

static void tab_free(struct tab *t)
{
    if (!t)
        return;
    gp_uw_table_free(t->t);
    free(t->loads);
    free(t);
}

static void proc_free(struct proc *p)
{
    if (!p)
        return;
    free(p->m);
    free(p->mtab);
    free(p->refs);
    for (size_t i = 0; i < p->npend; i++)
        free(p->pend[i].path);
    free(p->pend);
    free(p);
}

static void registry_destroy(struct gp_uw_registry *r)
{
    for (size_t i = 0; i < r->nprocs; i++)
        proc_free(r->procs[i]);
    for (size_t i = 0; i < r->ntabs; i++)
        tab_free(r->tabs[i]);
    free(r->procs);
    free(r->tabs);
    pthread_rwlock_destroy(&r->lock);
    free(r);
}

/* ---- tables ---- */

#define BIT(c) (1u << (c))

static void not_fit(struct gp_uw_registry *r, struct tab *t, int rc);

/* Loads t into client c's sink unless it is there: 0, or -errno when the sink has no room (said
 * once; a table no sink has room for is dropped as not fitting). */
static int publish_table(struct gp_uw_registry *r, struct tab *t, int c)
{
    if (!(r->sinks & BIT(c)) || !t->t || (t->in_sink & BIT(c)))
        return 0;
    if (t->sink_failed & BIT(c))
        return -ENOSPC;
    if (!r->sink[c].table_add) {
        t->in_sink |= BIT(c);
        return 0;
    }
    int rc = r->sink[c].table_add(r->sink[c].ctx, t->id, t->t);
    if (rc == 0) {
        t->in_sink |= BIT(c);
        return 0;
    }
    t->sink_failed |= BIT(c);
    if (!t->in_sink && (t->sink_failed & r->sinks) == r->sinks)
        not_fit(r, t, rc); /* no sink holds it: its rows go */
    else {
        r->st.tables_not_fit++;
        gp_info("unwind: a table of %zu rows does not fit the kernel maps of one of the %d "
                "sessions sharing it (%s); its code unwinds by frame pointers there",
                t->t->n, __builtin_popcount(r->sinks), strerror(-rc));
    }
    return rc;
}

/* Drops the table's rows (keeps the entry as a negative one) and counts it as not fitting. */
static void not_fit(struct gp_uw_registry *r, struct tab *t, int rc)
{
    const char *why = rc == -EDQUOT    ? "is over unwind_tables_max"
                      : rc == -ENOSPC  ? "finds no room for its rows in the kernel maps"
                      : rc == -ENOBUFS ? "finds no room for its page index in the kernel maps"
                      : rc == -E2BIG   ? "brings more distinct rules than the kernel maps hold"
                                       : strerror(-rc);
    gp_info("unwind: a table of %zu rows (%" PRIu64 " kernel bytes) %s; its code unwinds by "
            "frame pointers",
            t->t ? t->t->n : 0, t->kbytes, why);
    r->used_bytes -= t->kbytes;
    r->st.rows -= t->t->n;
    r->st.tables--;
    gp_uw_table_free(t->t);
    t->t = NULL;
    t->kbytes = 0;
    r->st.tables_not_fit++;
}

/* Frees the table and its entry: gone from the sink and the budget. */
static void tab_drop(struct gp_uw_registry *r, struct tab *t)
{
    for (int c = 0; c < GP_UW_CLIENTS; c++)
        if ((t->in_sink & r->sinks & BIT(c)) && r->sink[c].table_remove)
            r->sink[c].table_remove(r->sink[c].ctx, t->id);
    if (t->t) {
        r->used_bytes -= t->kbytes;
        r->st.rows -= t->t->n;
        r->st.tables--;
    }
    r->tabs[t->id - 1] = NULL;
    tab_free(t);
}

/* The last process mapping t went: it stays built and in the sink for idle_keep_s (a binary
 * run again and again, a compiler on a build host, is not rebuilt each time), then goes. */
static void tab_unref(struct gp_uw_registry *r, struct tab *t)
{
    if (--t->refs)
        return;
    if (r->idle_keep_s < 0) {
        tab_drop(r, t);
        return;
    }
    t->idle_since = mono_s();
    r->st.tables_idle += t->t != NULL;
}

static void tab_ref(struct gp_uw_registry *r, struct tab *t)
{
    if (t->refs++ == 0 && t->idle_since > 0) {
        r->st.tables_idle -= t->t != NULL;
        r->st.tables_reused += t->t != NULL;
    }
    t->idle_since = 0;
}

/* Drops the idle tables older than idle_keep_s, or (make_room) the oldest idle table: 1 when
 * one was dropped. */
static int expire_idle(struct gp_uw_registry *r, double now, int make_room)
{
    struct tab *oldest = NULL;
    int dropped = 0;
    for (size_t i = 0; i < r->ntabs; i++) {
        struct tab *t = r->tabs[i];
        if (!t || t->refs || t->idle_since <= 0)
            continue;
        if (!make_room && now - t->idle_since >= r->idle_keep_s) {
            r->st.tables_idle -= t->t != NULL;
            tab_drop(r, t);
            dropped = 1;
        } else if (make_room && t->t && (!oldest || t->idle_since < oldest->idle_since)) {
            oldest = t;
        }
    }
    if (oldest) {
        r->st.tables_idle--;
        tab_drop(r, oldest);
        dropped = 1;
    }
    return dropped;
}

static int tab_insert(struct gp_uw_registry *r, struct tab *t)
{
    size_t slot = r->ntabs;
    for (size_t i = 0; i < r->ntabs; i++)
        if (!r->tabs[i]) {
            slot = i;
            break;
        }
    if (slot == r->ntabs) {
        if (r->ntabs + 1 >= GP_UW_MAX_TABLES) {
            if (expire_idle(r, 0, 1))
                return tab_insert(r, t);
            return -ENOSPC;
        }
        if (r->ntabs == r->captabs) {
            size_t ncap = r->captabs ? r->captabs * 2 : 64;
            struct tab **nt = realloc(r->tabs, ncap * sizeof(*nt));
            if (!nt)
                return -ENOMEM;
            r->tabs = nt;
            r->captabs = ncap;
        }
        r->ntabs++;
    }
    r->tabs[slot] = t;
    t->id = (uint32_t)slot + 1;
    return 0;
}

static struct tab *find_fast(struct gp_uw_registry *r, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < r->ntabs; i++)
        if (r->tabs[i] && r->tabs[i]->dev == dev && r->tabs[i]->ino == ino)
            return r->tabs[i];
    return NULL;
}

static struct tab *find_bid(struct gp_uw_registry *r, const uint8_t *bid, size_t len,
                            const struct stat *st)
{
    for (size_t i = 0; i < r->ntabs; i++) {
        struct tab *t = r->tabs[i];
        if (!t)
            continue;
        if (len && t->bidlen == len && !memcmp(t->bid, bid, len))
            return t;
        if (!len && !t->bidlen && t->dev == st->st_dev && t->ino == st->st_ino &&
            t->mtime_ns == (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec)
            return t;
    }
    return NULL;
}

static int read_loads(int fd, struct tab *t)
{
    elf_version(EV_CURRENT);
    Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    if (!elf)
        return -ENOEXEC;
    int rc = 0;
    size_t nph = 0;
    if (elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph) != 0 || nph == 0) {
        rc = -ENOEXEC;
        goto out;
    }
    t->loads = calloc(nph, sizeof(*t->loads));
    if (!t->loads) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
            t->loads[t->nloads++] = (struct load){ph.p_offset, ph.p_vaddr, ph.p_filesz};
    }
out:
    elf_end(elf);
    if (rc == 0) {
        int l = gp_elf_build_id_fd(fd, t->bid, sizeof(t->bid));
        t->bidlen = l > 0 ? (size_t)l : 0;
    }
    return rc;
}

/* The separate debug file of a build-id, when one of the debug dirs has it. */
static int debug_file(const struct gp_uw_registry *r, const struct tab *t, char *out, size_t len)
{
    if (t->bidlen < 2)
        return 0;
    char hex[2 * GP_BUILD_ID_MAX + 1];
    gp_build_id_hex(t->bid, t->bidlen, hex);
    for (size_t i = 0; i < r->ndebug_dirs; i++) {
        snprintf(out, len, "%s/.build-id/%.2s/%s.debug", r->debug_dirs[i], hex, hex + 2);
        if (access(out, R_OK) == 0)
            return 1;
    }
    return 0;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A table built without the registry's lock (tab_build), waiting to be entered (tab_commit). */
struct built {
    struct tab *t; /* NULL: the file cannot be opened or read as ELF */
    struct stat st;
    int rc;      /* of gp_uw_table_build */
    uint64_t ns; /* its CPU time */
    int dup;     /* not built: the registry held the binary under another identity */
};

/* Reads and builds the table of the binary behind mapping m of process tgid: touches nothing of
 * the registry but its immutable debug dirs, so it runs without the lock (a big binary takes
 * tens of ms: walks, misses and process events go on meanwhile). */
static void tab_build(struct gp_uw_registry *r, uint32_t tgid, const struct gp_map *m, int locked,
                      struct built *b)
{
    *b = (struct built){0};
    int fd = gp_map_open(tgid, m, m->inode, &b->st);
    if (fd < 0)
        return;
    struct tab *t = calloc(1, sizeof(*t));
    if (!t || read_loads(fd, t)) {
        close(fd);
        tab_free(t);
        return;
    }
    t->dev = makedev(m->dev_major, m->dev_minor);
    t->ino = m->inode;
    t->mtime_ns = (int64_t)b->st.st_mtim.tv_sec * 1000000000 + b->st.st_mtim.tv_nsec;
    b->t = t;
    if (!locked)
        pthread_rwlock_rdlock(&r->lock);
    b->dup = find_bid(r, t->bid, t->bidlen, &b->st) != NULL;
    if (!locked)
        pthread_rwlock_unlock(&r->lock);
    if (b->dup) {
        close(fd);
        return;
    }
    char dbg[4400];
    int has_dbg = debug_file(r, t, dbg, sizeof(dbg));
    struct gp_err e = {0};
    uint64_t t0 = cpu_ns();
    b->rc = gp_uw_table_build(fd, has_dbg ? dbg : NULL, &t->t, &e);
    b->ns = cpu_ns() - t0;
    close(fd);
    if (b->rc) {
        gp_debug("unwind: no table for %s: %s", m->path, e.msg);
        t->t = NULL;
    }
}

/* Enters a table built by tab_build (lock held): the entry of its binary, which may be one
 * entered meanwhile (b's table is then freed). NULL when it could not be read or no id is
 * left. A new reference is NOT taken. */
static struct tab *tab_commit(struct gp_uw_registry *r, struct built *b, const struct gp_map *m)
{
    struct tab *t = b->t;
    b->t = NULL;
    if (!t)
        return NULL;
    r->st.build_ns += b->ns;
    struct tab *same = find_fast(r, t->dev, t->ino);
    if (!same) /* the same binary under another identity (another container image) */
        same = find_bid(r, t->bid, t->bidlen, &b->st);
    if (same || b->dup) { /* dup but gone meanwhile: the next note builds it */
        tab_free(t);
        return same;
    }
    if (tab_insert(r, t)) {
        r->st.tables_over_limit++;
        if (!r->logged_tables_limit++)
            gp_warn("unwind: more than %d binaries with unwind tables at once; %s and later ones "
                    "unwind by frame pointers (counted in gprof.unwind.tables_over_limit)",
                    GP_UW_MAX_TABLES - 1, m->path);
        tab_free(t);
        return NULL;
    }
    if (b->rc) {
        r->st.tables_failed++;
        return t;
    }
    if (t->t->n == 0 || t->t->e[t->t->n - 1].pc - t->t->e[0].pc >= UINT32_MAX) {
        gp_uw_table_free(t->t); /* no CFI (it walks by frame pointers), or beyond u32 */
        t->t = NULL;
        return t;
    }
    r->st.tables_built++;
    r->st.tables++;
    r->st.rows += t->t->n;
    t->kbytes = gp_uw_kernel_bytes(t->t->n, t->t->e[t->t->n - 1].pc - t->t->e[0].pc);
    r->used_bytes += t->kbytes;
    while (r->used_bytes > r->max_bytes && expire_idle(r, 0, 1))
        ; /* idle tables make room first */
    if (r->used_bytes > r->max_bytes)
        not_fit(r, t, -EDQUOT);
    return t; /* into a sink with the first process of its client that maps it (publish_proc) */
}

/* The table entry of the binary behind mapping m (a new reference is NOT taken), built now
 * under the lock when it has none. NULL when the file cannot be opened or read as ELF. */
static struct tab *tab_for(struct gp_uw_registry *r, uint32_t tgid, const struct gp_map *m)
{
    struct tab *t = find_fast(r, makedev(m->dev_major, m->dev_minor), m->inode);
    if (t)
        return t;
    struct built b;
    tab_build(r, tgid, m, 1, &b);
    return tab_commit(r, &b, m);
}

/* The ELF virtual address of file offset off, through the PT_LOAD segments. */
static int vaddr_of(const struct tab *t, uint64_t off, uint64_t *vaddr)
{
    for (size_t i = 0; i < t->nloads; i++) {
        const struct load *l = &t->loads[i];
        if (off >= l->off && off < l->off + l->filesz) {
            *vaddr = l->vaddr + (off - l->off);
            return 0;
        }
    }
    return -ENOENT;
}

/* ---- processes ---- */

/* The index of the first process with a tgid >= tgid (procs are sorted by tgid). */
static size_t proc_pos(const struct gp_uw_registry *r, uint32_t tgid)
{
    size_t lo = 0, hi = r->nprocs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->procs[mid]->tgid < tgid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static struct proc **proc_slot(struct gp_uw_registry *r, uint32_t tgid)
{
    size_t i = proc_pos(r, tgid);
    return i < r->nprocs && r->procs[i]->tgid == tgid ? &r->procs[i] : NULL;
}

static void proc_drop(struct gp_uw_registry *r, struct proc *p)
{
    for (size_t i = 0; i < p->nrefs; i++)
        tab_unref(r, p->refs[i]);
    proc_free(p);
}

static int add_ref(struct proc *p, struct tab *t, size_t cap)
{
    for (size_t i = 0; i < p->nrefs; i++)
        if (p->refs[i] == t)
            return 0;
    if (p->nrefs == cap)
        return -ENOSPC;
    p->refs[p->nrefs++] = t;
    return 1;
}

/* Publishes p's mappings to client c's sink, loading the tables they need there first; a
 * mapping whose table the sink has no room for is left out (frame pointers there). */
static int publish_proc_to(struct gp_uw_registry *r, const struct proc *p, int c)
{
    struct gp_uw_mapping v[GP_UW_MAX_MAPPINGS];
    size_t k = 0;
    for (size_t j = 0; j < p->n && k < GP_UW_MAX_MAPPINGS; j++)
        if (publish_table(r, p->mtab[j], c) == 0 && (p->mtab[j]->in_sink & BIT(c)))
            v[k++] = p->m[j];
    if (!r->sink[c].proc_set)
        return 0;
    return r->sink[c].proc_set(r->sink[c].ctx, p->tgid, v, k);
}

/* Publishes p to the sink of every client that noted it. */
static int publish_proc(struct gp_uw_registry *r, const struct proc *p)
{
    int rc = 0;
    for (int c = 0; c < GP_UW_CLIENTS; c++)
        if (r->sinks & p->owners & BIT(c)) {
            int prc = publish_proc_to(r, p, c);
            if (prc && !rc)
                rc = prc;
        }
    return rc;
}

static void sinks_proc_remove(struct gp_uw_registry *r, const struct proc *p)
{
    for (int c = 0; c < GP_UW_CLIENTS; c++)
        if ((r->sinks & p->owners & BIT(c)) && r->sink[c].proc_remove)
            r->sink[c].proc_remove(r->sink[c].ctx, p->tgid);
}

/* Takes p's reference on t and adds the mapping [start, end) at file offset to p's mappings with
 * a table (kept sorted by start) when t is loaded. */
static void attach(struct gp_uw_registry *r, struct proc *p, struct tab *t, uint64_t start,
                   uint64_t end, uint64_t offset, const char *path)
{
    if (add_ref(p, t, p->cap) > 0)
        tab_ref(r, t);
    uint64_t vaddr;
    if (!t->t || vaddr_of(t, offset, &vaddr))
        return;
    if (p->n == GP_UW_MAX_MAPPINGS) { /* the rest walks by frame pointers */
        r->st.mappings_over_limit++;
        if (!r->logged_mappings_limit++)
            gp_warn("unwind: process %u maps more than %d binaries with unwind tables; %s "
                    "and later ones unwind by frame pointers (counted in "
                    "gprof.unwind.mappings_over_limit)",
                    p->tgid, GP_UW_MAX_MAPPINGS, path);
        return;
    }
    size_t at = p->n;
    while (at > 0 && p->m[at - 1].start > start)
        at--;
    memmove(&p->m[at + 1], &p->m[at], (p->n - at) * sizeof(*p->m));
    memmove(&p->mtab[at + 1], &p->mtab[at], (p->n - at) * sizeof(*p->mtab));
    p->mtab[at] = t;
    p->m[at] = (struct gp_uw_mapping){
            .start = start, .end = end, .bias = start - vaddr, .table_id = t->id};
    p->n++;
}

static const char *base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Lazy: the binaries whose tables are built when a process is noted, so its first samples
 * unwind: the main executable (exe: /proc/PID/exe) and libc. */
static int built_at_note(const struct gp_map *m, const char *exe)
{
    const char *b = base_name(m->path);
    return (exe[0] && !strcmp(m->path, exe)) || !strncmp(b, "libc.so", 7) ||
           (!strncmp(b, "libc-", 5) && strstr(b, ".so"));
}

static int add_pending(struct proc *p, const struct gp_map *m)
{
    char *path = strdup(m->path);
    if (!path)
        return -ENOMEM;
    p->pend[p->npend++] = (struct pend){.start = m->start,
                                        .end = m->end,
                                        .offset = m->offset,
                                        .inode = m->inode,
                                        .dev_major = m->dev_major,
                                        .dev_minor = m->dev_minor,
                                        .path = path};
    return 0;
}

static int add_locked(struct gp_uw_registry *r, int client, int lazy, uint32_t tgid,
                      const struct gp_maps *maps, const char *exe)
{
    if (r->idle_keep_s >= 0)
        expire_idle(r, mono_s(), 0);
    struct proc *p = calloc(1, sizeof(*p));
    size_t cap = maps->n ? maps->n : 1;
    if (!p || !(p->m = calloc(cap, sizeof(*p->m))) || !(p->mtab = calloc(cap, sizeof(*p->mtab))) ||
        !(p->refs = calloc(cap, sizeof(*p->refs))) ||
        (lazy && !(p->pend = calloc(cap, sizeof(*p->pend))))) {
        proc_free(p);
        return -ENOMEM;
    }
    p->tgid = tgid;
    p->cap = cap;
    struct proc **old = proc_slot(r, tgid);
    p->owners = BIT(client) | (old ? (*old)->owners : 0);
    for (size_t i = 0; i < maps->n; i++) {
        const struct gp_map *m = &maps->v[i];
        if (m->kind != GP_MAP_FILE || m->perms[2] != 'x' || !m->path || !m->path[0])
            continue;
        if (lazy && !built_at_note(m, exe) &&
            !find_fast(r, makedev(m->dev_major, m->dev_minor), m->inode)) {
            if (add_pending(p, m)) {
                proc_drop(r, p);
                return -ENOMEM;
            }
            continue;
        }
        uint64_t built = r->st.tables_built;
        struct tab *t = tab_for(r, tgid, m);
        r->st.tables_built_at_note += r->st.tables_built - built;
        if (t)
            attach(r, p, t, m->start, m->end, m->offset, m->path);
    }
    int rc = publish_proc(r, p);
    if (rc)
        gp_debug("unwind: publishing the mappings of %u: %s", tgid, strerror(-rc));
    if (old) {
        struct proc *o = *old;
        *old = p;
        proc_drop(r, o); /* after the new references: shared tables stay */
        return 0;
    }
    if (r->nprocs == r->capprocs) {
        size_t ncap = r->capprocs ? r->capprocs * 2 : 64;
        struct proc **np = realloc(r->procs, ncap * sizeof(*np));
        if (!np) {
            sinks_proc_remove(r, p);
            proc_drop(r, p);
            return -ENOMEM;
        }
        r->procs = np;
        r->capprocs = ncap;
    }
    size_t at = proc_pos(r, tgid);
    memmove(&r->procs[at + 1], &r->procs[at], (r->nprocs - at) * sizeof(*r->procs));
    r->procs[at] = p;
    r->nprocs++;
    return 0;
}

int gp_uw_registry_add_process_c(struct gp_uw_registry *r, int client, uint32_t tgid,
                                 const struct gp_maps *maps, struct gp_err *err)
{
    if (client < 0 || client >= GP_UW_CLIENTS)
        return gp_err_set(err, -EINVAL, "unwind: no such registry client %d", client);
    return gp_uw_registry_add_process_lazy_c(
            r, client, tgid, maps, __atomic_load_n(&r->lazy[client], __ATOMIC_RELAXED), err);
}

int gp_uw_registry_add_process_lazy_c(struct gp_uw_registry *r, int client, uint32_t tgid,
                                      const struct gp_maps *maps, int lazy, struct gp_err *err)
{
    if (client < 0 || client >= GP_UW_CLIENTS)
        return gp_err_set(err, -EINVAL, "unwind: no such registry client %d", client);
    struct gp_maps own = {0};
    if (!maps) {
        int rc = gp_maps_read(tgid, 1, &own, err);
        if (rc)
            return rc;
        maps = &own;
    }
    char exe[4096] = "";
    if (lazy) {
        char link[64];
        snprintf(link, sizeof(link), "/proc/%u/exe", tgid);
        ssize_t n = readlink(link, exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        char *del = n > 10 ? strstr(exe, " (deleted)") : NULL;
        if (del && !del[10])
            *del = '\0'; /* as the maps path is shown */
    }
    /* The tables to build are built before the write lock (see tab_build), then entered. */
    size_t cap = maps->n ? maps->n : 1, npre = 0;
    struct built *pre = calloc(cap, sizeof(*pre));
    size_t *idx = calloc(cap, sizeof(*idx));
    pthread_rwlock_rdlock(&r->lock);
    for (size_t i = 0; pre && idx && i < maps->n; i++) {
        const struct gp_map *m = &maps->v[i];
        if (m->kind == GP_MAP_FILE && m->perms[2] == 'x' && m->path && m->path[0] &&
            (!lazy || built_at_note(m, exe)) &&
            !find_fast(r, makedev(m->dev_major, m->dev_minor), m->inode))
            idx[npre++] = i;
    }
    pthread_rwlock_unlock(&r->lock);
    for (size_t i = 0; i < npre; i++)
        tab_build(r, tgid, &maps->v[idx[i]], 0, &pre[i]);
    pthread_rwlock_wrlock(&r->lock);
    uint64_t built0 = r->st.tables_built, ns0 = r->st.build_ns;
    for (size_t i = 0; i < npre; i++) {
        uint64_t built = r->st.tables_built;
        tab_commit(r, &pre[i], &maps->v[idx[i]]);
        r->st.tables_built_at_note += r->st.tables_built - built;
    }
    free(pre);
    free(idx);
    int rc = add_locked(r, client, lazy, tgid, maps, exe);
    struct client_stats *cs = &r->cst[client]; /* exact: no other commit under the lock */
    cs->built += r->st.tables_built - built0;
    cs->at_note += r->st.tables_built - built0;
    cs->build_ns += r->st.build_ns - ns0;
    pthread_rwlock_unlock(&r->lock);
    gp_maps_free(&own);
    if (rc)
        return gp_err_set(err, rc, "noting the unwind tables of process %u: %s", tgid,
                          strerror(-rc));
    return 0;
}

void gp_uw_registry_remove_process(struct gp_uw_registry *r, uint32_t tgid)
{
    pthread_rwlock_wrlock(&r->lock);
    struct proc **slot = proc_slot(r, tgid);
    if (slot) {
        struct proc *p = *slot;
        size_t at = (size_t)(slot - r->procs);
        memmove(&r->procs[at], &r->procs[at + 1], (r->nprocs - at - 1) * sizeof(*r->procs));
        r->nprocs--;
        sinks_proc_remove(r, p);
        proc_drop(r, p);
    }
    pthread_rwlock_unlock(&r->lock);
}

int gp_uw_registry_scan_c(struct gp_uw_registry *r, int client, const uint32_t *pids, size_t npids)
{
    int noted = 0;
    struct gp_err e = {0};
    if (client < 0 || client >= GP_UW_CLIENTS)
        return -EINVAL;
    if (pids) {
        for (size_t i = 0; i < npids; i++)
            noted += gp_uw_registry_add_process_c(r, client, pids[i], NULL, &e) == 0;
        return noted;
    }
    DIR *d = opendir("/proc");
    if (!d)
        return -errno;
    uint32_t self = (uint32_t)getpid();
    struct dirent *de;
    while ((de = readdir(d)) && !__atomic_load_n(&r->cancel[client], __ATOMIC_RELAXED)) {
        char *end;
        unsigned long v = strtoul(de->d_name, &end, 10);
        if (*end || !v || v > UINT32_MAX || (uint32_t)v == self)
            continue;
        /* One this client noted already (from its first sample, on the session's note thread)
         * is current: noting it again would only redo that work and hold the lock meanwhile. */
        pthread_rwlock_rdlock(&r->lock);
        struct proc **slot = proc_slot(r, (uint32_t)v);
        int known = slot && ((*slot)->owners & BIT(client));
        pthread_rwlock_unlock(&r->lock);
        if (known)
            continue;
        noted += gp_uw_registry_add_process_c(r, client, (uint32_t)v, NULL, &e) == 0;
    }
    closedir(d);
    return noted;
}

void gp_uw_registry_cancel_scan_c(struct gp_uw_registry *r, int client)
{
    if (client >= 0 && client < GP_UW_CLIENTS)
        __atomic_store_n(&r->cancel[client], 1, __ATOMIC_RELAXED);
}

/* Detaches client c's sink (lock held): calls nothing on it. */
static void sink_detach(struct gp_uw_registry *r, int c)
{
    for (size_t i = 0; i < r->ntabs; i++)
        if (r->tabs[i]) {
            r->tabs[i]->in_sink &= ~BIT(c);
            r->tabs[i]->sink_failed &= ~BIT(c);
        }
    r->sinks &= ~BIT(c);
    r->sink[c] = (struct gp_uw_sink){0};
}

int gp_uw_registry_set_sink_c(struct gp_uw_registry *r, int client, const struct gp_uw_sink *sink)
{
    if (client < 0 || client >= GP_UW_CLIENTS)
        return -EINVAL;
    pthread_rwlock_wrlock(&r->lock);
    sink_detach(r, client);
    int rc = 0;
    if (sink) {
        r->sink[client] = *sink;
        r->sinks |= BIT(client);
        /* Replays the client's processes and the tables they map (one that does not fit any
         * sink loses its rows: its mappings go from every process). */
        for (size_t i = 0; i < r->nprocs; i++) {
            struct proc *p = r->procs[i];
            if (!(p->owners & BIT(client)))
                continue;
            int prc = publish_proc_to(r, p, client);
            if (prc && !rc)
                rc = prc;
        }
        for (size_t i = 0; i < r->nprocs; i++) {
            struct proc *p = r->procs[i];
            size_t k = 0;
            for (size_t j = 0; j < p->n; j++)
                if (p->mtab[j]->t) {
                    p->mtab[k] = p->mtab[j];
                    p->m[k++] = p->m[j];
                }
            p->n = k;
        }
    }
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int gp_uw_registry_ref(struct gp_uw_registry *r)
{
    int c = -EBUSY;
    pthread_rwlock_wrlock(&r->lock);
    for (int i = 0; i < GP_UW_CLIENTS; i++)
        if (r->clients && !(r->clients & BIT(i))) {
            c = i;
            r->clients |= BIT(i);
            r->cst[i] = (struct client_stats){0};
            r->cancel[i] = 0;
            r->lazy[i] = 0;
            break;
        }
    pthread_rwlock_unlock(&r->lock);
    return c;
}

void gp_uw_registry_unref(struct gp_uw_registry *r, int client)
{
    if (!r || client < 0 || client >= GP_UW_CLIENTS)
        return;
    pthread_rwlock_wrlock(&r->lock);
    sink_detach(r, client);
    r->clients &= ~BIT(client);
    /* The processes only this client noted go (their tables idle, as with an exit); the others
     * stay with the clients that still note them. */
    size_t k = 0;
    for (size_t i = 0; i < r->nprocs; i++) {
        struct proc *p = r->procs[i];
        p->owners &= ~BIT(client);
        if (p->owners) {
            r->procs[k++] = p;
            continue;
        }
        proc_drop(r, p);
    }
    r->nprocs = k;
    int last = r->clients == 0;
    pthread_rwlock_unlock(&r->lock);
    if (last)
        registry_destroy(r);
}

void gp_uw_registry_free(struct gp_uw_registry *r)
{
    gp_uw_registry_unref(r, 0);
}

int gp_uw_registry_set_sink(struct gp_uw_registry *r, const struct gp_uw_sink *sink)
{
    return gp_uw_registry_set_sink_c(r, 0, sink);
}

int gp_uw_registry_add_process(struct gp_uw_registry *r, uint32_t tgid, const struct gp_maps *maps,
                               struct gp_err *err)
{
    return gp_uw_registry_add_process_c(r, 0, tgid, maps, err);
}

int gp_uw_registry_scan(struct gp_uw_registry *r, const uint32_t *pids, size_t npids)
{
    return gp_uw_registry_scan_c(r, 0, pids, npids);
}

void gp_uw_registry_cancel_scan(struct gp_uw_registry *r)
{
    gp_uw_registry_cancel_scan_c(r, 0);
}

/* The mapping of p holding addr (binary search), or NULL. */
static const struct gp_uw_mapping *proc_mapping(const struct proc *p, uint64_t addr, size_t *idx)
{
    size_t lo = 0, hi = p->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (addr < p->m[mid].start)
            hi = mid;
        else if (addr >= p->m[mid].end)
            lo = mid + 1;
        else {
            *idx = mid;
            return &p->m[mid];
        }
    }
    return NULL;
}

const struct gp_uw_table *gp_uw_registry_lookup(struct gp_uw_registry *r, uint32_t tgid,
                                                uint64_t addr, uint64_t *bias)
{
    const struct gp_uw_table *res = NULL;
    pthread_rwlock_rdlock(&r->lock);
    struct proc **slot = proc_slot(r, tgid);
    size_t i;
    const struct gp_uw_mapping *m = slot ? proc_mapping(*slot, addr, &i) : NULL;
    if (m) {
        *bias = m->bias;
        res = (*slot)->mtab[i]->t;
    }
    pthread_rwlock_unlock(&r->lock);
    return res;
}

const struct gp_uw_entry *gp_uw_registry_row(void *registry, uint32_t tgid, uint64_t pc)
{
    uint64_t bias = 0;
    const struct gp_uw_table *t = gp_uw_registry_lookup(registry, tgid, pc, &bias);
    return t ? gp_uw_table_find(t, pc - bias) : NULL;
}

const void *gp_uw_registry_hold(void *registry, uint32_t tgid)
{
    struct gp_uw_registry *r = registry;
    pthread_rwlock_rdlock(&r->lock);
    struct proc **slot = proc_slot(r, tgid);
    return slot ? *slot : NULL;
}

const struct gp_uw_entry *gp_uw_registry_held_row(const void *held, uint64_t pc)
{
    const struct proc *p = held;
    size_t i;
    const struct gp_uw_mapping *m = p ? proc_mapping(p, pc, &i) : NULL;
    return m && p->mtab[i]->t ? gp_uw_table_find(p->mtab[i]->t, pc - m->bias) : NULL;
}

void gp_uw_registry_release(void *registry)
{
    pthread_rwlock_unlock(&((struct gp_uw_registry *)registry)->lock);
}

void gp_uw_registry_set_lazy_c(struct gp_uw_registry *r, int client, int lazy)
{
    if (client < 0 || client >= GP_UW_CLIENTS)
        return;
    pthread_rwlock_wrlock(&r->lock);
    __atomic_store_n(&r->lazy[client], lazy != 0, __ATOMIC_RELAXED);
    pthread_rwlock_unlock(&r->lock);
}

void gp_uw_registry_set_lazy(struct gp_uw_registry *r, int lazy)
{
    gp_uw_registry_set_lazy_c(r, 0, lazy);
}

/* Attaches t to every process with a pending mapping of the binary (dev, inode) and republishes
 * those processes (t NULL: the binary cannot be read; the mappings stop waiting). */
static void resolve_pending(struct gp_uw_registry *r, struct tab *t, uint32_t dev_major,
                            uint32_t dev_minor, uint64_t inode)
{
    for (size_t i = 0; i < r->nprocs; i++) {
        struct proc *q = r->procs[i];
        size_t before = q->n, k = 0;
        for (size_t j = 0; j < q->npend; j++) {
            struct pend *e = &q->pend[j];
            if (e->inode != inode || e->dev_major != dev_major || e->dev_minor != dev_minor) {
                q->pend[k++] = *e;
                continue;
            }
            if (t)
                attach(r, q, t, e->start, e->end, e->offset, e->path);
            free(e->path);
        }
        q->npend = k;
        if (q->n != before) {
            int rc = publish_proc(r, q);
            if (rc)
                gp_debug("unwind: publishing the mappings of %u: %s", q->tgid, strerror(-rc));
        }
    }
}

/* The pending mapping of process tgid holding pc, or NULL. */
static const struct pend *pending_at(struct gp_uw_registry *r, uint32_t tgid, uint64_t pc)
{
    struct proc **slot = proc_slot(r, tgid);
    for (size_t i = 0; slot && i < (*slot)->npend; i++)
        if (pc >= (*slot)->pend[i].start && pc < (*slot)->pend[i].end)
            return &(*slot)->pend[i];
    return NULL;
}

int gp_uw_registry_miss_c(struct gp_uw_registry *r, int client, uint32_t tgid, uint64_t pc)
{
    if (client < 0 || client >= GP_UW_CLIENTS)
        return 0;
    /* Most reports find nothing to build (the vDSO, JIT code, code without CFI): they take the
     * read lock only, beside the perf sampler's walks. The table is built without the lock. */
    __atomic_fetch_add(&r->st.misses, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->cst[client].misses, 1, __ATOMIC_RELAXED);
    pthread_rwlock_rdlock(&r->lock);
    const struct pend *pd = pending_at(r, tgid, pc);
    struct gp_map m = {0};
    if (pd)
        m = (struct gp_map){.start = pd->start,
                            .end = pd->end,
                            .offset = pd->offset,
                            .dev_major = pd->dev_major,
                            .dev_minor = pd->dev_minor,
                            .inode = pd->inode,
                            .kind = GP_MAP_FILE,
                            .perms = "r-xp",
                            .path = strdup(pd->path)};
    pthread_rwlock_unlock(&r->lock);
    if (!m.path) {
        __atomic_fetch_add(&r->st.misses_ignored, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&r->cst[client].misses_ignored, 1, __ATOMIC_RELAXED);
        return 0;
    }
    struct built b;
    tab_build(r, tgid, &m, 0, &b);
    pthread_rwlock_wrlock(&r->lock);
    uint64_t built = r->st.tables_built, ns0 = r->st.build_ns;
    struct tab *t = tab_commit(r, &b, &m);
    r->st.tables_built_on_miss += r->st.tables_built - built;
    r->cst[client].built += r->st.tables_built - built;
    r->cst[client].on_miss += r->st.tables_built - built;
    r->cst[client].build_ns += r->st.build_ns - ns0;
    if (t && r->st.tables_built != built)
        gp_debug("unwind: table of %s built on a miss of process %u", m.path, tgid);
    resolve_pending(r, t, m.dev_major, m.dev_minor, m.inode);
    int loaded = t && t->t;
    pthread_rwlock_unlock(&r->lock);
    free(m.path);
    return loaded;
}

int gp_uw_registry_miss(struct gp_uw_registry *r, uint32_t tgid, uint64_t pc)
{
    return gp_uw_registry_miss_c(r, 0, tgid, pc);
}

void gp_uw_registry_stats(struct gp_uw_registry *r, struct gp_uw_registry_stats *out)
{
    gp_uw_registry_stats_c(r, 0, out);
}

void gp_uw_registry_stats_c(struct gp_uw_registry *r, int client, struct gp_uw_registry_stats *out)
{
    if (client < 0 || client >= GP_UW_CLIENTS)
        client = 0;
    /* the write lock: marks tables while summing the client's kernel bytes */
    pthread_rwlock_wrlock(&r->lock);
    *out = r->st;
    const struct client_stats *cs = &r->cst[client];
    out->sessions = (uint64_t)__builtin_popcount(r->clients);
    out->client_tables_built = cs->built;
    out->client_built_at_note = cs->at_note;
    out->client_built_on_miss = cs->on_miss;
    out->client_build_ns = cs->build_ns;
    out->client_misses = cs->misses;
    out->client_misses_ignored = cs->misses_ignored;
    out->client_processes = 0;
    out->client_kernel_bytes = 0;
    for (size_t i = 0; i < r->ntabs; i++)
        if (r->tabs[i])
            r->tabs[i]->mark = 0;
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct proc *p = r->procs[i];
        if (!(p->owners & BIT(client)))
            continue;
        out->client_processes++;
        for (size_t j = 0; j < p->nrefs; j++)
            if (p->refs[j]->t && !p->refs[j]->mark) {
                p->refs[j]->mark = 1;
                out->client_kernel_bytes += p->refs[j]->kbytes;
            }
    }
    out->mappings_pending = 0;
    for (size_t i = 0; i < r->nprocs; i++)
        out->mappings_pending += r->procs[i]->npend;
    out->kernel_bytes = r->used_bytes;
    out->processes = r->nprocs;
    out->max_bytes = r->max_bytes;
    pthread_rwlock_unlock(&r->lock);
}
