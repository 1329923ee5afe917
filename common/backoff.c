/* backoff.c — exponential backoff and interval jitter. */
#include "common/backoff.h"

#include <time.h>
#include <unistd.h>

uint64_t gp_rand_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double gp_rand_unit(uint64_t *state)
{
    return (double)(gp_rand_next(state) >> 11) / 9007199254740992.0; /* 2^53 */
}

void gp_backoff_init(struct gp_backoff *b, double base_s, double max_s, double jitter,
                     uint64_t seed)
{
    if (!seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 16);
    }
    *b = (struct gp_backoff){.base_s = base_s > 0 ? base_s : 1,
                             .max_s = max_s > 0 ? max_s : 300,
                             .jitter = jitter < 0   ? 0
                                       : jitter > 1 ? 1
                                                    : jitter,
                             .rng = seed};
    if (b->max_s < b->base_s)
        b->max_s = b->base_s;
}

double gp_jitter(double interval, double frac, uint64_t *rng)
{
    double u = gp_rand_unit(rng) * 2.0 - 1.0; /* [-1, 1) */
    double v = interval * (1.0 + frac * u);
    return v < 0 ? 0 : v;
}

double gp_backoff_fail(struct gp_backoff *b)
{
    if (b->failures < 64)
        b->failures++;
    double d = b->base_s;
    for (unsigned i = 1; i < b->failures && d < b->max_s; i++)
        d *= 2;
    if (d > b->max_s)
        d = b->max_s;
    return gp_jitter(d, b->jitter, &b->rng);
}

void gp_backoff_reset(struct gp_backoff *b)
{
    b->failures = 0;
}
