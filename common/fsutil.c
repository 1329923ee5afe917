/* fsutil.c — filesystem helpers. */
#include "common/fsutil.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int gp_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int gp_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int gp_dir_sync_wait(struct gp_dir_sync *g, int dirfd, pthread_mutex_t *mu, pthread_cond_t *cv)
{
    uint64_t mine = ++g->announced;
    int rc = 0;
    while (g->synced < mine) {
        if (g->syncing) {
            pthread_cond_wait(cv, mu);
            continue;
        }
        g->syncing = 1;
        uint64_t upto = g->announced; /* every change announced so far is in the directory */
        pthread_mutex_unlock(mu);
        rc = fsync(dirfd) < 0 ? -errno : 0;
        pthread_mutex_lock(mu);
        g->syncing = 0;
        if (rc == 0 && upto > g->synced)
            g->synced = upto;
        pthread_cond_broadcast(cv);
        if (rc)
            break; /* this caller's own fsync failed; the others try theirs */
    }
    return rc;
}

static uint64_t tmp_random(void)
{
    uint64_t r = 0;
    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        /* no entropy yet (early boot): still unique per attempt, O_EXCL does the rest */
        static unsigned counter;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
            __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    }
    return r;
}

int gp_atomic_open(struct gp_atomic_file *f, const char *path, mode_t mode)
{
    return gp_atomic_openat(f, AT_FDCWD, path, mode);
}

int gp_atomic_openat(struct gp_atomic_file *f, int dirfd, const char *path, mode_t mode)
{
    f->fd = -1;
    f->dirfd = dirfd;
    f->tmp[0] = '\0';
    if (snprintf(f->path, sizeof(f->path), "%s", path) >= (int)sizeof(f->path))
        return -ENAMETOOLONG;
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return -EISDIR;
    for (int attempt = 0; attempt < 16; attempt++) {
        /* base cut to 200 bytes: the name stays within NAME_MAX (255) */
        if (snprintf(f->tmp, sizeof(f->tmp), "%.*s.%.200s.%ld.%016llx.tmp", dirlen, path, base,
                     (long)getpid(), (unsigned long long)tmp_random()) >= (int)sizeof(f->tmp))
            return -ENAMETOOLONG;
        f->fd = openat(dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (f->fd >= 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    int e = errno;
    f->tmp[0] = '\0';
    return -e;
}

int gp_atomic_commit(struct gp_atomic_file *f)
{
    if (f->fd < 0)
        return -EBADF;
    int rc = fsync(f->fd) != 0 ? -errno : 0;
    if (close(f->fd) != 0 && rc == 0)
        rc = -errno;
    f->fd = -1;
    if (rc == 0 && renameat(f->dirfd, f->tmp, f->dirfd, f->path) != 0)
        rc = -errno;
    if (rc)
        unlinkat(f->dirfd, f->tmp, 0);
    f->tmp[0] = '\0';
    return rc;
}

void gp_atomic_abort(struct gp_atomic_file *f)
{
    if (f->fd < 0)
        return;
    close(f->fd);
    f->fd = -1;
    unlinkat(f->dirfd, f->tmp, 0);
    f->tmp[0] = '\0';
}

int gp_atomic_write(const char *path, const void *buf, size_t len, mode_t mode)
{
    struct gp_atomic_file f;
    int rc = gp_atomic_open(&f, path, mode);
    if (rc)
        return rc;
    if ((rc = gp_write_all(f.fd, buf, len)) != 0) {
        gp_atomic_abort(&f);
        return rc;
    }
    return gp_atomic_commit(&f);
}

/* [s, e) is one or more characters of digits (hex when hex is set). */
static int all_digits(const char *s, const char *e, int hex)
{
    if (s >= e)
        return 0;
    for (; s < e; s++)
        if (!(hex ? isxdigit((unsigned char)*s) : isdigit((unsigned char)*s)))
            return 0;
    return 1;
}

int gp_tmp_name_pid(const char *name, int plain, long *pid)
{
    size_t n = strlen(name);
    *pid = 0;
    if (n <= 4 || strcmp(name + n - 4, ".tmp") != 0)
        return 0;
    const char *end = name + n - 4; /* the dot before "tmp" */
    /* the field before ".tmp", and the one before it */
    const char *d1 = end - 1;
    while (d1 > name && *d1 != '.')
        d1--;
    const char *d2 = d1 > name ? d1 - 1 : name;
    while (d2 > name && *d2 != '.')
        d2--;
    if (name[0] == '.' && d2 > name && *d1 == '.' && *d2 == '.' && all_digits(d2 + 1, d1, 0) &&
        all_digits(d1 + 1, end, 1) && d2 - name > 1) {
        *pid = strtol(d2 + 1, NULL, 10); /* .NAME.PID.N.tmp */
        return *pid > 0;
    }
    if (!plain)
        return 0;
    if (*d1 == '.' && d1 > name && all_digits(d1 + 1, end, 0))
        *pid = strtol(d1 + 1, NULL, 10); /* NAME.PID.tmp */
    return 1;
}

static int pid_runs(long pid)
{
    return pid > 0 && pid <= INT_MAX && (kill((pid_t)pid, 0) == 0 || errno != ESRCH);
}

static void sweep_dir(int dfd, int depth, unsigned flags, time_t now, size_t *removed)
{
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *nm = e->d_name;
        if (!strcmp(nm, ".") || !strcmp(nm, ".."))
            continue;
        if (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN) {
            if (depth > 0) {
                int sub = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub >= 0)
                    sweep_dir(sub, depth - 1, flags, now, removed);
            }
            if (e->d_type == DT_DIR)
                continue;
        }
        long pid;
        if (!gp_tmp_name_pid(nm, flags & GP_SWEEP_PLAIN, &pid))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
            st.st_uid != geteuid())
            continue; /* only our own files: a directory may be shared by mistake (/tmp) */
        /* without a pid in the name, only age tells */
        int stale = (pid > 0 && !pid_runs(pid)) || now - st.st_mtime > GP_TMP_STALE_SECS;
        if (stale && unlinkat(dirfd(d), nm, 0) == 0)
            (*removed)++;
    }
    closedir(d);
}

int gp_tmp_sweep(const char *dir, int depth, unsigned flags, size_t *removed)
{
    *removed = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return errno == ENOENT ? 0 : -errno;
    sweep_dir(dfd, depth, flags, time(NULL), removed);
    return 0;
}
