/* wl_short.c — a process that lives well under one second: it burns MS milliseconds (default
 * 300) in short_hot_loop and exits, so its stacks must be named after it is gone.
 * Usage: wl_short [MS] [--wait]   With --wait it prints its "sym"/"ready" lines and waits for
 * one byte (or EOF) on stdin before burning, so a test can note it deterministically. */
#include "workload.h"

static void *hot_ip;

__attribute__((noinline)) void short_hot_loop(long n)
{
    hot_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    double ms = argc > 1 ? atof(argv[1]) : 300;
    int wait = argc > 2 && strcmp(argv[2], "--wait") == 0;
    printf("pid %d\n", (int)getpid());
    short_hot_loop(1);
    wl_sym("short_hot_loop", hot_ip);
    wl_ready();
    if (wait) {
        char c;
        (void)!read(0, &c, 1);
    }
    double end = wl_now() + ms / 1000.0;
    while (wl_now() < end)
        short_hot_loop(100000);
    return 0;
}
