/* symbolizer.c — per-process map snapshots over the shared ELF cache, JIT maps and kallsyms
 * (see symbolizer.h). A little over 800 lines: user naming, kernel naming and the process-table
 * listener share the frame arena and the gc generation; the parts that stand alone are in
 * elfcache.c, loader.c, perfmap.c, kallsyms*.c, funcstarts.c and debuginfod.c. */
#include "agent/symbols/symbolizer.h"
#include "agent/procs/maps.h"
#include "agent/procs/perfmap_file.h"
#include "agent/procs/proctable.h"
#include "agent/symbols/debuginfod.h"
#include "agent/symbols/elfcache.h"
#include "agent/symbols/elfsyms.h"
#include "agent/symbols/funcstarts.h"
#include "agent/symbols/kallsyms_cache.h"
#include "agent/symbols/loader.h"
#include "agent/symbols/perfmap.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ARENA_CHUNK (64u * 1024)

/* The symbolizer's link from one executable mapping of a process (the same index in the process
 * table's maps snapshot) to the binary behind it. */
struct pmap {
    uint64_t start, end, offset, inode; /* identity of the mapping, to carry the link to */
    uint32_t dev_major, dev_minor;      /* the same mapping in the next snapshot */
    enum gp_map_kind kind;
    struct gp_elf_key key;
    int have_key;
    int load_failed;
    int pinned;
    uint64_t hold; /* the loader's hold on the file while it is not read (0: none) */
    struct gp_elf_entry *entry;
    uint64_t entry_gen; /* cache generation entry was valid for */
};

/* What the symbolizer attaches to a process-table entry. */
struct sproc {
    struct pmap *maps; /* parallel to the entry's maps.v */
    size_t nmaps;
    uint64_t remap_gen; /* gc generation of the last re-read on a miss */
    struct gp_rangetab perfmap;
    int perfmap_loaded;
    int perfmap_refused; /* a refusal was logged */
    uint64_t perfmap_gen;
    int64_t perfmap_mtime;
    int64_t perfmap_size;
};

struct arena_chunk {
    struct arena_chunk *next;
    size_t used, cap;
    char data[];
};

struct gp_symbolizer {
    char **dirs;
    size_t ndirs;
    int no_kernel;
    struct gp_elfcache *cache;
    struct gp_proctable *procs;
    int own_procs; /* procs was created by (and is freed with) the symbolizer */
    int listener;  /* our id in procs, -1 when not registered */
    struct gp_rangetab kernel;
    int kernel_state; /* 0 not tried, 1 loaded, -1 failed */
    time_t kernel_loaded_at;
    int kernel_missed; /* a kernel-text address was not named since the last load */
    int kernel_cached; /* the table came from the per-boot file, not a live read */
    char *kallsyms_cache_dir;
    struct gp_elfsyms *vdso;
    struct arena_chunk *arena;
    struct gp_loader *loader;  /* binaries opened at note time, read when a stack needs them */
    struct gp_debuginfod *dfd; /* debug files of stripped binaries, fetched in the background */
    uint64_t debuginfod_named;
    struct gp_rangetab *retired; /* replaced perf maps: their names live until the next gc */
    size_t nretired, capretired;
    uint64_t gc_gen;
    uint64_t frames, resolved, unresolved;
};

static void load_kernel(struct gp_symbolizer *s, int fresh);

/* ---- frame text arena (reset by gc) ---- */

static const char *arena_printf(struct gp_symbolizer *s, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static const char *arena_printf(struct gp_symbolizer *s, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    size_t need = (size_t)(n < (int)sizeof(tmp) ? n : (int)sizeof(tmp) - 1) + 1;
    struct arena_chunk *c = s->arena;
    if (!c || c->cap - c->used < need) {
        size_t cap = need > ARENA_CHUNK ? need : ARENA_CHUNK;
        c = malloc(sizeof(*c) + cap);
        if (!c)
            return NULL;
        c->next = s->arena;
        c->used = 0;
        c->cap = cap;
        s->arena = c;
    }
    char *p = c->data + c->used;
    memcpy(p, tmp, need - 1);
    p[need - 1] = '\0';
    c->used += need;
    return p;
}

static void arena_reset(struct gp_symbolizer *s)
{
    /* Keep the newest chunk for reuse; free the rest. */
    struct arena_chunk *c = s->arena;
    if (!c)
        return;
    struct arena_chunk *n = c->next;
    c->next = NULL;
    c->used = 0;
    while (n) {
        struct arena_chunk *nn = n->next;
        free(n);
        n = nn;
    }
}

/* ---- processes (the table's entries, with what the symbolizer attaches to them) ---- */

static void pmaps_free(struct gp_symbolizer *s, struct pmap *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i].pinned) /* a pinned entry is never evicted, so the pointer is still good */
            gp_elf_entry_unpin(v[i].entry);
        gp_loader_release(s->loader, v[i].hold);
    }
    free(v);
}

/* Frame text handed out from a perf map must stay valid until the next gc: a replaced table
 * is parked here instead of freed (freed at once only if parking fails for lack of memory). */
static void retire_rangetab(struct gp_symbolizer *s, struct gp_rangetab *t)
{
    if (!t->v && !t->strs)
        return;
    if (s->nretired == s->capretired) {
        size_t nc = s->capretired ? s->capretired * 2 : 8;
        struct gp_rangetab *nv = realloc(s->retired, nc * sizeof(*nv));
        if (!nv) {
            gp_rangetab_free(t);
            return;
        }
        s->retired = nv;
        s->capretired = nc;
    }
    s->retired[s->nretired++] = *t;
    memset(t, 0, sizeof(*t));
}

static void free_retired(struct gp_symbolizer *s)
{
    for (size_t i = 0; i < s->nretired; i++)
        gp_rangetab_free(&s->retired[i]);
    s->nretired = 0;
}

/* Moves a binary read by the loader into the cache; a stripped one without a local debug file
 * is queued for debuginfod (named at the gc after its fetch: apply_fetched()). */
static struct gp_elf_entry *adopt(struct gp_symbolizer *s, const struct gp_elf_key *k,
                                  struct gp_elfsyms *syms)
{
    struct gp_elf_entry *e = NULL;
    if (syms && gp_elfcache_insert(s->cache, k, syms, &e) < 0)
        e = NULL;
    if (e && s->dfd && gp_elfsyms_wants_debug_file(gp_elf_entry_syms(e)))
        gp_debuginfod_request(s->dfd, gp_elf_entry_syms(e)->build_id,
                              gp_elf_entry_syms(e)->build_id_len);
    return e;
}

/* Adds the symbols of debug files fetched since the last gc to their binaries, when still
 * cached (an evicted one is queued again when it is read again, and found in the disk cache). */
static void apply_fetched(struct gp_symbolizer *s)
{
    uint8_t id[GP_BUILD_ID_MAX];
    size_t len;
    char *path;
    while (s->dfd && gp_debuginfod_take(s->dfd, id, &len, &path)) {
        struct gp_elf_entry *e = gp_elfcache_find_build_id(s->cache, id, len);
        struct gp_elfsyms *syms = e ? gp_elf_entry_syms(e) : NULL;
        struct gp_err err = {0};
        if (syms && gp_elfsyms_wants_debug_file(syms)) {
            if (gp_elfsyms_add_debug_file(syms, path, &err) == 0) {
                s->debuginfod_named++;
                gp_debug("symbols: %zu functions named with %s", syms->nsyms, path);
            } else {
                gp_warn("symbols: debuginfod file ignored: %s", err.msg);
            }
        }
        free(path);
    }
}

/* Links mapping g (m is its link) to its binary: already loaded, or opened now and held until a
 * stack needs it (reading it here would read every library of every process, most never on a
 * stack). */
static void attach_pmap(struct gp_symbolizer *s, const struct gp_proc *p, struct pmap *m,
                        const struct gp_map *g, uint64_t inode)
{
    struct stat st;
    /* Most mappings are of binaries already read or held (libc in every process): a stat of the
     * mapping tells which, without opening it. */
    char mf[96];
    snprintf(mf, sizeof(mf), "/proc/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, p->tgid, g->start,
             g->end);
    if (stat(mf, &st) == 0 && S_ISREG(st.st_mode)) {
        struct gp_elf_key k;
        gp_elf_key_from_stat(&st, &k);
        struct gp_elf_entry *e = gp_elfcache_find(s->cache, &k);
        uint64_t hold = e ? 0 : gp_loader_ref(s->loader, &k);
        if (e || hold) {
            m->key = k;
            m->have_key = 1;
            m->entry = e;
            m->entry_gen = gp_elfcache_generation(s->cache);
            gp_loader_release(s->loader, m->hold);
            m->hold = hold;
            return;
        }
    }
    int fd = gp_map_open(p->tgid, g, inode, &st);
    if (fd < 0) {
        m->load_failed = 1;
        gp_debug("symbols: cannot open %s of pid %" PRIu32 ": %s", g->path, p->tgid, strerror(-fd));
        return;
    }
    gp_elf_key_from_stat(&st, &m->key);
    m->have_key = 1;
    struct gp_elf_entry *e = gp_elfcache_find(s->cache, &m->key);
    if (e) {
        m->entry = e;
        m->entry_gen = gp_elfcache_generation(s->cache);
        close(fd);
        return;
    }
    int rootfd = -1;
    if (p->other_mntns) {
        char rp[64];
        snprintf(rp, sizeof(rp), "/proc/%" PRIu32 "/root", p->tgid);
        rootfd = open(rp, O_PATH | O_DIRECTORY | O_CLOEXEC);
    }
    char *path = strdup(g->path);
    if (!path) {
        close(fd);
        if (rootfd >= 0)
            close(rootfd);
        return;
    }
    gp_loader_release(s->loader, m->hold);
    m->hold = gp_loader_hold(s->loader, &m->key, fd, rootfd, path);
}

/* Moves o's link to its binary (key, hold, loaded entry, pin) to m, the same mapping in a newer
 * snapshot; o is freed without them. */
static void take_attachment(struct pmap *m, struct pmap *o)
{
    m->key = o->key;
    m->have_key = o->have_key;
    m->load_failed = o->load_failed;
    m->pinned = o->pinned;
    m->hold = o->hold;
    m->entry = o->entry;
    m->entry_gen = o->entry_gen;
    o->pinned = 0;
    o->hold = 0;
    o->have_key = 0;
    o->entry = NULL;
}

/* The symbols of mapping g (m is its link), loading its binary now if it is still pending. */
static struct gp_elfsyms *pmap_syms(struct gp_symbolizer *s, const struct gp_proc *p,
                                    struct pmap *m, const struct gp_map *g)
{
    uint64_t gen = gp_elfcache_generation(s->cache);
    if (m->entry && m->entry_gen == gen)
        return gp_elf_entry_syms(m->entry);
    m->entry = NULL;
    struct gp_elf_entry *e = NULL;
    struct gp_elfsyms *syms;
    if (m->have_key) {
        e = gp_elfcache_find(s->cache, &m->key);
        if (!e && gp_loader_take(s->loader, &m->key, &syms)) {
            e = adopt(s, &m->key, syms);
            if (!e)
                m->load_failed = 1; /* not a readable ELF: do not read it again */
        }
    }
    if (!e && !p->exited && !m->load_failed) {
        m->have_key = 0;
        attach_pmap(s, p, m, g, 0); /* evicted or never opened: open it again while it lives */
        if (m->have_key && !(e = gp_elfcache_find(s->cache, &m->key)) &&
            gp_loader_take(s->loader, &m->key, &syms))
            e = adopt(s, &m->key, syms);
        if (!e)
            m->load_failed = 1;
    }
    if (!e)
        return NULL;
    m->entry = e;
    m->entry_gen = gen = gp_elfcache_generation(s->cache);
    if (p->exited && !m->pinned) { /* loaded after the exit: keep it until the gc */
        gp_elf_entry_pin(e);
        m->pinned = 1;
    }
    return gp_elf_entry_syms(e);
}

int gp_symbolizer_load_pending(struct gp_symbolizer *s, unsigned budget_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int n = 0;
    struct gp_elf_key k;
    struct gp_elfsyms *syms;
    while (gp_loader_take_any(s->loader, &k, &syms)) {
        adopt(s, &k, syms);
        n++;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >= (long)budget_ms)
            break;
    }
    return n;
}

/* Links every mapping of the table's new snapshot to its binary, carrying the links of
 * mappings unchanged since the last snapshot (no reopen). */
static void sync_maps(struct gp_symbolizer *s, const struct gp_proc *p, struct sproc *sp)
{
    const struct gp_maps *maps = &p->maps;
    struct pmap *v = calloc(maps->n ? maps->n : 1, sizeof(*v));
    if (!v) { /* names fall back to module+offset until the next snapshot */
        pmaps_free(s, sp->maps, sp->nmaps);
        sp->maps = NULL;
        sp->nmaps = 0;
        return;
    }
    size_t j = 0; /* walks the old links alongside: both are sorted by start */
    for (size_t i = 0; i < maps->n; i++) {
        const struct gp_map *g = &maps->v[i];
        struct pmap *m = &v[i];
        *m = (struct pmap){.start = g->start,
                           .end = g->end,
                           .offset = g->offset,
                           .inode = g->inode,
                           .dev_major = g->dev_major,
                           .dev_minor = g->dev_minor,
                           .kind = g->kind};
        if (g->kind != GP_MAP_FILE)
            continue;
        while (j < sp->nmaps && sp->maps[j].start < m->start)
            j++;
        struct pmap *o = j < sp->nmaps ? &sp->maps[j] : NULL;
        if (o && o->kind == GP_MAP_FILE && o->start == m->start && o->end == m->end &&
            o->offset == m->offset && o->inode == m->inode && o->dev_major == m->dev_major &&
            o->dev_minor == m->dev_minor && !o->load_failed)
            take_attachment(m, o); /* unchanged since the last snapshot: no reopen */
        else
            attach_pmap(s, p, m, g, g->inode);
    }
    pmaps_free(s, sp->maps, sp->nmaps);
    sp->maps = v;
    sp->nmaps = maps->n;
}

/* The link of mapping g of p, or NULL (out of memory at the last snapshot). */
static struct pmap *pmap_of(const struct gp_proc *p, struct sproc *sp, const struct gp_map *g)
{
    size_t i = (size_t)(g - p->maps.v);
    return sp && i < sp->nmaps && sp->maps[i].start == g->start ? &sp->maps[i] : NULL;
}

static void load_perfmap(struct gp_symbolizer *s, const struct gp_proc *p, struct sproc *sp)
{
    struct stat st;
    struct gp_err err = {0};
    int fd = gp_perfmap_open(p->tgid, p->nspid, GP_PERFMAP_MAX_BYTES, &st, &err);
    if (fd < 0) {
        if (fd != -ENOENT && fd != -ESRCH && !sp->perfmap_refused) {
            sp->perfmap_refused = 1; /* once per process: it is re-read on misses */
            gp_warn("pid %" PRIu32 " (%s): perf map refused: %s; its JIT frames show as "
                    "module+0xoffset",
                    p->tgid, p->comm, err.msg);
        }
        return;
    }
    int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    if (sp->perfmap_loaded && mt == sp->perfmap_mtime && st.st_size == sp->perfmap_size) {
        close(fd);
        return;
    }
    char *buf;
    size_t len;
    struct gp_rangetab t = {0};
    int rc = gp_perfmap_read(fd, &st, &buf, &len, &err);
    close(fd);
    if (rc < 0)
        return;
    rc = gp_perfmap_parse(buf, len, &t, &err);
    free(buf);
    if (rc < 0)
        return;
    retire_rangetab(s, &sp->perfmap);
    sp->perfmap = t;
    sp->perfmap_loaded = 1;
    sp->perfmap_mtime = mt;
    sp->perfmap_size = st.st_size;
}

/* Process-table listener: a process was seen, exec'd or re-read. Opens every mapped binary now,
 * while it lives (see gp_symbolizer_new). */
static void on_seen(void *ctx, const struct gp_proc *p, int is_exec)
{
    (void)is_exec;
    struct gp_symbolizer *s = ctx;
    struct sproc *sp = gp_proc_data(p, s->listener);
    if (!sp) {
        if (!(sp = calloc(1, sizeof(*sp))))
            return; /* its frames are named module+offset */
        gp_proc_set_data(p, s->listener, sp);
    }
    sync_maps(s, p, sp);
    load_perfmap(s, p, sp);
}

/* The process exited: pin what is loaded; binaries still pending are held open and pinned once
 * loaded, so its samples are named until the gc drops it. */
static void on_exited(void *ctx, const struct gp_proc *p)
{
    struct gp_symbolizer *s = ctx;
    struct sproc *sp = gp_proc_data(p, s->listener);
    if (!sp)
        return;
    uint64_t gen = gp_elfcache_generation(s->cache);
    for (size_t i = 0; i < sp->nmaps; i++) {
        struct pmap *m = &sp->maps[i];
        if (m->kind != GP_MAP_FILE || m->pinned)
            continue;
        if (!(m->entry && m->entry_gen == gen) && m->have_key) {
            m->entry = gp_elfcache_find(s->cache, &m->key);
            m->entry_gen = gen;
        }
        if (m->entry && m->entry_gen == gen) {
            gp_elf_entry_pin(m->entry);
            m->pinned = 1;
        }
    }
}

/* The entry goes: close the binaries only it held; perf-map names live until our gc. */
static void on_dropped(void *ctx, uint32_t tgid)
{
    struct gp_symbolizer *s = ctx;
    const struct gp_proc *p = gp_proctable_find(s->procs, tgid);
    struct sproc *sp = p ? gp_proc_data(p, s->listener) : NULL;
    if (!sp)
        return;
    gp_proc_set_data(p, s->listener, NULL);
    pmaps_free(s, sp->maps, sp->nmaps);
    retire_rangetab(s, &sp->perfmap);
    free(sp);
}

struct gp_proctable *gp_symbolizer_procs(struct gp_symbolizer *s)
{
    return s->procs;
}

void gp_symbolizer_gc(struct gp_symbolizer *s)
{
    arena_reset(s);
    free_retired(s);
    apply_fetched(s); /* frame text handed out before is gone: symbols may change now */
    gp_elfcache_trim(s->cache);
    /* Code loaded since kallsyms was read (a module, a BPF program): read it again, at once
     * when the table came from the per-boot file, else at most once a minute. */
    if (s->kernel_state == 1 && s->kernel_missed &&
        (s->kernel_cached || time(NULL) - s->kernel_loaded_at >= 60)) {
        s->kernel_missed = 0;
        load_kernel(s, 1);
    }
    s->gc_gen++;
}

/* ---- lookup ---- */

/* The perf map's name for addr, re-reading the map (once per gc cycle) on a miss. */
static const char *perfmap_name(struct gp_symbolizer *s, const struct gp_proc *p, struct sproc *sp,
                                uint64_t addr)
{
    if (!sp)
        return NULL;
    const char *n = sp->perfmap_loaded ? gp_rangetab_lookup(&sp->perfmap, addr) : NULL;
    if (!n && !p->exited && sp->perfmap_gen != s->gc_gen + 1) {
        sp->perfmap_gen = s->gc_gen + 1; /* JITs append: re-read once per gc cycle */
        load_perfmap(s, p, sp);
        n = sp->perfmap_loaded ? gp_rangetab_lookup(&sp->perfmap, addr) : NULL;
    }
    return n;
}

static const char *name_user(struct gp_symbolizer *s, const struct gp_proc *p, uint64_t addr,
                             int *ok)
{
    *ok = 0;
    struct sproc *sp = p ? gp_proc_data(p, s->listener) : NULL;
    const struct gp_map *g = p ? gp_maps_find(&p->maps, addr) : NULL;
    if (sp && !g && !p->exited && sp->remap_gen != s->gc_gen + 1) {
        /* Mapped after the snapshot (dlopen, JIT): re-read once per gc cycle. */
        sp->remap_gen = s->gc_gen + 1;
        if (gp_proctable_refresh_maps(s->procs, p->tgid) == 0)
            g = gp_maps_find(&p->maps, addr);
    }
    if (!g && p && p->ppid > 1) {
        /* Sampled between fork and exec: the address is in the parent's image. */
        const struct gp_proc *pp = gp_proctable_find(s->procs, p->ppid);
        if (pp && pp != p && pp->starttime <= p->starttime && (g = gp_maps_find(&pp->maps, addr))) {
            p = pp;
            sp = gp_proc_data(pp, s->listener);
        }
    }
    if (!g) {
        const char *n = p ? perfmap_name(s, p, sp, addr) : NULL;
        if (n) {
            *ok = 1;
            return n;
        }
        return "[unknown]";
    }
    uint64_t off = addr - g->start;
    switch (g->kind) {
    case GP_MAP_FILE: {
        struct pmap *m = pmap_of(p, sp, g);
        struct gp_elfsyms *e = m ? pmap_syms(s, p, m, g) : NULL;
        uint64_t vaddr;
        uint64_t foff = off + g->offset;
        if (e && gp_elfsyms_vaddr(e, foff, &vaddr) == 0) {
            const char *n = gp_elfsyms_lookup(e, vaddr);
            if (n) {
                *ok = 1;
                return n;
            }
            (void)gp_funcstarts_offset(e, vaddr, &foff); /* no symbol: its function's start */
        }
        if (!e) { /* not an ELF file: JIT code in a memfd or a file a JIT maps */
            const char *n = perfmap_name(s, p, sp, addr);
            if (n) {
                *ok = 1;
                return n;
            }
        }
        return arena_printf(s, "%s+0x%" PRIx64, gp_map_module_name(g), foff);
    }
    case GP_MAP_VDSO: {
        uint64_t vaddr;
        if (s->vdso && gp_elfsyms_vaddr(s->vdso, off, &vaddr) == 0) {
            const char *n = gp_elfsyms_lookup(s->vdso, vaddr);
            if (n) {
                *ok = 1;
                return n;
            }
        }
        return arena_printf(s, "[vdso]+0x%" PRIx64, off);
    }
    case GP_MAP_ANON: {
        const char *n = perfmap_name(s, p, sp, addr);
        if (n) {
            *ok = 1;
            return n;
        }
        return arena_printf(s, "[anon]+0x%" PRIx64, off);
    }
    default:
        return arena_printf(s, "%s+0x%" PRIx64, gp_map_module_name(g), off);
    }
}

/* Names n addresses of process tgid; ret: the addresses after the first are return addresses. */
static int names_user(struct gp_symbolizer *s, uint32_t tgid, const uint64_t *ips, uint32_t n,
                      int ret, const char **out, int *resolved)
{
    const struct gp_proc *p = gp_proctable_find(s->procs, tgid);
    if (!p && gp_proctable_note(s->procs, tgid, 0) == 0)
        p = gp_proctable_find(s->procs, tgid);
    int rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t addr = ret && i > 0 ? ips[i] - 1 : ips[i];
        int ok;
        const char *name = name_user(s, p, addr, &ok);
        if (!name) {
            name = "[unknown]";
            rc = -ENOMEM;
        }
        out[i] = name;
        if (resolved)
            resolved[i] = ok;
        s->frames++;
        if (ok)
            s->resolved++;
        else
            s->unresolved++;
    }
    return rc;
}

int gp_symbolize_user(struct gp_symbolizer *s, uint32_t tgid, const uint64_t *ips, uint32_t n,
                      const char **out)
{
    return names_user(s, tgid, ips, n, 1, out, NULL);
}

int gp_symbolize_user_at(struct gp_symbolizer *s, uint32_t tgid, const uint64_t *addrs, uint32_t n,
                         const char **out, int *resolved)
{
    return names_user(s, tgid, addrs, n, 0, out, resolved);
}

/* Reads the kernel's symbols: on the first kernel frame (a session that never samples the kernel
 * never pays for it) from the per-boot file when there is one, and live (fresh) after misses. */
static void load_kernel(struct gp_symbolizer *s, int fresh)
{
    struct gp_rangetab t = {0};
    struct gp_err err = {0};
    s->kernel_loaded_at = time(NULL);
    if (gp_kallsyms_load_cached(s->kallsyms_cache_dir, fresh, &t, &err) == 0) {
        gp_rangetab_free(&s->kernel);
        s->kernel = t;
        s->kernel_state = 1;
        s->kernel_cached = t.map != NULL;
    } else if (s->kernel_state == 0) {
        s->kernel_state = -1;
        gp_warn("kernel frames will be [unknown]_[k]: %s", err.msg);
    }
}

static int names_kernel(struct gp_symbolizer *s, const uint64_t *ips, uint32_t n, int ret,
                        const char **out, int *resolved)
{
    if (s->kernel_state == 0)
        load_kernel(s, 0);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t addr = ret && i > 0 ? ips[i] - 1 : ips[i];
        const char *name = s->kernel_state == 1 ? gp_rangetab_lookup(&s->kernel, addr) : NULL;
        s->frames++;
        if (resolved)
            resolved[i] = name != NULL;
        if (name) {
            s->resolved++;
        } else {
            s->unresolved++;
            name = "[unknown]_[k]";
            if (addr >= 0xffff800000000000ULL)
                s->kernel_missed = 1;
        }
        out[i] = name;
    }
    return 0;
}

int gp_symbolize_kernel(struct gp_symbolizer *s, const uint64_t *ips, uint32_t n, const char **out)
{
    return names_kernel(s, ips, n, 1, out, NULL);
}

int gp_symbolize_kernel_at(struct gp_symbolizer *s, const uint64_t *addrs, uint32_t n,
                           const char **out, int *resolved)
{
    return names_kernel(s, addrs, n, 0, out, resolved);
}

/* ---- lifetime ---- */

static void load_vdso(struct gp_symbolizer *s)
{
    struct gp_maps maps;
    struct gp_err err = {0};
    if (gp_maps_read((uint32_t)getpid(), 0, &maps, &err) < 0)
        return;
    for (size_t i = 0; i < maps.n; i++) {
        if (maps.v[i].kind == GP_MAP_VDSO) {
            /* Every 64-bit process maps the same vDSO image: ours names theirs. Its internal
             * functions are named only by the kernel's vdso debug file, found by build-id. */
            struct gp_debug_search ds = {(const char *const *)s->dirs, s->ndirs, "", NULL};
            if (gp_elfsyms_load_mem((const void *)(uintptr_t)maps.v[i].start,
                                    maps.v[i].end - maps.v[i].start, &ds, &s->vdso, &err) < 0)
                s->vdso = NULL;
            break;
        }
    }
    gp_maps_free(&maps);
}

int gp_symbolizer_new(const struct gp_symbolizer_opts *o, struct gp_symbolizer **out,
                      struct gp_err *err)
{
    static const char *const def_dirs[] = {"/usr/lib/debug"};
    struct gp_symbolizer_opts dflt = {0};
    if (!o)
        o = &dflt;
    struct gp_symbolizer *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->listener = -1;
    const char *const *dirs = o->ndebug_dirs ? o->debug_dirs : def_dirs;
    size_t nd = o->ndebug_dirs ? o->ndebug_dirs : 1;
    s->dirs = calloc(nd, sizeof(char *));
    if (!s->dirs)
        goto oom;
    for (size_t i = 0; i < nd; i++) {
        size_t l = strlen(dirs[i]);
        while (l > 1 && dirs[i][l - 1] == '/')
            l--;
        s->dirs[i] = strndup(dirs[i], l);
        if (!s->dirs[i])
            goto oom;
        s->ndirs++;
    }
    s->no_kernel = o->no_kernel;
    if (o->kallsyms_cache_dir && !(s->kallsyms_cache_dir = strdup(o->kallsyms_cache_dir)))
        goto oom;
    if (o->no_kernel)
        s->kernel_state = -1;
    if (gp_elfcache_new(o->cache_bytes ? o->cache_bytes : GP_SYMBOLIZER_DEFAULT_CACHE_BYTES,
                        &s->cache) < 0)
        goto oom;
    if (gp_loader_new((const char *const *)s->dirs, s->ndirs, &s->loader) < 0)
        goto oom;
    if (gp_debuginfod_enabled() && gp_debuginfod_new(&s->dfd) < 0)
        goto oom;
    load_vdso(s);
    s->procs = o->procs;
    if (!s->procs) {
        if (gp_proctable_new(&s->procs) < 0)
            goto oom;
        s->own_procs = 1;
    }
    struct gp_proctable_listener l = {
            .ctx = s, .seen = on_seen, .exited = on_exited, .dropped = on_dropped};
    s->listener = gp_proctable_add_listener(s->procs, &l);
    if (s->listener < 0) {
        gp_symbolizer_free(s);
        return gp_err_set(err, -ENOSPC, "the process table has no room for the symbolizer");
    }
    *out = s;
    return 0;
oom:
    gp_symbolizer_free(s);
    return gp_err_set(err, -ENOMEM, "out of memory creating the symbolizer");
}

void gp_symbolizer_free(struct gp_symbolizer *s)
{
    if (!s)
        return;
    gp_debuginfod_free(s->dfd);
    if (s->procs) {
        gp_proctable_remove_listener(s->procs, s->listener); /* frees what we attached */
        if (s->own_procs)
            gp_proctable_free(s->procs);
    }
    gp_loader_free(s->loader);
    gp_elfcache_free(s->cache);
    gp_rangetab_free(&s->kernel);
    free(s->kallsyms_cache_dir);
    gp_elfsyms_free(s->vdso);
    arena_reset(s);
    free(s->arena);
    free_retired(s);
    free(s->retired);
    for (size_t i = 0; i < s->ndirs; i++)
        free(s->dirs[i]);
    free(s->dirs);
    free(s);
}

void gp_symbolizer_stats(const struct gp_symbolizer *s, struct gp_symbolizer_stats *out)
{
    struct gp_elfcache_stats cs;
    gp_elfcache_stats(s->cache, &cs);
    memset(out, 0, sizeof(*out));
    out->frames = s->frames;
    out->resolved = s->resolved;
    out->unresolved = s->unresolved;
    out->elf_loaded = cs.loads;
    out->cache_bytes = cs.bytes;
    struct gp_proctable_stats ps = {0};
    if (s->procs)
        gp_proctable_stats(s->procs, &ps);
    out->processes = ps.processes;
    out->processes_exited = ps.exited;
    out->elf_cache_hits = cs.hits;
    out->elf_build_id_hits = cs.build_id_hits;
    out->elf_evictions = cs.evictions;
    out->elf_pending = s->loader ? gp_loader_pending(s->loader) : 0;
    if (s->dfd) {
        struct gp_debuginfod_stats ds;
        gp_debuginfod_stats(s->dfd, &ds);
        out->debuginfod_requested = ds.requested;
        out->debuginfod_failed = ds.failed;
    }
    out->debuginfod_named = s->debuginfod_named;
}
