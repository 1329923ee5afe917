/* workload.h — the shared protocol of the test workloads: run for N seconds, and print
 * "pid N", one "sym <expected frame text> <address inside it>" per hot function, then "ready". */
#ifndef GPROF_TESTS_WORKLOAD_H
#define GPROF_TESTS_WORKLOAD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A return address inside the caller: an ip the caller really executes. Static, so every
 * binary and library gets its own copy. */
static __attribute__((noinline, unused)) void *wl_here(void)
{
    return __builtin_return_address(0);
}

static __attribute__((unused)) double wl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* argv[1] = seconds to run (default def; 0 = until killed). Line-buffers stdout. */
static __attribute__((unused)) double wl_deadline(int argc, char **argv, double def)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    double secs = argc > 1 ? atof(argv[1]) : def;
    printf("pid %d\n", (int)getpid());
    return secs <= 0 ? 1e300 : wl_now() + secs;
}

static __attribute__((unused)) void wl_sym(const char *name, const void *addr)
{
    printf("sym %s %p\n", name, addr);
}

static __attribute__((unused)) void wl_ready(void)
{
    printf("ready\n");
    fflush(stdout);
}

#endif
