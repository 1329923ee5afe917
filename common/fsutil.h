/* fsutil.h — small filesystem helpers every daemon needs: creating a directory path, writing a
 * whole buffer, atomic file replacement through a temp file, and sweeping temp files a crash left.
 * Returns 0 or a negative errno; callers turn that into a message naming the path. */
#ifndef GPROF_COMMON_FSUTIL_H
#define GPROF_COMMON_FSUTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mkdir -p: creates path and its missing parents with mode; an existing directory is fine.
 * -ENAMETOOLONG past PATH_MAX. */
int gp_mkdir_p(const char *path, mode_t mode);
/* write(2) until all len bytes are written, retrying on EINTR. */
int gp_write_all(int fd, const void *buf, size_t len);

/* A directory's fsync shared by concurrent writers: one fsync covers every change announced
 * before it began, so writers that create or rename files at once share one journal commit. */
struct gp_dir_sync {
    uint64_t announced; /* changes announced */
    uint64_t synced;    /* every change up to this one is durable */
    int syncing;        /* a caller is in fsync */
};
/* Announces a change just made in dirfd and returns once an fsync of dirfd that began after it
 * has succeeded: 0, or -errno of this caller's own fsync. Called and returns with mu held (mu
 * guards g); cv is broadcast when an fsync ends. */
int gp_dir_sync_wait(struct gp_dir_sync *g, int dirfd, pthread_mutex_t *mu, pthread_cond_t *cv);

/* Atomic replacement of a file: the data goes to ".BASE.PID.RANDOM.tmp" beside the target,
 * created with O_EXCL | O_NOFOLLOW (a name planted in advance, a symlink or a FIFO, is never
 * opened: another unpredictable name is tried), then fsync'd and renamed over the target. */
struct gp_atomic_file {
    int fd;    /* write here between open and commit; -1 when closed */
    int dirfd; /* path and tmp are relative to it (AT_FDCWD for gp_atomic_open) */
    char path[4096];
    char tmp[4096 + 64];
};
/* Creates the temp file for path (mode as for open(2)). 0 or -errno; f->fd is -1 on error. */
int gp_atomic_open(struct gp_atomic_file *f, const char *path, mode_t mode);
/* The same for path relative to the directory dirfd (which must stay open until commit or
 * abort); the directory itself is not fsync'd: callers that need the rename durable do that. */
int gp_atomic_openat(struct gp_atomic_file *f, int dirfd, const char *path, mode_t mode);
/* fsync, close and rename over the target; on any failure the temp file is removed. 0 or
 * -errno (of the step that failed). */
int gp_atomic_commit(struct gp_atomic_file *f);
/* Closes and removes the temp file (no-op when already closed). */
void gp_atomic_abort(struct gp_atomic_file *f);
/* The whole of buf into path, atomically (open + write + commit). 0 or -errno. */
int gp_atomic_write(const char *path, const void *buf, size_t len, mode_t mode);

/* A temp file older than this is stale even when the pid in its name runs (pids are reused). */
#define GP_TMP_STALE_SECS (6 * 3600)
/* gp_tmp_sweep removes, of the regular files owned by the caller's euid, ".NAME.PID.N.tmp"
 * (the atomic writers' names) when PID no longer runs or the file is older than
 * GP_TMP_STALE_SECS; with this flag also "NAME.PID.tmp" (same rule) and "NAME.tmp" (by age). */
#define GP_SWEEP_PLAIN 1
/* The pid in a temp file name: ".NAME.PID.N.tmp" always; "NAME.PID.tmp" and "NAME.tmp" (pid 0)
 * with plain. 1 when name is a temp file name of that kind, else 0. */
int gp_tmp_name_pid(const char *name, int plain, long *pid);
/* Removes stale temp files in dir and its subdirectories down to depth levels (0 = dir only);
 * symlinks are never followed. *removed counts them. 0, or -errno when dir cannot be opened
 * (-ENOENT is 0: nothing to sweep). */
int gp_tmp_sweep(const char *dir, int depth, unsigned flags, size_t *removed);

#endif
