/* wl_uw_mixed.c — a frame-pointer binary (-O2 -fno-omit-frame-pointer) calling a library built
 * without frame pointers (libwluwcb.so) that calls back into it, with known shares of CPU time by
 * construction (every 10 ms of CPU time):
 *   main -> mixed_drive -> cb_iterate -> cb_inner -> mixed_callback -> mixed_work   70%
 *   main -> mixed_direct                                                             30%
 * A mixed stack: FP frames, no-FP frames (with RBP used as a data register), FP frames again.
 * Usage: wl_uw_mixed [SECONDS (0 = until killed)]; prints "pid N", then "ready". */
#include <stdint.h>

#include "uw_work.h"
#include "workload.h"

#define MS 1000000LL

typedef uint64_t (*uw_cb)(uint64_t x, long long ns);
uint64_t cb_iterate(uw_cb cb, uint64_t x, long long ns);

__attribute__((noipa)) static uint64_t mixed_work(uint64_t x, long long ns)
{
    UW_BURN(x, ns);
    return x;
}

__attribute__((noipa)) static uint64_t mixed_callback(uint64_t x, long long ns)
{
    x = mixed_work(x, ns);
    return x + 1;
}

__attribute__((noipa)) static uint64_t mixed_drive(uint64_t x, long long ns)
{
    x = cb_iterate(mixed_callback, x, ns);
    return x * 5;
}

__attribute__((noipa)) static uint64_t mixed_direct(uint64_t x, long long ns)
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
        x = mixed_drive(x, 7 * MS); /* the library calls back twice, 3.5 ms each */
        x = mixed_direct(x, 3 * MS);
    }
    return (int)(x & 1);
}
