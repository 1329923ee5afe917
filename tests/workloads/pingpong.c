/* pingpong.c — a workload with a known number of context switches: two processes pinned to one
 * CPU pass a byte back and forth over two pipes ROUNDS times, so each round trip costs exactly two
 * switches (one per hand-over). Usage: pingpong ROUNDS [--wait]; with --wait it prints "ready"
 * and starts (forks the partner) only on SIGUSR1, so a collector can attach first. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void wait_for_go(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("ready\n");
    int sig;
    sigwait(&set, &sig);
}

static void xfer(int fd, int write_it)
{
    char c = 'x';
    ssize_t n = write_it ? write(fd, &c, 1) : read(fd, &c, 1);
    if (n != 1) {
        fprintf(stderr, "pingpong: %s: %s\n", write_it ? "write" : "read",
                n == 0 ? "EOF" : strerror(errno));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    long rounds = argc > 1 ? atol(argv[1]) : 10000;
    int wait = argc > 2 && !strcmp(argv[2], "--wait");
    if (rounds <= 0) {
        fprintf(stderr, "usage: pingpong ROUNDS [--wait]\n");
        return 2;
    }
    /* One CPU for both: every hand-over is exactly one switch, whatever the scheduler does. */
    cpu_set_t cpus;
    CPU_ZERO(&cpus);
    CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &cpus);
    if (sched_setaffinity(0, sizeof(cpus), &cpus))
        perror("pingpong: sched_setaffinity (continuing unpinned)");
    printf("pid %d\n", (int)getpid());
    if (wait)
        wait_for_go();
    int p2c[2], c2p[2];
    if (pipe(p2c) || pipe(c2p)) {
        perror("pingpong: pipe");
        return 1;
    }
    pid_t child = fork();
    if (child < 0) {
        perror("pingpong: fork");
        return 1;
    }
    if (child == 0) {
        for (long i = 0; i < rounds; i++) {
            xfer(p2c[0], 0);
            xfer(c2p[1], 1);
        }
        _exit(0);
    }
    for (long i = 0; i < rounds; i++) {
        xfer(p2c[1], 1);
        xfer(c2p[0], 0);
    }
    int status;
    waitpid(child, &status, 0);
    printf("done %ld\n", rounds);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
