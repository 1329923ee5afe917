/* backoff.h — retry timing shared by the agent (heartbeats, upload spool) and the coordinator's
 * network engines (S3): exponential backoff with jitter and a cap, plus ±N% jitter on a fixed
 * interval, so a fleet never retries in lockstep. */
#ifndef GPROF_COMMON_BACKOFF_H
#define GPROF_COMMON_BACKOFF_H

#include <stdint.h>

struct gp_backoff {
    double base_s;     /* first delay */
    double max_s;      /* cap (e.g. 300 s = 5 min) */
    double jitter;     /* fraction, e.g. 0.1 = ±10% */
    unsigned failures; /* consecutive failures so far */
    uint64_t rng;      /* private random state */
};

/* Seeds from the clock and pid when seed == 0. */
void gp_backoff_init(struct gp_backoff *b, double base_s, double max_s, double jitter,
                     uint64_t seed);
/* Call after a failure: returns the delay before the next try, min(max, base·2^(n-1)) ± jitter,
 * never above max_s·(1+jitter) nor below 0. */
double gp_backoff_fail(struct gp_backoff *b);
/* Call after a success: the next failure starts from base again. */
void gp_backoff_reset(struct gp_backoff *b);
/* interval ± frac·interval, uniformly. */
double gp_jitter(double interval, double frac, uint64_t *rng);
/* Next value of a splitmix64 generator (not for secrets). */
uint64_t gp_rand_next(uint64_t *state);
/* Uniform in [0, 1). */
double gp_rand_unit(uint64_t *state);

#endif
