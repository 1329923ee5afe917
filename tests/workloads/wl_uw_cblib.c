/* wl_uw_cblib.c — libwluwcb.so, built -O2 -fomit-frame-pointer, called by the frame-pointer
 * binary wl_uw_mixed and calling back into it. cb_inner keeps six values live across the
 * callback, so gcc uses RBP as a general register there (check: objdump -d shows push %rbp and
 * arithmetic on %rbp): a frame-pointer walk from the callback reads garbage and stops. */
#include <stdint.h>

typedef uint64_t (*uw_cb)(uint64_t x, long long ns);

__attribute__((noipa)) static uint64_t cb_inner(uw_cb cb, uint64_t x, long long ns)
{
    uint64_t a = x * 3, b = x ^ 0x55, c = x + 7, d = x * 11, e = x >> 3, f = x | 1;
    for (int i = 0; i < 2; i++) {
        x = cb(x + a + b, ns / 2);
        a = a * 5 + x;
        b = b ^ (a >> 7);
        c = c * 13 + b;
        d = d + (c << 1);
        e = e ^ d;
        f = f * 7 + e;
    }
    return x ^ a ^ b ^ c ^ d ^ e ^ f;
}

__attribute__((noipa)) uint64_t cb_iterate(uw_cb cb, uint64_t x, long long ns)
{
    volatile uint64_t keep[4];
    keep[3] = x;
    x = cb_inner(cb, keep[3], ns);
    return x + keep[3];
}
