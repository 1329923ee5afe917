/* wl_uw_pie.c — a position-independent executable built -O2 -fomit-frame-pointer whose hot code
 * is its own, with known shares of CPU time by construction (every 10 ms of CPU time):
 *   main -> pie_outer -> pie_mid -> pie_leaf    60%
 *   main -> pie_other                           40%
 * pie_mid holds a variable-length array, so gcc gives it an RBP-based CFA while the others are
 * RSP-based: both CFA rules are on every stack of the first path.
 * Usage: wl_uw_pie [SECONDS (0 = until killed)]; prints "pid N", then "ready". */
#include <stdint.h>

#include "uw_work.h"
#include "workload.h"

#define MS 1000000LL

__attribute__((noipa)) static uint64_t pie_leaf(uint64_t x, long long ns)
{
    UW_BURN(x, ns);
    return x;
}

__attribute__((noipa)) static uint64_t pie_mid(uint64_t x, long long ns, int n)
{
    volatile uint64_t vla[n]; /* n is only known at run time: RBP-based frame */
    vla[n - 1] = x;
    x = pie_leaf(vla[n - 1], ns);
    return x + vla[0];
}

__attribute__((noipa)) static uint64_t pie_outer(uint64_t x, long long ns, int n)
{
    x = pie_mid(x, ns, n);
    return x ^ 0x5a5a;
}

__attribute__((noipa)) static uint64_t pie_other(uint64_t x, long long ns)
{
    UW_BURN(x, ns);
    return x;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    uint64_t x = (uint64_t)argc;
    int n = 8 + argc;
    wl_ready();
    while (wl_now() < end) {
        x = pie_outer(x, 6 * MS, n);
        x = pie_other(x, 4 * MS);
    }
    return (int)(x & 1);
}
