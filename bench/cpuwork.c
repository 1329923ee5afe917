/* cpuwork.c — a fixed amount of CPU work on N threads, for measuring profiler slowdown.
 * Usage: cpuwork THREADS SECONDS_OF_WORK_PER_THREAD_ON_AN_IDLE_CORE [calibrated loops/s]
 * Prints the wall time it took; compare an unprofiled run with a profiled one. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t g_loops;
static volatile uint64_t g_sink; /* keeps the calibration's calls from being optimised away */

__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
    for (int i = 0; i < 64; i++)
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return x;
}

__attribute__((noinline)) static uint64_t work_a(uint64_t n, uint64_t x)
{
    for (uint64_t i = 0; i < n; i++)
        x = mix(x ^ i);
    return x;
}

__attribute__((noinline)) static uint64_t work_b(uint64_t n, uint64_t x)
{
    for (uint64_t i = 0; i < n; i++)
        x = mix(x + i);
    return x;
}

static void *worker(void *arg)
{
    uint64_t x = (uintptr_t)arg, n = g_loops / 1000;
    for (int k = 0; k < 1000; k++)
        x = (k % 10 < 7) ? work_a(n, x) : work_b(n, x);
    return (void *)(uintptr_t)(x & 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    double secs = argc > 2 ? atof(argv[2]) : 10;
    double rate = argc > 3 ? atof(argv[3]) : 0;
    if (threads < 1 || threads > 64 || secs <= 0) {
        fprintf(stderr, "usage: cpuwork THREADS SECONDS [LOOPS_PER_SECOND]\n");
        return 2;
    }
    if (rate <= 0) { /* calibrate on one thread for 0.5 s */
        double t0 = now();
        uint64_t n = 0;
        while (now() - t0 < 0.5)
            n += 1000, g_sink += work_a(1000, n);
        rate = (double)n / (now() - t0);
    }
    g_loops = (uint64_t)(rate * secs);
    pthread_t t[64];
    double t0 = now();
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) != 0)
            return 1;
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("loops_per_second=%.0f wall_seconds=%.3f\n", rate, now() - t0);
    return 0;
}
