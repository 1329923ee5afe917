/* pagetouch.c — a workload with a known number of page faults: maps PAGES fresh anonymous pages
 * (no transparent huge pages) and writes one byte to each, so each costs one minor fault.
 * Usage: pagetouch PAGES [--wait]; with --wait it prints "ready" and touches only on SIGUSR1. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long pages = argc > 1 ? atol(argv[1]) : 10000;
    int wait = argc > 2 && !strcmp(argv[2], "--wait");
    if (pages <= 0) {
        fprintf(stderr, "usage: pagetouch PAGES [--wait]\n");
        return 2;
    }
    long psz = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)pages * (size_t)psz;
    volatile char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) {
        perror("pagetouch: mmap");
        return 1;
    }
    if (madvise((void *)m, len, MADV_NOHUGEPAGE))
        perror("pagetouch: madvise(MADV_NOHUGEPAGE) (continuing)");
    printf("pid %d\n", (int)getpid());
    if (wait) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        printf("ready\n");
        int sig;
        sigwait(&set, &sig);
    }
    for (long i = 0; i < pages; i++)
        m[(size_t)i * (size_t)psz] = 1;
    printf("done %ld\n", pages);
    return 0;
}
