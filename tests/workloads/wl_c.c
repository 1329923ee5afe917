/* wl_c.c — plain C, non-PIE, two hot functions burning about 70% / 30%.
 * Usage: wl_c [SECONDS]   (default 5; 0 = until killed)
 * Prints "pid N", "sym c_hot_alpha 0x…", "sym c_hot_beta 0x…", "ready", then burns. */
#include "workload.h"

static void *alpha_ip, *beta_ip;

__attribute__((noinline)) void c_hot_alpha(long n)
{
    alpha_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i;
}

__attribute__((noinline)) void c_hot_beta(long n)
{
    beta_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x ^= i;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    c_hot_alpha(1);
    c_hot_beta(1);
    wl_sym("c_hot_alpha", alpha_ip);
    wl_sym("c_hot_beta", beta_ip);
    wl_ready();
    while (wl_now() < end) {
        c_hot_alpha(700000);
        c_hot_beta(300000);
    }
    return 0;
}
