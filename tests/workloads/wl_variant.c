/* wl_variant.c — one hot function whose name (HOT_NAME) and linkage (HOT_STATIC) are set at
 * build time, so one source serves every "where do the symbols come from" workload:
 *   wl_dynsym    stripped, -rdynamic: only .dynsym names the exported hot function
 *   wl_debugid   stripped, symbols only in <build>/tests/workloads/debug/.build-id/xx/….debug
 *   wl_debuglink stripped, no build-id, symbols in .debug/wl_debuglink.debug via .gnu_debuglink
 *   wl_minidebug stripped, symbols only in .gnu_debugdata (xz-compressed MiniDebugInfo)
 *   wl_mntns     plain; run it through run-in-mntns.sh from a path only its namespace sees
 * Usage: wl_<name> [SECONDS]
 * Prints "pid N", "sym <HOT_NAME> 0x…", "unnamed 0x…" (an ip in a static helper that only a
 * .symtab names: in wl_dynsym it must come out as "wl_dynsym+0x<file offset of the helper's
 * start>", from its FDE), "unnamed_fn 0x…" (that start), "ready". */
#include "workload.h"

#ifndef HOT_NAME
#define HOT_NAME variant_hot_loop
#endif
#if HOT_STATIC
#define HOT_LINKAGE static
#else
#define HOT_LINKAGE
#endif
#define STR2(x) #x
#define STR(x)  STR2(x)

static void *hot_ip, *helper_ip;

HOT_LINKAGE __attribute__((noinline)) void HOT_NAME(long n)
{
    hot_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i * 5;
}

static __attribute__((noinline)) long variant_cold_helper(long v)
{
    helper_ip = wl_here();
    return v * 2 + 1;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    HOT_NAME(1);
    volatile long r = variant_cold_helper(argc);
    (void)r;
    wl_sym(STR(HOT_NAME), hot_ip);
    printf("unnamed %p\n", helper_ip);
    printf("unnamed_fn %p\n", (void *)variant_cold_helper);
    wl_ready();
    while (wl_now() < end)
        HOT_NAME(1000000);
    return 0;
}
