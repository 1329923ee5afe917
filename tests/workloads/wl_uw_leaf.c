/* wl_uw_leaf.c — libwluwleaf.so, built -O2 -fomit-frame-pointer: the hot leaf of wl_uw_paths
 * and wl_uw_deep. Its frames have no frame pointer; only its .eh_frame says how to unwind. */
#include <stdint.h>

#include "uw_work.h"

/* A frame of its own (a volatile array) so the CFA is not simply RSP + 8. */
__attribute__((noipa)) uint64_t uw_leaf(uint64_t x, long long budget_ns)
{
    volatile uint64_t scratch[5];
    scratch[0] = x;
    x = scratch[0];
    UW_BURN(x, budget_ns);
    scratch[4] = x;
    return scratch[4];
}
