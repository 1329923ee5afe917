/* maps.c — parsing of /proc/PID/maps (see maps.h). */
#include "agent/procs/maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int gp_read_file(const char *path, char **buf, size_t *len)
{
    /* never a FIFO (would block), a device or a symlink someone planted: /proc files are
     * regular files */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (e) {
        close(fd);
        return -e;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (cap - n < 2048) {
            if (cap >= GP_READ_FILE_MAX) {
                free(b);
                close(fd);
                return -EFBIG;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                close(fd);
                return -ENOMEM;
            }
            b = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, b + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = -errno;
            free(b);
            close(fd);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    if (len)
        *len = n;
    return 0;
}

static int parse_line(const char *line, size_t len, struct gp_map *m)
{
    char tmp[4096 + 256];
    if (len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, line, len);
    tmp[len] = '\0';
    int pos = -1;
    unsigned long long start, end, off, ino;
    unsigned maj, min;
    if (sscanf(tmp, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, m->perms, &off, &maj, &min,
               &ino, &pos) != 7 ||
        pos < 0)
        return -EINVAL;
    if (end < start)
        return -EINVAL;
    const char *p = tmp + pos;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t plen = strlen(p);
    while (plen && (p[plen - 1] == '\n' || p[plen - 1] == '\r'))
        plen--;
    static const char del[] = " (deleted)";
    m->deleted = 0;
    if (plen >= sizeof(del) - 1 &&
        memcmp(p + plen - (sizeof(del) - 1), del, sizeof(del) - 1) == 0) {
        plen -= sizeof(del) - 1;
        m->deleted = 1;
    }
    m->start = start;
    m->end = end;
    m->offset = off;
    m->dev_major = maj;
    m->dev_minor = min;
    m->inode = ino;
    if (plen == 0)
        m->kind = GP_MAP_ANON;
    else if (p[0] == '/')
        m->kind = GP_MAP_FILE;
    else if (plen == 6 && memcmp(p, "[vdso]", 6) == 0)
        m->kind = GP_MAP_VDSO;
    else if (p[0] == '[' && strncmp(p, "[anon", 5) == 0)
        m->kind = GP_MAP_ANON; /* [anon:name] from PR_SET_VMA_ANON_NAME */
    else
        m->kind = GP_MAP_SPECIAL;
    m->path = strndup(p, plen);
    return m->path ? 0 : -ENOMEM;
}

int gp_maps_parse(const char *text, size_t len, int exec_only, struct gp_maps *out,
                  struct gp_err *err)
{
    out->v = NULL;
    out->n = 0;
    size_t cap = 0, lineno = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (ll == 0) {
            p += 1;
            continue;
        }
        struct gp_map m = {0};
        int rc = parse_line(p, ll, &m);
        if (rc < 0) {
            gp_maps_free(out);
            if (rc == -ENOMEM)
                return gp_err_set(err, rc, "out of memory parsing maps");
            return gp_err_set(err, rc, "malformed maps line %zu: %.*s", lineno,
                              (int)(ll > 120 ? 120 : ll), p);
        }
        p += ll + (nl ? 1 : 0);
        if (exec_only && m.perms[2] != 'x') {
            free(m.path);
            continue;
        }
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            struct gp_map *nv = realloc(out->v, nc * sizeof(*nv));
            if (!nv) {
                free(m.path);
                gp_maps_free(out);
                return gp_err_set(err, -ENOMEM, "out of memory parsing maps");
            }
            out->v = nv;
            cap = nc;
        }
        out->v[out->n++] = m;
    }
    /* The kernel prints in address order; verify so gp_maps_find can bisect. */
    for (size_t i = 1; i < out->n; i++) {
        if (out->v[i].start < out->v[i - 1].end) {
            gp_maps_free(out);
            return gp_err_set(err, -EINVAL, "maps lines not sorted or overlapping");
        }
    }
    return 0;
}

int gp_maps_read(uint32_t pid, int exec_only, struct gp_maps *out, struct gp_err *err)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/maps", pid);
    char *buf;
    size_t len;
    int rc = gp_read_file(path, &buf, &len);
    if (rc < 0) {
        if (rc == -ENOENT)
            rc = -ESRCH;
        return gp_err_set(err, rc, "cannot read %s: %s%s", path, strerror(-rc),
                          rc == -EACCES ? "; run as root" : "");
    }
    rc = gp_maps_parse(buf, len, exec_only, out, err);
    free(buf);
    if (rc < 0)
        gp_err_prefix(err, "%s: ", path);
    return rc;
}

void gp_maps_free(struct gp_maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    m->v = NULL;
    m->n = 0;
}

const struct gp_map *gp_maps_find(const struct gp_maps *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (addr < m->v[mid].start)
            hi = mid;
        else if (addr >= m->v[mid].end)
            lo = mid + 1;
        else
            return &m->v[mid];
    }
    return NULL;
}

const char *gp_map_module_name(const struct gp_map *m)
{
    if (m->kind == GP_MAP_ANON)
        return "[anon]";
    if (m->kind != GP_MAP_FILE)
        return m->path;
    const char *s = strrchr(m->path, '/');
    return s ? s + 1 : m->path;
}

int gp_map_open(uint32_t tgid, const struct gp_map *m, uint64_t inode, struct stat *st)
{
    char path[4200];
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/map_files/%" PRIx64 "-%" PRIx64, tgid, m->start,
             m->end);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, st) == 0 && S_ISREG(st->st_mode))
        return fd;
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof(path), "/proc/%" PRIu32 "/root%s", tgid, m->path);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode) || (inode && st->st_ino != inode)) {
        close(fd); /* replaced since it was mapped: its symbols and tables would be wrong */
        return -ESTALE;
    }
    return fd;
}
