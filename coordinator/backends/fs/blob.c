/* backends/fs/blob.c — the filesystem blob backend: objects are files under one root directory,
 * opened relative to a directory fd (keys are validated by blob.c), written atomically and durably
 * (common/fsutil's gp_atomic_openat: temp file in the same directory, fsync, rename; then an
 * fsync of the directory shared by the puts that rename into one directory at the same time). */
#include "coordinator/store/blob/blob.h"
#include "common/fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory fsyncs are shared: a put renames its file in, then waits until some fsync of that
 * directory that started after its rename has succeeded; concurrent puts into one directory
 * (every upload of a service and day) thus share one. */
#define DIR_SYNC_SLOTS 32

struct dir_sync {
    char dir[BLOB_KEY_MAX + 1]; /* the key's directory part; "" = the root */
    struct gp_dir_sync sync;    /* its renames, made durable together */
    unsigned users;             /* puts waiting on this slot */
};

struct fs_store {
    int root; /* O_DIRECTORY fd of the root */
    char *path;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct dir_sync slots[DIR_SYNC_SLOTS];
};

static int fs_open(const struct store_engine_options *opts, void **impl, struct gp_err *err)
{
    const char *location = opts->path;
    if (!location || !*location)
        return gp_err_set(err, -EINVAL, "fs blob store needs a directory (fs:/path)");
    int rc = gp_mkdir_p(location, 0750);
    if (rc < 0)
        return gp_err_set(err, rc, "cannot create blob directory %s: %s; check permissions",
                          location, strerror(-rc));
    struct fs_store *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(location))) {
        free(s);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    s->root = open(location, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root < 0) {
        rc = -errno;
        free(s->path);
        free(s);
        return gp_err_set(err, rc, "cannot open blob directory %s: %s", location, strerror(-rc));
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    *impl = s;
    return 0;
}

static void fs_close(void *impl)
{
    struct fs_store *s = impl;
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    close(s->root);
    free(s->path);
    free(s);
}

/* Opens (creating when asked) the directory holding key; *base = the last component. */
static int open_parent(struct fs_store *s, const char *key, int create, const char **base,
                       struct gp_err *err)
{
    const char *slash = strrchr(key, '/');
    *base = slash ? slash + 1 : key;
    int dir = dup(s->root);
    if (dir < 0)
        return gp_err_set(err, -errno, "dup: %s", strerror(errno));
    if (!slash)
        return dir;
    const char *p = key;
    char comp[BLOB_KEY_MAX + 1];
    while (p < slash) {
        const char *e = strchr(p, '/');
        size_t n = (size_t)(e - p);
        memcpy(comp, p, n);
        comp[n] = 0;
        int next = openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(dir, comp, 0750) < 0 && errno != EEXIST) {
                int e2 = errno;
                close(dir);
                return gp_err_set(err, -e2, "%s: cannot create directory for %s: %s", s->path, key,
                                  strerror(e2));
            }
            fsync(dir); /* the new directory entry must survive a crash too */
            next = openat(dir, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        if (next < 0) {
            int e2 = errno;
            close(dir);
            return gp_err_set(err, e2 == ENOTDIR || e2 == ELOOP ? -ENOENT : -e2, "%s/%s: %s",
                              s->path, key, strerror(e2));
        }
        close(dir);
        dir = next;
        p = e + 1;
    }
    return dir;
}

/* The slot of directory dir (n bytes), claiming an idle one when it has none; NULL when all
 * are busy. Called with mu held. */
static struct dir_sync *dir_slot(struct fs_store *s, const char *dir, size_t n)
{
    struct dir_sync *idle = NULL;
    for (size_t i = 0; i < DIR_SYNC_SLOTS; i++) {
        struct dir_sync *d = &s->slots[i];
        if ((d->users || d->sync.announced) && strlen(d->dir) == n && memcmp(d->dir, dir, n) == 0)
            return d;
        if (!d->users && !d->sync.syncing && (!idle || !d->sync.announced))
            idle = d;
    }
    if (!idle)
        return NULL;
    memcpy(idle->dir, dir, n);
    idle->dir[n] = '\0';
    idle->sync = (struct gp_dir_sync){0};
    return idle;
}

/* Makes the rename just done in dirfd (the directory of key) durable: returns once an fsync of
 * the directory that began after the rename succeeded; 0 or -errno of this caller's fsync. */
static int dir_sync_after_rename(struct fs_store *s, const char *key, int dirfd)
{
    const char *slash = strrchr(key, '/');
    size_t n = slash ? (size_t)(slash - key) : 0;
    pthread_mutex_lock(&s->mu);
    struct dir_sync *d = dir_slot(s, key, n);
    if (!d) {
        pthread_mutex_unlock(&s->mu);
        return fsync(dirfd) < 0 ? -errno : 0;
    }
    d->users++;
    int rc = gp_dir_sync_wait(&d->sync, dirfd, &s->mu, &s->cv);
    d->users--;
    pthread_mutex_unlock(&s->mu);
    return rc;
}

static int fs_put(void *impl, const char *key, const void *data, size_t len, struct gp_err *err)
{
    struct fs_store *s = impl;
    const char *base;
    int dir = open_parent(s, key, 1, &base, err);
    if (dir < 0)
        return dir;
    struct gp_atomic_file f;
    int rc = gp_atomic_openat(&f, dir, base, 0640);
    if (rc < 0) {
        rc = gp_err_set(err, rc, "%s: cannot create %s: %s", s->path, key, strerror(-rc));
        close(dir);
        return rc;
    }
    rc = gp_write_all(f.fd, data, len);
    if (rc < 0)
        gp_atomic_abort(&f);
    else
        rc = gp_atomic_commit(&f); /* fsync, close, rename; the temp file is gone on failure */
    if (rc < 0) {
        gp_err_set(err, rc, "%s: writing %s: %s%s", s->path, key, strerror(-rc),
                   rc == -ENOSPC ? "; free disk space" : "");
        close(dir);
        return rc;
    }
    int src = dir_sync_after_rename(s, key, dir);
    if (src < 0)
        rc = gp_err_set(err, src, "%s: fsync of directory for %s: %s", s->path, key,
                        strerror(-src));
    close(dir);
    return rc;
}

static int fs_get(void *impl, const char *key, void **data, size_t *len, size_t max,
                  struct gp_err *err)
{
    struct fs_store *s = impl;
    const char *base;
    int dir = open_parent(s, key, 0, &base, err);
    if (dir < 0)
        return dir == -ENOENT ? gp_err_set(err, -ENOENT, "blob %s not found", key) : dir;
    int fd = openat(dir, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dir);
    if (fd < 0)
        return e == ENOENT ? gp_err_set(err, -ENOENT, "blob %s not found", key)
                           : gp_err_set(err, -e, "%s/%s: %s", s->path, key, strerror(e));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return gp_err_set(err, -EIO, "%s/%s: not a regular file", s->path, key);
    }
    size_t size = (size_t)st.st_size;
    if (max && size > max) {
        close(fd);
        return gp_err_set(err, -EFBIG, "blob %s is %zu bytes, more than the %zu allowed", key, size,
                          max);
    }
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return gp_err_set(err, -ENOMEM, "out of memory reading %zu bytes", size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e2 = r < 0 ? errno : EIO;
            free(buf);
            close(fd);
            return gp_err_set(err, -e2, "%s/%s: read: %s", s->path, key, strerror(e2));
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *len = size;
    return 0;
}

static int fs_del(void *impl, const char *key, struct gp_err *err)
{
    struct fs_store *s = impl;
    const char *base;
    int dir = open_parent(s, key, 0, &base, err);
    if (dir < 0)
        return dir == -ENOENT ? gp_err_set(err, -ENOENT, "blob %s not found", key) : dir;
    int rc = 0;
    if (unlinkat(dir, base, 0) < 0)
        rc = errno == ENOENT ? gp_err_set(err, -ENOENT, "blob %s not found", key)
                             : gp_err_set(err, -errno, "%s/%s: %s", s->path, key, strerror(errno));
    close(dir);
    return rc;
}

static int fs_stat(void *impl, const char *key, uint64_t *size, struct gp_err *err)
{
    struct fs_store *s = impl;
    const char *base;
    int dir = open_parent(s, key, 0, &base, err);
    if (dir < 0)
        return dir == -ENOENT ? gp_err_set(err, -ENOENT, "blob %s not found", key) : dir;
    struct stat st;
    int rc = 0;
    if (fstatat(dir, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
        rc = errno == ENOENT ? gp_err_set(err, -ENOENT, "blob %s not found", key)
                             : gp_err_set(err, -errno, "%s/%s: %s", s->path, key, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = gp_err_set(err, -ENOENT, "blob %s not found", key);
    else
        *size = (uint64_t)st.st_size;
    close(dir);
    return rc;
}

/* Walks dir (whose key prefix is `rel`, "" or ending in '/') calling cb for keys matching
 * prefix. Takes ownership of dirfd. */
static int walk(struct fs_store *s, int dirfd, char *rel, size_t rlen, const char *prefix,
                blob_list_cb cb, void *ctx, struct gp_err *err)
{
    DIR *d = fdopendir(dirfd);
    if (!d) {
        int e = errno;
        close(dirfd);
        return gp_err_set(err, -e, "%s: listing: %s", s->path, strerror(e));
    }
    size_t plen = strlen(prefix);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        const char *n = de->d_name;
        if (n[0] == '.')
            continue; /* ".", "..", temp files */
        size_t nl = strlen(n);
        if (rlen + nl + 2 > BLOB_KEY_MAX + 1)
            continue;
        memcpy(rel + rlen, n, nl + 1);
        size_t kl = rlen + nl;
        /* Descend only where the prefix can still match. */
        size_t cmp = kl < plen ? kl : plen;
        if (memcmp(rel, prefix, cmp) != 0)
            continue;
        struct stat st;
        if (fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) < 0)
            continue;
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0)
                continue;
            rel[kl] = '/';
            rel[kl + 1] = 0;
            rc = walk(s, sub, rel, kl + 1, prefix, cb, ctx, err);
        } else if (S_ISREG(st.st_mode) && kl >= plen && blob_key_valid(rel)) {
            rc = cb(rel, (uint64_t)st.st_size, ctx);
        }
    }
    closedir(d);
    rel[rlen] = 0;
    return rc;
}

static int fs_list(void *impl, const char *prefix, blob_list_cb cb, void *ctx, struct gp_err *err)
{
    struct fs_store *s = impl;
    /* A fresh open, not dup(): a dup would share the directory read position. */
    int dirfd = openat(s->root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return gp_err_set(err, -errno, "%s: %s", s->path, strerror(errno));
    char rel[BLOB_KEY_MAX + 2] = "";
    return walk(s, dirfd, rel, 0, prefix, cb, ctx, err);
}

const struct blob_store_ops blob_fs_ops = {
        .version = BLOB_STORE_OPS_VERSION,
        .open = fs_open,
        .close = fs_close,
        .put = fs_put,
        .get = fs_get,
        .del = fs_del,
        .stat = fs_stat,
        .list = fs_list,
};
