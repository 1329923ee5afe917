/* nofp_chain.c — unwinding workload (issue 13): built -O2 -fomit-frame-pointer, a known call
 * chain main -> chain_a -> chain_b -> chain_c (here) -> nofp_lib_d -> nofp_lib_hot (in the no-FP
 * library libnofpchain.so), where nearly all time is spent. A frame-pointer walk stops after
 * the leaf; a table walk reaches main. Usage: nofp_chain [seconds]. */
#include "workload.h"

double nofp_lib_d(double x, int n);

/* noinline + a use of the result after each call keeps every frame a real call (no tail
 * calls), and the volatile sink keeps the work. */
static volatile double sink;

__attribute__((noinline)) double chain_c(double x)
{
    double r = nofp_lib_d(x, 200000);
    return r * 1.0000001 + 1;
}

__attribute__((noinline)) double chain_b(double x)
{
    double r = chain_c(x + 1);
    return r * 0.9999999 + 2;
}

__attribute__((noinline)) double chain_a(double x)
{
    double r = chain_b(x + 2);
    return r * 1.0000002 + 3;
}

int main(int argc, char **argv)
{
    double deadline = wl_deadline(argc, argv, 10);
    wl_ready();
    double x = 1;
    while (wl_now() < deadline) {
        x = chain_a(x);
        sink = x;
        if (x > 1e12)
            x = 1;
    }
    return 0;
}
