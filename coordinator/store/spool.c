/* spool.c — the upload spool (see spool.h): files in a local directory (written under their final
 * name and fsynced, read and deleted through the fs blob engine), a queue, and uploader threads. */
#include "coordinator/store/spool.h"
#include "common/backoff.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "coordinator/store/blob/blob.h"
#include "coordinator/store/meta/meta.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

#define SPOOL_MAGIC "GPSPOOL1 "

struct spool_item {
    struct spool_item *next;
    int64_t profile_id;
    size_t bytes;
    char name[SPOOL_NAME_MAX];
};

struct coord_spool {
    struct blob_store *files; /* fs:<dir> */
    char *dir;
    int lock_fd; /* <dir>/.lock, flock'd while started: one coordinator per spool */
    int dir_fd;  /* the directory, for its fsync after each write (shared, see dir_sync) */
    struct blob_store *blobs;
    struct meta_db *meta;
    void (*kick)(void *ctx);
    void *kick_ctx;
    int nthreads;
    uint64_t max_bytes;
    pthread_t *threads;
    int started;

    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;
    pthread_cond_t dir_cv; /* dir_sync's waiters */
    int stop;
    struct spool_item *head, *tail;
    uint64_t reserved;  /* bytes of files written or queued, not yet put */
    double pause_until; /* monotonic seconds: the blob store failed, wait before the next put */
    struct gp_backoff backoff;   /* consecutive failed puts */
    struct gp_dir_sync dir_sync; /* files created in dir_fd, made durable together */
    char **found;                /* names present at open (replayed by start) */
    size_t nfound;
    struct coord_spool_stats st;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int found_cb(const char *key, uint64_t size, void *ctx)
{
    (void)size;
    struct coord_spool *sp = ctx;
    if (strchr(key, '/'))
        return 0; /* not ours */
    char **n = realloc(sp->found, (sp->nfound + 1) * sizeof(*n));
    if (!n)
        return -ENOMEM;
    sp->found = n;
    if (!(sp->found[sp->nfound] = strdup(key)))
        return -ENOMEM;
    sp->nfound++;
    return 0;
}

int coord_spool_open(const char *dir, int uploaders, uint64_t max_bytes, struct coord_spool **out,
                     struct gp_err *err)
{
    if (uploaders < 1 || uploaders > 64)
        return gp_err_set(err, -EINVAL, "blob_spool_uploaders must be 1..64, got %d", uploaders);
    struct coord_spool *sp = calloc(1, sizeof(*sp));
    char *spec = NULL;
    if (!sp || asprintf(&spec, "fs:%s", dir) < 0) {
        free(sp);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    int rc = blob_store_open(spec, &sp->files, err);
    free(spec);
    if (rc < 0) {
        free(sp);
        return gp_err_prefix(err, "upload spool"), rc;
    }
    sp->lock_fd = -1;
    sp->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (sp->dir_fd < 0) {
        rc = gp_err_set(err, -errno, "upload spool: cannot open %s: %s", dir, strerror(errno));
        blob_store_close(sp->files);
        free(sp);
        return rc;
    }
    if (!(sp->dir = strdup(dir))) {
        close(sp->dir_fd);
        blob_store_close(sp->files);
        free(sp);
        return gp_err_set(err, -ENOMEM, "out of memory");
    }
    sp->nthreads = uploaders;
    sp->max_bytes = max_bytes;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sp->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&sp->dir_cv, NULL);
    gp_backoff_init(&sp->backoff, 0.25, 30, 0.3, 0);
    if ((rc = blob_list(sp->files, "", found_cb, sp, err)) != 0) {
        if (rc > 0)
            rc = gp_err_set(err, -ENOMEM, "out of memory");
        coord_spool_close(sp);
        return gp_err_prefix(err, "listing the upload spool %s", dir), rc;
    }
    *out = sp;
    return 0;
}

void coord_spool_close(struct coord_spool *sp)
{
    if (!sp)
        return;
    coord_spool_stop(sp);
    for (struct spool_item *it = sp->head, *n; it; it = n) {
        n = it->next;
        free(it);
    }
    for (size_t i = 0; i < sp->nfound; i++)
        free(sp->found[i]);
    free(sp->found);
    blob_store_close(sp->files);
    if (sp->lock_fd >= 0)
        close(sp->lock_fd);
    if (sp->dir_fd >= 0)
        close(sp->dir_fd);
    free(sp->dir);
    pthread_mutex_destroy(&sp->mu);
    pthread_cond_destroy(&sp->cv);
    pthread_cond_destroy(&sp->dir_cv);
    free(sp);
}

/* The directory's fsync for a file just created, shared with the writers of the moment (other
 * writers create and the uploaders delete files all the time: an fsync each would be a journal
 * commit each). */
static int dir_sync(struct coord_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    int rc = gp_dir_sync_wait(&sp->dir_sync, sp->dir_fd, &sp->mu, &sp->dir_cv);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

/* Writes head + data as dir/name under its final name (no temp file and rename): the file's
 * fsync makes its content and, on a journalling file system, its directory entry durable in
 * one journal commit, where a rename after it needed a second; the directory's fsync is then
 * all but free (and still made, for the others). A crash mid-write leaves a file shorter than
 * its name says, which the replay deletes: its upload was never acknowledged. */
static int write_durable(struct coord_spool *sp, const char *name, const void *head, size_t hlen,
                         const void *data, size_t len, struct gp_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", sp->dir, name) >= sizeof(path))
        return gp_err_set(err, -ENAMETOOLONG, "spool path too long");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
    if (fd < 0)
        return gp_err_set(err, -errno, "%s: %s", path, strerror(errno));
    int rc = gp_write_all(fd, head, hlen);
    if (rc == 0)
        rc = gp_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0)
        rc = dir_sync(sp);
    if (rc < 0) {
        unlink(path);
        return gp_err_set(err, rc, "%s: %s%s", path, strerror(-rc),
                          rc == -ENOSPC ? "; free disk space" : "");
    }
    return 0;
}

int coord_spool_write(struct coord_spool *sp, const char *upload_id, const char *key,
                      const void *data, size_t len, char *name, struct gp_err *err)
{
    size_t klen = strlen(key), hlen = strlen(SPOOL_MAGIC) + klen + 1;
    pthread_mutex_lock(&sp->mu);
    int full = sp->reserved + len > sp->max_bytes;
    if (full)
        sp->st.full++;
    else
        sp->reserved += len;
    pthread_mutex_unlock(&sp->mu);
    if (full)
        return -ENOSPC;
    uuid_t u;
    uuid_generate_random(u);
    char hex[37];
    uuid_unparse_lower(u, hex);
    /* the name ends in the file's size: a file cut short by a crash is told apart at replay */
    snprintf(name, SPOOL_NAME_MAX, "%s.%.8s%.4s.%zu", upload_id, hex, hex + 9, hlen + len);
    char *buf = malloc(hlen);
    int rc;
    if (!buf) {
        rc = gp_err_set(err, -ENOMEM, "out of memory");
    } else {
        memcpy(buf, SPOOL_MAGIC, strlen(SPOOL_MAGIC));
        memcpy(buf + strlen(SPOOL_MAGIC), key, klen);
        buf[hlen - 1] = '\n';
        rc = write_durable(sp, name, buf, hlen, data, len, err);
        free(buf);
    }
    if (rc < 0) {
        pthread_mutex_lock(&sp->mu);
        sp->reserved -= len;
        pthread_mutex_unlock(&sp->mu);
        gp_err_prefix(err, "writing the upload spool");
    }
    return rc;
}

static void enqueue(struct coord_spool *sp, struct spool_item *it)
{
    it->next = NULL;
    if (sp->tail)
        sp->tail->next = it;
    else
        sp->head = it;
    sp->tail = it;
    sp->st.queued++;
    sp->st.bytes += it->bytes;
    pthread_cond_signal(&sp->cv);
}

void coord_spool_commit(struct coord_spool *sp, const char *name, int64_t profile_id, size_t len)
{
    struct spool_item *it = calloc(1, sizeof(*it));
    pthread_mutex_lock(&sp->mu);
    if (!it) {
        /* The file is durable and its row committed: the next start replays it. */
        gp_error("upload spool: out of memory queueing %s; it is put at the next start", name);
    } else {
        it->profile_id = profile_id;
        it->bytes = len;
        snprintf(it->name, sizeof(it->name), "%s", name);
        enqueue(sp, it);
    }
    pthread_mutex_unlock(&sp->mu);
}

void coord_spool_drop(struct coord_spool *sp, const char *name, size_t len)
{
    struct gp_err err = {0};
    if (blob_delete(sp->files, name, &err) < 0 && err.code != -ENOENT)
        gp_warn("upload spool: %s", err.msg);
    pthread_mutex_lock(&sp->mu);
    sp->reserved -= len;
    pthread_mutex_unlock(&sp->mu);
}

/* Puts one spooled file to the blob store, unparks its outbox row, deletes the file. */
static int put_one(struct coord_spool *sp, const struct spool_item *it, int *gone,
                   struct gp_err *err)
{
    void *buf = NULL;
    size_t len = 0;
    int rc = blob_get(sp->files, it->name, &buf, &len, 0, err);
    *gone = rc == -ENOENT;
    if (rc < 0)
        return rc;
    size_t ml = strlen(SPOOL_MAGIC);
    char *nl = len > ml ? memchr((char *)buf + ml, '\n', len - ml) : NULL;
    if (!nl || memcmp(buf, SPOOL_MAGIC, ml) != 0 ||
        (size_t)(nl - (char *)buf) - ml > BLOB_KEY_MAX) {
        free(buf);
        return gp_err_set(err, -EINVAL, "upload spool file %s is not a spool file", it->name);
    }
    char key[BLOB_KEY_MAX + 1];
    size_t kl = (size_t)(nl - (char *)buf) - ml;
    memcpy(key, (char *)buf + ml, kl);
    key[kl] = 0;
    const char *body = nl + 1;
    size_t blen = len - (size_t)(body - (char *)buf);
    rc = blob_put(sp->blobs, key, body, blen, err);
    free(buf);
    if (rc < 0)
        return rc;
    if (it->profile_id > 0 && (rc = meta_outbox_unpark(sp->meta, it->profile_id, err)) < 0)
        return gp_err_prefix(err, "unparking profile %" PRId64, it->profile_id), rc;
    if ((rc = blob_delete(sp->files, it->name, err)) < 0 && rc != -ENOENT)
        return rc;
    gp_err_clear(err);
    return 0;
}

static void *uploader(void *arg)
{
    struct coord_spool *sp = arg;
    pthread_mutex_lock(&sp->mu);
    for (;;) {
        double now = mono_now();
        if (sp->stop)
            break;
        if (!sp->head || now < sp->pause_until) {
            if (!sp->head) {
                pthread_cond_wait(&sp->cv, &sp->mu);
            } else {
                double until = sp->pause_until;
                struct timespec ts = {(time_t)until, (long)((until - (double)(time_t)until) * 1e9)};
                pthread_cond_timedwait(&sp->cv, &sp->mu, &ts);
            }
            continue;
        }
        struct spool_item *it = sp->head;
        sp->head = it->next;
        if (!sp->head)
            sp->tail = NULL;
        pthread_mutex_unlock(&sp->mu);

        struct gp_err err = {0};
        int gone = 0;
        int rc = put_one(sp, it, &gone, &err);

        pthread_mutex_lock(&sp->mu);
        if (rc == 0) {
            sp->st.queued--;
            sp->st.bytes -= it->bytes;
            sp->reserved -= it->bytes < sp->reserved ? it->bytes : sp->reserved;
            sp->st.uploaded++;
            if (sp->backoff.failures) {
                gp_info("upload spool: the blob store takes puts again (%" PRIu64 " waiting)",
                        sp->st.queued);
                gp_backoff_reset(&sp->backoff);
            }
            free(it);
            pthread_mutex_unlock(&sp->mu);
            if (sp->kick)
                sp->kick(sp->kick_ctx);
            pthread_mutex_lock(&sp->mu);
            continue;
        }
        sp->st.retries++;
        if (gone) {
            /* The spool file itself is gone (removed by hand?): nothing left to put. */
            gp_error("upload spool: %s; profile %" PRId64 " stays unindexed", err.msg,
                     it->profile_id);
            sp->st.queued--;
            sp->st.bytes -= it->bytes;
            sp->reserved -= it->bytes < sp->reserved ? it->bytes : sp->reserved;
            free(it);
            continue;
        }
        double delay = gp_backoff_fail(&sp->backoff);
        if (sp->backoff.failures == 1 || sp->backoff.failures % 20 == 0)
            gp_warn("upload spool: %s; retrying in %.1f s (%" PRIu64 " uploads waiting)", err.msg,
                    delay, sp->st.queued);
        sp->pause_until = mono_now() + delay;
        /* back at the head: the order of a service's uploads is kept */
        it->next = sp->head;
        sp->head = it;
        if (!sp->tail)
            sp->tail = it;
    }
    pthread_mutex_unlock(&sp->mu);
    return NULL;
}

/* The upload id a spool file name starts with ("<upload id>.<random>"). */
static int name_upload_id(const char *name, char *out, size_t outsz)
{
    const char *dot = strchr(name, '.');
    if (!dot || dot == name || (size_t)(dot - name) >= outsz)
        return -EINVAL;
    memcpy(out, name, (size_t)(dot - name));
    out[dot - name] = 0;
    return 0;
}

/* 1 when name says how long the file was written ("<upload id>.<random>.<bytes>") and size is
 * not that (names without it were written whole, then renamed). */
static int cut_short(const char *name, uint64_t size)
{
    const char *dot = strchr(name, '.');
    dot = dot ? strchr(dot + 1, '.') : NULL;
    if (!dot || !dot[1])
        return 0;
    char *end;
    unsigned long long want = strtoull(dot + 1, &end, 10);
    return *end == 0 && want != size;
}

int coord_spool_start(struct coord_spool *sp, struct blob_store *blobs, struct meta_db *meta,
                      void (*kick)(void *ctx), void *kick_ctx, struct gp_err *err)
{
    if (sp->started)
        return gp_err_set(err, -EALREADY, "upload spool already started");
    sp->blobs = blobs;
    sp->meta = meta;
    sp->kick = kick;
    sp->kick_ctx = kick_ctx;
    /* Replay deletes the files of uploads that have no row yet: a second coordinator on this
     * directory would lose the ones it is committing. */
    if (sp->lock_fd < 0) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/.lock", sp->dir);
        sp->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (sp->lock_fd < 0)
            return gp_err_set(err, -errno, "upload spool: cannot open %s: %s", path,
                              strerror(errno));
        if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
            int e = errno;
            close(sp->lock_fd);
            sp->lock_fd = -1;
            return gp_err_set(err, e == EWOULDBLOCK ? -EBUSY : -e,
                              "upload spool %s is in use by another coordinator: give each "
                              "coordinator its own state_dir",
                              sp->dir);
        }
    }
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < sp->nfound; i++) {
        const char *name = sp->found[i];
        char upload_id[SPOOL_NAME_MAX];
        int64_t id = 0;
        int rc = name_upload_id(name, upload_id, sizeof(upload_id));
        if (rc == 0)
            rc = meta_profile_id_by_upload(meta, upload_id, &id, err);
        if (rc == -ENOENT || rc == -EINVAL) { /* never acknowledged: the agent still has it */
            gp_err_clear(err);
            struct gp_err e2 = {0};
            if (blob_delete(sp->files, name, &e2) < 0 && e2.code != -ENOENT)
                gp_warn("upload spool: %s", e2.msg);
            dropped++;
            continue;
        }
        if (rc < 0)
            return gp_err_prefix(err, "replaying the upload spool"), rc;
        uint64_t size = 0;
        struct gp_err e2 = {0};
        blob_stat(sp->files, name, &size, &e2);
        if (cut_short(name, size)) {
            /* written under its final name and cut by a crash before its fsync returned: not
             * acknowledged here (the commit follows the fsync); the row is another
             * coordinator's, which stored that upload itself */
            gp_warn("upload spool: %s is shorter than written (%" PRIu64 " bytes): removed", name,
                    size);
            if (blob_delete(sp->files, name, &e2) < 0 && e2.code != -ENOENT)
                gp_warn("upload spool: %s", e2.msg);
            dropped++;
            continue;
        }
        struct spool_item *it = calloc(1, sizeof(*it));
        if (!it)
            return gp_err_set(err, -ENOMEM, "out of memory");
        it->profile_id = id;
        it->bytes = (size_t)size;
        snprintf(it->name, sizeof(it->name), "%s", name);
        pthread_mutex_lock(&sp->mu);
        enqueue(sp, it);
        sp->reserved += it->bytes;
        sp->st.replayed++;
        pthread_mutex_unlock(&sp->mu);
        kept++;
    }
    for (size_t i = 0; i < sp->nfound; i++)
        free(sp->found[i]);
    free(sp->found);
    sp->found = NULL;
    sp->nfound = 0;
    if (kept || dropped)
        gp_info("upload spool: %zu acknowledged upload%s left by the last run to put, %zu "
                "unacknowledged removed",
                kept, kept == 1 ? "" : "s", dropped);
    if (!(sp->threads = calloc((size_t)sp->nthreads, sizeof(*sp->threads))))
        return gp_err_set(err, -ENOMEM, "out of memory");
    sp->stop = 0;
    for (int i = 0; i < sp->nthreads; i++) {
        int rc = pthread_create(&sp->threads[i], NULL, uploader, sp);
        if (rc) {
            sp->nthreads = i;
            sp->started = 1;
            coord_spool_stop(sp);
            return gp_err_set(err, -rc, "cannot start an upload spool thread: %s", strerror(rc));
        }
    }
    sp->started = 1;
    return 0;
}

void coord_spool_stop(struct coord_spool *sp)
{
    if (!sp->started)
        return;
    pthread_mutex_lock(&sp->mu);
    sp->stop = 1;
    pthread_cond_broadcast(&sp->cv);
    pthread_mutex_unlock(&sp->mu);
    for (int i = 0; i < sp->nthreads; i++)
        pthread_join(sp->threads[i], NULL);
    free(sp->threads);
    sp->threads = NULL;
    sp->started = 0;
}

void coord_spool_get_stats(struct coord_spool *sp, struct coord_spool_stats *out)
{
    pthread_mutex_lock(&sp->mu);
    *out = sp->st;
    pthread_mutex_unlock(&sp->mu);
}
