/* wl_shlib_lib.c — libwlhot.so: the hot function of wl_shlib lives in this shared library. */
#include "workload.h"

static void *spin_ip;

__attribute__((noinline)) void shlib_hot_spin(long n)
{
    spin_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i ^ 7;
}

void *shlib_hot_where(void)
{
    return spin_ip;
}
