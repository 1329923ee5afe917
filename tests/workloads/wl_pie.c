/* wl_pie.c — a position-independent executable (loaded at a random base) with one hot
 * static function, so names must come from .symtab through the PT_LOAD translation.
 * Usage: wl_pie [SECONDS]   prints "sym pie_hot_loop 0x…", "sym pie_hot_other 0x…", "ready". */
#include "workload.h"

static void *loop_ip, *other_ip;

static __attribute__((noinline)) void pie_hot_loop(long n)
{
    loop_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i * 3;
}

__attribute__((noinline)) void pie_hot_other(long n)
{
    other_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x -= i;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    pie_hot_loop(1);
    pie_hot_other(1);
    wl_sym("pie_hot_loop", loop_ip);
    wl_sym("pie_hot_other", other_ip);
    wl_ready();
    while (wl_now() < end) {
        /* 3:1 by iterations: integration_record_symbols wants pie_hot_loop in most samples, and
         * at 60:40 a CI run saw 742 of 1,496 (the two loops' speeds differ by the machine) */
        pie_hot_loop(900000);
        pie_hot_other(300000);
    }
    return 0;
}
