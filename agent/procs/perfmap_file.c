/* perfmap_file.c — safe opening of /tmp/perf-PID.map (see perfmap_file.h). */
#include "agent/procs/perfmap_file.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* name under rootfd, resolved as if rootfd were "/" (kernels before 5.6: plain openat, which
 * follows an absolute symlink in a directory of the path out of the root). */
static int open_in_root(int rootfd, const char *name, int flags)
{
#ifdef SYS_openat2
    struct open_how how = {.flags = (uint64_t)flags,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    int fd = (int)syscall(SYS_openat2, rootfd, name, &how, sizeof(how));
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd;
#endif
    return openat(rootfd, name, flags);
}

int gp_perfmap_open(uint32_t tgid, uint32_t nspid, size_t max, struct stat *st, struct gp_err *err)
{
    char proc[64], name[64];
    snprintf(proc, sizeof(proc), "/proc/%" PRIu32, tgid);
    snprintf(name, sizeof(name), "tmp/perf-%" PRIu32 ".map", nspid);
    struct stat pst;
    if (stat(proc, &pst) != 0)
        return gp_err_set(err, errno == ENOENT ? -ESRCH : -errno, "%s: %s", proc, strerror(errno));
    char rootp[80];
    snprintf(rootp, sizeof(rootp), "%s/root", proc);
    int rootfd = open(rootp, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0)
        return gp_err_set(err, errno == ENOENT ? -ESRCH : -errno, "%s: %s", rootp, strerror(errno));
    int fd = open_in_root(rootfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    int e = errno;
    close(rootfd);
    if (fd < 0) {
        if (e == ENOENT)
            return gp_err_set(err, -ENOENT, "no /%s", name);
        return gp_err_set(err, -e, "/%s: %s", name,
                          e == ELOOP ? "is a symbolic link" : strerror(e));
    }
    const char *why = NULL;
    int rc = 0;
    if (fstat(fd, st) != 0) {
        rc = -errno;
        why = strerror(errno);
    } else if (!S_ISREG(st->st_mode)) {
        rc = -EINVAL;
        why = "not a regular file";
    } else if (st->st_uid != 0 && st->st_uid != pst.st_uid) {
        rc = -EPERM;
        why = "owned by another user than the process";
    } else if ((uint64_t)st->st_size > max) {
        rc = -EFBIG;
        why = "larger than the perf map limit";
    }
    if (rc) {
        close(fd);
        if (rc == -EPERM)
            return gp_err_set(err, rc, "/%s: owned by uid %u, not by root or the process's uid %u",
                              name, (unsigned)st->st_uid, (unsigned)pst.st_uid);
        if (rc == -EFBIG)
            return gp_err_set(err, rc, "/%s: %lld bytes, more than the %zu MiB perf map limit",
                              name, (long long)st->st_size, max >> 20);
        return gp_err_set(err, rc, "/%s: %s", name, why);
    }
    return fd;
}

int gp_perfmap_read(int fd, const struct stat *st, char **buf, size_t *len, struct gp_err *err)
{
    size_t want = st->st_size > 0 ? (size_t)st->st_size : 0;
    char *b = malloc(want + 1);
    if (!b)
        return gp_err_set(err, -ENOMEM, "out of memory reading a %zu-byte perf map", want);
    size_t n = 0;
    while (n < want) {
        ssize_t r = pread(fd, b + n, want - n, (off_t)n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            return gp_err_set(err, -e, "reading perf map: %s", strerror(e));
        }
        if (r == 0)
            break; /* truncated meanwhile */
        n += (size_t)r;
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}
