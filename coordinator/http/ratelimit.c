/* ratelimit.c — token buckets by identity (see ratelimit.h). The table is a fixed array of
 * 4-way sets indexed by a hash of the identity; a new identity takes the least recently seen
 * bucket of its set, so memory stays bounded whatever the number of callers (an evicted
 * identity comes back with a full bucket, which only ever errs on the lenient side). */
#include "coordinator/http/ratelimit.h"
#include "common/log.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RL_SETS 1024
#define RL_WAYS 4
#define RL_ID   96

struct rl_bucket {
    char id[RL_ID];
    double tokens;
    int64_t last_ms;  /* last refill (0 = unused) */
    uint64_t refused; /* in the current burst of refusals */
};

struct http_ratelimit {
    pthread_mutex_t mu;
    char what[48];
    double rate;
    double burst;
    struct rl_bucket b[RL_SETS][RL_WAYS];
};

int http_ratelimit_parse_rate(const char *key, const char *s, double *per_s, struct gp_err *err)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return gp_err_set(err, -EINVAL, "%s '%s': expected a number of requests, e.g. 10/s", key,
                          s);
    while (*end == ' ')
        end++;
    if (strcmp(end, "/m") == 0 || strcmp(end, "/min") == 0)
        v /= 60.0;
    else if (*end && strcmp(end, "/s") != 0)
        return gp_err_set(err, -EINVAL, "%s '%s': unit must be /s or /m (e.g. 10/s, 600/m)", key,
                          s);
    *per_s = v;
    return 0;
}

int http_ratelimit_new(const char *what, double rate, unsigned burst, struct http_ratelimit **out,
                       struct gp_err *err)
{
    *out = NULL;
    if (rate <= 0)
        return 0;
    struct http_ratelimit *rl = calloc(1, sizeof(*rl));
    if (!rl)
        return gp_err_set(err, -ENOMEM, "out of memory");
    pthread_mutex_init(&rl->mu, NULL);
    snprintf(rl->what, sizeof(rl->what), "%s", what);
    rl->rate = rate;
    rl->burst = burst ? burst : 1;
    *out = rl;
    return 0;
}

void http_ratelimit_free(struct http_ratelimit *rl)
{
    if (!rl)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

int64_t http_ratelimit_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

enum rl_op { RL_TAKE, RL_CHECK, RL_CHARGE };

static bool rl_apply(struct http_ratelimit *rl, const char *identity, int64_t now_ms, enum rl_op op,
                     unsigned *retry_after_s)
{
    if (!rl)
        return true;
    if (now_ms <= 0)
        now_ms = 1;
    char id[RL_ID];
    snprintf(id, sizeof(id), "%s", identity);
    struct rl_bucket *set = rl->b[fnv1a(id) % RL_SETS];
    pthread_mutex_lock(&rl->mu);
    struct rl_bucket *b = NULL, *oldest = &set[0];
    for (int i = 0; i < RL_WAYS; i++) {
        if (set[i].last_ms && strcmp(set[i].id, id) == 0) {
            b = &set[i];
            break;
        }
        if (set[i].last_ms < oldest->last_ms)
            oldest = &set[i];
    }
    if (!b) {
        b = oldest;
        memcpy(b->id, id, sizeof(id));
        b->tokens = rl->burst;
        b->last_ms = now_ms;
        b->refused = 0;
    }
    if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) / 1000.0 * rl->rate;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ms = now_ms;
    }
    if (op == RL_CHARGE) {
        b->tokens = b->tokens - 1.0 < -rl->burst ? -rl->burst : b->tokens - 1.0;
        pthread_mutex_unlock(&rl->mu);
        return true;
    }
    bool ok = b->tokens >= 1.0;
    uint64_t ended = 0;
    if (ok) {
        if (op == RL_TAKE)
            b->tokens -= 1.0;
        ended = b->refused;
        b->refused = 0;
    } else {
        double wait = ceil((1.0 - b->tokens) / rl->rate);
        *retry_after_s = wait < 1 ? 1 : wait > 86400 ? 86400 : (unsigned)wait;
        b->refused++;
    }
    uint64_t refused = b->refused;
    pthread_mutex_unlock(&rl->mu);
    if (!ok && refused == 1)
        gp_warn("http: %s is over the %s (%g/s, burst %g): answering 429 until it slows down", id,
                rl->what, rl->rate, rl->burst);
    if (ended)
        gp_info("http: %s is under the %s again after %llu refused request(s)", id, rl->what,
                (unsigned long long)ended);
    return ok;
}

bool http_ratelimit_take(struct http_ratelimit *rl, const char *identity, int64_t now_ms,
                         unsigned *retry_after_s)
{
    return rl_apply(rl, identity, now_ms, RL_TAKE, retry_after_s);
}

bool http_ratelimit_check(struct http_ratelimit *rl, const char *identity, int64_t now_ms,
                          unsigned *retry_after_s)
{
    return rl_apply(rl, identity, now_ms, RL_CHECK, retry_after_s);
}

void http_ratelimit_charge(struct http_ratelimit *rl, const char *identity, int64_t now_ms)
{
    rl_apply(rl, identity, now_ms, RL_CHARGE, NULL);
}
