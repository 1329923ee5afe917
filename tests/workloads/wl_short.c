/* wl_short.c — a process that lives under one second: it burns MS milliseconds of CPU time
 * (default 300; CPU time, so a loaded machine does not thin out its samples) in short_hot_loop,
 * never more than 950 ms of wall time, and exits: its stacks must be named after it is gone.
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
    double wall_end = wl_now() + 0.95;
    struct timespec c0, c;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    for (;;) {
        short_hot_loop(100000);
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
        double used = (double)(c.tv_sec - c0.tv_sec) * 1e3 + (double)(c.tv_nsec - c0.tv_nsec) / 1e6;
        if (used >= ms || wl_now() >= wall_end)
            break;
    }
    return 0;
}
