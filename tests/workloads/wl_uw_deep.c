/* wl_uw_deep.c — ~20-frame stacks without frame pointers, on every core: the benchmark
 * workload of bench/unwind.sh. Forks N processes (default: one per online CPU); each recurses
 * DEPTH levels through deep_a and deep_b (alternating, with frames of different sizes) down to
 * uw_leaf in libwluwleaf.so, built -O2 -fomit-frame-pointer like this program.
 *   main -> deep_run -> deep_a -> deep_b -> deep_a ... (DEPTH levels) -> uw_leaf
 * Usage: wl_uw_deep [SECONDS (0 = until killed)] [PROCESSES] [DEPTH (default 16)];
 * prints "pid N" per process, then "ready". */
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>

#include "uw_work.h"
#include "workload.h"

uint64_t uw_leaf(uint64_t x, long long budget_ns);

__attribute__((noipa)) static uint64_t deep_b(uint64_t x, int depth);

__attribute__((noipa)) static uint64_t deep_a(uint64_t x, int depth)
{
    volatile uint64_t keep[2];
    keep[1] = x;
    x = depth > 0 ? deep_b(keep[1], depth - 1) : uw_leaf(keep[1], 1000000);
    return x + keep[1];
}

__attribute__((noipa)) static uint64_t deep_b(uint64_t x, int depth)
{
    volatile uint64_t keep[5];
    keep[4] = x ^ 3;
    x = depth > 0 ? deep_a(keep[4], depth - 1) : uw_leaf(keep[4], 1000000);
    return x * keep[4];
}

__attribute__((noipa)) static uint64_t deep_run(double end, int depth)
{
    uint64_t x = 1;
    while (wl_now() < end)
        x = deep_a(x, depth - 1);
    return x;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 10);
    long n = argc > 2 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
    int depth = argc > 3 ? atoi(argv[3]) : 16;
    if (n < 1)
        n = 1;
    if (depth < 1)
        depth = 1;
    pid_t kids[256];
    long k = 0;
    for (; k < n - 1 && k < 256; k++) {
        kids[k] = fork();
        if (kids[k] == 0)
            return (int)(deep_run(end, depth) & 1);
        if (kids[k] < 0) {
            perror("fork");
            break;
        }
        printf("pid %d\n", (int)kids[k]);
    }
    wl_ready();
    uint64_t x = deep_run(end, depth);
    for (long i = 0; i < k; i++)
        waitpid(kids[i], NULL, 0);
    return (int)(x & 1);
}
