/* rangetab.c — sorted named address ranges (see rangetab.h). */
#include "agent/symbols/rangetab.h"
#include "common/fsutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int gp_rangetab_reserve(struct gp_rangetab *t, size_t n, size_t str_bytes)
{
    if (n > t->cap) {
        struct gp_range *nv = realloc(t->v, n * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        t->cap = n;
    }
    if (str_bytes > t->scap) {
        char *ns = realloc(t->strs, str_bytes);
        if (!ns)
            return -ENOMEM;
        t->strs = ns;
        t->scap = str_bytes;
    }
    return 0;
}

int gp_rangetab_add(struct gp_rangetab *t, uint64_t start, uint64_t size, const char *name,
                    size_t namelen, const char *suffix)
{
    size_t sl = suffix ? strlen(suffix) : 0, need = namelen + sl + 1;
    if (t->slen + need > t->scap) {
        size_t nc = t->scap ? t->scap * 2 : 4096;
        while (nc < t->slen + need)
            nc *= 2;
        char *ns = realloc(t->strs, nc);
        if (!ns)
            return -ENOMEM;
        t->strs = ns;
        t->scap = nc;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        struct gp_range *nv = realloc(t->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        t->v = nv;
        t->cap = nc;
    }
    memcpy(t->strs + t->slen, name, namelen);
    if (sl)
        memcpy(t->strs + t->slen + namelen, suffix, sl);
    t->strs[t->slen + namelen + sl] = '\0';
    t->v[t->n] = (struct gp_range){start, size, (uint32_t)t->slen, (uint32_t)t->n};
    t->n++;
    t->slen += need;
    return 0;
}

/* Input order within one start: the later entry sorts after, and wins the dedupe below. */
static int range_cmp(const void *a, const void *b)
{
    const struct gp_range *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Orders t->v by (start, seq). Kallsyms and most perf maps arrive sorted but for a short tail
 * (modules, BPF programs, JIT code moved later): only the part after the sorted prefix is
 * sorted, then merged from the back into place. */
static int sort_ranges(struct gp_rangetab *t)
{
    size_t pre = 1;
    while (pre < t->n && t->v[pre - 1].start <= t->v[pre].start)
        pre++;
    if (pre >= t->n)
        return 0;
    size_t tail = t->n - pre;
    struct gp_range *tmp = malloc(tail * sizeof(*tmp));
    if (!tmp) {
        qsort(t->v, t->n, sizeof(*t->v), range_cmp);
        return 0;
    }
    memcpy(tmp, t->v + pre, tail * sizeof(*tmp));
    qsort(tmp, tail, sizeof(*tmp), range_cmp);
    size_t i = pre, j = tail, k = t->n; /* merge the largest first */
    while (j > 0) {
        if (i > 0 && range_cmp(&t->v[i - 1], &tmp[j - 1]) > 0)
            t->v[--k] = t->v[--i];
        else
            t->v[--k] = tmp[--j];
    }
    free(tmp);
    return 0;
}

void gp_rangetab_finish(struct gp_rangetab *t, uint64_t last_size)
{
    if (t->n)
        sort_ranges(t);
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (k && t->v[k - 1].start == t->v[i].start)
            k--; /* shadowed by this newer entry at the same address */
        t->v[k++] = t->v[i];
    }
    t->n = k;
    for (size_t i = 0; i < k; i++) {
        if (t->v[i].size == 0)
            t->v[i].size = i + 1 < k ? t->v[i + 1].start - t->v[i].start : last_size;
    }
    t->bytes = sizeof(*t) + t->cap * sizeof(*t->v) + t->scap;
}

const char *gp_rangetab_lookup(const struct gp_rangetab *t, uint64_t addr)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->v[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* JIT code can be replaced at overlapping addresses: look back a little for a covering range.
     */
    for (size_t i = lo, steps = 0; i > 0 && steps < 8; i--, steps++) {
        const struct gp_range *r = &t->v[i - 1];
        if (addr - r->start < r->size)
            return r->name < t->slen ? t->strs + r->name : NULL;
    }
    return NULL;
}

void gp_rangetab_free(struct gp_rangetab *t)
{
    if (t->map) {
        munmap(t->map, t->map_len);
    } else {
        free(t->v);
        free(t->strs);
    }
    memset(t, 0, sizeof(*t));
}

/* ---- the file form: header, ranges, names ---- */

#define FILE_MAGIC "gprof-rangetab-1"

struct file_header {
    char magic[16];
    uint8_t tag[64];
    uint64_t taglen, n, slen;
};

int gp_rangetab_save(const struct gp_rangetab *t, int fd, const void *tag, size_t taglen)
{
    struct file_header h = {.taglen = taglen, .n = t->n, .slen = t->slen};
    if (taglen > sizeof(h.tag))
        return -EINVAL;
    memcpy(h.magic, FILE_MAGIC, sizeof(h.magic));
    memcpy(h.tag, tag, taglen);
    int rc = gp_write_all(fd, &h, sizeof(h));
    if (!rc)
        rc = gp_write_all(fd, t->v, t->n * sizeof(*t->v));
    if (!rc)
        rc = gp_write_all(fd, t->strs, t->slen);
    return rc;
}

int gp_rangetab_map(struct gp_rangetab *t, int fd, const void *tag, size_t taglen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    size_t len = (size_t)st.st_size;
    if (len < sizeof(struct file_header) || taglen > sizeof(((struct file_header *)0)->tag))
        return -EINVAL;
    void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    const struct file_header *h = m;
    int rc = 0;
    if (memcmp(h->magic, FILE_MAGIC, sizeof(h->magic)) != 0 ||
        h->n > (len - sizeof(*h)) / sizeof(struct gp_range) ||
        h->slen != len - sizeof(*h) - h->n * sizeof(struct gp_range) ||
        (h->slen && ((const char *)m)[len - 1] != '\0'))
        rc = -EINVAL;
    else if (h->taglen != taglen || memcmp(h->tag, tag, taglen) != 0)
        rc = -ESTALE;
    if (rc) {
        munmap(m, len);
        return rc;
    }
    memset(t, 0, sizeof(*t));
    t->map = m;
    t->map_len = len;
    t->v = (struct gp_range *)(h + 1);
    t->n = t->cap = h->n;
    t->strs = (char *)(t->v + h->n);
    t->slen = t->scap = h->slen;
    t->bytes = sizeof(*t) + len;
    return 0; /* name offsets are checked by lookups: reading them all would touch every page */
}
