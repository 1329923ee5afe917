/* tgids.c — what both sampler engines keep about processes: sets of tgids, and whether a process
 * whose leader exited has ended (its last thread gone). */
#include "agent/sampler/tgids.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/hash.h"

uint32_t gp_u32_hash(uint32_t v)
{
    return (uint32_t)gp_hash_mix(v + 0x9e3779b97f4a7c15ULL);
}

int gp_u32set_has(const struct gp_u32set *s, uint32_t v)
{
    if (!s->cap)
        return 0;
    for (uint32_t i = gp_u32_hash(v) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slot[i] == v)
            return 1;
        if (s->slot[i] == 0)
            return 0;
    }
}

int gp_u32set_add(struct gp_u32set *s, uint32_t v)
{
    if (v == 0 || gp_u32set_has(s, v))
        return 0;
    if ((s->n + 1) * 2 > s->cap) {
        uint32_t ncap = s->cap ? s->cap * 2 : 64;
        uint32_t *ns = calloc(ncap, sizeof(*ns));
        if (!ns)
            return -ENOMEM;
        for (uint32_t i = 0; i < s->cap; i++) {
            uint32_t x = s->slot[i];
            if (!x)
                continue;
            uint32_t j = gp_u32_hash(x) & (ncap - 1);
            while (ns[j])
                j = (j + 1) & (ncap - 1);
            ns[j] = x;
        }
        free(s->slot);
        s->slot = ns;
        s->cap = ncap;
    }
    uint32_t i = gp_u32_hash(v) & (s->cap - 1);
    while (s->slot[i])
        i = (i + 1) & (s->cap - 1);
    s->slot[i] = v;
    s->n++;
    return 1;
}

int gp_u32set_del(struct gp_u32set *s, uint32_t v)
{
    if (!s->cap)
        return 0;
    uint32_t m = s->cap - 1, i = gp_u32_hash(v) & m;
    while (s->slot[i] != v) {
        if (s->slot[i] == 0)
            return 0;
        i = (i + 1) & m;
    }
    s->slot[i] = 0;
    s->n--;
    for (uint32_t j = (i + 1) & m; s->slot[j]; j = (j + 1) & m) {
        uint32_t x = s->slot[j], home = gp_u32_hash(x) & m;
        /* move x into the hole if the hole lies on its probe path */
        if (((j - home) & m) >= ((j - i) & m)) {
            s->slot[i] = x;
            s->slot[j] = 0;
            i = j;
        }
    }
    return 1;
}

/* ---- the end of a process ---- */

/* Whether a thread other than the leader of tgid is still alive (not a zombie). */
int gp_sampler_threads_left(uint32_t tgid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%u/task", tgid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int alive = 0;
    struct dirent *de;
    while (!alive && (de = readdir(d))) {
        unsigned long tid = strtoul(de->d_name, NULL, 10);
        if (tid == 0 || tid == tgid)
            continue;
        char stat[128], buf[512];
        snprintf(stat, sizeof(stat), "/proc/%u/task/%lu/stat", tgid, tid);
        int fd = open(stat, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
            continue;
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')'); /* state follows the comm, which may hold ')' */
        if (rp && rp[1] == ' ' && rp[2] != 'Z' && rp[2] != 'X' && rp[2] != 'x')
            alive = 1;
    }
    closedir(d);
    return alive;
}

/* Has the thread-group leader exited (a zombie, or gone)? */
int gp_sampler_leader_dead(uint32_t tgid)
{
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%u/stat", tgid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 1;
    buf[n] = '\0';
    const char *rp = strrchr(buf, ')');
    return !rp || rp[1] != ' ' || rp[2] == 'Z' || rp[2] == 'X' || rp[2] == 'x';
}

size_t gp_sampler_ended(const struct gp_u32set *leader_gone, uint32_t *out, size_t max)
{
    size_t n = 0;
    for (uint32_t i = 0; i < leader_gone->cap && n < max; i++) {
        uint32_t tgid = leader_gone->slot[i];
        if (tgid && !gp_sampler_threads_left(tgid))
            out[n++] = tgid;
    }
    return n;
}
