/* uw_maps.c — writes unwind tables into the BPF unwinder's arrays (row keys, packed rules and
 * page index through mmap, descriptors by map updates) and per-process mappings into its hash. */
#include "agent/sampler/uw_maps.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bpf/unwind.h"
#include "common/log.h"

/* One array's user-space view. The whole length is reserved at open but mapped a prefix at a
 * time, as tables reach further: the kernel fills every page-table entry of a map's mmap at once
 * (16,384 for the 64 MiB of a host-wide session), and most sessions use a few MiB. */
struct window {
    void *base;
    size_t len, mapped;
    int fd;
};

/* Free extents of one array (in its allocation unit), sorted by start. */
struct extents {
    struct ext {
        uint32_t start, len;
    } * v;
    size_t n, cap;
};

struct gp_uw_maps {
    struct gp_uw_maps_fds fd;
    struct gp_uw_key_block *keys;
    struct gp_uw_rule_block *rules;
    struct gp_uw_page_block *pages;
    struct window wkeys, wrules, wpages;
    struct extents rows, pgs; /* units: GP_UW_ROW_ALIGN rows, GP_UW_PAGES_PER_BLOCK entries */
    struct {
        uint32_t start, rows, pages;
    } used[GP_UW_MAX_TABLES];
    uint32_t proc_gen; /* the last gp_uw_kproc.gen given (unique per update, see bpf/unwind.h) */
};

void gp_uw_maps_size(uint64_t cap_bytes, uint32_t *rows_cap, uint32_t *pages_cap)
{
    /* 6 bytes a row, 2 for page entries (one 4-byte entry per KiB of code: room for code with
     * as few as 2 rows a KiB; real code has 10-30) */
    uint64_t rows = cap_bytes / 8;
    rows = rows / 64 * 64;
    if (rows < 64)
        rows = 64;
    if (rows > (1u << 31))
        rows = 1u << 31;
    *rows_cap = (uint32_t)rows;
    uint64_t pages = rows / 2 / 16 * 16;
    *pages_cap = (uint32_t)(pages ? pages : 16);
}

static int ext_alloc(struct extents *x, uint32_t len, uint32_t *start)
{
    for (size_t i = 0; i < x->n; i++) {
        if (x->v[i].len < len)
            continue;
        *start = x->v[i].start;
        x->v[i].start += len;
        x->v[i].len -= len;
        if (!x->v[i].len) {
            memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
            x->n--;
        }
        return 0;
    }
    return -ENOSPC;
}

static int ext_free(struct extents *x, uint32_t start, uint32_t len)
{
    size_t i = 0;
    while (i < x->n && x->v[i].start < start)
        i++;
    if (i > 0 && x->v[i - 1].start + x->v[i - 1].len == start) {
        x->v[i - 1].len += len;
        if (i < x->n && start + len == x->v[i].start) {
            x->v[i - 1].len += x->v[i].len;
            memmove(&x->v[i], &x->v[i + 1], (x->n - i - 1) * sizeof(*x->v));
            x->n--;
        }
        return 0;
    }
    if (i < x->n && start + len == x->v[i].start) {
        x->v[i].start = start;
        x->v[i].len += len;
        return 0;
    }
    if (x->n == x->cap) {
        size_t ncap = x->cap ? x->cap * 2 : 64;
        struct ext *nv = realloc(x->v, ncap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        x->v = nv;
        x->cap = ncap;
    }
    memmove(&x->v[i + 1], &x->v[i], (x->n - i) * sizeof(*x->v));
    x->v[i] = (struct ext){start, len};
    x->n++;
    return 0;
}

/* Maps the array up to byte end at least (in steps of 2 MiB); 0 or -errno. */
static int win_reach(struct window *w, size_t end)
{
    if (end <= w->mapped)
        return 0;
    if (end > w->len)
        return -ENOSPC;
    size_t to = (end + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
    if (to > w->len)
        to = w->len;
    void *p = mmap((char *)w->base + w->mapped, to - w->mapped, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_FIXED, w->fd, (off_t)w->mapped);
    if (p == MAP_FAILED)
        return -errno;
    w->mapped = to;
    return 0;
}

static int table_add(void *ctx, uint32_t id, const struct gp_uw_table *t)
{
    struct gp_uw_maps *m = ctx;
    if (id == 0 || id >= GP_UW_MAX_TABLES || t->n == 0)
        return -EINVAL;
    uint64_t base = t->e[0].pc, span = t->e[t->n - 1].pc - base;
    if (span >= UINT32_MAX)
        return -ENOSPC;
    uint32_t npages = (uint32_t)(span >> GP_UW_PAGE_SHIFT) + 1;
    uint32_t runits = (uint32_t)((t->n + GP_UW_ROW_ALIGN - 1) / GP_UW_ROW_ALIGN);
    uint32_t punits = (npages + 1 + GP_UW_PAGES_PER_BLOCK - 1) / GP_UW_PAGES_PER_BLOCK;
    uint32_t ru, pu;
    if (ext_alloc(&m->rows, runits, &ru))
        return -ENOSPC;
    if (ext_alloc(&m->pgs, punits, &pu)) {
        ext_free(&m->rows, ru, runits);
        return -ENOBUFS;
    }
    uint32_t row0 = ru * GP_UW_ROW_ALIGN, page0 = pu * GP_UW_PAGES_PER_BLOCK;
    uint32_t rend = row0 + (uint32_t)t->n, pend = page0 + npages + 1; /* one past the last */
    int rc = win_reach(&m->wkeys, ((rend - 1) / GP_UW_KEYS_PER_BLOCK + 1) * (size_t)64);
    if (!rc)
        rc = win_reach(&m->wrules, ((rend - 1) / GP_UW_RULES_PER_BLOCK + 1) * (size_t)64);
    if (!rc)
        rc = win_reach(&m->wpages, ((pend - 1) / GP_UW_PAGES_PER_BLOCK + 1) * (size_t)64);
    if (rc) {
        gp_warn("unwind: mapping the BPF unwind arrays: %s", strerror(-rc));
        ext_free(&m->rows, ru, runits);
        ext_free(&m->pgs, pu, punits);
        return rc;
    }
    for (size_t i = 0; i < t->n; i++) {
        uint32_t g = row0 + (uint32_t)i;
        const struct gp_uw_rule *r = &t->e[i].rule;
        m->keys[g / GP_UW_KEYS_PER_BLOCK].key[g % GP_UW_KEYS_PER_BLOCK] =
                gp_uw_row_key((uint32_t)(t->e[i].pc - base));
        m->rules[g / GP_UW_RULES_PER_BLOCK].rule[g % GP_UW_RULES_PER_BLOCK] =
                gp_uw_rule_pack(r->cfa, r->cfa_off, r->fp_off);
    }
    /* Page p: the last row whose pc <= p's start (row 0's pc is the base: offset 0). */
    size_t r = 0;
    for (uint32_t p = 0; p <= npages; p++) {
        uint64_t at = (uint64_t)p << GP_UW_PAGE_SHIFT;
        while (r + 1 < t->n && t->e[r + 1].pc - base <= at)
            r++;
        uint32_t pi = page0 + p;
        m->pages[pi / GP_UW_PAGES_PER_BLOCK].row[pi % GP_UW_PAGES_PER_BLOCK] = row0 + (uint32_t)r;
    }
    struct gp_uw_ktable kt = {.base = base,
                              .span = (uint32_t)span,
                              .row0 = row0,
                              .nrows = (uint32_t)t->n,
                              .page0 = page0,
                              .npages = npages};
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (bpf_map_update_elem(m->fd.tables, &id, &kt, BPF_ANY)) {
        rc = -errno;
        ext_free(&m->rows, ru, runits);
        ext_free(&m->pgs, pu, punits);
        return rc;
    }
    m->used[id].start = ru; /* the page entries' start is in the descriptor */
    m->used[id].rows = runits;
    m->used[id].pages = punits;
    return 0;
}

static void table_remove(void *ctx, uint32_t id)
{
    struct gp_uw_maps *m = ctx;
    if (id == 0 || id >= GP_UW_MAX_TABLES || !m->used[id].rows)
        return;
    struct gp_uw_ktable kt;
    if (bpf_map_lookup_elem(m->fd.tables, &id, &kt) == 0) {
        struct gp_uw_ktable zero = {0};
        bpf_map_update_elem(m->fd.tables, &id, &zero, BPF_ANY);
        ext_free(&m->pgs, kt.page0 / GP_UW_PAGES_PER_BLOCK, m->used[id].pages);
    }
    ext_free(&m->rows, m->used[id].start, m->used[id].rows);
    m->used[id].rows = 0;
}

static int proc_set(void *ctx, uint32_t tgid, const struct gp_uw_mapping *mp, size_t n)
{
    struct gp_uw_maps *m = ctx;
    if (n == 0) {
        bpf_map_delete_elem(m->fd.procs, &tgid);
        return 0;
    }
    struct gp_uw_kproc *kp = calloc(1, sizeof(*kp));
    if (!kp)
        return -ENOMEM;
    if (n > GP_UW_MAX_MAPPINGS)
        n = GP_UW_MAX_MAPPINGS;
    kp->n = (uint32_t)n;
    if (++m->proc_gen == 0) /* never 0: the tag of the cache's empty entries */
        ++m->proc_gen;
    kp->gen = m->proc_gen;
    for (size_t i = 0; i < n; i++) {
        kp->start[i] = mp[i].start;
        kp->m[i] =
                (struct gp_uw_kmap){.end = mp[i].end, .bias = mp[i].bias, .table = mp[i].table_id};
    }
    int rc = bpf_map_update_elem(m->fd.procs, &tgid, kp, BPF_ANY) ? -errno : 0;
    free(kp);
    return rc;
}

static void proc_remove(void *ctx, uint32_t tgid)
{
    struct gp_uw_maps *m = ctx;
    bpf_map_delete_elem(m->fd.procs, &tgid);
}

/* Reserves the address range of an array of len bytes (mapped later: win_reach). */
static void *map_array(struct window *w, int fd, size_t len)
{
    void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    *w = (struct window){.base = p, .len = len, .fd = fd};
    return p;
}

static size_t page_round(size_t len)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    return (len + pg - 1) / pg * pg;
}

int gp_uw_maps_open(const struct gp_uw_maps_fds *fds, struct gp_uw_maps **out,
                    struct gp_uw_sink *sink, struct gp_err *err)
{
    struct gp_uw_maps *m = calloc(1, sizeof(*m));
    if (!m)
        return gp_err_set(err, -ENOMEM, "out of memory");
    m->fd = *fds;
    m->keys = map_array(&m->wkeys, fds->keys,
                        page_round((size_t)fds->rows_cap / GP_UW_KEYS_PER_BLOCK * 64));
    m->rules = map_array(&m->wrules, fds->rules,
                         page_round((size_t)fds->rows_cap / GP_UW_RULES_PER_BLOCK * 64));
    m->pages = map_array(&m->wpages, fds->pages,
                         page_round((size_t)fds->pages_cap / GP_UW_PAGES_PER_BLOCK * 64));
    if (!m->keys || !m->rules || !m->pages) {
        int rc = -errno;
        gp_uw_maps_close(m);
        return gp_err_set(err, rc, "mapping the BPF unwind tables: %s", strerror(-rc));
    }
    if (ext_free(&m->rows, 0, fds->rows_cap / GP_UW_ROW_ALIGN) ||
        ext_free(&m->pgs, 0, fds->pages_cap / GP_UW_PAGES_PER_BLOCK)) {
        gp_uw_maps_close(m);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    *sink = (struct gp_uw_sink){.ctx = m,
                                .table_add = table_add,
                                .table_remove = table_remove,
                                .proc_set = proc_set,
                                .proc_remove = proc_remove};
    *out = m;
    return 0;
}

void gp_uw_maps_close(struct gp_uw_maps *m)
{
    if (!m)
        return;
    if (m->keys)
        munmap(m->keys, m->wkeys.len);
    if (m->rules)
        munmap(m->rules, m->wrules.len);
    if (m->pages)
        munmap(m->pages, m->wpages.len);
    free(m->rows.v);
    free(m->pgs.v);
    free(m);
}
