/* debuginfod_wl.c — a stripped binary whose only names are in a debug file a debuginfod server
 * serves (tests/integration/test_debuginfod.sh). Built -g with a build-id; the build moves its
 * symbols to <build>/tests/workloads/debuginfod-srv/debuginfod_wl.debug and strips it, so
 * neither .symtab, .dynsym nor a local debug file names debuginfod_hot_spin.
 * Usage: debuginfod_wl [SECONDS]   (prints "pid N", "sym debuginfod_hot_spin 0x…", "ready") */
#include "workload.h"

static void *hot_ip;

static __attribute__((noinline)) void debuginfod_hot_spin(long n)
{
    hot_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i * 7;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    debuginfod_hot_spin(1);
    wl_sym("debuginfod_hot_spin", hot_ip);
    wl_ready();
    while (wl_now() < end)
        debuginfod_hot_spin(1000000);
    return 0;
}
