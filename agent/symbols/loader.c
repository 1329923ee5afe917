/* loader.c — the background reader of ELF symbols and kallsyms (see loader.h). */
#include "agent/symbols/loader.h"
#include "agent/symbols/kallsyms.h"
#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
    struct gp_elf_key key;
    int fd, rootfd;
    char *path;
    enum job_state state;
    struct gp_elfsyms *syms; /* when done */
    struct job *next;
};

enum kjob_state { K_NONE, K_QUEUED, K_RUNNING, K_DONE };

struct gp_loader {
    const char *const *dirs;
    size_t ndirs;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t work; /* signalled when a job is queued or on stop */
    pthread_cond_t done; /* broadcast when a job finishes */
    int stop;
    struct job *jobs; /* FIFO: head is oldest */
    struct job **tail;
    size_t njobs;
    enum kjob_state kstate;
    int krc;
    struct gp_rangetab ktab;
    struct gp_err kerr;
};

static int key_eq(const struct gp_elf_key *a, const struct gp_elf_key *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime_ns == b->mtime_ns;
}

/* Reads a job's ELF; closes its files. Called without the lock. */
static struct gp_elfsyms *read_job(struct gp_loader *l, struct job *j)
{
    char root[64] = "";
    if (j->rootfd >= 0)
        snprintf(root, sizeof(root), "/proc/self/fd/%d", j->rootfd);
    struct gp_debug_search ds = {l->dirs, l->ndirs, root, j->path};
    struct gp_elfsyms *syms = NULL;
    struct gp_err err = {0};
    if (gp_elfsyms_load_fd(j->fd, &ds, &syms, &err) < 0) {
        gp_debug("symbols: %s: %s", j->path, err.msg);
        syms = NULL;
    }
    close(j->fd);
    j->fd = -1;
    if (j->rootfd >= 0)
        close(j->rootfd);
    j->rootfd = -1;
    return syms;
}

static void job_free(struct job *j)
{
    if (j->fd >= 0)
        close(j->fd);
    if (j->rootfd >= 0)
        close(j->rootfd);
    gp_elfsyms_free(j->syms);
    free(j->path);
    free(j);
}

static void unlink_job(struct gp_loader *l, struct job *j)
{
    struct job **pp = &l->jobs;
    while (*pp && *pp != j)
        pp = &(*pp)->next;
    if (!*pp)
        return;
    *pp = j->next;
    if (l->tail == &j->next)
        l->tail = pp;
    l->njobs--;
}

static void *worker(void *arg)
{
    struct gp_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        if (l->kstate == K_QUEUED) {
            l->kstate = K_RUNNING;
            pthread_mutex_unlock(&l->mu);
            struct gp_rangetab t = {0};
            struct gp_err err = {0};
            int rc = gp_kallsyms_load("/proc/kallsyms", &t, &err);
            pthread_mutex_lock(&l->mu);
            l->ktab = t;
            l->krc = rc;
            l->kerr = err;
            l->kstate = K_DONE;
            pthread_cond_broadcast(&l->done);
            continue;
        }
        struct job *j = l->jobs;
        while (j && j->state != JOB_QUEUED)
            j = j->next;
        if (!j) {
            pthread_cond_wait(&l->work, &l->mu);
            continue;
        }
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&l->mu);
        struct gp_elfsyms *syms = read_job(l, j);
        pthread_mutex_lock(&l->mu);
        j->syms = syms;
        j->state = JOB_DONE;
        pthread_cond_broadcast(&l->done);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

int gp_loader_new(const char *const *dirs, size_t ndirs, struct gp_loader **out)
{
    struct gp_loader *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->dirs = dirs;
    l->ndirs = ndirs;
    l->tail = &l->jobs;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->work, NULL);
    pthread_cond_init(&l->done, NULL);
    int rc = pthread_create(&l->thread, NULL, worker, l);
    if (rc != 0) {
        pthread_mutex_destroy(&l->mu);
        pthread_cond_destroy(&l->work);
        pthread_cond_destroy(&l->done);
        free(l);
        return -rc;
    }
    l->started = 1;
    *out = l;
    return 0;
}

void gp_loader_free(struct gp_loader *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_broadcast(&l->work);
    pthread_mutex_unlock(&l->mu);
    if (l->started)
        pthread_join(l->thread, NULL);
    while (l->jobs) {
        struct job *j = l->jobs;
        l->jobs = j->next;
        job_free(j);
    }
    gp_rangetab_free(&l->ktab);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->work);
    pthread_cond_destroy(&l->done);
    free(l);
}

int gp_loader_queue_elf(struct gp_loader *l, const struct gp_elf_key *k, int fd, int rootfd,
                        char *path)
{
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->key = *k;
    j->fd = fd;
    j->rootfd = rootfd;
    j->path = path;
    pthread_mutex_lock(&l->mu);
    *l->tail = j;
    l->tail = &j->next;
    l->njobs++;
    pthread_cond_signal(&l->work);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static struct job *find_job(struct gp_loader *l, const struct gp_elf_key *k)
{
    for (struct job *j = l->jobs; j; j = j->next)
        if (key_eq(&j->key, k))
            return j;
    return NULL;
}

int gp_loader_has(struct gp_loader *l, const struct gp_elf_key *k)
{
    pthread_mutex_lock(&l->mu);
    int has = find_job(l, k) != NULL;
    pthread_mutex_unlock(&l->mu);
    return has;
}

int gp_loader_take(struct gp_loader *l, const struct gp_elf_key *k, struct gp_elfsyms **syms)
{
    pthread_mutex_lock(&l->mu);
    struct job *j = find_job(l, k);
    if (!j) {
        pthread_mutex_unlock(&l->mu);
        return 0;
    }
    while (j->state == JOB_RUNNING)
        pthread_cond_wait(&l->done, &l->mu);
    unlink_job(l, j); /* ours now: the worker only picks queued jobs from the list */
    pthread_mutex_unlock(&l->mu);
    if (j->state == JOB_QUEUED)
        j->syms = read_job(l, j);
    *syms = j->syms;
    j->syms = NULL;
    job_free(j);
    return 1;
}

int gp_loader_take_done(struct gp_loader *l, struct gp_elf_key *k, struct gp_elfsyms **syms)
{
    pthread_mutex_lock(&l->mu);
    struct job *j = l->jobs;
    while (j && j->state != JOB_DONE)
        j = j->next;
    if (j)
        unlink_job(l, j);
    pthread_mutex_unlock(&l->mu);
    if (!j)
        return 0;
    *k = j->key;
    *syms = j->syms;
    j->syms = NULL;
    job_free(j);
    return 1;
}

size_t gp_loader_pending(struct gp_loader *l)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->njobs;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void gp_loader_queue_kallsyms(struct gp_loader *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->kstate == K_NONE) {
        l->kstate = K_QUEUED;
        pthread_cond_signal(&l->work);
    }
    pthread_mutex_unlock(&l->mu);
}

int gp_loader_take_kallsyms(struct gp_loader *l, int wait, struct gp_rangetab *t,
                            struct gp_err *err)
{
    pthread_mutex_lock(&l->mu);
    while (wait && (l->kstate == K_QUEUED || l->kstate == K_RUNNING))
        pthread_cond_wait(&l->done, &l->mu);
    int rc = 0;
    if (l->kstate == K_DONE) {
        rc = l->krc < 0 ? l->krc : 1;
        if (rc == 1)
            *t = l->ktab;
        else if (err)
            *err = l->kerr;
        memset(&l->ktab, 0, sizeof(l->ktab));
        l->kstate = K_NONE;
    }
    pthread_mutex_unlock(&l->mu);
    return rc;
}
