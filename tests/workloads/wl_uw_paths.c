/* wl_uw_paths.c — known call paths into a hot leaf in a no-frame-pointer shared library, with
 * known shares of CPU time by construction (every 10 ms of the thread's CPU time):
 *   main -> path_a -> path_b -> uw_leaf (libwluwleaf.so)   50%
 *   main -> path_c -> uw_leaf (libwluwleaf.so)             30%
 *   main -> path_d (spins itself)                          20%
 * Built -O2 -fomit-frame-pointer, non-PIE. noipa keeps each function a real frame (no inlining,
 * no cloning into path_a.isra.0); the calls are not tail calls, so every frame stays on the stack.
 * Usage: wl_uw_paths [SECONDS (0 = until killed)]; prints "pid N", then "ready". */
#include <stdint.h>

#include "uw_work.h"
#include "workload.h"

uint64_t uw_leaf(uint64_t x, long long budget_ns);

#define MS 1000000LL

__attribute__((noipa)) static uint64_t path_b(uint64_t x, long long ns)
{
    volatile uint64_t keep[3] = {x, x + 1, x + 2};
    x = uw_leaf(keep[1], ns);
    return x ^ keep[2];
}

__attribute__((noipa)) static uint64_t path_a(uint64_t x, long long ns)
{
    volatile uint64_t keep[7];
    keep[6] = x;
    x = path_b(keep[6], ns);
    return x + keep[6];
}

__attribute__((noipa)) static uint64_t path_c(uint64_t x, long long ns)
{
    x = uw_leaf(x, ns);
    return x * 3;
}

__attribute__((noipa)) static uint64_t path_d(uint64_t x, long long ns)
{
    UW_BURN(x, ns);
    return x;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    uint64_t x = (uint64_t)argc;
    wl_ready();
    while (wl_now() < end) {
        x = path_a(x, 5 * MS);
        x = path_c(x, 3 * MS);
        x = path_d(x, 2 * MS);
    }
    return (int)(x & 1);
}
