/* kallsyms.c — /proc/kallsyms parsing (see kallsyms.h). */
#include "agent/symbols/kallsyms.h"
#include "common/memhint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Parses whole lines of text into t, counting them; returns the bytes consumed (up to the end
 * of the last complete line, or everything when final) or -ENOMEM. */
static long parse_lines(const char *text, size_t len, int final, struct gp_rangetab *t,
                        size_t *total, size_t *nonzero)
{
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl && !final)
            break;
        const char *le = nl ? nl : end;
        uint64_t addr = 0;
        const char *q = p;
        for (; q < le; q++) { /* the address: hex digits */
            unsigned c = (unsigned char)*q, d = c - '0';
            if (d > 9) {
                d = (c | 0x20) - 'a';
                if (d > 5)
                    break;
                d += 10;
            }
            addr = addr << 4 | d;
        }
        if (q > p && q < le && *q == ' ' && q + 3 < le && q[2] == ' ') {
            char type = q[1];
            const char *name = q + 3, *ne = name;
            while (ne < le && *ne != '\t' && *ne != ' ')
                ne++;
            ++*total;
            if (addr)
                ++*nonzero;
            if (addr && (type == 't' || type == 'T' || type == 'w' || type == 'W') && ne > name &&
                gp_rangetab_add(t, addr, 0, name, (size_t)(ne - name), "_[k]") < 0)
                return -ENOMEM;
        }
        p = nl ? nl + 1 : end;
    }
    return p - text;
}

static int finish(struct gp_rangetab *t, size_t total, size_t nonzero, struct gp_err *err)
{
    if (total && !nonzero) {
        gp_rangetab_free(t);
        return gp_err_set(err, -EPERM,
                          "kernel symbol addresses are hidden (kernel.kptr_restrict); run as root "
                          "or set sysctl kernel.kptr_restrict=0");
    }
    /* The last symbol of the kernel or a module has no end in kallsyms: allow one page. */
    gp_rangetab_finish(t, 4096);
    return 0;
}

int gp_kallsyms_parse(const char *text, size_t len, struct gp_rangetab *t, struct gp_err *err)
{
    size_t total = 0, nonzero = 0;
    if (parse_lines(text, len, 1, t, &total, &nonzero) < 0) {
        gp_rangetab_free(t);
        return gp_err_set(err, -ENOMEM, "out of memory reading kallsyms");
    }
    return finish(t, total, nonzero, err);
}

/* Read in large chunks into one reused buffer: the kernel formats the file as it is read, and
 * each read() costs a walk back to the position it stopped at. */
#define CHUNK (1u << 20)

int gp_kallsyms_load(const char *path, struct gp_rangetab *t, struct gp_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return gp_err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
    char *buf = malloc(CHUNK);
    /* A kernel has ~100k-200k text symbols averaging ~25 bytes: room for a typical one up front
     * (pages are only touched as they fill). */
    if (!buf || gp_rangetab_reserve(t, 1u << 18, 8u << 20) < 0) {
        free(buf);
        close(fd);
        gp_rangetab_free(t);
        return gp_err_set(err, -ENOMEM, "out of memory reading kallsyms");
    }
    /* Megabytes filled densely: a fault per 2 MiB rather than per 4 KiB (~1,600 faults, ~20 ms
     * of a first load on a VM). */
    gp_mem_hint_huge(t->v, t->cap * sizeof(*t->v));
    gp_mem_hint_huge(t->strs, t->scap);
    size_t have = 0, total = 0, nonzero = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, CHUNK - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = gp_err_set(err, -errno, "cannot read %s: %s", path, strerror(errno));
            break;
        }
        have += (size_t)r;
        long used = parse_lines(buf, have, r == 0, t, &total, &nonzero);
        if (used == 0 && have == CHUNK) /* a line longer than the buffer: not kallsyms */
            used = (long)have;
        if (used < 0) {
            rc = gp_err_set(err, -ENOMEM, "out of memory reading kallsyms");
            break;
        }
        memmove(buf, buf + used, have - (size_t)used);
        have -= (size_t)used;
        if (r == 0)
            break;
    }
    free(buf);
    close(fd);
    if (rc < 0) {
        gp_rangetab_free(t);
        return rc;
    }
    return finish(t, total, nonzero, err);
}
