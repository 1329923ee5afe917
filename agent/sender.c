/* sender.c — the spool's upload thread. */
#include "agent/sender.h"
#include "common/backoff.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define REFUSED_MAX 64

struct gp_sender {
    struct gp_spool *spool;
    pthread_t thr;
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* wakes the thread */
    pthread_cond_t done; /* an item left the spool */
    int stop, kicked, started, cancel_waits;
    double stop_deadline;
    struct gp_backoff bo;
    struct gp_sender_stats st;
    char base_url[1024], token[512], service[256], hostname[256];
    struct gp_upload_target target;
    char gpid[64];
    char refused[REFUSED_MAX][65]; /* recently refused upload ids, for gp_sender_wait */
    unsigned nrefused;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void abs_deadline(struct timespec *ts, double in_s)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    double t = (double)ts->tv_sec + (double)ts->tv_nsec / 1e9 + (in_s > 0 ? in_s : 0);
    ts->tv_sec = (time_t)t;
    ts->tv_nsec = (long)((t - (double)ts->tv_sec) * 1e9);
}

/* Sends one item: 0 sent, -EAGAIN retry later, -ENOENT spool empty, other = refused & removed. */
static int send_one(struct gp_sender *s)
{
    struct gp_spool_item it;
    struct gp_err err = {0};
    int rc = gp_spool_oldest(s->spool, &it, &err);
    if (rc)
        return rc == -ENOENT ? rc : -EAGAIN;
    struct gp_upload u = {.profile = it.data,
                          .profile_len = it.len,
                          .start = it.meta.start,
                          .end = it.meta.end,
                          .spawn = it.meta.spawn,
                          .cpu_avg = it.meta.cpu_avg,
                          .mem_avg = it.meta.mem_avg,
                          .upload_id = it.meta.upload_id};
    rc = gp_upload_profile(&s->target, &u, s->gpid, sizeof(s->gpid), &err);
    pthread_mutex_lock(&s->mu);
    if (rc == 0) {
        s->st.sent++;
        s->st.last_success = time(NULL);
        s->st.last_error[0] = '\0';
    } else if (rc == -EAGAIN) {
        s->st.failed_attempts++;
        snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", err.msg);
    } else {
        s->st.refused++;
        snprintf(s->st.last_error, sizeof(s->st.last_error), "%s", err.msg);
        snprintf(s->refused[s->nrefused++ % REFUSED_MAX], 65, "%s", it.meta.upload_id);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == 0) {
        gp_debug("uploaded %s profile %s", it.meta.kind, it.meta.upload_id);
        gp_spool_remove(s->spool, it.seq);
    } else if (rc != -EAGAIN) {
        gp_error("the coordinator refused profile %s for good, dropping it: %s", it.meta.upload_id,
                 err.msg);
        gp_spool_remove(s->spool, it.seq);
    } else {
        gp_warn("upload of %s deferred: %s", it.meta.upload_id, err.msg);
    }
    gp_spool_item_free(&it);
    pthread_mutex_lock(&s->mu);
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
    return rc == -EAGAIN ? rc : rc == 0 ? 0 : 1;
}

static void *run(void *arg)
{
    struct gp_sender *s = arg;
    double wait_s = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        if (!s->stop && !s->kicked && wait_s > 0) {
            struct timespec dl;
            abs_deadline(&dl, wait_s);
            s->st.next_retry = time(NULL) + (time_t)wait_s;
            pthread_cond_timedwait(&s->cv, &s->mu, &dl);
        }
        s->st.next_retry = 0;
        if (s->kicked)
            gp_backoff_reset(&s->bo);
        s->kicked = 0;
        int stopping = s->stop;
        double deadline = s->stop_deadline;
        pthread_mutex_unlock(&s->mu);
        if (stopping && mono_now() >= deadline)
            break;
        int rc = send_one(s);
        if (rc == -ENOENT) {
            if (stopping)
                break;
            wait_s = 3600; /* until kicked */
            gp_backoff_reset(&s->bo);
        } else if (rc == -EAGAIN) {
            if (stopping)
                break;
            wait_s = gp_backoff_fail(&s->bo);
        } else {
            gp_backoff_reset(&s->bo);
            wait_s = 0;
        }
    }
    return NULL;
}

int gp_sender_start(struct gp_spool *spool, const struct gp_sender_opts *o, struct gp_sender **out,
                    struct gp_err *err)
{
    struct gp_sender *s = calloc(1, sizeof(*s));
    if (!s)
        return gp_err_set(err, -ENOMEM, "out of memory");
    s->spool = spool;
    snprintf(s->base_url, sizeof(s->base_url), "%s", o->target.base_url ? o->target.base_url : "");
    snprintf(s->token, sizeof(s->token), "%s", o->target.token ? o->target.token : "");
    snprintf(s->service, sizeof(s->service), "%s", o->target.service ? o->target.service : "");
    snprintf(s->hostname, sizeof(s->hostname), "%s", o->target.hostname ? o->target.hostname : "");
    s->target = (struct gp_upload_target){.base_url = s->base_url,
                                          .token = s->token[0] ? s->token : NULL,
                                          .service = s->service,
                                          .hostname = s->hostname,
                                          .timeout_s = o->target.timeout_s};
    gp_backoff_init(&s->bo, o->backoff_base_s > 0 ? o->backoff_base_s : 1,
                    o->backoff_max_s > 0 ? o->backoff_max_s : 300, 0.2, 0);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_cond_init(&s->done, &ca);
    pthread_condattr_destroy(&ca);
    int rc = pthread_create(&s->thr, NULL, run, s);
    if (rc) {
        free(s);
        return gp_err_set(err, -rc, "cannot start the upload thread: %s", strerror(rc));
    }
    s->started = 1;
    *out = s;
    return 0;
}

void gp_sender_stop(struct gp_sender *s, double timeout_s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    s->kicked = 1;
    s->stop_deadline = mono_now() + timeout_s;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    if (s->started)
        pthread_join(s->thr, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_cond_destroy(&s->done);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void gp_sender_kick(struct gp_sender *s)
{
    pthread_mutex_lock(&s->mu);
    s->kicked = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

int gp_sender_wait(struct gp_sender *s, const char *upload_id, double timeout_s)
{
    double end = mono_now() + timeout_s;
    pthread_mutex_lock(&s->mu);
    int rc;
    for (;;) {
        int refused = 0;
        for (unsigned i = 0; i < REFUSED_MAX; i++)
            refused |= !strcmp(s->refused[i], upload_id);
        if (refused) {
            rc = -EPROTO;
            break;
        }
        if (s->cancel_waits) {
            rc = -EAGAIN;
            break;
        }
        if (!gp_spool_contains(s->spool, upload_id)) {
            rc = 0;
            break;
        }
        double left = end - mono_now();
        if (left <= 0) {
            rc = -EAGAIN;
            break;
        }
        struct timespec dl;
        abs_deadline(&dl, left < 0.5 ? left : 0.5);
        pthread_cond_timedwait(&s->done, &s->mu, &dl);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void gp_sender_cancel_waits(struct gp_sender *s)
{
    pthread_mutex_lock(&s->mu);
    s->cancel_waits = 1;
    pthread_cond_broadcast(&s->done);
    pthread_mutex_unlock(&s->mu);
}

void gp_sender_stats(struct gp_sender *s, struct gp_sender_stats *out)
{
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    pthread_mutex_unlock(&s->mu);
}
