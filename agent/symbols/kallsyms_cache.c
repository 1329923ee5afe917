/* kallsyms_cache.c — the per-boot kernel symbol file (see kallsyms_cache.h). */
#include "agent/symbols/kallsyms_cache.h"
#include "agent/symbols/kallsyms.h"
#include "common/fsutil.h"
#include "common/hash.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What the table was built from: this boot, and the loaded modules (name, size and address of
 * each; use counts change without changing symbols and are left out). */
struct tag {
    char boot_id[40];
    uint64_t modules;
};

static int read_small(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t n = 0;
    while (n + 1 < len) {
        ssize_t r = read(fd, buf + n, len - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = '\0';
    return (int)n;
}

static int make_tag(struct tag *t)
{
    memset(t, 0, sizeof(*t));
    if (read_small("/proc/sys/kernel/random/boot_id", t->boot_id, sizeof(t->boot_id)) < 36)
        return -ENOENT;
    char mods[1 << 16];
    int n = read_small("/proc/modules", mods, sizeof(mods));
    if (n < 0)
        n = 0; /* no modules support: nothing to tell apart */
    if (n == (int)sizeof(mods) - 1)
        return -E2BIG; /* too many modules to fingerprint here: no cache */
    uint64_t h = GP_HASH_SEED;
    for (char *line = mods, *nl; *line; line = nl + 1) {
        nl = strchr(line, '\n');
        if (!nl)
            break;
        char name[64], addr[32];
        unsigned long size;
        if (sscanf(line, "%63s %lu %*s %*s %*s %31s", name, &size, addr) == 3) {
            h = gp_hash_bytes(h, name, strlen(name));
            h = gp_hash_bytes(h, &size, sizeof(size));
            h = gp_hash_bytes(h, addr, strlen(addr));
        }
    }
    t->modules = h;
    return 0;
}

/* The cache file is trusted only when it is ours and nobody else can have written it. */
static int open_trusted(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        close(fd);
        return -EPERM;
    }
    return fd;
}

static void save(const char *dir, const char *path, const struct gp_rangetab *t,
                 const struct tag *tag)
{
    if (gp_mkdir_p(dir, 0700) < 0) /* /run/gprof (also the agent's socket) and its cache */
        return;
    struct gp_atomic_file af;
    if (gp_atomic_open(&af, path, 0600))
        return;
    int rc = gp_rangetab_save(t, af.fd, tag, sizeof(*tag));
    if (rc)
        gp_atomic_abort(&af);
    else
        rc = gp_atomic_commit(&af);
    if (rc)
        gp_debug("kallsyms cache: cannot write %s", path);
}

int gp_kallsyms_load_cached(const char *dir, int fresh, struct gp_rangetab *t, struct gp_err *err)
{
    struct tag tag;
    char path[4096];
    int cache = dir && make_tag(&tag) == 0;
    if (cache)
        snprintf(path, sizeof(path), "%s/kallsyms", dir);
    if (cache && !fresh) {
        int fd = open_trusted(path);
        if (fd >= 0) {
            int rc = gp_rangetab_map(t, fd, &tag, sizeof(tag));
            close(fd);
            if (rc == 0)
                return 0;
        }
    }
    int rc = gp_kallsyms_load("/proc/kallsyms", t, err);
    if (rc == 0 && cache)
        save(dir, path, t, &tag);
    return rc;
}
