/* wl_forkexec.c — a parent whose child burns in fork_child_hot (the parent's code, copied by
 * fork) and then execs sleep: samples taken between fork and exec must be named from the
 * parent's image even though the child's own maps show only sleep by the time it is noted.
 * Usage: wl_forkexec [SECONDS]; prints "pid N", "sym fork_child_hot 0x…", "child N", "ready";
 * the child burns about 200 ms, then execs "sleep SECONDS". */
#include "workload.h"

#include <signal.h>
#include <sys/wait.h>

static void *hot_ip;

__attribute__((noinline)) void fork_child_hot(long n)
{
    hot_ip = wl_here();
    volatile long x = 0;
    for (long i = 0; i < n; i++)
        x += i;
}

int main(int argc, char **argv)
{
    double end = wl_deadline(argc, argv, 5);
    fork_child_hot(1);
    wl_sym("fork_child_hot", hot_ip);
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        double stop = wl_now() + 0.2;
        while (wl_now() < stop)
            fork_child_hot(100000);
        char secs[32];
        snprintf(secs, sizeof(secs), "%d", argc > 1 ? atoi(argv[1]) : 5);
        execlp("sleep", "sleep", secs, (char *)NULL);
        _exit(127);
    }
    printf("child %d\n", (int)pid);
    wl_ready();
    while (wl_now() < end && waitpid(pid, NULL, WNOHANG) == 0)
        usleep(10000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
