/* uw_work.h — the shared pieces of the unwinding workloads (wl_uw_*): CPU-time budgets and
 * a spin loop, so each known call path gets its share of the process's CPU by construction. */
#ifndef GPROF_TESTS_UW_WORK_H
#define GPROF_TESTS_UW_WORK_H

#include <stdint.h>
#include <time.h>

/* This thread's CPU time in ns: the samplers count CPU time, so budgets are in CPU time too. */
static inline __attribute__((unused)) long long uw_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Work the compiler cannot remove; ~0.1 ms per call here (50,000 dependent multiply-adds), so clock
 * reads (another frame below the spinning function) are ~0.1% of the samples. A macro: the work is
 * then attributed to the function that expands it. */
#define UW_SPIN(x, n)                                                                              \
    for (int i_ = 0; i_ < (n); i_++)                                                               \
    (x) = (x)*6364136223846793005ULL + 1442695040888963407ULL

/* Spins in the calling function until budget_ns of this thread's CPU time has gone. */
#define UW_BURN(x, budget_ns)                                                                      \
    do {                                                                                           \
        long long end_ = uw_cpu_ns() + (budget_ns);                                                \
        do {                                                                                       \
            UW_SPIN(x, 50000);                                                                     \
        } while (uw_cpu_ns() < end_);                                                              \
    } while (0)

#endif
